package ui

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/gotune/gotune/capture"
	"github.com/gotune/gotune/collectors"
	"github.com/gotune/gotune/measurement"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/safetext"
	"github.com/gotune/gotune/trace"
)

// traceSteps are the capture lengths +/- step through (at most
// collectors.MaxTraceSeconds).
var traceSteps = []int{1, 2, 3, 5, 10, 15, 30, 60}

// The most pause rows the screen lists (the summary keeps the longest 100).
const tracePauseRows = 10

// traceMsg is a captured and analysed trace, or what stopped it. A
// truncated trace comes with both.
type traceMsg struct {
	gen int
	c   *trace.Captured
	err error
}

// traceTickMsg advances the capture's progress in the tab line.
type traceTickMsg struct{ gen int }

func traceTick(gen int) tea.Cmd {
	return tea.Tick(250*time.Millisecond, func(time.Time) tea.Msg { return traceTickMsg{gen: gen} })
}

// traceBytes is how far a capture has got: written by the fetching
// goroutine, copied into the screen by Update on each tick.
type traceBytes struct{ n atomic.Int64 }

// captureTrace takes one trace through the session (which analyses and
// holds it), off the UI goroutine; ctx cancels it.
func captureTrace(ctx context.Context, sess *capture.Session, gen int, o capture.TraceOptions, got *traceBytes) tea.Cmd {
	return func() tea.Msg {
		o.Progress = func(p collectors.TraceProgress) { got.n.Store(p.Bytes) }
		c, err := sess.Trace(ctx, o)
		if err != nil && ctx.Err() != nil {
			err = errCaptureCancelled
		}
		return traceMsg{gen: gen, c: c, err: err}
	}
}

// traceItem is a row the cursor can select and drill into: a pause or a
// blocking reason.
type traceItem struct {
	pause  int // index into Pauses.List, or -1
	reason trace.Category
}

// traceScreen shows an execution trace: pauses worst first, the MMU,
// scheduler latency, time blocked by reason and the GC; Enter drills from
// a pause or a reason into its stacks.
type traceScreen struct {
	s    *shared
	w, h int

	gen       int
	loading   bool
	flight    bool // the capture under way reads the flight recorder
	from      time.Time
	seconds   int
	maxBytes  int64 // the capture's byte budget (tests lower it)
	cancel    context.CancelFunc
	progress  *traceBytes
	got       int64
	err       error
	notice    string
	data      *trace.Captured
	items     []traceItem
	cursor    int
	drill     bool
	offset    int // first line of the drill view
	drillRows int // lines of the drill view, for scrolling
}

func newTraceScreen(s *shared) *traceScreen {
	return &traceScreen{s: s, seconds: collectors.DefaultTraceSeconds, maxBytes: collectors.DefaultMaxTrace}
}

func (ts *traceScreen) title() string    { return "Trace" }
func (ts *traceScreen) typing() bool     { return false }
func (ts *traceScreen) setSize(w, h int) { ts.w, ts.h = w, h }

func (ts *traceScreen) helpKeys() []key.Binding {
	k := ts.s.keys
	bs := []key.Binding{k.Trace.Capture}
	if ts.hasFlight() {
		bs = append(bs, k.Trace.Flight)
	}
	return append(bs, k.Trace.Longer, k.Nav.Up, k.Nav.Down, k.Trace.Drill, k.Trace.Back)
}

// hasFlight reports whether the target's metrics come from the gotune
// agent, which serves the flight recorder when the program enabled it.
func (ts *traceScreen) hasFlight() bool {
	if ts.s.snap == nil {
		return false
	}
	st, ok := ts.s.snap.StatusOf("metrics")
	return ok && st.Via == "agent"
}

func (ts *traceScreen) capturing() bool { return ts.loading }

func (ts *traceScreen) progressText() string {
	got := measurement.Bytes(float64(ts.got))
	if ts.flight {
		return "reading the flight recorder… " + got + " · esc cancels"
	}
	el := ts.s.now.Sub(ts.from).Seconds()
	frac := math.Min(1, math.Max(0, el/float64(ts.seconds)))
	const n = 10
	done := int(frac * n)
	return fmt.Sprintf("tracing %d/%ds %s [%s%s] esc cancels", int(math.Min(el, float64(ts.seconds))), ts.seconds, got,
		strings.Repeat("█", done), strings.Repeat("░", n-done))
}

// start begins a capture unless one runs.
func (ts *traceScreen) start(flight bool) tea.Cmd {
	sess := ts.s.sess
	if sess == nil || ts.loading {
		return nil
	}
	if !sess.HasTraces() {
		ts.err = capture.ErrNoTraces
		return nil
	}
	ts.gen++
	ts.loading, ts.flight, ts.err, ts.notice = true, flight, nil, ""
	ts.from, ts.got, ts.progress = ts.s.now, 0, &traceBytes{}
	ctx, cancel := context.WithCancel(ts.s.ctx)
	ts.cancel = cancel
	o := capture.TraceOptions{Seconds: ts.seconds, FlightRecorder: flight, MaxBytes: ts.maxBytes}
	return tea.Batch(captureTrace(ctx, sess, ts.gen, o, ts.progress), traceTick(ts.gen))
}

// setData shows a trace: the cursor on its worst pause, the drill closed.
func (ts *traceScreen) setData(c *trace.Captured) {
	ts.data, ts.drill, ts.offset, ts.cursor = c, false, 0, 0
	ts.items = nil
	if c == nil || c.Summary == nil {
		return
	}
	s := c.Summary
	for i := range min(len(s.Pauses.List), tracePauseRows) {
		ts.items = append(ts.items, traceItem{pause: i})
	}
	for _, r := range traceReasons(s) {
		ts.items = append(ts.items, traceItem{pause: -1, reason: r.Category})
	}
}

// traceReasons are the blocking reasons in the order shown: those an
// operator asks about, then sleep, the runtime's own waits and the rest.
func traceReasons(s *trace.Summary) []trace.ReasonTotal {
	var first, rest []trace.ReasonTotal
	for _, r := range s.Blocking.Reasons {
		switch r.Category {
		case trace.CatSleep, trace.CatGC, trace.CatOther:
			rest = append(rest, r)
		default:
			first = append(first, r)
		}
	}
	return append(first, rest...)
}

func (ts *traceScreen) update(msg tea.Msg) tea.Cmd {
	k := ts.s.keys
	switch msg := msg.(type) {
	case activatedMsg:
		// A trace held by the session (a replay, one taken by a save's
		// window) shows at once; a new one is only taken on a key.
		if ts.data == nil && !ts.loading && ts.s.sess != nil {
			if c := ts.s.sess.HeldTrace(); c != nil {
				ts.setData(c)
			}
		}
	case traceMsg:
		if msg.gen != ts.gen {
			return nil
		}
		ts.loading = false
		if ts.cancel != nil {
			ts.cancel()
			ts.cancel = nil
		}
		switch {
		case errors.Is(msg.err, errCaptureCancelled):
			ts.notice = "trace capture cancelled"
		case msg.err != nil:
			ts.err = msg.err
		}
		if msg.c != nil {
			ts.setData(msg.c)
		}
	case traceTickMsg:
		if msg.gen == ts.gen && ts.loading {
			ts.s.now = ts.s.clock()
			ts.got = ts.progress.n.Load()
			return traceTick(ts.gen)
		}
	case tea.MouseWheelMsg:
		if msg.Mouse().Button == tea.MouseWheelUp {
			ts.move(-1)
		} else {
			ts.move(1)
		}
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, k.Trace.Capture):
			return ts.start(false)
		case key.Matches(msg, k.Trace.Flight):
			if !ts.hasFlight() {
				ts.notice = "no flight recorder: it is served by the gotune agent, and this target's metrics do not come from it"
				return nil
			}
			return ts.start(true)
		case key.Matches(msg, k.Trace.Back) && ts.loading:
			ts.cancel()
		case key.Matches(msg, k.Trace.Back):
			ts.drill, ts.offset = false, 0
		case key.Matches(msg, k.Trace.Longer):
			ts.seconds = stepTrace(ts.seconds, 1)
		case key.Matches(msg, k.Trace.Shorter):
			ts.seconds = stepTrace(ts.seconds, -1)
		case key.Matches(msg, k.Trace.Drill):
			if len(ts.items) > 0 {
				ts.drill, ts.offset = true, 0
			}
		case key.Matches(msg, k.Nav.Up):
			ts.move(-1)
		case key.Matches(msg, k.Nav.Down):
			ts.move(1)
		case key.Matches(msg, k.Nav.PageUp):
			ts.move(-max(1, ts.h/2))
		case key.Matches(msg, k.Nav.PageDown):
			ts.move(max(1, ts.h/2))
		case key.Matches(msg, k.Nav.Home):
			ts.move(-1 << 20)
		case key.Matches(msg, k.Nav.End):
			ts.move(1 << 20)
		}
	}
	return nil
}

// move moves the cursor, or scrolls the drill view.
func (ts *traceScreen) move(d int) {
	if ts.drill {
		ts.offset = max(0, min(ts.offset+d, ts.drillRows-ts.h))
		return
	}
	ts.cursor = max(0, min(ts.cursor+d, len(ts.items)-1))
}

func stepTrace(cur, dir int) int { return stepIn(traceSteps, cur, dir) }

// stepIn steps cur to the next (dir 1) or previous (dir −1) of steps.
func stepIn(steps []int, cur, dir int) int {
	for i, s := range steps {
		if s >= cur {
			if s > cur && dir < 0 {
				return steps[max(0, i-1)]
			}
			return steps[max(0, min(len(steps)-1, i+dir))]
		}
	}
	return steps[len(steps)-1]
}

func tdur(d time.Duration) string { return measurement.Seconds(d.Seconds()) }

// traceFrame names the innermost frame outside the runtime, as the
// Goroutines screen names a group.
func traceFrame(fs []profile.Frame) string {
	if len(fs) == 0 {
		return "(no stack)"
	}
	f := userFrame(fs)
	file := f.File
	if i := strings.LastIndexByte(file, '/'); i >= 0 {
		file = file[i+1:]
	}
	return safetext.Line(fmt.Sprintf("%s (%s:%d)", shortName(f.Func), file, f.Line))
}

func (ts *traceScreen) view() string {
	t := ts.s.theme
	if ts.s.sess != nil && !ts.s.sess.HasTraces() && ts.data == nil {
		hint := ts.s.sess.Hint()
		if hint == "" {
			hint = capture.ErrNoTraces.Error()
		}
		return t.Warn.S("this target serves no execution traces: ") + safetext.Line(hint)
	}
	if ts.drill && ts.data != nil && ts.cursor < len(ts.items) {
		return ts.drillView()
	}
	lines := append([]string{ts.infoLine()}, ts.messageLines()...)
	if ts.data == nil || ts.data.Summary == nil {
		lines = append(lines, "")
		lines = append(lines, wrapText(ts.emptyText(), max(10, ts.w))...)
		return strings.Join(lines, "\n")
	}
	s := ts.data.Summary
	reasons := traceReasons(s)
	nPauses := min(len(s.Pauses.List), tracePauseRows)

	// Fixed lines: info, the pauses' heading, MMU, scheduler latency,
	// the blocking heading, GC. The rest goes to rows, pauses first.
	avail := max(0, ts.h-5-len(lines))
	np, nr := nPauses, len(reasons)
	if np+nr > avail {
		nr = min(nr, max(1, avail/3))
		np = min(np, max(1, avail-nr))
		nr = min(len(reasons), max(0, avail-np))
	}
	extra := avail - np - nr

	ps := s.Pauses
	head := t.Bold.S("Pauses") + t.Muted.S(fmt.Sprintf(" %d, total %s (GC %d, %s) · worst first · enter: stacks", ps.Count, tdur(ps.Total), ps.GCCount, tdur(ps.GCTotal)))
	if ps.Count == 0 {
		head = t.Bold.S("Pauses") + t.Muted.S(" none in the trace")
	}
	lines = append(lines, head)
	lines = append(lines, ts.rows(0, nPauses, np, func(i int) string { return ts.pauseRow(s.Pauses.List[i]) })...)
	lines = append(lines, ts.mmuLine(s))
	lines = append(lines, ts.schedLine(s))
	if extra > 0 && s.Sched.Count > 0 {
		lines = append(lines, ts.histLine(s))
		extra--
	}
	lines = append(lines, t.Bold.S("Blocked, by reason")+t.Muted.S(" (waits that ended in the trace) · enter: stacks"))
	lines = append(lines, ts.rows(nPauses, len(reasons), nr, func(i int) string { return ts.reasonRow(reasons[i]) })...)
	lines = append(lines, ts.gcLine(s))
	if extra > 1 && len(s.GC.Cycles) > 0 {
		lines = append(lines, ts.cycleLines(s, extra)...)
	}
	return strings.Join(lines, "\n")
}

// rows renders n of the total rows of one list whose items start at
// first in ts.items, scrolled so the cursor shows when it is in the list.
func (ts *traceScreen) rows(first, total, n int, row func(i int) string) []string {
	if n <= 0 || total == 0 {
		return nil
	}
	start := 0
	if c := ts.cursor - first; c >= 0 && c < total && c >= n {
		start = c - n + 1
	}
	var out []string
	for i := start; i < min(total, start+n); i++ {
		l := row(i)
		mark := "  "
		if first+i == ts.cursor {
			mark = "▸ "
			plain := ansi.Strip(mark + l)
			out = append(out, ts.s.theme.Selected.S(plain+strings.Repeat(" ", max(0, ts.w-ansi.StringWidthWc(plain)))))
			continue
		}
		out = append(out, mark+l)
	}
	return out
}

func (ts *traceScreen) pauseRow(p trace.Pause) string {
	t := ts.s.theme
	reason := safetext.Line(p.Reason)
	if p.Cycle > 0 {
		reason += fmt.Sprintf(" [GC %d]", p.Cycle)
	}
	if ts.w < 60 {
		return fmt.Sprintf("%8s %s", tdur(p.Duration), reason)
	}
	l := fmt.Sprintf("%9s  %9s  %-30s", tdur(p.Duration), "+"+tdur(p.Start), ansi.TruncateWc(reason, 30, "…"))
	if lt := p.LastToStop; lt != nil && lt.StoppedAfter > 0 {
		l += t.Muted.S(fmt.Sprintf(" last to stop G%d %s (%s of it)", lt.Goroutine, safetext.Line(shortName(orStart(lt.Name))),
			measurement.Percent(float64(lt.StoppedAfter)/float64(max(p.Duration, 1)))))
	} else {
		l += t.Muted.S(fmt.Sprintf(" by G%d %s", p.Goroutine, traceFrame(p.Stack)))
	}
	return l
}

func orStart(name string) string {
	if name == "" {
		return "(start function unknown)"
	}
	return name
}

func (ts *traceScreen) reasonRow(r trace.ReasonTotal) string {
	t := ts.s.theme
	if ts.w < 60 {
		return fmt.Sprintf("%-9s %8s %6s waits", r.Category, tdur(r.Total), measurement.Count(float64(r.Count)))
	}
	l := fmt.Sprintf("%-10s %9s  %8s waits  max %9s", r.Category, tdur(r.Total), measurement.Count(float64(r.Count)), tdur(r.Max))
	if g := topGroup(ts.data.Summary, r.Category); g != nil {
		l += t.Muted.S("  most at " + traceFrame(g.Frames))
	}
	return l
}

// topGroup is the stack that spent longest in a category.
func topGroup(s *trace.Summary, c trace.Category) *trace.StackGroup {
	for i := range s.Blocking.Groups {
		if s.Blocking.Groups[i].Category == c {
			return &s.Blocking.Groups[i]
		}
	}
	return nil
}

func (ts *traceScreen) mmuLine(s *trace.Summary) string {
	t := ts.s.theme
	l := t.Bold.S("MMU") + " "
	if len(s.MMU) == 0 {
		return l + t.Muted.S("the trace is too short for a 1 ms window")
	}
	var parts []string
	for _, m := range s.MMU {
		parts = append(parts, t.Muted.S(shortDuration(m.Window)+" ")+measurement.Percent(m.MMU))
	}
	return l + strings.Join(parts, t.Faint.S(" · "))
}

func (ts *traceScreen) schedLine(s *trace.Summary) string {
	t := ts.s.theme
	sc := s.Sched
	return t.Bold.S("Sched latency") + fmt.Sprintf(" %s waits · p50 ≈%s · p90 ≈%s · p99 ≈%s · max %s",
		measurement.Count(float64(sc.Count)), tdur(sc.P50), tdur(sc.P90), tdur(sc.P99), tdur(sc.Max)) +
		t.Muted.S(fmt.Sprintf(" · %s of the waiting had a free P", measurement.Percent(sc.IdlePShare)))
}

func (ts *traceScreen) histLine(s *trace.Summary) string {
	t := ts.s.theme
	var parts []string
	h := s.Sched.Histogram
	for i, b := range h {
		label := "≤" + tdur(b.UpTo)
		if b.UpTo == 0 && i > 0 {
			label = ">" + tdur(h[i-1].UpTo)
		}
		parts = append(parts, t.Muted.S(label+" ")+measurement.Count(float64(b.Count)))
	}
	return "  " + strings.Join(parts, t.Faint.S(" · "))
}

func (ts *traceScreen) gcLine(s *trace.Summary) string {
	t := ts.s.theme
	gc := s.GC
	return t.Bold.S("GC") + fmt.Sprintf(" %d cycle(s) · assists did %s of the mark work · GC CPU %s", gc.Count,
		measurement.Percent(gc.AssistShare), measurement.Percent(gc.CPUShare)) + t.Muted.S(" (workers but idle ones, assists, pauses)")
}

func (ts *traceScreen) cycleLines(s *trace.Summary, room int) []string {
	t := ts.s.theme
	out := []string{t.Muted.S(fmt.Sprintf("  %-16s %9s %10s %9s %10s %10s %8s %9s", "cycle", "start", "sweep term", "mark", "mark term", "assist CPU", "assist", "heap"))}
	cs := s.GC.Cycles
	if n := room - 1; len(cs) > n {
		cs = cs[len(cs)-n:]
	}
	for _, c := range cs {
		n := c.Label()
		heap := "-"
		if c.HeapLive > 0 {
			heap = measurement.Bytes(float64(c.HeapLive))
		}
		out = append(out, fmt.Sprintf("  %-16s %9s %10s %9s %10s %10s %8s %9s", n, "+"+tdur(c.Start), tdur(c.SweepTermination), tdur(c.Mark),
			tdur(c.MarkTermination), tdur(c.Assist), measurement.Percent(c.AssistShare), heap))
	}
	return out
}

func (ts *traceScreen) infoLine() string {
	t := ts.s.theme
	var left string
	if c := ts.data; c != nil {
		left = t.Bold.S("Trace") + t.Muted.S(" from "+c.SourceText()+" · "+c.FetchedAt.Local().Format("15:04:05"))
		if s := c.Summary; s != nil {
			left += t.Muted.S(fmt.Sprintf(" · %s, %s, GOMAXPROCS %d", tdur(s.Duration), measurement.Bytes(float64(s.Bytes)), s.GOMAXPROCS))
			if s.Truncated {
				left += "  " + t.Warn.S("truncated: the figures cover what was read")
			}
		}
	}
	right := t.Key.S("c") + t.Muted.S(fmt.Sprintf(" trace %ds (+/-)", ts.seconds))
	if ts.hasFlight() {
		right += t.Muted.S(" · ") + t.Key.S("f") + t.Muted.S(" flight recorder")
	}
	return joinRight(strings.TrimLeft(left, " "), right, ts.w)
}

// messageLines are the last capture's error or notice, wrapped to at most
// two lines under the info line.
func (ts *traceScreen) messageLines() []string {
	t := ts.s.theme
	var msg string
	paint := t.Warn
	switch {
	case ts.err != nil:
		msg, paint = safetext.Line(ts.err.Error()), t.Crit
	case ts.notice != "":
		msg = ts.notice
	default:
		return nil
	}
	ls := wrapText(msg, max(10, ts.w))
	if len(ls) > 2 {
		ls = ls[:2]
		ls[1] = ansi.TruncateWc(ls[1], max(1, ts.w-1), "") + "…"
	}
	for i := range ls {
		ls[i] = paint.S(ls[i])
	}
	return ls
}

func (ts *traceScreen) emptyText() string {
	t := ts.s.theme
	if ts.loading {
		if ts.flight {
			return t.Muted.S("reading the agent's flight recorder…")
		}
		return t.Muted.S(fmt.Sprintf("tracing the target for %d s…", ts.seconds))
	}
	s := t.Muted.S("press ") + t.Key.S("c") + t.Muted.S(fmt.Sprintf(" to capture %d s of /debug/pprof/trace (the target pays a few %% of CPU while it traces)", ts.seconds))
	if ts.hasFlight() {
		s += t.Muted.S(", ") + t.Key.S("f") + t.Muted.S(" for what the agent's flight recorder holds (when the program enabled it)")
	}
	return s
}

// drillView is the stacks behind the selected pause or reason.
func (ts *traceScreen) drillView() string {
	t := ts.s.theme
	s := ts.data.Summary
	it := ts.items[ts.cursor]
	var lines []string
	add := func(l string) { lines = append(lines, l) }
	// Long lines (names, states) wrap rather than lose their end.
	wrapped := func(paint func(string) string, l string) {
		for i, w := range wrapText(l, max(10, ts.w-2)) {
			if i > 0 {
				w = "  " + w
			}
			add(paint(w))
		}
	}
	stack := func(fs []profile.Frame) {
		if len(fs) == 0 {
			add(t.Muted.S("      (no stack)"))
		}
		for _, f := range fs {
			add("      " + safetext.Line(f.Func))
			add(t.Muted.S(fmt.Sprintf("          %s:%d", safetext.Line(f.File), f.Line)))
		}
	}
	back := t.Key.S("esc") + t.Muted.S(" back")
	if it.pause >= 0 {
		p := s.Pauses.List[it.pause]
		reason := safetext.Line(p.Reason)
		if p.Cycle > 0 {
			reason += fmt.Sprintf(" (GC %d)", p.Cycle)
		}
		add(joinRight(t.Bold.S(fmt.Sprintf("Pause %d of %d", it.pause+1, s.Pauses.Count))+
			fmt.Sprintf(" · %s at +%s · %s", tdur(p.Duration), tdur(p.Start), reason), back, ts.w))
		if lt := p.LastToStop; lt != nil && lt.StoppedAfter > 0 {
			wrapped(t.Accent.S, fmt.Sprintf("Last to stop: G%d %s, %s after the stop began (%s of the pause), at:", lt.Goroutine, safetext.Line(orStart(lt.Name)),
				tdur(lt.StoppedAfter), measurement.Percent(float64(lt.StoppedAfter)/float64(max(p.Duration, 1)))))
			stack(lt.Stack)
		}
		add(t.Accent.S(fmt.Sprintf("Stopped by G%d, at:", p.Goroutine)))
		stack(p.Stack)
		var run []string
		for _, r := range p.Running {
			run = append(run, fmt.Sprintf("G%d %s", r.Goroutine, safetext.Line(orStart(r.Name))))
		}
		if len(run) == 0 {
			run = []string{"none"}
		}
		wrapped(t.Accent.S, "Running when it began: "+strings.Join(run, ", "))
		st := fmt.Sprintf("%d runnable, %d in syscalls", p.States.Runnable, p.States.Syscall)
		for _, k := range sortedCounts(p.States.Waiting) {
			st += fmt.Sprintf(", %d %s", p.States.Waiting[k], safetext.Line(k))
		}
		wrapped(t.Accent.S, "Other goroutines then: "+st)
	} else {
		var r trace.ReasonTotal
		for _, x := range s.Blocking.Reasons {
			if x.Category == it.reason {
				r = x
			}
		}
		var groups []trace.StackGroup
		for _, g := range s.Blocking.Groups {
			if g.Category == it.reason {
				groups = append(groups, g)
			}
		}
		add(joinRight(t.Bold.S("Blocked: "+string(r.Category))+fmt.Sprintf(" · %s in %s waits, max %s · %d stack(s)", tdur(r.Total),
			measurement.Count(float64(r.Count)), tdur(r.Max), len(groups)), back, ts.w))
		if len(groups) == 0 {
			add(t.Muted.S("no stack kept for this reason (the summary keeps the longest groups of all reasons)"))
		}
		for _, g := range groups {
			wrapped(t.Accent.S, fmt.Sprintf("%s in %s waits · max %s · %d goroutine(s) · %s", tdur(g.Total), measurement.Count(float64(g.Count)), tdur(g.Max),
				g.Goroutines, safetext.Line(g.State)))
			stack(g.Frames)
		}
	}
	// The heading stays; the rest scrolls.
	rest := lines[1:]
	ts.drillRows = len(lines)
	ts.offset = min(ts.offset, max(0, len(rest)-(ts.h-1)))
	return strings.Join(append([]string{lines[0]}, rest[ts.offset:]...), "\n")
}

// sortedCounts are a map's keys, largest count first, then by name.
func sortedCounts(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(m[b], m[a]), cmp.Compare(a, b)) })
	return keys
}
