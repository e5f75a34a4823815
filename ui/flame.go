package ui

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/safetext"
	"github.com/gotune/gotune/themes"
)

// rect is a frame placed in the icicle: row (depth below the zoomed frame),
// first column and width in cells.
type rect struct {
	n        *flameNode
	x, w     int
	row      int
	nameCell string // the truncated label, padded to w-1
}

var captureSteps = []int{1, 2, 3, 5, 10, 15, 30, 60}

// flameScreen is the icicle view of one profile.
type flameScreen struct {
	s    *shared
	w, h int

	gen         int // request generation: answers to older requests are dropped
	loading     profile.Kind
	captureFrom time.Time
	captureSecs int
	cancel      context.CancelFunc
	err         error
	notice      string

	data   *flameData
	icicle // the placed frames, the zoom and the selection

	searching  bool
	query      string
	matches    map[*flameNode]bool
	matchValue int64

	// layout, recomputed on resize, zoom, data or search change
	top                 int // first icicle row within the body
	iw, ih, panelW      int
	panelBelow          bool
	palette             *themes.Theme
	cells               []string // rendered icicle rows, cached per layout/selection/theme
	cellsSel, cellsMark *flameNode
}

func newFlameScreen(s *shared) *flameScreen { return &flameScreen{s: s} }

func (f *flameScreen) title() string { return "Flame" }
func (f *flameScreen) typing() bool  { return f.searching }

func (f *flameScreen) helpKeys() []key.Binding {
	k := f.s.keys
	var bs []key.Binding
	for _, kk := range k.Flame.Kinds {
		bs = append(bs, kk.binding)
	}
	return append(bs, k.Flame.Longer, k.Flame.SampleType, k.Flame.Refresh, k.Nav.Up, k.Nav.Down, k.Nav.Left, k.Nav.Right,
		k.Flame.Zoom, k.Flame.ZoomOut, k.Flame.Search, k.Flame.NextMatch)
}

func (f *flameScreen) setSize(w, h int) {
	f.w, f.h = w, h
	f.relayout()
}

func (f *flameScreen) capturing() bool { return f.loading.Timed() }

func (f *flameScreen) progressText() string {
	el := f.s.now.Sub(f.captureFrom).Seconds()
	frac := math.Min(1, math.Max(0, el/float64(f.captureSecs)))
	const n = 10
	done := int(frac * n)
	return fmt.Sprintf("capturing CPU %d/%ds [%s%s] esc cancels", int(math.Min(el, float64(f.captureSecs))), f.captureSecs,
		strings.Repeat("█", done), strings.Repeat("░", n-done))
}

// fetch starts loading kind, superseding any request in flight.
func (f *flameScreen) fetch(kind profile.Kind, sampleIndex string) tea.Cmd {
	sess := f.s.sess
	if sess == nil || !sess.HasProfiles() {
		return nil
	}
	if f.cancel != nil {
		f.cancel()
	}
	f.gen++
	f.err, f.notice = nil, ""
	f.loading = kind
	ctx, cancel := context.WithCancel(f.s.ctx)
	f.cancel = cancel
	secs := f.s.cpuSeconds
	if kind.Timed() {
		f.captureFrom = f.s.now
		f.captureSecs = secs
		return tea.Batch(fetchProfile(ctx, sess, f.gen, kind, secs, sampleIndex), captureTick(f.gen))
	}
	return fetchProfile(ctx, sess, f.gen, kind, secs, sampleIndex)
}

func (f *flameScreen) update(msg tea.Msg) tea.Cmd {
	k := f.s.keys
	switch msg := msg.(type) {
	case activatedMsg:
		if f.data == nil && f.loading == "" && f.err == nil {
			return f.fetch(profile.KindHeap, "")
		}
	case profileMsg:
		if msg.gen != f.gen {
			return nil
		}
		f.loading = ""
		if f.cancel != nil {
			f.cancel()
			f.cancel = nil
		}
		if msg.err != nil {
			if errors.Is(msg.err, errCaptureCancelled) {
				f.notice = "CPU capture cancelled"
			} else {
				f.err = msg.err
			}
			return nil
		}
		f.setData(msg.data)
	case captureTickMsg:
		if msg.gen == f.gen && f.capturing() {
			f.s.now = f.s.clock()
			return captureTick(f.gen)
		}
	case jumpToFrameMsg:
		f.jumpTo(msg.name)
	case tea.MouseClickMsg:
		f.click(msg.Mouse().X, msg.Mouse().Y)
	case tea.MouseWheelMsg:
		if msg.Mouse().Button == tea.MouseWheelUp {
			f.moveVertical(-1)
		} else {
			f.moveVertical(1)
		}
	case tea.KeyPressMsg:
		if f.searching {
			f.searchKey(msg)
			return nil
		}
		for _, kk := range k.Flame.Kinds {
			if key.Matches(msg, kk.binding) {
				if kk.kind.Timed() && f.capturing() {
					return nil // one capture at a time; esc cancels it
				}
				return f.fetch(kk.kind, "")
			}
		}
		switch {
		case key.Matches(msg, k.Flame.ZoomOut) && f.capturing():
			f.cancel()
		case key.Matches(msg, k.Flame.Refresh):
			if f.data != nil {
				return f.fetch(f.data.kind, f.data.sampleType)
			}
			return f.fetch(profile.KindHeap, "")
		case key.Matches(msg, k.Flame.SampleType):
			if d := f.data; d != nil && len(d.sampleTypes) > 1 {
				next := d.sampleTypes[0]
				for i, st := range d.sampleTypes {
					if st == d.sampleType {
						next = d.sampleTypes[(i+1)%len(d.sampleTypes)]
					}
				}
				f.gen++
				f.loading = d.kind
				return rebuildProfile(d, f.gen, next)
			}
		case key.Matches(msg, k.Flame.Longer):
			f.s.cpuSeconds = stepCapture(f.s.cpuSeconds, 1)
		case key.Matches(msg, k.Flame.Shorter):
			f.s.cpuSeconds = stepCapture(f.s.cpuSeconds, -1)
		case key.Matches(msg, k.Flame.Search):
			f.searching = true
			f.setQuery("")
		case key.Matches(msg, k.Flame.NextMatch):
			f.nextMatch()
		case key.Matches(msg, k.Flame.Zoom):
			if f.sel != nil && f.sel != f.focus {
				f.focus = f.sel
				f.relayout()
			}
		case key.Matches(msg, k.Flame.ZoomOut):
			if f.focus != nil && f.focus.parent != nil {
				f.focus = f.focus.parent
				f.relayout()
			}
		case key.Matches(msg, k.Nav.Up):
			f.moveVertical(-1)
		case key.Matches(msg, k.Nav.Down):
			f.moveVertical(1)
		case key.Matches(msg, k.Nav.Left):
			f.moveHorizontal(-1)
		case key.Matches(msg, k.Nav.Right):
			f.moveHorizontal(1)
		}
	}
	return nil
}

func stepCapture(cur, dir int) int {
	for i, s := range captureSteps {
		if s >= cur {
			if s > cur && dir < 0 {
				return captureSteps[max(0, i-1)]
			}
			return captureSteps[max(0, min(len(captureSteps)-1, i+dir))]
		}
	}
	return captureSteps[len(captureSteps)-1]
}

func (f *flameScreen) searchKey(msg tea.KeyPressMsg) {
	switch msg.String() {
	case "enter":
		f.searching = false
		f.nextMatchFrom(nil)
	case "esc":
		f.searching = false
		f.setQuery("")
	case "backspace":
		if f.query != "" {
			r := []rune(f.query)
			f.setQuery(string(r[:len(r)-1]))
		}
	default:
		if msg.Text != "" {
			f.setQuery(f.query + msg.Text)
		}
	}
}

func (f *flameScreen) setQuery(q string) {
	f.query = q
	f.matches, f.matchValue = nil, 0
	if f.data != nil && q != "" {
		f.matches, f.matchValue = f.data.searchTree(q)
	}
	f.cells = nil
}

// setData shows a new profile, keeping the zoom and selection by name
// where the new tree has them.
func (f *flameScreen) setData(d *flameData) {
	var focusPath, selPath []string
	if f.data != nil && f.data.kind == d.kind {
		focusPath, selPath = pathOf(f.focus), pathOf(f.sel)
	}
	f.data = d
	f.s.profile = d
	f.focus = findPath(d.root, focusPath)
	f.sel = findPath(d.root, selPath)
	if f.sel == f.focus && len(f.focus.children) > 0 && selPath == nil {
		f.sel = f.focus.children[0]
	}
	f.setQuery(f.query)
	f.relayout()
}

func pathOf(n *flameNode) []string {
	var p []string
	for ; n != nil && n.parent != nil; n = n.parent {
		p = append(p, n.name)
	}
	return p // innermost first
}

func findPath(root *flameNode, path []string) *flameNode {
	n := root
	for i := len(path) - 1; i >= 0; i-- {
		var next *flameNode
		for _, c := range n.children {
			if c.name == path[i] {
				next = c
				break
			}
		}
		if next == nil {
			return n
		}
		n = next
	}
	return n
}

// jumpTo selects the largest frame of a function and zooms to its caller.
func (f *flameScreen) jumpTo(name string) {
	if f.data == nil {
		return
	}
	var best *flameNode
	for _, n := range f.data.byName[name] {
		if best == nil || n.total > best.total {
			best = n
		}
	}
	if best == nil {
		return
	}
	f.sel = best
	f.focus = best
	if best.parent != nil {
		f.focus = best.parent
	}
	f.relayout()
}

// relayout places the frames of the zoomed subtree in the icicle.
func (f *flameScreen) relayout() {
	f.rows = nil
	f.cells = nil
	// Two lines above the icicle: the profile and the breadcrumb.
	f.top = 2
	f.panelW, f.panelBelow = 0, false
	f.iw, f.ih = f.w, f.h-f.top
	switch {
	case f.w >= 100:
		f.panelW = min(44, f.w/3)
		f.iw = f.w - f.panelW - 1
	case f.h >= 16:
		f.panelBelow = true
		f.ih -= 5
	}
	if f.data == nil {
		return
	}
	f.layout(f.iw, f.ih, func(n *flameNode) string { return shortName(n.name) })
}

// nextMatch selects the next matching visible frame after the selection,
// in reading order.
func (f *flameScreen) nextMatch() { f.nextMatchFrom(f.sel) }

func (f *flameScreen) nextMatchFrom(after *flameNode) {
	if len(f.matches) == 0 {
		return
	}
	var order []*flameNode
	for _, rs := range f.rows {
		for _, r := range rs {
			if f.matches[r.n] {
				order = append(order, r.n)
			}
		}
	}
	if len(order) == 0 {
		return
	}
	for i, n := range order {
		if n == after {
			f.sel = order[(i+1)%len(order)]
			return
		}
	}
	f.sel = order[0]
}

func (f *flameScreen) click(x, y int) {
	if f.clickAt(x, y-f.top) {
		f.relayout()
	}
}

func (f *flameScreen) view() string {
	t := f.s.theme
	var lines []string
	lines = append(lines, f.infoLine(), f.breadcrumb())
	if f.data == nil {
		lines = append(lines, "", f.emptyText())
		return strings.Join(lines, "\n")
	}
	icicle := f.renderIcicle()
	var panel []string
	if f.panelW > 0 || f.panelBelow {
		pw := f.panelW
		if f.panelBelow {
			pw = f.w
		}
		panel = f.sidePanel(pw)
	}
	for i := 0; i < f.ih; i++ {
		l := ""
		if i < len(icicle) {
			l = icicle[i]
		}
		if f.panelW > 0 {
			pad := f.iw - ansi.StringWidthWc(l)
			if pad > 0 {
				l += strings.Repeat(" ", pad)
			}
			p := ""
			if i < len(panel) {
				p = panel[i]
			}
			l += t.Faint.S("│") + p
		}
		lines = append(lines, l)
	}
	if f.panelBelow {
		lines = append(lines, t.Faint.S(strings.Repeat("─", f.w)))
		lines = append(lines, panel...)
	}
	return strings.Join(lines, "\n")
}

func (f *flameScreen) emptyText() string {
	t := f.s.theme
	if f.s.sess == nil || !f.s.sess.HasProfiles() {
		hint := ""
		if f.s.sess != nil {
			hint = f.s.sess.Hint()
		}
		if hint == "" {
			hint = "import net/http/pprof in the target to enable profiles"
		}
		return t.Warn.S("this target serves no profiles: ") + hint
	}
	if f.loading != "" {
		return t.Muted.S("fetching the " + f.loading.Title() + " profile…")
	}
	var b strings.Builder
	b.WriteString(t.Muted.S("press "))
	for i, kk := range f.s.keys.Flame.Kinds {
		if i > 0 {
			b.WriteString(t.Muted.S(", "))
		}
		b.WriteString(t.Key.S(kk.binding.Help().Key))
		if kk.kind.Timed() {
			b.WriteString(t.Muted.S(fmt.Sprintf(" to capture %ds of %s", f.s.cpuSeconds, kk.kind.Title())))
		} else {
			b.WriteString(t.Muted.S(" " + string(kk.kind)))
		}
	}
	return b.String()
}

func (f *flameScreen) infoLine() string {
	t := f.s.theme
	var left string
	if d := f.data; d != nil {
		left = t.Bold.S(d.label()) + t.Muted.S(" · total "+d.format(d.total)+" · "+fmt.Sprint(d.nodes)+" frames")
		if !d.fetchedAt.IsZero() {
			left += t.Muted.S(" · " + d.fetchedAt.Local().Format("15:04:05"))
		}
	}
	switch {
	case f.searching || f.query != "":
		cursor := ""
		if f.searching {
			cursor = "█"
		}
		s := t.Key.S("/") + f.query + cursor
		if f.query != "" {
			share := "0%"
			if f.data != nil {
				share = f.data.share(f.matchValue)
			}
			s += t.Muted.S(fmt.Sprintf("  %d frames · ", len(f.matches))) + t.Accent.S(share+" of total")
		}
		left += "  " + s
	case f.err != nil:
		left += "  " + t.Crit.S(safetext.Line(f.err.Error()))
	case f.notice != "":
		left += "  " + t.Warn.S(f.notice)
	case f.loading != "" && !f.capturing():
		left += "  " + t.Muted.S("fetching "+f.loading.Title()+"…")
	}
	right := t.Muted.S(fmt.Sprintf("CPU capture %ds (+/-)", f.s.cpuSeconds))
	return joinRight(left, right, f.w)
}

func (f *flameScreen) breadcrumb() string {
	t := f.s.theme
	if f.focus == nil {
		return ""
	}
	var names []string
	for n := f.focus; n != nil; n = n.parent {
		names = append(names, shortName(n.name))
	}
	for i, j := 0, len(names)-1; i < j; i, j = i+1, j-1 {
		names[i], names[j] = names[j], names[i]
	}
	s := strings.Join(names, " › ")
	if ansi.StringWidthWc(s) > f.w-12 {
		s = ansi.TruncateLeftWc(s, ansi.StringWidthWc(s)-(f.w-13), "…")
	}
	zoom := ""
	if f.focus.parent != nil {
		zoom = t.Muted.S(" (zoomed, " + f.data.share(f.focus.total) + "; esc zooms out)")
	}
	return t.Muted.S(s) + zoom
}

func (f *flameScreen) renderIcicle() []string {
	if f.cells != nil && f.cellsSel == f.sel && f.palette == f.s.theme {
		return f.cells
	}
	t := f.s.theme
	out := f.paint(func(n *flameNode) themes.Paint {
		switch {
		case n == f.sel:
			return t.FlameSelected
		case f.matches[n]:
			return t.FlameMatch
		}
		return t.Flame[nameHash(n.name)%uint32(len(t.Flame))]
	})
	f.cells, f.cellsSel, f.palette = out, f.sel, t
	return out
}

func nameHash(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}

// sidePanel describes the selected frame: flat, cum, share, callers and
// callees of its function over the whole profile.
func (f *flameScreen) sidePanel(w int) []string {
	t := f.s.theme
	d, n := f.data, f.sel
	if n == nil || w < 10 {
		return nil
	}
	var out []string
	add := func(s string) { out = append(out, " "+ansi.TruncateWc(s, w-1, "…")) }
	if n.parent == nil {
		add(t.Bold.S("root") + t.Muted.S(" total "+d.format(d.total)))
		return out
	}
	flat, cum, callers, callees := d.relations(n.name)
	if f.panelBelow {
		add(t.Bold.S(n.name))
		add(fmt.Sprintf("%s %s %s   %s %s %s   %s %s of %s",
			t.Muted.S("flat"), d.format(flat), d.share(flat), t.Muted.S("cum"), d.format(cum), d.share(cum),
			t.Muted.S("here"), d.share(n.total), shortName(n.parent.name)))
		add(t.Muted.S("callers ") + relList(callers, 3))
		add(t.Muted.S("callees ") + relList(callees, 3))
		return out
	}
	// Wrap the full name over up to three lines.
	name := n.name
	for i := 0; i < 3 && name != ""; i++ {
		cut := ansi.TruncateWc(name, w-1, "")
		add(t.Bold.S(cut))
		name = name[len(cut):]
	}
	add("")
	add(t.Muted.S("flat  ") + fmt.Sprintf("%10s %7s", d.format(flat), d.share(flat)))
	add(t.Muted.S("cum   ") + fmt.Sprintf("%10s %7s", d.format(cum), d.share(cum)))
	add(t.Muted.S("here  ") + fmt.Sprintf("%10s %7s", d.format(n.total), d.share(n.total)))
	add("")
	rel := func(title string, rs []relation) {
		add(t.Accent.S(title))
		if len(rs) == 0 {
			add(t.Muted.S("  none"))
		}
		for i, r := range rs {
			if i >= 6 {
				add(t.Muted.S(fmt.Sprintf("  … %d more", len(rs)-i)))
				break
			}
			add(fmt.Sprintf("%7s ", d.share(r.value)) + shortName(r.name))
		}
		add("")
	}
	rel("Callers", callers)
	rel("Callees", callees)
	return out
}

func relList(rs []relation, n int) string {
	var parts []string
	for i, r := range rs {
		if i >= n {
			parts = append(parts, fmt.Sprintf("+%d", len(rs)-n))
			break
		}
		parts = append(parts, shortName(r.name))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
