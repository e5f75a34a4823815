package ui

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/gotune/gotune/collectors/discover"
	"github.com/gotune/gotune/hostview"
	"github.com/gotune/gotune/measurement"
	"github.com/gotune/gotune/safetext"
	"github.com/gotune/gotune/session"
)

// HostSource feeds the host overview: every Go process of the host with
// its figures, refreshed on demand. *hostview.Host implements it.
type HostSource interface {
	Refresh(ctx context.Context) (*hostview.View, error)
	Interval() time.Duration
	// Use and Release hand a process's row the store of the session that
	// watches it in full while a dashboard is attached to it.
	Use(pid int, store *session.Store) bool
	Release(pid int)
	// Process is what discovery found for pid, to attach to it.
	Process(pid int) (discover.Process, bool)
}

// pickerScreen is the host overview, the screen before attach: every Go
// process of the host in one live table (like htop for Go), sorted and
// filtered; Enter attaches, and the dashboards attached stay alive behind
// it (see fleet.go).
type pickerScreen struct {
	s    *shared
	w, h int

	scanFn   ScanFunc // Options.Scan without Options.Host: a plain list
	attachFn AttachFunc
	src      HostSource

	// open and close are the fleet's: attach to (or show) a row's
	// dashboard, and end a row's session.
	open     func(r hostview.Row) tea.Cmd
	close    func(pid int) bool
	attached func(pid int) bool

	hv         *hostview.View
	rows       []hostview.Row // sorted and filtered
	err        error
	refreshing bool
	visible    bool
	attaching  string
	note       string

	sortIdx   int
	filtering bool
	filter    string
	cursor    int
	offset    int
	selPID    int // the selected row's PID, kept across refreshes
}

func newPickerScreen(s *shared) *pickerScreen {
	return &pickerScreen{s: s, visible: true}
}

func (p *pickerScreen) title() string { return "Processes" }
func (p *pickerScreen) typing() bool  { return p.filtering }

func (p *pickerScreen) helpKeys() []key.Binding {
	k := p.s.keys
	return []key.Binding{k.Nav.Up, k.Nav.Down, k.Picker.Filter, k.Picker.Sort, k.Picker.Attach, k.Picker.Detach, k.Picker.Refresh}
}

func (p *pickerScreen) setSize(w, h int) { p.w, p.h = w, h; p.clamp() }

// listH is the rows' height: the body less the filter line, the header
// and the two detail lines of the selected row.
func (p *pickerScreen) listH() int { return max(1, p.h-4) }

func (p *pickerScreen) sortKey() hostview.SortKey { return hostview.SortKeys[p.sortIdx] }

func (p *pickerScreen) clamp() {
	p.cursor = max(0, min(p.cursor, len(p.rows)-1))
	if p.cursor < p.offset {
		p.offset = p.cursor
	}
	if p.cursor >= p.offset+p.listH() {
		p.offset = p.cursor - p.listH() + 1
	}
	p.offset = max(0, p.offset)
	if p.cursor < len(p.rows) {
		p.selPID = p.rows[p.cursor].PID
	}
}

// applyView sorts and filters the refresh's rows, keeping the selection
// on the same process.
func (p *pickerScreen) applyView() {
	p.rows = p.rows[:0]
	if p.hv != nil {
		for _, r := range p.hv.Rows {
			if r.GoVersion != "" && hostview.Matches(r, p.filter) {
				if p.attached != nil && p.attached(r.PID) {
					r.Attached = true
				}
				p.rows = append(p.rows, r)
			}
		}
	}
	hostview.Sort(p.rows, p.sortKey())
	for i, r := range p.rows {
		if r.PID == p.selPID {
			p.cursor = i
			break
		}
	}
	p.clamp()
}

// hostViewMsg is one refresh of the host overview.
type hostViewMsg struct {
	view *hostview.View
	err  error
}

// hostTickMsg asks for the next refresh.
type hostTickMsg struct{}

func refreshHost(ctx context.Context, src HostSource) tea.Cmd {
	return func() tea.Msg {
		v, err := src.Refresh(ctx)
		if ctx.Err() != nil {
			return nil
		}
		return hostViewMsg{view: v, err: err}
	}
}

// refresh starts a refresh unless one runs or the overview is hidden
// (a dashboard in front: nothing reads the rows, so nothing is read).
func (p *pickerScreen) refresh() tea.Cmd {
	if p.refreshing || !p.visible || p.src == nil {
		return nil
	}
	p.refreshing = true
	return refreshHost(p.s.ctx, p.src)
}

// show makes the overview visible again and refreshes it at once.
func (p *pickerScreen) show() tea.Cmd {
	p.visible = true
	p.attaching = ""
	p.applyView()
	return p.refresh()
}

func (p *pickerScreen) update(msg tea.Msg) tea.Cmd {
	k := p.s.keys
	switch msg := msg.(type) {
	case hostViewMsg:
		p.refreshing = false
		p.err = msg.err
		if msg.err == nil {
			p.hv = msg.view
		}
		p.applyView()
		iv := time.Second
		if p.src != nil {
			iv = p.src.Interval()
		}
		return tea.Tick(iv, func(time.Time) tea.Msg { return hostTickMsg{} })
	case hostTickMsg:
		return p.refresh()
	case attachedMsg:
		p.attaching = ""
		p.err = msg.err
	case tea.MouseClickMsg:
		i := msg.Mouse().Y - 2 + p.offset
		if i >= 0 && i < len(p.rows) {
			if i == p.cursor {
				return p.attach()
			}
			p.cursor = i
		}
		p.clamp()
	case tea.MouseWheelMsg:
		if msg.Mouse().Button == tea.MouseWheelUp {
			p.cursor--
		} else {
			p.cursor++
		}
		p.clamp()
	case tea.KeyPressMsg:
		if p.filtering {
			switch msg.String() {
			case "enter":
				p.filtering = false
				return p.attach()
			case "esc":
				p.filtering = false
				p.filter = ""
			case "ctrl+u":
				p.filter = ""
			case "backspace":
				if r := []rune(p.filter); len(r) > 0 {
					p.filter = string(r[:len(r)-1])
				}
			case "up":
				p.cursor--
			case "down":
				p.cursor++
			default:
				p.filter += msg.Text
			}
			p.applyView()
			return nil
		}
		p.note = ""
		switch {
		case key.Matches(msg, k.Picker.Filter):
			p.filtering = true
		case key.Matches(msg, k.Picker.Attach):
			return p.attach()
		case key.Matches(msg, k.Picker.Sort):
			if msg.String() == "S" {
				p.sortIdx = (p.sortIdx + len(hostview.SortKeys) - 1) % len(hostview.SortKeys)
			} else {
				p.sortIdx = (p.sortIdx + 1) % len(hostview.SortKeys)
			}
			p.applyView()
		case key.Matches(msg, k.Picker.Detach):
			if p.cursor < len(p.rows) && p.close != nil {
				pid := p.rows[p.cursor].PID
				if p.close(pid) {
					p.note = fmt.Sprintf("pid %d: session closed", pid)
					p.applyView()
				}
			}
		case key.Matches(msg, k.Picker.Refresh):
			return p.refresh()
		case key.Matches(msg, k.Nav.Up):
			p.cursor--
		case key.Matches(msg, k.Nav.Down):
			p.cursor++
		case key.Matches(msg, k.Nav.PageUp):
			p.cursor -= p.listH()
		case key.Matches(msg, k.Nav.PageDown):
			p.cursor += p.listH()
		case key.Matches(msg, k.Nav.Home):
			p.cursor = 0
		case key.Matches(msg, k.Nav.End):
			p.cursor = len(p.rows) - 1
		}
		p.clamp()
	}
	return nil
}

func (p *pickerScreen) attach() tea.Cmd {
	if p.attaching != "" || p.cursor >= len(p.rows) || p.open == nil {
		return nil
	}
	r := p.rows[p.cursor]
	if r.Exited && !r.Attached {
		p.note = fmt.Sprintf("pid %d has exited", r.PID)
		return nil
	}
	if !r.Attached {
		p.attaching = fmt.Sprintf("pid %d", r.PID)
	}
	p.err = nil
	return p.open(r)
}

func (p *pickerScreen) statusText() string {
	t := p.s.theme
	switch {
	case p.attaching != "":
		return t.Warn.S("attaching to " + p.attaching + "…")
	case p.err != nil:
		return t.Crit.S(safetext.Line(p.err.Error())) // may quote what a target answered
	case p.hv == nil:
		return t.Muted.S("reading the Go processes of this host…")
	case p.note != "":
		return t.Muted.S(p.note)
	}
	attached, total := 0, 0
	for _, r := range p.hv.Rows {
		if r.GoVersion == "" {
			continue
		}
		total++
		if r.Attached || p.attached != nil && p.attached(r.PID) {
			attached++
		}
	}
	parts := []string{fmt.Sprintf("%d Go processes", total)}
	if len(p.rows) != total {
		parts[0] = fmt.Sprintf("%d of %d Go processes", len(p.rows), total)
	}
	if attached > 0 {
		parts = append(parts, fmt.Sprintf("%d attached", attached))
	}
	v := p.hv
	// The refresh's own cost: its wall time, read by the overview itself.
	parts = append(parts, fmt.Sprintf("refresh %s every %s", measurement.Seconds(v.Took.Seconds()), shortDuration(p.src.Interval())))
	if v.Skipped > 0 {
		parts = append(parts, fmt.Sprintf("%d still reading", v.Skipped))
	}
	parts = append(parts, "at "+v.At.Local().Format("15:04:05"))
	if v.ScanErr != nil {
		return t.Warn.S(strings.Join(parts, " · ") + " · rescan failed: " + safetext.Line(v.ScanErr.Error()))
	}
	return t.Muted.S(strings.Join(parts, " · "))
}

// headerLines are the chrome's two lines above the tabs.
func (p *pickerScreen) headerLines(w int) []string {
	t := p.s.theme
	l1 := t.Title.S("gotune") + t.Muted.S(" · every Go process on this host")
	if p.hv == nil {
		return []string{l1, t.Muted.S("discovery: the build info of each executable, its listening sockets and gops port files")}
	}
	var cpu, rss float64
	var crit, warn int
	for _, r := range p.rows {
		if r.Exited {
			continue
		}
		if r.CPU != nil {
			cpu += r.CPU.Value
		}
		if r.RSS != nil {
			rss += r.RSS.Value
		}
		crit += r.Findings.Crit
		warn += r.Findings.Warn
	}
	l2 := fmt.Sprintf("all shown: CPU %s cores · RSS %s · findings %d crit, %d warn", trimFloat(cpu), measurement.Bytes(rss), crit, warn)
	return []string{l1, t.Muted.S(l2)}
}

// column is one column of the table: its title, width and priority
// (columns with the largest priority go first when the terminal is
// narrow), and the cell of a row (plain text; the view colours a few).
type column struct {
	title string
	width int
	prio  int
	left  bool
	cell  func(r hostview.Row) string
}

func fig(f *hostview.Figure, format func(float64) string) string {
	if f == nil {
		return "-"
	}
	s := format(f.Value)
	if f.Estimated {
		s = "~" + s
	}
	return s
}

func compactBytes(v float64) string { return strings.ReplaceAll(measurement.Bytes(v), " ", "") }

func trimFloat(v float64) string {
	switch a := math.Abs(v); {
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func findingsCell(f hostview.Findings) string {
	switch {
	case f.At.IsZero():
		return "…"
	case f.Total() == 0:
		return "-"
	}
	return fmt.Sprintf("%d/%d/%d", f.Crit, f.Warn, f.Info)
}

var hostColumns = []column{
	{title: "PID", width: 8, left: true, cell: func(r hostview.Row) string {
		mark := ""
		switch {
		case r.Attached:
			mark = "●"
		case r.Exited:
			mark = "×"
		}
		return strconv.Itoa(r.PID) + mark
	}},
	{title: "NAME", width: 12, left: true, cell: func(r hostview.Row) string { return safetext.Line(r.Name) }},
	{title: "GO", width: 7, prio: 3, left: true, cell: func(r hostview.Row) string { return safetext.Line(strings.TrimPrefix(r.GoVersion, "go")) }},
	{title: "HEAP", width: 7, prio: 1, cell: func(r hostview.Row) string { return fig(r.HeapLive, compactBytes) }},
	{title: "GOAL", width: 7, prio: 2, cell: func(r hostview.Row) string { return fig(r.HeapGoal, compactBytes) }},
	{title: "LIMIT", width: 7, prio: 2, cell: func(r hostview.Row) string { return fig(r.MemLimit, compactBytes) }},
	{title: "GC%", width: 5, prio: 1, cell: func(r hostview.Row) string { return fig(r.GCCPU, measurement.Percent) }},
	{title: "GC/s", width: 4, prio: 2, cell: func(r hostview.Row) string { return fig(r.GCRate, trimFloat) }},
	{title: "GORS", width: 6, prio: 1, cell: func(r hostview.Row) string { return fig(r.Goroutines, measurement.Count) }},
	{title: "+/MIN", width: 6, prio: 1, cell: func(r hostview.Row) string {
		return fig(r.GoroutineGrowth, func(v float64) string {
			s := measurement.Count(math.Round(v))
			if v >= 0.5 {
				s = "+" + s
			}
			return s
		})
	}},
	{title: "CPU", width: 5, prio: 1, cell: func(r hostview.Row) string { return fig(r.CPU, trimFloat) }},
	{title: "PROCS/Q", width: 7, prio: 1, cell: func(r hostview.Row) string {
		q := "-"
		if r.CPUQuota != nil {
			q = trimFloat(r.CPUQuota.Value)
		}
		return fig(r.GOMAXPROCS, func(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }) + "/" + q
	}},
	{title: "THR", width: 5, prio: 2, cell: func(r hostview.Row) string { return fig(r.Throttled, measurement.Percent) }},
	{title: "RSS", width: 7, prio: 1, cell: func(r hostview.Row) string { return fig(r.RSS, compactBytes) }},
	{title: "C/W/I", width: 6, prio: 1, cell: func(r hostview.Row) string { return findingsCell(r.Findings) }},
	{title: "REACH", width: 14, prio: 2, left: true, cell: func(r hostview.Row) string { return safetext.Line(r.Reach) }},
	{title: "COMMAND", width: 0, prio: 4, left: true, cell: func(r hostview.Row) string { return safetext.Line(r.Command) }},
}

// columnsFor picks the columns that fit w, most important first (a column
// that does not fit is skipped, a smaller one after it may still fit);
// COMMAND (width 0) takes what is left when at least 12 cells are.
func columnsFor(w int) []column {
	keep := make([]bool, len(hostColumns))
	used := -1
	for prio := 0; prio <= 4; prio++ {
		for i, c := range hostColumns {
			if c.prio != prio || c.width == 0 {
				continue
			}
			if used+1+c.width <= w || prio == 0 {
				keep[i] = true
				used += 1 + c.width
			}
		}
	}
	var cols []column
	for i, c := range hostColumns {
		switch {
		case keep[i]:
			cols = append(cols, c)
		case c.width == 0 && w-used-1 >= 12:
			c.width = w - used - 1
			cols = append(cols, c)
		}
	}
	return cols
}

func renderCells(cols []column, cell func(c column) string) string {
	var b strings.Builder
	for i, c := range cols {
		if i > 0 {
			b.WriteByte(' ')
		}
		s := cell(c)
		if c.width > 0 && ansi.StringWidthWc(s) > c.width {
			s = ansi.TruncateWc(s, c.width, "…")
		}
		pad := strings.Repeat(" ", max(0, c.width-ansi.StringWidthWc(s)))
		if c.left {
			b.WriteString(s + pad)
		} else {
			b.WriteString(pad + s)
		}
	}
	return strings.TrimRight(b.String(), " ")
}

func (p *pickerScreen) view() string {
	t := p.s.theme
	var lines []string
	f := t.Key.S("/") + t.Muted.S(" filter")
	if p.filtering || p.filter != "" {
		cur := ""
		if p.filtering {
			cur = "█"
		}
		f = t.Key.S("/") + safetext.Line(p.filter) + cur
	}
	lines = append(lines, f+t.Muted.S("   sort ")+t.Bold.S(string(p.sortKey()))+t.Muted.S(" (s) · enter attaches · x closes a session · r refreshes"))
	cols := columnsFor(p.w)
	lines = append(lines, t.Muted.S(renderCells(cols, func(c column) string {
		if c.title == strings.ToUpper(string(p.sortKey())) || c.title == "GC%" && p.sortKey() == hostview.ByGCCPU ||
			c.title == "+/MIN" && p.sortKey() == hostview.ByGrowth || c.title == "GORS" && p.sortKey() == hostview.ByGoroutines ||
			c.title == "C/W/I" && p.sortKey() == hostview.ByFindings {
			return c.title + "▼"
		}
		return c.title
	})))
	if len(p.rows) == 0 && p.hv != nil {
		lines = append(lines, t.Muted.S("no Go processes match"))
	}
	for i := p.offset; i < len(p.rows) && i < p.offset+p.listH(); i++ {
		r := p.rows[i]
		sel := i == p.cursor
		row := renderCells(cols, func(c column) string {
			s := c.cell(r)
			if sel || s == "-" {
				return s
			}
			// A few cells in colour: findings by severity, a leak's growth.
			switch c.title {
			case "C/W/I":
				if r.Findings.Crit > 0 {
					return t.Crit.S(s)
				} else if r.Findings.Warn > 0 {
					return t.Warn.S(s)
				}
			case "+/MIN":
				if r.GoroutineGrowth != nil && r.GoroutineGrowth.Value >= 60 {
					return t.Warn.S(s)
				}
			case "PID":
				if r.Attached {
					return t.OK.S(s)
				}
			}
			return s
		})
		switch {
		case sel:
			row = t.Selected.S(row + strings.Repeat(" ", max(0, p.w-ansi.StringWidthWc(row))))
		case r.Exited:
			row = t.Faint.S(row)
		}
		lines = append(lines, row)
	}
	for len(lines) < p.h-2 {
		lines = append(lines, "")
	}
	lines = append(lines, p.detailLines()...)
	return strings.Join(lines, "\n")
}

// detailLines say, for the selected row, how it is reached and where its
// figures come from (estimates marked ~ in the table are named here).
func (p *pickerScreen) detailLines() []string {
	t := p.s.theme
	if p.cursor >= len(p.rows) {
		return []string{"", ""}
	}
	r := p.rows[p.cursor]
	l1 := fmt.Sprintf("pid %d · %s · metrics via %s", r.PID, safetext.Line(r.Reach), r.Via)
	if r.User != "" {
		l1 += " · user " + safetext.Line(r.User)
	}
	if r.Attached {
		l1 += " · attached: figures from its session"
	}
	var o []string
	add := func(name string, f *hostview.Figure) {
		if f != nil {
			o = append(o, name+": "+f.Origin)
		}
	}
	add("GC CPU", r.GCCPU)
	add("growth", r.GoroutineGrowth)
	if r.GOMAXPROCS != nil && r.GOMAXPROCS.Estimated {
		add("GOMAXPROCS", r.GOMAXPROCS)
	}
	add("quota", r.CPUQuota)
	l2 := strings.Join(o, " · ")
	switch {
	case r.Error != "":
		l2 = t.Warn.S(safetext.Line(r.Error))
	case r.Findings.CouldNotRun > 0 && l2 == "":
		l2 = fmt.Sprintf("advice: %d of %d rules could not run over %d samples (the overview fetches no profiles)", r.Findings.CouldNotRun, r.Findings.Rules, r.Findings.Samples)
	}
	return []string{t.Muted.S(l1), t.Muted.S(safetext.Line(l2))}
}

// scanSource adapts a ScanFunc (a plain list of processes, no figures but
// discovery's) into a HostSource, for front ends that give only Scan.
type scanSource struct {
	scan  ScanFunc
	procs []discover.Process
}

func (s *scanSource) Interval() time.Duration      { return 5 * time.Second }
func (s *scanSource) Use(int, *session.Store) bool { return false }
func (s *scanSource) Release(int)                  {}

func (s *scanSource) Process(pid int) (discover.Process, bool) {
	for _, p := range s.procs {
		if p.PID == pid {
			return p, true
		}
	}
	return discover.Process{}, false
}

func (s *scanSource) Refresh(ctx context.Context) (*hostview.View, error) {
	start := time.Now()
	procs, err := s.scan(ctx)
	if err != nil {
		return nil, err
	}
	s.procs = procs
	v := &hostview.View{At: time.Now(), Scanned: time.Now()}
	v.Took = v.At.Sub(start)
	for _, p := range procs {
		r := hostview.Row{PID: p.PID, Name: p.Command, Command: p.Command, User: p.User, GoVersion: p.GoVersion,
			StartTime: p.StartTime, Reach: p.Reach.String(), Via: p.Reach.Metrics(), Findings: hostview.Findings{}}
		if f := strings.Fields(p.Command); len(f) > 0 {
			r.Name = f[0]
		}
		if p.CPUPercent != nil {
			r.CPU = &hostview.Figure{Value: *p.CPUPercent / 100, Origin: "CPU over the scan's window, from /proc"}
		}
		if p.RSSBytes > 0 {
			r.RSS = &hostview.Figure{Value: float64(p.RSSBytes), Origin: "resident set size from /proc"}
		}
		v.Rows = append(v.Rows, r)
	}
	return v, nil
}
