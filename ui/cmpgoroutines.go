package ui

import (
	"fmt"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/gotune/gotune/compare"
	"github.com/gotune/gotune/safetext"
)

// cmpGoroutinesScreen lists the goroutine groups that appeared, grew,
// shrank or vanished between the two dumps.
type cmpGoroutinesScreen struct {
	s *shared
	c *compare.Comparison
	scroller
}

func newCmpGoroutinesScreen(s *shared, c *compare.Comparison) *cmpGoroutinesScreen {
	return &cmpGoroutinesScreen{s: s, c: c, scroller: scroller{keys: s.keys}}
}

func (g *cmpGoroutinesScreen) title() string           { return "Goroutines" }
func (g *cmpGoroutinesScreen) typing() bool            { return false }
func (g *cmpGoroutinesScreen) helpKeys() []key.Binding { return g.scroller.helpKeys() }
func (g *cmpGoroutinesScreen) setSize(w, h int)        { g.scroller.h = h }
func (g *cmpGoroutinesScreen) view() string            { return g.window(g.lines()) }
func (g *cmpGoroutinesScreen) update(msg tea.Msg) tea.Cmd {
	g.scroll(msg, len(g.lines()))
	return nil
}

func (g *cmpGoroutinesScreen) lines() []string {
	t := g.s.theme
	if len(g.c.Groups) == 0 {
		return []string{t.Muted.S("No goroutine group appeared, grew, shrank or vanished.")}
	}
	lines := []string{t.Header.S(pad("CHANGE", 10) + padLeft("BEFORE", 7) + padLeft("AFTER", 7) + padLeft("Δ", 7) + "  " + pad("STATE", 16) + "TOP FRAMES")}
	for _, gr := range g.c.Groups {
		ch := pad(gr.Change, 10)
		switch gr.Change {
		case "appeared", "grew":
			ch = t.Crit.S(ch)
		default:
			ch = t.OK.S(ch)
		}
		lines = append(lines, ch+padLeft(fmt.Sprint(gr.Before), 7)+padLeft(fmt.Sprint(gr.After), 7)+
			padLeft(fmt.Sprintf("%+d", gr.After-gr.Before), 7)+"  "+pad(safetext.Line(gr.State), 16)+safetext.Line(gr.Top))
	}
	return lines
}
