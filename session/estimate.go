package session

import (
	"fmt"
	"math"
)

// GOGCOff is the smallest /gc/gogc:percent reading that means GOGC=off:
// the runtime reports gcPercent −1 as a uint64, the maximum uint64.
const GOGCOff = 1 << 62

// limitBindingShare: when the process's Go memory is at least this share of
// GOMEMLIMIT, the memory limit may be what sets the heap goal (the GC
// guide, "Memory limit": the goal is then the limit minus the non-heap
// memory), and the GOGC formula no longer holds.
const limitBindingShare = 0.8

// HeapLiveInput is what EstimateHeapLive reads, with where each came from.
type HeapLiveInput struct {
	Goal, GOGC         float64
	GoalFrom, GOGCFrom string  // origins, for the estimate's own
	MemoryLimit        float64 // GOMEMLIMIT; ≤ 0 or ≥ math.MaxInt64/2 when none
	MemoryTotal        float64 // the Go runtime's mapped memory (MemStats.Sys); 0 when unknown
}

// EstimateHeapLive estimates the live heap from the heap goal and GOGC with
// the GC guide's formula, "Target heap memory = Live heap + (Live heap + GC
// roots) × GOGC/100" (https://go.dev/doc/gc-guide#GOGC), the GC roots
// left out because MemStats does not report them: live = goal ÷ (1 +
// GOGC/100). Leaving the roots out overstates live by at most roots ×
// GOGC/(100+GOGC). A memory limit near the Go memory may set the goal
// instead (the GC guide, "Memory limit"), and GOGC=off leaves only the
// limit: then there is no estimate. It returns the estimate and its
// origin, or ok false and why there is none.
func EstimateHeapLive(in HeapLiveInput) (live float64, origin string, ok bool) {
	goal, gogc := in.Goal, in.GOGC
	switch {
	case goal <= 0 || math.IsNaN(goal) || math.IsInf(goal, 0):
		return 0, "no heap goal", false
	case gogc < 0 || gogc >= GOGCOff:
		return 0, "GOGC=off: the heap goal comes from the memory limit, not from the live heap", false
	case in.MemoryLimit > 0 && in.MemoryLimit < math.MaxInt64/2 && in.MemoryTotal >= limitBindingShare*in.MemoryLimit:
		return 0, fmt.Sprintf("the Go memory (%.0f B) is near GOMEMLIMIT (%.0f B): the limit may set the heap goal", in.MemoryTotal, in.MemoryLimit), false
	}
	live = goal / (1 + gogc/100)
	origin = fmt.Sprintf("%sheap goal (%s) ÷ (1 + GOGC/100), GOGC=%g (%s); GC roots not counted", EstimatePrefix, in.GoalFrom, gogc, in.GOGCFrom)
	return live, origin, true
}
