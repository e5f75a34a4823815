package ui

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/safetext"
)

// Sort orders of the top table.
const (
	sortFlat = iota
	sortCum
	sortName
)

var sortNames = []string{"flat", "cum", "name"}

// topScreen is the flat/cum table of the profile the flame screen shows.
type topScreen struct {
	s    *shared
	w, h int

	sortBy    int
	filtering bool
	filter    string
	cursor    int
	offset    int

	// rows, recomputed when the profile, sort or filter changes
	source *flameData
	rows   []profile.TopRow
	key    string

	// The refinements and the export act on the profile the Flame screen
	// owns (a refineMsg asks it to aggregate again).
	refine *refinePrompt
	export *exportPrompt
}

func newTopScreen(s *shared) *topScreen {
	return &topScreen{s: s, refine: newRefinePrompt(s), export: newExportPrompt(s)}
}

func (t *topScreen) title() string { return "Top" }
func (t *topScreen) typing() bool  { return t.filtering || t.refine.open || t.export.open }

func (t *topScreen) helpKeys() []key.Binding {
	k := t.s.keys
	return []key.Binding{k.Nav.Up, k.Nav.Down, k.Nav.PageUp, k.Nav.PageDown, k.Top.Sort, k.Top.Filter, k.Top.Jump,
		k.Flame.Refine, k.Flame.ClearRefine, k.Flame.Granularity, k.Flame.Export}
}

func (t *topScreen) setSize(w, h int) { t.w, t.h = w, h; t.clamp() }

// refresh rebuilds the visible rows when their inputs changed.
func (t *topScreen) refresh() {
	d := t.s.profile
	k := fmt.Sprint(t.sortBy, "\x00", t.filter)
	if d == t.source && k == t.key {
		return
	}
	t.source, t.key = d, k
	t.rows = nil
	if d == nil {
		return
	}
	match := matcher(t.filter)
	for _, r := range d.top.Rows {
		if match == nil || match(r.Name) {
			t.rows = append(t.rows, r)
		}
	}
	slices.SortStableFunc(t.rows, func(a, b profile.TopRow) int {
		switch t.sortBy {
		case sortCum:
			return cmp.Compare(b.Cum, a.Cum)
		case sortName:
			return cmp.Compare(a.Name, b.Name)
		}
		return cmp.Compare(b.Flat, a.Flat)
	})
	t.clamp()
}

func (t *topScreen) listH() int {
	if d := t.s.profile; d != nil && len(chips(d.opts)) > 0 {
		return max(1, t.h-3)
	}
	return max(1, t.h-2)
}

func (t *topScreen) clamp() {
	t.cursor = max(0, min(t.cursor, len(t.rows)-1))
	lh := t.listH()
	if t.cursor < t.offset {
		t.offset = t.cursor
	}
	if t.cursor >= t.offset+lh {
		t.offset = t.cursor - lh + 1
	}
	t.offset = max(0, t.offset)
}

func (t *topScreen) update(msg tea.Msg) tea.Cmd {
	k := t.s.keys
	t.refresh()
	switch msg := msg.(type) {
	case tea.PasteMsg:
		switch {
		case t.refine.open:
			t.refine.paste(msg.Content)
		case t.export.open:
			t.export.paste(msg.Content)
		}
	case tea.MouseClickMsg:
		row := msg.Mouse().Y - (t.h - t.listH()) + t.offset
		if row >= 0 && row < len(t.rows) {
			if row == t.cursor {
				return t.jump()
			}
			t.cursor = row
		}
	case tea.MouseWheelMsg:
		if msg.Mouse().Button == tea.MouseWheelUp {
			t.cursor -= 3
		} else {
			t.cursor += 3
		}
		t.clamp()
	case tea.KeyPressMsg:
		switch {
		case t.refine.open:
			if o, ok := t.refine.update(msg); ok {
				return func() tea.Msg { return refineMsg{opts: o} }
			}
			return nil
		case t.export.open:
			return t.export.update(msg)
		}
		if d := t.s.profile; d != nil {
			switch {
			case key.Matches(msg, k.Flame.Refine):
				t.refine.start(d.opts)
				return nil
			case key.Matches(msg, k.Flame.ClearRefine):
				o := d.opts
				o.Options = profile.Options{SampleIndex: o.SampleIndex, Granularity: o.Granularity}
				return func() tea.Msg { return refineMsg{opts: o} }
			case key.Matches(msg, k.Flame.Granularity):
				o := d.opts
				o.Granularity = (o.Granularity + 1) % (profile.Addresses + 1)
				return func() tea.Msg { return refineMsg{opts: o} }
			case key.Matches(msg, k.Flame.Export):
				t.export.start(d, exportTop)
				return nil
			}
		}
		if t.filtering {
			switch msg.String() {
			case "enter":
				t.filtering = false
			case "esc":
				t.filtering = false
				t.filter = ""
			case "backspace":
				if r := []rune(t.filter); len(r) > 0 {
					t.filter = string(r[:len(r)-1])
				}
			default:
				t.filter += msg.Text
			}
			t.cursor, t.offset = 0, 0
			t.refresh()
			return nil
		}
		switch {
		case key.Matches(msg, k.Top.Sort):
			t.sortBy = (t.sortBy + 1) % len(sortNames)
			t.cursor, t.offset = 0, 0
		case key.Matches(msg, k.Top.Filter):
			t.filtering = true
		case key.Matches(msg, k.Top.Jump):
			return t.jump()
		case key.Matches(msg, k.Nav.Up):
			t.cursor--
		case key.Matches(msg, k.Nav.Down):
			t.cursor++
		case key.Matches(msg, k.Nav.PageUp):
			t.cursor -= t.listH()
		case key.Matches(msg, k.Nav.PageDown):
			t.cursor += t.listH()
		case key.Matches(msg, k.Nav.Home):
			t.cursor = 0
		case key.Matches(msg, k.Nav.End):
			t.cursor = len(t.rows) - 1
		}
		t.refresh()
		t.clamp()
	}
	return nil
}

func (t *topScreen) jump() tea.Cmd {
	if t.cursor < 0 || t.cursor >= len(t.rows) {
		return nil
	}
	name := t.rows[t.cursor].Name
	return func() tea.Msg { return jumpToFrameMsg{name: name} }
}

func (t *topScreen) view() string {
	th := t.s.theme
	d := t.source
	if d != t.s.profile || t.key != fmt.Sprint(t.sortBy, "\x00", t.filter) {
		// View must not change state; a stale cache only happens before
		// the first update after a new profile, so render from scratch.
		cp := *t
		cp.refresh()
		t = &cp
		d = t.source
	}
	if d == nil {
		return th.Muted.S("no profile yet: open the Flame screen (2) and fetch one (c CPU, m heap, a allocs, x mutex, b block)")
	}
	var lines []string
	info := th.Bold.S(d.label()) + th.Muted.S(fmt.Sprintf(" · %d %s · total %s · sorted by %s (o)", len(t.rows), d.opts.Granularity, d.format(d.total), sortNames[t.sortBy]))
	if t.filtering || t.filter != "" {
		cur := ""
		if t.filtering {
			cur = "█"
		}
		info += "  " + th.Key.S("/") + safetext.Line(t.filter) + cur
	}
	lines = append(lines, info)
	if len(chips(d.opts)) > 0 {
		lines = append(lines, chipsLine(th, d.opts, t.w))
	}
	nameW := max(10, t.w-52)
	hdr := fmt.Sprintf("%10s %7s %7s %10s %7s  %s", "flat", "flat%", "sum%", "cum", "cum%", "function")
	lines = append(lines, th.Muted.S(hdr))
	var sum int64
	for i := 0; i < t.offset && i < len(t.rows); i++ {
		sum += t.rows[i].Flat
	}
	for i := t.offset; i < len(t.rows) && i < t.offset+t.listH(); i++ {
		r := t.rows[i]
		sum += r.Flat
		name := ansi.TruncateWc(safetext.Line(r.Name), nameW, "…")
		row := fmt.Sprintf("%10s %7s %7s %10s %7s  %s", d.format(r.Flat), d.share(r.Flat), d.share(sum),
			d.format(r.Cum), d.share(r.Cum), name)
		if i == t.cursor {
			row = th.Selected.S(row + strings.Repeat(" ", max(0, t.w-ansi.StringWidthWc(row))))
		}
		lines = append(lines, row)
	}
	return overlayPrompt(lines, t.w, t.h, t.refine, t.export)
}
