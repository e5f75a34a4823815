package collectors

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/gotune/gotune/collectors/discover"
	"github.com/gotune/gotune/collectors/effective"
	"github.com/gotune/gotune/collectors/proc"
	"github.com/gotune/gotune/redact"
	"github.com/gotune/gotune/session"
)

// URLTarget collects from a Go service over HTTP: metrics from every source
// it offers at its base URL, fused (detected on the first call, again after
// a source stops making sense), and profiles through its pprof endpoints.
//
// It follows the process that answers at the URL: when the target restarts
// (another PID or start time, from the agent, the local process listening
// on a loopback port, or the sources' own start time; else counters that
// went backwards), the store's target becomes the new process, the first
// point read from it is marked (session.Restart) and its sources are
// detected again.
type URLTarget struct {
	Base  string
	Pprof *PprofClient
	opts  HTTPSourceOptions

	// Touched only by the runner's single in-flight call:
	source   *FusedSource
	interval time.Duration
	id       identity        // the process that answered last
	prevRaw  *session.Sample // the last sample as the sources gave it (no local start time added)
	down     bool            // a call failed since the last sample
	// start is the process start found through the local listener of a
	// loopback target (startFrom its origin), for GC CPU from MemStats
	// when no source reports it; startWhy says why there is none.
	start     float64
	startFrom string
	startWhy  string

	// KeepHistograms, when not nil, names the only histograms a sample
	// keeps (see PIDTarget.KeepHistograms).
	KeepHistograms []string
}

// identity is which process answers at a URL target.
type identity struct {
	pid   int
	start time.Time
	// how they are known: "agent", "local" (the process listening on a
	// loopback port, through /proc), "source" (a start time the metrics
	// give, such as process_start_time_seconds), "" when unknown.
	from  string
	local *discover.Process // the local process, when found
	// localErr says why no local process was found ("" when one was, or
	// when none was looked for).
	localErr error
}

func (id identity) known() bool { return id.pid != 0 || !id.start.IsZero() }

// NewURLTarget accepts "http://host:port", "host:port" or a /debug/pprof URL.
func NewURLTarget(target string, opts HTTPSourceOptions) (*URLTarget, error) {
	base, err := NormalizeBase(target)
	if err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	p := NewPprofClient(base)
	p.HTTP = opts.HTTP
	return &URLTarget{Base: base, Pprof: p, opts: opts, interval: time.Second}, nil
}

// CollectMetrics reads one sample into store. It is a Runner's Collect.
func (t *URLTarget) CollectMetrics(store *session.Store) func(ctx context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		fresh := t.source == nil
		s, via, err := t.readOnce(ctx)
		if err != nil {
			t.down = true
			return via, err
		}
		raw := session.Sample{Time: s.Time, Values: maps.Clone(s.Values), Origins: maps.Clone(s.Origins)}
		prev := t.id
		cur, why, restarted := t.follow(ctx, &s, fresh)
		t.id, t.prevRaw, t.down = cur, &raw, false
		if fresh || restarted {
			t.setStart(cur, &s)
			store.UpdateFacts(func(f *session.Facts) {
				f.Build = nil
				if cur.local != nil {
					f.Build = cur.local.Build
				}
			})
		}
		if t.start > 0 {
			s.Values[session.ProcessStart] = t.start
			s.Origins[session.ProcessStart] = t.startFrom
		}
		t.source.Finish(&s)
		// Over HTTP only the live values are known, not where they come
		// from; the explanation says so ("origin unknown"). Published
		// before the sample, so a reader never sees a sample without it.
		ex := effective.Explain(effective.Input{Live: session.LiveSettings(s.Values), CPUQuota: -1, Remote: true})
		store.UpdateFacts(func(f *session.Facts) { f.Settings = &ex })
		keepHistograms(&s, t.KeepHistograms)
		switch {
		case restarted:
			r := session.Restart{At: s.Time, FromPID: prev.pid, ToPID: cur.pid, FromStart: prev.start, ToStart: cur.start, Why: why}
			store.AppendRestart(s, r, t.target(cur))
			// The new process may be another build with other endpoints.
			t.source = nil
		case fresh:
			store.SetTarget(t.target(cur))
			store.Append(s)
		default:
			store.Append(s)
		}
		return s.Source, nil
	}
}

// readOnce reads one sample, detecting the sources on first use and again
// after a reachable target stops answering sensibly (a restart into another
// build, a proxy page): a refused connection keeps the sources.
func (t *URLTarget) readOnce(ctx context.Context) (session.Sample, string, error) {
	if t.source == nil {
		src, s, err := DetectMetrics(ctx, t.Base, t.opts)
		if err != nil {
			return session.Sample{}, "", err
		}
		src.SetInterval(t.interval)
		t.source = src
		return s, s.Source, nil
	}
	via := t.source.Via()
	s, err := t.source.Read(ctx)
	if err != nil {
		var fe *FetchError
		timedOut := errors.As(err, &fe) && isTimeout(fe)
		if !IsUnreachable(err) && !timedOut {
			t.source = nil
		}
		return s, via, err
	}
	return s, s.Source, nil
}

// follow works out which process answered s and whether it is another one
// than the last sample's (with why). The agent names its process; else the
// local process listening on a loopback target's port (looked up again
// after an outage, on a new detection, when the known one is gone or
// counters say so; else checked through /proc, which is cheap); else the
// start time the sources give; else counters that went backwards.
func (t *URLTarget) follow(ctx context.Context, s *session.Sample, fresh bool) (identity, string, bool) {
	prev := t.id
	counterWhy, counters := session.RestartBetween(t.prevRaw, s)
	if a := t.agent(); a != nil && (a.Last.PID != 0 || !a.Last.StartTime.IsZero()) {
		cur := identity{pid: a.Last.PID, start: a.Last.StartTime, from: "agent"}
		switch {
		case prev.from == "agent" && prev.pid != 0 && cur.pid != 0 && prev.pid != cur.pid:
			return cur, "the agent's pid changed", true
		case prev.from == "agent" && startChanged(prev.start, cur.start):
			return cur, "the agent's start_time changed", true
		case prev.from != "agent" && prev.known():
			// Another kind of identity before (a new detection found the
			// agent): compare what both know.
			if why, ok := differ(prev, cur); ok {
				return cur, why, true
			}
		case !prev.known() && counters:
			return cur, counterWhy, true
		}
		return cur, "", false
	}
	cur := identity{localErr: prev.localErr}
	if t.mayBeLocal(prev) {
		cur = t.localIdentity(ctx, prev, fresh || t.down || counters)
	}
	if cur.start.IsZero() {
		if v, ok := s.Values[session.ProcessStart]; ok && v > 0 {
			cur.start = time.Unix(0, int64(v*1e9))
			if cur.from == "" {
				cur.from = "source"
			}
		}
	}
	if prev.known() && cur.known() {
		if why, ok := differ(prev, cur); ok {
			return cur, why, true
		}
		if cur.pid != 0 && cur.pid == prev.pid && !cur.start.IsZero() && !prev.start.IsZero() {
			return cur, "", false // the same process, whatever the counters say
		}
	}
	if (prev.known() || t.prevRaw != nil) && counters {
		return cur, counterWhy, true
	}
	return cur, "", false
}

// differ says how two identities name different processes.
func differ(prev, cur identity) (string, bool) {
	switch {
	case prev.from == cur.from && prev.pid != 0 && cur.pid != 0 && prev.pid != cur.pid:
		// PIDs compare only as one source gives them: an agent in a
		// container names its PID in its own namespace.
		if cur.from == "local" {
			return fmt.Sprintf("another process (pid %d) listens on the port", cur.pid), true
		}
		return "the pid changed", true
	case startChanged(prev.start, cur.start):
		return "the process start time changed", true
	}
	return "", false
}

func startChanged(a, b time.Time) bool {
	return !a.IsZero() && !b.IsZero() && (b.Sub(a) > session.StartTolerance || a.Sub(b) > session.StartTolerance)
}

// mayBeLocal reports whether the URL may name this machine: the first
// look-up decides (a remote host is not looked up again).
func (t *URLTarget) mayBeLocal(prev identity) bool {
	return !errors.Is(prev.localErr, discover.ErrNotLocal)
}

// localIdentity is the local Go process listening on the target's port.
// The known one is kept while /proc says it runs with the same start time,
// unless lookup is set (after an outage, a new detection, counters that
// went backwards); else the port's listener is looked up (every process's
// sockets: not cheap, so only then).
func (t *URLTarget) localIdentity(ctx context.Context, prev identity, lookup bool) identity {
	if !lookup && prev.from == "local" && prev.pid != 0 {
		st, err := processStart(proc.Host, prev.pid)
		switch {
		case errors.Is(err, proc.ErrNotAvailable):
			return prev // this OS cannot tell cheaply: keep it
		case err == nil && !startChanged(prev.start, st):
			return prev
		}
	}
	if !lookup && prev.from != "local" && prev.localErr != nil {
		return identity{localErr: prev.localErr} // looked up before and none found: not every second
	}
	pid, err := discover.LocalPID(ctx, t.Base, discover.Options{})
	if err != nil {
		return identity{localErr: err}
	}
	p, err := discover.Inspect(ctx, pid, discover.Options{CPUWindow: -1})
	if err != nil {
		return identity{localErr: err}
	}
	id := identity{pid: pid, start: p.StartTime, from: "local", local: &p}
	if st, err := processStart(proc.Host, pid); err == nil {
		id.start = st // to 20 ms, better than the whole-second boot time
	}
	return id
}

// agent is the fused source's agent member, or nil.
func (t *URLTarget) agent() *AgentSource {
	if t.source == nil {
		return nil
	}
	for _, m := range t.source.members {
		if a, ok := m.src.(*AgentSource); ok && !m.idle {
			return a
		}
	}
	return nil
}

// setStart keeps the local process's start time for GC CPU from MemStats
// (GCCPUFraction × (LastGC − start) needs it) when the sources give
// MemStats but no start time; else says why there is none. A start time a
// source reports may be whole seconds (client_golang's
// process_start_time_seconds builds on /proc/stat btime): the local
// process's own, to 20 ms, is better where there is one.
func (t *URLTarget) setStart(id identity, s *session.Sample) {
	t.start, t.startFrom, t.startWhy = 0, "", ""
	if _, memstats := s.Values[session.MemStatsGCCPUFraction]; !memstats {
		return
	}
	if id.from == "local" && !id.start.IsZero() {
		t.start = float64(id.start.UnixNano()) / 1e9
		t.startFrom = fmt.Sprintf("/proc/%d (the process listening on %s)", id.pid, strings.TrimPrefix(t.Base, "http://"))
		return
	}
	if _, ok := s.Values[session.ProcessStart]; ok {
		return
	}
	why := "not found"
	if id.localErr != nil {
		why = id.localErr.Error()
	}
	t.startWhy = "no GC CPU from MemStats: the process's start time is unknown (" + why + "); attach by PID"
}

// target is the store's description of the process id: the agent's
// facts, else the local process's (its command line masked, as every
// printed and saved command line is).
func (t *URLTarget) target(id identity) session.Target {
	tg := session.Target{URL: Redact(t.Base), PID: id.pid, StartTime: id.start}
	if a := t.agent(); a != nil {
		tg.GoVersion = a.Last.GoVersion
	}
	if p := id.local; p != nil {
		if args := p.Args(); len(args) > 0 {
			tg.Args = redact.Args(args)
			tg.Command = strings.Join(tg.Args, " ")
		} else {
			tg.Command = redact.Command(p.Command)
		}
		if tg.GoVersion == "" {
			tg.GoVersion = p.GoVersion
		}
	}
	return tg
}

func isTimeout(fe *FetchError) bool { return strings.HasPrefix(fe.Reason, "no answer within") }

// pace is the runner's Pace: the fused source's.
func (t *URLTarget) pace() (time.Duration, string) {
	if t.source == nil {
		return 0, ""
	}
	iv, note := t.source.Pace()
	if t.startWhy != "" {
		note = strings.TrimPrefix(note+"; "+t.startWhy, "; ")
	}
	return iv, note
}

// MetricsRunner returns a runner that reads t's metrics into store; set its
// fields, then start it with go r.Run(ctx).
func (t *URLTarget) MetricsRunner(store *session.Store, interval time.Duration) *Runner {
	if interval > 0 {
		t.interval = interval
	}
	r := NewRunner("metrics", interval, store, t.CollectMetrics(store))
	r.Pace = t.pace
	return r
}

// Watch starts a metrics runner for t on store; it stops when ctx is done.
func (t *URLTarget) Watch(ctx context.Context, store *session.Store, interval time.Duration) {
	go t.MetricsRunner(store, interval).Run(ctx)
}
