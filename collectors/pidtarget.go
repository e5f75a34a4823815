package collectors

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

// PIDTarget collects from a local process: runtime metrics from every
// endpoint discovery found (agent, Prometheus, expvar and pprof on any of
// its ports, a gops agent), fused (FusedSource), always merged with what
// the OS knows, and the host facts (cgroups, NUMA) on a slower cadence.
type PIDTarget struct {
	PID     int
	Process discover.Process // as resolved at attach
	Base    string           // the base URL discovery prefers (Reach.BaseURL), "" when none
	Gops    *gops.Client     // nil when no gops agent was found
	Pprof   *PprofClient     // nil when no pprof endpoint answered
	// KeepHistograms, when not nil, names the only histograms a sample
	// keeps (KeyHistograms): the host overview and gotune watch hold many
	// samples, and the histograms are most of a sample's size.
	KeepHistograms []string

	metrics     *FusedSource // nil when nothing but the OS reaches the process
	detected    bool         // metrics detected (touched by the metrics runner only)
	gopsSrc     *gopsMetrics
	gopsFetch   *GopsFetcher
	start       time.Time // process start, to 20 ms (metrics runner only)
	detectAfter time.Time // no detection before (metrics runner only)
	interval    time.Duration
	// refStart is the start time (as ProcessSummary reads it) that names
	// the process: another one under the same PID is not it (metrics
	// runner only).
	refStart time.Time
	// exited is set once the process is gone: a PID names one process,
	// so nothing is read again, even if the PID comes back.
	exited atomic.Bool

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

// NewPIDTarget resolves how to reach pid (see discover.Resolve) and uses
// each endpoint found: metrics from all of them, profiles from pprof (else
// gops).
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
	t := &PIDTarget{PID: pid, Process: p, Base: p.Reach.BaseURL, procFS: proc.FS{Root: root}, cgroupFS: cgroup.FS{Root: root}, numaFS: numa.FS{Root: root},
		limits: settingsInputs{quota: -1}, interval: time.Second}
	r := p.Reach
	o := HTTPSourceOptions{}.withDefaults()
	var srcs []MetricsSource
	if b, ok := reachBase(r.AgentURL, discover.PathAgent); ok {
		srcs = append(srcs, NewAgentSource(b, o))
	}
	if b, ok := reachBase(r.PrometheusURL, discover.PathPrometheus); ok {
		srcs = append(srcs, NewPrometheusSource(b, o))
	}
	if b, ok := reachBase(r.ExpvarURL, discover.PathExpvar); ok {
		srcs = append(srcs, NewExpvarSource(b, o))
	}
	if b, ok := reachBase(r.PprofURL, discover.PathPprof); ok {
		srcs = append(srcs, NewPprofMetricsSource(b, o))
		t.Pprof = NewPprofClient(b)
		t.Pprof.HTTP = o.HTTP
	}
	if r.GopsAddr != "" {
		t.Gops = gops.NewClient(r.GopsAddr)
		t.gopsSrc = &gopsMetrics{c: t.Gops}
		t.gopsFetch = &GopsFetcher{Client: t.Gops, metrics: t.gopsSrc}
		srcs = append(srcs, t.gopsSrc)
	}
	if len(srcs) > 0 {
		t.metrics = NewFusedSource(srcs...)
		t.metrics.assumeGOGC = t.assumeGOGC
		t.metrics.assumeLimit = t.assumeLimit
	}
	return t
}

// reachBase is the base URL of an endpoint URL discovery recorded.
func reachBase(u, path string) (string, bool) {
	if u == "" {
		return "", false
	}
	b, ok := strings.CutSuffix(u, path)
	if !ok {
		b, ok = strings.CutSuffix(u, strings.TrimSuffix(path, "/"))
	}
	return b, ok && b != ""
}

// assumeGOGC is GOGC as the environment set it at exec, for the live-heap
// estimate when no source reports GOGC live.
func (t *PIDTarget) assumeGOGC() (float64, string) {
	env := t.Process.Env()
	if env == nil {
		return 100, "not reported and the environment is unreadable: assumed the default"
	}
	v, ok := env["GOGC"]
	switch {
	case !ok || v == "":
		return 100, "GOGC unset in the environment at exec: the default, unless the program called debug.SetGCPercent"
	case strings.EqualFold(v, "off"):
		return session.GOGCOff, "GOGC=off in the environment at exec"
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 100, fmt.Sprintf("GOGC=%q in the environment at exec is not a number (the runtime then uses the default)", v)
	}
	return float64(n), fmt.Sprintf("GOGC=%d in the environment at exec, not read live", n)
}

// assumeLimit is GOMEMLIMIT from the environment at exec.
func (t *PIDTarget) assumeLimit() (float64, bool) {
	v, ok := t.Process.Env()["GOMEMLIMIT"]
	if !ok || v == "" || strings.EqualFold(v, "off") {
		return 0, false
	}
	n, ok := effective.ParseByteCount(v)
	return float64(n), ok
}

// Via says where runtime metrics come from: the members of the last
// sample ("agent", "prometheus + pprof", "gops", ...) or "os".
func (t *PIDTarget) Via() string {
	if t.metrics == nil {
		return "os"
	}
	return t.metrics.Via()
}

// Describe publishes what is known at attach: the target, build info, GO*
// environment and reachability.
func (t *PIDTarget) Describe(store *session.Store) {
	tg := session.Target{PID: t.PID, Command: t.Process.Command, Args: t.Process.Args(), GoVersion: t.Process.GoVersion, StartTime: t.Process.StartTime}
	if t.metrics != nil && t.Base != "" {
		tg.URL = Redact(t.Base)
	}
	store.SetTarget(tg)
	reach := t.Process.Reach
	store.UpdateFacts(func(f *session.Facts) {
		f.Build = t.Process.Build
		f.Env = t.Process.Env()
		f.Reach = &reach
	})
}

// redetectAfter spaces the detections of a PID target whose endpoints
// answered at discovery but not with metrics since.
const redetectAfter = 30 * time.Second

// ErrProcessGone says the attached process has exited.
var ErrProcessGone = errors.New("process exited")

// CollectMetrics reads one sample: the fused metrics sources (if any) and
// the OS figures, merged; the OS wins for process CPU, RSS, threads and
// start time. A failing metrics source does not stop the OS figures: the
// sample is kept and the error reported.
func (t *PIDTarget) CollectMetrics(store *session.Store) func(ctx context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		if t.exited.Load() {
			return t.Via(), t.goneError("process exited")
		}
		st, osErr := t.procFS.ProcessSummary(ctx, t.PID)
		if t.refStart.IsZero() {
			t.refStart = t.Process.StartTime
			if t.refStart.IsZero() && osErr == nil {
				t.refStart = st.StartTime
			}
		}
		if osErr != nil {
			if errors.Is(osErr, proc.ErrNoProcess) {
				return t.Via(), t.exit(store, "process exited")
			}
		} else if !t.refStart.IsZero() && !st.StartTime.IsZero() && st.StartTime.Sub(t.refStart).Abs() > 2*time.Second {
			// The PID now belongs to another process.
			return t.Via(), t.exit(store, "process exited (its PID was reused)")
		}
		var s session.Sample
		var metricsErr error
		if t.metrics != nil {
			if !t.detected {
				if time.Now().After(t.detectAfter) {
					s, metricsErr = t.metrics.Detect(ctx)
					t.detected = metricsErr == nil
					var nm *NoMetricsError
					if errors.As(metricsErr, &nm) {
						// Reachable, but nothing answered as it should: the OS
						// figures meanwhile, and another try in a while.
						t.detectAfter = time.Now().Add(redetectAfter)
					}
				}
			} else {
				s, metricsErr = t.metrics.Read(ctx)
			}
		}
		if s.Values == nil || s.Source == "" {
			s = session.Sample{Time: time.Now(), Source: "os", Values: map[string]float64{}}
		}
		if s.Origins == nil {
			s.Origins = map[string]string{}
		}
		if osErr == nil {
			from := fmt.Sprintf("/proc/%d", t.PID)
			set := func(name string, v float64) {
				s.Values[name] = v
				s.Origins[name] = from
			}
			set(session.ProcessCPU, st.CPUSeconds)
			set(session.ProcessRSS, float64(st.RSS))
			set(ProcessThreads, float64(st.NumThreads))
			if t.start.IsZero() {
				// Once: to 20 ms, better than ProcessStat's whole-second boot time.
				if ps, err := processStart(t.procFS, t.PID); err == nil {
					t.start = ps
				} else {
					t.start = st.StartTime
				}
			}
			if !t.start.IsZero() {
				set(session.ProcessStart, float64(t.start.UnixNano())/1e9)
			}
			store.UpdateFacts(func(f *session.Facts) { f.Process = &st })
			t.mu.Lock()
			if t.limits.affinity == 0 && len(st.CPUsAllowed) > 0 {
				t.limits.affinity = len(st.CPUsAllowed)
			}
			t.mu.Unlock()
		}
		if t.metrics != nil {
			t.metrics.Finish(&s)
		} else {
			s.Missing = missing(&s)
		}
		keepHistograms(&s, t.KeepHistograms)
		t.explain(store, s) // before the sample: readers see both together
		store.Append(s)
		if metricsErr != nil {
			return s.Source, metricsErr
		}
		if osErr != nil {
			return s.Source, fmt.Errorf("read /proc/%d: %w", t.PID, osErr)
		}
		return s.Source, nil
	}
}

// exit records that the process is gone for good: the store's target says
// when, and every later call fails at once with ErrProcessGone (which
// stops the runners). A new process, even under the same PID or on the
// same port, is another target: attach to it.
func (t *PIDTarget) exit(store *session.Store, why string) error {
	if !t.exited.Swap(true) {
		now := time.Now()
		store.UpdateTarget(func(tg *session.Target) { tg.ExitedAt = now })
	}
	return t.goneError(why)
}

func (t *PIDTarget) goneError(why string) error {
	return &FetchError{URL: fmt.Sprintf("pid %d", t.PID), Reason: why + "; gotune does not follow another process by PID (attach to the new one)",
		Err: ErrProcessGone, Unreachable: true}
}

// pace is the metrics runner's Pace: the fused source's.
func (t *PIDTarget) pace() (time.Duration, string) {
	if t.metrics == nil || !t.detected {
		return 0, ""
	}
	return t.metrics.Pace()
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
		if t.exited.Load() {
			return "/proc, /sys", t.goneError("process exited")
		}
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

// Watch starts the metrics runner (at interval) and, where the OS has
// cgroups and NUMA (Linux), the host runner (at HostInterval) for t; they
// stop when ctx is done. Elsewhere the host source's status says they are
// not available on this OS, once.
func (t *PIDTarget) Watch(ctx context.Context, store *session.Store, interval time.Duration) {
	t.Describe(store)
	if interval > 0 {
		t.interval = interval
	}
	if t.metrics != nil {
		t.metrics.SetInterval(t.interval)
	}
	r := NewRunner("metrics", interval, store, t.CollectMetrics(store))
	r.Pace = t.pace
	go r.Run(ctx)
	if runtime.GOOS != "linux" {
		store.SetStatus(session.Status{Source: "host", Via: runtime.GOOS, LastErr: "cgroups, throttling and NUMA: not available on this OS (" + runtime.GOOS + ")"})
		return
	}
	go NewRunner("host", max(interval, HostInterval), store, t.CollectHost(store)).Run(ctx)
}
