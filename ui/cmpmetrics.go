package ui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/gotune/gotune/compare"
	"github.com/gotune/gotune/safetext"
)

// cmpMetricsScreen is the compare view's first screen: each metric's mean
// before and after, the change, and whether it is beyond the noise; above
// them the notes on where the sides do not compare like with like.
type cmpMetricsScreen struct {
	s    *shared
	c    *compare.Comparison
	w, h int
	scroller
}

func newCmpMetricsScreen(s *shared, c *compare.Comparison) *cmpMetricsScreen {
	return &cmpMetricsScreen{s: s, c: c, scroller: scroller{keys: s.keys}}
}

func (m *cmpMetricsScreen) title() string           { return "Metrics" }
func (m *cmpMetricsScreen) typing() bool            { return false }
func (m *cmpMetricsScreen) helpKeys() []key.Binding { return m.scroller.helpKeys() }
func (m *cmpMetricsScreen) setSize(w, h int)        { m.w, m.h, m.scroller.h = w, h, h }
func (m *cmpMetricsScreen) view() string            { return m.window(m.lines()) }
func (m *cmpMetricsScreen) update(msg tea.Msg) tea.Cmd {
	m.scroll(msg, len(m.lines()))
	return nil
}

func (m *cmpMetricsScreen) lines() []string {
	t := m.s.theme
	w := m.w
	var lines []string
	if len(m.c.Notes) > 0 {
		lines = append(lines, t.Warn.S("Not like with like:"))
		for _, n := range m.c.Notes {
			for i, l := range wrapText(safetext.Line(n), max(1, w-4)) {
				lead := "  • "
				if i > 0 {
					lead = "    "
				}
				lines = append(lines, lead+t.Muted.S(l))
			}
		}
		lines = append(lines, "")
	}
	wide, narrow := w >= 100, w < 60
	head := pad("METRIC", 18)
	if !narrow {
		head += padLeft("BEFORE", 11) + padLeft("AFTER", 11)
	}
	head += padLeft("CHANGE", 19)
	if wide {
		head += padLeft("NOISE ±", 12)
	}
	lines = append(lines, t.Header.S(head+"  "))
	for _, mc := range m.c.Metrics {
		stat := func(s *compare.Stats) string {
			if s == nil {
				return "-"
			}
			return compare.FormatValue(mc.Unit, s.Mean)
		}
		l := pad(mc.Name, 18)
		if !narrow {
			l += padLeft(stat(mc.Before), 11) + padLeft(stat(mc.After), 11)
		}
		l += padLeft(compare.FormatDelta(mc), 19)
		if wide {
			noise := "-"
			if mc.Before != nil && mc.After != nil {
				noise = compare.FormatValue(mc.Unit, mc.Noise)
			}
			l += padLeft(noise, 12)
		}
		var verdict string
		switch {
		case mc.Before == nil || mc.After == nil:
			verdict = t.Muted.S("not measured")
		case mc.Beyond && mc.Delta > 0:
			verdict = t.Warn.S("▲ beyond noise")
		case mc.Beyond:
			verdict = t.Warn.S("▼ beyond noise")
		default:
			verdict = t.Muted.S("· within noise")
		}
		if narrow {
			verdict = strings.Replace(strings.Replace(verdict, "beyond noise", "", 1), "within noise", "", 1)
		}
		lines = append(lines, l+"  "+verdict)
	}
	lines = append(lines, "", t.Muted.S("A change is beyond the noise when the difference of the means exceeds two standard errors"),
		t.Muted.S("of the windows' own variation (NOISE ±, Welch)."))
	return lines
}
