package advisor

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/session"
)

var gogcRules = []rule{
	{ID: "gc-cpu-high", Area: AreaGOGC, Title: "GC CPU is high while memory has headroom: raise GOGC or set a memory limit",
		Source: srcGCGuideGOGC, MinSamples: MinSamplesGC, check: checkGCCPUHigh},
	{ID: "gc-assist-high", Area: AreaGOGC, Title: "GC mark assists take a large share of CPU: the program outpaces the GC",
		Source: srcGCGuideIdentifying, MinSamples: MinSamplesGC, check: checkAssists},
	{ID: "alloc-heavy", Area: AreaGOGC, Title: "Allocation-heavy CPU profile (runtime.mallocgc above 15% cum): reduce allocations first",
		Source: srcGCGuideIdentifying, MinSamples: MinSamplesFacts, check: checkAllocHeavy},
	{ID: "gogc-off-no-limit", Area: AreaGOGC, Title: "GOGC=off without a memory limit: the heap grows without bound",
		Source: srcGCGuideMemLimit, MinSamples: MinSamplesFacts, check: checkGOGCOff},
}

// noGCCost reports whether the window holds a GC cycle counter and no
// cycle ended in it: the runtime's GC CPU figures did not move, and there
// is no GC cost to speak of.
func (c *check) noGCCost() bool {
	n, _, ok := c.w.delta(session.GCCycles)
	return ok && n == 0
}

// gcCPUEvidence is GC CPU with where it came from, idle marking apart,
// and the process CPU the OS measured in the same unit.
func (c *check) gcCPUEvidence(f gcCPUFigure) []Evidence {
	procs := trimFloat(f.Procs)
	if p, ok := c.gomaxprocs(); ok {
		procs = fmt.Sprint(p)
	}
	text := fmt.Sprintf("%s of GOMAXPROCS × wall (%.2f of %s cores)", pct(f.Paid), f.cores(), procs)
	if f.Estimated {
		text += ", estimated"
	}
	if f.IncludesIdle {
		text += ", idle marking included"
	}
	evs := []Evidence{{Name: "GC CPU", Value: f.Paid, Unit: "fraction", Text: text, Window: c.w.span, Source: f.Source, Estimated: f.Estimated}}
	if f.HasIdle {
		evs = append(evs, Evidence{Name: "idle GC marking", Value: f.Idle, Unit: "fraction", Window: c.w.span, Estimated: f.Estimated,
			Text:   fmt.Sprintf("%s of GOMAXPROCS × wall (%.2f cores) on Ps with nothing else to run: not counted as GC cost", pct(f.Idle), f.Idle*f.Procs),
			Source: idleSource(f)})
	}
	if cores, ok := c.processCores(); ok {
		o, _ := c.origin(session.ProcessCPU)
		evs = append(evs, c.ev("process CPU", cores, "cores", fmt.Sprintf("%.2f cores (%s of GOMAXPROCS × wall)", cores, pct(cores/f.Procs)), o+", per second"))
	}
	if f.AboveOS {
		evs = append(evs, Evidence{Name: "GC CPU above process CPU", Value: f.cores() - f.OSCores, Unit: "cores", Window: c.w.span,
			Text: fmt.Sprintf("the GC figure (%.2f cores) exceeds all the CPU the OS measured for the process (%.2f cores): the runtime counts its Ps' wall time, which on a busy host includes time the OS gave to other processes, so GC CPU is overstated",
				f.cores(), f.OSCores),
			Source: "GC CPU figure against /process/cpu"})
		if share, ok := c.gcBusyShare(); ok {
			evs = append(evs, Evidence{Name: "GC share of busy time", Value: share, Unit: "fraction", Window: c.w.span, Estimated: true,
				Text:   fmt.Sprintf("%s of the time Ps ran anything; of the %.2f cores the OS measured, about %.2f", pct(share), f.OSCores, share*f.OSCores),
				Source: "estimate: (/cpu/classes/gc/total − /cpu/classes/gc/mark/idle) ÷ (/cpu/classes/total − /cpu/classes/idle − /cpu/classes/gc/mark/idle) × /process/cpu"})
		}
	}
	return evs
}

func idleSource(f gcCPUFigure) string {
	switch f.Method {
	case GCCPUFromClasses:
		return "/cpu/classes/gc/mark/idle ÷ /cpu/classes/total (runtime/metrics)"
	case GCCPUFromProfile:
		return "estimate: runtime.gcDrainMarkWorkerIdle's share of the CPU profile"
	}
	return f.Source
}

func checkGCCPUHigh(c *check) *Finding {
	fig, ok := c.gcCPU()
	if !ok {
		if !c.noGCCost() {
			c.cannotSkip(c.gcCPUMissing())
		}
		return nil
	}
	frac := fig.Paid
	if frac < c.cfg.GCCPUHigh {
		return nil
	}
	if g, ok := c.gogc(); ok && g < 0 {
		return nil // GOGC=off: a limit is binding; the memory-limit rules explain
	}
	if c.limiterEngaged() {
		return nil // memlimit-too-tight covers it: raising GOGC would not help
	}
	wi := c.whatIf()
	if wi == nil {
		c.cannot(fmt.Sprintf("GC CPU is %s, but the GC model cannot say what to change: %s", pct(frac), c.modelWhy.Reason), c.modelWhy.Enable)
		return nil
	}
	rec, ok := wi.Recommendation()
	if !ok {
		return nil // no headroom for a larger heap: other rules explain
	}
	f := &Finding{Severity: Warn, Title: fmt.Sprintf("The GC takes %s of the CPU; %s would bring it to %s", pct(frac), rec.Setting, pctRange(rec.GCCPU.Low, rec.GCCPU.High))}
	if frac >= c.cfg.GCCPUCrit {
		f.Severity = Crit
	}
	o := wi.Observed
	f.Evidence = c.gcCPUEvidence(fig)
	f.Evidence = append(f.Evidence,
		c.evm("GC cycles", session.GCCycles, o.CycleRate.Value, "cycles/s", fmt.Sprintf("%.2f/s (%.0f cycles)", o.CycleRate.Value, o.Cycles)),
		c.evm("allocation rate", session.HeapAllocsBytes, o.AllocRate, "bytes/s", bytes(o.AllocRate)+"/s"),
		c.liveEvidence(o),
		Evidence{Name: "GC CPU per cycle", Value: o.CPUPerCycle, Unit: "seconds", Text: secs(o.CPUPerCycle), Window: c.w.span, Estimated: fig.Estimated,
			Source: "the GC CPU above × GOMAXPROCS × wall ÷ /gc/cycles/total"},
	)
	if wi.Budget > 0 {
		f.Evidence = append(f.Evidence, fact("memory budget", wi.Budget, "bytes", bytes(wi.Budget), "GOMEMLIMIT, else 90% of the cgroup memory limit"))
	}
	f.Action = envAction(rec, o.MemoryLimit)
	f.Alternatives = []Action{codeAction(rec, o.MemoryLimit)}
	f.Predicted = &Prediction{
		Text: fmt.Sprintf("GC CPU %s (from %s), %.2f–%.2f GC cycles/s, heap goal %s–%s, peak Go memory about %s",
			pctRange(rec.GCCPU.Low, rec.GCCPU.High), pct(frac), rec.CycleRate.Low, rec.CycleRate.High,
			bytes(rec.HeapGoal.Low), bytes(rec.HeapGoal.High), bytes(rec.PeakMemory.Value)),
		Metric: "gc-cpu", Unit: "fraction", Low: rec.GCCPU.Low, High: rec.GCCPU.High,
	}
	f.Confidence = modelConfidence(o)
	if fig.AboveOS {
		f.Confidence = Low
	}
	return f
}

// liveEvidence is the model's live heap with its source.
func (c *check) liveEvidence(o GCObservation) Evidence {
	text := bytes(o.LiveHeap)
	if o.LiveHeapEstimated {
		text += " (estimated)"
	}
	return Evidence{Name: "live heap", Value: o.LiveHeap, Unit: "bytes", Text: text, Window: c.w.span, Source: o.LiveHeapSource, Estimated: o.LiveHeapEstimated}
}

// newLimit reports whether a row's memory limit is a change from the
// process's current one (current 0: none), as GOMEMLIMIT would be written.
func newLimit(r WhatIfRow, current float64) bool {
	return r.MemoryLimit > 0 && (current <= 0 || limitString(r.MemoryLimit) != limitString(current))
}

// envAction is the environment for a row: only what changes, so an action
// never repeats a GOMEMLIMIT the process already has.
func envAction(r WhatIfRow, currentLimit float64) Action {
	parts := []string{}
	if r.GOGC < 0 {
		parts = append(parts, "GOGC=off")
	} else {
		parts = append(parts, fmt.Sprintf("GOGC=%d", r.GOGC))
	}
	note := "in the process's environment at start (or its container spec)"
	if newLimit(r, currentLimit) {
		parts = append(parts, "GOMEMLIMIT="+limitString(r.MemoryLimit))
	} else if r.MemoryLimit > 0 {
		note += "; keep today's GOMEMLIMIT=" + limitString(r.MemoryLimit)
	}
	return Action{Kind: ActionEnv, Text: strings.Join(parts, " "), Note: note}
}

func codeAction(r WhatIfRow, currentLimit float64) Action {
	gogc := r.GOGC
	parts := []string{fmt.Sprintf("debug.SetGCPercent(%d)", gogc)}
	if newLimit(r, currentLimit) {
		parts = append(parts, fmt.Sprintf("debug.SetMemoryLimit(%d << 20)", mib(r.MemoryLimit)))
	}
	return Action{Kind: ActionCode, Text: strings.Join(parts, "; "), Note: "from runtime/debug, at start-up (debug.SetGCPercent(-1) is GOGC=off); the environment variable is easier to change"}
}

func modelConfidence(o GCObservation) Confidence {
	switch {
	case o.Cycles >= 20 && o.Noise < 0.1:
		return High
	case o.Cycles >= minModelCycles:
		return Medium
	}
	return Low
}

// limiterEngaged reports whether the GC CPU limiter turned on during the
// window: /gc/limiter/last-enabled names a GC cycle inside it.
func (c *check) limiterEngaged() bool {
	last, ok := c.w.last(session.LimiterLastEnabled)
	start, ok2 := c.w.first(session.GCCycles)
	return ok && ok2 && last > 0 && last > start
}

func checkAssists(c *check) *Finding {
	fig, ok := c.gcCPU()
	if !ok || !fig.HasAssist {
		if !c.noGCCost() {
			s := c.gcCPUMissing()
			if ok {
				s = Skip{Reason: "no mark-assist CPU figure: " + fig.Source + " has GC CPU but not the assists' part", Enable: enableAgent + "; or fetch a CPU profile (runtime.gcAssistAlloc's share)"}
			}
			c.cannotSkip(s)
		}
		return nil // or no GC cycle ended in the window: no assists
	}
	frac := fig.Assist
	if frac < AssistHigh {
		return nil
	}
	f := &Finding{Severity: Warn, Title: fmt.Sprintf("Goroutines spend %s of the CPU assisting the GC: allocation outpaces marking", pct(frac))}
	src := "/cpu/classes/gc/mark/assist ÷ /cpu/classes/total (runtime/metrics " + c.via() + ")"
	switch fig.Method {
	case GCCPUFromDerived:
		src, _ = c.origin(session.GCAssistCPU)
	case GCCPUFromProfile:
		src = "estimate: runtime.gcAssistAlloc's share of the CPU profile over its duration × GOMAXPROCS"
	}
	f.Evidence = []Evidence{{Name: "GC assist CPU", Value: frac, Unit: "fraction", Text: pct(frac) + " of GOMAXPROCS × wall", Window: c.w.span, Source: src, Estimated: fig.Estimated || session.IsEstimate(src)}}
	if p := c.in.Profiles.CPU; p != nil {
		if share, ok := stackShare(p, func(fn string) bool { return fn == "runtime.gcAssistAlloc" }); ok {
			f.Evidence = append(f.Evidence, fact("runtime.gcAssistAlloc cum", share, "fraction", pct(share)+" of CPU samples", "CPU profile"))
		}
	}
	// Assists scale with GC frequency: fewer cycles, fewer assists.
	if rec, ok := c.whatIf().Recommendation(); ok {
		o := c.whatIf().Observed
		scale := rec.CycleRate.Value / o.CycleRate.Value
		f.Action = envAction(rec, o.MemoryLimit)
		f.Alternatives = []Action{{Kind: ActionCode, Text: "cut the allocation rate in the functions the allocs profile ranks first (gotune top " + c.arg() + " --kind allocs --sample-index alloc_space)"}}
		f.Predicted = &Prediction{Text: fmt.Sprintf("assists fall with GC frequency, to about %s of CPU", pctRange(frac*scale*(1-tolGCCPU), frac*scale*(1+tolGCCPU))),
			Metric: "gc-assist-cpu", Unit: "fraction", Low: frac * scale * (1 - tolGCCPU), High: frac * scale * (1 + tolGCCPU)}
		f.Confidence = Medium
	} else {
		f.Action = Action{Kind: ActionCode, Text: "cut the allocation rate in the functions the allocs profile ranks first (gotune top " + c.arg() + " --kind allocs --sample-index alloc_space)",
			Note: "a larger GOGC also helps where memory allows"}
		f.Predicted = &Prediction{Text: "assists shrink in proportion to the allocation rate"}
		f.Confidence = Low
	}
	return f
}

// stackShare is the share of a profile's default sample values whose stack
// holds a function matching match: pprof's cum% of that function, without
// counting recursion twice.
func stackShare(p *profile.Profile, match func(fn string) bool) (float64, bool) {
	vi, err := p.SampleIndex("")
	if err != nil {
		return 0, false
	}
	var hit, total int64
	for i := range p.NumSamples() {
		v := p.Values(i)[vi]
		total += v
	stack:
		for _, l := range p.Stack(i) {
			for _, ln := range p.Locations[l].Lines {
				if ln.Function >= 0 && match(p.Functions[ln.Function].Name) {
					hit += v
					break stack
				}
			}
		}
	}
	if total <= 0 {
		return 0, false
	}
	return float64(hit) / float64(total), true
}

// minCPUProfileSeconds is the CPU time a profile must hold before a share
// of it is evidence: 50 samples at 100 Hz put the standard error of a 15%
// share near 5 points (binomial), and an idle process has no allocation
// problem to speak of (heuristic).
const minCPUProfileSeconds = 0.5

// idleProfileCores: a CPU profile that sampled less than 0.05 cores over
// its duration is of an idle process, which has no allocation cost to
// speak of: the rule ran and found nothing, rather than could not run
// (heuristic).
const idleProfileCores = 0.05

// profileCPUSeconds is the CPU time a CPU profile sampled.
func profileCPUSeconds(p *profile.Profile) float64 {
	vi, err := p.SampleIndex("cpu")
	if err != nil {
		return 0
	}
	var ns int64
	for i := range p.NumSamples() {
		ns += p.Values(i)[vi]
	}
	return float64(ns) / 1e9
}

// isMallocgc matches runtime.mallocgc and its size-class helpers
// (runtime.mallocgcSmallNoscan, ... in Go ≥1.24).
func isMallocgc(fn string) bool { return strings.HasPrefix(fn, "runtime.mallocgc") }

// attributed is a function's share of a profile, its samples attributed to
// their innermost frame that skip does not match.
type attributed struct {
	Name  string
	Value int64
}

// attribute sums a profile's sample values (of sampleIndex) by each
// sample's innermost frame outside the runtime (and whatever skip
// matches): who allocates, who holds a lock, rather than which runtime
// helper the sample ended in. It returns them largest first, with the
// total over all samples.
func attribute(p *profile.Profile, sampleIndex string, skip func(fn string) bool) ([]attributed, int64) {
	vi, err := p.SampleIndex(sampleIndex)
	if err != nil {
		return nil, 0
	}
	sums := map[string]int64{}
	var total int64
	for i := range p.NumSamples() {
		v := p.Values(i)[vi]
		total += v
	frames:
		for _, l := range p.Stack(i) {
			for _, ln := range p.Locations[l].Lines {
				if ln.Function < 0 {
					continue
				}
				name := p.Functions[ln.Function].Name
				if strings.HasPrefix(name, "runtime.") || (skip != nil && skip(name)) {
					continue
				}
				sums[name] += v
				break frames
			}
		}
	}
	out := make([]attributed, 0, len(sums))
	for n, v := range sums {
		if v > 0 {
			out = append(out, attributed{n, v})
		}
	}
	slices.SortFunc(out, func(a, b attributed) int {
		if a.Value != b.Value {
			return int((b.Value - a.Value) / max(1, abs64(b.Value-a.Value)))
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, total
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// topAllocators returns the functions allocating the most bytes.
func topAllocators(p *profile.Profile, n int) ([]attributed, int64) {
	rows, total := attribute(p, "alloc_space", nil)
	return rows[:min(n, len(rows))], total
}

func checkAllocHeavy(c *check) *Finding {
	p := c.in.Profiles.CPU
	if p == nil {
		c.cannot("no CPU profile in the window", "fetch one (gotune advise fetches it when the target serves net/http/pprof or a gops agent); "+enablePprof)
		return nil
	}
	if cpu := profileCPUSeconds(p); cpu < minCPUProfileSeconds {
		if d := float64(p.DurationNanos) / 1e9; d > 0 && cpu/d < idleProfileCores {
			return nil // an idle process: checked, nothing allocates enough to matter
		}
		c.cannot(fmt.Sprintf("the CPU profile holds only %s of CPU time (at least %s needed for shares to mean anything)", secs(cpu), secs(minCPUProfileSeconds)),
			"profile for longer, or under load")
		return nil
	}
	share, ok := stackShare(p, isMallocgc)
	if !ok || share < MallocgcCumHigh {
		return nil
	}
	f := &Finding{Severity: Warn, Title: fmt.Sprintf("runtime.mallocgc is on %s of CPU samples: allocations cost more than GC tuning can win back", pct(share))}
	f.Evidence = []Evidence{fact("runtime.mallocgc cum", share, "fraction", pct(share)+" of CPU samples", cpuProfileSource(p))}
	var names []string
	if a := c.in.Profiles.Allocs; a != nil {
		rows, total := topAllocators(a, 3)
		for _, r := range rows {
			s := float64(r.Value) / float64(total)
			f.Evidence = append(f.Evidence, fact("allocates "+r.Name, s, "fraction", fmt.Sprintf("%s of bytes allocated (%s %s)", pct(s), bytes(float64(r.Value)), c.in.Profiles.spanText(profile.KindAllocs)), "allocs profile, alloc_space, by innermost non-runtime frame"))
			names = append(names, fmt.Sprintf("%s (%s)", r.Name, pct(s)))
		}
	} else {
		c.partly("no allocs profile, so the allocating functions are not named", "fetch the allocs profile ("+enablePprof+")")
	}
	where := "the functions the allocs profile ranks first"
	if len(names) > 0 {
		where = strings.Join(names, ", ")
	}
	f.Action = Action{Kind: ActionCode, Text: "reduce allocations in " + where,
		Note: "reuse buffers (sync.Pool, append into a kept slice), preallocate, avoid []byte↔string copies and pointers that escape; `go build -gcflags=-m=3` shows what escapes"}
	f.Alternatives = []Action{{Kind: ActionCommand, Text: "gotune top " + c.arg() + " --kind allocs --sample-index alloc_space --nodecount 20"}}
	// GC work is proportional to bytes allocated (GC guide, Understanding
	// costs): halving the top allocator's bytes cuts GC cycles by half its
	// share.
	if fig, ok := c.gcCPU(); ok && len(names) > 0 && c.in.Profiles.Allocs != nil {
		frac := fig.Paid
		rows, total := topAllocators(c.in.Profiles.Allocs, 1)
		s := float64(rows[0].Value) / float64(total)
		lo, hi := frac*(1-s)*(1-tolGCCPU), frac*(1-s/2)*(1+tolGCCPU)
		f.Predicted = &Prediction{Text: fmt.Sprintf("GC cycles and GC CPU fall in proportion to the bytes no longer allocated: removing half to all of %s's allocations takes GC CPU from %s to %s, and frees the CPU spent in mallocgc",
			rows[0].Name, pct(frac), pctRange(lo, hi)), Metric: "gc-cpu", Unit: "fraction", Low: lo, High: hi}
	} else {
		f.Predicted = &Prediction{Text: "GC cycles and GC CPU fall in proportion to the bytes no longer allocated, and the CPU in mallocgc with them"}
	}
	f.Confidence = Medium
	return f
}

func cpuProfileSource(p *profile.Profile) string {
	if p.DurationNanos > 0 {
		return fmt.Sprintf("CPU profile, %s", secs(float64(p.DurationNanos)/1e9))
	}
	return "CPU profile"
}

func checkGOGCOff(c *check) *Finding {
	g, ok := c.gogc()
	if !ok {
		c.cannot("GOGC is unknown: no /gc/gogc:percent "+c.via()+" and no environment read", enableAgent+"; or "+enablePID)
		return nil
	}
	if g >= 0 {
		return nil
	}
	limit, ok := c.memLimit()
	if !ok {
		c.cannot("GOGC is off and GOMEMLIMIT is unknown: no /gc/gomemlimit:bytes "+c.via()+" and no environment read", enableAgent+"; or "+enablePID)
		return nil
	}
	if limit > 0 {
		return nil
	}
	f := &Finding{Severity: Crit, Title: "GOGC=off with no memory limit: the GC never runs, so the heap grows until the process is killed"}
	f.Evidence = []Evidence{c.settingEvidence("GOGC", session.GOGC, -1, "off"), c.settingEvidence("GOMEMLIMIT", session.GOMEMLIMIT, 0, "no limit")}
	if v, ok := c.w.last(session.HeapObjects); ok {
		f.Evidence = append(f.Evidence, c.evm("heap in use", session.HeapObjects, v, "bytes", bytes(v)))
	}
	if cl, _, ok := c.containerMemLimit(); ok {
		lim := c.suggestedLimit(cl)
		f.Action = Action{Kind: ActionEnv, Text: "GOMEMLIMIT=" + limitString(lim), Note: "keep GOGC=off only with a limit; 90% of the cgroup memory limit leaves the guide's headroom"}
		f.Alternatives = []Action{{Kind: ActionEnv, Text: "GOGC=100", Note: "Go's default, if the process shares its memory"}}
		f.Predicted = &Prediction{Text: fmt.Sprintf("the heap stops growing below %s; the GC runs only as often as that limit requires", bytes(lim)), Metric: "peak-memory", Unit: "bytes", High: lim}
		f.Confidence = High
	} else {
		f.Action = Action{Kind: ActionEnv, Text: "GOGC=100", Note: "or keep GOGC=off and set GOMEMLIMIT to the memory this process may use"}
		if live, _, _, ok := c.lastLive(); ok && live > 0 {
			g := HeapGoal(live, 0, 100)
			f.Predicted = &Prediction{Text: fmt.Sprintf("the heap settles near %s (twice the live heap)", bytes(g)), Metric: "heap-goal", Unit: "bytes", Low: g * 0.9, High: g * 1.1}
		}
		f.Confidence = High
	}
	return f
}
