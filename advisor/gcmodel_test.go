package advisor

import (
	"math"
	"testing"
)

const mb = 1 << 20

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*math.Max(math.Abs(a), math.Abs(b)) }

// The GC guide, section "GOGC": "consider a Go program with a live heap size
// of 8 MiB, 1 MiB of goroutine stacks, and 1 MiB of pointers in global
// variables. Then, with a GOGC value of 100, the amount of new memory that
// will be allocated before the next GC runs will be 10 MiB ... for a total
// heap footprint of 18 MiB. With a GOGC value of 50, then it'll be 50%, or
// 5 MiB. With a GOGC value of 200, it'll be 200%, or 20 MiB."
func TestHeapGoalGuideExample(t *testing.T) {
	for _, tc := range []struct {
		gogc int
		want float64
	}{
		{100, 18 * mb},
		{50, 13 * mb},
		{200, 28 * mb},
	} {
		if got := HeapGoal(8*mb, 2*mb, tc.gogc); got != tc.want {
			t.Errorf("GOGC=%d: heap goal %v MiB, want %v MiB", tc.gogc, got/mb, tc.want/mb)
		}
	}
	if g := HeapGoal(8*mb, 2*mb, -1); !math.IsInf(g, 1) {
		t.Errorf("GOGC=off: goal %v, want +Inf (\"equivalent to setting GOGC to a value of infinity\")", g)
	}
}

// "the Go GC has a minimum total heap size of 4 MiB, so if the GOGC-set
// target is ever below that, it gets rounded up" (GC guide, GOGC, note);
// the runtime scales the minimum by GOGC/100 (heapMinimum).
func TestHeapGoalMinimum(t *testing.T) {
	if got := HeapGoal(1*mb, 0, 100); got != 4*mb {
		t.Errorf("tiny heap at GOGC=100: goal %v MiB, want 4", got/mb)
	}
	if got := HeapGoal(1*mb, 0, 200); got != 8*mb {
		t.Errorf("tiny heap at GOGC=200: goal %v MiB, want 8 (4 MiB × GOGC/100)", got/mb)
	}
}

// The GC guide's steady-state example (section "Understanding costs"): "some
// application allocates 10 MiB/s, the GC can scan at a rate of 100
// MiB/cpu-second ... live heap is always 10 MiB. If each GC cycle happens
// exactly every 1 cpu-second ... 20 MiB total heap size on each GC cycle.
// And with every GC cycle, the GC will need 0.1 cpu-seconds to do its work,
// resulting in a 10% overhead. ... once every 2 cpu-seconds ... 30 MiB total
// heap ... from 10% to 5%, at the cost of 50% more memory being used."
// One CPU, no roots: GOGC=100 gives the 1 s cycle, GOGC=200 the 2 s one.
func TestSteadyStateGuideExample(t *testing.T) {
	const alloc, live, scanRate, procs = 10 * mb, 10 * mb, 100 * mb, 1
	perCycle := float64(live) / scanRate // 0.1 cpu-seconds
	for _, tc := range []struct {
		gogc                   int
		goal, cyclesPerSec, gc float64
	}{
		{100, 20 * mb, 1, 0.10},
		{200, 30 * mb, 0.5, 0.05},
	} {
		goal := HeapGoal(live, 0, tc.gogc)
		f := CyclesPerSecond(alloc, live, goal, 1)
		cpu := GCCPUFraction(perCycle, f, procs)
		if goal != tc.goal || !near(f, tc.cyclesPerSec, 1e-12) || !near(cpu, tc.gc, 1e-12) {
			t.Errorf("GOGC=%d: goal %v MiB, %v cycles/s, GC CPU %v; want %v MiB, %v, %v",
				tc.gogc, goal/mb, f, cpu, tc.goal/mb, tc.cyclesPerSec, tc.gc)
		}
	}
}

// "doubling GOGC will double heap memory overheads and roughly halve GC CPU
// cost" (GC guide, GOGC).
func TestDoublingGOGCHalvesGCCPU(t *testing.T) {
	const live, roots, alloc = 64 * mb, 1 * mb, 200 * mb
	for _, g := range []int{50, 100, 200, 400} {
		g1, g2 := HeapGoal(live, roots, g), HeapGoal(live, roots, 2*g)
		if !near(g2-live, 2*(g1-live), 1e-12) {
			t.Errorf("GOGC %d→%d: overhead %v → %v MiB, want doubled", g, 2*g, (g1-live)/mb, (g2-live)/mb)
		}
		c1 := GCCPUFraction(0.05, CyclesPerSecond(alloc, live, g1, 1), 2)
		c2 := GCCPUFraction(0.05, CyclesPerSecond(alloc, live, g2, 1), 2)
		if !near(c2, c1/2, 1e-12) {
			t.Errorf("GOGC %d→%d: GC CPU %v → %v, want halved", g, 2*g, c1, c2)
		}
	}
}

// The memory limit caps the goal at the limit minus the runtime's other
// memory, minus the runtime's 3% (at least 1 MiB) headroom, and never below
// the live heap (runtime/mgcpacer.go memoryLimitHeapGoal). With GOGC=off the
// limit alone sets the goal (GC guide, Memory limit: "even when GOGC is set
// to off, the memory limit is still respected").
func TestLimitHeapGoal(t *testing.T) {
	g := LimitHeapGoal(100*mb, 10*mb, 20*mb)
	if want := 90*mb - 0.03*90*mb; !near(g, want, 1e-12) {
		t.Errorf("limit goal %v MiB, want %v", g/mb, want/mb)
	}
	if g := LimitHeapGoal(20*mb, 1*mb, 0); !near(g, 18*mb, 1e-12) {
		t.Errorf("small limit: goal %v MiB, want 18 (1 MiB minimum headroom)", g/mb)
	}
	if g := LimitHeapGoal(50*mb, 10*mb, 60*mb); g != 60*mb {
		t.Errorf("live heap above the limit: goal %v MiB, want the live heap (60)", g/mb)
	}
	goal, bound := EffectiveHeapGoal(20*mb, 0, -1, 100*mb, 10*mb)
	if !bound || !near(goal, 87.3*mb, 1e-9) {
		t.Errorf("GOGC=off with a 100 MiB limit: goal %v MiB bound=%v, want 87.3 MiB, limit-bound", goal/mb, bound)
	}
	goal, bound = EffectiveHeapGoal(20*mb, 0, 100, 100*mb, 10*mb)
	if bound || goal != 40*mb {
		t.Errorf("GOGC=100 under a loose limit: goal %v MiB bound=%v, want 40, GOGC-bound", goal/mb, bound)
	}
	if f := CyclesPerSecond(10*mb, 60*mb, 60*mb, 1); !math.IsInf(f, 1) {
		t.Errorf("goal at the live heap: %v cycles/s, want +Inf (thrashing)", f)
	}
}

// Predict: calibrated on a window that obeys the model exactly, the
// predictions for other settings are the guide's formulas, and the GC CPU
// limiter caps a thrashing setting near 50%.
func TestPredictFromObservation(t *testing.T) {
	o := &GCObservation{GOGC: 100, Procs: 2, LiveHeap: 64 * mb, Roots: 0, Other: 8 * mb, AllocRate: 200 * mb,
		CPUPerCycle: 0.1, Runway: 1, Noise: 0.02, PeakRatio: 0.95}
	o.HeapGoal = Estimate{Value: 128 * mb, Low: 128 * mb, High: 128 * mb}
	r := o.Predict(200, 0)
	if !near(r.HeapGoal.Value, 192*mb, 1e-9) || !near(r.CycleRate.Value, 200.0/128, 1e-9) || !near(r.GCCPU.Value, 0.1*200/128/2, 1e-9) {
		t.Errorf("GOGC=200: goal %v MiB, %v cycles/s, GC CPU %v", r.HeapGoal.Value/mb, r.CycleRate.Value, r.GCCPU.Value)
	}
	if !r.GCCPU.Contains(r.GCCPU.Value) || r.GCCPU.Low >= r.GCCPU.Value || r.GCCPU.High <= r.GCCPU.Value {
		t.Errorf("GC CPU range %+v does not surround its value", r.GCCPU)
	}
	if !near(r.PeakHeap.Value, 0.975*192*mb, 1e-9) || !near(r.PeakMemory.Value, 200*mb, 1e-9) || r.PeakHeap.High < 192*mb || r.PeakHeap.Low > 0.95*192*mb {
		t.Errorf("peak heap %+v MiB, peak memory %v MiB; want 187.2 between today's 95%% of the goal and above the goal, 200", r.PeakHeap, r.PeakMemory.Value/mb)
	}
	th := o.Predict(-1, 70*mb) // the limit leaves no room beside a 64 MiB live heap
	if !th.Thrashing || th.GCCPU.Value != GCCPULimit {
		t.Errorf("GOGC=off under a 70 MiB limit: thrashing=%v GC CPU %v, want thrashing capped at %v", th.Thrashing, th.GCCPU.Value, GCCPULimit)
	}
}
