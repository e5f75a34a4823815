package ui

import (
	"charm.land/bubbles/v2/key"

	"github.com/gotune/gotune/profile"
)

// kindKey opens one profile kind on the Flame screen; the keys come from
// the profile kind table (profile.KindInfo.Key), so a new kind with a key
// appears here without an edit.
type kindKey struct {
	kind    profile.Kind
	binding key.Binding
}

// keyMap holds every binding, grouped by where it applies. Screens read
// their group; the help overlay lists the global group and the active
// screen's.
type keyMap struct {
	Global struct {
		Screens, Next, Prev, Help, Quit, Window, Save key.Binding
		Overview, Flame, Top, Goroutines, Advice      key.Binding
		Trace, Export                                 key.Binding
	}
	Nav struct {
		Up, Down, Left, Right, PageUp, PageDown, Home, End key.Binding
	}
	Flame struct {
		Kinds                                []kindKey // the CPU kind's key captures
		SampleType, Longer, Shorter, Refresh key.Binding
		Zoom, ZoomOut, Search, NextMatch     key.Binding
		// Exploration: refine (pprof's filters), granularity,
		// orientation, peek, source, history, export.
		PrevMatch, ResetZoom, Refine, ClearRefine, Granularity, Invert key.Binding
		Peek, List, History, Export                                    key.Binding
	}
	Top struct {
		Sort, Filter, Jump key.Binding
	}
	Goroutines struct {
		Expand, Refresh, Dump key.Binding
	}
	Trace struct {
		Capture, Flight, Longer, Shorter, Drill, Back key.Binding
	}
	Picker struct {
		Filter, Attach, Refresh key.Binding
		Sort, Detach, Back      key.Binding // the host overview's sort and close; Back returns to it
	}
	Save struct {
		Confirm, Cancel, NextField key.Binding
	}
	Compare struct {
		Normalize, Kind key.Binding
	}
	Apply struct {
		Open, Confirm, Cancel, Next, Keep, Revert key.Binding
	}
}

func newKeyMap() *keyMap {
	b := key.NewBinding
	k, h := key.WithKeys, key.WithHelp
	m := &keyMap{}
	g := &m.Global
	g.Screens = b(k("1", "2", "3", "4", "5", "6"), h("1-6", "switch screen"))
	g.Overview = b(k("1"), h("1", "overview"))
	g.Flame = b(k("2"), h("2", "flame"))
	g.Top = b(k("3"), h("3", "top"))
	g.Goroutines = b(k("4"), h("4", "goroutines"))
	g.Advice = b(k("5"), h("5", "advice"))
	g.Trace = b(k("6"), h("6", "trace"))
	g.Next = b(k("tab"), h("tab", "next screen"))
	g.Prev = b(k("shift+tab"), h("shift+tab", "previous screen"))
	g.Help = b(k("?"), h("?", "help"))
	g.Quit = b(k("q", "ctrl+c"), h("q", "quit"))
	g.Window = b(k("w"), h("w", "window 1m/5m/15m"))
	g.Save = b(k("s"), h("s", "save a snapshot"))
	g.Export = b(k("E"), h("E", "send profiles and series to --export"))

	n := &m.Nav
	n.Up = b(k("up", "k"), h("↑/k", "up"))
	n.Down = b(k("down", "j"), h("↓/j", "down"))
	n.Left = b(k("left", "h"), h("←/h", "left"))
	n.Right = b(k("right", "l"), h("→/l", "right"))
	n.PageUp = b(k("pgup"), h("pgup", "page up"))
	n.PageDown = b(k("pgdown"), h("pgdn", "page down"))
	n.Home = b(k("home", "g"), h("g", "first"))
	n.End = b(k("end", "G"), h("G", "last"))

	f := &m.Flame
	for _, ki := range profile.Kinds() {
		if ki.Key == "" {
			continue
		}
		desc := ki.Title + " profile"
		if ki.Timed {
			desc = "capture " + ki.Title + " (esc cancels)"
		}
		f.Kinds = append(f.Kinds, kindKey{ki.Kind, b(k(ki.Key), h(ki.Key, desc))})
	}
	f.SampleType = b(k("t"), h("t", "next sample type"))
	f.Longer = b(k("+", "="), h("+/-", "CPU capture length"))
	f.Shorter = b(k("-"), h("-", "shorter capture"))
	f.Refresh = b(k("r"), h("r", "fetch again"))
	f.Zoom = b(k("enter"), h("enter", "zoom into frame"))
	f.ZoomOut = b(k("esc", "backspace"), h("esc/bksp", "zoom out"))
	f.Search = b(k("/"), h("/", "search"))
	f.NextMatch = b(k("n"), h("n", "next match"))
	f.PrevMatch = b(k("N"), h("N", "previous match"))
	f.ResetZoom = b(k("z"), h("z", "reset zoom"))
	f.Refine = b(k("f"), h("f", "refine (focus, hide, tags…)"))
	f.ClearRefine = b(k("F"), h("F", "clear refinements"))
	f.Granularity = b(k("v"), h("v", "functions/files/lines/addr"))
	f.Invert = b(k("i"), h("i", "invert (bottom-up)"))
	f.Peek = b(k("p"), h("p", "peek callers/callees"))
	f.List = b(k("L"), h("L", "source lines (list)"))
	f.History = b(k("H"), h("H", "profile history"))
	f.Export = b(k("e"), h("e", "export pb.gz/folded/top"))

	t := &m.Top
	t.Sort = b(k("o"), h("o", "order by flat/cum/name"))
	t.Filter = b(k("/"), h("/", "filter"))
	t.Jump = b(k("enter"), h("enter", "show in flame"))

	gr := &m.Goroutines
	gr.Expand = b(k("enter", "space"), h("enter", "expand stack"))
	gr.Refresh = b(k("r"), h("r", "fetch again"))
	gr.Dump = b(k("d"), h("d", "full dump with states (stops the target briefly)"))

	tr := &m.Trace
	tr.Capture = b(k("c"), h("c", "capture an execution trace (esc cancels)"))
	tr.Flight = b(k("f"), h("f", "snapshot the agent's flight recorder"))
	tr.Longer = b(k("+", "="), h("+/-", "trace length"))
	tr.Shorter = b(k("-"), h("-", "shorter trace"))
	tr.Drill = b(k("enter"), h("enter", "stacks of the pause or reason"))
	tr.Back = b(k("esc", "backspace"), h("esc", "back"))

	p := &m.Picker
	p.Filter = b(k("/"), h("/", "filter"))
	p.Attach = b(k("enter"), h("enter", "attach"))
	p.Refresh = b(k("r"), h("r", "refresh now"))
	p.Sort = b(k("s", "S"), h("s/S", "next / previous sort key"))
	p.Detach = b(k("x"), h("x", "close the selected process's session"))
	p.Back = b(k("0"), h("0", "all processes (sessions stay open)"))

	sv := &m.Save
	sv.Confirm = b(k("enter"), h("enter", "save"))
	sv.Cancel = b(k("esc"), h("esc", "cancel"))
	sv.NextField = b(k("tab", "shift+tab", "up", "down"), h("tab", "name / path"))

	ap := &m.Apply
	ap.Open = b(k("a"), h("a", "apply a finding's setting live (or type one), then verify it"))
	ap.Confirm = b(k("enter"), h("enter", "apply"))
	ap.Cancel = b(k("esc"), h("esc", "cancel"))
	ap.Next = b(k("n"), h("n", "next finding"))
	ap.Keep = b(k("k"), h("k", "keep the change"))
	ap.Revert = b(k("r"), h("r", "revert the change"))

	c := &m.Compare
	c.Normalize = b(k("n"), h("n", "absolute / normalized"))
	c.Kind = b(k("p", "P"), h("p/P", "next / previous profile"))
	return m
}
