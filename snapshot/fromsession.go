package snapshot

import (
	"maps"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/redact"
	"github.com/gotune/gotune/session"
)

// FromSession builds the manifest and series of a snapshot from a session
// snapshot: the points of the window [start, end] (all points when start is
// zero), the target, and the facts the collectors published. Everything
// that could hold a secret is redacted here: only GO* environment variables
// are kept, and credentials in URLs and secret-looking flag values in the
// command line are masked. Profiles, goroutines and findings are added by
// the caller.
func FromSession(snap *session.Snapshot, name, gotuneVersion string, start, end time.Time) *Snapshot {
	s := &Snapshot{Profiles: map[profile.Kind]*profile.Captured{}}
	start, end = wallUTC(start), wallUTC(end)
	m := &s.Manifest
	m.GotuneVersion = gotuneVersion
	m.Created = end
	m.Name = name
	m.Window = Window{Start: start, End: end}
	tg := snap.Target
	m.Target = Target{URL: redact.URL(tg.URL), PID: tg.PID, Command: redactedCommand(tg), GoVersion: tg.GoVersion, StartTime: wallUTC(tg.StartTime)}
	m.Target.Name = targetName(m.Target)
	if st, ok := snap.StatusOf("metrics"); ok {
		m.Target.MetricsVia = st.Via
	}
	f := snap.Facts
	m.Target.Build = f.Build
	m.Settings = f.Settings
	m.Cgroup = f.Cgroup
	m.Throttle = f.Throttle
	m.NUMATopology = f.Topology
	m.NUMASettings = f.NUMASettings
	m.NUMAProcess = f.NUMAProcess
	if f.Env != nil {
		m.Env = redact.GoEnv(f.Env)
	}
	var last *session.Point
	for i := range snap.Points {
		p := &snap.Points[i]
		if !start.IsZero() && p.Time.Before(start) || !end.IsZero() && p.Time.After(end) {
			continue
		}
		s.Series.Points = append(s.Series.Points, Point{Time: wallUTC(p.Time), Source: p.Source,
			Values: finite(p.Values), Derived: finite(p.Derived), Missing: nonEmpty(p.Missing), Origins: nonEmptyMap(p.Origins), Restart: restartOf(p.Restart)})
		last = p
	}
	if last != nil && len(last.Histograms) > 0 {
		s.Series.Histograms = map[string]Histogram{}
		for name, h := range last.Histograms {
			hb := Histogram{Buckets: make([]Float, len(h.Buckets)), Counts: append([]uint64(nil), h.Counts...)}
			for i, b := range h.Buckets {
				hb.Buckets[i] = Float(b)
			}
			s.Series.Histograms[name] = hb
		}
	}
	if s.Manifest.Window.Start.IsZero() && len(s.Series.Points) > 0 {
		s.Manifest.Window.Start = s.Series.Points[0].Time
	}
	return s
}

// wallUTC drops the monotonic clock reading and the zone, so a time reads
// back from JSON exactly as it was written.
func wallUTC(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.Round(0).UTC()
}

func targetName(t Target) string {
	switch {
	case t.PID != 0 && t.Command != "":
		return "pid " + itoa(t.PID) + " (" + t.Command + ")"
	case t.URL != "":
		return t.URL
	case t.PID != 0:
		return "pid " + itoa(t.PID)
	}
	return "unknown target"
}

func itoa(n int) string { return strconv.Itoa(n) }

// finite copies m without NaN and ±Inf, which JSON numbers cannot hold.
func finite(m map[string]float64) map[string]float64 {
	if len(m) == 0 {
		return nil // as JSON's omitempty reads back
	}
	out := maps.Clone(m)
	for k, v := range out {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			delete(out, k)
		}
	}
	return out
}

func nonEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// redactedCommand masks secrets in the target's command line, on the argv
// vector when known (a value may hold spaces).
func redactedCommand(tg session.Target) string {
	if len(tg.Args) > 0 {
		return strings.Join(redact.Args(tg.Args), " ")
	}
	return redact.Command(tg.Command)
}

func nonEmptyMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}
