package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gotune/gotune/measurement"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/trace"
)

// Rows of the trace section's tables.
const (
	TracePauses = 10
	TraceGroups = 8
	TraceCycles = 10
)

// traceView is the trace section as text cells, once for Markdown and
// HTML: pauses worst first, the MMU table, scheduler latency, blocking by
// reason with the stacks responsible, and the GC cycles.
type traceView struct {
	// Source says where the figures come from: the endpoint or the flight
	// recorder, and the span the trace covers.
	Source  string
	Header  string
	Problem string

	PausesText string
	Pauses     [][]string // #, pause, at, reason, stopped by, last to stop, goroutines when it began
	PausesMore int

	MMU [][]string // window, MMU, worst window at

	SchedText   string
	SchedHist   [][]string // up to, waits
	SchedGroups [][]string // total, waits, max, goroutines, waiting to run at

	Reasons     [][]string // reason, total, waits, max, go tool trace
	BlockGroups [][]string // reason, state, total, waits, max, goroutines, at

	GCText string
	Cycles [][]string // #, start, sweep termination, mark, mark termination, sweep, assist CPU, worker CPU, assist share, heap, goal
}

func tdur(d time.Duration) string { return measurement.Seconds(d.Seconds()) }
func tat(d time.Duration) string  { return "+" + tdur(d) }

// traceFrame names the innermost frame outside the runtime: "func
// (file.go:12)".
func traceFrame(fr []profile.Frame) string {
	for _, f := range fr {
		if !strings.HasPrefix(f.Func, "runtime.") && !strings.HasPrefix(f.Func, "runtime/") && !strings.HasPrefix(f.Func, "internal/") &&
			!strings.HasPrefix(f.Func, "sync.") && !strings.HasPrefix(f.Func, "syscall.") {
			return shortFrame(f)
		}
	}
	if len(fr) > 0 {
		return shortFrame(fr[0])
	}
	return "(no stack)"
}

func shortFrame(f profile.Frame) string {
	file := f.File
	if i := strings.LastIndexByte(file, '/'); i >= 0 {
		file = file[i+1:]
	}
	return fmt.Sprintf("%s (%s:%d)", f.Func, file, f.Line)
}

// pprofOf names the go tool trace profile a category agrees with.
func pprofOf(c trace.Category) string {
	switch c {
	case trace.CatChannel, trace.CatSelect, trace.CatSync:
		return "-pprof=sync"
	case trace.CatNetwork:
		return "-pprof=net"
	case trace.CatSyscall:
		return "-pprof=syscall"
	}
	return ""
}

func newTraceView(c *trace.Captured) *traceView {
	if c == nil {
		return nil
	}
	v := &traceView{Problem: c.Problem}
	span := "over " + c.From.UTC().Format("2006-01-02 15:04:05.000") + " – " + c.To.UTC().Format("15:04:05.000 MST")
	if c.FromTrace {
		span += " (the trace's clock)"
	} else {
		span += " (estimated from the request)"
	}
	v.Source = "From " + c.SourceText() + ", " + span + "."
	s := c.Summary
	if s == nil {
		if v.Problem == "" {
			v.Problem = "the trace was not analysed"
		}
		return v
	}
	v.Header = fmt.Sprintf("%s, %s, %s events, %s over %d generation(s), GOMAXPROCS %d, %s goroutines.",
		s.Format, measurement.Bytes(float64(s.Bytes)), measurement.Count(float64(s.Events)), tdur(s.Duration), s.Generations, s.GOMAXPROCS,
		measurement.Count(float64(s.Goroutines)))
	if s.Truncated {
		v.Header += " The trace is truncated: the figures cover what was read."
	}

	ps := s.Pauses
	v.PausesText = fmt.Sprintf("%d stop-the-world pauses, total %s; of which GC: %d, total %s.", ps.Count, tdur(ps.Total), ps.GCCount, tdur(ps.GCTotal))
	for i, p := range ps.List[:min(len(ps.List), TracePauses)] {
		reason := p.Reason
		if p.Cycle > 0 {
			reason += fmt.Sprintf(" (GC %d)", p.Cycle)
		}
		last := ""
		if l := p.LastToStop; l != nil && l.StoppedAfter > 0 {
			last = fmt.Sprintf("G%d %s after %s (%s of the pause) at %s", l.Goroutine, orName(l.Name), tdur(l.StoppedAfter),
				measurement.Percent(float64(l.StoppedAfter)/float64(max(p.Duration, 1))), traceFrame(l.Stack))
		}
		v.Pauses = append(v.Pauses, []string{fmt.Sprint(i + 1), tdur(p.Duration), tat(p.Start), reason,
			fmt.Sprintf("G%d at %s", p.Goroutine, traceFrame(p.Stack)), last, pauseStates(p)})
	}
	v.PausesMore = ps.Count - len(v.Pauses)

	for _, m := range s.MMU {
		v.MMU = append(v.MMU, []string{tdur(m.Window), measurement.Percent(m.MMU), tat(m.WorstAt)})
	}

	sc := s.Sched
	v.SchedText = fmt.Sprintf("%s waits, total %s, p50 ≈%s, p90 ≈%s, p99 ≈%s (quantiles estimated within ±2.2%%), max %s; %s of the waiting had a free P.",
		measurement.Count(float64(sc.Count)), tdur(sc.Total), tdur(sc.P50), tdur(sc.P90), tdur(sc.P99), tdur(sc.Max), measurement.Percent(sc.IdlePShare))
	if sc.BeforeFirstRun > 0 {
		v.SchedText += fmt.Sprintf(" %s of it before the goroutines' first run in the trace, which go tool trace -pprof=sched leaves out.", tdur(sc.BeforeFirstRun))
	}
	for i, b := range sc.Histogram {
		label := "≤ " + tdur(b.UpTo)
		if b.UpTo == 0 && i > 0 {
			label = "> " + tdur(sc.Histogram[i-1].UpTo)
		}
		v.SchedHist = append(v.SchedHist, []string{label, measurement.Count(float64(b.Count))})
	}
	for _, g := range sc.Groups[:min(len(sc.Groups), TraceGroups)] {
		v.SchedGroups = append(v.SchedGroups, []string{tdur(g.Total), measurement.Count(float64(g.Count)), tdur(g.Max), fmt.Sprint(g.Goroutines), traceFrame(g.Frames)})
	}

	// The reasons an operator asks about first, then sleep, the runtime's
	// own waits and the rest; longest first within each.
	rs := slices.Clone(s.Blocking.Reasons)
	idle := func(c trace.Category) bool { return c == trace.CatSleep || c == trace.CatGC || c == trace.CatOther }
	slices.SortStableFunc(rs, func(a, b trace.ReasonTotal) int {
		if idle(a.Category) != idle(b.Category) {
			if idle(a.Category) {
				return 1
			}
			return -1
		}
		return cmp.Compare(b.Total, a.Total)
	})
	for _, r := range rs {
		v.Reasons = append(v.Reasons, []string{string(r.Category), tdur(r.Total), measurement.Count(float64(r.Count)), tdur(r.Max), pprofOf(r.Category)})
	}
	n := 0
	for _, g := range s.Blocking.Groups {
		if idle(g.Category) {
			continue // the runtime's own and idle waits: in the JSON
		}
		if n++; n > TraceGroups {
			break
		}
		v.BlockGroups = append(v.BlockGroups, []string{string(g.Category), g.State, tdur(g.Total), measurement.Count(float64(g.Count)), tdur(g.Max),
			fmt.Sprint(g.Goroutines), traceFrame(g.Frames)})
	}

	gc := s.GC
	v.GCText = fmt.Sprintf("%d cycle(s) began in the trace; assists did %s of the mark work; GC used %s of the CPU (mark workers except idle ones, assists and pauses × GOMAXPROCS, over GOMAXPROCS × the trace).",
		gc.Count, measurement.Percent(gc.AssistShare), measurement.Percent(gc.CPUShare))
	cs := gc.Cycles
	if len(cs) > TraceCycles {
		cs = cs[len(cs)-TraceCycles:]
	}
	for _, c := range cs {
		n := c.Label()
		v.Cycles = append(v.Cycles, []string{n, tat(c.Start), tdur(c.SweepTermination), tdur(c.Mark), tdur(c.MarkTermination), tdur(c.Sweep),
			tdur(c.Assist), tdur(c.Dedicated + c.Fractional + c.Idle), measurement.Percent(c.AssistShare), bytesOrDash(c.HeapLive), bytesOrDash(c.HeapGoal)})
	}
	return v
}

func orName(s string) string {
	if s == "" {
		return "(start function unknown)"
	}
	return s
}

func bytesOrDash(n uint64) string {
	if n == 0 {
		return "-"
	}
	return measurement.Bytes(float64(n))
}

// pauseStates says what the goroutines were doing when a stop began.
func pauseStates(p trace.Pause) string {
	parts := []string{fmt.Sprintf("%d running", len(p.Running)), fmt.Sprintf("%d runnable", p.States.Runnable), fmt.Sprintf("%d in syscalls", p.States.Syscall)}
	type kv struct {
		k string
		v int
	}
	var ws []kv
	for k, n := range p.States.Waiting {
		if k == "" {
			k = "(since before the trace)"
		}
		ws = append(ws, kv{k, n})
	}
	slices.SortFunc(ws, func(a, b kv) int { return cmp.Or(cmp.Compare(b.v, a.v), cmp.Compare(a.k, b.k)) })
	for i, w := range ws {
		if i == 3 {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, fmt.Sprintf("%d %s", w.v, w.k))
	}
	return strings.Join(parts, ", ")
}

// mdTrace writes the Trace section.
func (r *Report) mdTrace(m *mdWriter) {
	v := newTraceView(r.Trace)
	if v == nil {
		return
	}
	m.printf("## Execution trace\n\n%s", mdText(v.Source))
	if v.Header != "" {
		m.printf(" %s", mdText(v.Header))
	}
	m.printf("\n\n")
	if v.Problem != "" {
		m.printf("**Problem:** %s\n\n", mdText(v.Problem))
	}
	if r.Trace.Summary == nil {
		return
	}
	table := func(head []string, align string, rows [][]string) {
		m.printf("| %s |\n|%s\n", strings.Join(head, " | "), align)
		for _, row := range rows {
			cells := make([]string, len(row))
			for i, c := range row {
				cells[i] = mdText(c)
			}
			m.printf("| %s |\n", strings.Join(cells, " | "))
		}
		m.printf("\n")
	}
	m.printf("### Stop-the-world pauses, worst first\n\n%s\n\n", mdText(v.PausesText))
	if len(v.Pauses) > 0 {
		table([]string{"#", "pause", "at", "reason", "stopped by", "last to stop", "goroutines when it began"}, "---:|---:|---:|---|---|---|---|", v.Pauses)
		if v.PausesMore > 0 {
			m.printf("… and %d shorter pauses.\n\n", v.PausesMore)
		}
	}
	m.printf("### Minimum mutator utilisation\n\nThe smallest share of GOMAXPROCS left to the program in any window of each length (stop-the-world pauses, GC mark workers, assists and sweeping count against it).\n\n")
	if len(v.MMU) == 0 {
		m.printf("The trace is too short for the smallest window.\n\n")
	} else {
		table([]string{"window", "MMU", "worst window at"}, "---:|---:|---:|", v.MMU)
	}
	m.printf("### Scheduler latency (runnable → running)\n\n%s\n\n", mdText(v.SchedText))
	if len(v.SchedHist) > 0 {
		table([]string{"wait", "waits"}, "---:|---:|", v.SchedHist)
	}
	if len(v.SchedGroups) > 0 {
		table([]string{"total", "waits", "max", "goroutines", "waiting to run at"}, "---:|---:|---:|---:|---|", v.SchedGroups)
	}
	m.printf("### Time blocked, by reason\n\nWaits that ended in the trace; gc-assist is time allocating goroutines spent in mark assists. The last column names the `go tool trace` profile the figure agrees with.\n\n")
	if len(v.Reasons) == 0 {
		m.printf("None.\n\n")
	} else {
		table([]string{"reason", "total", "waits", "max", "go tool trace"}, "---|---:|---:|---:|---|", v.Reasons)
	}
	if len(v.BlockGroups) > 0 {
		table([]string{"reason", "state", "total", "waits", "max", "goroutines", "at"}, "---|---|---:|---:|---:|---:|---|", v.BlockGroups)
	}
	m.printf("### GC cycles\n\n%s\n\n", mdText(v.GCText))
	if len(v.Cycles) > 0 {
		table([]string{"#", "start", "sweep termination", "mark", "mark termination", "sweep", "assist CPU", "worker CPU", "assist share", "heap", "goal"},
			"---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|", v.Cycles)
	}
}
