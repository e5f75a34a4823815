package advisor

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/safetext"
	"github.com/gotune/gotune/trace"
)

// Rules over an execution trace (Input.Trace). They join the other rules
// in Advise, and AdviseTrace runs them alone for a trace file read without
// a metrics window.

var (
	srcGo18Pauses = Citation{"Go 1.8 release notes, \"Garbage Collector\": pauses \"usually under 100 microseconds and often as low as 10 microseconds\"; runtime package docs on asynchronous preemption (GODEBUG=asyncpreemptoff)",
		"https://go.dev/doc/go1.8#gc"}
	srcTraceAssist = Citation{"A Guide to the Go Garbage Collector, \"Identifying costs\": runtime.gcAssistAlloc above 5% means the application out-paces the GC; execution trace \"GC mark assist\" ranges",
		"https://go.dev/doc/gc-guide#Identiying_costs"}
	srcTraceSched = Citation{"Go scheduler: a runnable goroutine with an idle P wakes a thread for it (runtime/proc.go wakep); the execution trace's goroutine and P states",
		"https://go.dev/doc/diagnostics#execution-tracer"}
)

var traceRules = []rule{
	{ID: "trace-long-pause", Area: AreaRuntime, Title: "A stop-the-world pause in the execution trace is long, with its cause (a goroutine that would not stop, a stopping API, the OS)",
		Source: srcGo18Pauses, MinSamples: MinSamplesFacts, check: checkTracePause},
	{ID: "trace-gc-assist", Area: AreaGOGC, Title: "Mark assists take a large share of the CPU in the execution trace: the program out-paces the GC",
		Source: srcTraceAssist, MinSamples: MinSamplesFacts, check: checkTraceAssist},
	{ID: "trace-sched-free-p", Area: AreaGOMAXPROCS, Title: "Goroutines wait long to run although a P is free: the OS does not run Go's threads (quota, affinity, busy host)",
		Source: srcTraceSched, MinSamples: MinSamplesFacts, check: checkTraceSched},
}

func init() { rules = append(rules, traceRules...) }

// Thresholds of the trace rules.
const (
	// TracePauseLong: a pause 100× the "usually under 100 microseconds" of
	// the Go 1.8 release notes is one an operator should hear about;
	// TracePauseCrit is where request latencies visibly suffer (heuristic).
	TracePauseLong = 10 * time.Millisecond
	TracePauseCrit = 100 * time.Millisecond
	// tracePauseStraggler: when the last goroutine to stop took this share
	// of the pause, the pause is the time to stop it (heuristic).
	tracePauseStraggler = 0.8
	// traceAssistShareHigh: assists doing more of the mark work than the
	// background workers' 25% target leaves them (GC guide, Latency: "the
	// GC takes 25% of CPU resources when in the mark phase") — heuristic.
	traceAssistShareHigh = 0.5
	// traceSchedP99High: a thread wake-up takes microseconds, so a p99
	// wait of 1 ms with a free P is a hundred times that (heuristic).
	traceSchedP99High = time.Millisecond
	// traceFreePShareHigh: most of the waiting happened with a free P.
	traceFreePShareHigh = 0.5
	// traceMinWaits: fewer waits say nothing about a p99.
	traceMinWaits = 100
)

// AdviseTrace runs the trace rules alone on s: the findings for `gotune
// trace FILE`, where there is no metrics window (Advise needs one). facts
// may be zero.
func AdviseTrace(s *trace.Summary, facts Facts, cfg Config) []Finding {
	if s == nil {
		return nil
	}
	cfg = cfg.withDefaults()
	c := &check{in: Input{Trace: s, Facts: facts}, cfg: cfg}
	var out []Finding
	for _, r := range traceRules {
		if f := r.check(c); f != nil {
			f.ID, f.Area, f.Source = r.ID, r.Area, r.Source
			if f.Confidence == "" {
				f.Confidence = Medium
			}
			out = append(out, *f)
		}
	}
	slices.SortStableFunc(out, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(b.Severity, a.Severity), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// traceSpan is the trace's wall-clock span, when the trace says it.
func traceSpan(s *trace.Summary) Span {
	if s.WallStart.IsZero() {
		return Span{}
	}
	return Span{From: s.WallStart, To: s.WallStart.Add(s.Duration)}
}

func traceEv(s *trace.Summary, name string, v float64, unit, text, source string) Evidence {
	return Evidence{Name: name, Value: v, Unit: unit, Text: text, Window: traceSpan(s), Source: "execution trace: " + source}
}

// traceWhere names the innermost frame outside the runtime.
func traceWhere(fr []profile.Frame) (profile.Frame, string) {
	for _, f := range fr {
		if !strings.HasPrefix(f.Func, "runtime.") && !strings.HasPrefix(f.Func, "runtime/") && !strings.HasPrefix(f.Func, "internal/") {
			file := f.File
			if i := strings.LastIndexByte(file, '/'); i >= 0 {
				file = file[i+1:]
			}
			return f, safetext.Line(fmt.Sprintf("%s (%s:%d)", f.Func, file, f.Line))
		}
	}
	if len(fr) > 0 {
		return fr[0], safetext.Line(fr[0].Func)
	}
	return profile.Frame{}, ""
}

// stoppingAPIs are the stop reasons a program's own calls cause, with what
// to do about them (runtime/proc.go stwReasonStrings).
var stoppingAPIs = map[string]Action{
	"read mem stats": {Kind: ActionCode, Text: "replace runtime.ReadMemStats with runtime/metrics.Read",
		Note: "metrics.Read reads the same figures without stopping the world; expvar's memstats and some metrics libraries call ReadMemStats"},
	"goroutine profile": {Kind: ActionCode, Text: "take goroutine profiles less often",
		Note: "each one stops the world for a time that grows with the goroutine count; a monitoring agent polling /debug/pprof/goroutine is a common cause"},
	"goroutine profile cleanup": {Kind: ActionCode, Text: "take goroutine profiles less often", Note: "as for the profile itself"},
	"all goroutines stack trace": {Kind: ActionCode, Text: "stop calling runtime.Stack(buf, true) (or /debug/pprof/goroutine?debug=2) on a hot path",
		Note: "the full dump stops the world for as long as it takes to print every goroutine"},
	"GOMAXPROCS":      {Kind: ActionCode, Text: "call runtime.GOMAXPROCS once, at start", Note: "each change stops the world"},
	"write heap dump": {Kind: ActionCode, Text: "do not call debug.WriteHeapDump on a live service", Note: "it stops the world while it writes the whole heap"},
}

func checkTracePause(c *check) *Finding {
	s := c.in.Trace
	if s == nil {
		// One note for the three trace rules, not a check that failed: a
		// trace is taken only on request.
		c.partly("trace rules: no execution trace", "capture one with gotune trace "+c.arg()+"")
		return nil
	}
	// The tracer's own pauses come from capturing this very trace.
	var p trace.Pause
	found := false
	for _, x := range s.Pauses.List {
		if x.Reason != "start trace" && x.Reason != "stop trace" {
			p, found = x, true
			break
		}
	}
	if !found || p.Duration < TracePauseLong {
		return nil
	}
	f := &Finding{Severity: Warn}
	if p.Duration >= TracePauseCrit {
		f.Severity = Crit
	}
	reason := safetext.Line(p.Reason)
	f.Evidence = []Evidence{
		traceEv(s, "longest pause", p.Duration.Seconds(), "seconds", fmt.Sprintf("%s (%s) at +%s", secs(p.Duration.Seconds()), reason, secs(p.Start.Seconds())), "stop-the-world ranges"),
		traceEv(s, "pauses", float64(s.Pauses.Count), "pauses", fmt.Sprintf("%d, %s in all over %s", s.Pauses.Count, secs(s.Pauses.Total.Seconds()), secs(s.Duration.Seconds())), "stop-the-world ranges"),
	}
	if l := p.LastToStop; l != nil && float64(l.StoppedAfter) >= tracePauseStraggler*float64(p.Duration) {
		_, where := traceWhere(l.Stack)
		name := safetext.Line(l.Name)
		f.Title = fmt.Sprintf("A %s pause (%s) waited %s for goroutine %d (%s) to reach a safe point and stop", secs(p.Duration.Seconds()), reason, secs(l.StoppedAfter.Seconds()), l.Goroutine, name)
		f.Evidence = append(f.Evidence, traceEv(s, "time to stop", l.StoppedAfter.Seconds(), "seconds",
			fmt.Sprintf("%s waiting for G%d %s, which stopped at %s", secs(l.StoppedAfter.Seconds()), l.Goroutine, name, where), "goroutine transitions during the pause"))
		f.Action = Action{Kind: ActionCode, Text: fmt.Sprintf("make the code G%d runs (%s, stopped at %s) preemptible", l.Goroutine, name, where),
			Note: "a loop without function calls cannot be stopped unless asynchronous preemption is on; call a function or runtime.Gosched() every few milliseconds of work. With asynchronous preemption on, a long wait can also mean the OS did not run that goroutine's thread (throttling, a busy host)"}
		f.Confidence = Medium
		if v, from := c.godebug("asyncpreemptoff"); v == "1" {
			f.Confidence = High
			f.Action = Action{Kind: ActionEnv, Text: "remove asyncpreemptoff=1 from GODEBUG", Note: "it is set by the " + from + "; with it off, the runtime cannot stop a goroutine in a loop without calls"}
			f.Evidence = append(f.Evidence, fact("asyncpreemptoff", 1, "", "GODEBUG asyncpreemptoff=1 (from the "+from+")", "GODEBUG"))
		}
		rest := p.Duration - l.StoppedAfter
		f.Predicted = &Prediction{Text: fmt.Sprintf("this pause falls to about %s (its part after everything stopped)", secs(rest.Seconds())),
			Metric: "pause", Unit: "seconds", Low: 0, High: rest.Seconds()}
		return f
	}
	if a, ok := stoppingAPIs[p.Reason]; ok {
		_, where := traceWhere(p.Stack)
		f.Title = fmt.Sprintf("A %s stop-the-world (%s) from the program's own call at %s", secs(p.Duration.Seconds()), reason, where)
		f.Action = a
		f.Predicted = &Prediction{Text: "these pauses go away", Metric: "pause", Unit: "seconds", Low: 0, High: 0}
		f.Confidence = High
		return f
	}
	f.Title = fmt.Sprintf("A %s stop-the-world pause (%s): Go's pauses are normally well under a millisecond", secs(p.Duration.Seconds()), reason)
	f.Action = Action{Kind: ActionCommand, Text: "check whether the process is throttled or starved of CPU (gotune attach PID shows cgroup throttling; pidstat -t -p PID)",
		Note: "a pause with no goroutine holding it up is usually the OS not running the runtime's threads"}
	f.Predicted = &Prediction{Text: fmt.Sprintf("pauses return to well under %s once the threads get their CPU", secs(TracePauseLong.Seconds()))}
	f.Confidence = Low
	return f
}

func checkTraceAssist(c *check) *Finding {
	s := c.in.Trace
	if s == nil || s.GOMAXPROCS <= 0 || s.Duration <= 0 {
		return nil
	}
	cpu := float64(s.GC.AssistCPU) / (float64(s.GOMAXPROCS) * float64(s.Duration))
	if cpu < AssistHigh || s.GC.AssistShare < traceAssistShareHigh {
		return nil
	}
	f := &Finding{Severity: Warn, Title: fmt.Sprintf("Mark assists took %s of the CPU and did %s of the GC's marking: allocation out-paces the GC", pct(cpu), pct(s.GC.AssistShare))}
	f.Evidence = []Evidence{
		traceEv(s, "assist CPU", cpu, "fraction", fmt.Sprintf("%s of GOMAXPROCS × %s (%s)", pct(cpu), secs(s.Duration.Seconds()), secs(s.GC.AssistCPU.Seconds())), "running time in \"GC mark assist\" ranges"),
		traceEv(s, "assist share of marking", s.GC.AssistShare, "fraction", pct(s.GC.AssistShare)+" of all mark CPU", "assists over assists and mark workers"),
		traceEv(s, "GC cycles", float64(s.GC.Count), "cycles", fmt.Sprint(s.GC.Count), "\"GC concurrent mark phase\" ranges"),
	}
	for _, g := range s.Blocking.Groups {
		if g.Category == trace.CatGCAssist {
			_, where := traceWhere(g.Frames)
			f.Evidence = append(f.Evidence, traceEv(s, "allocating in assists", g.Total.Seconds(), "seconds",
				fmt.Sprintf("%s in %d assists at %s", secs(g.Total.Seconds()), g.Count, where), "\"GC mark assist\" ranges by stack"))
			break
		}
	}
	gogc, ok := c.gogcFact()
	switch {
	case ok && gogc > 0:
		f.Action = Action{Kind: ActionEnv, Text: fmt.Sprintf("GOGC=%d", 2*gogc), Note: "a larger heap goal gives the background workers more runway before the program must help"}
	default:
		f.Action = Action{Kind: ActionEnv, Text: "GOGC=200", Note: "raise GOGC (or GOMEMLIMIT headroom) so each cycle has more runway; measure the memory it costs"}
	}
	f.Alternatives = []Action{{Kind: ActionCode, Text: "allocate less where the assists land (the stack in the evidence): reuse buffers, sync.Pool, fewer pointers"}}
	f.Predicted = &Prediction{Text: "doubling GOGC halves GC frequency (GC guide), so assists and the latency they add fall by about half or more; take another trace to check",
		Metric: "assist CPU", Unit: "fraction", Low: 0, High: cpu / 2}
	f.Confidence = Medium
	return f
}

// gogcFact is GOGC from the facts (AdviseTrace has no metrics window).
func (c *check) gogcFact() (int, bool) {
	if len(c.w.pts) > 0 {
		return c.gogc()
	}
	if s := c.in.Facts.Settings; s != nil {
		var n int
		if _, err := fmt.Sscanf(s.GOGC.Value, "%d", &n); err == nil {
			return n, true
		}
	}
	return 0, false
}

func checkTraceSched(c *check) *Finding {
	s := c.in.Trace
	if s == nil {
		return nil
	}
	sc := s.Sched
	if sc.Count < traceMinWaits || sc.P99 < traceSchedP99High || sc.IdlePShare < traceFreePShareHigh {
		return nil
	}
	f := &Finding{Severity: Warn, Title: fmt.Sprintf("Goroutines waited up to %s to run (p99 %s) and %s of that waiting had a free P: the OS is not running Go's threads",
		secs(sc.Max.Seconds()), secs(sc.P99.Seconds()), pct(sc.IdlePShare))}
	f.Evidence = []Evidence{
		traceEv(s, "scheduling latency p99", sc.P99.Seconds(), "seconds", fmt.Sprintf("≈%s over %d waits (max %s)", secs(sc.P99.Seconds()), sc.Count, secs(sc.Max.Seconds())), "runnable → running transitions (log histogram, ±2.2%)"),
		traceEv(s, "waiting with a free P", sc.IdlePShare, "fraction", pct(sc.IdlePShare)+" of runnable goroutine-time", "runnable goroutines against Ps not running a goroutine"),
		fact("GOMAXPROCS", float64(s.GOMAXPROCS), "threads", fmt.Sprint(s.GOMAXPROCS), "execution trace: /sched/gomaxprocs:threads"),
	}
	avail := 0
	if pr := c.in.Facts.Process; pr != nil {
		avail = len(pr.CPUsAllowed)
		if avail > 0 {
			f.Evidence = append(f.Evidence, fact("CPUs allowed", float64(avail), "cpus", fmt.Sprintf("%d (affinity)", avail), "/proc/PID/status Cpus_allowed_list"))
		}
	}
	if q, ok := c.cpuQuota(); ok && q.effective > 0 {
		f.Evidence = append(f.Evidence, fact("CPU quota", q.effective, "cpus", trimFloat(q.effective)+" CPUs on "+q.from, "cpu.max / cpu.cfs_quota_us"))
		if avail == 0 || int(q.effective) < avail {
			avail = max(1, int(q.effective))
		}
	}
	if avail > 0 && avail < s.GOMAXPROCS {
		f.Action = Action{Kind: ActionEnv, Text: fmt.Sprintf("GOMAXPROCS=%d", avail), Note: "no more Ps than CPUs the process can get, so a woken thread finds a CPU"}
		f.Confidence = High
	} else {
		f.Action = Action{Kind: ActionCommand, Text: "find what keeps the threads off the CPU: taskset -p PID (affinity), the cgroup's cpu.max and cpu.stat (quota, throttling), pidstat -t -p PID and top (other processes)",
			Note: "then set GOMAXPROCS to the CPUs the process really gets, or give it those CPUs"}
		f.Confidence = Medium
	}
	f.Predicted = &Prediction{Text: "waits with a free P fall to the microseconds a thread wake-up takes", Metric: "sched p99", Unit: "seconds", Low: 0, High: traceSchedP99High.Seconds()}
	return f
}
