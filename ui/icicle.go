package ui

import (
	"math"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/gotune/gotune/themes"
)

// icicle places a call tree in rows of cells, root on top, and keeps the
// zoom (focus) and the selected frame. The flame screen and the compare
// view's diff flame share it; each paints the frames its own way.
type icicle struct {
	rows       [][]rect
	focus, sel *flameNode
}

// layout places the subtree under ic.focus in w×h cells; label gives each
// frame's text.
func (ic *icicle) layout(w, h int, label func(*flameNode) string) {
	ic.rows = nil
	if ic.focus == nil || w <= 0 || h <= 0 || ic.focus.total <= 0 {
		return
	}
	ic.rows = make([][]rect, h)
	var place func(n *flameNode, x0, x1 float64, row int)
	place = func(n *flameNode, x0, x1 float64, row int) {
		if row >= h {
			return
		}
		a, b := int(math.Round(x0)), int(math.Round(x1))
		if b-a < 1 {
			return
		}
		cw := b - a
		cell := ""
		if cw > 1 {
			tail := "…"
			if cw-1 < 5 {
				tail = "" // a cut name says more than an ellipsis in two cells
			}
			cell = ansi.TruncateWc(label(n), cw-1, tail)
			cell += strings.Repeat(" ", cw-1-ansi.StringWidthWc(cell))
		}
		ic.rows[row] = append(ic.rows[row], rect{n: n, x: a, w: cw, row: row, nameCell: cell})
		x := x0
		scale := (x1 - x0) / float64(n.total)
		for _, c := range n.children {
			cw := float64(c.total) * scale
			place(c, x, x+cw, row+1)
			x += cw
		}
	}
	place(ic.focus, 0, float64(w), 0)
	if ic.sel == nil || !ic.visible(ic.sel) {
		ic.sel = ic.focus
	}
}

func (ic *icicle) visible(n *flameNode) bool {
	_, _, ok := ic.find(n)
	return ok
}

func (ic *icicle) find(n *flameNode) (row, idx int, ok bool) {
	for ri, rs := range ic.rows {
		for i, r := range rs {
			if r.n == n {
				return ri, i, true
			}
		}
	}
	return 0, 0, false
}

func (ic *icicle) moveVertical(d int) {
	if ic.sel == nil {
		return
	}
	if d < 0 {
		if ic.sel != ic.focus && ic.sel.parent != nil {
			ic.sel = ic.sel.parent
		}
		return
	}
	for _, c := range ic.sel.children {
		if ic.visible(c) {
			ic.sel = c
			return
		}
	}
}

func (ic *icicle) moveHorizontal(d int) {
	row, i, ok := ic.find(ic.sel)
	if !ok {
		return
	}
	j := i + d
	if j >= 0 && j < len(ic.rows[row]) {
		ic.sel = ic.rows[row][j].n
	}
}

// clickAt selects the frame at x in row; a click on the selected frame
// zooms into it, and zoomed says so (the caller lays out again).
func (ic *icicle) clickAt(x, row int) (zoomed bool) {
	if row < 0 || row >= len(ic.rows) {
		return false
	}
	for _, r := range ic.rows[row] {
		if x >= r.x && x < r.x+r.w {
			if ic.sel == r.n && r.n != ic.focus {
				ic.focus = r.n
				zoomed = true
			}
			ic.sel = r.n
			return zoomed
		}
	}
	return false
}

// paint draws the placed rows, each frame with the paint chosen for it.
func (ic *icicle) paint(pick func(n *flameNode) themes.Paint) []string {
	out := make([]string, len(ic.rows))
	var b strings.Builder
	for i, rs := range ic.rows {
		b.Reset()
		x := 0
		for _, r := range rs {
			if r.x > x {
				b.WriteString(strings.Repeat(" ", r.x-x))
			}
			p := pick(r.n)
			if r.w == 1 {
				b.WriteString(p.S("▏"))
			} else {
				b.WriteString(p.S(r.nameCell))
				b.WriteByte(' ')
			}
			x = r.x + r.w
		}
		out[i] = b.String()
	}
	return out
}
