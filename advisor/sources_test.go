package advisor

// The advisor on what real services serve: client_golang's default
// registry (no /cpu/classes, no live heap), a GC CPU estimate from MemStats
// GCCPUFraction deltas, a CPU profile alone; and the false positives seen
// on real idle servers.

import (
	"encoding/json"
	"maps"
	"math"
	"strings"
	"testing"

	"github.com/gotune/gotune/collectors/cgroup"
	"github.com/gotune/gotune/collectors/numa"
	"github.com/gotune/gotune/session"
)

// estimateOrigin is how the collectors label a GC CPU estimate from expvar.
const estimateOrigin = "estimate: MemStats GCCPUFraction deltas × uptime ÷ GOMAXPROCS (expvar /debug/vars)"

func evidence(f Finding, name string) (Evidence, bool) {
	for _, e := range f.Evidence {
		if e.Name == name {
			return e, true
		}
	}
	return Evidence{}, false
}

func skipOf(r Report, rule string) (Skip, bool) {
	for _, s := range r.Skips {
		if s.Rule == rule {
			return s, true
		}
	}
	return Skip{}, false
}

// The demo case: /cpu/classes/gc/total is 14 % of GOMAXPROCS ×
// wall, 8 points of it idle-priority marking. The GC cost actually paid is
// 6 %: gc-cpu-high must not fire, and idle marking is shown apart.
func TestGCCPUExcludesIdleMarking(t *testing.T) {
	s := busy()
	s.cpuPerCycle, s.idleMark, s.cpu = 0.06, 0.08, 1.0
	r := Advise(Input{Points: s.points()}, Config{})
	if f, ok := r.Find("gc-cpu-high"); ok {
		t.Fatalf("gc-cpu-high fired on 6 %% paid GC CPU (14 %% with idle marking): %s", f.Title)
	}
	if r.WhatIf == nil {
		t.Fatal("no what-if table")
	}
	o := r.WhatIf.Observed
	if !near(o.GCCPU.Value, 0.06, 0.02) || !near(o.GCCPUIdle, 0.08, 0.02) || o.GCCPUMethod != GCCPUFromClasses {
		t.Errorf("observed GC CPU %v idle %v via %q, want 0.06 paid and 0.08 idle from /cpu/classes", o.GCCPU.Value, o.GCCPUIdle, o.GCCPUMethod)
	}
	if !strings.Contains(o.GCCPUSource, "/cpu/classes/gc/mark/idle") || !strings.Contains(o.GCCPUSource, "via agent") {
		t.Errorf("GC CPU source %q should name the subtraction and the source", o.GCCPUSource)
	}

	// Paid GC CPU over the threshold fires, with idle marking apart and
	// process CPU in the same unit.
	s.cpuPerCycle = 0.3
	f, ok := Advise(Input{Points: s.points()}, Config{}).Find("gc-cpu-high")
	if !ok {
		t.Fatal("gc-cpu-high did not fire at 30 % paid GC CPU")
	}
	gc, _ := evidence(f, "GC CPU")
	idle, okIdle := evidence(f, "idle GC marking")
	proc, okProc := evidence(f, "process CPU")
	if !near(gc.Value, 0.30, 0.02) || gc.Estimated || !okIdle || !near(idle.Value, 0.08, 0.02) || !okProc || proc.Unit != "cores" {
		t.Errorf("evidence GC CPU %+v, idle %+v, process %+v", gc, idle, proc)
	}
	if !strings.Contains(gc.Text, "0.60 of 2 cores") {
		t.Errorf("GC CPU text %q should give cores, the unit of process CPU", gc.Text)
	}
}

// client_golang's default registry: no /cpu/classes and no GCCPUFraction.
// gc-cpu-high says why it could not run and what would let it; the what-if
// table still predicts heap goals and GC rates, from a live heap estimated
// from the heap goal and GOGC.
func TestPrometheusDefaultRegistry(t *testing.T) {
	pts := asSource(busy().points(), "prometheus", promDefault)
	r := Advise(Input{Points: pts}, Config{})
	if _, ok := r.Find("gc-cpu-high"); ok {
		t.Fatal("gc-cpu-high fired without any GC CPU figure")
	}
	sk, ok := skipOf(r, "gc-cpu-high")
	if !ok || !strings.Contains(sk.Reason, "no /cpu/classes metrics via prometheus") || !strings.Contains(sk.Enable, "expvar or net/http/pprof") ||
		!strings.Contains(sk.Enable, "gotune agent") || sk.Partial {
		t.Errorf("gc-cpu-high skip %+v", sk)
	}
	wi := r.WhatIf
	if wi == nil {
		t.Fatalf("no what-if table on a prometheus target: %v", r.Skipped)
	}
	o := wi.Observed
	if !wi.NoGCCPU || !o.NoGCCPU || wi.Recommended != -1 || !o.LiveHeapEstimated || !strings.HasPrefix(o.LiveHeapSource, "estimate: ") {
		t.Errorf("want a heap-only table with an estimated live heap: NoGCCPU %v, recommended %d, live %v %q", wi.NoGCCPU, wi.Recommended, o.LiveHeapEstimated, o.LiveHeapSource)
	}
	if !near(o.LiveHeap, 100*mb, 0.01) {
		t.Errorf("estimated live heap %v MiB, want 100 (goal 200 MiB at GOGC=100)", o.LiveHeap/mb)
	}
	for _, row := range wi.Rows {
		if row.GOGC == 400 && row.MemoryLimit == 0 {
			// goal 500 MiB, runway 400 MiB at 200 MiB/s: 0.5 cycles/s.
			if !row.CycleRate.Contains(0.5) || row.GCCPU != (Estimate{}) || !near(row.HeapGoal.Value, 500*mb, 0.01) {
				t.Errorf("GOGC=400 row %+v", row)
			}
		}
	}
	if wp, ok := skipOf(r, WhatIfID); !ok || !wp.Partial {
		t.Errorf("the table's missing GC CPU columns should be a partial skip: %+v", r.Skips)
	}
}

// An estimate of GC CPU (MemStats GCCPUFraction deltas) feeds gc-cpu-high
// and the table on a target without /cpu/classes; the evidence says it is
// an estimate and the confidence drops a step.
func TestEstimatedGCCPU(t *testing.T) {
	s := busy()
	s.cpu = 1.0
	pts := withDerived(asSource(s.points(), "expvar", promDefault), session.GCCPU, 0.30, estimateOrigin)
	r := Advise(Input{Points: pts}, Config{})
	f, ok := r.Find("gc-cpu-high")
	if !ok {
		t.Fatalf("gc-cpu-high did not fire on a 30 %% estimate: %v", r.Skipped)
	}
	gc, _ := evidence(f, "GC CPU")
	live, _ := evidence(f, "live heap")
	if !gc.Estimated || gc.Source != estimateOrigin || !strings.Contains(gc.Text, "estimated") || !live.Estimated {
		t.Errorf("estimates not labelled: GC CPU %+v, live heap %+v", gc, live)
	}
	if f.Confidence == High {
		t.Errorf("confidence %s on estimated figures", f.Confidence)
	}
	o := r.WhatIf.Observed
	if !o.GCCPUEstimated || o.GCCPUMethod != GCCPUFromDerived || !near(o.GCCPU.Value, 0.30, 1e-9) {
		t.Errorf("observation %+v", o)
	}
	if rec, ok := r.WhatIf.Recommendation(); !ok || rec.GOGC < 200 {
		t.Errorf("want a GOGC ≥ 200 recommendation from the estimate: %+v (%s)", rec, r.WhatIf.Reason)
	}
}

// Only a CPU profile: GC CPU from the GC workers' share of it, idle
// workers apart, labelled an estimate.
func TestGCCPUFromCPUProfile(t *testing.T) {
	s := busy()
	s.cpu = 1.6
	pts := asSource(s.points(), "prometheus", promDefault)
	// 10 s profile at 100 Hz on 2 Ps: 600 samples (6 s) in dedicated mark
	// workers, 200 in idle ones, 100 in assists, 700 elsewhere.
	prof := cpuProfile(map[string][]string{
		"dedicated": {"runtime.scanobject", "runtime.gcDrain", "runtime.gcDrainMarkWorkerDedicated", "runtime.gcBgMarkWorker", "runtime.goexit"},
		"idle":      {"runtime.scanobject", "runtime.gcDrain", "runtime.gcDrainMarkWorkerIdle", "runtime.gcBgMarkWorker", "runtime.goexit"},
		"assist":    {"runtime.scanobject", "runtime.gcAssistAlloc1", "runtime.gcAssistAlloc", "runtime.mallocgc", "main.handle"},
		"work":      {"main.checksum", "main.handle"},
	}, map[string]int64{"dedicated": 600, "idle": 200, "assist": 100, "work": 700})
	r := Advise(Input{Points: pts, Profiles: Profiles{CPU: prof}}, Config{})
	f, ok := r.Find("gc-cpu-high")
	if !ok {
		t.Fatalf("gc-cpu-high did not fire on a profile estimate: %v", r.Skipped)
	}
	gc, _ := evidence(f, "GC CPU")
	idle, _ := evidence(f, "idle GC marking")
	// (600 + 100) × 10 ms over 10 s × 2 Ps = 35 %; idle 200 × 10 ms = 10 %.
	if !near(gc.Value, 0.35, 1e-9) || !near(idle.Value, 0.10, 1e-9) || !gc.Estimated || !strings.Contains(gc.Source, "GC workers' share") {
		t.Errorf("GC CPU %+v, idle %+v", gc, idle)
	}
	as, ok := Advise(Input{Points: pts, Profiles: Profiles{CPU: prof}}, Config{}).Find("gc-assist-high")
	if !ok {
		t.Fatal("gc-assist-high did not fire on 5 % assists in the profile")
	}
	if e := as.Evidence[0]; !near(e.Value, 0.05, 1e-9) || !e.Estimated {
		t.Errorf("assist evidence %+v", e)
	}
}

// The runtime's GC CPU above all the CPU the OS measured is flagged and
// the finding's confidence is low.
func TestGCCPUAboveOSCPU(t *testing.T) {
	s := busy()
	s.cpu = 0.2   // GC CPU is 0.6 cores of P time
	s.idleP = 1.0 // Ps idle 1 core: busy 1 core, 60 % of it GC
	f, ok := Advise(Input{Points: s.points()}, Config{}).Find("gc-cpu-high")
	if !ok {
		t.Fatal("gc-cpu-high did not fire")
	}
	if _, flagged := evidence(f, "GC CPU above process CPU"); !flagged || f.Confidence != Low {
		t.Errorf("want the figure flagged and low confidence: %s %+v", f.Confidence, f.Evidence)
	}
	if e, ok := evidence(f, "GC share of busy time"); !ok || !near(e.Value, 0.6, 0.02) || !e.Estimated || !strings.Contains(e.Text, "about 0.12") {
		t.Errorf("busy share %+v, want 60 %% of busy P time, about 0.12 of the OS's 0.2 cores", e)
	}
}

// An action never repeats a GOMEMLIMIT the process already has.
func TestActionKeepsTodaysLimit(t *testing.T) {
	s := busy()
	s.memLimit = 1 << 30
	f, ok := Advise(Input{Points: s.points()}, Config{}).Find("gc-cpu-high")
	if !ok {
		t.Fatal("gc-cpu-high did not fire")
	}
	if strings.Contains(f.Action.Text, "GOMEMLIMIT") || !strings.Contains(f.Action.Note, "keep today's GOMEMLIMIT=1GiB") {
		t.Errorf("action %q (%s) repeats today's GOMEMLIMIT", f.Action.Text, f.Action.Note)
	}
	for _, a := range f.Alternatives {
		if strings.Contains(a.Text, "SetMemoryLimit") {
			t.Errorf("alternative %q repeats today's limit", a.Text)
		}
	}
	// A new limit is still written.
	s.memLimit = 0
	in := Input{Points: s.points(), Facts: Facts{Cgroup: memCgroup(300 * mb)}}
	r := Advise(in, Config{})
	if f, ok := r.Find("gc-cpu-high"); ok && strings.Contains(f.Action.Text, "GOGC=off") && !strings.Contains(f.Action.Text, "GOMEMLIMIT=") {
		t.Errorf("GOGC=off recommended without its new limit: %q", f.Action.Text)
	}
}

// A real server with GOMEMLIMIT=21GiB (automemlimit on a 24 GiB host): no
// what-if row predicts a heap goal or Go memory above the limit.
func TestWhatIfRowsStayUnderTheLimit(t *testing.T) {
	s := healthy()
	s.secs, s.live, s.alloc, s.cpuPerCycle, s.memLimit = 60, 40*mb, 20*mb, 0.004, 21<<30
	// A sawtooth of goals, as the runtime's goal moves with the marked heap.
	pts := s.points()
	for i := range pts {
		v := maps.Clone(pts[i].Values)
		v[session.HeapGoal] *= 1 + 0.2*math.Sin(float64(i))
		pts[i].Values = v
	}
	r := Advise(Input{Points: pts}, Config{})
	if r.WhatIf == nil {
		t.Fatalf("no table: %v", r.Skipped)
	}
	sawOff := false
	for _, row := range r.WhatIf.Rows {
		if row.MemoryLimit <= 0 {
			continue
		}
		sawOff = sawOff || row.GOGC < 0
		if row.HeapGoal.High > row.MemoryLimit || row.HeapGoal.Value > row.MemoryLimit || row.PeakMemory.High > row.MemoryLimit || row.PeakHeap.High > row.MemoryLimit {
			t.Errorf("%s predicts above its %s limit: goal %s–%s, peak heap ≤ %s, peak memory ≤ %s", row.Setting, bytes(row.MemoryLimit),
				bytes(row.HeapGoal.Low), bytes(row.HeapGoal.High), bytes(row.PeakHeap.High), bytes(row.PeakMemory.High))
		}
	}
	if !sawOff {
		t.Error("no GOGC=off row with the limit")
	}
}

// No finding before the window holds enough samples for it.
func TestRulesWaitForTheirMinimum(t *testing.T) {
	s := busy()
	s.secs = 3 // 4 samples
	s.mutexWait = 3
	r := Advise(Input{Points: s.points()}, Config{})
	for _, f := range r.Findings {
		if ri := ruleInfo(f.ID); ri.MinSamples > 4 {
			t.Errorf("%s fired on 4 samples (needs %d)", f.ID, ri.MinSamples)
		}
	}
	for _, id := range []string{"gc-cpu-high", "mutex-wait-high", "goroutine-leak", WhatIfID} {
		sk, ok := skipOf(r, id)
		if !ok || !strings.Contains(sk.Reason, "the window holds 4 sample(s)") || !strings.Contains(sk.Enable, "--window") {
			t.Errorf("%s: want a too-short skip, got %+v", id, sk)
		}
	}
	// A leak of 5 goroutines a second over 9 samples: 40 goroutines, but
	// too few points for a trend.
	l := healthy()
	l.secs = 8
	l.goroutines = func(i int) float64 { return float64(20 + 5*i) }
	if f, ok := Advise(Input{Points: l.points()}, Config{}).Find("goroutine-leak"); ok {
		t.Errorf("goroutine-leak fired on 9 samples: %s", f.Title)
	}
	for _, ri := range Rules() {
		if ri.MinSamples < MinSamplesFacts {
			t.Errorf("%s has no minimum", ri.ID)
		}
	}
}

func ruleInfo(id string) RuleInfo {
	for _, ri := range Rules() {
		if ri.ID == id {
			return ri
		}
	}
	return RuleInfo{}
}

// Every rule that could not run says why, and what would let it run. One
// fixture per reason.
func TestSkipReasons(t *testing.T) {
	prom := func(mod func(*synth)) []session.Point {
		s := busy()
		if mod != nil {
			mod(&s)
		}
		return asSource(s.points(), "prometheus", promDefault)
	}
	for _, tc := range []struct {
		name, rule, reason, enable string
		in                         func(t *testing.T) Input
	}{
		{"prometheus default registry", "gc-cpu-high", "no /cpu/classes metrics via prometheus", "gotune agent",
			func(t *testing.T) Input { return Input{Points: prom(nil)} }},
		{"gops without GCCPUFraction", "gc-cpu-high", "no GC CPU figure via gops", "net/http/pprof",
			func(t *testing.T) Input { return Input{Points: asSource(busy().points(), "gops", promDefault)} }},
		{"assists from an estimate without them", "gc-assist-high", "no mark-assist CPU figure", "CPU profile",
			func(t *testing.T) Input {
				return Input{Points: withDerived(prom(nil), session.GCCPU, 0.3, estimateOrigin)}
			}},
		{"high GC CPU, no allocation counter", "gc-cpu-high", "the GC model cannot say what to change", "gotune agent",
			func(t *testing.T) Input {
				keep := []string{session.GCCycles, session.HeapGoal, session.CPUGCTotal, session.CPUTotal, session.GOGC, session.GOMAXPROCS}
				return Input{Points: asSource(busy().points(), "agent", keep)}
			}},
		{"GC model, an idle server's 1 cycle", WhatIfID, "GC cycles in the window (the model needs 4)", "--window",
			func(t *testing.T) Input {
				s := idleServer()
				return Input{Points: s.points()}
			}},
		{"no CPU profile", "alloc-heavy", "no CPU profile", "net/http/pprof",
			func(t *testing.T) Input { return Input{Points: busy().points()} }},
		{"short CPU profile", "alloc-heavy", "holds only", "under load",
			func(t *testing.T) Input {
				p := cpuProfile(map[string][]string{"a": {"main.tick"}}, map[string]int64{"a": 30})
				p.DurationNanos = 1e9 // 0.3 s of CPU in a 1 s profile: busy, but too short
				return Input{Points: busy().points(), Profiles: Profiles{CPU: p}}
			}},
		{"no allocs profile", "alloc-heavy", "allocating functions are not named", "allocs profile",
			func(t *testing.T) Input {
				mal := map[string][]string{"m": {"runtime.mallocgc", "main.f"}, "w": {"main.g"}}
				return Input{Points: busy().points(), Profiles: Profiles{CPU: cpuProfile(mal, map[string]int64{"m": 30, "w": 70})}}
			}},
		{"GOGC unknown", "gogc-off-no-limit", "GOGC is unknown", "attach by PID",
			func(t *testing.T) Input {
				return Input{Points: asSource(busy().points(), "expvar", []string{session.HeapGoal, session.GCCycles})}
			}},
		{"GOGC off, GOMEMLIMIT unknown", "gogc-off-no-limit", "GOMEMLIMIT is unknown", "gotune agent",
			func(t *testing.T) Input {
				return Input{Points: prom(func(s *synth) { s.gogc = -1 }), Facts: Facts{}}.withoutMetric(session.GOMEMLIMIT)
			}},
		{"URL target: memory limits", "memlimit-missing", "no cgroup facts", "attach by PID",
			func(t *testing.T) Input { return Input{Points: busy().points()} }},
		{"URL target: mismatch", "memlimit-mismatch", "no cgroup facts", "attach by PID",
			func(t *testing.T) Input { return Input{Points: busy().points()} }},
		{"GOMEMLIMIT unknown under a container", "memlimit-missing", "GOMEMLIMIT is unknown", "gotune agent",
			func(t *testing.T) Input {
				return Input{Points: busy().points(), Facts: Facts{Cgroup: memCgroup(1 << 30)}}.withoutMetric(session.GOMEMLIMIT)
			}},
		{"no limit known", "memlimit-too-tight", "GOMEMLIMIT is unknown", "attach by PID",
			func(t *testing.T) Input { return Input{Points: busy().points()}.withoutMetric(session.GOMEMLIMIT) }},
		{"limit, no GC CPU, no limiter", "memlimit-too-tight", "no /gc/limiter/last-enabled", "gotune agent",
			func(t *testing.T) Input { return Input{Points: prom(func(s *synth) { s.memLimit = 1 << 30 })} }},
		{"limit, GOGC off, no live heap", "live-heap-near-limit", "with GOGC=off the heap goal says nothing", "gotune agent",
			func(t *testing.T) Input {
				return Input{Points: prom(func(s *synth) { s.gogc, s.memLimit = -1, 1<<30 })}
			}},
		{"limit-bound goal, no live heap", "live-heap-near-limit", "the limit, not GOGC, sets it", "gotune agent",
			func(t *testing.T) Input {
				return Input{Points: prom(func(s *synth) { s.memLimit = 130 * mb })}
			}},
		{"URL target: quota", "gomaxprocs-above-quota", "no cgroup CPU facts", "attach by PID",
			func(t *testing.T) Input { return Input{Points: busy().points()} }},
		{"URL target: parent quota", "parent-quota-tighter", "no cgroup CPU facts", "attach by PID",
			func(t *testing.T) Input { return Input{Points: busy().points()} }},
		{"quota exceeded, no throttling figures", "gomaxprocs-above-quota", "no throttling figures", "attach by PID",
			func(t *testing.T) Input {
				s := busy()
				s.procs = 8
				return Input{Points: s.points(), Facts: Facts{Cgroup: cpuCgroup(2), Build: build("go1.24.4", "")}}
			}},
		{"quota under 2, no build", "gomaxprocs-fractional-quota", "no build info", "/proc/PID/exe",
			func(t *testing.T) Input {
				return Input{Points: busy().points(), Facts: Facts{Cgroup: cpuCgroup(1), Throttle: throttle(0.4)}}
			}},
		{"no build info", "containermaxprocs-off", "no build info", "attach by PID",
			func(t *testing.T) Input {
				return Input{Points: busy().points(), Facts: Facts{Cgroup: cpuCgroup(2)}}
			}},
		{"URL target: automaxprocs", "automaxprocs-go125", "no build info", "attach by PID",
			func(t *testing.T) Input { return Input{Points: busy().points()} }},
		{"automaxprocs, no cgroup", "automaxprocs-go125", "without the cgroup CPU facts", "attach by PID",
			func(t *testing.T) Input {
				return Input{Points: busy().points(), Facts: Facts{Build: build("go1.26.1", "", "go.uber.org/automaxprocs")}}
			}},
		{"GOMAXPROCS unknown", "cpu-saturated", "GOMAXPROCS is unknown", "gotune agent",
			func(t *testing.T) Input { return Input{Points: busy().points()}.withoutMetric(session.GOMAXPROCS) }},
		{"no runnable count", "cpu-saturated", "no runnable-goroutine count via prometheus", "gotune agent",
			func(t *testing.T) Input { return Input{Points: prom(nil)} }},
		{"no scheduling latencies", "cpu-saturated", "no scheduling-latency histogram", "gotune agent",
			func(t *testing.T) Input {
				s := busy()
				s.noHistos = true
				return Input{Points: s.points()}
			}},
		{"no process CPU", "cpu-saturated", "no process CPU figure", "process_cpu_seconds_total",
			func(t *testing.T) Input { return Input{Points: busy().points()}.withoutMetric(session.ProcessCPU) }},
		{"URL target: NUMA", "numa-remote-memory", "no NUMA topology", "attach by PID",
			func(t *testing.T) Input { return Input{Points: busy().points()} }},
		{"numa_maps denied", "numa-remote-memory", "numa_maps is not readable", "as root",
			func(t *testing.T) Input {
				in := Input{Points: busy().points()}
				var np *numa.Process
				in.Facts.Topology, in.Facts.NUMASettings, np = numaOf(t, "numa-2node")
				denied := *np
				denied.Memory, denied.MemoryDenied = nil, true
				in.Facts.NUMAProcess = &denied
				return in
			}},
		{"no pause histogram", "numa-balancing-pauses", "no GC pause histogram", "gotune agent",
			func(t *testing.T) Input {
				in := Input{Points: prom(nil)}
				in.Facts.Topology, in.Facts.NUMASettings, in.Facts.NUMAProcess = numaOf(t, "numa-2node")
				return in
			}},
		{"URL target: THP", "thp-heap-size", "no transparent huge page settings", "attach by PID",
			func(t *testing.T) Input { return Input{Points: busy().points()} }},
		{"no goroutine count", "goroutine-leak", "no goroutine count", "net/http/pprof",
			func(t *testing.T) Input { return Input{Points: busy().points()}.withoutMetric(session.Goroutines) }},
		{"leak without profiles", "goroutine-leak", "growing group is not named", "goroutine profiles",
			func(t *testing.T) Input {
				s := healthy()
				s.goroutines = func(i int) float64 { return float64(20 + i) }
				return Input{Points: s.points()}
			}},
		{"no mutex figure", "mutex-wait-high", "no mutex wait figure via prometheus", "gotune agent",
			func(t *testing.T) Input { return Input{Points: prom(nil)} }},
		{"no finalizer figures", "finalizer-backlog", "no finalizer or cleanup queue figures", "gotune agent",
			func(t *testing.T) Input { return Input{Points: prom(nil)} }},
	} {
		t.Run(tc.rule+"/"+tc.name, func(t *testing.T) {
			r := Advise(tc.in(t), Config{})
			var got []Skip
			for _, s := range r.Skips {
				if s.Rule == tc.rule {
					got = append(got, s)
				}
			}
			for _, s := range got {
				if strings.Contains(s.Reason, tc.reason) && strings.Contains(s.Enable, tc.enable) {
					return
				}
			}
			t.Errorf("want a %s skip with %q, enabled by %q; got %+v", tc.rule, tc.reason, tc.enable, got)
		})
	}
}

// withoutMetric drops a metric from every point, and what the store
// derives from it, as a source that lacks it.
func (in Input) withoutMetric(name string) Input {
	st := session.NewStore(len(in.Points))
	for _, p := range in.Points {
		s := p.Sample
		s.Values = maps.Clone(s.Values)
		delete(s.Values, name)
		st.Append(s)
	}
	in.Points = st.Snapshot().Points
	return in
}

// A report says what could not run, so a summary can say "N checks could
// not run" instead of "nothing to do"; a full PID attach leaves nothing
// unchecked.
func TestCouldNotRun(t *testing.T) {
	url := Advise(Input{Points: asSource(healthy().points(), "prometheus", promDefault)}, Config{})
	if len(url.Findings) != 0 {
		t.Errorf("findings on a healthy prometheus target: %+v", url.Findings)
	}
	n := url.CouldNotRun()
	if url.AllChecked() || len(n) < 10 || url.Rules != len(Rules()) {
		t.Errorf("a prometheus-only URL target: %d of %d checks could not run, want most: %+v", len(n), url.Rules, n)
	}
	seen := map[string]bool{}
	for _, s := range n {
		if s.Partial || seen[s.Rule] || s.Reason == "" || s.Enable == "" {
			t.Errorf("CouldNotRun entry %+v (partial, repeated or without reason and remedy)", s)
		}
		seen[s.Rule] = true
	}
	full := Advise(healthyInput(t), Config{})
	if !full.AllChecked() {
		t.Errorf("a full PID attach left checks unrun: %+v", full.CouldNotRun())
	}

	// JSON keeps the sentences for older readers, and a report written
	// before Skips existed still counts what could not run.
	b, err := json.Marshal(url)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"skipped":["`) || !strings.Contains(string(b), `"skips":[{"rule":`) {
		t.Errorf("JSON lacks skipped or skips: %.300s", b)
	}
	var old Report
	if err := json.Unmarshal([]byte(`{"findings":[],"skipped":["alloc-heavy: no CPU profile (fetch one)","only 1 sample(s) in the window: every rule needs at least two"]}`), &old); err != nil {
		t.Fatal(err)
	}
	if got := old.CouldNotRun(); len(got) != 2 || got[0].Rule != "alloc-heavy" || got[1].Rule != "" || old.AllChecked() {
		t.Errorf("old report: %+v", got)
	}
}

// A target with a CPU quota but no cgroup reading of throttling is not
// the same as one with no cgroup at all: the cgroup fixture here has
// throttling, so the quota rules run.
func TestQuotaRulesRunWithThrottling(t *testing.T) {
	s := busy()
	s.procs = 8
	r := Advise(Input{Points: s.points(), Facts: Facts{Cgroup: cpuCgroup(2), Throttle: &cgroup.ThrottleRates{PeriodsPerSecond: 10, ThrottledFraction: 0.3}, Build: build("go1.24.4", "")}}, Config{})
	if _, ok := skipOf(r, "gomaxprocs-above-quota"); ok {
		t.Errorf("gomaxprocs-above-quota skipped with throttling figures: %+v", r.Skips)
	}
}
