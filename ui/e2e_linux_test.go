package ui_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/internal/testproc"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/snapshot"
)

// tmuxTerm drives the real gotune binary in a tmux session of a fixed size.
type tmuxTerm struct {
	t      *testing.T
	socket string
}

func needTmux(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tmux is required in CI (.ci/run installs it): the dashboard's end-to-end test cannot run without it")
		}
		t.Skip("tmux is not installed")
	}
}

// startTmux runs command (a shell command line) in a new w×h session.
func startTmux(t *testing.T, w, h int, command string) *tmuxTerm {
	t.Helper()
	tm := &tmuxTerm{t: t, socket: fmt.Sprintf("gotune-test-%d-%d", os.Getpid(), time.Now().UnixNano())}
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", tm.socket, "kill-server").Run() })
	tm.run("-f", "/dev/null", "new-session", "-d", "-s", "main", "-x", strconv.Itoa(w), "-y", strconv.Itoa(h),
		"-e", "TERM=xterm-256color", command)
	// Keep the pane after gotune exits, to check the terminal it leaves.
	tm.run("set-option", "-t", "main", "remain-on-exit", "on")
	return tm
}

func (tm *tmuxTerm) run(args ...string) string {
	tm.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", tm.socket}, args...)...).CombinedOutput()
	if err != nil {
		tm.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (tm *tmuxTerm) screen() string { return tm.run("capture-pane", "-p", "-t", "main") }

func (tm *tmuxTerm) display(format string) string {
	return strings.TrimSpace(tm.run("display-message", "-p", "-t", "main", format))
}

// send types keys (tmux key names: "Enter", "Escape", "?", or literal
// text with -l).
func (tm *tmuxTerm) send(keys ...string) {
	tm.t.Helper()
	tm.run(append([]string{"send-keys", "-t", "main"}, keys...)...)
}

func (tm *tmuxTerm) typeText(s string) {
	tm.t.Helper()
	tm.run("send-keys", "-t", "main", "-l", s)
}

// waitFor polls the screen until cond holds or d (at least
// testproc.MinWait) passes.
func (tm *tmuxTerm) waitFor(d time.Duration, what string, cond func(screen string) bool) string {
	tm.t.Helper()
	d = max(d, testproc.MinWait)
	deadline := time.Now().Add(d)
	var s string
	for {
		s = tm.screen()
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("after %s the screen does not show %s:\n%s", d, what, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (tm *tmuxTerm) waitText(d time.Duration, texts ...string) string {
	tm.t.Helper()
	return tm.waitFor(d, fmt.Sprintf("%q", texts), func(s string) bool {
		for _, x := range texts {
			if !strings.Contains(s, x) {
				return false
			}
		}
		return true
	})
}

func lineWith(screen, s string) string {
	for _, l := range strings.Split(screen, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

// leakRow is the demo's leak on the Goroutines screen: from the goroutine
// profile (no state: "-") or, after d, the debug=2 dump (state select).
var leakRow = regexp.MustCompile(`(▲\d+)?\s+(\d+)\s+(-|select)\s+.*leakyWorker`)

// TestDashboardEndToEnd drives the real binary against the real demo
// workload: picker, live overview, CPU capture, zoom, search, the leak in
// the goroutine screen, help, a target that dies, and quitting.
func TestDashboardEndToEnd(t *testing.T) {
	needTmux(t)
	bin := testproc.Build(t, ".")
	demo := testproc.Start(t, bin, nil, "demo", "--serve", "127.0.0.1:0")
	pid := strconv.Itoa(demo.PID)
	// The shell stays after gotune exits, so the terminal state it left
	// can be read.
	data := t.TempDir()
	tm := startTmux(t, 120, 40, "XDG_DATA_HOME="+data+" "+bin+" 2>/dev/null; echo gotune exited $?; exec sleep 600")
	const d = 20 * time.Second

	// The host overview lists the demo; filter by its PID and attach.
	tm.waitText(d, "every Go process", pid, "agent+pprof")
	tm.send("/")
	tm.waitText(d, "/█")
	tm.typeText(pid)
	s := tm.waitText(d, "/"+pid+"█")
	if !strings.Contains(lineWith(s, pid+" "), "gotune") {
		t.Fatalf("the filtered overview does not show the demo:\n%s", s)
	}
	tm.send("Enter")
	s = tm.waitText(d, "1 Overview", "Heap", "metrics via agent", "ok")

	// The overview's figures change.
	first := lineWith(s, "Alloc rate") + lineWith(s, "Heap")
	tm.waitFor(d, "the overview's figures changing", func(s string) bool {
		cur := lineWith(s, "Alloc rate") + lineWith(s, "Heap")
		return cur != first && strings.Contains(cur, "MiB")
	})

	// A 3 s CPU capture completes and shows a workload function.
	tm.send("2")
	tm.waitText(d, "heap · inuse_space")
	tm.send("-", "-")
	tm.waitText(d, "CPU capture 3s")
	tm.send("c")
	tm.waitText(d, "capturing CPU")
	s = tm.waitText(30*time.Second, "CPU 3s · cpu", "demo.")

	// Zoom in and out: the selection starts on the root's largest child;
	// j selects its child, Enter zooms there (two levels below the root),
	// Esc and Backspace step back out.
	crumbs := func(s string) int {
		l := lineWith(s, "zoomed")
		if l == "" {
			return 0
		}
		return strings.Count(l, "›")
	}
	tm.send("j")
	tm.send("Enter")
	tm.waitFor(d, "a zoom two levels down", func(s string) bool { return crumbs(s) == 2 })
	tm.send("Escape")
	tm.waitFor(d, "a zoom one level down", func(s string) bool { return crumbs(s) == 1 })
	tm.send("BSpace")
	tm.waitFor(d, "the zoom undone", func(s string) bool { return crumbs(s) == 0 && strings.Contains(s, "CPU 3s") })

	// Search highlights matches with their share.
	tm.send("/")
	tm.typeText("demo")
	tm.send("Enter")
	s = tm.waitFor(d, "search results", func(s string) bool {
		return regexp.MustCompile(`/demo\s+\d+ frames · [0-9.]+% of total`).MatchString(s)
	})

	exploreProfile(t, tm, data)

	// Top lists the capture; Enter jumps back to the frame.
	tm.send("3")
	tm.waitText(d, "flat%", "cum%")
	tm.send("4")
	s = tm.waitText(d, "goroutines in", "leakyWorker")
	m := leakRow.FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no leakyWorker group:\n%s", s)
	}
	n0, _ := strconv.Atoi(m[2])
	tm.waitFor(30*time.Second, "the leak's group growing", func(s string) bool {
		m := leakRow.FindStringSubmatch(s)
		if m == nil {
			return false
		}
		n, _ := strconv.Atoi(m[2])
		return n > n0 && m[1] != ""
	})
	// d reads the full dump: states and wait times.
	tm.send("d")
	tm.waitFor(d, "the debug=2 dump with states", func(s string) bool {
		m := leakRow.FindStringSubmatch(s)
		return strings.Contains(s, "debug=2 dump read") && m != nil && m[3] == "select"
	})

	// Help opens on ? and any key closes it.
	tm.send("?")
	tm.waitText(d, "Keys", "Everywhere", "Goroutines")
	tm.send("Escape")
	tm.waitText(d, "goroutines in")

	// The target dies: the dashboard says so, keeps its data and keys. A
	// PID names one process: it exited, and nothing is retried.
	demo.Kill()
	tm.waitText(30*time.Second, "target exited at")
	tm.send("1")
	s = tm.waitText(d, "Heap", "target exited at", "window 1m")
	if strings.Contains(s, "retrying") {
		t.Errorf("an exited PID target is retried:\n%s", s)
	}
	tm.send("w")
	tm.waitText(d, "window 5m")
	tm.send("2")
	tm.waitText(d, "CPU 3s · cpu")

	// q quits and leaves the terminal as it found it.
	tm.send("q")
	tm.waitText(d, "gotune exited 0")
	if got := tm.display("#{alternate_on} #{mouse_any_flag} #{mouse_button_flag} #{cursor_flag}"); got != "0 0 0 1" {
		t.Errorf("after quitting: alternate screen, mouse modes and cursor are %q, want \"0 0 0 1\"", got)
	}
}

// panelName is the first line of the Flame screen's side panel: the
// selected frame's name.
func panelName(screen string) string {
	for _, l := range strings.Split(screen, "\n") {
		if _, right, ok := strings.Cut(l, "│"); ok {
			return strings.TrimSpace(right)
		}
	}
	return ""
}

// exploreProfile drives the Flame and Top screens' exploration keys on the
// demo's CPU capture (the search for "demo" active): previous match,
// reset zoom, refine, invert, granularity, peek, source, history, export
// and their help.
func exploreProfile(t *testing.T, tm *tmuxTerm, data string) {
	t.Helper()
	const d = 20 * time.Second
	crumbs := func(s string) int { return strings.Count(lineWith(s, "zoomed"), "›") }

	// N steps back through the matches (from the first to the last).
	// The search selects its first match as it draws: read the panel
	// once it shows one (read at once, it once said root, and k Enter
	// on the root zooms nowhere).
	s := tm.waitFor(d, "a match of /demo selected", func(s string) bool { return strings.Contains(panelName(s), "demo") })
	first := panelName(s)
	tm.send("N")
	s = tm.waitFor(d, "the previous match selected", func(s string) bool { return panelName(s) != first })
	if !strings.Contains(panelName(s), "demo") {
		t.Errorf("N selected %q, not a match of /demo:\n%s", panelName(s), s)
	}
	tm.send("n")
	tm.waitFor(d, "the first match again", func(s string) bool { return panelName(s) == first })

	// z resets a zoom in one key.
	tm.send("k")
	tm.send("Enter")
	tm.waitFor(d, "a zoom", func(s string) bool { return crumbs(s) >= 1 })
	tm.send("z")
	tm.waitFor(d, "the zoom reset", func(s string) bool { return !strings.Contains(s, "zoomed") })

	// f refines every view: a focus typed as a regexp, shown as a chip
	// on the Flame and Top screens; F clears it.
	tm.send("f")
	tm.waitText(d, "Refine every view", "show-from", "tagfocus")
	tm.typeText(`demo\.`)
	tm.send("Enter")
	tm.waitText(d, ` focus=demo\. `, "f refine")
	tm.send("3")
	s = tm.waitText(d, ` focus=demo\. `, "flat%")
	tm.send("F")
	tm.waitFor(d, "the refinement cleared", func(s string) bool { return !strings.Contains(s, "focus=") && strings.Contains(s, "flat%") })
	tm.send("2")
	tm.waitText(d, "CPU 3s · cpu")

	// i inverts the flame; v steps through the granularities.
	tm.send("i")
	tm.waitText(d, " inverted ")
	tm.send("i")
	tm.waitFor(d, "the flame upright", func(s string) bool { return !strings.Contains(s, " inverted ") })
	tm.send("v")
	s = tm.waitText(d, " files ")
	if !regexp.MustCompile(`\.go\b`).MatchString(s) {
		t.Errorf("file granularity shows no file names:\n%s", s)
	}
	tm.send("v")
	tm.waitText(d, " lines ")
	tm.send("v")
	tm.waitText(d, " addresses ")
	tm.send("v")
	tm.waitFor(d, "function granularity", func(s string) bool {
		return !strings.Contains(s, " addresses ") && strings.Contains(s, "CPU 3s · cpu")
	})

	// p peeks at the selected function; Enter moves to a caller or
	// callee; esc steps back, then out.
	tm.send("j")
	s = tm.waitFor(d, "a function selected", func(s string) bool { return panelName(s) != "" && panelName(s) != "root" })
	fn := panelName(s)
	tm.send("p")
	s = tm.waitText(d, "Peek ", "calls% of cum", "enter moves there")
	peekTitle := lineWith(s, "Peek ")
	tm.send("j")
	tm.send("Enter")
	tm.waitFor(d, "the peek moved", func(s string) bool { l := lineWith(s, "Peek "); return l != "" && l != peekTitle })
	tm.send("Escape")
	tm.waitFor(d, "the peek back", func(s string) bool { return lineWith(s, "Peek ") == peekTitle })
	tm.send("Escape")
	tm.waitFor(d, "the flame again", func(s string) bool { return !strings.Contains(s, "Peek ") && strings.Contains(s, "CPU 3s · cpu") })

	// L lists the selected function's source with per-line values.
	tm.send("L")
	s = tm.waitText(d, "Source ", "ROUTINE ========================", "(flat, cum)")
	if strings.Contains(s, "source not shown") {
		t.Errorf("the source of %s was not found:\n%s", fn, s)
	}
	tm.send("Escape")
	tm.waitFor(d, "the flame again", func(s string) bool { return !strings.Contains(s, "ROUTINE") })

	// H goes back to the CPU profile after the heap was opened.
	tm.send("m")
	tm.waitText(d, "heap · inuse_space")
	tm.send("H")
	s = tm.waitText(d, "History", "CPU 3s", "▸", "samples")
	row, hdr := -1, -1
	for i, l := range strings.Split(s, "\n") {
		switch {
		case hdr < 0 && strings.Contains(l, "fetched") && strings.Contains(l, "samples"):
			hdr = i
		case hdr >= 0 && strings.Contains(l, "CPU 3s"):
			row = i - hdr - 1
		}
		if row >= 0 {
			break
		}
	}
	if row < 0 {
		t.Fatalf("no CPU row in the history:\n%s", s)
	}
	tm.send("g")
	for range row {
		tm.send("j")
	}
	tm.send("Enter")
	tm.waitText(d, "CPU 3s · cpu", "frames")

	// e exports the view; the status line says where; pprof opens it.
	tm.send("e")
	tm.waitText(d, "Export", "format", "enter write")
	tm.send("Enter")
	// A path too long for the line loses the words before it, then its
	// start (the file name stays whole).
	s = tm.waitText(d, "exported ")
	m := regexp.MustCompile(`exported (?:the profile )?to (\S+\.pb\.gz)`).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no export path in the status line:\n%s", s)
	}
	path := m[1]
	if tail, ok := strings.CutPrefix(path, "…"); ok {
		path = filepath.Join(data, "gotune", "exports", filepath.Base(tail))
		if !strings.HasSuffix(path, tail) {
			t.Errorf("the status line shows …%s, not the end of %s", tail, path)
		}
	}
	if strings.HasPrefix(path, "~/") {
		path = filepath.Join(os.Getenv("HOME"), path[2:])
	}
	if !strings.HasPrefix(path, data) {
		t.Errorf("exported to %s, not under XDG_DATA_HOME %s", path, data)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("the export is %v, want 0600", st.Mode().Perm())
	}
	if out, err := exec.Command("go", "tool", "pprof", "-top", path).CombinedOutput(); err != nil || !strings.Contains(string(out), "demo.") {
		t.Errorf("go tool pprof -top %s: %v\n%s", path, err, out)
	}

	// The help lists the new keys.
	tm.send("?")
	tm.waitText(d, "reset zoom", "previous match", "refine", "peek callers/callees", "source lines", "profile history", "export", "invert")
	tm.send("Escape")
	tm.waitText(d, "CPU 3s · cpu")
}

// TestSaveAndCompareEndToEnd drives the real binary: s and Enter save two
// real snapshots of the demo (the status line says where), then gotune
// diff opens them in the compare view, switches tabs and modes, and q
// leaves the terminal as it found it.
func TestSaveAndCompareEndToEnd(t *testing.T) {
	needTmux(t)
	bin := testproc.Build(t, ".")
	demo := testproc.Start(t, bin, nil, "demo", "--serve", "127.0.0.1:0")
	data := t.TempDir()
	tm := startTmux(t, 120, 40, "XDG_DATA_HOME="+data+" "+bin+" attach "+demo.FirstLine+" 2>/dev/null; echo gotune exited $?; exec sleep 600")
	const d = 20 * time.Second
	tm.waitText(d, "Heap", "metrics via agent", "ok")

	dir := filepath.Join(data, "gotune", "snapshots")
	var paths []string
	for _, name := range []string{"before", "after"} {
		tm.send("s")
		tm.waitText(d, "Save a snapshot", "path  "+dir+"/")
		tm.typeText(name)
		tm.waitText(d, dir+"/"+name+"-")
		tm.send("Enter")
		s := tm.waitFor(30*time.Second, "saved to PATH", func(s string) bool {
			return strings.Contains(lineWith(s, "saved to"), "saved to "+dir+"/"+name+"-")
		})
		m := regexp.MustCompile(`saved to (\S+\.gotune)`).FindStringSubmatch(lineWith(s, "saved to"))
		if m == nil {
			t.Fatalf("no path in the status line:\n%s", s)
		}
		snap, err := snapshot.Read(m[1])
		if err != nil {
			t.Fatal(err)
		}
		if snap.Manifest.Name != name || len(snap.Series.Points) == 0 || snap.Profile(profile.KindHeap) == nil || snap.Advice == nil {
			t.Fatalf("%s: name %q, %d points, profiles %v, advice %v", m[1], snap.Manifest.Name, len(snap.Series.Points), snap.Kinds(), snap.Advice != nil)
		}
		paths = append(paths, m[1])
		time.Sleep(1100 * time.Millisecond) // the default names differ by the second
	}
	tm.send("q")
	tm.waitText(d, "gotune exited 0")

	tm = startTmux(t, 120, 40, bin+" diff "+paths[0]+" "+paths[1]+" 2>/dev/null; echo gotune diff exited $?; exec sleep 600")
	tm.waitText(d, "gotune diff before → after", "1 Metrics", "heap live", "noise")
	tm.send("2")
	tm.waitText(d, "noise floor", "absolute (n)", "heap")
	tm.send("n")
	tm.waitText(d, "normalized (n)", "after ×")
	tm.send("p")
	tm.waitText(d, "normalized (n)")
	tm.send("3")
	tm.waitFor(d, "the goroutines tab", func(s string) bool {
		return strings.Contains(s, "TOP FRAMES") || strings.Contains(s, "No goroutine group")
	})
	tm.send("4")
	tm.waitFor(d, "the settings tab", func(s string) bool {
		return strings.Contains(s, "BEFORE → AFTER") || strings.Contains(s, "No setting")
	})
	tm.send("5")
	tm.waitFor(d, "the findings tab", func(s string) bool {
		return strings.Contains(s, "Still there") || strings.Contains(s, "No findings") || strings.Contains(s, "Resolved") || strings.Contains(s, "New (")
	})
	tm.send("q")
	tm.waitText(d, "gotune diff exited 0")
	if got := tm.display("#{alternate_on} #{mouse_any_flag} #{mouse_button_flag} #{cursor_flag}"); got != "0 0 0 1" {
		t.Errorf("after quitting the compare view: alternate screen, mouse modes and cursor are %q, want \"0 0 0 1\"", got)
	}
}
