package collectors

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gotune/gotune/collectors/discover"
	"github.com/gotune/gotune/collectors/effective"
	"github.com/gotune/gotune/collectors/proc"
	"github.com/gotune/gotune/session"
)

// URLTarget collects from a Go service over HTTP: metrics from every source
// it offers at its base URL, fused (detected on the first call, again after
// a source stops making sense), and profiles through its pprof endpoints.
type URLTarget struct {
	Base  string
	Pprof *PprofClient
	opts  HTTPSourceOptions

	source   *FusedSource // touched only by the runner's single in-flight call
	interval time.Duration
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
			return via, err
		}
		if fresh {
			t.describe(store, t.source)
			t.findStart(ctx, &s)
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
		store.Append(s)
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

// findStart looks for the process start time when the sources give
// MemStats (GC CPU from GCCPUFraction needs it) but no start time: the
// local process listening on a loopback target's port.
func (t *URLTarget) findStart(ctx context.Context, s *session.Sample) {
	t.start, t.startFrom, t.startWhy = 0, "", ""
	// A start time a source reports may be whole seconds (client_golang's
	// process_start_time_seconds builds on /proc/stat btime): the local
	// process's own, to 20 ms, is better where there is one.
	if _, memstats := s.Values[session.MemStatsGCCPUFraction]; !memstats {
		return
	}
	pid, err := discover.LocalPID(ctx, t.Base, discover.Options{})
	if err == nil {
		var st time.Time
		if st, err = processStart(proc.Host, pid); err == nil {
			t.start = float64(st.UnixNano()) / 1e9
			t.startFrom = fmt.Sprintf("/proc/%d (the process listening on %s)", pid, strings.TrimPrefix(t.Base, "http://"))
			return
		}
	}
	t.startWhy = "no GC CPU from MemStats: the process's start time is unknown (" + err.Error() + "); attach by PID"
}

func isTimeout(fe *FetchError) bool { return strings.HasPrefix(fe.Reason, "no answer within") }

func (t *URLTarget) describe(store *session.Store, src *FusedSource) {
	tg := session.Target{URL: Redact(t.Base)}
	for _, m := range src.members {
		if a, ok := m.src.(*AgentSource); ok {
			tg.PID = a.Last.PID
			tg.GoVersion = a.Last.GoVersion
			tg.StartTime = a.Last.StartTime
		}
	}
	store.SetTarget(tg)
}

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
