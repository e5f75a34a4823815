package ui

import (
	"math"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/gotune/gotune/themes"
)

// icicleTree is what an icicle places: nodes of type N with a width
// value, children in drawing order (largest first), a parent, and the
// value of children that are not built (drawn as one faint block). The
// Flame screen's is a profile.Tree; the compare view's a merged diff tree.
type icicleTree[N comparable] interface {
	width(n N) int64
	children(n N) []N
	parent(n N) (N, bool)
	trimmed(n N) int64
}

// rect is a frame placed in the icicle: row (depth below the zoomed
// frame), first column and width in cells. other marks the block of a
// node's children that are not built: it can be seen, not selected.
type rect[N comparable] struct {
	n        N
	x, w     int
	row      int
	other    bool
	nameCell string // the truncated label, padded to w-1
}

// maxIcicleRows bounds how deep an icicle is placed (the view scrolls
// through them); deeper frames are reached by zooming.
const maxIcicleRows = 512

// icicle places a call tree in rows of cells, root on top, and keeps the
// zoom (focus), the selected frame and the vertical scroll: rows are
// placed to the tree's depth, the view shows h of them from scroll and
// follows the selection. The flame screen and the compare view's diff
// flame share it; each paints the frames its own way.
type icicle[N comparable] struct {
	tree       icicleTree[N]
	rows       [][]rect[N]
	focus, sel N
	scroll     int // first row shown
	h          int // rows shown
}

// layout places the subtree under ic.focus in w cells and as many rows as
// it is deep; h rows are shown. label gives each frame's text.
func (ic *icicle[N]) layout(w, h int, label func(N) string) {
	ic.rows = nil
	ic.h = h
	if ic.tree == nil || w <= 0 || h <= 0 || ic.tree.width(ic.focus) <= 0 {
		return
	}
	var place func(n N, x0, x1 float64, row int)
	place = func(n N, x0, x1 float64, row int) {
		if row >= maxIcicleRows {
			return
		}
		a, b := int(math.Round(x0)), int(math.Round(x1))
		if b-a < 1 {
			return
		}
		for len(ic.rows) <= row {
			ic.rows = append(ic.rows, nil)
		}
		cw := b - a
		ic.rows[row] = append(ic.rows[row], rect[N]{n: n, x: a, w: cw, row: row, nameCell: cellText(label(n), cw)})
		x := x0
		scale := (x1 - x0) / float64(ic.tree.width(n))
		for _, c := range ic.tree.children(n) {
			cw := float64(ic.tree.width(c)) * scale
			place(c, x, x+cw, row+1)
			x += cw
		}
		if tr := ic.tree.trimmed(n); tr != 0 && row+1 < maxIcicleRows {
			ow := math.Abs(float64(tr)) * scale
			if a, b := int(math.Round(x)), int(math.Round(x+ow)); b-a >= 1 {
				for len(ic.rows) <= row+1 {
					ic.rows = append(ic.rows, nil)
				}
				ic.rows[row+1] = append(ic.rows[row+1], rect[N]{n: n, x: a, w: b - a, row: row + 1, other: true, nameCell: cellText("…", b-a)})
			}
		}
	}
	place(ic.focus, 0, float64(w), 0)
	if !ic.visible(ic.sel) {
		ic.sel = ic.focus
	}
	ic.follow()
}

// cellText is label cut to a frame w cells wide, padded to w-1 (the last
// cell is the gap between frames).
func cellText(label string, w int) string {
	if w <= 1 {
		return ""
	}
	tail := "…"
	if w-1 < 5 {
		tail = "" // a cut name says more than an ellipsis in two cells
	}
	cell := ansi.TruncateWc(label, w-1, tail)
	return cell + strings.Repeat(" ", w-1-ansi.StringWidthWc(cell))
}

// follow scrolls so that the selected frame's row is shown.
func (ic *icicle[N]) follow() {
	row, _, ok := ic.find(ic.sel)
	if ok && ic.h > 0 {
		if row < ic.scroll {
			ic.scroll = row
		}
		if row >= ic.scroll+ic.h {
			ic.scroll = row - ic.h + 1
		}
	}
	ic.scroll = max(0, min(ic.scroll, len(ic.rows)-ic.h))
}

func (ic *icicle[N]) visible(n N) bool {
	_, _, ok := ic.find(n)
	return ok
}

// find returns the row and index of n's frame.
func (ic *icicle[N]) find(n N) (row, idx int, ok bool) {
	for ri, rs := range ic.rows {
		for i, r := range rs {
			if r.n == n && !r.other {
				return ri, i, true
			}
		}
	}
	return 0, 0, false
}

// select moves the selection to n when it is placed, scrolling to it.
func (ic *icicle[N]) selectNode(n N) bool {
	if !ic.visible(n) {
		return false
	}
	ic.sel = n
	ic.follow()
	return true
}

func (ic *icicle[N]) moveVertical(d int) {
	if ic.tree == nil {
		return
	}
	defer ic.follow()
	for ; d < 0; d++ {
		if ic.sel == ic.focus {
			return
		}
		p, ok := ic.tree.parent(ic.sel)
		if !ok {
			return
		}
		ic.sel = p
	}
	for ; d > 0; d-- {
		moved := false
		for _, c := range ic.tree.children(ic.sel) {
			if ic.visible(c) {
				ic.sel = c
				moved = true
				break
			}
		}
		if !moved {
			return
		}
	}
}

func (ic *icicle[N]) moveHorizontal(d int) {
	row, i, ok := ic.find(ic.sel)
	if !ok {
		return
	}
	for j := i + d; j >= 0 && j < len(ic.rows[row]); j += d {
		if !ic.rows[row][j].other {
			ic.sel = ic.rows[row][j].n
			return
		}
	}
}

// clickAt selects the frame at x in row (of the rows shown); a click on
// the selected frame zooms into it, and zoomed says so (the caller lays
// out again).
func (ic *icicle[N]) clickAt(x, row int) (zoomed bool) {
	if row < 0 || row >= ic.h {
		return false
	}
	row += ic.scroll
	if row >= len(ic.rows) {
		return false
	}
	for _, r := range ic.rows[row] {
		if x >= r.x && x < r.x+r.w && !r.other {
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

// order lists the placed frames in reading order (row by row, left to
// right).
func (ic *icicle[N]) order(keep func(N) bool) []N {
	var out []N
	for _, rs := range ic.rows {
		for _, r := range rs {
			if !r.other && keep(r.n) {
				out = append(out, r.n)
			}
		}
	}
	return out
}

// paint draws the rows shown, each frame with the paint pick chooses for
// it, the blocks of frames not built with other. A one-cell frame that
// pick does not mark (the selection, a match, a change) is drawn with
// other too: a zoomed icicle can have rows of hundreds of them, one
// styled run each in its own colour otherwise.
func (ic *icicle[N]) paint(pick func(n N) (p themes.Paint, marked bool), other themes.Paint) []string {
	end := min(len(ic.rows), ic.scroll+ic.h)
	if ic.scroll >= end {
		return nil
	}
	out := make([]string, 0, end-ic.scroll)
	var b strings.Builder
	for _, rs := range ic.rows[ic.scroll:end] {
		b.Reset()
		x := 0
		// Adjacent one-cell frames of one paint share one styled run:
		// a zoomed icicle has rows of hundreds of them.
		var run themes.Paint
		open := false
		closeRun := func() {
			if open {
				b.WriteString(run.Close())
				open = false
			}
		}
		for _, r := range rs {
			if r.x > x {
				closeRun()
				b.WriteString(strings.Repeat(" ", r.x-x))
			}
			p := other
			if !r.other {
				pp, marked := pick(r.n)
				if marked || r.w > 1 {
					p = pp
				}
			}
			if r.w == 1 {
				if !open || p != run {
					closeRun()
					b.WriteString(p.Open())
					run, open = p, p.Open() != ""
				}
				b.WriteString("▏")
			} else {
				closeRun()
				b.WriteString(p.S(r.nameCell))
				b.WriteByte(' ')
			}
			x = r.x + r.w
		}
		closeRun()
		out = append(out, b.String())
	}
	return out
}

// scrollHint says which rows are shown when the icicle is deeper than
// the view: "rows 3-40 of 61".
func (ic *icicle[N]) scrollHint() (first, last, total int, ok bool) {
	if len(ic.rows) <= ic.h {
		return 0, 0, 0, false
	}
	return ic.scroll + 1, min(len(ic.rows), ic.scroll+ic.h), len(ic.rows), true
}
