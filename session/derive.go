package session

import (
	"fmt"
	"math"
	"time"
)

// Names of the figures derived from two consecutive samples. Like metric
// names they carry their unit after the colon.
const (
	AllocRate    = "alloc-rate:bytes/s"
	AllocObjRate = "alloc-rate:objects/s"
	GCRate       = "gc-rate:cycles/s"
	// GCCPU is the GC CPU actually paid as a fraction of GOMAXPROCS × wall:
	// /cpu/classes/gc/total − /cpu/classes/gc/mark/idle (the runtime/metrics
	// docs: idle marking runs on Ps that had nothing else to do, so it is
	// subtracted for the GC's cost), else estimated from MemStats
	// GCCPUFraction (which leaves idle marking out the same way). See
	// DeriveWithOrigins.
	GCCPU = "gc-cpu:fraction"
	// GCCPUIdle is idle-priority marking, apart: fraction of GOMAXPROCS × wall.
	GCCPUIdle = "gc-cpu-idle:fraction"
	// GCCPUCores is GCCPU in the unit of ProcessCPUFrac: CPU seconds per
	// wall second (GCCPU × GOMAXPROCS).
	GCCPUCores = "gc-cpu:cores"
	// GCCPUExceedsOS is 1 when the runtime's own GC CPU figure over the
	// window is more than the process CPU the OS measured over the same
	// window (see gcExceedsOS), 0 when it is not, absent when either is
	// unknown.
	GCCPUExceedsOS = "gc-cpu-exceeds-os:flag"
	GCAssistCPU    = "gc-assist-cpu:fraction" // mark assist CPU / total available CPU
	PauseP50       = "gc-pause-p50:seconds"
	PauseP99       = "gc-pause-p99:seconds"
	SchedLatP50    = "sched-latency-p50:seconds"
	SchedLatP99    = "sched-latency-p99:seconds"
	ProcessCPUFrac = "cpu:cores"    // process CPU seconds per wall second (1 = one core busy)
	ProcessCPUGo   = "cpu:fraction" // process CPU / (GOMAXPROCS × wall), GCCPU's unit
	MutexWaitRate  = "mutex-wait:seconds/s"
)

// GCCPUWindow is how far back GC CPU fractions look. The runtime updates
// the /cpu/classes metrics only when a GC cycle ends (runtime/metrics docs:
// "an estimate ... updated at GC time"), so a 1 s delta is often 0/0; over
// this window the figure averages the cycles that ended in it. MemStats'
// GCCPUFraction is likewise as of the last cycle's end.
const GCCPUWindow = 10 * time.Second

// Tolerance of GCCPUExceedsOS: /proc counts CPU in 10 ms ticks, and the
// runtime's figures move at GC ends, so small excesses are noise.
const (
	exceedsOSSlackSeconds = 0.05
	exceedsOSSlackShare   = 0.10
)

// Derive computes rates and interval quantiles from two samples of the same
// target, prev taken before cur; base, if not nil, is an older sample (about
// GCCPUWindow before cur) for the GC CPU fractions. A figure is absent when
// a sample lacks its inputs, when time did not advance, or when a counter
// went backwards (the target restarted): no figure is better than a wrong one.
func Derive(prev, cur, base *Sample) map[string]float64 {
	d, _ := DeriveWithOrigins(prev, cur, base)
	return d
}

// DeriveWithOrigins is Derive with where each figure came from, by name:
// the inputs' origins and the method; an estimate's origin starts with
// "estimate: ".
//
// GC CPU, by the first method whose inputs the samples hold:
//
//  1. /cpu/classes (agent, client_golang with runtime metrics): GCCPU =
//     Δ(gc/total − gc/mark/idle) ÷ Δtotal, GCCPUIdle = Δgc/mark/idle ÷
//     Δtotal, over base..cur.
//  2. MemStats (expvar, pprof heap?debug=1, gops memstats): GCCPUFraction
//     is the paid GC CPU since the start over GOMAXPROCS × (LastGC −
//     start), so the paid GC CPU per P up to the last cycle is
//     GCCPUFraction × (LastGC − start), and GCCPU = its delta over
//     base..cur ÷ the wall time between them (GOMAXPROCS cancels when it
//     did not change). An estimate: it needs the process's start time, and
//     GOMAXPROCS changes inside the window skew it. No idle figure.
//  3. Otherwise absent (a CPU profile's GC workers are the advisor's).
func DeriveWithOrigins(prev, cur, base *Sample) (map[string]float64, map[string]string) {
	d := make(map[string]float64, 16)
	o := make(map[string]string, 16)
	if prev == nil || cur == nil {
		return d, o
	}
	wall := cur.Time.Sub(prev.Time).Seconds()
	if wall <= 0 {
		return d, o
	}
	delta := func(a, b *Sample, name string) (float64, bool) {
		x, ok1 := a.Values[name]
		y, ok2 := b.Values[name]
		if !ok1 || !ok2 || y < x {
			return 0, false
		}
		return y - x, true
	}
	rate := func(out, in string) {
		if v, ok := delta(prev, cur, in); ok {
			d[out] = v / wall
			o[out] = "Δ " + in + " ÷ wall" + from(cur, in)
		}
	}
	rate(AllocRate, HeapAllocsBytes)
	rate(AllocObjRate, HeapAllocsObjs)
	rate(GCRate, GCCycles)
	rate(ProcessCPUFrac, ProcessCPU)
	rate(MutexWaitRate, MutexWait)
	if c, ok := d[ProcessCPUFrac]; ok {
		if p, ok := cur.Values[GOMAXPROCS]; ok && p > 0 {
			d[ProcessCPUGo] = c / p
			o[ProcessCPUGo] = "cpu:cores ÷ GOMAXPROCS" + from(cur, GOMAXPROCS)
		}
	}
	if base == nil {
		base = prev
	}
	deriveGCCPU(base, cur, d, o, delta)

	quantiles := func(name string, p50, p99 string) bool {
		h, ok := cur.Histograms[name]
		if !ok {
			return false
		}
		iv := h.Sub(prev.Histograms[name])
		if iv == nil {
			return true // layout changed or restarted: no figure this interval
		}
		src := "quantile of the interval's " + name + " histogram" + from(cur, name)
		if v, ok := iv.Quantile(0.50); ok {
			d[p50], o[p50] = v, src
		}
		if v, ok := iv.Quantile(0.99); ok {
			d[p99], o[p99] = v, src
		}
		return true
	}
	if !quantiles(PausesGC, PauseP50, PauseP99) {
		quantiles(PausesGCOld, PauseP50, PauseP99)
	}
	quantiles(SchedLatencies, SchedLatP50, SchedLatP99)
	return d, o
}

// from is " (origin)" for the named metric of s, or "".
func from(s *Sample, name string) string {
	if o := s.Origins[name]; o != "" {
		return " (" + o + ")"
	}
	return ""
}

func deriveGCCPU(base, cur *Sample, d map[string]float64, o map[string]string, delta func(a, b *Sample, name string) (float64, bool)) {
	span := cur.Time.Sub(base.Time).Seconds()
	if span <= 0 {
		return
	}
	window := fmt.Sprintf(" over %s", cur.Time.Sub(base.Time).Round(time.Second))
	var gcSeconds float64 // the runtime's GC CPU over the window, for the OS check
	haveGCSeconds := false
	gcOrigin := ""
	if total, ok := delta(base, cur, CPUTotal); ok && total > 0 {
		if gc, ok := delta(base, cur, CPUGCTotal); ok {
			idle, okIdle := delta(base, cur, CPUGCIdle)
			src := from(cur, CPUGCTotal)
			if okIdle {
				d[GCCPU] = max(gc-idle, 0) / total
				o[GCCPU] = "(Δ/cpu/classes/gc/total − Δ/cpu/classes/gc/mark/idle) ÷ Δ/cpu/classes/total" + window + src
				d[GCCPUIdle] = idle / total
				o[GCCPUIdle] = "Δ/cpu/classes/gc/mark/idle ÷ Δ/cpu/classes/total" + window + src
			} else {
				d[GCCPU] = gc / total
				o[GCCPU] = "Δ/cpu/classes/gc/total ÷ Δ/cpu/classes/total" + window + src + "; no /cpu/classes/gc/mark/idle: idle marking included"
			}
			d[GCCPUCores] = d[GCCPU] * total / span
			o[GCCPUCores] = "gc-cpu:fraction × Δ/cpu/classes/total ÷ wall" + window
			gcSeconds, haveGCSeconds, gcOrigin = gc, true, "/cpu/classes/gc/total"
		}
		if as, ok := delta(base, cur, CPUGCAssist); ok {
			d[GCAssistCPU] = as / total
			o[GCAssistCPU] = "Δ/cpu/classes/gc/mark/assist ÷ Δ/cpu/classes/total" + window + from(cur, CPUGCAssist)
		}
	} else if paid, ok := memStatsGCPaid(base, cur); ok {
		d[GCCPU] = paid / span
		o[GCCPU] = EstimatePrefix + "Δ(MemStats GCCPUFraction × (LastGC − process start)) ÷ wall" + window +
			"; GCCPUFraction" + from(cur, MemStatsGCCPUFraction) + ", start" + from(cur, ProcessStart)
		if p, ok := cur.Values[GOMAXPROCS]; ok && p > 0 {
			if pb, ok := base.Values[GOMAXPROCS]; !ok || pb == p {
				d[GCCPUCores] = d[GCCPU] * p
				o[GCCPUCores] = EstimatePrefix + "gc-cpu:fraction × GOMAXPROCS" + from(cur, GOMAXPROCS)
				gcSeconds, haveGCSeconds, gcOrigin = paid*p, true, "MemStats GCCPUFraction"
			}
		}
	}
	if !haveGCSeconds {
		return
	}
	if osCPU, ok := delta(base, cur, ProcessCPU); ok {
		if gcExceedsOS(gcSeconds, osCPU) {
			d[GCCPUExceedsOS] = 1
			o[GCCPUExceedsOS] = fmt.Sprintf("the runtime's GC CPU (%s) is %.2f cpu-seconds%s, more than the %.2f the OS measured for the whole process%s: the runtime counts the wall time its GC workers hold a P, not CPU the OS gave them (a throttled cgroup or a busy host); read GC CPU as an upper bound",
				gcOrigin, gcSeconds, window, osCPU, from(cur, ProcessCPU))
		} else {
			d[GCCPUExceedsOS] = 0
			o[GCCPUExceedsOS] = fmt.Sprintf("the runtime's GC CPU (%s, %.2f cpu-seconds%s) is within the process CPU the OS measured (%.2f)%s",
				gcOrigin, gcSeconds, window, osCPU, from(cur, ProcessCPU))
		}
	}
}

// gcExceedsOS: the runtime's GC CPU exceeds the OS's process CPU by more
// than measurement noise.
func gcExceedsOS(gcSeconds, osSeconds float64) bool {
	return gcSeconds > osSeconds*(1+exceedsOSSlackShare)+exceedsOSSlackSeconds
}

// GCPaidPerP is the GC CPU paid since the process started, per P, up to
// the end of the last GC cycle, from MemStats: GCCPUFraction × (LastGC −
// start), in seconds. The runtime computes GCCPUFraction at the end of
// each cycle as (GC total − idle marking) ÷ (GOMAXPROCS × time since
// start) (runtime/mgc.go), so this is that numerator ÷ GOMAXPROCS.
func GCPaidPerP(s *Sample) (float64, bool) {
	f, ok1 := s.Values[MemStatsGCCPUFraction]
	last, ok2 := s.Values[MemStatsLastGC]
	start, ok3 := s.Values[ProcessStart]
	if !ok1 || !ok2 || !ok3 || start <= 0 {
		return 0, false
	}
	if last <= 0 { // no GC yet
		return 0, true
	}
	return f * max(last-start, 0), true
}

// memStatsGCPaid is the GC CPU paid per P between base and cur, from
// MemStats; false across a restart or when an input is missing.
func memStatsGCPaid(base, cur *Sample) (float64, bool) {
	if base.Values[ProcessStart] != cur.Values[ProcessStart] {
		return 0, false
	}
	if n0, ok := base.Values[GCCycles]; ok {
		if n1, ok := cur.Values[GCCycles]; ok && n1 < n0 {
			return 0, false
		}
	}
	a, ok1 := GCPaidPerP(base)
	b, ok2 := GCPaidPerP(cur)
	if !ok1 || !ok2 {
		return 0, false
	}
	// An error ε in the start time (the runtime's clock starts a few ms
	// after exec; /proc counts in 10 ms ticks) shifts the difference by
	// ε × ΔGCCPUFraction, which is not small only while a young process's
	// fraction still falls fast. A difference more negative than that
	// allows (startErrorBound) means the inputs do not belong together.
	df := math.Abs(cur.Values[MemStatsGCCPUFraction] - base.Values[MemStatsGCCPUFraction])
	if b < a-df*startErrorBound-1e-6 {
		return 0, false
	}
	return max(b-a, 0), true
}

// startErrorBound bounds the error of a process start time from /proc or
// the agent, in seconds (see memStatsGCPaid).
const startErrorBound = 0.05

// GCCPUBetween is the GC CPU paid between two samples of one target as a
// fraction of GOMAXPROCS × wall, by the methods of DeriveWithOrigins, with
// its origin; for spans other than GCCPUWindow (the advisor's segments).
func GCCPUBetween(a, b *Sample) (float64, string, bool) {
	if a == nil || b == nil || !b.Time.After(a.Time) {
		return 0, "", false
	}
	d, o := make(map[string]float64), make(map[string]string)
	deriveGCCPU(a, b, d, o, func(x, y *Sample, name string) (float64, bool) {
		p, ok1 := x.Values[name]
		q, ok2 := y.Values[name]
		if !ok1 || !ok2 || q < p {
			return 0, false
		}
		return q - p, true
	})
	v, ok := d[GCCPU]
	return v, o[GCCPU], ok
}

// GCCPUCoresOf is a point's GC CPU paid in cores (every CPU figure's unit):
// the derived figure, else, for points recorded before it existed, the
// fraction of GOMAXPROCS × wall times GOMAXPROCS.
func GCCPUCoresOf(p *Point) (float64, bool) {
	if v, ok := p.Derived[GCCPUCores]; ok {
		return v, true
	}
	f, ok1 := p.Derived[GCCPU]
	procs, ok2 := p.Values[GOMAXPROCS]
	return f * procs, ok1 && ok2
}
