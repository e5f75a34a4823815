package ui

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/gotune/gotune/collectors"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/session"
	"github.com/gotune/gotune/snapshot"
)

// countingFetcher records what a save asks the target for.
type countingFetcher struct {
	fakeFetcher
	mu    sync.Mutex
	kinds []string
	on    bool // counting
}

func (c *countingFetcher) Fetch(ctx context.Context, req collectors.ProfileRequest) (collectors.Fetched, error) {
	c.mu.Lock()
	k := string(req.Kind)
	if req.Debug == 2 {
		k += "-debug2"
	}
	if c.on {
		c.kinds = append(c.kinds, k)
	}
	c.mu.Unlock()
	return c.fakeFetcher.Fetch(ctx, req)
}

func (c *countingFetcher) asked() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.kinds...)
}

// saveModel is a dashboard whose target's fetches are counted, with the
// data directory in a temporary directory.
func saveModel(t *testing.T) (*Model, *countingFetcher, string) {
	return saveModelOf(t, fillStore(900))
}

// saveModelOf is saveModel over the store st.
func saveModelOf(t *testing.T, st *session.Store) (*Model, *countingFetcher, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	t.Setenv("XDG_DATA_HOME", dir)
	cf := &countingFetcher{fakeFetcher: fakeFetcher{t: t}}
	sess := testSession(t, st, cf)
	cf.mu.Lock()
	cf.on = true // the window's start is taken: count from here
	cf.mu.Unlock()
	m := New(t.Context(), Options{Session: sess, Theme: "dark", Now: func() time.Time { return t0 }, CPUSeconds: 3, Version: "v9.9.9-test"})
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	m.Update(snapshotMsg{snap: sess.Snapshot()})
	return m, cf, dir
}

// finishSave runs the save command returned by Enter and delivers its
// result; it returns the savedMsg.
func finishSave(t *testing.T, m *Model, cmd tea.Cmd) savedMsg {
	t.Helper()
	var got *savedMsg
	for _, msg := range runCmdWithin(t, cmd, 30*time.Second) {
		if sm, ok := msg.(savedMsg); ok {
			got = &sm
		}
		m.Update(msg)
	}
	if got == nil {
		t.Fatal("Enter in the save prompt started no save")
	}
	return *got
}

func TestSavePromptSavesTheSession(t *testing.T) {
	m, cf, dir := saveModel(t)
	press(m, "2")
	loadProfile(t, m, profile.KindHeap)
	loadProfile(t, m, profile.KindCPU)
	asked := len(cf.asked())

	press(m, "s")
	if !m.save.open {
		t.Fatal("s did not open the save prompt")
	}
	def := m.save.path.String()
	if want := filepath.Join(dir, "gotune", "snapshots") + string(filepath.Separator); !strings.HasPrefix(def, want) || !strings.HasSuffix(def, "-20260314-150926.gotune") {
		t.Errorf("default path %q, want under %s named after the time", def, want)
	}
	out := plain(m)
	for _, want := range []string{"Save a snapshot", "name", "path", def, "esc cancel"} {
		if !strings.Contains(out, want) {
			t.Errorf("the prompt lacks %q:\n%s", want, out)
		}
	}
	// q and digits are text while the prompt is open.
	press(m, strings.Split("before q1", "")...)
	if m.active != scrFlame || m.save.name.String() != "before q1" {
		t.Fatalf("typing reached the dashboard: screen %d, name %q", m.active, m.save.name.String())
	}
	press(m, "backspace", "backspace")
	press(m, strings.Split("GOGC=100", "")...)
	path := m.save.path.String()
	if filepath.Base(path) != "before-GOGC-100-20260314-150926.gotune" {
		t.Errorf("the path does not follow the name: %q", path)
	}
	cmd := press(m, "enter")
	if m.save.open || !m.save.saving {
		t.Fatal("enter did not start saving")
	}
	if out := plain(m); !strings.Contains(lastLine(out), "saving to "+path[:60]) {
		t.Errorf("no progress while saving:\n%s", out)
	}
	res := finishSave(t, m, cmd)
	if res.err != nil {
		t.Fatal(res.err)
	}
	if out := plain(m); !strings.Contains(lastLine(out), "saved to "+path) {
		t.Errorf("the status line does not say where it saved:\n%s", lastLine(out))
	}

	s, err := snapshot.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Manifest.Name != "before GOGC=100" || s.Manifest.GotuneVersion != "v9.9.9-test" {
		t.Errorf("manifest name %q version %q", s.Manifest.Name, s.Manifest.GotuneVersion)
	}
	if n := len(s.Series.Points); n != 900 {
		t.Errorf("saved %d points, want the 900 of the session", n)
	}
	if s.Series.Points[len(s.Series.Points)-1].Values[session.HeapLive] == 0 || len(s.Series.Histograms) == 0 {
		t.Error("the series lost its values or histograms")
	}
	for _, k := range []profile.Kind{profile.KindCPU, profile.KindHeap, profile.KindAllocs, profile.KindGoroutine, profile.KindMutex, profile.KindBlock} {
		if s.Profile(k) == nil {
			t.Errorf("profile %s missing; have %v", k, s.Kinds())
		}
	}
	if !bytes.Equal(s.Profile(profile.KindCPU).Raw, fixture(t, "cpu.pb.gz")) || !bytes.Equal(s.Profile(profile.KindHeap).Raw, fixture(t, "heap.pb.gz")) {
		t.Error("the profiles the dashboard held are not saved as served")
	}
	// The fixtures are the same file at both ends of the window, so the
	// windowed allocs profile nets to nothing: it says it covers the
	// window.
	if c := s.Profile(profile.KindAllocs); c.Scope != profile.ScopeWindow {
		t.Errorf("allocs saved with scope %q, want the window", c.Scope)
	}
	// Only the missing ones were fetched, and never a CPU profile.
	got := strings.Join(cf.asked()[asked:], ",")
	if got != "allocs,goroutine,mutex,block,goroutine-debug2" {
		t.Errorf("the save fetched %s; want only the missing profiles", got)
	}
	if len(s.GoroutineDump) == 0 || len(s.Goroutines) == 0 {
		t.Error("no goroutine dump or groups saved")
	}
	if s.Advice == nil || s.Advice.Samples != 900 {
		t.Errorf("findings are not an advisor report over the session: %+v", s.Advice)
	}
}

func TestSavePromptEscCancels(t *testing.T) {
	m, cf, _ := saveModel(t)
	press(m, "s")
	press(m, "x")
	cmd := press(m, "esc")
	if m.save.open || m.save.saving || len(runCmd(t, cmd)) != 0 || len(cf.asked()) != 0 {
		t.Fatal("esc did not cancel the save")
	}
	if strings.Contains(plain(m), "Save a snapshot") {
		t.Error("the prompt is still drawn after esc")
	}
	press(m, "4")
	if m.active != scrGoroutines {
		t.Error("keys do not reach the dashboard after esc")
	}
}

// TestSaveEditedPathAndLostTarget: a path typed by hand in a directory
// that does not exist yet, while the target is lost: nothing is fetched,
// what is on screen is saved, and the notes say why profiles are missing.
func TestSaveEditedPathAndLostTarget(t *testing.T) {
	lost := fillStore(120)
	m, cf, _ := saveModelOf(t, lost)
	lostAt := t0.Add(-5 * time.Second)
	lost.SetStatus(session.Status{Source: "metrics", Via: "agent", Interval: time.Second, LastOK: lostAt, Failures: 4,
		LastErr: "connection refused", Lost: true, LostAt: lostAt})
	m.Update(snapshotMsg{snap: lost.Snapshot()})
	press(m, "2")
	loadProfile(t, m, profile.KindHeap)
	asked := len(cf.asked())

	want := filepath.Join(t.TempDir(), "new", "dir", "lost.gotune")
	press(m, "s", "tab")
	press(m, "ctrl+u")
	m.save.paste(want)
	res := finishSave(t, m, press(m, "enter"))
	if res.err != nil || res.path != want {
		t.Fatalf("saved to %q: %v", res.path, res.err)
	}
	if n := len(cf.asked()) - asked; n != 0 {
		t.Errorf("a lost target was asked for %d profiles", n)
	}
	s, err := snapshot.Read(want)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Series.Points) != 120 || s.Profile(profile.KindHeap) == nil || len(s.Profiles) != 1 {
		t.Errorf("saved %d points and profiles %v; want 120 and the heap on screen", len(s.Series.Points), s.Kinds())
	}
	if !strings.Contains(strings.Join(s.Manifest.Notes, "\n"), "target was lost") {
		t.Errorf("notes do not say the target was lost: %q", s.Manifest.Notes)
	}
	if out := lastLine(plain(m)); !strings.Contains(out, "saved to "+want) {
		t.Errorf("status line: %s", out)
	}
}

// TestSaveFailureIsShown: an unwritable path is an error in the status
// line, not a crash, and the dashboard goes on.
func TestSaveFailureIsShown(t *testing.T) {
	m, _, _ := saveModel(t)
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	press(m, "s", "tab", "ctrl+u")
	m.save.paste(filepath.Join(file, "x.gotune")) // a directory that is a file
	res := finishSave(t, m, press(m, "enter"))
	if res.err == nil {
		t.Fatal("saving under a file succeeded")
	}
	if out := lastLine(plain(m)); !strings.Contains(out, "save failed:") {
		t.Errorf("status line: %s", out)
	}
}

func lastLine(s string) string {
	l := strings.Split(s, "\n")
	return l[len(l)-1]
}
