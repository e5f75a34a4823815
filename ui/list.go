package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/safetext"
)

// listView is the Flame screen's source view (`go tool pprof -list`): the
// per-line flat and cum of one function, with its source text when the
// file is on this machine (as recorded, a --source-path, the module cache,
// GOROOT), line numbers alone otherwise.
type listView struct {
	name    string // the function listed
	data    *flameData
	listing *profile.Listing
	err     error
	loading bool
	offset  int // first body line shown
	lines   []listLine
}

// listLine is one line of the listing as drawn: text, or a source line
// with its values (hot: cum above zero).
type listLine struct {
	header  bool
	text    string
	ln      profile.SourceLine
	hasLn   bool
	routine int // index of the routine's first header line
}

func (f *flameScreen) listH() int { return max(1, f.h-f.top-1) }

// openList lists the function of node name (at this granularity: the
// function its name stands for) in a command: it reads files.
func (f *flameScreen) openList(name string) tea.Cmd {
	fn, ok := functionOf(f.data, name)
	f.mode = modeList
	f.ls = listView{name: fn, data: f.data}
	if !ok {
		f.ls.err = fmt.Errorf("%s names no function: list works at function, line and address granularity (v)", name)
		return nil
	}
	f.ls.loading = true
	return listFunction(f.data, fn, f.s.sources)
}

func (l *listView) done(msg listedMsg, cur *flameData, h int) {
	if msg.data != l.data || msg.name != l.name || msg.data != cur {
		return
	}
	l.loading, l.listing, l.err = false, msg.listing, msg.err
	l.lines = nil
	if l.listing == nil {
		return
	}
	d := msg.data
	f := func(v int64) string {
		if v == 0 {
			return "."
		}
		return d.format(v)
	}
	hot := -1
	var hotCum int64
	for _, rt := range l.listing.Routines {
		if rt.File == "" {
			l.lines = append(l.lines, listLine{header: true, text: "No source information for " + rt.Function})
			continue
		}
		start := len(l.lines)
		l.lines = append(l.lines, listLine{header: true, routine: start, text: fmt.Sprintf("ROUTINE ======================== %s in %s", rt.Function, rt.File)},
			listLine{header: true, routine: start, text: fmt.Sprintf("%10s %10s (flat, cum) %s of Total", d.format(rt.Flat), d.format(rt.Cum), strings.TrimSpace(profile.Percent(rt.Cum, d.total)))})
		if rt.Err != nil {
			l.lines = append(l.lines, listLine{header: true, routine: start, text: " source not shown: " + rt.Err.Error()})
		}
		for _, ln := range rt.Lines {
			if abs64(ln.Cum) > hotCum {
				hot, hotCum = len(l.lines), abs64(ln.Cum)
			}
			l.lines = append(l.lines, listLine{routine: start, text: fmt.Sprintf("%10s %10s %6d:", f(ln.Flat), f(ln.Cum), ln.Line), ln: ln, hasLn: true})
		}
	}
	// Open at the top, or at the hottest line with a few lines of
	// context above it when it would not show.
	if hot >= h-2 {
		l.offset = max(0, min(hot-5, len(l.lines)-h))
	}
}

func (l *listView) scroll(d, h int) {
	l.offset = max(0, min(l.offset+d, len(l.lines)-h))
}

func (f *flameScreen) listKey(msg tea.KeyPressMsg) tea.Cmd {
	k := f.s.keys
	h := f.listH()
	switch {
	case key.Matches(msg, k.Flame.ZoomOut), key.Matches(msg, k.Flame.List):
		f.mode = modeFlame
	case key.Matches(msg, k.Flame.Peek):
		f.openPeek(f.ls.name)
	case key.Matches(msg, k.Nav.Up):
		f.ls.scroll(-1, h)
	case key.Matches(msg, k.Nav.Down):
		f.ls.scroll(1, h)
	case key.Matches(msg, k.Nav.PageUp):
		f.ls.scroll(-h, h)
	case key.Matches(msg, k.Nav.PageDown):
		f.ls.scroll(h, h)
	case key.Matches(msg, k.Nav.Home):
		f.ls.offset = 0
	case key.Matches(msg, k.Nav.End):
		f.ls.scroll(len(f.ls.lines), h)
	}
	return nil
}

// listView renders the listing in h lines.
func (f *flameScreen) listView(h int) []string {
	t := f.s.theme
	l := &f.ls
	title := t.Title.S("Source ") + t.Bold.S(safetext.Line(l.name)) + t.Muted.S(" · per-line flat and cum (go tool pprof -list)")
	lines := []string{truncateText(title, f.w)}
	switch {
	case l.loading:
		return append(lines, t.Muted.S("reading the source…"))
	case l.err != nil:
		return append(lines, t.Crit.S(safetext.Line(l.err.Error())))
	}
	if l.listing == nil {
		return lines
	}
	lines = append(lines, t.Muted.S(fmt.Sprintf("%10s %10s %6s  %s", "flat", "cum", "line", "source"))+
		t.Muted.S("  · ")+t.Key.S("esc")+t.Muted.S(" back · ")+t.Key.S("p")+t.Muted.S(" peek"))
	avail := max(1, h-len(lines))
	// Scrolled into a routine: its two header lines stay on top.
	var shown []listLine
	if off := min(l.offset, len(l.lines)-1); off >= 0 && l.lines[off].routine < off && avail > 4 {
		r := l.lines[off].routine
		shown = append(shown, l.lines[r], l.lines[r+1])
		avail -= 2
	}
	end := min(len(l.lines), l.offset+avail)
	shown = append(shown, l.lines[min(l.offset, end):end]...)
	for _, ll := range shown {
		switch {
		case ll.header:
			lines = append(lines, t.Accent.S(truncateText(safetext.Line(ll.text), f.w)))
		case ll.ln.Cum != 0 || ll.ln.Flat != 0:
			lines = append(lines, t.Bold.S(ll.text)+" "+ansi.TruncateWc(sourceText(ll.ln.Text), max(1, f.w-30), "…"))
		default:
			lines = append(lines, t.Muted.S(ll.text)+" "+ansi.TruncateWc(sourceText(ll.ln.Text), max(1, f.w-30), "…"))
		}
	}
	return lines
}

// sourceText is a source line for one terminal line: tabs as four spaces
// (Go source indents with tabs; safetext.Line would show them as U+FFFD),
// everything else through safetext.Line.
func sourceText(s string) string {
	return safetext.Line(strings.ReplaceAll(s, "\t", "    "))
}
