package ui

import (
	"fmt"
	"math"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/gotune/gotune/measurement"
	"github.com/gotune/gotune/session"
)

// line is one curve of a figure.
type line struct {
	label  string
	get    func(p *session.Point) (float64, bool)
	format func(float64) string
}

// figure is one chart of the overview.
type figure struct {
	title string
	lines []line
	// floor is the smallest top of the scale, so a flat near-zero curve is
	// not drawn as noise at full height.
	floor float64
	// unit, when set, is said once after the title and the lines' values
	// go without it ("CPU cores process 0.23 GC 0.06").
	unit string
}

// cores is a CPU figure without its unit, for a figure whose title names
// it (every CPU figure is in cores).
func cores(v float64) string { return strings.TrimSuffix(measurement.Cores(v), " cores") }

func value(name string) func(p *session.Point) (float64, bool) {
	return func(p *session.Point) (float64, bool) { v, ok := p.Values[name]; return v, ok }
}

func derived(name string) func(p *session.Point) (float64, bool) {
	return func(p *session.Point) (float64, bool) { v, ok := p.Derived[name]; return v, ok }
}

// memLimit is GOMEMLIMIT unless it is math.MaxInt64 ("no limit").
func memLimit(p *session.Point) (float64, bool) {
	v, ok := p.Values[session.GOMEMLIMIT]
	if !ok || v >= math.MaxInt64/2 {
		return 0, false
	}
	return v, true
}

// heapLive is the marked live heap, else its estimate from the goal and
// GOGC (the title marks it "~"); never HeapAlloc.
func heapLive(p *session.Point) (float64, bool) {
	v, _, ok := p.HeapLiveOrEstimate()
	return v, ok
}

// liveEstimated reports whether the latest live heap figure is an estimate.
func liveEstimated(p *session.Point) bool {
	_, origin, ok := p.HeapLiveOrEstimate()
	return ok && session.IsEstimate(origin)
}

// idleGCCores is idle-priority marking in cores (apart from the GC CPU
// paid): the GC's work on Ps that had nothing else to do.
func idleGCCores(p *session.Point) (float64, bool) {
	f, ok1 := p.Derived[session.GCCPUIdle]
	procs, ok2 := p.Values[session.GOMAXPROCS]
	return f * procs, ok1 && ok2
}

func rate(f func(float64) string) func(float64) string {
	return func(v float64) string { return measurement.Rate(f, v) }
}

func perSecond(v float64) string { return fmt.Sprintf("%.1f/s", v) }

// overviewFigures are the overview's charts, in reading order.
var overviewFigures = []figure{
	{title: "Heap", lines: []line{
		{"live", heapLive, measurement.Bytes},
		{"goal", value(session.HeapGoal), measurement.Bytes},
		{"limit", memLimit, measurement.Bytes},
	}, floor: 1 << 20},
	{title: "RSS", lines: []line{{"rss", value(session.ProcessRSS), measurement.Bytes}}, floor: 1 << 20},
	{title: "GC CPU", unit: "cores", lines: []line{
		{"paid", session.GCCPUCoresOf, cores},
		{"idle", idleGCCores, cores},
	}, floor: 0.05},
	{title: "GC cycles", lines: []line{{"rate", derived(session.GCRate), perSecond}}, floor: 1},
	{title: "GC pause p99", lines: []line{{"p99", derived(session.PauseP99), measurement.Seconds}}, floor: 0.001},
	{title: "Goroutines", lines: []line{
		{"total", value(session.Goroutines), measurement.Count},
		{"runnable", value(session.GoroutinesRunnable), measurement.Count},
		{"waiting", value(session.GoroutinesWaiting), measurement.Count},
	}, floor: 10},
	{title: "Sched latency p99", lines: []line{{"p99", derived(session.SchedLatP99), measurement.Seconds}}, floor: 0.001},
	{title: "CPU", unit: "cores", lines: []line{
		{"process", derived(session.ProcessCPUFrac), cores},
		{"GC", session.GCCPUCoresOf, cores},
	}, floor: 0.1},
	{title: "Alloc rate", lines: []line{{"alloc", derived(session.AllocRate), rate(measurement.Bytes)}}, floor: 1 << 20},
}

// overviewScreen shows the live curves.
type overviewScreen struct {
	s    *shared
	w, h int
	// grid, computed on resize
	cols, rows, panelW, panelH int
	compact                    bool
}

func newOverviewScreen(s *shared) *overviewScreen { return &overviewScreen{s: s} }

func (o *overviewScreen) title() string { return "Overview" }
func (o *overviewScreen) typing() bool  { return false }

func (o *overviewScreen) helpKeys() []key.Binding {
	return []key.Binding{o.s.keys.Global.Window}
}

func (o *overviewScreen) setSize(w, h int) {
	o.w, o.h = w, h
	n := len(overviewFigures)
	o.cols = max(1, min(3, w/40))
	o.rows = (n + o.cols - 1) / o.cols
	o.panelW = w / o.cols
	o.panelH = 0
	if o.rows > 0 {
		o.panelH = h / o.rows
	}
	// A panel needs a title and two chart rows; else one line per figure.
	o.compact = o.panelH < 3
}

func (o *overviewScreen) update(msg tea.Msg) tea.Cmd { return nil }

// tabHint is the chart window (w cycles it).
func (o *overviewScreen) tabHint() string {
	return o.s.theme.Muted.S("window " + shortDuration(o.s.window) + " (w)")
}

// windowPoints returns the points inside the chart window.
func (o *overviewScreen) windowPoints() []session.Point {
	snap := o.s.snap
	if snap == nil || len(snap.Points) == 0 {
		return nil
	}
	pts := snap.Points
	end := pts[len(pts)-1].Time
	if o.s.now.After(end) {
		end = o.s.now
	}
	start := end.Add(-o.s.window)
	i := len(pts)
	for i > 0 && !pts[i-1].Time.Before(start) {
		i--
	}
	return pts[i:]
}

func (o *overviewScreen) view() string {
	pts := o.windowPoints()
	if o.s.snap.Latest() == nil {
		return o.s.theme.Muted.S("waiting for the first sample…")
	}
	if o.compact {
		return o.compactView(pts)
	}
	var rows []string
	for r := 0; r < o.rows; r++ {
		panels := make([][]string, 0, o.cols)
		for c := 0; c < o.cols; c++ {
			i := r*o.cols + c
			if i >= len(overviewFigures) {
				break
			}
			panels = append(panels, o.panel(overviewFigures[i], pts, o.panelW-1, o.panelH))
		}
		for l := 0; l < o.panelH; l++ {
			var b strings.Builder
			for i, p := range panels {
				cell := p[l]
				b.WriteString(cell)
				if i == len(panels)-1 {
					break // the last panel needs no padding
				}
				// Chart rows are exactly panelW-1 cells; only short
				// lines (a title, an empty row) need measuring.
				if cell == "" {
					b.WriteString(strings.Repeat(" ", o.panelW))
				} else if l > 0 {
					b.WriteByte(' ')
				} else if pad := o.panelW - ansi.StringWidthWc(cell); pad > 0 {
					b.WriteString(strings.Repeat(" ", pad))
				}
			}
			rows = append(rows, b.String())
		}
	}
	return strings.Join(rows, "\n")
}

// series extracts one line's values and x positions (0..1 across the
// window).
func (o *overviewScreen) series(ln line, pts []session.Point) (xs, ys []float64, hi float64, any bool) {
	if len(pts) == 0 {
		return nil, nil, 0, false
	}
	end := pts[len(pts)-1].Time
	if o.s.now.After(end) {
		end = o.s.now
	}
	start := end.Add(-o.s.window)
	span := end.Sub(start).Seconds()
	xs = make([]float64, len(pts))
	ys = make([]float64, len(pts))
	for i := range pts {
		xs[i] = pts[i].Time.Sub(start).Seconds() / span
		if v, ok := ln.get(&pts[i]); ok {
			ys[i] = v
			any = true
			hi = math.Max(hi, v)
		} else {
			ys[i] = math.NaN()
		}
	}
	return xs, ys, hi, any
}

// panel renders one figure in w×h: a title line with the current values,
// then the chart.
func (o *overviewScreen) panel(f figure, pts []session.Point, w, h int) []string {
	t := o.s.theme
	out := make([]string, h)
	latest := o.s.snap.Latest()
	var title strings.Builder
	title.WriteString(t.Bold.S(f.title))
	if f.unit != "" {
		title.WriteString(t.Muted.S(" " + f.unit))
	}
	var ss []chartSeries
	hi := f.floor
	shown := 0
	// The scale follows the first lines (the heap, not a limit far above
	// it that would flatten the curves); a last line beyond 4× them is
	// named in the title and marked off the scale.
	type drawn struct {
		s   chartSeries
		hi  float64
		lbl string
	}
	var ds []drawn
	for i, ln := range f.lines {
		xs, ys, lhi, any := o.series(ln, pts)
		if !any {
			continue
		}
		paint := t.Series[i%len(t.Series)]
		cur := "-"
		if v, ok := ln.get(latest); ok {
			cur = ln.format(v)
		}
		label := ln.label
		if f.title == "Heap" && ln.label == "live" && liveEstimated(latest) {
			label, cur = "~live", "~"+cur // an estimate from the goal and GOGC
		}
		if len(f.lines) > 1 {
			title.WriteString(" " + paint.S(label) + " " + cur)
		} else {
			title.WriteString(" " + paint.S(cur))
		}
		ds = append(ds, drawn{chartSeries{xs: xs, ys: ys, paint: paint}, lhi, ln.label})
		shown++
	}
	for i, d := range ds {
		if i > 0 && i == len(ds)-1 && f.title == "Heap" && d.hi > 4*hi && hi > f.floor {
			title.WriteString(t.Muted.S(" (limit off the scale)"))
			continue
		}
		hi = math.Max(hi, d.hi)
		ss = append(ss, d.s)
	}
	if f.title == "GC CPU" && latest.Derived[session.GCCPUExceedsOS] == 1 {
		// The runtime counts the time its GC workers hold a P, not CPU
		// the OS gave them: above the process's own CPU on a busy host.
		title.WriteString(t.Warn.S(" ≥ OS CPU: an upper bound"))
	}
	if f.title == "Heap" {
		if _, ok := memLimit(latest); !ok {
			title.WriteString(t.Muted.S(" limit none"))
		}
	}
	if shown == 0 {
		title.WriteString(t.Muted.S(" not reported by " + o.source()))
	}
	scale := ""
	if shown > 0 {
		scale = t.Faint.S("↑" + f.lines[0].format(hi*1.1))
	}
	out[0] = joinRight(title.String(), scale, w)
	if h > 1 && shown > 0 {
		chart := renderChartMarked(ss, chartMarks{xs: o.restartXs(pts), paint: t.Warn}, w, h-1, hi*1.1)
		copy(out[1:], chart)
	}
	return out
}

// restartXs are the x positions (as series gives them) of the points that
// mark a restart of the target: each chart draws a vertical mark there,
// and the status line says when and which PIDs.
func (o *overviewScreen) restartXs(pts []session.Point) []float64 {
	var xs []float64
	for i := range pts {
		if pts[i].Restart == nil {
			continue
		}
		end := pts[len(pts)-1].Time
		if o.s.now.After(end) {
			end = o.s.now
		}
		start := end.Add(-o.s.window)
		xs = append(xs, pts[i].Time.Sub(start).Seconds()/end.Sub(start).Seconds())
	}
	return xs
}

func (o *overviewScreen) source() string {
	if p := o.s.snap.Latest(); p != nil && p.Source != "" {
		return p.Source
	}
	return "this source"
}

// compactView is one line per figure: name, current value, a sparkline.
func (o *overviewScreen) compactView(pts []session.Point) string {
	t := o.s.theme
	latest := o.s.snap.Latest()
	var rows []string
	for _, f := range overviewFigures {
		ln := f.lines[0]
		cur := "-"
		if v, ok := ln.get(latest); ok {
			cur = ln.format(v)
		}
		_, ys, hi, _ := o.series(ln, pts)
		head := fmt.Sprintf("%-12s %10s ", ansi.TruncateWc(f.title, 12, ""), cur)
		sw := o.w - ansi.StringWidthWc(head)
		rows = append(rows, t.Bold.S(head[:13])+head[13:]+t.Series[0].S(sparkline(ys, sw, math.Max(hi, f.floor))))
	}
	return strings.Join(rows, "\n")
}
