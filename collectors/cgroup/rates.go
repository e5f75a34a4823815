package cgroup

import "time"

// ThrottleRates are the throttling figures between two cpu.stat readings.
type ThrottleRates struct {
	// PeriodsPerSecond is how many enforcement periods elapsed per second
	// with runnable threads (10 per second at the default 100 ms period
	// when the cgroup is always busy).
	PeriodsPerSecond float64
	// ThrottledFraction is throttled periods / periods in the interval:
	// 0.2 means the quota ran out in one period in five.
	ThrottledFraction float64
	// ThrottledSeconds is throttled time per wall second. The kernel sums
	// it over per-CPU run queues, so it can exceed 1 (sched-bwc.rst).
	ThrottledSeconds float64
}

// Rates derives ThrottleRates from two readings taken wall apart. ok is
// false when time did not advance or a counter went backwards (the cgroup
// was recreated).
func Rates(prev, cur Throttling, wall time.Duration) (r ThrottleRates, ok bool) {
	if wall <= 0 || cur.Periods < prev.Periods || cur.Throttled < prev.Throttled || cur.Time < prev.Time {
		return ThrottleRates{}, false
	}
	sec := wall.Seconds()
	periods := cur.Periods - prev.Periods
	r.PeriodsPerSecond = float64(periods) / sec
	if periods > 0 {
		r.ThrottledFraction = float64(cur.Throttled-prev.Throttled) / float64(periods)
	}
	r.ThrottledSeconds = (cur.Time - prev.Time).Seconds() / sec
	return r, true
}

// CPURates returns the throttling rates of every level that reports
// throttling in both readings, keyed by cgroup path. Throttling is counted
// where the quota is enforced, so the level named by CPU.From is usually the
// one to look at.
func CPURates(prev, cur Stats) map[string]ThrottleRates {
	out := map[string]ThrottleRates{}
	if prev.CPU == nil || cur.CPU == nil || prev.PID != cur.PID {
		return out
	}
	wall := cur.ReadAt.Sub(prev.ReadAt)
	before := map[string]Throttling{}
	for _, l := range prev.CPU.Levels {
		if l.HasThrottling {
			before[l.Path] = l.Throttling
		}
	}
	for _, l := range cur.CPU.Levels {
		p, ok := before[l.Path]
		if !ok || !l.HasThrottling {
			continue
		}
		if r, ok := Rates(p, l.Throttling, wall); ok {
			out[l.Path] = r
		}
	}
	return out
}
