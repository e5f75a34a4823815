package ui

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/gotune/gotune/capture"
	"github.com/gotune/gotune/collectors"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/session"
)

func TestMain(m *testing.M) {
	time.Local = time.UTC // goldens print clock times
	os.Exit(m.Run())
}

// t0 is the fixed "now" of every test.
var t0 = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "profiles", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fakeFetcher serves fixture profiles by kind.
type fakeFetcher struct {
	t     testing.TB
	block bool // CPU captures wait for cancellation
}

func (f *fakeFetcher) Fetch(ctx context.Context, req collectors.ProfileRequest) (collectors.Fetched, error) {
	b, err := f.body(ctx, req)
	if err != nil || req.Debug > 0 {
		return collectors.Fetched{Raw: b}, err
	}
	return collectors.DecodeFetched(b)
}

func (f *fakeFetcher) body(ctx context.Context, req collectors.ProfileRequest) ([]byte, error) {
	switch req.Kind {
	case profile.KindCPU:
		if f.block {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return fixture(f.t, "cpu.pb.gz"), nil
	case profile.KindGoroutine:
		if req.Debug == 0 {
			return fixture(f.t, "goroutine.pb.gz"), nil
		}
		return fixture(f.t, "goroutine.txt"), nil
	case profile.KindHeap, profile.KindAllocs, profile.KindMutex, profile.KindBlock:
		return fixture(f.t, string(req.Kind)+".pb.gz"), nil
	}
	return nil, fmt.Errorf("no fixture for %s", req.Kind)
}

// fillStore writes n synthetic 1 s samples ending at t0: a heap sawtooth,
// a growing goroutine count, histograms for pauses and latencies.
func fillStore(n int) *session.Store {
	st := session.NewStore(session.DefaultCapacity)
	st.SetTarget(session.Target{URL: "http://127.0.0.1:6060", PID: 4242, GoVersion: "go1.26.8", StartTime: t0.Add(-2*time.Hour - 5*time.Minute)})
	buckets := []float64{0, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, math.Inf(1)}
	var cpu, gc, gcCPU, total, allocs float64
	pauses := make([]uint64, 6)
	lat := make([]uint64, 6)
	for i := 0; i < n; i++ {
		tm := t0.Add(time.Duration(i-n+1) * time.Second)
		live := 40e6 + 20e6*math.Sin(float64(i)/7)
		cpu += 0.3 + 0.1*math.Sin(float64(i)/5)
		total += 2
		gcCPU += 0.2 + 0.05*math.Cos(float64(i)/9)
		gc += 1 + float64(i%3)
		allocs += 50e6 + 10e6*math.Sin(float64(i)/4)
		pauses[2+i%3]++
		lat[1+i%4] += 3
		s := session.Sample{Time: tm, Source: "agent", Values: map[string]float64{
			session.HeapLive: live, session.HeapGoal: 2 * live, session.GOMEMLIMIT: math.MaxInt64,
			session.GOGC: 100, session.GOMAXPROCS: 2, session.ProcessRSS: 150e6 + live,
			session.Goroutines: float64(20 + i/10), session.GoroutinesRunnable: float64(i % 4), session.GoroutinesWaiting: float64(15 + i/10),
			session.ProcessCPU: cpu, session.CPUTotal: total, session.CPUGCTotal: gcCPU, session.GCCycles: gc,
			session.HeapAllocsBytes: allocs,
		}, Histograms: map[string]*session.Histogram{
			session.PausesGC:       {Buckets: buckets, Counts: append([]uint64(nil), pauses...)},
			session.SchedLatencies: {Buckets: buckets, Counts: append([]uint64(nil), lat...)},
		}}
		st.Append(s)
	}
	st.SetStatus(session.Status{Source: "metrics", Via: "agent", Interval: time.Second, LastOK: t0.Add(-400 * time.Millisecond), Latency: 2 * time.Millisecond})
	return st
}

// newTestModel is a dashboard on a full store and fixture profiles,
// sized w×h, with its first snapshot and goroutine dump delivered.
func newTestModel(t testing.TB, w, h int, theme string) *Model {
	t.Helper()
	sess := testSession(t, fillStore(900), &fakeFetcher{t: t})
	m := New(t.Context(), Options{Session: sess, Theme: theme, Now: func() time.Time { return t0 }, CPUSeconds: 3})
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	m.Update(snapshotMsg{snap: sess.Snapshot()})
	// The leak grew since attach.
	gm := fetchGoroutines(t.Context(), sess)().(goroutinesMsg)
	gm.groups = append([]profile.GoroutineGroup(nil), gm.groups...)
	gm.groups[0].Count += 7
	gm.at, gm.took = t0, 3*time.Millisecond // a fixed read time for the goldens
	m.Update(gm)
	return m
}

// testSession is a capture session over st whose profiles come from f,
// with the window's start taken (the goroutine baseline from the fixture
// goroutine profile) at t0 − 1 min.
func testSession(t testing.TB, st *session.Store, f capture.Fetcher) *capture.Session {
	t.Helper()
	clock := t0.Add(-time.Minute)
	sess := capture.New(st, f, capture.Options{Name: "demo (pid 4242) http://127.0.0.1:6060", Now: func() time.Time { return clock },
		Traces: &fixtureTracer{t: t}})
	if f != nil {
		sess.MarkStart(t.Context())
	}
	return sess
}

// loadProfile delivers a fixture profile to the flame screen as a fetch
// would.
func loadProfile(t testing.TB, m *Model, kind profile.Kind) {
	t.Helper()
	cmd := m.flame.fetch(kind, "")
	msgs := runCmd(t, cmd)
	for _, msg := range msgs {
		if pm, ok := msg.(profileMsg); ok {
			if pm.err != nil {
				t.Fatal(pm.err)
			}
			pm.data.fetchedAt = t0
			m.Update(pm)
			return
		}
	}
	t.Fatalf("no profile message from fetch(%s)", kind)
}

// runCmd runs cmd and the commands of batches it returns, giving up on
// any that blocks after 30 s: a guard against a hang, not a speed check
// (a trace capture took over a second under -race beside a second copy
// of the suite on a slowed machine).
func runCmd(t testing.TB, cmd tea.Cmd) []tea.Msg { return runCmdWithin(t, cmd, 30*time.Second) }

// runCmdWithin is runCmd with another limit per command.
func runCmdWithin(t testing.TB, cmd tea.Cmd, limit time.Duration) []tea.Msg {
	if cmd == nil {
		return nil
	}
	ch := make(chan tea.Msg, 1)
	go func() { ch <- cmd() }()
	select {
	case msg := <-ch:
		if b, ok := msg.(tea.BatchMsg); ok {
			var out []tea.Msg
			for _, c := range b {
				out = append(out, runCmdWithin(t, c, limit)...)
			}
			return out
		}
		return []tea.Msg{msg}
	case <-time.After(limit):
		return nil
	}
}

func press(m *Model, keys ...string) tea.Cmd {
	var cmds []tea.Cmd
	for _, k := range keys {
		_, c := m.Update(keyMsg(k))
		cmds = append(cmds, c)
	}
	return tea.Batch(cmds...)
}

// keyMsg is the key press of a key name ("enter", "ctrl+u") or a
// character.
func keyMsg(k string) tea.KeyPressMsg {
	switch k {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "left":
		return tea.KeyPressMsg{Code: tea.KeyLeft}
	case "right":
		return tea.KeyPressMsg{Code: tea.KeyRight}
	case "ctrl+u":
		return tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl}
	}
	r := []rune(k)[0]
	return tea.KeyPressMsg{Code: r, Text: k}
}

// plain is the view without escapes, trailing spaces trimmed (spaces
// that carried a background are blank once stripped).
func plain(m *Model) string { return stripView(m.View().Content) }

func stripView(content string) string {
	lines := strings.Split(ansi.Strip(content), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

var sizes = []struct{ w, h int }{{80, 24}, {120, 40}, {200, 60}, {40, 12}}

// TestGoldenScreens goldens every screen, ANSI stripped, at each size.
func TestGoldenScreens(t *testing.T) {
	screens := []struct {
		name  string
		setup func(t *testing.T, m *Model)
	}{
		{"overview", func(t *testing.T, m *Model) {}},
		{"flame", func(t *testing.T, m *Model) {
			press(m, "2")
			loadProfile(t, m, profile.KindCPU)
			press(m, "j", "j")
		}},
		{"flame-search", func(t *testing.T, m *Model) {
			press(m, "2")
			loadProfile(t, m, profile.KindCPU)
			press(m, "/", "f", "i", "b", "enter")
		}},
		{"top", func(t *testing.T, m *Model) {
			press(m, "2")
			loadProfile(t, m, profile.KindHeap)
			press(m, "3", "j")
		}},
		{"goroutines", func(t *testing.T, m *Model) {
			press(m, "4", "enter")
		}},
		{"advice", func(t *testing.T, m *Model) {
			msgs := runCmd(t, press(m, "5"))
			if len(msgs) == 0 {
				t.Fatal("the advice screen ran no advisor")
			}
			for _, msg := range msgs {
				m.Update(msg)
			}
		}},
		{"trace", func(t *testing.T, m *Model) {
			press(m, "6")
			loadTrace(t, m)
		}},
		{"trace-drill", func(t *testing.T, m *Model) {
			press(m, "6")
			loadTrace(t, m)
			press(m, "enter")
		}},
		{"trace-blocking", func(t *testing.T, m *Model) {
			press(m, "6")
			loadTrace(t, m)
			press(m, strings.Split(strings.Repeat("j", 7), "")...) // past the 7 pauses: the first reason
			press(m, "enter")
		}},
		{"help", func(t *testing.T, m *Model) { press(m, "2", "?") }},
		{"save-prompt", func(t *testing.T, m *Model) {
			t.Setenv("XDG_DATA_HOME", "/data")
			press(m, "s")
			press(m, strings.Split("after GOGC=400", "")...)
		}},
	}
	for _, sc := range screens {
		for _, sz := range sizes {
			t.Run(fmt.Sprintf("%s/%dx%d", sc.name, sz.w, sz.h), func(t *testing.T) {
				m := newTestModel(t, sz.w, sz.h, "dark")
				sc.setup(t, m)
				checkFrame(t, m.View().Content, sz.w, sz.h)
				golden.RequireEqual(t, plain(m))
			})
		}
	}
}

// checkFrame asserts the view fills exactly h lines of at most w cells,
// with no unstyled trailing spaces.
func checkFrame(t *testing.T, out string, w, h int) {
	t.Helper()
	lines := strings.Split(out, "\n")
	if len(lines) != h {
		t.Errorf("view has %d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if n := ansi.StringWidth(l); n > w {
			t.Errorf("line %d is %d cells wide, more than %d: %q", i, n, w, l)
		}
		if strings.HasSuffix(l, " ") {
			t.Errorf("line %d has trailing spaces: %q", i, l)
		}
	}
}

// TestGoldenThemes keeps the escapes: a few colored goldens per theme.
func TestGoldenThemes(t *testing.T) {
	for _, theme := range []string{"dark", "light", "high-contrast", "mono"} {
		for _, scr := range []string{"overview", "flame"} {
			t.Run(theme+"/"+scr, func(t *testing.T) {
				m := newTestModel(t, 100, 30, theme)
				if scr == "flame" {
					press(m, "2")
					loadProfile(t, m, profile.KindCPU)
					press(m, "/", "r", "u", "n", "t", "i", "m", "e", "enter")
				}
				golden.RequireEqualEscape(t, []byte(m.View().Content), true)
			})
		}
	}
}

// TestTargetLostKeepsData: a lost target is said in the header and the
// status line, the curves stay, and keys still work.
func TestTargetLostKeepsData(t *testing.T) {
	m := newTestModel(t, 120, 40, "dark")
	st := fillStore(60)
	lostAt := t0.Add(-3 * time.Second)
	st.SetStatus(session.Status{Source: "metrics", Via: "agent", Interval: time.Second, LastOK: lostAt,
		Failures: 3, LastErr: "connection refused", Lost: true, LostAt: lostAt, Backoff: 2 * time.Second})
	m.Update(snapshotMsg{snap: st.Snapshot()})
	out := plain(m)
	for _, want := range []string{"target lost at 15:09:23", "retrying every 2s", "Heap live"} {
		if !strings.Contains(out, want) {
			t.Errorf("lost view lacks %q:\n%s", want, out)
		}
	}
	press(m, "4")
	if !strings.Contains(plain(m), "goroutines in") || m.active != scrGoroutines {
		t.Errorf("keys stopped working after the target was lost")
	}
}

// TestResizeAnyTime feeds sizes from 1×1 up, mid-flow, on every screen.
func TestResizeAnyTime(t *testing.T) {
	m := newTestModel(t, 120, 40, "dark")
	press(m, "2")
	loadProfile(t, m, profile.KindCPU)
	press(m, "j", "enter")
	for _, scr := range []string{"1", "2", "3", "4", "5", "6", "?"} {
		press(m, scr)
		for _, sz := range [][2]int{{1, 1}, {10, 3}, {19, 5}, {20, 6}, {33, 9}, {80, 24}, {61, 17}, {250, 80}, {120, 40}} {
			m.Update(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
			out := m.View().Content
			if n := len(strings.Split(out, "\n")); n > max(1, sz[1]) {
				t.Errorf("screen %s at %dx%d: %d lines", scr, sz[0], sz[1], n)
			}
			for _, l := range strings.Split(out, "\n") {
				if ansi.StringWidth(l) > sz[0] {
					t.Errorf("screen %s at %dx%d: line wider than the terminal: %q", scr, sz[0], sz[1], ansi.Strip(l))
				}
			}
		}
	}
}

// TestCaptureProgressAndCancel: c starts a capture with progress; esc
// cancels it and says so; state survives switching screens.
func TestCaptureProgressAndCancel(t *testing.T) {
	st := fillStore(30)
	now := t0
	sess := capture.New(st, &fakeFetcher{t: t, block: true}, capture.Options{Name: "x"})
	m := New(t.Context(), Options{Session: sess, Theme: "mono", Now: func() time.Time { return now }, CPUSeconds: 3})
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	m.Update(snapshotMsg{snap: st.Snapshot()})
	press(m, "2")
	cmd := press(m, "c")
	if !m.flame.capturing() {
		t.Fatal("c did not start a capture")
	}
	now = t0.Add(2 * time.Second)
	m.Update(tickMsg(now))
	if out := plain(m); !strings.Contains(out, "capturing CPU 2/3s") {
		t.Errorf("no progress shown:\n%s", out)
	}
	press(m, "1") // state survives switching
	press(m, "2")
	if !m.flame.capturing() {
		t.Fatal("switching screens stopped the capture")
	}
	press(m, "esc")
	for _, msg := range runCmd(t, cmd) {
		m.Update(msg)
	}
	if out := plain(m); !strings.Contains(out, "CPU capture cancelled") || m.flame.capturing() {
		t.Errorf("esc did not cancel the capture:\n%s", out)
	}
}

// TestFlameNavigation: zoom, zoom out, search share, top jump.
func TestFlameNavigation(t *testing.T) {
	m := newTestModel(t, 120, 40, "dark")
	press(m, "2")
	loadProfile(t, m, profile.KindCPU)
	f := m.flame
	press(m, "j", "enter")
	if f.focus == profile.Root || f.tree.Depth(f.focus) != 2 {
		t.Fatalf("enter zoomed to depth %d, want 2", f.tree.Depth(f.focus))
	}
	press(m, "esc")
	if f.tree.Depth(f.focus) != 1 {
		t.Fatalf("esc zoomed out to depth %d, want 1", f.tree.Depth(f.focus))
	}
	press(m, "backspace")
	if f.focus != profile.Root {
		t.Fatal("backspace did not zoom out to the root")
	}
	press(m, "/", "f", "i", "b", "enter")
	v, _ := f.tree.Search(searchRegexp("fib"))
	if v <= 0 || v > f.data.total || len(f.matches) == 0 || v != f.matchValue {
		t.Fatalf("search share %d (shown %d) of %d, %d matches", v, f.matchValue, f.data.total, len(f.matches))
	}
	if !strings.Contains(plain(m), f.data.share(v)+" of total") {
		t.Errorf("the share %s is not shown", f.data.share(v))
	}
	press(m, "3")
	msgs := runCmd(t, press(m, "enter"))
	for _, msg := range msgs {
		m.Update(msg)
	}
	if m.active != scrFlame || f.sel == profile.Root || f.tree.Name(f.sel) != m.screens[scrTop].(*topScreen).rows[0].Name {
		t.Errorf("enter in top did not jump to its frame in the flame view")
	}
}

// TestFrameOnlyOnChange: the frame is built again after a message that
// can change it, not after a tick while snapshots arrive (they move the
// clock); once they stop, ticks age what the status line says.
func TestFrameOnlyOnChange(t *testing.T) {
	now := t0
	sess := testSession(t, fillStore(60), &fakeFetcher{t: t})
	m := New(t.Context(), Options{Session: sess, Theme: "mono", Now: func() time.Time { return now }})
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	m.Update(snapshotMsg{snap: sess.Snapshot()})
	first := m.View().Content
	if !m.frameOK {
		t.Fatal("View did not keep its frame")
	}
	now = t0.Add(900 * time.Millisecond)
	m.Update(tickMsg(now))
	if !m.frameOK || m.View().Content != first || !m.s.now.Equal(t0) {
		t.Errorf("a tick between snapshots rebuilt the frame or moved the clock to %v", m.s.now)
	}
	m.Update(keyMsg("w"))
	if m.frameOK {
		t.Error("a key press left the old frame")
	}
	if out := stripView(m.View().Content); !strings.Contains(out, "window 5m") {
		t.Errorf("the key's change is not drawn:\n%s", out)
	}
	// The target stops answering: two seconds on, a tick ages the status.
	now = t0.Add(2500 * time.Millisecond)
	m.Update(tickMsg(now))
	if m.frameOK || !m.s.now.Equal(now) || !strings.Contains(stripView(m.View().Content), "ok 2.90s ago") {
		t.Errorf("a tick after the snapshots stopped did not age the status:\n%s", stripView(m.View().Content))
	}
}
