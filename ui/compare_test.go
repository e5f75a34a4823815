package ui

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/gotune/gotune/compare"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/snapshot"
)

// readSnapshots reads the report fixtures.
func readSnapshots(t testing.TB) (before, after *snapshot.Snapshot) {
	t.Helper()
	read := func(name string) *snapshot.Snapshot {
		s, err := snapshot.Read(filepath.Join("..", "testdata", "snapshots", name))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	return read("before.gotune"), read("after.gotune")
}

// newCompareModel is the root model in compare mode on the report
// fixtures at w×h.
func newCompareModel(t testing.TB, w, h int, theme string) *Model {
	t.Helper()
	before, after := readSnapshots(t)
	return newCompareModelOf(t, compare.Compare(before, after), before, after, w, h, theme)
}

func newCompareModelOf(t testing.TB, c *compare.Comparison, before, after *snapshot.Snapshot, w, h int, theme string) *Model {
	t.Helper()
	m := New(t.Context(), Options{Theme: theme, Compare: &Comparison{Diff: c, Before: before, After: after,
		BeforeLabel: "before.gotune", AfterLabel: "after.gotune"}})
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	return m
}

// profiles is the compare model's Profiles screen.
func profiles(m *Model) *cmpProfilesScreen { return m.screens[cmpProfiles].(*cmpProfilesScreen) }

// TestGoldenCompare goldens every tab of the compare view, ANSI stripped,
// at each size.
func TestGoldenCompare(t *testing.T) {
	tabs := []struct {
		name string
		keys []string
	}{
		{"metrics", nil},
		{"profiles", []string{"2", "j"}},
		{"profiles-normalized", []string{"2", "j", "n"}},
		{"profiles-heap", []string{"2", "p", "j", "j"}},
		{"goroutines", []string{"3"}},
		{"settings", []string{"4"}},
		{"findings", []string{"5"}},
		{"help", []string{"2", "?"}},
	}
	for _, tb := range tabs {
		for _, sz := range sizes {
			t.Run(fmt.Sprintf("%s/%dx%d", tb.name, sz.w, sz.h), func(t *testing.T) {
				m := newCompareModel(t, sz.w, sz.h, "dark")
				press(m, tb.keys...)
				checkFrame(t, m.View().Content, sz.w, sz.h)
				golden.RequireEqual(t, plain(m))
			})
		}
	}
}

// TestCompareKeys: tabs by digit, Tab and click; n toggles the mode and
// keeps the selection; p cycles the kinds; enter and esc zoom; q quits.
func TestCompareKeys(t *testing.T) {
	m := newCompareModel(t, 120, 40, "dark")
	for i, k := range []string{"2", "3", "4", "5", "1"} {
		press(m, k)
		if want := (i + 1) % 5; m.active != want {
			t.Fatalf("key %s: tab %d, want %d", k, m.active, want)
		}
	}
	press(m, "tab", "tab")
	if m.active != cmpGoroutines || !strings.Contains(plain(m), "appeared") {
		t.Fatalf("tab twice: tab %d\n%s", m.active, plain(m))
	}
	m.Update(tea.MouseClickMsg{X: m.tabs[cmpProfiles][0] + 1, Y: chromeTop - 1, Button: tea.MouseLeft})
	if m.active != cmpProfiles {
		t.Fatalf("a click on the Profiles tab shows tab %d", m.active)
	}
	ps := profiles(m)
	p := ps.pair()
	if p.kind != "cpu" || p.abs == nil || p.norm == nil {
		t.Fatalf("first profile %q, flames %v %v", p.kind, p.abs != nil, p.norm != nil)
	}
	press(m, "j", "j", "j", "j", "j")
	sel := p.ic.sel
	if sel == nil || sel.name != "main.spin" {
		t.Fatalf("five j from the root's child select %v, want main.spin", sel)
	}
	grew := p.abs.class(sel)
	out := plain(m)
	if !strings.Contains(out, "absolute (n)") || !strings.Contains(out, "noise floor") || !strings.Contains(out, "▲main.spin") {
		t.Errorf("absolute view lacks its mode, floor or marked frame:\n%s", out)
	}
	press(m, "n")
	if !ps.normalized || p.ic.sel == nil || p.ic.sel.name != "main.spin" || p.ic.sel == sel {
		t.Fatalf("n did not switch to the normalized tree keeping the selection")
	}
	if grew != profile.ChangeGrew || p.norm.class(p.ic.sel) != profile.ChangeShrank {
		t.Errorf("main.spin is %s absolute and %s normalized; the fixtures have it grow then shrink", grew, p.norm.class(p.ic.sel))
	}
	if out := plain(m); !strings.Contains(out, "normalized (n)") || !strings.Contains(out, "after ×0.649") || !strings.Contains(out, "▼main.spin") {
		t.Errorf("normalized view:\n%s", out)
	}
	press(m, "enter")
	if p.ic.focus.name != "main.spin" || !strings.Contains(plain(m), "zoomed") {
		t.Error("enter did not zoom into the selected frame")
	}
	press(m, "esc")
	if p.ic.focus.name != "main.burnCPU" {
		t.Errorf("esc zoomed out to %s", p.ic.focus.name)
	}
	press(m, "p")
	if ps.pair().kind != "heap" || !strings.Contains(plain(m), "inuse_space/bytes") {
		t.Errorf("p shows %s", ps.pair().kind)
	}
	press(m, "P")
	if ps.pair().kind != "cpu" {
		t.Errorf("P shows %s", ps.pair().kind)
	}
	press(m, "?")
	if !strings.Contains(plain(m), "absolute / normalized") {
		t.Error("? shows no help")
	}
	press(m, "x")
	if m.help {
		t.Error("a key did not close the help")
	}
	_, cmd := m.Update(keyMsg("q"))
	if cmd == nil {
		t.Fatal("q returned no command")
	}
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Error("q does not quit")
	}
}

// TestCompareResizeAnyTime: every tab at sizes from 1×1 up stays in the
// frame.
func TestCompareResizeAnyTime(t *testing.T) {
	m := newCompareModel(t, 120, 40, "dark")
	for _, tab := range []string{"1", "2", "3", "4", "5", "?"} {
		press(m, tab)
		for _, sz := range [][2]int{{1, 1}, {10, 3}, {19, 5}, {20, 6}, {33, 9}, {80, 24}, {61, 17}, {250, 80}, {120, 40}} {
			m.Update(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
			out := m.View().Content
			if n := len(strings.Split(out, "\n")); n > max(1, sz[1]) {
				t.Errorf("tab %s at %dx%d: %d lines", tab, sz[0], sz[1], n)
			}
			for _, l := range strings.Split(out, "\n") {
				if ansi.StringWidth(l) > sz[0] {
					t.Errorf("tab %s at %dx%d: line too wide: %q", tab, sz[0], sz[1], ansi.Strip(l))
				}
			}
		}
	}
}

// TestCompareHostileText: control characters in a snapshot never reach
// the terminal.
func TestCompareHostileText(t *testing.T) {
	c := &compare.Comparison{
		Before:   compare.Side{Name: "x\x1b]0;pwned\x07", Target: "t\x1b[2J"},
		After:    compare.Side{Name: "y"},
		Settings: []compare.SettingChange{{Name: "env GOX\x1b[31m", Before: "a", After: "b\u009b"}},
		Findings: []compare.FindingChange{{Change: "new", ID: "id", Severity: "warn", Title: "evil\x1b[H"}},
		Groups:   []compare.GroupChange{{Change: "grew", State: "s\x1b", Top: "f\x07", Before: 1, After: 2}},
		Notes:    []string{"note\x1b[2J"},
		Profiles: []compare.ProfileDiff{{Kind: profile.KindCPU, Error: "bad\x1b[H",
			Before: compare.ProfileSide{SampleType: "cpu\x1b]0;x\x07", Scope: profile.ScopeCapture, Seconds: 1}}},
	}
	m := newCompareModelOf(t, c, &snapshot.Snapshot{}, &snapshot.Snapshot{}, 120, 40, "mono")
	for _, tab := range []string{"1", "2", "3", "4", "5"} {
		press(m, tab)
		out := ansi.Strip(m.View().Content)
		if strings.ContainsAny(out, "\x1b\x07\u009b") {
			t.Errorf("tab %s lets a control character through: %q", tab, out)
		}
	}
}

// TestCompareThroughRootModel: the compare screens are screens of the one
// root model, which routes their keys and clicks, lists the active
// screen's keys in its help, and draws the header, tabs and status line.
func TestCompareThroughRootModel(t *testing.T) {
	m := newCompareModel(t, 120, 40, "dark")
	var titles []string
	for _, sc := range m.screens {
		titles = append(titles, sc.title())
	}
	if m.cmp == nil || m.flame != nil || m.picker != nil || strings.Join(titles, ",") != "Metrics,Profiles,Goroutines,Settings,Findings" {
		t.Fatalf("compare mode: cmp %v, live flame %v, picker %v, screens %v", m.cmp != nil, m.flame != nil, m.picker != nil, titles)
	}
	if cmd := m.Init(); cmd != nil {
		t.Errorf("a comparison with a fixed theme starts a command (%T): nothing is live", cmd())
	}
	if v := m.View(); v.WindowTitle != "gotune diff" || !v.AltScreen || v.MouseMode != tea.MouseModeCellMotion {
		t.Errorf("view: title %q, alt screen %v, mouse %v", v.WindowTitle, v.AltScreen, v.MouseMode)
	}
	out := plain(m)
	lines := strings.Split(out, "\n")
	if !strings.HasPrefix(lines[0], "gotune diff before GOGC=100 → after GOGC=400") || !strings.Contains(lines[2], "1 Metrics  2 Profiles") ||
		!strings.HasPrefix(lines[len(lines)-1], "4 metrics beyond noise") || !strings.HasSuffix(lines[len(lines)-1], "? help q quit") {
		t.Errorf("header, tabs or status line:\n%s", out)
	}

	// ? lists the Profiles screen's keys under its title, and the global
	// keys without the live dashboard's save and window.
	press(m, "2", "?")
	help := plain(m)
	if !m.help || !strings.Contains(help, "Profiles\n") {
		t.Fatalf("? on Profiles:\n%s", help)
	}
	for _, kb := range profiles(m).helpKeys() {
		if !strings.Contains(help, kb.Help().Key) || !strings.Contains(help, kb.Help().Desc) {
			t.Errorf("help lacks the Profiles key %s %s", kb.Help().Key, kb.Help().Desc)
		}
	}
	for _, live := range []string{"save a snapshot", "window 1m/5m/15m"} {
		if strings.Contains(help, live) {
			t.Errorf("compare help lists the live key %q", live)
		}
	}
	press(m, "x")
	if m.help || m.active != cmpProfiles {
		t.Fatalf("a key closes the help and stays on Profiles: help %v, screen %d", m.help, m.active)
	}
	press(m, "1", "?")
	if help := plain(m); !strings.Contains(help, "Metrics\n") || strings.Contains(help, "absolute / normalized") {
		t.Errorf("? on Metrics lists another screen's keys:\n%s", help)
	}
	press(m, "esc")

	// s and w belong to the live dashboard.
	press(m, "s", "w")
	if m.save.open || m.active != cmpMetrics {
		t.Errorf("s or w did something in the compare view: save open %v, screen %d", m.save.open, m.active)
	}

	// A click on a tab switches; a click on a frame reaches the Profiles
	// screen in body coordinates: the first selects, the second zooms.
	m.Update(tea.MouseClickMsg{X: m.tabs[cmpFindings][0], Y: chromeTop - 1, Button: tea.MouseLeft})
	if m.active != cmpFindings || !strings.Contains(plain(m), "Resolved (3)") {
		t.Fatalf("a click on the Findings tab shows screen %d:\n%s", m.active, plain(m))
	}
	m.Update(tea.MouseClickMsg{X: m.tabs[cmpProfiles][1] - 1, Y: chromeTop - 1, Button: tea.MouseLeft})
	ps := profiles(m)
	if m.active != cmpProfiles {
		t.Fatalf("a click on the Profiles tab shows screen %d", m.active)
	}
	p := ps.pair()
	if len(p.ic.rows) < 3 || len(p.ic.rows[2]) == 0 || p.ic.sel == p.ic.rows[2][0].n {
		t.Fatalf("the cpu diff flame has no third row, or its first frame is selected already")
	}
	r := p.ic.rows[2][0]
	click := tea.MouseClickMsg{X: r.x + r.w/2, Y: chromeTop + ps.top + 2, Button: tea.MouseLeft}
	m.Update(click)
	if p.ic.sel != r.n || p.ic.focus == r.n {
		t.Fatalf("a click on %s selected %v, focus %v", r.n.name, p.ic.sel, p.ic.focus)
	}
	m.Update(click)
	if p.ic.focus != r.n || !strings.Contains(plain(m), "zoomed") {
		t.Errorf("a second click on %s did not zoom into it", r.n.name)
	}

	// The wheel scrolls a list screen.
	m.Update(tea.WindowSizeMsg{Width: 40, Height: 12})
	press(m, "1")
	top := strings.Split(plain(m), "\n")[chromeTop]
	m.Update(tea.MouseWheelMsg{X: 5, Y: 6, Button: tea.MouseWheelDown})
	if after := strings.Split(plain(m), "\n")[chromeTop]; after == top || !strings.HasPrefix(after, "GC CPU") {
		t.Errorf("the wheel moved the metrics from %q to %q, want three rows down to GC CPU", top, after)
	}

	_, cmd := m.Update(keyMsg("q"))
	if cmd == nil {
		t.Fatal("q returned no command")
	}
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Error("q does not quit")
	}
}

// notedComparison is the fixtures with the after window ten times as
// long: compare notes that the windows differ.
func notedComparison(t testing.TB) (*compare.Comparison, *snapshot.Snapshot, *snapshot.Snapshot) {
	t.Helper()
	before, after := readSnapshots(t)
	w := &after.Manifest.Window
	w.End = w.Start.Add(10 * w.Duration())
	c := compare.Compare(before, after)
	if len(c.Notes) == 0 {
		t.Fatal("windows of 59s and 9m50s give no note")
	}
	return c, before, after
}

// TestCompareNotesAndSpans: the like-with-like notes head the Metrics
// screen, and the Profiles screen says what each side's profile covers.
func TestCompareNotesAndSpans(t *testing.T) {
	c, before, after := notedComparison(t)
	m := newCompareModelOf(t, c, before, after, 120, 40, "dark")
	out := plain(m)
	if !strings.Contains(out, "Not like with like:\n  • the windows differ: 59.0s before, 9m50s after") {
		t.Errorf("Metrics lacks the note %q:\n%s", c.Notes[0], out)
	}
	press(m, "2")
	out = plain(m)
	if !strings.Contains(out, "before cpu 960ms captured over 10.0s: 0.10 cores │ after cpu 1.48s captured over 10.0s: 0.15 cores") {
		t.Errorf("Profiles lacks the cpu spans on one line:\n%s", out)
	}
	press(m, "p")
	if out = plain(m); !strings.Contains(out, "before inuse_space 921.16kB at one moment │ after inuse_space 1.71MB at one moment") {
		t.Errorf("Profiles lacks the heap spans:\n%s", out)
	}
	// Too narrow for one line: a line each.
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	press(m, "P")
	out = plain(m)
	if !strings.Contains(out, "\nbefore cpu 960ms captured over 10.0s: 0.10 cores\nafter  cpu 1.48s captured over 10.0s: 0.15 cores\n") {
		t.Errorf("at 80×24 the spans are not a line each:\n%s", out)
	}
}

// TestGoldenCompareNotes goldens the Metrics screen with a note at each
// size.
func TestGoldenCompareNotes(t *testing.T) {
	c, before, after := notedComparison(t)
	for _, sz := range sizes {
		t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) {
			m := newCompareModelOf(t, c, before, after, sz.w, sz.h, "dark")
			checkFrame(t, m.View().Content, sz.w, sz.h)
			golden.RequireEqual(t, plain(m))
		})
	}
}
