package ui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// adviceScreen shows the advisor's findings and the GC what-if table.
type adviceScreen struct {
	s    *shared
	w, h int
}

func newAdviceScreen(s *shared) *adviceScreen { return &adviceScreen{s: s} }

func (a *adviceScreen) title() string              { return "Advice" }
func (a *adviceScreen) typing() bool               { return false }
func (a *adviceScreen) helpKeys() []key.Binding    { return nil }
func (a *adviceScreen) setSize(w, h int)           { a.w, a.h = w, h }
func (a *adviceScreen) update(msg tea.Msg) tea.Cmd { return nil }

func (a *adviceScreen) view() string {
	return a.s.theme.Muted.S("the advisor is not part of this build yet")
}
