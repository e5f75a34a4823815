package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/safetext"
)

// peekView is the Flame screen's peek (`go tool pprof -peek`): the
// callers and callees of one function over every sample of the view, with
// flat and cum, each edge's value and its share of the function's cum.
// Enter moves to the caller or callee under the cursor.
type peekView struct {
	name   string   // the function peeked at
	cursor int      // index into peekRows
	back   []string // the functions peeked at before, for esc
}

// peekRow is one selectable line: a caller or a callee.
type peekRow struct {
	edge   profile.PeekEdge
	caller bool
}

func (f *flameScreen) openPeek(name string) {
	f.mode = modePeek
	f.pk = peekView{name: name}
}

// peekRows are the callers then the callees of the function peeked at,
// nil while its peek is computed.
func (f *flameScreen) peekRows() []peekRow {
	pk := f.peeks[f.pk.name]
	if pk == nil {
		return nil
	}
	rows := make([]peekRow, 0, len(pk.Callers)+len(pk.Callees))
	for _, e := range pk.Callers {
		rows = append(rows, peekRow{e, true})
	}
	for _, e := range pk.Callees {
		rows = append(rows, peekRow{e, false})
	}
	return rows
}

func (p *peekView) move(d int, rows []peekRow) {
	p.cursor = max(0, min(len(rows)-1, p.cursor+d))
}

func (f *flameScreen) peekKey(msg tea.KeyPressMsg) tea.Cmd {
	k := f.s.keys
	rows := f.peekRows()
	switch {
	case key.Matches(msg, k.Flame.Zoom):
		if f.pk.cursor < len(rows) {
			// Move to the caller or callee: its peek, and the selection
			// in the flame to its largest frame.
			name := rows[f.pk.cursor].edge.Name
			back := append(f.pk.back, f.pk.name)
			f.pk = peekView{name: name, back: back}
			if ns := nodesNamed(f.tree, name); len(ns) > 0 {
				f.sel = ns[0]
				if p := f.tree.Parent(ns[0]); p != profile.NoNode {
					f.focus = p
				}
				f.relayout()
			}
		}
	case key.Matches(msg, k.Flame.ZoomOut):
		if n := len(f.pk.back); n > 0 {
			f.pk = peekView{name: f.pk.back[n-1], back: f.pk.back[:n-1]}
			return nil
		}
		f.mode = modeFlame
	case key.Matches(msg, k.Flame.Peek):
		f.mode = modeFlame
	case key.Matches(msg, k.Flame.List):
		return f.openList(f.pk.name)
	case key.Matches(msg, k.Nav.Up):
		f.pk.move(-1, rows)
	case key.Matches(msg, k.Nav.Down):
		f.pk.move(1, rows)
	case key.Matches(msg, k.Nav.PageUp):
		f.pk.move(-10, rows)
	case key.Matches(msg, k.Nav.PageDown):
		f.pk.move(10, rows)
	case key.Matches(msg, k.Nav.Home):
		f.pk.cursor = 0
	case key.Matches(msg, k.Nav.End):
		f.pk.move(len(rows), rows)
	}
	return nil
}

// peekView renders the peek in h lines: a title, pprof's legend, the
// callers, the function's own row, the callees.
func (f *flameScreen) peekView(h int) []string {
	t := f.s.theme
	d := f.data
	name := safetext.Line(f.pk.name)
	title := t.Title.S("Peek ") + t.Bold.S(name) + t.Muted.S(" · callers and callees over every sample (go tool pprof -peek)")
	lines := []string{truncateText(title, f.w)}
	pk := f.peeks[f.pk.name]
	if pk == nil {
		return append(lines, "", t.Muted.S("computing callers and callees…"))
	}
	hint := t.Key.S("enter") + t.Muted.S(" moves there · ") + t.Key.S("L") + t.Muted.S(" source · ") + t.Key.S("esc") + t.Muted.S(" back")
	lines = append(lines, hint)
	nameW := max(10, f.w-38)
	lines = append(lines, t.Muted.S(fmt.Sprintf("%10s %7s %10s %7s   %-*s", "flat", "flat%", "cum", "cum%", nameW, "calls · calls% of cum + context")))
	rows := f.peekRows()
	cursor := max(0, min(f.pk.cursor, len(rows)-1))
	// Every line of the report, the selectable ones numbered.
	type line struct {
		text string
		row  int // -1: not selectable
	}
	var body []line
	edge := func(i int, r peekRow) line {
		s := fmt.Sprintf("%29s %7s   %s", d.format(r.edge.Value), strings.TrimSpace(profile.Percent(r.edge.Value, pk.Cum)),
			"  "+ansi.TruncateWc(safetext.Line(r.edge.Name), nameW-2, "…"))
		if r.edge.Inline {
			s += t.Muted.S(" (inline)")
		}
		return line{s, i}
	}
	if len(pk.Callers) == 0 {
		body = append(body, line{t.Muted.S(fmt.Sprintf("%29s", "no callers (a root)")), -1})
	}
	i := 0
	for ; i < len(pk.Callers); i++ {
		body = append(body, edge(i, rows[i]))
	}
	self := fmt.Sprintf("%10s %7s %10s %7s   %s", d.format(pk.Flat), d.share(pk.Flat), d.format(pk.Cum), d.share(pk.Cum),
		t.Bold.S(ansi.TruncateWc(name, nameW, "…")))
	body = append(body, line{t.Faint.S(strings.Repeat("─", min(f.w, 38+nameW))), -1}, line{self, -1}, line{t.Faint.S(strings.Repeat("─", min(f.w, 38+nameW))), -1})
	for ; i < len(rows); i++ {
		body = append(body, edge(i, rows[i]))
	}
	if len(pk.Callees) == 0 {
		body = append(body, line{t.Muted.S(fmt.Sprintf("%29s", "no callees (a leaf)")), -1})
	}
	avail := max(1, h-len(lines))
	// Scroll so the cursor's line shows.
	cur := 0
	for j, l := range body {
		if l.row == cursor && len(rows) > 0 {
			cur = j
		}
	}
	offset := 0
	if cur >= avail {
		offset = cur - avail + 1
	}
	for j := offset; j < len(body) && j < offset+avail; j++ {
		l := body[j]
		if l.row >= 0 && l.row == cursor {
			l.text = t.Selected.S(pad(ansi.Strip(l.text), f.w))
		}
		lines = append(lines, l.text)
	}
	return lines
}
