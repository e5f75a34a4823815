package advisor

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/session"
)

var goroutineRules = []rule{
	{ID: "goroutine-leak", Area: AreaRuntime, Title: "The goroutine count grows steadily: a leak (names the growing group)",
		Source: srcGoroutineLeak, MinSamples: MinSamplesTrend, check: checkGoroutineLeak},
	{ID: "mutex-wait-high", Area: AreaRuntime, Title: "Goroutines spend much time waiting on mutexes (and how to enable the mutex profile)",
		Source: srcMutexProfile, MinSamples: MinSamplesRate, check: checkMutexWait},
	{ID: "finalizer-backlog", Area: AreaRuntime, Title: "Finalizers or cleanups queue up faster than they run",
		Source: srcFinalizers, MinSamples: MinSamplesRate, check: checkFinalizers},
}

// trend fits a least-squares line to a series against time and returns the
// slope per second and R².
func trend(pts []session.Point, name string) (slope, r2 float64, n int) {
	var xs, ys []float64
	t0 := pts[0].Time
	for _, p := range pts {
		if v, ok := p.Values[name]; ok {
			xs = append(xs, p.Time.Sub(t0).Seconds())
			ys = append(ys, v)
		}
	}
	n = len(xs)
	if n < 3 {
		return 0, 0, n
	}
	mx, my := statsOf(xs).mean, statsOf(ys).mean
	var sxy, sxx, syy float64
	for i := range xs {
		sxy += (xs[i] - mx) * (ys[i] - my)
		sxx += (xs[i] - mx) * (xs[i] - mx)
		syy += (ys[i] - my) * (ys[i] - my)
	}
	if sxx == 0 {
		return 0, 0, n
	}
	slope = sxy / sxx
	if syy > 0 {
		r2 = sxy * sxy / (sxx * syy)
	}
	return slope, r2, n
}

// minLeakR2: a leak grows steadily; bursty counts (a pool scaling with load)
// fit a line poorly (heuristic).
const minLeakR2 = 0.8

// groupKey identifies a goroutine group across two profiles by its stack.
func groupKey(g profile.GoroutineGroup) string {
	var b strings.Builder
	for _, f := range g.Frames {
		fmt.Fprintf(&b, "%s:%d;", f.Func, f.Line)
	}
	return b.String()
}

// growingGroup returns the group whose count grew the most between the two
// goroutine profiles.
func growingGroup(start, end []profile.GoroutineGroup) (profile.GoroutineGroup, int, bool) {
	before := map[string]int{}
	for _, g := range start {
		before[groupKey(g)] += g.Count
	}
	var best profile.GoroutineGroup
	grew := 0
	for _, g := range end {
		if d := g.Count - before[groupKey(g)]; d > grew {
			best, grew = g, d
		}
	}
	return best, grew, grew > 0
}

// userFrame returns the innermost frame outside the runtime and standard
// blocking primitives: where the goroutine waits in the program's code.
func userFrame(g profile.GoroutineGroup) profile.Frame {
	for _, f := range g.Frames {
		if !strings.HasPrefix(f.Func, "runtime.") && !strings.HasPrefix(f.Func, "sync.") && !strings.HasPrefix(f.Func, "internal/") {
			return f
		}
	}
	if len(g.Frames) > 0 {
		return g.Frames[0]
	}
	return profile.Frame{Func: "?"}
}

func checkGoroutineLeak(c *check) *Finding {
	_, _, first, last, ok := c.w.endpoints(session.Goroutines)
	if !ok {
		c.cannot("no goroutine count "+c.via()+" (/sched/goroutines, go_goroutines, the goroutine profile's total)", enableAgent+"; or "+enablePprof)
		return nil
	}
	slope, r2, n := trend(c.w.pts, session.Goroutines)
	// Growth along the fitted line, not last − first: a transient goroutine
	// (a profile being served) at either end must not decide.
	grown := slope * c.w.seconds()
	if grown < float64(c.cfg.GoroutineGrowth) || slope <= 0 || r2 < minLeakR2 {
		return nil
	}
	f := &Finding{Severity: Warn, Title: fmt.Sprintf("Goroutines grow steadily, %s → %s (+%.1f per minute): a goroutine leak", fmt.Sprint(first), fmt.Sprint(last), slope*60)}
	f.Evidence = []Evidence{
		c.evm("goroutines", session.Goroutines, last, "goroutines", fmt.Sprintf("%.0f → %.0f (+%.0f along the fitted line)", first, last, grown)),
		c.ev("growth", slope*60, "goroutines/min", fmt.Sprintf("+%.1f per minute, R² %.2f over %d samples", slope*60, r2, n), "least-squares fit of "+session.Goroutines),
	}
	act := Action{Kind: ActionCode, Text: "find the goroutines that never return: gotune goroutines URL groups them by stack", Note: "a goroutine waiting on a channel nobody sends to, or without a context to cancel it"}
	if g, d, ok := growingGroup(c.in.Profiles.GoroutinesStart, c.in.Profiles.GoroutinesEnd); ok {
		u := userFrame(g)
		where := u.Func
		if u.File != "" {
			where += fmt.Sprintf(" (%s:%d)", u.File, u.Line)
		}
		state := ""
		if g.State != "" {
			state = ", state " + g.State
		}
		f.Evidence = append(f.Evidence, fact("growing group", float64(d), "goroutines", fmt.Sprintf("+%d in %s (%d now%s)", d, where, g.Count, state), "goroutine profiles at the start and end of the window"))
		f.Title += " in " + u.Func
		act = Action{Kind: ActionCode, Text: fmt.Sprintf("make %s return: give it a context or a timeout, or make sure its sender always replies", u.Func),
			Note: fmt.Sprintf("it waits at %s", where)}
	} else if c.in.Profiles.GoroutinesEnd == nil {
		c.partly("no goroutine profiles, so the growing group is not named", "fetch goroutine profiles ("+enablePprof+")")
	}
	f.Action = act
	f.Predicted = &Prediction{Text: fmt.Sprintf("the count stops growing; today it adds about %.0f goroutines (and their stacks and what they hold) per hour", slope*3600),
		Metric: "goroutine-growth", Unit: "goroutines/min", Low: 0, High: 0}
	f.Confidence = High
	if r2 < 0.95 {
		f.Confidence = Medium
	}
	return f
}

func checkMutexWait(c *check) *Finding {
	d, s, ok := c.w.delta(session.MutexWait)
	if !ok {
		if !c.has(session.MutexWait) {
			c.cannot("no mutex wait figure "+c.via()+" (/sync/mutex/wait/total)", enableAgent)
		}
		return nil // or the counter went backwards: the target restarted
	}
	if s <= 0 {
		return nil
	}
	rate := d / s
	if rate < c.cfg.MutexWait {
		return nil
	}
	f := &Finding{Severity: Info, Title: fmt.Sprintf("Goroutines wait %s per second on mutexes", secs(rate))}
	if rate >= 1 {
		f.Severity = Warn
		f.Title = fmt.Sprintf("Goroutines wait %.1f goroutine-seconds per second on mutexes: at any moment about %.0f are blocked", rate, rate)
	}
	mo, _ := c.origin(session.MutexWait)
	f.Evidence = []Evidence{c.ev("mutex wait", rate, "seconds/s", fmt.Sprintf("%s per second", secs(rate)), mo+" (sync.Mutex, sync.RWMutex and runtime-internal locks)")}
	// Rising: the second half's rate against the first's.
	half := len(c.w.pts) / 2
	if half >= 2 {
		a, sa, ok1 := newWindow(c.w.pts[:half+1]).delta(session.MutexWait)
		b, sb, ok2 := newWindow(c.w.pts[half:]).delta(session.MutexWait)
		if ok1 && ok2 && sa > 0 && sb > 0 {
			f.Evidence = append(f.Evidence, c.ev("trend", b/sb-a/sa, "seconds/s", fmt.Sprintf("%s/s in the first half, %s/s in the second", secs(a/sa), secs(b/sb)), mo))
		}
	}
	mp := c.in.Profiles.Mutex
	if mp == nil || mp.NumSamples() == 0 {
		f.Action = Action{Kind: ActionCode, Text: "runtime.SetMutexProfileFraction(5)",
			Note: "at start-up: samples 1 in 5 contention events (the mutex profile is off by default), then gotune top " + c.arg() + " --kind mutex names the lock holders"}
		f.Predicted = &Prediction{Text: "the mutex profile names the functions holding the contended locks; overhead stays negligible at 1 in 5"}
		f.Confidence = Medium
		return f
	}
	rows, total := attribute(mp, "delay", func(fn string) bool { return strings.HasPrefix(fn, "sync.") || strings.HasPrefix(fn, "internal/sync.") })
	if len(rows) > 0 && total > 0 {
		r := rows[0]
		share := float64(r.Value) / float64(total)
		f.Evidence = append(f.Evidence, fact("contended in "+r.Name, share, "fraction", pct(share)+" of mutex delay", "mutex profile, delay, by innermost frame outside runtime and sync"))
		f.Action = Action{Kind: ActionCode, Text: fmt.Sprintf("shorten or split the critical section in %s", r.Name),
			Note: "do no I/O or slow calls while holding the lock; shard the state or use a RWMutex or atomics"}
		f.Predicted = &Prediction{Text: fmt.Sprintf("mutex wait falls by up to %s of today's %s/s", pct(share), secs(rate)),
			Metric: "mutex-wait", Unit: "seconds/s", Low: rate * (1 - share), High: rate}
		f.Confidence = Medium
		return f
	}
	f.Action = Action{Kind: ActionCommand, Text: "gotune top " + c.arg() + " --kind mutex", Note: "the mutex profile names where contended locks are released"}
	f.Predicted = &Prediction{Text: "finding the lock holders is the first step; wait falls with the critical section"}
	f.Confidence = Low
	return f
}

func checkFinalizers(c *check) *Finding {
	backlog := func(p session.Point) (float64, bool) {
		q, ok1 := p.Values[session.FinalizersQueued]
		e, ok2 := p.Values[session.FinalizersExecuted]
		cq, ok3 := p.Values[metricCleanupsQueued]
		ce, ok4 := p.Values[metricCleanupsRun]
		if !(ok1 && ok2) && !(ok3 && ok4) {
			return 0, false
		}
		return (q - e) + (cq - ce), true
	}
	start, ok1 := backlog(c.w.pts[0])
	end, ok2 := backlog(c.w.pts[len(c.w.pts)-1])
	if !ok1 || !ok2 {
		if !slices.ContainsFunc(c.w.pts, func(p session.Point) bool { _, ok := backlog(p); return ok }) {
			c.cannot("no finalizer or cleanup queue figures "+c.via()+" (/gc/finalizers/*, /gc/cleanups/*, Go ≥1.25)", enableAgent)
		}
		return nil
	}
	if end < c.cfg.FinalizerBacklog || end <= start {
		return nil
	}
	f := &Finding{Severity: Warn, Title: fmt.Sprintf("%.0f finalizers and cleanups wait to run, up from %.0f: the one goroutine that runs them falls behind", end, start)}
	f.Evidence = []Evidence{c.ev("queued − executed", end, "count", fmt.Sprintf("%.0f → %.0f", start, end),
		session.FinalizersQueued+" − "+session.FinalizersExecuted+" + "+metricCleanupsQueued+" − "+metricCleanupsRun)}
	f.Action = Action{Kind: ActionCode, Text: "make finalizers and cleanups quick (no blocking, no I/O); release resources explicitly with Close instead",
		Note: "a CPU or goroutine profile shows runtime.runFinalizers or runtime.runCleanups and what they call"}
	f.Predicted = &Prediction{Text: "the backlog drains and the memory it holds is freed", Metric: "finalizer-backlog", Unit: "count", Low: 0, High: c.cfg.FinalizerBacklog}
	f.Confidence = Medium
	return f
}
