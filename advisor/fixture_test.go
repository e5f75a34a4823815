package advisor

import (
	"context"
	"maps"
	"math"
	"path/filepath"
	"testing"
	"time"

	pprof "github.com/google/pprof/profile"

	"github.com/gotune/gotune/collectors/cgroup"
	"github.com/gotune/gotune/collectors/numa"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/session"
)

var t0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// synth is a synthetic Go process that obeys the GC guide's steady-state
// model exactly: its cumulative counters are what a process with these
// parameters would report once a second.
type synth struct {
	secs        int
	gogc        int     // -1 off
	memLimit    float64 // 0 none
	procs       float64
	live, roots float64
	other       float64
	alloc       float64 // bytes/s
	cpuPerCycle float64 // GC CPU seconds paid per cycle
	idleMark    float64 // idle-priority marking per cycle, CPU seconds (in /cpu/classes/gc/total, not paid)
	assist      float64 // share of GC CPU in mark assists
	cpu         float64 // process CPU in cores (the OS view)
	idleP       float64 // cores of P time with nothing to run (/cpu/classes/idle)
	goroutines  func(sec int) float64
	runnable    float64
	schedP99    float64 // seconds; 0: all fast
	pauseP99    float64
	mutexWait   float64 // seconds per second
	finalizers  func(sec int) (queued, executed float64)
	limiterAt   float64 // GC cycle the limiter last engaged (0 never)
	rss         float64
	noHistos    bool
}

// healthy is an idle, healthy process: the demo with --healthy.
func healthy() synth {
	return synth{secs: 30, gogc: 100, procs: 2, live: 3 * mb, roots: 64 << 10, other: 6 * mb, alloc: 1 * mb,
		cpuPerCycle: 0.0005, assist: 0.01, goroutines: func(int) float64 { return 12 }, runnable: 0, rss: 20 * mb, cpu: 0.3}
}

// idleServer is a real idle server as seen on a shared 2-core host: a
// 10 MiB live heap, 200 KiB/s of allocation, a GC cycle a minute or so
// (forced every two), 0.01 cores of CPU.
func idleServer() synth {
	s := healthy()
	s.secs = 60
	s.live, s.alloc, s.cpuPerCycle, s.cpu, s.rss = 10*mb, 200<<10, 0.002, 0.01, 40*mb
	return s
}

// busy is the default demo: 200 MiB/s over a ~100 MiB live heap.
func busy() synth {
	s := healthy()
	s.live, s.alloc, s.cpuPerCycle = 100*mb, 200*mb, 0.3
	s.rss = 260 * mb
	return s
}

func (s synth) goal() float64 {
	g, _ := EffectiveHeapGoal(s.live, s.roots, s.gogc, s.memLimit, s.other)
	return g
}

func histo(p99 float64, n uint64) *session.Histogram {
	b := []float64{math.Inf(-1), 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, math.Inf(1)}
	h := &session.Histogram{Buckets: b, Counts: make([]uint64, len(b)-1)}
	h.Counts[2] = n * 97 / 100
	// 3% of samples in the bucket whose upper bound is p99's.
	i := 3
	for i < len(b)-2 && b[i+1] < p99 {
		i++
	}
	if p99 <= 0 {
		i = 2
	}
	h.Counts[i] += n - h.Counts[2]
	return h
}

func (h *synthHist) add(p99 float64) {
	d := histo(p99, 100)
	if h.h == nil {
		h.h = &session.Histogram{Buckets: d.Buckets, Counts: make([]uint64, len(d.Counts))}
	}
	c := make([]uint64, len(d.Counts))
	for i := range c {
		c[i] = h.h.Counts[i] + d.Counts[i]
	}
	h.h = &session.Histogram{Buckets: d.Buckets, Counts: c}
}

type synthHist struct{ h *session.Histogram }

func (s synth) points() []session.Point {
	st := session.NewStore(s.secs + 1)
	goal := s.goal()
	rate := CyclesPerSecond(s.alloc, s.live, goal, 1)
	var sched, pauses synthHist
	gogc := float64(s.gogc)
	if s.gogc < 0 {
		gogc = math.MaxUint64
	}
	limit := s.memLimit
	if limit == 0 {
		limit = math.MaxInt64
	}
	for i := 0; i <= s.secs; i++ {
		t := float64(i)
		cycles := math.Floor(rate*t + 0.5)
		gc := cycles * s.cpuPerCycle
		phase := math.Mod(rate*t+0.37, 1)
		heapObj := s.live + (goal-s.live)*phase
		if math.IsInf(goal, 1) {
			heapObj = s.live + s.alloc*t
		}
		g := 12.0
		if s.goroutines != nil {
			g = s.goroutines(i)
		}
		v := map[string]float64{
			session.GCCycles: 10 + cycles, session.CPUGCTotal: 5 + gc + cycles*s.idleMark, session.CPUGCAssist: 0.1 + gc*s.assist,
			metricCPUGCIdle: 2 + cycles*s.idleMark, metricCPUIdle: 50 + t*s.idleP,
			session.CPUTotal: 100 + s.procs*t, session.HeapAllocsBytes: 1e9 + s.alloc*t,
			session.HeapLive: s.live, session.HeapGoal: math.Min(goal, 1e15), session.HeapObjects: heapObj,
			session.MemoryTotal: math.Max(heapObj, math.Min(goal, 1e15)) + s.other, metricHeapReleased: 0, metricHeapUnused: 0,
			metricHeapFree:  math.Max(math.Min(goal, 1e15)-heapObj, 0),
			metricScanStack: s.roots / 2, metricScanGlobals: s.roots / 2,
			session.GOGC: gogc, session.GOMEMLIMIT: limit, session.GOMAXPROCS: s.procs,
			session.Goroutines: g, session.GoroutinesRunnable: s.runnable,
			session.MutexWait: 50 + s.mutexWait*t, session.LimiterLastEnabled: s.limiterAt,
			session.FinalizersQueued: 0, session.FinalizersExecuted: 0,
			session.ProcessCPU: 10 + t*s.cpu, session.ProcessRSS: s.rss,
		}
		if s.finalizers != nil {
			v[session.FinalizersQueued], v[session.FinalizersExecuted] = s.finalizers(i)
		}
		sample := session.Sample{Time: t0.Add(time.Duration(i) * time.Second), Source: "agent", Values: v}
		if !s.noHistos {
			sched.add(s.schedP99)
			pauses.add(s.pauseP99)
			sample.Histograms = map[string]*session.Histogram{session.SchedLatencies: sched.h, session.PausesGC: pauses.h}
		}
		st.Append(sample)
	}
	return st.Snapshot().Points
}

// promDefault are the figures client_golang's default registry gives
// (prometheus/go_collector_latest.go and the process collector, mapped by
// collectors/prometheus.go): MemStats-style gauges, the GC count, the
// settings, the process's CPU and RSS; no /cpu/classes, no live heap, no
// scheduler or mutex figures.
var promDefault = []string{session.Goroutines, session.HeapObjects, session.HeapGoal, session.HeapAllocsBytes, session.MemoryTotal,
	session.GCCycles, session.GOGC, session.GOMEMLIMIT, session.GOMAXPROCS, session.ProcessCPU, session.ProcessRSS}

// asSource rewrites points as another source would have read them: only
// the named values, no histograms, the derived figures recomputed from
// those (what the store derives).
func asSource(pts []session.Point, source string, keep []string) []session.Point {
	st := session.NewStore(len(pts))
	for _, p := range pts {
		v := map[string]float64{}
		for _, k := range keep {
			if x, ok := p.Values[k]; ok {
				v[k] = x
			}
		}
		st.Append(session.Sample{Time: p.Time, Source: source, Values: v})
	}
	return st.Snapshot().Points
}

// withDerived adds a derived figure (constant over the window) with its
// origin to every point after the first, as the collectors publish a GC
// CPU estimate from MemStats GCCPUFraction deltas.
func withDerived(pts []session.Point, name string, v float64, origin string) []session.Point {
	out := make([]session.Point, len(pts))
	for i, p := range pts {
		d := maps.Clone(p.Derived)
		o := maps.Clone(p.Origins)
		if i > 0 {
			if d == nil {
				d = map[string]float64{}
			}
			if o == nil {
				o = map[string]string{}
			}
			d[name], o[name] = v, origin
		}
		p.Derived, p.Origins = d, o
		out[i] = p
	}
	return out
}

// cgroupOf reads the cgroups of PID 4242 in a fake host tree of
// testdata/host.
func cgroupOf(t *testing.T, tree string) *cgroup.Stats {
	t.Helper()
	cg, err := cgroup.FS{Root: filepath.Join("..", "testdata", "host", tree)}.Read(context.Background(), 4242)
	if err != nil {
		t.Fatalf("read cgroups of %s: %v", tree, err)
	}
	return &cg
}

// numaOf reads the NUMA facts of PID 4242 in a fake host tree.
func numaOf(t *testing.T, tree string) (*numa.Topology, *numa.Settings, *numa.Process) {
	t.Helper()
	nfs := numa.FS{Root: filepath.Join("..", "testdata", "host", tree)}
	topo, err := nfs.Topology(context.Background())
	if err != nil {
		t.Fatalf("NUMA topology of %s: %v", tree, err)
	}
	set, _ := nfs.Settings(context.Background())
	np, err := nfs.Process(context.Background(), topo, 4242, true)
	if err != nil {
		t.Fatalf("NUMA placement in %s: %v", tree, err)
	}
	return &topo, &set, &np
}

// cpuProfile builds a CPU profile whose samples are stacks (leaf first)
// with the given sample counts.
func cpuProfile(stacks map[string][]string, samples map[string]int64) *profile.Profile {
	p := &pprof.Profile{
		SampleType: []*pprof.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		PeriodType: &pprof.ValueType{Type: "cpu", Unit: "nanoseconds"}, Period: 1e7, DurationNanos: 10e9,
	}
	return fromStacks(p, stacks, func(n int64) []int64 { return []int64{n, n * 1e7} }, samples)
}

// allocsProfile builds an allocs profile: alloc_space bytes per stack.
func allocsProfile(stacks map[string][]string, bytesOf map[string]int64) *profile.Profile {
	p := &pprof.Profile{
		SampleType: []*pprof.ValueType{{Type: "alloc_objects", Unit: "count"}, {Type: "alloc_space", Unit: "bytes"},
			{Type: "inuse_objects", Unit: "count"}, {Type: "inuse_space", Unit: "bytes"}},
		DefaultSampleType: "alloc_space",
		PeriodType:        &pprof.ValueType{Type: "space", Unit: "bytes"}, Period: 512 * 1024,
	}
	return fromStacks(p, stacks, func(n int64) []int64 { return []int64{n / 1024, n, 0, 0} }, bytesOf)
}

func mutexProfile(stacks map[string][]string, delay map[string]int64) *profile.Profile {
	p := &pprof.Profile{
		SampleType: []*pprof.ValueType{{Type: "contentions", Unit: "count"}, {Type: "delay", Unit: "nanoseconds"}},
		PeriodType: &pprof.ValueType{Type: "contentions", Unit: "count"}, Period: 1,
	}
	return fromStacks(p, stacks, func(n int64) []int64 { return []int64{n / 1000, n} }, delay)
}

func fromStacks(p *pprof.Profile, stacks map[string][]string, values func(int64) []int64, weights ...map[string]int64) *profile.Profile {
	funcs := map[string]*pprof.Function{}
	locs := map[string]*pprof.Location{}
	loc := func(name string) *pprof.Location {
		if l, ok := locs[name]; ok {
			return l
		}
		f := &pprof.Function{ID: uint64(len(funcs) + 1), Name: name, SystemName: name, Filename: "x.go"}
		funcs[name] = f
		p.Function = append(p.Function, f)
		l := &pprof.Location{ID: uint64(len(locs) + 1), Line: []pprof.Line{{Function: f, Line: 1}}}
		locs[name] = l
		p.Location = append(p.Location, l)
		return l
	}
	for key, frames := range stacks {
		n := int64(100)
		if len(weights) > 0 {
			n = weights[0][key]
		}
		s := &pprof.Sample{Value: values(n)}
		for _, fr := range frames {
			s.Location = append(s.Location, loc(fr))
		}
		p.Sample = append(p.Sample, s)
	}
	return profile.FromPprof(p)
}
