package advisor

import (
	"fmt"

	"github.com/gotune/gotune/session"
)

var gomemlimitRules = []rule{
	{ID: "memlimit-missing", Area: AreaGOMEMLIMIT, Title: "A container memory limit and no GOMEMLIMIT: set it to about 90% of the limit",
		Source: srcGCGuideSuggested, MinSamples: MinSamplesFacts, check: checkMemLimitMissing},
	{ID: "memlimit-too-tight", Area: AreaGOMEMLIMIT, Title: "The GC CPU limiter engages or GC CPU nears 50%: the memory limit is too tight (raise the container limit or lower GOGC; do not lower the limit)",
		Source: srcGCGuideMemLimit, MinSamples: MinSamplesGC, check: checkMemLimitTight},
	{ID: "live-heap-near-limit", Area: AreaGOMEMLIMIT, Title: "The live heap is close to the memory limit",
		Source: srcGCGuideSuggested, MinSamples: MinSamplesRate, check: checkLiveHeapNearLimit},
	{ID: "memlimit-mismatch", Area: AreaGOMEMLIMIT, Title: "GOMEMLIMIT no longer matches the container memory limit",
		Source: srcGCGuideSuggested, MinSamples: MinSamplesFacts, check: checkMemLimitMismatch},
}

// noCgroup records that the running rule needs the cgroup facts.
func (c *check) noCgroup() {
	c.cannot("no cgroup facts (a URL target's container limits are out of reach)", enablePID)
}

// noMemLimit records that GOMEMLIMIT is unknown.
func (c *check) noMemLimit() {
	c.cannot("GOMEMLIMIT is unknown: no /gc/gomemlimit:bytes "+c.via()+" (go_gc_gomemlimit_bytes) and no environment read", enableAgent+"; or "+enablePID)
}

// limitKnown reports whether the memory limit that applies is known:
// GOMEMLIMIT, or a container limit (which applies when GOMEMLIMIT is
// unset or larger).
func (c *check) limitKnown() bool {
	if _, ok := c.memLimit(); ok {
		return true
	}
	_, _, ok := c.containerMemLimit()
	return ok
}

// suggestedLimit is 90% (1 − headroom) of the container limit, in whole MiB.
func (c *check) suggestedLimit(container float64) float64 {
	return float64(mib(container*(1-c.cfg.MemoryHeadroom))) * (1 << 20)
}

// peakMemory is the most memory the Go runtime held in the window
// (/memory/classes/total − released, what GOMEMLIMIT counts), and the peak
// the model predicts at today's setting, whichever is larger.
func (c *check) peakMemory() (float64, bool) {
	var peak float64
	found := false
	for _, p := range c.w.pts {
		t, ok := p.Values[session.MemoryTotal]
		if !ok {
			continue
		}
		peak, found = max(peak, t-p.Values[metricHeapReleased]), true
	}
	if wi := c.whatIf(); wi != nil {
		if cur, ok := wi.Current(); ok {
			peak, found = max(peak, cur.PeakMemory.Value), true
		}
	}
	return peak, found
}

func checkMemLimitMissing(c *check) *Finding {
	container, from, ok := c.containerMemLimit()
	if !ok {
		if c.in.Facts.Cgroup == nil {
			c.noCgroup()
		}
		return nil
	}
	limit, ok := c.memLimit()
	if !ok {
		c.noMemLimit()
		return nil
	}
	if limit > 0 {
		return nil
	}
	sug := c.suggestedLimit(container)
	f := &Finding{Severity: Info, Title: fmt.Sprintf("The container may use %s but Go does not know: set GOMEMLIMIT=%s", bytes(container), limitString(sug))}
	peak, hasPeak := c.peakMemory()
	if hasPeak && peak > container/2 {
		f.Severity = Warn
		f.Title = fmt.Sprintf("Go memory peaks at %s of the %s container limit with no GOMEMLIMIT: a heap spike is an OOM kill", pct(peak/container), bytes(container))
	}
	f.Evidence = []Evidence{
		fact("cgroup memory limit", container, "bytes", bytes(container)+" on "+from, "memory.max / memory.limit_in_bytes"),
		c.settingEvidence("GOMEMLIMIT", session.GOMEMLIMIT, 0, "no limit"),
	}
	if hasPeak {
		f.Evidence = append(f.Evidence, c.ev("peak Go memory", peak, "bytes", bytes(peak), "/memory/classes/total − /memory/classes/heap/released, and the model's heap goal"))
	}
	f.Action = Action{Kind: ActionEnv, Text: "GOMEMLIMIT=" + limitString(sug), Note: "90% of the container limit: the guide's 5–10% headroom for memory Go does not count (cgo, mmap, the binary)"}
	f.Alternatives = []Action{{Kind: ActionCode, Text: fmt.Sprintf("debug.SetMemoryLimit(%d << 20)", mib(sug))}}
	f.Predicted = &Prediction{Text: fmt.Sprintf("no change while Go memory stays under %s; above it the GC runs more often instead of the kernel killing the process", bytes(sug)),
		Metric: "peak-memory", Unit: "bytes", High: sug}
	f.Confidence = High
	return f
}

func checkMemLimitTight(c *check) *Finding {
	limit, what := c.effectiveLimit()
	if limit <= 0 {
		if !c.limitKnown() {
			c.noMemLimit()
		}
		return nil
	}
	fig, hasCPU := c.gcCPU()
	frac := fig.Paid
	hasLimiter := c.has(session.LimiterLastEnabled)
	engaged := c.limiterEngaged()
	switch {
	case !hasCPU && !hasLimiter:
		if !c.noGCCost() {
			s := c.gcCPUMissing()
			s.Reason += "; and no /gc/limiter/last-enabled to see the GC CPU limiter engage"
			c.cannotSkip(s)
		}
		return nil
	case !hasLimiter:
		c.partly("no /gc/limiter/last-enabled "+c.via()+": whether the GC CPU limiter engaged is not known, only GC CPU is checked", enableAgent)
	}
	if !engaged && (!hasCPU || frac < c.cfg.LimiterNear) {
		return nil
	}
	f := &Finding{Severity: Warn, Title: fmt.Sprintf("The GC is fighting %s: GC CPU %s", what, pct(frac))}
	if engaged {
		f.Severity = Crit
		f.Title = fmt.Sprintf("The GC CPU limiter engaged: %s is too tight for this heap and the program is near thrashing", what)
	}
	if hasCPU {
		f.Evidence = append(f.Evidence, c.gcCPUEvidence(fig)...)
	}
	if engaged {
		v, _ := c.w.last(session.LimiterLastEnabled)
		f.Evidence = append(f.Evidence, c.evm("limiter last enabled", session.LimiterLastEnabled, v, "gc-cycle", fmt.Sprintf("GC cycle %.0f, inside the window", v)))
	}
	f.Evidence = append(f.Evidence, fact("memory limit", limit, "bytes", bytes(limit)+" ("+what+")", "GOMEMLIMIT / cgroup"))
	if live, src, est, ok := c.lastLive(); ok {
		f.Evidence = append(f.Evidence, Evidence{Name: "live heap", Value: live, Unit: "bytes", Text: bytes(live), Window: c.w.span, Source: src, Estimated: est})
	}
	if cl, _, ok := c.containerMemLimit(); ok {
		f.Action = Action{Kind: ActionCommand, Text: fmt.Sprintf("raise the container memory limit above %s, then GOMEMLIMIT to 90%% of the new limit", bytes(cl)),
			Note: "do not lower GOMEMLIMIT: that trades an OOM for a stall (GC guide, Suggested uses)"}
	} else {
		f.Action = Action{Kind: ActionEnv, Text: fmt.Sprintf("GOMEMLIMIT=%s", limitString(limit*1.5)), Note: "raise the limit to what the machine can give; do not lower it"}
	}
	f.Alternatives = []Action{{Kind: ActionEnv, Text: "GOGC=100", Note: "a GOGC the memory can afford, with the limit kept as a backstop (GC guide: lowering GOGC is a cleaner trade-off than thrashing)"}}
	if wi := c.whatIf(); wi != nil && !wi.NoGCCPU {
		o := wi.Observed
		r := o.Predict(o.GOGC, limit*1.5)
		f.Predicted = &Prediction{Text: fmt.Sprintf("with 50%% more memory GC CPU falls to %s", pctRange(r.GCCPU.Low, r.GCCPU.High)),
			Metric: "gc-cpu", Unit: "fraction", Low: r.GCCPU.Low, High: r.GCCPU.High}
	} else {
		f.Predicted = &Prediction{Text: "GC CPU falls below the limiter's 50% cap and the program stops stalling"}
	}
	f.Confidence = Medium
	return f
}

func checkLiveHeapNearLimit(c *check) *Finding {
	limit, what := c.effectiveLimit()
	if limit <= 0 {
		if !c.limitKnown() {
			c.noMemLimit()
		}
		return nil
	}
	live, liveSrc, liveEst, ok := c.lastLive()
	if !ok {
		c.cannotSkip(c.liveMissing())
		return nil
	}
	other := 0.0
	if c.model != nil {
		other = c.model.Other
	}
	share := (live + other) / limit
	if share < c.cfg.LiveHeapNearLimit {
		return nil
	}
	f := &Finding{Severity: Warn, Title: fmt.Sprintf("The live heap and runtime overhead fill %s of %s: little room left to allocate between GC cycles", pct(share), what)}
	if share >= c.cfg.LiveHeapCrit {
		f.Severity = Crit
	}
	f.Evidence = []Evidence{
		{Name: "live heap", Value: live, Unit: "bytes", Text: bytes(live), Window: c.w.span, Source: liveSrc, Estimated: liveEst},
		fact("memory limit", limit, "bytes", bytes(limit)+" ("+what+")", "GOMEMLIMIT / cgroup"),
		{Name: "live + other runtime memory", Value: share, Unit: "fraction", Text: pct(share) + " of the limit", Window: c.w.span,
			Source: "the live heap above + runtime memory outside heap objects (/memory/classes)", Estimated: liveEst},
	}
	f.Action = Action{Kind: ActionCommand, Text: fmt.Sprintf("give the process more memory (container limit and GOMEMLIMIT above %s)", bytes((live+other)/0.5)),
		Note: "so the live heap is at most half of it"}
	f.Alternatives = []Action{{Kind: ActionCode, Text: "shrink the live heap: gotune top " + c.arg() + " --kind heap --sample-index inuse_space shows what holds it"}}
	if wi := c.whatIf(); wi != nil && !wi.NoGCCPU {
		o := wi.Observed
		now := o.Predict(o.GOGC, limit)
		more := o.Predict(o.GOGC, (live+other)/0.5)
		f.Predicted = &Prediction{Text: fmt.Sprintf("GC CPU %s at today's limit; %s with the live heap at half the limit", pctRange(now.GCCPU.Low, now.GCCPU.High), pctRange(more.GCCPU.Low, more.GCCPU.High)),
			Metric: "gc-cpu", Unit: "fraction", Low: more.GCCPU.Low, High: more.GCCPU.High}
	} else {
		f.Predicted = &Prediction{Text: "the GC runs less often and the risk of thrashing or an OOM kill goes away"}
	}
	f.Confidence = Medium
	return f
}

func checkMemLimitMismatch(c *check) *Finding {
	container, from, ok := c.containerMemLimit()
	if !ok {
		if c.in.Facts.Cgroup == nil {
			c.noCgroup()
		}
		return nil
	}
	limit, ok := c.memLimit()
	if !ok {
		c.noMemLimit()
		return nil
	}
	if limit <= 0 {
		return nil
	}
	sug := c.suggestedLimit(container)
	f := &Finding{}
	switch {
	case limit > container:
		f.Severity = Crit
		f.Title = fmt.Sprintf("GOMEMLIMIT (%s) is above the container limit (%s): the kernel kills the process before the GC reacts", bytes(limit), bytes(container))
	case limit > container*(1-DefaultMemoryHeadroom/2):
		f.Severity = Warn
		f.Title = fmt.Sprintf("GOMEMLIMIT (%s) leaves less than 5%% of the %s container limit for memory Go does not count", bytes(limit), bytes(container))
	case limit < container/2 && c.limitBinds(limit):
		f.Severity = Info
		f.Title = fmt.Sprintf("GOMEMLIMIT (%s) is under half the container limit (%s) and sets the GC pace: it was likely set for a smaller container", bytes(limit), bytes(container))
	default:
		return nil
	}
	f.Evidence = []Evidence{
		c.settingEvidence("GOMEMLIMIT", session.GOMEMLIMIT, limit, bytes(limit)),
		fact("cgroup memory limit", container, "bytes", bytes(container)+" on "+from, "memory.max / memory.limit_in_bytes"),
	}
	if s := c.in.Facts.Settings; s != nil {
		f.Evidence = append(f.Evidence, fact("GOMEMLIMIT source", 0, "", s.GOMEMLIMIT.Reason, "effective settings"))
	}
	f.Action = Action{Kind: ActionEnv, Text: "GOMEMLIMIT=" + limitString(sug), Note: "90% of the container limit; update it whenever the container limit changes (or derive it at start-up from the cgroup)"}
	f.Alternatives = []Action{{Kind: ActionCode, Text: fmt.Sprintf("debug.SetMemoryLimit(%d << 20)", mib(sug))}}
	if wi := c.whatIf(); wi != nil && !wi.NoGCCPU && f.Severity == Info {
		o := wi.Observed
		r := o.Predict(o.GOGC, sug)
		f.Predicted = &Prediction{Text: fmt.Sprintf("GC CPU %s (from %s)", pctRange(r.GCCPU.Low, r.GCCPU.High), pct(o.GCCPU.Value)),
			Metric: "gc-cpu", Unit: "fraction", Low: r.GCCPU.Low, High: r.GCCPU.High}
	} else {
		f.Predicted = &Prediction{Text: fmt.Sprintf("the GC keeps Go memory under %s, leaving %s for memory Go does not count", bytes(sug), bytes(container-sug)),
			Metric: "peak-memory", Unit: "bytes", High: sug}
	}
	f.Confidence = High
	return f
}

// limitBinds reports whether limit, not GOGC, sets today's heap goal.
func (c *check) limitBinds(limit float64) bool {
	if c.model == nil {
		return false
	}
	o := c.model
	_, bound := EffectiveHeapGoal(o.LiveHeap, o.Roots, o.GOGC, limit, o.Other)
	return bound
}
