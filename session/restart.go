package session

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Restart says the target restarted: the point that carries it is the
// first one read from the new process, and no figure of that point is
// derived from the points before it (they belong to another process).
type Restart struct {
	// At is when gotune first read the new process (the marked point's
	// time).
	At time.Time
	// The process before and after; 0 or zero when unknown.
	FromPID, ToPID     int
	FromStart, ToStart time.Time
	// Why says how it was detected, for people: "the agent's pid changed",
	// "/process/start changed", "counters went backwards (GC cycles 412 →
	// 3)", "another process listens on :6060".
	Why string
}

// String is the status line's text: "target restarted at 15:04:05 (PID
// 4242 → 4250)", with the start times when the PIDs are unknown or the
// same (a container's PID 1), else how it was seen.
func (r Restart) String() string {
	s := "target restarted at " + r.At.Local().Format("15:04:05")
	switch {
	case r.FromPID != 0 && r.ToPID != 0 && r.FromPID != r.ToPID:
		return s + fmt.Sprintf(" (PID %d → %d)", r.FromPID, r.ToPID)
	case r.ToPID != 0 && !r.ToStart.IsZero():
		return s + fmt.Sprintf(" (PID %d, started %s)", r.ToPID, r.ToStart.Local().Format("15:04:05"))
	case !r.FromStart.IsZero() && !r.ToStart.IsZero():
		return s + fmt.Sprintf(" (started %s, before %s)", r.ToStart.Local().Format("15:04:05"), r.FromStart.Local().Format("15:04:05"))
	case r.Why != "":
		return s + " (" + r.Why + ")"
	}
	return s
}

// StartTolerance is how far two readings of one process's start time may
// differ: the sources give it to the nanosecond (the agent), to a clock
// tick (/proc), or built on /proc/stat's whole-second boot time
// (client_golang's process_start_time_seconds), and a fused target may take
// it from one of them now and another later.
const StartTolerance = 1500 * time.Millisecond

// StartChanged reports whether two start times (Unix seconds) of a target
// name different processes.
func StartChanged(before, after float64) bool {
	return before > 0 && after > 0 && math.Abs(after-before) > StartTolerance.Seconds()
}

// resetCounters are cumulative counters that only a new process takes
// backwards.
var resetCounters = []struct{ name, label string }{
	{GCCycles, "GC cycles"},
	{HeapAllocsBytes, "bytes allocated"},
	{HeapAllocsObjs, "objects allocated"},
	{CPUTotal, "/cpu/classes/total"},
	{ProcessCPU, "process CPU seconds"},
}

// RestartBetween reports whether cur was read from another process than
// prev, from the samples alone, and says why: the process start time
// changed, or cumulative counters went backwards (MemStats NumGC and
// TotalAlloc too: expvar and pprof-only targets have no start time). A
// counter is compared only when both samples took it from the same
// origin, so a fused target falling back to another endpoint for a figure
// is not a restart. A start time that did not change outweighs a counter.
func RestartBetween(prev, cur *Sample) (string, bool) {
	if prev == nil || cur == nil {
		return "", false
	}
	a, okA := prev.Values[ProcessStart]
	b, okB := cur.Values[ProcessStart]
	if okA && okB && a > 0 && b > 0 {
		if StartChanged(a, b) {
			return fmt.Sprintf("the process start time changed (%s → %s)", unixClock(a), unixClock(b)), true
		}
		return "", false
	}
	var why []string
	for _, c := range resetCounters {
		x, ok1 := prev.Values[c.name]
		y, ok2 := cur.Values[c.name]
		if !ok1 || !ok2 || y >= x || prev.Origins[c.name] != cur.Origins[c.name] {
			continue
		}
		why = append(why, fmt.Sprintf("%s %s → %s", c.label, counterText(x), counterText(y)))
	}
	if len(why) == 0 {
		return "", false
	}
	return "counters went backwards (" + strings.Join(why, ", ") + ")", true
}

func unixClock(sec float64) string {
	return time.Unix(0, int64(sec*1e9)).Local().Format("15:04:05.000")
}

func counterText(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

// maxRestarts bounds the restarts a store remembers (a crash loop must not
// grow it without end); the points keep their own markers.
const maxRestarts = 64

// LastRestart is the newest restart the store saw, or nil.
func (s *Snapshot) LastRestart() *Restart {
	if s == nil || len(s.Restarts) == 0 {
		return nil
	}
	return &s.Restarts[len(s.Restarts)-1]
}

// RestartInPoints is the newest restart whose marked point is still among
// the snapshot's points (the status line says so while it is), or nil.
func (s *Snapshot) RestartInPoints() *Restart {
	if s == nil {
		return nil
	}
	for i := len(s.Points) - 1; i >= 0; i-- {
		if r := s.Points[i].Restart; r != nil {
			return r
		}
	}
	return nil
}

// Exited reports whether the target's process was found gone for good (a
// PID target: a PID names one process, and gotune does not follow another).
func (t Target) Exited() bool { return !t.ExitedAt.IsZero() }
