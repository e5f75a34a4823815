package advisor

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/gotune/gotune/session"
)

// The GC model of "A Guide to the Go Garbage Collector"
// (https://go.dev/doc/gc-guide):
//
//   - Target heap memory = Live heap + (Live heap + GC roots) × GOGC/100
//     (section "GOGC"; roots are goroutine stacks and globals, counted
//     since Go 1.18), never below 4 MiB × GOGC/100 (same section, note).
//   - A memory limit caps the goal at what fits beside the runtime's other
//     memory (section "Memory limit"; runtime/mgcpacer.go
//     memoryLimitHeapGoal, which also keeps 3% or at least 1 MiB headroom).
//   - GC CPU time per cycle is a fixed cost plus a cost per live byte
//     (section "Understanding costs"): with the live heap unchanged it is
//     the same under any GOGC, so it is measured once as GC CPU seconds
//     over GC cycles.
//   - In the steady state the program allocates at a constant rate, so the
//     GC runs allocation rate ÷ (heap goal − live heap) times per second
//     (same section's worked example) and GC CPU = cost per cycle × cycles
//     per second ÷ the CPU available.
//
// Everything is calibrated on the process's own window: the live heap,
// roots, allocation rate, cost per cycle, and how much of the runway the
// pacer really uses (it starts a cycle before the goal, between 0.7 and
// 0.95 of the runway, runtime/mgcpacer.go trigger bounds).

// HeapGoal is the GOGC heap target for a live heap and GC roots (bytes).
// gogc < 0 (off) gives +Inf.
func HeapGoal(live, roots float64, gogc int) float64 {
	if gogc < 0 {
		return math.Inf(1)
	}
	g := float64(gogc) / 100
	return max(live+(live+roots)*g, MinHeapGoal*g)
}

// Memory-limit headroom the runtime keeps below the limit-based goal
// (runtime/mgcpacer.go memoryLimitHeapGoalHeadroomPercent and
// memoryLimitMinHeapGoalHeadroom).
const (
	limitHeadroomPercent = 3
	limitMinHeadroom     = 1 << 20
)

// LimitHeapGoal is the heap goal a memory limit allows: the limit minus the
// runtime's memory outside heap objects (other), minus the runtime's 3%
// headroom, never below the live heap. limit <= 0 means no limit (+Inf).
func LimitHeapGoal(limit, other, live float64) float64 {
	if limit <= 0 {
		return math.Inf(1)
	}
	g := limit - other
	g -= max(g*limitHeadroomPercent/100, limitMinHeadroom)
	return max(g, live)
}

// EffectiveHeapGoal is the lower of the GOGC and memory-limit goals.
func EffectiveHeapGoal(live, roots float64, gogc int, limit, other float64) (goal float64, limitBound bool) {
	g := HeapGoal(live, roots, gogc)
	l := LimitHeapGoal(limit, other, live)
	if l < g {
		return l, true
	}
	return g, false
}

// CyclesPerSecond is how often the GC runs in the steady state: the
// allocation rate over the heap growth allowed between cycles. runway (0..1]
// is the share of goal − live the program really allocates per cycle
// (1 when unknown). An infinite goal gives 0; a goal at or below the live
// heap gives +Inf (the GC would run continuously).
func CyclesPerSecond(allocRate, live, goal, runway float64) float64 {
	if runway <= 0 {
		runway = 1
	}
	if math.IsInf(goal, 1) || allocRate <= 0 {
		return 0
	}
	if goal <= live {
		return math.Inf(1)
	}
	return allocRate / (runway * (goal - live))
}

// GCCPUFraction is GC CPU as a share of the CPU available to the process:
// cost per cycle (CPU seconds) × cycles per second ÷ procs (GOMAXPROCS, the
// CPU seconds per second /cpu/classes/total counts).
func GCCPUFraction(cpuPerCycle, cyclesPerSecond, procs float64) float64 {
	if procs <= 0 {
		return math.NaN()
	}
	return cpuPerCycle * cyclesPerSecond / procs
}

// Estimate is a figure with its range.
type Estimate struct {
	Value float64 `json:"value"`
	Low   float64 `json:"low"`
	High  float64 `json:"high"`
}

// Contains reports whether x lies in [Low, High].
func (e Estimate) Contains(x float64) bool { return x >= e.Low && x <= e.High }

// around is v ± rel·v. The model's figures (rates, fractions, bytes) are
// never negative: a window noisy enough that rel exceeds 1 (a process at
// rest, a GC a minute) gives a range from 0, not below.
func around(v, rel float64) Estimate {
	e := Estimate{Value: v, Low: v * (1 - rel), High: v * (1 + rel)}
	if v >= 0 {
		e.Low = max(0, e.Low)
	}
	return e
}

// Model tolerances: how far the steady-state model can be off beyond the
// window's own noise. The runtime's pacer starts cycles between 0.7 and 0.95
// of the runway depending on the GOGC and the measured scan rate, so the
// calibrated runway share moves with GOGC (±10% of cycles); GC CPU also
// moves with idle mark workers, which take whatever CPU is idle during a
// cycle (GC guide, Identifying costs, gcDrainMarkWorkerIdle), hence the wider
// band. Peak heap is sampled, so it lies below the true peak.
const (
	tolCycles = 0.15
	// tolCyclesLarger widens the low side of the GC-rate range for a GOGC
	// above today's: the live heap the runtime marks (floating garbage
	// included) grows with the runway, so the process runs fewer cycles
	// than the runway calibrated at today's GOGC says. Measured on the demo
	// (TestExperimentGOGCPrediction): at GOGC=400 from a GOGC=100 window,
	// 20–37% fewer cycles than the central prediction.
	tolCyclesLarger = 0.40
	tolGCCPU        = 0.25
	tolGoal         = 0.05
	tolPeak         = 0.12
	// noiseZ widens the window's standard error to an interval that a
	// later measurement of the same length falls in about 95% of the time
	// (2σ, and √2 for two independent windows).
	noiseZ = 2 * math.Sqrt2
)

// Minimum GC activity for the model: fewer cycles give no usable cost per
// cycle.
const minModelCycles = 4

// GCObservation is what the model learned from the window.
type GCObservation struct {
	GOGC        int     `json:"gogc"`         // -1 for off
	MemoryLimit float64 `json:"memory_limit"` // GOMEMLIMIT in bytes, 0 for none
	Procs       float64 `json:"procs"`        // CPU seconds per second the runtime counts (GOMAXPROCS)
	LiveHeap    float64 `json:"live_heap"`    // mean /gc/heap/live, or its estimate
	Roots       float64 `json:"roots"`        // mean /gc/scan/stack + /gc/scan/globals
	Other       float64 `json:"other"`        // runtime memory outside heap objects (stacks, metadata, free spans)
	AllocRate   float64 `json:"alloc_rate"`   // bytes/s
	Cycles      float64 `json:"cycles"`
	CPUPerCycle float64 `json:"cpu_per_cycle"` // GC CPU seconds per cycle (paid: idle marking excluded)
	// Runway is the share of (heap goal − live heap) allocated per cycle.
	Runway   float64  `json:"runway"`
	HeapGoal Estimate `json:"heap_goal"` // /gc/heap/goal over the window (mean, min, max)
	PeakHeap float64  `json:"peak_heap"` // max of /memory/classes/heap/objects samples
	// PeakRatio is PeakHeap over the mean heap goal: how close the sampled
	// peak comes to the goal.
	PeakRatio float64  `json:"peak_ratio"`
	CycleRate Estimate `json:"cycle_rate"` // measured, with the window's noise
	GCCPU     Estimate `json:"gc_cpu"`     // measured GC CPU paid, with the window's noise
	Segments  int      `json:"segments"`
	// Noise is the relative standard error of the window's GC CPU and cycle
	// rate, from its segments.
	Noise float64 `json:"noise"`

	// GCCPUIdle is idle-priority GC marking, shown apart from GCCPU (GC
	// work on Ps with nothing else to run; not a cost the program pays).
	GCCPUIdle float64 `json:"gc_cpu_idle,omitempty"`
	// GCCPUMethod and GCCPUSource say where GCCPU came from;
	// GCCPUEstimated is true for an estimate (MemStats GCCPUFraction
	// deltas, a CPU profile).
	GCCPUMethod    string `json:"gc_cpu_method,omitempty"`
	GCCPUSource    string `json:"gc_cpu_source,omitempty"`
	GCCPUEstimated bool   `json:"gc_cpu_estimated,omitempty"`
	// NoGCCPU: the source has no GC CPU figure at all; the model predicts
	// heap goals and GC rates only, and every GC CPU estimate is zero.
	NoGCCPU bool `json:"no_gc_cpu,omitempty"`
	// LiveHeapSource says where LiveHeap came from; LiveHeapEstimated is
	// true when it was estimated from the heap goal and GOGC.
	LiveHeapSource    string `json:"live_heap_source,omitempty"`
	LiveHeapEstimated bool   `json:"live_heap_estimated,omitempty"`
}

// Estimated reports whether the model rests on an estimated figure.
func (o *GCObservation) Estimated() bool { return o.GCCPUEstimated || o.LiveHeapEstimated }

// observeGC fits the model on the window, or says why it cannot.
func (c *check) observeGC() (*GCObservation, Skip) {
	w := c.w
	cycles, wall, ok := w.delta(session.GCCycles)
	if !ok || wall <= 0 {
		return nil, Skip{Reason: "no GC cycle counter in the window " + c.via() + " (/gc/cycles/total, go_gc_duration_seconds or MemStats NumGC)", Enable: enableAgent}
	}
	if cycles < minModelCycles {
		return nil, Skip{Reason: fmt.Sprintf("only %.0f GC cycles in the window (the model needs %d)", cycles, minModelCycles),
			Enable: "watch longer or under load: --window"}
	}
	allocs, _, okAlloc := w.delta(session.HeapAllocsBytes)
	goal := statsOf(w.values(session.HeapGoal))
	if !okAlloc || goal.n == 0 {
		var miss []string
		if !okAlloc {
			miss = append(miss, "an allocation counter (/gc/heap/allocs, MemStats TotalAlloc)")
		}
		if goal.n == 0 {
			miss = append(miss, "the heap goal (/gc/heap/goal, MemStats NextGC)")
		}
		return nil, Skip{Reason: "no " + strings.Join(miss, " and no ") + " " + c.via(), Enable: enableAgent}
	}
	liveVals, liveSrc, liveEst := c.liveHeap(w)
	if len(liveVals) == 0 {
		return nil, c.liveMissing()
	}
	live := statsOf(liveVals)
	fig, hasCPU := c.gcCPU()
	procs := fig.Procs
	if !hasCPU || procs <= 0 {
		p, ok := c.gomaxprocs()
		if !ok {
			return nil, Skip{Reason: "GOMAXPROCS is unknown " + c.via() + " (/sched/gomaxprocs:threads)", Enable: enableAgent}
		}
		procs = float64(p)
	}
	o := &GCObservation{GOGC: 100, Cycles: cycles, Procs: procs, AllocRate: allocs / wall, LiveHeap: live.mean,
		LiveHeapSource: liveSrc, LiveHeapEstimated: liveEst}
	if g, ok := c.gogc(); ok {
		o.GOGC = g
	} else if live.mean > 0 && goal.mean > live.mean {
		// Measured live heap and goal, no GOGC: the one the goal implies.
		o.GOGC = int(math.Round((goal.mean - live.mean) / live.mean * 100))
	}
	if l, ok := c.memLimit(); ok {
		o.MemoryLimit = l
	}
	var roots []float64
	for _, p := range w.pts {
		s, ok1 := p.Values[metricScanStack]
		g, ok2 := p.Values[metricScanGlobals]
		if ok1 && ok2 {
			roots = append(roots, s+g)
		}
	}
	o.Roots = statsOf(roots).mean
	var other []float64
	for _, p := range w.pts {
		v := p.Values
		t, ok1 := v[session.MemoryTotal]
		obj, ok2 := v[session.HeapObjects]
		if !ok1 || !ok2 {
			continue
		}
		other = append(other, max(t-obj-v[metricHeapUnused]-v[metricHeapFree]-v[metricHeapReleased], 0))
	}
	o.Other = statsOf(other).mean
	o.HeapGoal = Estimate{Value: goal.mean, Low: goal.min, High: goal.max}
	o.PeakHeap = statsOf(w.values(session.HeapObjects)).max
	if goal.mean > 0 && o.PeakHeap > 0 {
		o.PeakRatio = o.PeakHeap / goal.mean
	}
	if goal.mean > o.LiveHeap {
		o.Runway = min(o.AllocRate/(cycles/wall)/(goal.mean-o.LiveHeap), 2)
	}
	if o.Runway <= 0 {
		o.Runway = 1
	}
	if hasCPU {
		o.CPUPerCycle = fig.cores() * wall / cycles
		o.GCCPUIdle = fig.Idle
		o.GCCPUMethod, o.GCCPUSource, o.GCCPUEstimated = fig.Method, fig.Source, fig.Estimated
	} else {
		o.NoGCCPU = true
	}

	// The window's noise: GC CPU and cycle rate in time segments of at
	// least two cycles each.
	rate := cycles / wall
	k := min(6, int(cycles)/2, len(w.pts)-1)
	var rates, fracs []float64
	if k >= 2 {
		for i := range k {
			a := i * (len(w.pts) - 1) / k
			b := (i + 1) * (len(w.pts) - 1) / k
			seg := newWindow(w.pts[a : b+1])
			n, s, ok := seg.delta(session.GCCycles)
			if !ok || s <= 0 {
				continue
			}
			rates = append(rates, n/s)
			var sf gcCPUFigure
			segOK := false
			switch fig.Method {
			case GCCPUFromClasses:
				sf, segOK = c.gcCPUClasses(seg)
			case GCCPUFromDerived:
				sf, segOK = c.gcCPUDerived(seg)
			}
			if segOK {
				fracs = append(fracs, sf.Paid)
			}
		}
	}
	o.Segments = len(rates)
	if o.Segments >= 2 {
		se := func(xs []float64) float64 {
			s := statsOf(xs)
			if s.n < 2 || s.mean <= 0 {
				return 0
			}
			return s.sd / s.mean / math.Sqrt(float64(s.n))
		}
		o.Noise = max(se(rates), se(fracs))
	} else {
		o.Noise = 0.2 // one segment: no spread to learn from; assume a noisy window
	}
	o.CycleRate = around(rate, noiseZ*o.Noise/math.Sqrt2)
	if hasCPU {
		o.GCCPU = around(fig.Paid, noiseZ*o.Noise/math.Sqrt2)
	}
	return o, Skip{}
}

// WhatIfRow is the model's prediction for one setting.
type WhatIfRow struct {
	Setting     string  `json:"setting"` // "GOGC=200", "GOGC=off GOMEMLIMIT=900MiB"
	GOGC        int     `json:"gogc"`    // -1 for off
	MemoryLimit float64 `json:"memory_limit,omitempty"`
	Current     bool    `json:"current,omitempty"`
	// LimitBound is true when the memory limit, not GOGC, sets the goal.
	LimitBound bool     `json:"limit_bound,omitempty"`
	HeapGoal   Estimate `json:"heap_goal"`
	PeakHeap   Estimate `json:"peak_heap"`   // the sampled peak of heap objects
	PeakMemory Estimate `json:"peak_memory"` // heap goal + the runtime's other memory: what GOMEMLIMIT counts
	CycleRate  Estimate `json:"cycle_rate"`  // GC cycles per second
	GCCPU      Estimate `json:"gc_cpu"`      // fraction of GOMAXPROCS × wall; zero when the model has no GC CPU (WhatIf.NoGCCPU)
	// Thrashing is true when the goal leaves no room to allocate: the GC
	// would run continuously and the CPU limiter would cap it near 50%.
	Thrashing bool `json:"thrashing,omitempty"`
}

// WhatIf is the GC what-if table.
type WhatIf struct {
	Observed GCObservation `json:"observed"`
	Rows     []WhatIfRow   `json:"rows"`
	// Target is the GC CPU the recommendation aims for; Budget the memory
	// it must stay under (0 when no limit is known).
	Target float64 `json:"target"`
	Budget float64 `json:"budget,omitempty"`
	// Recommended indexes Rows; -1 when today's setting is fine or nothing
	// meets the target.
	Recommended int    `json:"recommended"`
	Reason      string `json:"reason"`
	// NoGCCPU: the target serves no GC CPU figure, so the GC CPU columns
	// are zero and nothing is recommended; heap goals and GC rates are
	// still predicted.
	NoGCCPU bool `json:"no_gc_cpu,omitempty"`
}

// Recommendation returns the recommended row.
func (w *WhatIf) Recommendation() (WhatIfRow, bool) {
	if w == nil || w.Recommended < 0 || w.Recommended >= len(w.Rows) {
		return WhatIfRow{}, false
	}
	return w.Rows[w.Recommended], true
}

// Current returns the row for today's setting.
func (w *WhatIf) Current() (WhatIfRow, bool) {
	if w == nil {
		return WhatIfRow{}, false
	}
	for _, r := range w.Rows {
		if r.Current {
			return r, true
		}
	}
	return WhatIfRow{}, false
}

// Predict returns the model's prediction for a GOGC and a memory limit
// (0: none).
func (o *GCObservation) Predict(gogc int, limit float64) WhatIfRow {
	r := WhatIfRow{GOGC: gogc, MemoryLimit: limit, Setting: settingName(gogc, limit)}
	goal, bound := EffectiveHeapGoal(o.LiveHeap, o.Roots, gogc, limit, o.Other)
	r.LimitBound = bound
	// Calibrate the goal on today's: the formula with today's setting
	// against the runtime's own /gc/heap/goal.
	todayGoal, _ := EffectiveHeapGoal(o.LiveHeap, o.Roots, o.GOGC, o.MemoryLimit, o.Other)
	scale := 1.0
	if todayGoal > 0 && !math.IsInf(todayGoal, 0) && o.HeapGoal.Value > 0 {
		scale = o.HeapGoal.Value / todayGoal
	}
	if !bound && !math.IsInf(goal, 0) {
		goal = o.LiveHeap + (goal-o.LiveHeap)*scale
	}
	// A memory limit caps the goal (runtime/mgcpacer.go: the goal is the
	// lower of the GOGC and the limit goals), also after calibration.
	limitGoal := LimitHeapGoal(limit, o.Other, o.LiveHeap)
	if goal > limitGoal {
		goal, bound = limitGoal, true
		r.LimitBound = true
	}
	goalSpread := tolGoal
	if o.HeapGoal.Value > 0 {
		goalSpread += (o.HeapGoal.High - o.HeapGoal.Low) / 2 / o.HeapGoal.Value
	}
	r.HeapGoal = around(goal, goalSpread)
	if bound {
		// The runtime computes a limit-bound goal from the limit and its
		// other memory, not from the window's sawtooth: only the other
		// memory's drift moves it, and never above the limit minus the
		// runtime's headroom (so no row predicts a goal above the limit).
		r.HeapGoal = Estimate{Value: goal, Low: max(goal*(1-tolGoal), o.LiveHeap),
			High: max(goal, min(goal*(1+tolGoal), LimitHeapGoal(limit, 0, o.LiveHeap)))}
	}
	// The sampled peak of heap objects lies between today's share of the
	// goal (1 Hz samples catch a cycle's top less often the more cycles
	// per second) and the goal itself (with few cycles per second samples
	// come close to it): measured on the demo, 0.86 of the goal at
	// GOGC=100 and about 0.98 at GOGC=400.
	ratio := min(max(o.PeakRatio, 0.5), 1)
	if o.PeakRatio <= 0 {
		ratio = 1
	}
	r.PeakHeap = Estimate{Value: goal * (1 + ratio) / 2, Low: goal * ratio * (1 - goalSpread - tolPeak), High: goal * (1 + goalSpread + tolPeak)}
	r.PeakMemory = Estimate{Value: goal + o.Other, Low: r.HeapGoal.Low + o.Other, High: r.HeapGoal.High + o.Other}
	if limit > 0 {
		r.PeakHeap.High = min(r.PeakHeap.High, max(limit-o.Other, r.PeakHeap.Value))
		r.PeakMemory.High = min(r.PeakMemory.High, max(limit, r.PeakMemory.Value))
	}
	if o.NoGCCPU {
		// No GC CPU figure: the GC rate alone, the limiter's cap unknown.
		f := CyclesPerSecond(o.AllocRate, o.LiveHeap, goal, o.Runway)
		if math.IsInf(f, 1) {
			r.Thrashing = bound
			return r
		}
		noise := noiseZ * o.Noise
		r.CycleRate = around(f, noise+tolCycles)
		if larger(gogc, o.GOGC) {
			r.CycleRate.Low = f * max(0, 1-noise-tolCyclesLarger)
		}
		return r
	}

	f := CyclesPerSecond(o.AllocRate, o.LiveHeap, goal, o.Runway)
	cpu := GCCPUFraction(o.CPUPerCycle, f, o.Procs)
	if math.IsInf(f, 1) || cpu >= GCCPULimit {
		r.Thrashing = bound
		cpu = min(cpu, GCCPULimit) // the limiter caps GC CPU (GC guide, Memory limit)
		if math.IsInf(f, 1) {
			f = GCCPULimit * o.Procs / o.CPUPerCycle
		}
	}
	noise := noiseZ * o.Noise
	r.CycleRate = around(f, noise+tolCycles)
	if larger(gogc, o.GOGC) {
		r.CycleRate.Low = f * max(0, 1-noise-tolCyclesLarger)
	}
	r.GCCPU = around(cpu, noise+tolGCCPU)
	if o.GCCPUIdle > 0 && o.CycleRate.Value > 0 {
		// Idle-priority marking takes whatever CPU is idle during a cycle
		// and is not paid for; how much of a cycle's work it absorbs
		// depends on how much idle CPU there is. Cycles more often: the
		// idle capacity is shared by more work, so up to all of it may be
		// paid (the GC's total share, idle marking included, bounds the
		// range above). Cycles less often: idle capacity may absorb up to
		// today's idle share. Measured on the demo
		// (TestExperimentGOGCPrediction): GOGC 100 → 50 paid 22.5% against
		// 14.3% scaled from the paid share alone, with 10.1% idle marking
		// at GOGC=100.
		idlePerCycle := o.GCCPUIdle * o.Procs / o.CycleRate.Value
		total := GCCPUFraction(o.CPUPerCycle+idlePerCycle, f, o.Procs)
		if f > o.CycleRate.Value {
			r.GCCPU.High = max(r.GCCPU.High, total*(1+noise+tolGCCPU))
		} else {
			r.GCCPU.Low = min(r.GCCPU.Low, max(0, total-o.GCCPUIdle)*(1-noise-tolGCCPU))
		}
	}
	r.GCCPU.High = min(r.GCCPU.High, GCCPULimit+0.05)
	return r
}

// larger reports whether GOGC a lets the heap grow more than b (off is
// the largest).
func larger(a, b int) bool {
	switch {
	case b < 0:
		return false
	case a < 0:
		return true
	}
	return a > b
}

func settingName(gogc int, limit float64) string {
	s := "GOGC=off"
	if gogc >= 0 {
		s = fmt.Sprintf("GOGC=%d", gogc)
	}
	if limit > 0 {
		s += " GOMEMLIMIT=" + limitString(limit)
	}
	return s
}

// limitString writes a byte count as GOMEMLIMIT accepts it, in MiB.
func limitString(n float64) string {
	if n >= 1<<30 && int64(n)%(1<<30) == 0 {
		return fmt.Sprintf("%dGiB", int64(n)>>30)
	}
	return fmt.Sprintf("%dMiB", mib(n))
}

// whatIf builds the table once per check.
func (c *check) whatIf() *WhatIf {
	if !c.whatDone {
		c.whatDone = true
		c.whatIfV = c.buildWhatIf()
	}
	return c.whatIfV
}

func (c *check) buildWhatIf() *WhatIf {
	o := c.model
	if o == nil {
		s := c.modelWhy
		s.Rule = WhatIfID
		c.skips = append(c.skips, s)
		return nil
	}
	wi := &WhatIf{Observed: *o, Target: c.cfg.GCCPUTarget, Recommended: -1, NoGCCPU: o.NoGCCPU}
	// The memory budget: GOMEMLIMIT if set, else 90% of the container limit.
	containerLimit, _, hasContainer := c.containerMemLimit()
	suggestedLimit := 0.0
	if hasContainer {
		suggestedLimit = float64(mib(containerLimit*(1-c.cfg.MemoryHeadroom))) * (1 << 20)
	}
	switch {
	case o.MemoryLimit > 0:
		wi.Budget = o.MemoryLimit
	case hasContainer:
		wi.Budget = suggestedLimit
	}

	type cand struct {
		gogc  int
		limit float64
	}
	cands := []cand{}
	for _, g := range GOGCCandidates {
		cands = append(cands, cand{g, o.MemoryLimit})
	}
	if o.GOGC >= 0 && !slices.Contains(GOGCCandidates, o.GOGC) {
		cands = append(cands, cand{o.GOGC, o.MemoryLimit})
	}
	switch {
	case o.MemoryLimit > 0:
		cands = append(cands, cand{-1, o.MemoryLimit})
	case hasContainer:
		cands = append(cands, cand{-1, suggestedLimit})
		cands = append(cands, cand{max(o.GOGC, 100), suggestedLimit})
	}
	slices.SortStableFunc(cands, func(a, b cand) int {
		ka, kb := a.gogc, b.gogc
		if ka < 0 {
			ka = math.MaxInt32
		}
		if kb < 0 {
			kb = math.MaxInt32
		}
		if ka != kb {
			return ka - kb
		}
		switch {
		case a.limit < b.limit:
			return -1
		case a.limit > b.limit:
			return 1
		}
		return 0
	})
	for _, cd := range cands {
		if i := slices.IndexFunc(wi.Rows, func(r WhatIfRow) bool { return r.GOGC == cd.gogc && r.MemoryLimit == cd.limit }); i >= 0 {
			continue
		}
		r := o.Predict(cd.gogc, cd.limit)
		r.Current = cd.gogc == o.GOGC && cd.limit == o.MemoryLimit
		wi.Rows = append(wi.Rows, r)
	}
	cur, _ := wi.Current()
	if o.NoGCCPU {
		sk := c.gcCPUMissing()
		wi.Reason = "heap goals and GC rates only: " + sk.Reason + "; " + sk.Enable
		c.skips = append(c.skips, Skip{Rule: WhatIfID, Reason: "GC CPU columns: " + sk.Reason, Enable: sk.Enable, Partial: true})
		return wi
	}
	if o.GCCPU.Value <= wi.Target {
		wi.Reason = fmt.Sprintf("GC CPU is %s today, within the %s target: keep %s", pct(o.GCCPU.Value), pct(wi.Target), cur.Setting)
		return wi
	}
	// The setting with the least memory whose predicted GC CPU meets the
	// target and whose peak memory (upper end) fits the budget; failing
	// that, the one with the least GC CPU within the budget, if it at
	// least halves today's.
	fits := func(r WhatIfRow) bool {
		return !r.Current && !r.Thrashing && (wi.Budget <= 0 || r.PeakMemory.High <= wi.Budget)
	}
	best, bestMem := -1, math.Inf(1)
	for i, r := range wi.Rows {
		if fits(r) && r.GCCPU.Value <= wi.Target && r.PeakMemory.Value < bestMem {
			best, bestMem = i, r.PeakMemory.Value
		}
	}
	meets := best >= 0
	if !meets {
		bestCPU := o.GCCPU.Value / 2
		for i, r := range wi.Rows {
			if fits(r) && r.GCCPU.Value <= bestCPU {
				best, bestCPU = i, r.GCCPU.Value
			}
		}
	}
	if best < 0 {
		wi.Reason = fmt.Sprintf("no setting in the table keeps GC CPU under %s", pct(wi.Target))
		if wi.Budget > 0 {
			wi.Reason += " within " + bytes(wi.Budget)
		}
		wi.Reason += ": reduce the allocation rate or the live heap"
		return wi
	}
	wi.Recommended = best
	r := wi.Rows[best]
	wi.Reason = fmt.Sprintf("%s is the setting with the least memory (peak %s) whose GC CPU meets the %s target (predicted %s)",
		r.Setting, bytes(r.PeakMemory.Value), pct(wi.Target), pctRange(r.GCCPU.Low, r.GCCPU.High))
	if !meets {
		wi.Reason = fmt.Sprintf("no setting meets the %s target; %s at least halves GC CPU (predicted %s, peak %s); reduce allocations for the rest",
			pct(wi.Target), r.Setting, pctRange(r.GCCPU.Low, r.GCCPU.High), bytes(r.PeakMemory.Value))
	}
	if wi.Budget > 0 {
		wi.Reason += " within the " + bytes(wi.Budget) + " memory budget"
	}
	return wi
}
