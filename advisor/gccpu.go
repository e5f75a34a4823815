package advisor

import (
	"fmt"
	"math"
	"strings"

	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/session"
)

// GC CPU and the live heap, from whatever the target serves.
//
// GC CPU is the GC cost the program actually paid, as a share of the CPU
// available to it (GOMAXPROCS × wall), in this order of preference:
//
//  1. runtime/metrics: (/cpu/classes/gc/total − /cpu/classes/gc/mark/idle)
//     ÷ /cpu/classes/total over the window. The runtime/metrics docs say to
//     subtract idle marking (GC work on Ps that had nothing else to do) for
//     the cost actually paid; it is shown apart.
//  2. the collectors' derived session.GCCPU figure (with session.GCCPUIdle),
//     which for expvar, heap debug=1 and gops is an estimate from deltas of
//     MemStats GCCPUFraction (a lifetime average) over uptime and
//     GOMAXPROCS; its origin says which.
//  3. an estimate from a CPU profile: the share of CPU samples in the GC's
//     mark workers (runtime.gcBgMarkWorker, without the idle workers'
//     runtime.gcDrainMarkWorkerIdle) and mark assists
//     (runtime.gcAssistAlloc), over the profile's duration × GOMAXPROCS.
//
// The live heap is /gc/heap/live where the source has it; otherwise an
// estimate from the GC guide's formula solved for the live heap,
// live = (goal − roots × GOGC/100) ÷ (1 + GOGC/100), labelled as such.
// HeapAlloc (heap in use, unswept dead objects included) is never used as
// the live heap.

// metricCPUGCIdle is idle-priority GC marking (runtime/metrics).
const metricCPUGCIdle = "/cpu/classes/gc/mark/idle:cpu-seconds"

// GC CPU methods, for GCObservation.GCCPUMethod.
const (
	GCCPUFromClasses = "runtime/metrics /cpu/classes"
	GCCPUFromDerived = "collector's GC CPU figure"
	GCCPUFromProfile = "CPU profile"
)

// gcCPUFigure is GC CPU over a span.
type gcCPUFigure struct {
	Method string
	// Paid is the GC CPU the program paid (idle marking excluded), Idle
	// the idle-priority marking, Assist the mark assists: fractions of
	// GOMAXPROCS × wall.
	Paid, Idle, Assist float64
	HasIdle, HasAssist bool
	// IncludesIdle: the source has no idle-marking figure, so Paid
	// includes it (an overestimate).
	IncludesIdle bool
	Procs        float64 // CPU seconds per wall second of the denominator (GOMAXPROCS)
	Source       string
	Estimated    bool
	// AboveOS: Paid × Procs exceeds the process CPU the OS measured
	// (OSCores) by more than gcAboveOSSlack.
	AboveOS bool
	OSCores float64
}

// cores is the GC CPU in cores.
func (f gcCPUFigure) cores() float64 { return f.Paid * f.Procs }

// gcCPU is the window's GC CPU figure, by the first method that has one.
func (c *check) gcCPU() (gcCPUFigure, bool) {
	if c.gcFigDone {
		return c.gcFig, c.gcFigOK
	}
	c.gcFigDone = true
	f, ok := c.gcCPUClasses(c.w)
	if !ok {
		f, ok = c.gcCPUDerived(c.w)
	}
	if !ok {
		f, ok = c.gcCPUProfile()
	}
	if ok {
		if cores, has := c.processCores(); has && f.cores() > cores*(1+gcAboveOSSlack)+gcAboveOSFloor {
			f.AboveOS, f.OSCores = true, cores
		}
	}
	c.gcFig, c.gcFigOK = f, ok
	return f, ok
}

// gcCPUClasses is method 1 over w.
func (c *check) gcCPUClasses(w window) (gcCPUFigure, bool) {
	gc, wall, ok1 := w.delta(session.CPUGCTotal)
	total, _, ok2 := w.delta(session.CPUTotal)
	if !ok1 || !ok2 || total <= 0 || wall <= 0 {
		return gcCPUFigure{}, false
	}
	f := gcCPUFigure{Method: GCCPUFromClasses, Procs: total / wall}
	formula := "(/cpu/classes/gc/total − /cpu/classes/gc/mark/idle) ÷ /cpu/classes/total"
	if idle, _, ok := w.delta(metricCPUGCIdle); ok {
		f.Idle, f.HasIdle = idle/total, true
		gc -= idle
	} else {
		f.IncludesIdle = true
		formula = "/cpu/classes/gc/total ÷ /cpu/classes/total (no /cpu/classes/gc/mark/idle: idle marking included)"
	}
	f.Paid = max(gc, 0) / total
	if a, _, ok := w.delta(session.CPUGCAssist); ok {
		f.Assist, f.HasAssist = a/total, true
	}
	switch o := c.givenOrigin(session.CPUGCTotal); {
	case session.IsEstimate(o):
		f.Source, f.Estimated = o, true
	case o != "":
		f.Source = formula + " (" + o + ")"
	default:
		f.Source = formula + ", runtime/metrics " + c.via()
	}
	return f, true
}

// metricCPUIdle is the time Ps had nothing to run (runtime/metrics).
const metricCPUIdle = "/cpu/classes/idle:cpu-seconds"

// gcBusyShare is the GC's share of the time the process's Ps ran
// anything: with the OS's process CPU it says how much CPU the GC really
// had when the host gave the process less than its Ps' wall time.
func (c *check) gcBusyShare() (float64, bool) {
	gc, _, ok1 := c.w.delta(session.CPUGCTotal)
	total, _, ok2 := c.w.delta(session.CPUTotal)
	idleP, _, ok3 := c.w.delta(metricCPUIdle)
	idleMark, _, ok4 := c.w.delta(metricCPUGCIdle)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return 0, false
	}
	busy := total - idleP - idleMark
	if busy <= 0 {
		return 0, false
	}
	return max(gc-idleMark, 0) / busy, true
}

// gcCPUDerived is method 2 over w: the mean of the collectors' GC CPU
// figure over the points that hold it.
func (c *check) gcCPUDerived(w window) (gcCPUFigure, bool) {
	paid := statsOf(w.derived(session.GCCPU))
	if paid.n == 0 {
		return gcCPUFigure{}, false
	}
	procs, ok := c.gomaxprocs()
	if !ok {
		return gcCPUFigure{}, false
	}
	f := gcCPUFigure{Method: GCCPUFromDerived, Paid: paid.mean, Procs: float64(procs)}
	if idle := statsOf(w.derived(session.GCCPUIdle)); idle.n > 0 {
		f.Idle, f.HasIdle = idle.mean, true
	}
	if as := statsOf(w.derived(session.GCAssistCPU)); as.n > 0 {
		f.Assist, f.HasAssist = as.mean, true
	}
	f.Source, f.Estimated = c.origin(session.GCCPU)
	return f, true
}

// gcCPUProfile is method 3: an estimate from the CPU profile.
func (c *check) gcCPUProfile() (gcCPUFigure, bool) {
	p := c.in.Profiles.CPU
	if p == nil || p.DurationNanos <= 0 {
		return gcCPUFigure{}, false
	}
	procs, ok := c.gomaxprocs()
	if !ok {
		return gcCPUFigure{}, false
	}
	g, ok := profileGCSeconds(p)
	if !ok {
		return gcCPUFigure{}, false
	}
	avail := float64(p.DurationNanos) / 1e9 * float64(procs)
	f := gcCPUFigure{Method: GCCPUFromProfile, Procs: float64(procs), Estimated: true,
		Paid: (g.workers - g.idle + g.assist) / avail, Idle: g.idle / avail, HasIdle: true,
		Assist: g.assist / avail, HasAssist: true,
		Source: fmt.Sprintf("estimate: GC workers' share of the %s CPU profile (runtime.gcBgMarkWorker without runtime.gcDrainMarkWorkerIdle, plus runtime.gcAssistAlloc, over its duration × GOMAXPROCS %d)",
			secs(float64(p.DurationNanos)/1e9), procs)}
	return f, true
}

// profileGC is the CPU seconds a CPU profile holds in the GC.
type profileGC struct {
	workers, idle, assist, total float64
}

// profileGCSeconds sums a CPU profile's samples in the GC's mark workers,
// their idle-priority part and mark assists.
func profileGCSeconds(p *profile.Profile) (profileGC, bool) {
	vi, err := p.SampleIndex("cpu")
	if err != nil {
		return profileGC{}, false
	}
	var g profileGC
	for i := range p.NumSamples() {
		v := float64(p.Values(i)[vi]) / 1e9
		g.total += v
		var worker, idle, assist bool
		for _, l := range p.Stack(i) {
			for _, ln := range p.Locations[l].Lines {
				if ln.Function < 0 {
					continue
				}
				switch name := p.Functions[ln.Function].Name; {
				case name == "runtime.gcBgMarkWorker":
					worker = true
				case name == "runtime.gcDrainMarkWorkerIdle":
					idle = true
				case strings.HasPrefix(name, "runtime.gcAssistAlloc"):
					assist = true
				}
			}
		}
		switch {
		case worker:
			g.workers += v
			if idle {
				g.idle += v
			}
		case assist:
			g.assist += v
		}
	}
	return g, true
}

// gcCPUMissing says why the window has no GC CPU figure, and what would
// give one, for the source at hand.
func (c *check) gcCPUMissing() Skip {
	srcs := c.sources()
	via := c.via()
	var s Skip
	_, procsOK := c.gomaxprocs()
	switch {
	case len(c.w.derived(session.GCCPU)) > 0 && !procsOK:
		s.Reason = "a GC CPU estimate " + via + " but GOMAXPROCS is unknown, so it cannot be turned into CPU seconds"
		s.Enable = enableAgent + "; or " + enablePID
		return s
	case len(srcs) == 1 && srcs[0] == "prometheus":
		s.Reason = "no /cpu/classes metrics via prometheus (client_golang's default Go collector exports none, and no MemStats GCCPUFraction)"
		s.Enable = "GC CPU from MemStats GCCPUFraction deltas would need expvar or net/http/pprof on the target; or register the Go collector with collectors.WithGoCollectorRuntimeMetrics(collectors.MetricsAll); or " + enableAgent
	default:
		s.Reason = "no GC CPU figure " + via + ": no /cpu/classes metrics, no estimate from MemStats GCCPUFraction and no CPU profile"
		s.Enable = enableAgent + "; or serve expvar or net/http/pprof (MemStats GCCPUFraction, CPU profiles)"
	}
	if c.in.Profiles.CPU == nil {
		s.Reason += "; no CPU profile to estimate it from the GC workers' share"
	}
	return s
}

// Live-heap estimation.

// limitBoundGoalShare: a heap goal at 80 % of the memory limit or more is
// likely set by the limit (the limit's goal is the limit minus the
// runtime's other memory and 3 % headroom, runtime/mgcpacer.go), where the
// GOGC formula does not hold, so no live heap is estimated from it
// (heuristic).
const limitBoundGoalShare = 0.8

// liveHeap returns the window's live-heap values, their source, and
// whether they are estimates; none when neither /gc/heap/live nor an
// estimate exists.
func (c *check) liveHeap(w window) (vals []float64, source string, estimated bool) {
	if v := w.values(session.HeapLive); len(v) > 0 {
		o, est := c.origin(session.HeapLive)
		return v, o, est
	}
	fallback, hasFallback := c.gogc()
	for _, p := range w.pts {
		goal, ok := p.Values[session.HeapGoal]
		if !ok || goal <= 0 {
			continue
		}
		gogc := fallback
		if v, ok := p.Values[session.GOGC]; ok {
			gogc = gogcOf(v)
		} else if !hasFallback {
			continue
		}
		if gogc < 0 {
			continue
		}
		if lim, ok := p.Values[session.GOMEMLIMIT]; ok && lim > 0 && lim < noLimit && goal >= limitBoundGoalShare*lim {
			continue
		}
		g := float64(gogc) / 100
		roots := p.Values[metricScanStack] + p.Values[metricScanGlobals]
		if live := (goal - roots*g) / (1 + g); live > 0 {
			vals = append(vals, live)
		}
	}
	if len(vals) == 0 {
		return nil, "", false
	}
	return vals, "estimate: /gc/heap/goal ÷ (1 + GOGC/100), the GC guide's heap target solved for the live heap (no /gc/heap/live " + c.via() + ")", true
}

// lastLive is the newest live-heap value, with its source.
func (c *check) lastLive() (v float64, source string, estimated, ok bool) {
	vals, src, est := c.liveHeap(c.w)
	if len(vals) == 0 {
		return 0, "", false, false
	}
	return vals[len(vals)-1], src, est, true
}

// liveMissing says why there is no live-heap figure.
func (c *check) liveMissing() Skip {
	g, ok := c.gogc()
	switch {
	case !ok:
		return Skip{Reason: "no live heap: no /gc/heap/live " + c.via() + ", and GOGC is unknown, so it cannot be estimated from the heap goal",
			Enable: enableAgent + "; or " + enablePID + " (GOGC from the environment)"}
	case g < 0:
		return Skip{Reason: "no live heap: no /gc/heap/live " + c.via() + ", and with GOGC=off the heap goal says nothing about it", Enable: enableAgent}
	}
	if c.has(session.HeapGoal) {
		return Skip{Reason: fmt.Sprintf("no live heap: no /gc/heap/live %s, and the heap goal is at %s of GOMEMLIMIT or more, where the limit, not GOGC, sets it", c.via(), pct(limitBoundGoalShare)),
			Enable: enableAgent}
	}
	return Skip{Reason: "no live heap: no /gc/heap/live and no heap goal to estimate it from " + c.via(), Enable: enableAgent}
}

// gogcOf reads /gc/gogc:percent (off is the maximum uint64).
func gogcOf(v float64) int {
	if v >= 1<<63 || v < 0 || math.IsInf(v, 0) {
		return -1
	}
	return int(v)
}
