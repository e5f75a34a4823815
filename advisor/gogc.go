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
		Source: srcGCGuideGOGC, check: checkGCCPUHigh},
	{ID: "gc-assist-high", Area: AreaGOGC, Title: "GC mark assists take a large share of CPU: the program outpaces the GC",
		Source: srcGCGuideIdentifying, check: checkAssists},
	{ID: "alloc-heavy", Area: AreaGOGC, Title: "Allocation-heavy CPU profile (runtime.mallocgc above 15% cum): reduce allocations first",
		Source: srcGCGuideIdentifying, check: checkAllocHeavy},
	{ID: "gogc-off-no-limit", Area: AreaGOGC, Title: "GOGC=off without a memory limit: the heap grows without bound",
		Source: srcGCGuideMemLimit, check: checkGOGCOff},
}

const gcCPUSource = "/cpu/classes/gc/total ÷ /cpu/classes/total (runtime/metrics)"

func checkGCCPUHigh(c *check) *Finding {
	frac, ok := c.gcCPU()
	if !ok {
		if n, _, ok := c.w.delta(session.GCCycles); !ok || n > 0 {
			c.skip("gc-cpu-high: no GC CPU figures in the window (the metrics source lacks /cpu/classes)")
		}
		return nil // no GC cycle ended: the runtime's CPU figures did not move, and there is no GC cost
	}
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
	rec, ok := wi.Recommendation()
	if !ok {
		return nil // no headroom for a larger heap, or no model: other rules explain
	}
	f := &Finding{Severity: Warn, Title: fmt.Sprintf("The GC takes %s of the CPU; %s would bring it to %s", pct(frac), rec.Setting, pctRange(rec.GCCPU.Low, rec.GCCPU.High))}
	if frac >= c.cfg.GCCPUCrit {
		f.Severity = Crit
	}
	o := wi.Observed
	f.Evidence = []Evidence{
		c.ev("GC CPU", frac, "fraction", pct(frac)+" of GOMAXPROCS × wall", gcCPUSource),
		c.ev("GC cycles", o.CycleRate.Value, "cycles/s", fmt.Sprintf("%.2f/s (%.0f cycles)", o.CycleRate.Value, o.Cycles), session.GCCycles),
		c.ev("allocation rate", o.AllocRate, "bytes/s", bytes(o.AllocRate)+"/s", session.HeapAllocsBytes),
		c.ev("live heap", o.LiveHeap, "bytes", bytes(o.LiveHeap), session.HeapLive),
		c.ev("GC CPU per cycle", o.CPUPerCycle, "seconds", secs(o.CPUPerCycle), "/cpu/classes/gc/total ÷ /gc/cycles/total"),
	}
	if wi.Budget > 0 {
		f.Evidence = append(f.Evidence, fact("memory budget", wi.Budget, "bytes", bytes(wi.Budget), "GOMEMLIMIT, else 90% of the cgroup memory limit"))
	}
	f.Action = envAction(rec)
	f.Alternatives = []Action{codeAction(rec)}
	f.Predicted = &Prediction{
		Text: fmt.Sprintf("GC CPU %s (from %s), %.2f–%.2f GC cycles/s, heap goal %s–%s, peak Go memory about %s",
			pctRange(rec.GCCPU.Low, rec.GCCPU.High), pct(frac), rec.CycleRate.Low, rec.CycleRate.High,
			bytes(rec.HeapGoal.Low), bytes(rec.HeapGoal.High), bytes(rec.PeakMemory.Value)),
		Metric: "gc-cpu", Unit: "fraction", Low: rec.GCCPU.Low, High: rec.GCCPU.High,
	}
	f.Confidence = modelConfidence(o)
	return f
}

func envAction(r WhatIfRow) Action {
	parts := []string{}
	if r.GOGC < 0 {
		parts = append(parts, "GOGC=off")
	} else {
		parts = append(parts, fmt.Sprintf("GOGC=%d", r.GOGC))
	}
	if r.MemoryLimit > 0 {
		parts = append(parts, "GOMEMLIMIT="+limitString(r.MemoryLimit))
	}
	return Action{Kind: ActionEnv, Text: strings.Join(parts, " "), Note: "in the process's environment at start (or its container spec)"}
}

func codeAction(r WhatIfRow) Action {
	parts := []string{fmt.Sprintf("debug.SetGCPercent(%d)", r.GOGC)}
	if r.MemoryLimit > 0 {
		parts = append(parts, fmt.Sprintf("debug.SetMemoryLimit(%d << 20)", mib(r.MemoryLimit)))
	}
	return Action{Kind: ActionCode, Text: strings.Join(parts, "; "), Note: "from runtime/debug, at start-up; the environment variable is easier to change"}
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
	frac, ok := ratio(c.w.pts, session.CPUGCAssist, session.CPUTotal)
	if !ok {
		return nil // no GC cycle ended in the window, or no /cpu/classes figures
	}
	if frac < AssistHigh {
		return nil
	}
	f := &Finding{Severity: Warn, Title: fmt.Sprintf("Goroutines spend %s of the CPU assisting the GC: allocation outpaces marking", pct(frac))}
	f.Evidence = []Evidence{c.ev("GC assist CPU", frac, "fraction", pct(frac)+" of GOMAXPROCS × wall", "/cpu/classes/gc/mark/assist ÷ /cpu/classes/total (runtime/metrics)")}
	if p := c.in.Profiles.CPU; p != nil {
		if share, ok := stackShare(p, func(fn string) bool { return fn == "runtime.gcAssistAlloc" }); ok {
			f.Evidence = append(f.Evidence, fact("runtime.gcAssistAlloc cum", share, "fraction", pct(share)+" of CPU samples", "CPU profile"))
		}
	}
	// Assists scale with GC frequency: fewer cycles, fewer assists.
	if rec, ok := c.whatIf().Recommendation(); ok {
		o := c.whatIf().Observed
		scale := rec.CycleRate.Value / o.CycleRate.Value
		f.Action = envAction(rec)
		f.Alternatives = []Action{{Kind: ActionCode, Text: "cut the allocation rate in the functions the allocs profile ranks first (gotune top URL --kind allocs --sample-index alloc_space)"}}
		f.Predicted = &Prediction{Text: fmt.Sprintf("assists fall with GC frequency, to about %s of CPU", pctRange(frac*scale*(1-tolGCCPU), frac*scale*(1+tolGCCPU))),
			Metric: "gc-assist-cpu", Unit: "fraction", Low: frac * scale * (1 - tolGCCPU), High: frac * scale * (1 + tolGCCPU)}
		f.Confidence = Medium
	} else {
		f.Action = Action{Kind: ActionCode, Text: "cut the allocation rate in the functions the allocs profile ranks first (gotune top URL --kind allocs --sample-index alloc_space)",
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
		c.skip("alloc-heavy: no CPU profile (fetch one: the target must serve net/http/pprof)")
		return nil
	}
	if cpu := profileCPUSeconds(p); cpu < minCPUProfileSeconds {
		c.skip("alloc-heavy: the CPU profile holds only %s of CPU time (at least %s needed for shares to mean anything)", secs(cpu), secs(minCPUProfileSeconds))
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
		c.skip("alloc-heavy: no allocs profile, so the allocating functions are not named")
	}
	where := "the functions the allocs profile ranks first"
	if len(names) > 0 {
		where = strings.Join(names, ", ")
	}
	f.Action = Action{Kind: ActionCode, Text: "reduce allocations in " + where,
		Note: "reuse buffers (sync.Pool, append into a kept slice), preallocate, avoid []byte↔string copies and pointers that escape; `go build -gcflags=-m=3` shows what escapes"}
	f.Alternatives = []Action{{Kind: ActionCommand, Text: "gotune top URL --kind allocs --sample-index alloc_space --nodecount 20"}}
	// GC work is proportional to bytes allocated (GC guide, Understanding
	// costs): halving the top allocator's bytes cuts GC cycles by half its
	// share.
	if frac, ok := c.gcCPU(); ok && len(names) > 0 && c.in.Profiles.Allocs != nil {
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
	if !ok || g >= 0 {
		return nil
	}
	limit, ok := c.memLimit()
	if !ok || limit > 0 {
		return nil
	}
	f := &Finding{Severity: Crit, Title: "GOGC=off with no memory limit: the GC never runs, so the heap grows until the process is killed"}
	f.Evidence = []Evidence{
		fact("GOGC", -1, "", "off", session.GOGC),
		fact("GOMEMLIMIT", 0, "bytes", "no limit", session.GOMEMLIMIT),
	}
	if v, ok := c.w.last(session.HeapObjects); ok {
		f.Evidence = append(f.Evidence, c.ev("heap", v, "bytes", bytes(v), session.HeapObjects))
	}
	if cl, _, ok := c.containerMemLimit(); ok {
		lim := c.suggestedLimit(cl)
		f.Action = Action{Kind: ActionEnv, Text: "GOMEMLIMIT=" + limitString(lim), Note: "keep GOGC=off only with a limit; 90% of the cgroup memory limit leaves the guide's headroom"}
		f.Alternatives = []Action{{Kind: ActionEnv, Text: "GOGC=100", Note: "Go's default, if the process shares its memory"}}
		f.Predicted = &Prediction{Text: fmt.Sprintf("the heap stops growing below %s; the GC runs only as often as that limit requires", bytes(lim)), Metric: "peak-memory", Unit: "bytes", High: lim}
		f.Confidence = High
	} else {
		f.Action = Action{Kind: ActionEnv, Text: "GOGC=100", Note: "or keep GOGC=off and set GOMEMLIMIT to the memory this process may use"}
		if live, ok := c.w.last(session.HeapLive); ok && live > 0 {
			g := HeapGoal(live, 0, 100)
			f.Predicted = &Prediction{Text: fmt.Sprintf("the heap settles near %s (twice the live heap)", bytes(g)), Metric: "heap-goal", Unit: "bytes", Low: g * 0.9, High: g * 1.1}
		}
		f.Confidence = High
	}
	return f
}
