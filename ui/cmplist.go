package ui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// scroller is the scroll position of a compare screen that is a list of
// lines (Metrics, Goroutines, Settings, Findings): the navigation keys and
// the wheel move it, and window shows the lines from it.
type scroller struct {
	keys   *keyMap
	h      int // the body's height
	offset int
}

// scroll moves the position for a key or wheel message over n lines.
func (sc *scroller) scroll(msg tea.Msg, n int) {
	k := sc.keys
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, k.Nav.Up):
			sc.offset--
		case key.Matches(msg, k.Nav.Down):
			sc.offset++
		case key.Matches(msg, k.Nav.PageUp):
			sc.offset -= sc.h / 2
		case key.Matches(msg, k.Nav.PageDown):
			sc.offset += sc.h / 2
		case key.Matches(msg, k.Nav.Home):
			sc.offset = 0
		}
	case tea.MouseWheelMsg:
		if msg.Mouse().Button == tea.MouseWheelUp {
			sc.offset -= 3
		} else {
			sc.offset += 3
		}
	default:
		return
	}
	sc.offset = max(0, min(sc.offset, n-sc.h))
}

// window joins the lines from the position, held so the last line stays at
// the bottom after a resize.
func (sc *scroller) window(lines []string) string {
	o := min(sc.offset, max(0, len(lines)-sc.h))
	return strings.Join(lines[max(0, o):], "\n")
}

func (sc *scroller) helpKeys() []key.Binding {
	k := sc.keys
	return []key.Binding{k.Nav.Up, k.Nav.Down, k.Nav.PageUp, k.Nav.PageDown, k.Nav.Home}
}
