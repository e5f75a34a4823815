package ui

import (
	"math"
	"strings"

	"github.com/gotune/gotune/themes"
)

// chartSeries is one line of a chart: x in [0,1] (time across the window),
// y in the chart's units; NaN y values are gaps.
type chartSeries struct {
	xs, ys []float64
	paint  themes.Paint
}

// braille dot bits, indexed [dx][dy] within a 2×4 cell.
var brailleBits = [2][4]uint8{{0x01, 0x02, 0x04, 0x40}, {0x08, 0x10, 0x20, 0x80}}

// chartMarks are vertical marks across a chart (a restart of the target):
// x in [0,1] like a series', drawn in the cells no curve uses.
type chartMarks struct {
	xs    []float64
	paint themes.Paint
}

// markRune draws a mark.
const markRune = '┊'

// renderChart draws series as braille lines in a w×h cell grid scaled to
// [0, hi]. Later series are drawn over earlier ones where they share a
// cell. It is a pure function of its input: a chart is data, not state.
func renderChart(series []chartSeries, w, h int, hi float64) []string {
	return renderChartMarked(series, chartMarks{}, w, h, hi)
}

// renderChartMarked is renderChart with vertical marks.
func renderChartMarked(series []chartSeries, marks chartMarks, w, h int, hi float64) []string {
	if w <= 0 || h <= 0 {
		return nil
	}
	if hi <= 0 || math.IsNaN(hi) || math.IsInf(hi, 0) {
		hi = 1
	}
	bits := make([]uint8, w*h)
	owner := make([]int8, w*h)
	for i := range owner {
		owner[i] = -1
	}
	dw, dh := 2*w, 4*h
	set := func(si, x, y int) {
		if x < 0 || x >= dw || y < 0 || y >= dh {
			return
		}
		c := (y/4)*w + x/2
		bits[c] |= brailleBits[x%2][y%4]
		owner[c] = int8(si)
	}
	for si, s := range series {
		px, py := -1, -1
		for i := range s.xs {
			y := s.ys[i]
			if math.IsNaN(y) || math.IsInf(y, 0) {
				px = -1
				continue
			}
			x := int(s.xs[i] * float64(dw-1))
			yy := dh - 1 - int(math.Round(math.Min(y, hi)/hi*float64(dh-1)))
			if yy < 0 {
				yy = 0
			}
			switch {
			case px >= 0 && x > px:
				// Connect to the previous point, filling each column from
				// the last height to the new one so steep steps stay lines.
				prevY := py
				for xx := px + 1; xx <= x; xx++ {
					yl := py + (yy-py)*(xx-px)/(x-px)
					for yv := min(prevY, yl); yv <= max(prevY, yl); yv++ {
						set(si, xx, yv)
					}
					prevY = yl
				}
			case px >= 0 && x == px:
				for yv := min(py, yy); yv <= max(py, yy); yv++ {
					set(si, x, yv)
				}
			default:
				set(si, x, yy)
			}
			px, py = x, yy
		}
	}
	// A marked column: x maps to dots as a series' does, then to cells.
	marked := make([]bool, w)
	for _, x := range marks.xs {
		if x >= 0 && x <= 1 {
			marked[int(x*float64(dw-1))/2] = true
		}
	}
	const markOwner = -2
	rows := make([]string, h)
	var b strings.Builder
	paintOf := func(o int) themes.Paint {
		if o == markOwner {
			return marks.paint
		}
		return series[o].paint
	}
	for r := 0; r < h; r++ {
		b.Reset()
		b.Grow(w * 4)
		run := -1
		for c := 0; c < w; c++ {
			i := r*w + c
			o := int(owner[i])
			if bits[i] == 0 {
				o = -1
				if marked[c] {
					o = markOwner
				}
			}
			if o != run {
				if run != -1 {
					b.WriteString(paintOf(run).Close())
				}
				if o != -1 {
					b.WriteString(paintOf(o).Open())
				}
				run = o
			}
			switch {
			case o == markOwner:
				b.WriteRune(markRune)
			case bits[i] == 0:
				b.WriteByte(' ')
			default:
				b.WriteRune(rune(0x2800 + int(bits[i])))
			}
		}
		if run != -1 {
			b.WriteString(paintOf(run).Close())
		}
		rows[r] = b.String()
	}
	return rows
}

// sparkline renders ys as one row of block characters scaled to [0, hi].
func sparkline(ys []float64, w int, hi float64) string {
	if w <= 0 {
		return ""
	}
	const blocks = "▁▂▃▄▅▆▇█"
	br := []rune(blocks)
	if hi <= 0 {
		hi = 1
	}
	out := make([]rune, w)
	for i := range out {
		out[i] = ' '
	}
	n := len(ys)
	if n == 0 {
		return string(out)
	}
	// The newest values are on the right; each column takes the max of
	// the values that fall in it.
	start := 0
	if n > w {
		start = n - w
	}
	for i := start; i < n; i++ {
		y := ys[i]
		if math.IsNaN(y) {
			continue
		}
		col := w - (n - i)
		k := int(math.Round(math.Min(y, hi) / hi * float64(len(br)-1)))
		out[col] = br[max(0, k)]
	}
	return string(out)
}
