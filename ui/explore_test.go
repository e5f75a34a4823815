package ui

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	pprof "github.com/google/pprof/profile"

	"github.com/gotune/gotune/profile"
)

// The tests in this file drive the Flame and Top screens' exploration
// keys through Update: refine, granularity, invert, zoom reset, previous
// match, scrolling, peek, source, history and export.

// drive runs cmd and the commands its messages lead to through m, as the
// program would; clock ticks are dropped (they re-arm forever).
func drive(t *testing.T, m *Model, cmd tea.Cmd) {
	t.Helper()
	for _, msg := range runCmd(t, cmd) {
		switch msg.(type) {
		case tickMsg, captureTickMsg, saveTickMsg, nil:
			continue
		}
		_, next := m.Update(msg)
		drive(t, m, next)
	}
}

// keys presses each key, running what it starts.
func keys(t *testing.T, m *Model, ks ...string) {
	t.Helper()
	for _, k := range ks {
		_, cmd := m.Update(keyMsg(k))
		drive(t, m, cmd)
	}
}

func typeText(t *testing.T, m *Model, s string) {
	t.Helper()
	keys(t, m, strings.Split(s, "")...)
}

// flameModel is a dashboard at 120×40 showing the fixture CPU profile.
func flameModel(t *testing.T) *Model {
	t.Helper()
	m := newTestModel(t, 120, 40, "dark")
	press(m, "2")
	loadProfile(t, m, profile.KindCPU)
	return m
}

func fixtureProfile(t *testing.T, name string) *profile.Profile {
	t.Helper()
	p, err := profile.ParseBytes(fixture(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// selectName selects the largest built frame named name.
func selectName(t *testing.T, f *flameScreen, name string) {
	t.Helper()
	ns := nodesNamed(f.tree, name)
	if len(ns) == 0 {
		t.Fatalf("no frame %s in the tree", name)
	}
	f.sel = ns[0]
}

// TestRefineEveryView: f opens the prompt, a focus typed there refines
// the flame, the top table, the peek and the chips; the Top screen's own
// f refines the same profile; F clears.
func TestRefineEveryView(t *testing.T) {
	m := flameModel(t)
	f := m.flame
	keys(t, m, "f")
	if !f.refine.open || !f.typing() {
		t.Fatal("f did not open the refine prompt")
	}
	if out := plain(m); !strings.Contains(out, "Refine every view") || !strings.Contains(out, "show-from") || !strings.Contains(out, "tagignore") {
		t.Errorf("the prompt does not list the filters:\n%s", out)
	}
	typeText(t, m, "fib|spin")
	keys(t, m, "tab", "tab") // hide
	typeText(t, m, `runtime\.`)
	keys(t, m, "enter")
	if f.refine.open {
		t.Fatalf("enter did not apply: %s", f.refine.err)
	}
	want := profile.Options{SampleIndex: "cpu", Focus: "fib|spin", Hide: `runtime\.`}
	if f.data.opts.Options != want {
		t.Fatalf("the profile is aggregated with %+v, want %+v", f.data.opts.Options, want)
	}
	p := fixtureProfile(t, "cpu.pb.gz")
	top, err := profile.NewTop(p, profile.TopOptions{Options: want})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.data.top.Rows, top.Rows) {
		t.Errorf("top rows %v, want NewTop's %v", f.data.top.Rows, top.Rows)
	}
	if got := f.tree.Value(profile.Root); got != top.Shown {
		t.Errorf("the flame's root is %d, want the refined total %d", got, top.Shown)
	}
	for n := 1; n < f.tree.Len(); n++ {
		if name := f.tree.Name(profile.NodeID(n)); strings.HasPrefix(name, "runtime.") {
			t.Errorf("a hidden frame %s is in the flame", name)
		}
	}
	out := plain(m)
	for _, s := range []string{" focus=fib|spin ", ` hide=runtime\. `, "F clear"} {
		if !strings.Contains(out, s) {
			t.Errorf("the flame lacks the chip %q:\n%s", s, out)
		}
	}
	// The peek of burnCPU sees only the refined samples: no hashLoop.
	f.openPeek("main.burnCPU")
	drive(t, m, f.wantPeek())
	pk := f.peeks["main.burnCPU"]
	wantPk, err := profile.NewPeek(p, profile.PeekOptions{Options: want, Match: `^main\.burnCPU$`})
	if err != nil {
		t.Fatal(err)
	}
	if pk == nil || pk.Cum != wantPk.Nodes[0].Cum || !slices.Equal(pk.Callees, wantPk.Nodes[0].Callees) {
		t.Errorf("refined peek %+v, want %+v", pk, wantPk.Nodes[0])
	}
	keys(t, m, "esc")

	// The Top screen shows the same chips and refines the same profile.
	keys(t, m, "3")
	if out := plain(m); !strings.Contains(out, " focus=fib|spin ") || !strings.Contains(out, "main.fib") || strings.Contains(out, "main.hashLoop") {
		t.Errorf("Top does not show the refined table:\n%s", out)
	}
	keys(t, m, "f", "ctrl+u")
	typeText(t, m, "hashLoop")
	keys(t, m, "enter")
	if f.data.opts.Focus != "hashLoop" || !strings.Contains(plain(m), "main.hashLoop") {
		t.Errorf("Top's refine did not reach the profile: %+v\n%s", f.data.opts, plain(m))
	}
	// A bad regexp is refused with pprof's words, the prompt stays open.
	keys(t, m, "f")
	typeText(t, m, "(")
	keys(t, m, "enter")
	if tp := m.screens[scrTop].(*topScreen); !tp.refine.open || !strings.Contains(plain(m), "parse focus regexp") {
		t.Errorf("a bad focus was not refused:\n%s", plain(m))
	}
	keys(t, m, "esc", "F")
	if f.data.opts.Refined() || strings.Contains(plain(m), "focus=") {
		t.Errorf("F did not clear the refinements: %+v", f.data.opts)
	}
}

// TestGranularityAndInvert: v steps through files, lines and addresses
// (the flame and the top table follow); i turns the flame bottom-up.
func TestGranularityAndInvert(t *testing.T) {
	m := flameModel(t)
	f := m.flame
	p := fixtureProfile(t, "cpu.pb.gz")
	for _, g := range []profile.Granularity{profile.Files, profile.Lines, profile.Addresses, profile.Functions} {
		keys(t, m, "v")
		if f.data.opts.Granularity != g {
			t.Fatalf("v: granularity %v, want %v", f.data.opts.Granularity, g)
		}
		top, err := profile.NewTop(p, profile.TopOptions{Options: profile.Options{SampleIndex: "cpu", Granularity: g}})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(f.data.top.Rows, top.Rows) {
			t.Errorf("%v: top rows differ from NewTop's", g)
		}
		name := f.tree.Name(f.tree.Children(profile.Root)[0])
		switch g {
		case profile.Files:
			if !strings.HasSuffix(name, ".go") {
				t.Errorf("files: the root's child is %q", name)
			}
		case profile.Lines:
			if !regexp.MustCompile(`\.go:\d+$`).MatchString(name) {
				t.Errorf("lines: the root's child is %q", name)
			}
			if !strings.Contains(plain(m), " lines ") {
				t.Errorf("no granularity chip:\n%s", plain(m))
			}
		}
	}
	keys(t, m, "i")
	if !f.tree.Inverted || !strings.Contains(plain(m), " inverted ") {
		t.Fatal("i did not invert the flame")
	}
	// Bottom-up, the root's children are where the time is spent: the
	// functions with flat values, largest first.
	top := f.data.top.Rows
	slices.SortStableFunc(top, func(a, b profile.TopRow) int { return int(b.Flat - a.Flat) })
	kids := f.tree.Children(profile.Root)
	if f.tree.Name(kids[0]) != top[0].Name || f.tree.Value(kids[0]) != top[0].Flat {
		t.Errorf("inverted: first root child %s %d, want %s %d", f.tree.Name(kids[0]), f.tree.Value(kids[0]), top[0].Name, top[0].Flat)
	}
	keys(t, m, "i")
	if f.tree.Inverted {
		t.Error("a second i did not turn it back")
	}
}

// TestZoomResetAndMatches: z resets a two-level zoom; n and N step
// through the matches both ways; the view scrolls to a match below the
// last row.
func TestZoomResetAndMatches(t *testing.T) {
	m := newTestModel(t, 80, 24, "dark")
	press(m, "2")
	loadProfile(t, m, profile.KindCPU)
	f := m.flame
	keys(t, m, "j", "enter", "j", "enter")
	if f.tree.Depth(f.focus) != 3 {
		t.Fatalf("zoomed to depth %d, want 3", f.tree.Depth(f.focus))
	}
	keys(t, m, "z")
	if f.focus != profile.Root {
		t.Fatal("z did not reset the zoom")
	}
	keys(t, m, "/")
	typeText(t, m, "fib")
	keys(t, m, "enter")
	order := f.order(func(n profile.NodeID) bool { return f.matches[n] })
	if len(order) < 3 || f.sel != order[0] {
		t.Fatalf("enter did not select the first of %d matches", len(order))
	}
	keys(t, m, "n")
	if f.sel != order[1] {
		t.Error("n did not select the next match")
	}
	keys(t, m, "N", "N")
	if f.sel != order[len(order)-1] {
		t.Error("N from the first match did not wrap to the last")
	}
	// The last match is the deepest fib, below the rows the screen has.
	row, _, _ := f.find(f.sel)
	if row < f.ih || f.scroll == 0 || row < f.scroll || row >= f.scroll+f.ih {
		t.Fatalf("selected row %d, scroll %d, %d rows shown: not scrolled to it", row, f.scroll, f.ih)
	}
	out := plain(m)
	if !strings.Contains(out, "rows ") || !strings.Contains(out, "main.fib") {
		t.Errorf("the scrolled view:\n%s", out)
	}
	// Up moves back toward the root and the view follows.
	for range row {
		keys(t, m, "k")
	}
	if f.scroll != 0 || f.sel != f.focus {
		t.Errorf("after climbing to the top: scroll %d, selection %d", f.scroll, f.sel)
	}
}

// TestPeekMoves: p shows the selected function's callers and callees as
// NewPeek (go tool pprof -peek) computes them; Enter moves to a callee,
// esc back, and the flame's selection follows.
func TestPeekMoves(t *testing.T) {
	m := flameModel(t)
	f := m.flame
	selectName(t, f, "main.burnCPU")
	keys(t, m, "p")
	if f.mode != modePeek || f.pk.name != "main.burnCPU" {
		t.Fatalf("p: mode %d on %q", f.mode, f.pk.name)
	}
	want, err := profile.NewPeek(fixtureProfile(t, "cpu.pb.gz"), profile.PeekOptions{Options: profile.Options{SampleIndex: "cpu"}, Match: `^main\.burnCPU$`})
	if err != nil {
		t.Fatal(err)
	}
	got := f.peeks["main.burnCPU"]
	if got == nil || got.Flat != want.Nodes[0].Flat || got.Cum != want.Nodes[0].Cum ||
		!slices.Equal(got.Callers, want.Nodes[0].Callers) || !slices.Equal(got.Callees, want.Nodes[0].Callees) {
		t.Fatalf("peek %+v, want %+v", got, want.Nodes[0])
	}
	out := plain(m)
	for _, s := range []string{"Peek main.burnCPU", "main.run", "main.spin", "main.hashLoop", "main.fib", "calls% of cum"} {
		if !strings.Contains(out, s) {
			t.Errorf("the peek view lacks %q:\n%s", s, out)
		}
	}
	// Rows: the caller (main.run), then the callees, largest first.
	callee := got.Callees[0].Name
	keys(t, m, "j", "enter")
	if f.pk.name != callee || f.tree.Name(f.sel) != callee {
		t.Fatalf("enter on the first callee: peek %q, selection %q; want %q", f.pk.name, f.tree.Name(f.sel), callee)
	}
	if !strings.Contains(plain(m), "Peek "+callee) {
		t.Errorf("the peek did not move:\n%s", plain(m))
	}
	keys(t, m, "esc")
	if f.pk.name != "main.burnCPU" {
		t.Errorf("esc went back to %q", f.pk.name)
	}
	keys(t, m, "esc")
	if f.mode != modeFlame {
		t.Error("esc did not return to the flame")
	}
}

// TestSourceView: L lists the selected function (its source found under
// the search path), per line as NewListing (go tool pprof -list).
func TestSourceView(t *testing.T) {
	sess := testSession(t, fillStore(900), &fakeFetcher{t: t})
	root, _ := filepath.Abs("..")
	m := New(t.Context(), Options{Session: sess, Theme: "dark", Now: func() time.Time { return t0 }, CPUSeconds: 3, SourcePath: []string{root}})
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	m.Update(snapshotMsg{snap: sess.Snapshot()})
	press(m, "2")
	loadProfile(t, m, profile.KindCPU)
	f := m.flame
	selectName(t, f, "main.fib")
	keys(t, m, "L")
	if f.mode != modeList || f.ls.listing == nil {
		t.Fatalf("L: mode %d, listing %v, err %v", f.mode, f.ls.listing, f.ls.err)
	}
	want, err := profile.NewListing(fixtureProfile(t, "cpu.pb.gz"), profile.ListOptions{Options: profile.Options{SampleIndex: "cpu"}, Match: `^main\.fib$`}, m.s.sources)
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Routines) != len(f.ls.listing.Routines) || !slices.Equal(want.Routines[0].Lines, f.ls.listing.Routines[0].Lines) {
		t.Errorf("listing differs from NewListing's")
	}
	rt := f.ls.listing.Routines[0]
	if rt.Err != nil {
		t.Fatalf("the source was not found: %v", rt.Err)
	}
	out := plain(m)
	for _, s := range []string{"Source main.fib", "ROUTINE ======================== main.fib", "(flat, cum)", "fib(n"} {
		if !strings.Contains(out, s) {
			t.Errorf("the source view lacks %q:\n%s", s, out)
		}
	}
	if strings.Contains(out, "\t") || strings.Contains(out, "\uFFFD") {
		t.Errorf("tabs are not expanded:\n%s", out)
	}
	// r fetches again: the view lists the same function in the new profile.
	before := f.data
	keys(t, m, "r")
	if f.data == before || f.mode != modeList || f.ls.data != f.data || f.ls.listing == nil || f.ls.name != "main.fib" {
		t.Errorf("after r: new data %v, mode %d, listed the new profile %v, listing %v", f.data != before, f.mode, f.ls.data == f.data, f.ls.listing != nil)
	}
	keys(t, m, "esc")
	if f.mode != modeFlame {
		t.Error("esc did not leave the source view")
	}
	// At file granularity a node names no function: the view says so.
	keys(t, m, "v", "L")
	if f.mode != modeList || f.ls.err == nil || !strings.Contains(plain(m), "names no function") {
		t.Errorf("L at file granularity:\n%s", plain(m))
	}
}

// TestHistoryGoesBack: after the heap profile, H lists the CPU profile
// captured before it; Enter shows it again.
func TestHistoryGoesBack(t *testing.T) {
	m := flameModel(t)
	f := m.flame
	drive(t, m, press(m, "m"))
	if f.data.kind != profile.KindHeap {
		t.Fatalf("m loaded %s", f.data.kind)
	}
	keys(t, m, "H")
	if f.mode != modeHistory {
		t.Fatal("H did not open the history")
	}
	out := plain(m)
	if !strings.Contains(out, "History") || !strings.Contains(out, "▸") || !strings.Contains(out, "CPU 3s") {
		t.Fatalf("the history:\n%s", out)
	}
	i := slices.IndexFunc(f.hist.entries, func(c *profile.Captured) bool { return c.Kind == profile.KindCPU })
	if i < 0 || f.hist.entries[f.hist.cursor].Kind != profile.KindHeap {
		t.Fatalf("the history does not start at the heap or has no CPU profile")
	}
	for f.hist.cursor < i {
		keys(t, m, "j")
	}
	keys(t, m, "enter")
	if f.mode != modeFlame || f.data.kind != profile.KindCPU || !strings.Contains(plain(m), "CPU 3s · cpu") {
		t.Errorf("enter did not bring back the CPU profile:\n%s", plain(m))
	}
}

// TestExportView: e writes the view as a .pb.gz that go tool pprof opens
// (refined as the view is), as folded stacks and as the top table, owner
// only, and the status line says where.
func TestExportView(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_DATA_HOME", dir)
	m := flameModel(t)
	f := m.flame
	keys(t, m, "f")
	typeText(t, m, "burnCPU")
	keys(t, m, "tab")
	typeText(t, m, "spin")
	keys(t, m, "enter")
	opts := f.data.opts.Options
	p := fixtureProfile(t, "cpu.pb.gz")
	for i, format := range []string{".pb.gz", ".folded.txt", ".top.txt"} {
		keys(t, m, "e")
		if !f.export.open || !strings.Contains(plain(m), "Export") {
			t.Fatalf("e did not open the export prompt:\n%s", plain(m))
		}
		for range i {
			keys(t, m, "tab")
		}
		path := f.export.path.String()
		if !strings.HasPrefix(path, filepath.Join(dir, "gotune", "exports")) || !strings.HasSuffix(path, format) {
			t.Fatalf("default path %s", path)
		}
		keys(t, m, "enter")
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", path, st.Mode().Perm())
		}
		if out := plain(m); !strings.Contains(out, "exported") || !strings.Contains(out, filepath.Base(path)) {
			t.Errorf("the status line does not say where:\n%s", out)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		switch format {
		case ".pb.gz":
			// pprof's own filters left the samples the view shows: its
			// top table without refinements is gotune's with them.
			q, err := profile.ParseBytes(data)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := profile.NewTop(q, profile.TopOptions{Options: profile.Options{SampleIndex: "cpu"}})
			want, _ := profile.NewTop(p, profile.TopOptions{Options: opts})
			if !slices.Equal(got.Rows, want.Rows) || got.Shown != want.Shown {
				t.Errorf("the exported profile's top %v differs from the view's %v", got.Rows, want.Rows)
			}
			if testing.Short() {
				continue
			}
			out, err := exec.Command("go", "tool", "pprof", "-top", path).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "main.burnCPU") || strings.Contains(string(out), "main.spin") {
				t.Errorf("go tool pprof -top on the export: %v\n%s", err, out)
			}
		case ".folded.txt":
			var want bytes.Buffer
			if err := profile.WriteFolded(&want, p, opts); err != nil {
				t.Fatal(err)
			}
			if string(data) != want.String() || len(data) == 0 {
				t.Errorf("folded export differs from WriteFolded:\n%s", data)
			}
		case ".top.txt":
			for _, s := range []string{"Type: cpu", "Active filters:", "   focus=burnCPU", "   ignore=spin", "Showing nodes accounting for", "main.fib"} {
				if !strings.Contains(string(data), s) {
					t.Errorf("the top export lacks %q:\n%s", s, data)
				}
			}
		}
	}
	// From the Top screen, e exports the table by default.
	keys(t, m, "3", "e")
	if tp := m.screens[scrTop].(*topScreen); !tp.export.open || tp.export.format != exportTop {
		t.Error("e on Top does not offer the top table")
	}
}

// TestCommandPaths takes the command paths big profiles use (peeks,
// search shares and zoom expansions computed off Update), with the
// threshold lowered so the fixture counts as big.
func TestCommandPaths(t *testing.T) {
	old := syncSamples
	syncSamples = 0
	t.Cleanup(func() { syncSamples = old })
	m := flameModel(t)
	f := m.flame
	if !f.data.large() {
		t.Fatal("the fixture is not treated as large")
	}
	// The first selection's peek came with the data.
	if f.peeks[f.tree.Name(f.sel)] == nil {
		t.Fatal("no peek for the first selection")
	}
	_, cmd := m.Update(keyMsg("j"))
	name := f.tree.Name(f.sel)
	if f.peeks[name] != nil || cmd == nil || !strings.Contains(plain(m), "callers and callees…") {
		t.Fatalf("j did not ask for %s's peek in a command", name)
	}
	drive(t, m, cmd)
	if f.peeks[name] == nil || strings.Contains(plain(m), "callers and callees…") {
		t.Fatalf("the peek of %s did not arrive", name)
	}
	keys(t, m, "/")
	typeText(t, m, "fib")
	_, cmd = m.Update(keyMsg("enter"))
	if f.matchKnown || !strings.Contains(plain(m), "· … of total") {
		t.Errorf("the share is known before its command ran:\n%s", plain(m))
	}
	drive(t, m, cmd)
	v, _ := f.tree.Search(searchRegexp("fib"))
	if !f.matchKnown || f.matchValue != v {
		t.Errorf("share %d (known %v), want %d", f.matchValue, f.matchKnown, v)
	}
	keys(t, m, "esc", "z")
	// A zoom builds the subtree in a command: fake a trimmed subtree by
	// starting from a tree built at a coarse cut.
	tr, err := profile.NewTree(f.data.prof, profile.TreeOptions{Options: f.data.opts.Options, MinFraction: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	f.tree, f.icicle.tree = tr, treeSource{tr}
	f.expanded = map[profile.NodeID]bool{}
	f.sel, f.focus = tr.Children(profile.Root)[0], profile.Root
	f.relayout()
	before := tr.Len()
	_, cmd = m.Update(keyMsg("enter"))
	if !f.expanding || cmd == nil {
		t.Fatal("the zoom did not expand in a command")
	}
	drive(t, m, cmd)
	if f.tree.Len() <= before || !f.expanded[f.focus] {
		t.Errorf("the expansion did not arrive: %d nodes, before %d", f.tree.Len(), before)
	}
}

// TestProfileTextIsSanitized: function names with terminal escapes are
// drawn inert on the flame, the side panel, the peek and Top.
func TestProfileTextIsSanitized(t *testing.T) {
	evil := "main.\x1b]0;pwned\x07evil\x1b[2J"
	fn := &pprof.Function{ID: 1, Name: evil, SystemName: evil, Filename: "/x/\x1b[31mevil.go"}
	caller := &pprof.Function{ID: 2, Name: "main.main", Filename: "/x/main.go"}
	loc := &pprof.Location{ID: 1, Address: 0x10, Line: []pprof.Line{{Function: fn, Line: 3}}}
	loc2 := &pprof.Location{ID: 2, Address: 0x20, Line: []pprof.Line{{Function: caller, Line: 9}}}
	pp := &pprof.Profile{
		SampleType: []*pprof.ValueType{{Type: "inuse_space", Unit: "bytes"}},
		Sample:     []*pprof.Sample{{Location: []*pprof.Location{loc, loc2}, Value: []int64{4096}}},
		Location:   []*pprof.Location{loc, loc2}, Function: []*pprof.Function{fn, caller},
		PeriodType: &pprof.ValueType{Type: "space", Unit: "bytes"}, Period: 512 * 1024,
	}
	var b bytes.Buffer
	if err := pp.Write(&b); err != nil {
		t.Fatal(err)
	}
	m := newTestModel(t, 120, 40, "dark")
	press(m, "2")
	p, err := profile.ParseBytes(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	d, err := buildFlameData(&profile.Captured{Kind: profile.KindHeap, Raw: b.Bytes(), Profile: p, FetchedAt: t0}, m.flame.opts)
	if err != nil {
		t.Fatal(err)
	}
	m.Update(profileMsg{gen: m.flame.gen, kind: profile.KindHeap, data: d})
	f := m.flame
	selectName(t, f, evil)
	views := map[string]string{"flame": m.View().Content}
	keys(t, m, "p")
	views["peek"] = m.View().Content
	keys(t, m, "esc", "v", "3")
	views["top"] = m.View().Content
	for name, v := range views {
		if strings.Contains(v, "\x1b]0;") || strings.Contains(v, "\x07") || strings.Contains(v, "\x1b[2J") || strings.Contains(v, "\x1b[31m") {
			t.Errorf("%s: an escape from the profile reached the terminal: %q", name, v)
		}
		if !strings.Contains(v, "\uFFFD") {
			t.Errorf("%s: the name is not shown inert", name)
		}
	}
}

// TestHelpListsExplorationKeys: ? on the Flame screen lists every new key.
func TestHelpListsExplorationKeys(t *testing.T) {
	m := flameModel(t)
	press(m, "?")
	out := plain(m)
	for _, s := range []string{"reset zoom", "previous match", "refine", "clear refinements", "files/lines", "invert", "peek", "source lines", "history", "export"} {
		if !strings.Contains(out, s) {
			t.Errorf("help lacks %q:\n%s", s, out)
		}
	}
}

// TestPathNoteFits: an export's note keeps the path whole while it fits,
// dropping the longer words first, then the start of the path; the file
// name shows to the last cell.
func TestPathNoteFits(t *testing.T) {
	s := &shared{clock: func() time.Time { return t0 }}
	path := "/tmp/TestDashboardEndToEnd1611903064/001/gotune/exports/gotune-pid10579-cpu-20261201-160613.pb.gz"
	s.setPathNote("exported the profile to", "exported to", path)
	for _, c := range []struct {
		w    int
		want string
	}{
		{200, "exported the profile to " + path},
		{len("exported to ") + len(path), "exported to " + path},
		{80, "exported to …" + path[len(path)-67:]},
		{20, "exported the profile to " + path}, // too narrow to help
	} {
		got := s.fitNote(c.w)
		if got != c.want {
			t.Errorf("width %d: %q, want %q", c.w, got, c.want)
		}
		if c.w >= 30 && ansi.StringWidth(got) > c.w {
			t.Errorf("width %d: %q is %d cells", c.w, got, ansi.StringWidth(got))
		}
	}
	s.setNote("export failed: disk full", true)
	if got := s.fitNote(10); got != "export failed: disk full" {
		t.Errorf("a plain note changed: %q", got)
	}
}
