package session

import "time"

// Names of the figures derived from two consecutive samples. Like metric
// names they carry their unit after the colon.
const (
	AllocRate      = "alloc-rate:bytes/s"
	AllocObjRate   = "alloc-rate:objects/s"
	GCRate         = "gc-rate:cycles/s"
	GCCPU          = "gc-cpu:fraction"        // GC CPU paid (total − idle marking) / total available CPU (GOMAXPROCS × wall)
	GCCPUIdle      = "gc-cpu-idle:fraction"   // idle-priority GC marking / total available CPU
	GCAssistCPU    = "gc-assist-cpu:fraction" // mark assist CPU / total available CPU
	PauseP50       = "gc-pause-p50:seconds"
	PauseP99       = "gc-pause-p99:seconds"
	SchedLatP50    = "sched-latency-p50:seconds"
	SchedLatP99    = "sched-latency-p99:seconds"
	ProcessCPUFrac = "cpu:cores" // process CPU seconds per wall second (1 = one core busy)
	MutexWaitRate  = "mutex-wait:seconds/s"
)

// GCCPUWindow is how far back GC CPU fractions look. The runtime updates
// the /cpu/classes metrics only when a GC cycle ends (runtime/metrics docs:
// "an estimate ... updated at GC time"), so a 1 s delta is often 0/0; over
// this window the figure averages the cycles that ended in it.
const GCCPUWindow = 10 * time.Second

// Derive computes rates and interval quantiles from two samples of the same
// target, prev taken before cur; base, if not nil, is an older sample (about
// GCCPUWindow before cur) for the GC CPU fractions. A figure is absent when
// a sample lacks its inputs, when time did not advance, or when a counter
// went backwards (the target restarted): no figure is better than a wrong one.
func Derive(prev, cur, base *Sample) map[string]float64 {
	d := make(map[string]float64, 12)
	if prev == nil || cur == nil {
		return d
	}
	wall := cur.Time.Sub(prev.Time).Seconds()
	if wall <= 0 {
		return d
	}
	delta := func(name string) (float64, bool) {
		a, ok1 := prev.Values[name]
		b, ok2 := cur.Values[name]
		if !ok1 || !ok2 || b < a {
			return 0, false
		}
		return b - a, true
	}
	rate := func(out, in string) {
		if v, ok := delta(in); ok {
			d[out] = v / wall
		}
	}
	rate(AllocRate, HeapAllocsBytes)
	rate(AllocObjRate, HeapAllocsObjs)
	rate(GCRate, GCCycles)
	rate(ProcessCPUFrac, ProcessCPU)
	rate(MutexWaitRate, MutexWait)
	if base == nil {
		base = prev
	}
	since := func(name string) (float64, bool) {
		a, ok1 := base.Values[name]
		b, ok2 := cur.Values[name]
		if !ok1 || !ok2 || b < a {
			return 0, false
		}
		return b - a, true
	}
	if total, ok := since(CPUTotal); ok && total > 0 {
		if gc, ok := since(CPUGCTotal); ok {
			d[GCCPU] = gc / total
		}
		if as, ok := since(CPUGCAssist); ok {
			d[GCAssistCPU] = as / total
		}
	}
	quantiles := func(name string, p50, p99 string) bool {
		h, ok := cur.Histograms[name]
		if !ok {
			return false
		}
		iv := h.Sub(prev.Histograms[name])
		if iv == nil {
			return true // layout changed or restarted: no figure this interval
		}
		if v, ok := iv.Quantile(0.50); ok {
			d[p50] = v
		}
		if v, ok := iv.Quantile(0.99); ok {
			d[p99] = v
		}
		return true
	}
	if !quantiles(PausesGC, PauseP50, PauseP99) {
		quantiles(PausesGCOld, PauseP50, PauseP99)
	}
	quantiles(SchedLatencies, SchedLatP50, SchedLatP99)
	return d
}
