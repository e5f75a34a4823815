package ui

import (
	"fmt"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/gotune/gotune/compare"
	"github.com/gotune/gotune/safetext"
	"github.com/gotune/gotune/themes"
)

// cmpFindingsScreen lists the advisor's findings that are new, resolved
// or still there.
type cmpFindingsScreen struct {
	s *shared
	c *compare.Comparison
	scroller
}

func newCmpFindingsScreen(s *shared, c *compare.Comparison) *cmpFindingsScreen {
	return &cmpFindingsScreen{s: s, c: c, scroller: scroller{keys: s.keys}}
}

func (f *cmpFindingsScreen) title() string           { return "Findings" }
func (f *cmpFindingsScreen) typing() bool            { return false }
func (f *cmpFindingsScreen) helpKeys() []key.Binding { return f.scroller.helpKeys() }
func (f *cmpFindingsScreen) setSize(w, h int)        { f.scroller.h = h }
func (f *cmpFindingsScreen) view() string            { return f.window(f.lines()) }
func (f *cmpFindingsScreen) update(msg tea.Msg) tea.Cmd {
	f.scroll(msg, len(f.lines()))
	return nil
}

func (f *cmpFindingsScreen) lines() []string {
	t := f.s.theme
	if len(f.c.Findings) == 0 {
		return []string{t.Muted.S("No findings on either side (a snapshot saved without advice has none).")}
	}
	var lines []string
	for _, change := range []string{"new", "resolved", "still"} {
		var group []compare.FindingChange
		for _, fc := range f.c.Findings {
			if fc.Change == change {
				group = append(group, fc)
			}
		}
		if len(group) == 0 {
			continue
		}
		title := map[string]string{"new": "New", "resolved": "Resolved", "still": "Still there"}[change]
		paint := map[string]themes.Paint{"new": t.Crit, "resolved": t.OK, "still": t.Warn}[change]
		lines = append(lines, paint.S(fmt.Sprintf("%s (%d)", title, len(group))))
		for _, fc := range group {
			lines = append(lines, "  "+pad(safetext.Line(fc.Severity), 6)+pad(safetext.Line(fc.ID), 22)+" "+safetext.Line(fc.Title))
		}
		lines = append(lines, "")
	}
	return lines
}
