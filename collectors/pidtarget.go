package collectors

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/gotune/gotune/collectors/cgroup"
	"github.com/gotune/gotune/collectors/discover"
	"github.com/gotune/gotune/collectors/effective"
	"github.com/gotune/gotune/collectors/gops"
	"github.com/gotune/gotune/collectors/numa"
	"github.com/gotune/gotune/collectors/proc"
	"github.com/gotune/gotune/session"
)

// ProcessThreads is the OS thread count of the process, from /proc.
const ProcessThreads = "/process/threads:threads"

// How often the slower host facts are read. numa_maps walks the page tables
// of the whole process (PINS.md), so it is read rarely.
const (
	HostInterval     = 5 * time.Second
	NumaMapsInterval = time.Minute
)

// PIDTarget collects from a local process: runtime metrics through what
// discovery found (agent, Prometheus, expvar or gops), always merged with
// what the OS knows, and the host facts (cgroups, NUMA) on a slower cadence.
type PIDTarget struct {
	PID     int
	Process discover.Process // as resolved at attach
	URL     *URLTarget       // nil when no HTTP endpoint serves metrics
	Gops    *gops.Client     // nil when no gops agent was found
	Pprof   *PprofClient     // nil when no pprof endpoint answered
	// KeepHistograms, when not nil, names the only histograms a sample
	// keeps (KeyHistograms): the host overview and gotune watch hold many
	// samples, and the histograms are most of a sample's size.
	KeepHistograms []string

	procFS   proc.FS
	cgroupFS cgroup.FS
	numaFS   numa.FS

	mu       sync.Mutex // guards the fields below (metrics and host runners share them)
	limits   settingsInputs
	lastCG   *cgroup.Stats
	lastMaps time.Time
	topology *numa.Topology
}

type settingsInputs struct {
	affinity int
	quota    float64 // -1 unknown
	memLimit uint64
}

// NewPIDTarget resolves how to reach pid (see discover.Resolve).
func NewPIDTarget(ctx context.Context, pid int, ov discover.Overrides, opts discover.Options) (*PIDTarget, error) {
	p, err := discover.Resolve(ctx, pid, ov, opts)
	if err != nil {
		return nil, err
	}
	return PIDTargetOf(p, opts), nil
}

// PIDTargetOf is the target of a process discovery already found
// (discover.Scan or Resolve), without probing it again: the host overview
// reads many processes through it, one CollectMetrics call per refresh.
func PIDTargetOf(p discover.Process, opts discover.Options) *PIDTarget {
	pid := p.PID
	root := opts.Root
	if root == "" {
		root = "/"
	}
	t := &PIDTarget{PID: pid, Process: p, procFS: proc.FS{Root: root}, cgroupFS: cgroup.FS{Root: root}, numaFS: numa.FS{Root: root},
		limits: settingsInputs{quota: -1}}
	if p.Reach.BaseURL != "" {
		if u, err := NewURLTarget(p.Reach.BaseURL, HTTPSourceOptions{}); err == nil {
			if p.Reach.Metrics() != "gops" && p.Reach.Metrics() != "os" {
				t.URL = u
			}
			if p.Reach.PprofURL != "" {
				t.Pprof = u.Pprof
			}
		}
	}
	if t.URL == nil && p.Reach.GopsAddr != "" {
		t.Gops = gops.NewClient(p.Reach.GopsAddr)
	}
	return t
}

// Via says where runtime metrics come from: "agent", "prometheus",
// "expvar", "gops" or "os".
func (t *PIDTarget) Via() string {
	switch {
	case t.URL != nil:
		return t.Process.Reach.Metrics()
	case t.Gops != nil:
		return "gops"
	}
	return "os"
}

// Describe publishes what is known at attach: the target, build info, GO*
// environment and reachability.
func (t *PIDTarget) Describe(store *session.Store) {
	tg := session.Target{PID: t.PID, Command: t.Process.Command, Args: t.Process.Args(), GoVersion: t.Process.GoVersion, StartTime: t.Process.StartTime}
	if t.URL != nil {
		tg.URL = Redact(t.URL.Base)
	}
	store.SetTarget(tg)
	reach := t.Process.Reach
	store.UpdateFacts(func(f *session.Facts) {
		f.Build = t.Process.Build
		f.Env = t.Process.Env()
		f.Reach = &reach
	})
}

// ErrProcessGone says the attached process has exited.
var ErrProcessGone = errors.New("process exited")

// CollectMetrics reads one sample: the runtime metrics source (if any) and
// the OS figures, merged. A failing metrics source does not stop the OS
// figures: the sample is kept and the error reported.
func (t *PIDTarget) CollectMetrics(store *session.Store) func(ctx context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		st, osErr := t.procFS.ProcessSummary(ctx, t.PID)
		if osErr != nil {
			if errors.Is(osErr, proc.ErrNoProcess) {
				return t.Via(), &FetchError{URL: fmt.Sprintf("pid %d", t.PID), Reason: "process exited", Err: ErrProcessGone, Unreachable: true}
			}
		} else if !t.Process.StartTime.IsZero() && !st.StartTime.IsZero() && st.StartTime.Sub(t.Process.StartTime).Abs() > 2*time.Second {
			// The PID now belongs to another process.
			return t.Via(), &FetchError{URL: fmt.Sprintf("pid %d", t.PID), Reason: "process exited (its PID was reused)", Err: ErrProcessGone, Unreachable: true}
		}
		var s session.Sample
		var metricsErr error
		switch {
		case t.URL != nil:
			s, _, metricsErr = t.URL.readOnce(ctx)
		case t.Gops != nil:
			s, metricsErr = gopsSample(ctx, t.Gops)
		}
		if s.Values == nil {
			s = session.Sample{Time: time.Now(), Source: "os", Values: map[string]float64{}}
		}
		if osErr == nil {
			s.Values[session.ProcessCPU] = st.CPUSeconds
			s.Values[session.ProcessRSS] = float64(st.RSS)
			s.Values[ProcessThreads] = float64(st.NumThreads)
			store.UpdateFacts(func(f *session.Facts) { f.Process = &st })
			t.mu.Lock()
			if t.limits.affinity == 0 && len(st.CPUsAllowed) > 0 {
				t.limits.affinity = len(st.CPUsAllowed)
			}
			t.mu.Unlock()
		}
		s.Missing = missing(&s)
		keepHistograms(&s, t.KeepHistograms)
		t.explain(store, s) // before the sample: readers see both together
		store.Append(s)
		if metricsErr != nil {
			return t.Via(), metricsErr
		}
		if osErr != nil {
			return t.Via(), fmt.Errorf("read /proc/%d: %w", t.PID, osErr)
		}
		return t.Via(), nil
	}
}

// explain publishes the effective GOGC, GOMEMLIMIT and GOMAXPROCS with why.
func (t *PIDTarget) explain(store *session.Store, s session.Sample) {
	t.mu.Lock()
	lim := t.limits
	t.mu.Unlock()
	in := effective.Input{Env: t.Process.Env(), Live: session.LiveSettings(s.Values), AffinityCPUs: lim.affinity, CPUQuota: lim.quota, MemoryLimit: lim.memLimit}
	if b := t.Process.Build; b != nil {
		in.GoVersion, in.DefaultGODEBUG, in.Deps = b.GoVersion, b.GODEBUG, b.Deps
	}
	ex := effective.Explain(in)
	store.UpdateFacts(func(f *session.Facts) { f.Settings = &ex })
}

// CollectHost reads cgroups and NUMA placement (numa_maps at most once per
// NumaMapsInterval). It is a Runner's Collect on HostInterval.
func (t *PIDTarget) CollectHost(store *session.Store) func(ctx context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		var errs []error
		if err := t.collectCgroup(ctx, store); err != nil {
			errs = append(errs, err)
		}
		if t.topology == nil {
			if topo, err := t.numaFS.Topology(ctx); err == nil {
				t.topology = &topo
				store.UpdateFacts(func(f *session.Facts) { f.Topology = &topo })
			} else {
				errs = append(errs, fmt.Errorf("NUMA topology: %w", err))
			}
			if set, err := t.numaFS.Settings(ctx); err == nil {
				store.UpdateFacts(func(f *session.Facts) { f.NUMASettings = &set })
			}
		}
		if t.topology != nil {
			withMaps := time.Since(t.lastMaps) >= NumaMapsInterval
			np, err := t.numaFS.Process(ctx, *t.topology, t.PID, withMaps)
			if err == nil {
				if withMaps {
					t.lastMaps = time.Now()
				}
				store.UpdateFacts(func(f *session.Facts) { f.NUMAProcess = &np })
			} else {
				errs = append(errs, fmt.Errorf("NUMA placement: %w", err))
			}
		}
		return "/proc, /sys", errors.Join(errs...)
	}
}

// CollectCgroup reads the cgroup limits, usage and throttling only (no
// NUMA): the host overview's slow read of each process.
func (t *PIDTarget) CollectCgroup(store *session.Store) func(ctx context.Context) (string, error) {
	return func(ctx context.Context) (string, error) { return "/sys/fs/cgroup", t.collectCgroup(ctx, store) }
}

func (t *PIDTarget) collectCgroup(ctx context.Context, store *session.Store) error {
	cg, err := t.cgroupFS.Read(ctx, t.PID)
	if err != nil {
		return fmt.Errorf("cgroups: %w", err)
	}
	store.UpdateFacts(func(f *session.Facts) { f.Cgroup = &cg })
	t.mu.Lock()
	if prev := t.lastCG; prev != nil && cg.CPU != nil {
		// Throttling is counted where the quota is enforced: the
		// level of the effective quota, which may be an ancestor.
		rates := cgroup.CPURates(*prev, cg)
		level := cg.CPU.From
		if level == "" && len(cg.CPU.Levels) > 0 {
			level = cg.CPU.Leaf().Path
		}
		if r, ok := rates[level]; ok {
			store.UpdateFacts(func(f *session.Facts) { f.Throttle = &r })
		}
	}
	t.lastCG = &cg
	t.limits.quota = 0
	if cg.Go.Found && cg.Go.Quota.Limited {
		if c := cg.Go.Quota.Cores(); !math.IsInf(c, 0) {
			t.limits.quota = c
		}
	}
	if cg.Memory != nil && cg.Memory.Limited {
		t.limits.memLimit = cg.Memory.Limit
	}
	t.mu.Unlock()
	return nil
}

// Watch starts the metrics runner (at interval) and the host runner (at
// HostInterval) for t; they stop when ctx is done.
func (t *PIDTarget) Watch(ctx context.Context, store *session.Store, interval time.Duration) {
	t.Describe(store)
	go NewRunner("metrics", interval, store, t.CollectMetrics(store)).Run(ctx)
	go NewRunner("host", max(interval, HostInterval), store, t.CollectHost(store)).Run(ctx)
}
