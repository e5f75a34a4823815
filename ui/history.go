package ui

import (
	"fmt"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/gotune/gotune/capture"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/safetext"
)

// historyView lists the profiles fetched in this session (the capture
// session keeps them), newest first; Enter shows one again, so the CPU
// profile captured before opening the heap is one key away.
type historyView struct {
	entries []*profile.Captured
	cursor  int
	shown   *profile.Captured // what the screen shows, marked in the list
}

// open reads the session's history (a copy of its list: no I/O).
func (h *historyView) open(sess *capture.Session, d *flameData) {
	h.entries, h.cursor, h.shown = nil, 0, nil
	if sess != nil {
		h.entries = sess.History()
		slices.Reverse(h.entries)
	}
	if d != nil {
		h.shown = d.capture
		for i, c := range h.entries {
			if c == d.capture {
				h.cursor = i
			}
		}
	}
}

func (h *historyView) move(d int) {
	h.cursor = max(0, min(len(h.entries)-1, h.cursor+d))
}

func (f *flameScreen) historyKey(msg tea.KeyPressMsg) tea.Cmd {
	k := f.s.keys
	h := &f.hist
	switch {
	case key.Matches(msg, k.Flame.Zoom):
		if h.cursor >= len(h.entries) {
			return nil
		}
		c := h.entries[h.cursor]
		f.mode = modeFlame
		if c.Profile == nil || f.data != nil && c == f.data.capture {
			return nil
		}
		o := f.opts
		if f.data == nil || c.Kind != f.data.kind {
			o.SampleIndex = "" // the new kind's default type
		}
		f.opts = o
		f.gen++
		f.loading, f.err, f.notice = c.Kind, nil, ""
		return rebuildProfile(c, f.gen, o)
	case key.Matches(msg, k.Flame.ZoomOut), key.Matches(msg, k.Flame.History):
		f.mode = modeFlame
	case key.Matches(msg, k.Nav.Up):
		h.move(-1)
	case key.Matches(msg, k.Nav.Down):
		h.move(1)
	case key.Matches(msg, k.Nav.Home):
		h.cursor = 0
	case key.Matches(msg, k.Nav.End):
		h.move(len(h.entries))
	}
	return nil
}

// historyLabel names a capture for the list: its kind, what its values
// cover and when it was fetched.
func historyLabel(c *profile.Captured) string {
	what := c.Kind.Title()
	switch c.Scope {
	case profile.ScopeCapture:
		what += fmt.Sprintf(" %ds", int(c.Seconds()+0.5))
	case profile.ScopeWindow:
		what += fmt.Sprintf(" over %s", shortDuration(c.To.Sub(c.From)))
	case profile.ScopeSinceStart:
		what += " since start"
	}
	return what
}

func (f *flameScreen) historyView(h int) []string {
	t := f.s.theme
	hv := &f.hist
	lines := []string{t.Title.S("History") + t.Muted.S(" · the profiles fetched in this session, newest first · ") +
		t.Key.S("enter") + t.Muted.S(" shows one · ") + t.Key.S("esc") + t.Muted.S(" back")}
	if len(hv.entries) == 0 {
		return append(lines, "", t.Muted.S("nothing fetched yet"))
	}
	lines = append(lines, t.Muted.S(fmt.Sprintf("   %-8s  %-28s %9s  %s", "fetched", "profile", "samples", "sample types")))
	avail := max(1, h-len(lines))
	offset := 0
	if hv.cursor >= avail {
		offset = hv.cursor - avail + 1
	}
	for i := offset; i < len(hv.entries) && i < offset+avail; i++ {
		c := hv.entries[i]
		mark := "  "
		if c == hv.shown {
			mark = "▸ "
		}
		n, types := 0, ""
		if c.Profile != nil {
			n = c.Profile.NumSamples()
			types = safetext.Line(strings.Join(c.Profile.SampleTypeNames(), " "))
		}
		row := fmt.Sprintf("%s %-8s  %-28s %9d  %s", mark, c.FetchedAt.Local().Format("15:04:05"), historyLabel(c), n, types)
		if i == hv.cursor {
			row = t.Selected.S(pad(row, f.w))
		}
		lines = append(lines, row)
	}
	return lines
}
