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

// newCompareModel is the compare view of the report fixtures at w×h.
func newCompareModel(t testing.TB, w, h int, theme string) *CompareModel {
	t.Helper()
	read := func(name string) *snapshot.Snapshot {
		s, err := snapshot.Read(filepath.Join("..", "testdata", "snapshots", name))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	before, after := read("before.gotune"), read("after.gotune")
	m := NewCompare(compare.Compare(before, after), before, after,
		CompareOptions{Theme: theme, BeforeLabel: "before.gotune", AfterLabel: "after.gotune"})
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	return m
}

func pressCmp(m *CompareModel, keys ...string) tea.Cmd {
	var cmds []tea.Cmd
	for _, k := range keys {
		msg := keyMsg(k)
		_, c := m.Update(msg)
		cmds = append(cmds, c)
	}
	return tea.Batch(cmds...)
}

func plainCmp(m *CompareModel) string {
	return stripView(m.View().Content)
}

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
				pressCmp(m, tb.keys...)
				checkFrame(t, m.View().Content, sz.w, sz.h)
				golden.RequireEqual(t, plainCmp(m))
			})
		}
	}
}

// TestCompareKeys: tabs by digit, Tab and click; n toggles the mode and
// keeps the selection; p cycles the kinds; enter and esc zoom; q quits.
func TestCompareKeys(t *testing.T) {
	m := newCompareModel(t, 120, 40, "dark")
	for i, k := range []string{"2", "3", "4", "5", "1"} {
		pressCmp(m, k)
		if want := (i + 1) % 5; m.tab != want {
			t.Fatalf("key %s: tab %d, want %d", k, m.tab, want)
		}
	}
	pressCmp(m, "tab", "tab")
	if m.tab != cmpGoroutines || !strings.Contains(plainCmp(m), "appeared") {
		t.Fatalf("tab twice: tab %d\n%s", m.tab, plainCmp(m))
	}
	m.Update(tea.MouseClickMsg{X: m.tabs[cmpProfiles][0] + 1, Y: chromeTop - 1, Button: tea.MouseLeft})
	if m.tab != cmpProfiles {
		t.Fatalf("a click on the Profiles tab shows tab %d", m.tab)
	}
	p := m.pair()
	if p.kind != "cpu" || p.abs == nil || p.norm == nil {
		t.Fatalf("first profile %q, flames %v %v", p.kind, p.abs != nil, p.norm != nil)
	}
	pressCmp(m, "j", "j", "j", "j", "j")
	sel := p.ic.sel
	if sel == nil || sel.name != "main.spin" {
		t.Fatalf("five j from the root's child select %v, want main.spin", sel)
	}
	grew := p.abs.class(sel)
	out := plainCmp(m)
	if !strings.Contains(out, "absolute (n)") || !strings.Contains(out, "noise floor") || !strings.Contains(out, "▲main.spin") {
		t.Errorf("absolute view lacks its mode, floor or marked frame:\n%s", out)
	}
	pressCmp(m, "n")
	if !m.normalized || p.ic.sel == nil || p.ic.sel.name != "main.spin" || p.ic.sel == sel {
		t.Fatalf("n did not switch to the normalized tree keeping the selection")
	}
	if grew != profile.ChangeGrew || p.norm.class(p.ic.sel) != profile.ChangeShrank {
		t.Errorf("main.spin is %s absolute and %s normalized; the fixtures have it grow then shrink", grew, p.norm.class(p.ic.sel))
	}
	if out := plainCmp(m); !strings.Contains(out, "normalized (n)") || !strings.Contains(out, "after ×0.649") || !strings.Contains(out, "▼main.spin") {
		t.Errorf("normalized view:\n%s", out)
	}
	pressCmp(m, "enter")
	if p.ic.focus.name != "main.spin" || !strings.Contains(plainCmp(m), "zoomed") {
		t.Error("enter did not zoom into the selected frame")
	}
	pressCmp(m, "esc")
	if p.ic.focus.name != "main.burnCPU" {
		t.Errorf("esc zoomed out to %s", p.ic.focus.name)
	}
	pressCmp(m, "p")
	if m.pair().kind != "heap" || !strings.Contains(plainCmp(m), "inuse_space/bytes") {
		t.Errorf("p shows %s", m.pair().kind)
	}
	pressCmp(m, "P")
	if m.pair().kind != "cpu" {
		t.Errorf("P shows %s", m.pair().kind)
	}
	pressCmp(m, "?")
	if !strings.Contains(plainCmp(m), "absolute / normalized") {
		t.Error("? shows no help")
	}
	pressCmp(m, "x")
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
		pressCmp(m, tab)
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
	}
	m := NewCompare(c, &snapshot.Snapshot{}, &snapshot.Snapshot{}, CompareOptions{Theme: "mono"})
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	for _, tab := range []string{"1", "2", "3", "4", "5"} {
		pressCmp(m, tab)
		out := ansi.Strip(m.View().Content)
		if strings.ContainsAny(out, "\x1b\x07\u009b") {
			t.Errorf("tab %s lets a control character through: %q", tab, out)
		}
	}
}
