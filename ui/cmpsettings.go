package ui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/gotune/gotune/compare"
	"github.com/gotune/gotune/safetext"
)

// cmpSettingsScreen lists the settings, GO* variables and Go version that
// differ between the snapshots.
type cmpSettingsScreen struct {
	s *shared
	c *compare.Comparison
	scroller
}

func newCmpSettingsScreen(s *shared, c *compare.Comparison) *cmpSettingsScreen {
	return &cmpSettingsScreen{s: s, c: c, scroller: scroller{keys: s.keys}}
}

func (st *cmpSettingsScreen) title() string           { return "Settings" }
func (st *cmpSettingsScreen) typing() bool            { return false }
func (st *cmpSettingsScreen) helpKeys() []key.Binding { return st.scroller.helpKeys() }
func (st *cmpSettingsScreen) setSize(w, h int)        { st.scroller.h = h }
func (st *cmpSettingsScreen) view() string            { return st.window(st.lines()) }
func (st *cmpSettingsScreen) update(msg tea.Msg) tea.Cmd {
	st.scroll(msg, len(st.lines()))
	return nil
}

func (st *cmpSettingsScreen) lines() []string {
	t := st.s.theme
	if len(st.c.Settings) == 0 {
		return []string{t.Muted.S("No setting, GO* variable or Go version changed.")}
	}
	nw := 8
	for _, s := range st.c.Settings {
		nw = max(nw, ansi.StringWidthWc(safetext.Line(s.Name))+2)
	}
	lines := []string{t.Header.S(pad("SETTING", nw) + "BEFORE → AFTER")}
	for _, s := range st.c.Settings {
		lines = append(lines, pad(safetext.Line(s.Name), nw)+safetext.Line(dash(s.Before))+t.Muted.S(" → ")+t.Bold.S(safetext.Line(dash(s.After))))
	}
	return lines
}
