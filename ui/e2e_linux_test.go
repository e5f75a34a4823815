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

// waitFor polls the screen until cond holds or d passes.
func (tm *tmuxTerm) waitFor(d time.Duration, what string, cond func(screen string) bool) string {
	tm.t.Helper()
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
	tm := startTmux(t, 120, 40, bin+" 2>/dev/null; echo gotune exited $?; exec sleep 600")
	const d = 20 * time.Second

	// The picker lists the demo; filter by its PID and attach.
	tm.waitText(d, "pick a Go process", pid, "gotune demo --serve")
	tm.send("/")
	tm.waitText(d, "/█")
	tm.typeText(pid)
	s := tm.waitText(d, "/"+pid+"█")
	if !strings.Contains(lineWith(s, pid+"   root"), "gotune demo") && !strings.Contains(lineWith(s, pid+" "), "gotune demo") {
		t.Fatalf("the filtered picker does not show the demo:\n%s", s)
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
