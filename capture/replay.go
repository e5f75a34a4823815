package capture

import (
	"time"

	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/session"
	"github.com/gotune/gotune/snapshot"
)

// Replay returns a session over a recorded snapshot, as if it were being
// watched: its series in the store, its facts, its profiles held (with the
// spans they were captured over) and its goroutine dump. Nothing is
// fetched; the session's clock stands at the end of the recording. Every
// front end reads a replay as it reads a live target, so a recording of a
// real process checks them deterministically.
func Replay(s *snapshot.Snapshot) *Session {
	store := session.NewStore(max(session.DefaultCapacity, len(s.Series.Points)))
	m := s.Manifest
	store.SetTarget(session.Target{URL: m.Target.URL, PID: m.Target.PID, Command: m.Target.Command,
		GoVersion: m.Target.GoVersion, StartTime: m.Target.StartTime})
	store.UpdateFacts(func(f *session.Facts) {
		f.Settings, f.Env, f.Build = m.Settings, m.Env, m.Target.Build
		f.Cgroup, f.Throttle = m.Cgroup, m.Throttle
		f.Topology, f.NUMASettings, f.NUMAProcess = m.NUMATopology, m.NUMASettings, m.NUMAProcess
	})
	start, end := m.Window.Start, m.Window.End
	for i, p := range s.Series.Points {
		pt := session.Point{Sample: session.Sample{Time: p.Time, Source: p.Source, Values: p.Values, Missing: p.Missing, Origins: p.Origins}, Derived: p.Derived}
		if p.Restart != nil {
			r := p.Restart.Session()
			pt.Restart = &r
		}
		if i == len(s.Series.Points)-1 && len(s.Series.Histograms) > 0 {
			pt.Histograms = map[string]*session.Histogram{}
			for name, h := range s.Series.Histograms {
				b := make([]float64, len(h.Buckets))
				for j, v := range h.Buckets {
					b[j] = float64(v)
				}
				pt.Histograms[name] = &session.Histogram{Buckets: b, Counts: h.Counts}
			}
		}
		store.AppendPoint(pt)
		if start.IsZero() || p.Time.Before(start) {
			start = p.Time
		}
		if p.Time.After(end) {
			end = p.Time
		}
	}
	if m.Target.MetricsVia != "" {
		store.SetStatus(session.Status{Source: "metrics", Via: m.Target.MetricsVia, LastOK: end})
	}
	clock := end
	sess := New(store, nil, Options{Name: m.Target.Name, Now: func() time.Time { return clock }})
	sess.replay = true
	sess.started = start
	sess.start.at = start
	sess.start.groups = s.GoroutinesStart
	sess.start.cgroup = m.CgroupStart
	for _, k := range s.Kinds() {
		if c := s.Profile(k); c != nil && c.Profile != nil {
			sess.record(c)
		}
	}
	if len(s.GoroutineDump) > 0 {
		if gs, err := profile.ParseGoroutineDumpBytes(s.GoroutineDump); err == nil {
			sess.dump = &Dump{Raw: s.GoroutineDump, Groups: GroupDump(gs), Total: len(gs), At: end}
		}
	}
	sess.changes = append(sess.changes, m.Changes...)
	sess.tr.held = s.Trace
	sess.finishStart()
	return sess
}
