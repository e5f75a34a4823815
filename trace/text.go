package trace

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gotune/gotune/measurement"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/safetext"
)

// Rows of each table WriteText prints.
const (
	textPauses = 10
	textGroups = 8
	textCycles = 10
)

// WriteText writes s for a terminal: pauses worst first with what the
// goroutines were doing, the MMU curve, scheduler latency, blocking by
// reason with the stacks responsible, and the GC cycles. Text from the
// trace (function names, files, wait reasons) goes through safetext.
func WriteText(w io.Writer, s *Summary) error {
	bw := bufio.NewWriter(w)
	p := &printer{w: bw}
	p.header(s)
	p.pauses(s)
	p.mmu(s)
	p.sched(s)
	p.blocking(s)
	p.gc(s)
	return bw.Flush()
}

type printer struct {
	w *bufio.Writer
}

func (p *printer) f(format string, args ...any) { fmt.Fprintf(p.w, format, args...) }

func dur(d time.Duration) string { return measurement.Seconds(d.Seconds()) }
func at(d time.Duration) string  { return "+" + dur(d) }

func (p *printer) header(s *Summary) {
	p.f("Execution trace: %s, %s, %s events, %s over %d generation(s), GOMAXPROCS %d, %s goroutines\n",
		safetext.Line(s.Format), measurement.Bytes(float64(s.Bytes)), measurement.Count(float64(s.Events)),
		dur(s.Duration), s.Generations, s.GOMAXPROCS, measurement.Count(float64(s.Goroutines)))
	if !s.WallStart.IsZero() {
		p.f("Started %s (the trace's clock snapshot); times below are offsets from its first event.\n", s.WallStart.UTC().Format("2006-01-02 15:04:05.000 MST"))
	}
	if s.Truncated {
		p.f("The trace is truncated: the figures cover what was read.\n")
	}
}

func (p *printer) pauses(s *Summary) {
	ps := s.Pauses
	p.f("\nStop-the-world pauses: %d, total %s", ps.Count, dur(ps.Total))
	if w, ok := ps.Worst(); ok {
		p.f(", worst %s (%s)", dur(w.Duration), safetext.Line(w.Reason))
	}
	p.f("; of which GC: %d, total %s\n", ps.GCCount, dur(ps.GCTotal))
	for i, x := range ps.List[:min(len(ps.List), textPauses)] {
		cycle := ""
		if x.Cycle > 0 {
			cycle = fmt.Sprintf(" [GC %d]", x.Cycle)
		}
		p.f("%3d. %-9s at %-10s %s%s, stopped by G%d%s\n", i+1, dur(x.Duration), at(x.Start), safetext.Line(x.Reason), cycle,
			x.Goroutine, where(" in ", x.Stack))
		if l := x.LastToStop; l != nil && l.StoppedAfter > 0 {
			p.f("       last to stop: G%d %s, %s after the stop began (%s of the pause)%s\n", l.Goroutine, safetext.Line(orUnknown(l.Name)),
				dur(l.StoppedAfter), measurement.Percent(float64(l.StoppedAfter)/float64(max(x.Duration, 1))), where(" at ", l.Stack))
		}
		p.f("       when it began: %s\n", states(x))
	}
	if n := len(ps.List); ps.Count > n && n > 0 {
		p.f("     (%d longest kept of %d)\n", n, ps.Count)
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "(start function unknown)"
	}
	return s
}

func states(x Pause) string {
	var parts []string
	if len(x.Running) > 0 {
		var names []string
		for _, r := range x.Running {
			names = append(names, fmt.Sprintf("G%d %s", r.Goroutine, safetext.Line(orUnknown(r.Name))))
		}
		parts = append(parts, fmt.Sprintf("%d running (%s)", len(x.Running), strings.Join(names, ", ")))
	} else {
		parts = append(parts, "no other goroutine running")
	}
	parts = append(parts, fmt.Sprintf("%d runnable", x.States.Runnable), fmt.Sprintf("%d in syscalls", x.States.Syscall))
	if len(x.States.Waiting) > 0 {
		type kv struct {
			k string
			v int
		}
		var ws []kv
		for k, v := range x.States.Waiting {
			ws = append(ws, kv{k, v})
		}
		slices.SortFunc(ws, func(a, b kv) int {
			if a.v != b.v {
				return b.v - a.v
			}
			return strings.Compare(a.k, b.k)
		})
		var w []string
		for _, e := range ws[:min(len(ws), 5)] {
			w = append(w, fmt.Sprintf("%d %s", e.v, safetext.Line(orReason(e.k))))
		}
		if len(ws) > 5 {
			w = append(w, "…")
		}
		parts = append(parts, "waiting: "+strings.Join(w, ", "))
	}
	return strings.Join(parts, "; ")
}

func orReason(r string) string {
	if r == "" {
		return "(since before the trace)"
	}
	return r
}

// userFrame returns the innermost frame outside the runtime, or the
// innermost frame.
func userFrame(fr []profile.Frame) (profile.Frame, bool) {
	for _, f := range fr {
		if !strings.HasPrefix(f.Func, "runtime.") && !strings.HasPrefix(f.Func, "runtime/") &&
			!strings.HasPrefix(f.Func, "internal/") && !strings.HasPrefix(f.Func, "sync.") && !strings.HasPrefix(f.Func, "syscall.") {
			return f, true
		}
	}
	if len(fr) > 0 {
		return fr[0], true
	}
	return profile.Frame{}, false
}

func frameText(f profile.Frame) string {
	file := f.File
	if i := strings.LastIndexByte(file, '/'); i >= 0 {
		file = file[i+1:]
	}
	return safetext.Line(fmt.Sprintf("%s (%s:%d)", f.Func, file, f.Line))
}

func where(prefix string, fr []profile.Frame) string {
	f, ok := userFrame(fr)
	if !ok {
		return ""
	}
	return prefix + frameText(f)
}

func (p *printer) mmu(s *Summary) {
	p.f("\nMinimum mutator utilisation (share of GOMAXPROCS left to the program in the worst window; STW, GC workers, assists and sweeping count against it):\n")
	if len(s.MMU) == 0 {
		p.f("  (the trace is too short or has no GOMAXPROCS event)\n")
		return
	}
	tw := tabwriter.NewWriter(p.w, 0, 0, 2, ' ', tabwriter.AlignRight)
	var win, val, wat strings.Builder
	win.WriteString("window\t")
	val.WriteString("MMU\t")
	wat.WriteString("worst at\t")
	for _, m := range s.MMU {
		win.WriteString(dur(m.Window) + "\t")
		val.WriteString(measurement.Percent(m.MMU) + "\t")
		wat.WriteString(at(m.WorstAt) + "\t")
	}
	fmt.Fprintln(tw, "  "+win.String())
	fmt.Fprintln(tw, "  "+val.String())
	fmt.Fprintln(tw, "  "+wat.String())
	tw.Flush()
}

func (p *printer) sched(s *Summary) {
	sc := s.Sched
	p.f("\nScheduler latency (runnable → running): %s waits, total %s, p50 ≈%s, p90 ≈%s, p99 ≈%s, max %s; %s of the waiting had a free P\n",
		measurement.Count(float64(sc.Count)), dur(sc.Total), dur(sc.P50), dur(sc.P90), dur(sc.P99), dur(sc.Max), measurement.Percent(sc.IdlePShare))
	if sc.BeforeFirstRun > 0 {
		p.f("  (%s of it before the goroutines' first run in the trace, which go tool trace -pprof=sched leaves out)\n", dur(sc.BeforeFirstRun))
	}
	if sc.Count > 0 {
		var bars []string
		for i, b := range sc.Histogram {
			label := "≤" + dur(b.UpTo)
			if b.UpTo == 0 {
				label = ">" + dur(sc.Histogram[i-1].UpTo)
			}
			bars = append(bars, fmt.Sprintf("%s %s", label, measurement.Count(float64(b.Count))))
		}
		p.f("  waits: %s\n", strings.Join(bars, " · "))
	}
	p.groups(sc.Groups, "waiting to run at")
}

func (p *printer) groups(gs []StackGroup, what string) {
	if len(gs) == 0 {
		return
	}
	tw := tabwriter.NewWriter(p.w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  total\twaits\tmax\tgoroutines\tstate\t%s\n", what)
	for _, g := range gs[:min(len(gs), textGroups)] {
		loc := "(no stack)"
		if f, ok := userFrame(g.Frames); ok {
			loc = frameText(f)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%s\t%s\n", dur(g.Total), measurement.Count(float64(g.Count)), dur(g.Max), g.Goroutines,
			safetext.Line(g.State), loc)
	}
	tw.Flush()
}

// operatorCategories are the reasons an operator asks about, in the order
// WriteText shows them; sleep, the runtime's own waits and the rest follow.
var operatorCategories = []Category{CatChannel, CatSelect, CatSync, CatNetwork, CatSyscall, CatGCAssist}

func (p *printer) blocking(s *Summary) {
	p.f("\nTime off the CPU, by reason (waits that ended in the trace; gc-assist is time in mark assists):\n")
	if len(s.Blocking.Reasons) == 0 {
		p.f("  none\n")
		return
	}
	rs := slices.Clone(s.Blocking.Reasons)
	rank := func(c Category) int {
		if i := slices.Index(operatorCategories, c); i >= 0 {
			return 0
		}
		return 1
	}
	slices.SortStableFunc(rs, func(a, b ReasonTotal) int { return rank(a.Category) - rank(b.Category) })
	tw := tabwriter.NewWriter(p.w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  reason\ttotal\twaits\tmax\n")
	for _, r := range rs {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", r.Category, dur(r.Total), measurement.Count(float64(r.Count)), dur(r.Max))
	}
	tw.Flush()
	var gs []StackGroup
	for _, g := range s.Blocking.Groups {
		if slices.Contains(operatorCategories, g.Category) {
			gs = append(gs, g)
		}
	}
	p.groups(gs, "at")
	if len(gs) < len(s.Blocking.Groups) {
		p.f("  (stacks of sleep, the runtime's own waits and other reasons are in --json)\n")
	}
}

func (p *printer) gc(s *Summary) {
	gc := s.GC
	p.f("\nGC: %d cycle(s) began in the trace; assists did %s of the mark work; GC used %s of the CPU (workers except idle ones, assists and pauses)\n",
		gc.Count, measurement.Percent(gc.AssistShare), measurement.Percent(gc.CPUShare))
	if len(gc.Cycles) == 0 {
		return
	}
	tw := tabwriter.NewWriter(p.w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "  #\tstart\tsweep term\tmark\tmark term\tsweep\tassist CPU\tworker CPU\tassist share\theap\tgoal\t\n")
	cs := gc.Cycles
	if len(cs) > textCycles {
		cs = cs[len(cs)-textCycles:]
	}
	for _, c := range cs {
		note := ""
		if c.BeganBefore {
			note = " (began before)"
		}
		if c.Unfinished {
			note = " (unfinished)"
		}
		fmt.Fprintf(tw, "  %d%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", c.N, note, at(c.Start), dur(c.SweepTermination), dur(c.Mark),
			dur(c.MarkTermination), dur(c.Sweep), dur(c.Assist), dur(c.Dedicated+c.Fractional+c.Idle), measurement.Percent(c.AssistShare),
			bytesOr(c.HeapLive), bytesOr(c.HeapGoal))
	}
	tw.Flush()
	if len(gc.Cycles) > len(cs) {
		p.f("  (last %d of %d cycles)\n", len(cs), len(gc.Cycles))
	}
}

func bytesOr(n uint64) string {
	if n == 0 {
		return "-"
	}
	return measurement.Bytes(float64(n))
}
