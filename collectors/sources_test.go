package collectors

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/collectors/discover"
	"github.com/gotune/gotune/internal/testproc"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/session"
)

// target is a started metricsserver and where it listens.
type target struct {
	p       *testproc.Proc
	main    string // base URL of the main server ("" for gops mode)
	metrics string // split mode: the /metrics server
	gops    string // gops agent address
	self    string // base URL serving /self
}

func startTarget(t *testing.T, mode string, env []string, args ...string) target {
	t.Helper()
	bin := testproc.Build(t, "./testdata/targets/metricsserver")
	p := testproc.Start(t, bin, append([]string{"GOMAXPROCS=2"}, env...), append([]string{"-mode", mode, "-live", "32"}, args...)...)
	tg := target{p: p}
	if !strings.Contains(p.FirstLine, "=") {
		tg.main, tg.self = p.FirstLine, p.FirstLine
		return tg
	}
	for _, f := range strings.Fields(p.FirstLine) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "main":
			tg.main = v
		case "metrics":
			tg.metrics = v
		case "gops":
			tg.gops = v
		case "self":
			tg.self = v
		}
	}
	return tg
}

// selfAll is the target's own reading of itself (GET /self).
type selfAll map[string]float64

func readSelfAll(t *testing.T, base string) selfAll {
	t.Helper()
	resp, err := http.Get(base + "/self")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r selfAll
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	return r
}

// sourceCase says what one kind of target must give: for each figure the
// start of its origin (after the port-bearing label is cut to its kind).
type sourceCase struct {
	mode string
	env  []string
	via  string
	// origins: metric → a substring its origin must hold.
	origins map[string]string
	absent  []string // metrics that must not be there
	// gcMethod is a substring of the GC CPU figure's origin; "" when it
	// must be absent.
	gcMethod string
	estimate bool // live heap is an estimate, not /gc/heap/live
}

var sourceCases = []sourceCase{
	{mode: "pprof", via: "pprof",
		origins: map[string]string{
			session.HeapObjects: "heap?debug=1 MemStats", session.HeapGoal: "heap?debug=1 MemStats", session.GCCycles: "heap?debug=1 MemStats",
			session.Goroutines: "goroutine?debug=1", session.MemStatsGCCPUFraction: "heap?debug=1 MemStats", session.PausesGCOld: "MemStats PauseNs",
		},
		absent: []string{session.HeapLive}, gcMethod: "estimate: Δ(MemStats GCCPUFraction", estimate: true},
	{mode: "promdefault", via: "prometheus",
		origins: map[string]string{
			session.HeapObjects: "go_memstats_heap_alloc_bytes", session.HeapGoal: "go_memstats_next_gc_bytes", session.GOGC: "go_gc_gogc_percent",
			session.Goroutines: "go_goroutines", session.ProcessCPU: "process_cpu_seconds_total",
		},
		absent: []string{session.HeapLive, session.CPUGCTotal}, estimate: true},
	{mode: "promall", via: "prometheus",
		origins: map[string]string{
			session.HeapLive: "go_gc_heap_live_bytes", session.CPUGCTotal: "go_cpu_classes_gc_total_cpu_seconds_total",
			session.CPUGCIdle: "go_cpu_classes_gc_mark_idle", session.PausesGC: "go_sched_pauses_total_gc_seconds",
			// Both go_goroutines and go_sched_goroutines_goroutines are on the
			// page: the runtime/metrics one, always.
			session.Goroutines: "go_sched_goroutines_goroutines", session.GCCycles: "go_gc_cycles_total_gc_cycles_total",
		},
		absent: []string{session.HeapLiveEstimate}, gcMethod: "Δ/cpu/classes/gc/mark/idle"},
	{mode: "expvar", via: "expvar",
		origins: map[string]string{
			session.HeapObjects: "memstats", session.HeapGoal: "memstats", session.MemStatsGCCPUFraction: "memstats", session.PausesGCOld: "memstats PauseNs",
		},
		absent: []string{session.HeapLive, session.Goroutines}, gcMethod: "estimate: Δ(MemStats GCCPUFraction", estimate: true},
	{mode: "agent", via: "agent",
		origins: map[string]string{session.HeapLive: "agent", session.CPUGCTotal: "agent", session.Goroutines: "agent", session.ProcessStart: "agent"},
		absent:  []string{session.HeapLiveEstimate, session.MemStatsGCCPUFraction}, gcMethod: "Δ/cpu/classes/gc/mark/idle"},
	// Everything on one port: the agent gives every figure, so the others
	// are not read after detection (one series per metric).
	{mode: "all", via: "agent",
		origins: map[string]string{session.HeapLive: "agent", session.Goroutines: "agent", session.GCCycles: "agent", session.PausesGCOld: "agent"},
		absent:  []string{session.MemStatsGCCPUFraction, session.HeapLiveEstimate}, gcMethod: "Δ/cpu/classes/gc/mark/idle"},
}

// watchURL watches a URL target into a store until it holds n points
// and, with gc, a GC CPU figure.
func watchURL(t *testing.T, base string, n int, gc bool) *session.Snapshot {
	t.Helper()
	tg, err := NewURLTarget(base, HTTPSourceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return watch(t, tg, n, gc)
}

// watch watches tg until the store holds n points and, with gc, the
// newest has a GC CPU figure (the runtime's figures move when a cycle
// ends: about every 2 s here), or a minute passes.
func watch(t *testing.T, tg Target, n int, gc bool) *session.Snapshot {
	t.Helper()
	store := session.NewStore(400)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	tg.Watch(ctx, store, 300*time.Millisecond)
	deadline := time.Now().Add(testproc.MinWait)
	for time.Now().Before(deadline) {
		snap := store.Snapshot()
		if len(snap.Points) >= n {
			if _, ok := snap.Latest().Derived[session.GCCPU]; ok || !gc {
				return snap
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return store.Snapshot()
}

// checkFigures asserts the case's origins and absences on the last point.
func checkFigures(t *testing.T, c sourceCase, pt *session.Point) {
	t.Helper()
	if pt.Source != c.via {
		t.Errorf("via %q, want %q", pt.Source, c.via)
	}
	for name, want := range c.origins {
		_, isValue := pt.Values[name]
		_, isHist := pt.Histograms[name]
		if !isValue && !isHist {
			t.Errorf("%s missing (origins %v)", name, pt.Origins)
			continue
		}
		if o := pt.Origins[name]; !strings.Contains(o, want) {
			t.Errorf("%s: origin %q, want it to hold %q", name, o, want)
		}
	}
	for _, name := range c.absent {
		if _, ok := pt.Values[name]; ok {
			t.Errorf("%s present (origin %q), want absent", name, pt.Origins[name])
		}
		if _, ok := pt.Histograms[name]; ok {
			t.Errorf("histogram %s present (origin %q), want absent", name, pt.Origins[name])
		}
	}
	for name := range pt.Values {
		if pt.Origins[name] == "" {
			t.Errorf("%s has no origin", name)
		}
	}
	v, origin, ok := pt.HeapLiveOrEstimate()
	if !ok || session.IsEstimate(origin) != c.estimate {
		t.Errorf("live heap %v (%q, present %v): want an estimate %v", v, origin, ok, c.estimate)
	}
	if _, ok := pt.HeapLiveBytes(); ok == c.estimate {
		t.Errorf("HeapLiveBytes present %v with a live-heap estimate %v: it must never be HeapAlloc", ok, c.estimate)
	}
}

// checkAgainstSelf compares the figures with the target's own readings
// taken before and after.
func checkAgainstSelf(t *testing.T, pt *session.Point, before, after selfAll) {
	t.Helper()
	within := func(name string, v, a, b, rel float64) {
		lo, hi := min(a, b), max(a, b)
		if v < lo*(1-rel) || v > hi*(1+rel) {
			t.Errorf("%s = %.0f outside the target's own [%.0f, %.0f] (±%.0f%%)", name, v, lo, hi, rel*100)
		}
	}
	if v, ok := pt.Values[session.HeapLive]; ok {
		within("heap live", v, before["heap_live"], after["heap_live"], 0.1)
	}
	if v, ok := pt.Values[session.HeapLiveEstimate]; ok {
		// goal ÷ 2 at GOGC=100: the live heap of the last cycle plus half
		// the GC roots (globals and stacks: well under 1 MiB here).
		within("heap live estimate", v, before["heap_live"], after["heap_live"], 0.1)
	}
	if v, ok := pt.Values[session.HeapGoal]; ok {
		within("heap goal", v, before["heap_goal"], after["heap_goal"], 0.05)
	}
	if v, ok := pt.Values[session.GCCycles]; ok && (v < before["gc_cycles"] || v > after["gc_cycles"]) {
		t.Errorf("GC cycles %v outside the target's own [%v, %v]", v, before["gc_cycles"], after["gc_cycles"])
	}
	if v, ok := pt.Values[session.Goroutines]; ok {
		// From Go 1.26 /sched/goroutines counts the runtime's own
		// goroutines too; runtime.NumGoroutine (go_goroutines, the
		// goroutine profile, gops) does not.
		want, what := after["num_goroutine"], "runtime.NumGoroutine"
		if o := pt.Origins[session.Goroutines]; strings.HasPrefix(o, "agent") || strings.Contains(o, "go_sched_goroutines_goroutines") {
			want, what = after["goroutines"], "/sched/goroutines"
		}
		if math.Abs(v-want) > 6 {
			t.Errorf("goroutines %v (%s), the target's %s says %v", v, pt.Origins[session.Goroutines], what, want)
		}
	}
	if v, ok := pt.Values[session.HeapObjects]; ok && (v < 32<<20 || v > pt.Values[session.HeapGoal]*1.2) {
		t.Errorf("heap in use %.0f: want ≥ the 32 MiB held and ≤ the goal %.0f", v, pt.Values[session.HeapGoal])
	}
	if v, ok := pt.Values[session.GOMAXPROCS]; ok && v != 2 {
		t.Errorf("GOMAXPROCS %v, want 2", v)
	}
}

// checkGCPaid compares the paid GC CPU since the start that gotune's
// MemStats method computes (GCCPUFraction × (LastGC − start) × GOMAXPROCS)
// with the runtime's own /cpu/classes (gc/total − gc/mark/idle), read by
// the target in the same GC cycle. It retries until a reading falls in one
// cycle (the GC runs several times a second here).
func checkGCPaid(t *testing.T, read func() session.Sample, selfBase string) {
	t.Helper()
	for try := 0; try < 20; try++ {
		before := readSelfAll(t, selfBase)
		s := read()
		after := readSelfAll(t, selfBase)
		n := s.Values[session.GCCycles]
		if before["memstats_num_gc"] != n || after["memstats_num_gc"] != n || before["gc_cycles"] != n {
			continue
		}
		perP, ok := session.GCPaidPerP(&s)
		if !ok {
			t.Fatalf("no paid GC CPU from the sample: %v", s.Values)
		}
		ours := perP * 2 // GOMAXPROCS=2
		theirs := after["cpu_gc"] - after["cpu_gc_idle"]
		// The start time is known to about 20 ms (/proc/uptime and the
		// start's ticks), and the runtime's clock starts a little after
		// exec: an error of ε in the start is GCCPUFraction × ε × GOMAXPROCS
		// here, large only in a young process (a high fraction at start-up).
		tol := 0.002 + 0.05*theirs + s.Values[session.MemStatsGCCPUFraction]*0.025*2
		t.Logf("paid GC CPU since the start at cycle %v: gotune %.4f s (MemStats via %s), the runtime's /cpu/classes %.4f s", n, ours, s.Origins[session.MemStatsGCCPUFraction], theirs)
		if math.Abs(ours-theirs) > tol {
			t.Errorf("paid GC CPU since the start at cycle %v: gotune %.4f s (from %s), the runtime's /cpu/classes %.4f s (tolerance %.4f s)", n, ours, s.Origins[session.MemStatsGCCPUFraction], theirs, tol)
		}
		return
	}
	t.Log("no reading fell inside one GC cycle in 20 tries; paid GC CPU not compared")
}

// Each kind of real target, read by URL: which figures appear, where each
// comes from, and their values against what the target says about itself.
func TestEverySourceByURL(t *testing.T) {
	for _, c := range sourceCases {
		t.Run(c.mode, func(t *testing.T) {
			t.Parallel()
			tg := startTarget(t, c.mode, append([]string{"GOGC=100"}, c.env...))
			before := readSelfAll(t, tg.self)
			snap := watchURL(t, tg.main, 4, c.gcMethod != "")
			after := readSelfAll(t, tg.self)
			pt := snap.Latest()
			st0, _ := snap.StatusOf("metrics")
			t.Logf("via %s, %d samples, interval %s, note %q; GC CPU %.4f (%s)", pt.Source, len(snap.Points), st0.Interval, st0.Note,
				pt.Derived[session.GCCPU], pt.DerivedOrigins[session.GCCPU])
			checkFigures(t, c, pt)
			checkAgainstSelf(t, pt, before, after)
			// GC CPU over the window: by the method the sources allow.
			gc, ok := pt.Derived[session.GCCPU]
			origin := pt.DerivedOrigins[session.GCCPU]
			switch {
			case c.gcMethod == "" && ok:
				t.Errorf("GC CPU %v (%s) without the inputs for it", gc, origin)
			case c.gcMethod != "" && (!ok || !strings.Contains(origin, c.gcMethod) || gc < 0 || gc > 1):
				t.Errorf("GC CPU %v (present %v) origin %q, want 0..1 by %q", gc, ok, origin, c.gcMethod)
			}
			if strings.Contains(c.gcMethod, "idle") {
				if _, ok := pt.Derived[session.GCCPUIdle]; !ok {
					t.Errorf("no idle GC CPU apart: %v", pt.Derived)
				}
			}
			if _, ok := pt.Values[session.MemStatsGCCPUFraction]; ok {
				f, err := DetectMetricsForTest(t, tg.main)
				if err != nil {
					t.Fatal(err)
				}
				checkGCPaid(t, f, tg.self)
			}
			st, _ := snap.StatusOf("metrics")
			if st.Via != c.via || st.Failures != 0 {
				t.Errorf("status %+v", st)
			}
		})
	}
}

// DetectMetricsForTest returns a reader of fused samples of base, with
// the process start a URL target would find.
func DetectMetricsForTest(t *testing.T, base string) (func() session.Sample, error) {
	t.Helper()
	tg, err := NewURLTarget(base, HTTPSourceOptions{})
	if err != nil {
		return nil, err
	}
	store := session.NewStore(10)
	collect := tg.CollectMetrics(store)
	return func() session.Sample {
		if _, err := collect(t.Context()); err != nil {
			t.Fatal(err)
		}
		return store.Snapshot().Latest().Sample
	}, nil
}

// Each kind of real target, attached by PID: discovery's endpoints are all
// used (several ports), the OS figures come from /proc, and the values
// agree with the target's own.
func TestEverySourceByPID(t *testing.T) {
	gopsDir := t.TempDir()
	cases := []sourceCase{
		sourceCases[0], sourceCases[1], sourceCases[2], sourceCases[3], sourceCases[4],
		{mode: "gops", env: []string{"GOPS_CONFIG_DIR=" + gopsDir}, via: "gops",
			origins: map[string]string{
				session.HeapObjects: "gops memstats", session.HeapGoal: "gops memstats", session.GCCycles: "gops memstats",
				session.Goroutines: "gops stats", session.GOMAXPROCS: "gops stats", session.MemStatsGCCPUFraction: "gops memstats",
			},
			absent: []string{session.HeapLive, session.PausesGCOld}, gcMethod: "estimate: Δ(MemStats GCCPUFraction", estimate: true},
		// pprof on one port, client_golang's default /metrics on another:
		// both used, by precedence.
		{mode: "split", via: "prometheus + pprof",
			origins: map[string]string{
				session.HeapGoal: "prometheus", session.Goroutines: "go_goroutines", session.GOGC: "go_gc_gogc_percent",
				session.MemStatsGCCPUFraction: "pprof", session.PausesGCOld: "pprof",
			},
			absent: []string{session.HeapLive}, gcMethod: "estimate: Δ(MemStats GCCPUFraction", estimate: true},
	}
	for _, c := range cases {
		// The OS figures come from /proc, whatever the sources say.
		origins := map[string]string{}
		for k, v := range c.origins {
			if !strings.HasPrefix(k, "/process/") {
				origins[k] = v
			}
		}
		c.origins = origins
		t.Run(c.mode, func(t *testing.T) {
			t.Parallel()
			tg := startTarget(t, c.mode, append([]string{"GOGC=100"}, c.env...))
			before := readSelfAll(t, tg.self)
			pt, err := NewPIDTarget(t.Context(), tg.p.PID, discover.Overrides{}, discover.Options{CPUWindow: -1})
			if err != nil {
				t.Fatal(err)
			}
			snap := watch(t, pt, 5, c.gcMethod != "")
			after := readSelfAll(t, tg.self)
			last := snap.Latest()
			st, _ := snap.StatusOf("metrics")
			t.Logf("via %s, %d samples, interval %s, note %q; GC CPU %.4f (%s)", last.Source, len(snap.Points), st.Interval, st.Note,
				last.Derived[session.GCCPU], last.DerivedOrigins[session.GCCPU])
			checkFigures(t, c, last)
			checkAgainstSelf(t, last, before, after)
			from := "/proc/" + strconv.Itoa(tg.p.PID)
			for _, name := range []string{session.ProcessCPU, session.ProcessRSS, ProcessThreads, session.ProcessStart} {
				if o := last.Origins[name]; o != from {
					t.Errorf("%s origin %q, want %q (the OS wins)", name, o, from)
				}
			}
			gc, ok := last.Derived[session.GCCPU]
			if !ok || !strings.Contains(last.DerivedOrigins[session.GCCPU], c.gcMethod) || c.gcMethod == "" {
				if c.gcMethod != "" || ok {
					t.Errorf("GC CPU %v (present %v, %q), want by %q", gc, ok, last.DerivedOrigins[session.GCCPU], c.gcMethod)
				}
			}
			if _, ok := last.Derived[session.GCCPUExceedsOS]; ok != (c.gcMethod != "" && last.Values[session.GOMAXPROCS] > 0) {
				t.Errorf("exceeds-OS flag present %v: %v", ok, last.DerivedOrigins[session.GCCPUExceedsOS])
			}
			if _, ok := last.Values[session.MemStatsGCCPUFraction]; ok {
				store := session.NewStore(10)
				collect := pt.CollectMetrics(store)
				checkGCPaid(t, func() session.Sample {
					if _, err := collect(t.Context()); err != nil {
						t.Fatal(err)
					}
					return store.Snapshot().Latest().Sample
				}, tg.self)
			}
			if c.mode == "split" && (pt.Pprof == nil || !strings.HasPrefix(pt.Pprof.Base, tg.main)) {
				t.Errorf("profiles not from the pprof port %s: %+v", tg.main, pt.Pprof)
			}
		})
	}
}

// A gops-only target serves its heap profile, its goroutines (the dump,
// and a goroutine profile made from it) and says clearly what it cannot.
func TestGopsProfiles(t *testing.T) {
	gopsDir := t.TempDir()
	tg := startTarget(t, "gops", []string{"GOPS_CONFIG_DIR=" + gopsDir})
	pt, err := NewPIDTarget(t.Context(), tg.p.PID, discover.Overrides{}, discover.Options{CPUWindow: -1})
	if err != nil {
		t.Fatal(err)
	}
	f := pt.Profiles()
	if _, ok := f.(*GopsFetcher); !ok {
		t.Fatalf("profiles via %T, want the gops fetcher", f)
	}
	heap, err := f.Fetch(t.Context(), ProfileRequest{Kind: profile.KindHeap})
	if err != nil {
		t.Fatal(err)
	}
	hp, err := profile.ParseBytes(heap.Raw)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(hp, heap.Profile) {
		t.Errorf("the fetched heap profile's decoding differs from its bytes'")
	}
	if _, err := hp.SampleIndex("inuse_space"); err != nil {
		t.Errorf("heap profile: %v", err)
	}
	df, err := f.Fetch(t.Context(), ProfileRequest{Kind: profile.KindGoroutine, Debug: 2})
	dump := df.Raw
	if err != nil || !strings.Contains(string(dump), "main.main") {
		t.Fatalf("stack dump: %v, %q…", err, string(dump[:min(len(dump), 80)]))
	}
	gp, err := f.Fetch(t.Context(), ProfileRequest{Kind: profile.KindGoroutine})
	if err != nil {
		t.Fatal(err)
	}
	p := gp.Profile
	groups, err := profile.GoroutineGroupsFromProfile(p)
	if err != nil {
		t.Fatal(err)
	}
	total, sawMain := 0, false
	for _, g := range groups {
		total += g.Count
		for _, fr := range g.Frames {
			sawMain = sawMain || fr.Func == "main.main"
		}
	}
	self := readSelfAll(t, tg.self)
	if !sawMain || math.Abs(float64(total)-self["num_goroutine"]) > 4 {
		t.Errorf("goroutine profile from the dump: %d goroutines (target: %v), main.main seen %v", total, self["num_goroutine"], sawMain)
	}
	_, err = f.Fetch(t.Context(), ProfileRequest{Kind: profile.KindMutex})
	if err == nil || !strings.Contains(err.Error(), "not the mutex profile") {
		t.Errorf("mutex via gops: %v, want a clear refusal", err)
	}
}
