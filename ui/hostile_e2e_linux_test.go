package ui_test

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/internal/hostile"
	"github.com/gotune/gotune/internal/testproc"
)

// rawTmux is a tmux session whose pane output (every byte the program
// wrote to its terminal, before tmux reads it) is copied into a file.
type rawTmux struct {
	*tmuxTerm
	raw string
}

// startRawTmux runs command in a w×h tmux session: the command starts only
// once tmux copies the pane's output into a file (pipe-pane), so the file
// holds everything the command wrote to its terminal, from its first byte.
func startRawTmux(t *testing.T, w, h int, command string) *rawTmux {
	t.Helper()
	dir := t.TempDir()
	flag, raw := filepath.Join(dir, "go"), filepath.Join(dir, "raw")
	tm := startTmux(t, w, h, "while [ ! -e "+flag+" ]; do sleep 0.05; done; "+command+"; echo gotune exited $?; exec sleep 600")
	tm.run("pipe-pane", "-O", "-t", "main", "cat >> "+raw)
	if err := os.WriteFile(flag, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return &rawTmux{tmuxTerm: tm, raw: raw}
}

// check fails the test if the bytes written so far hold anything but
// gotune's own drawing (hostile.CheckTerminal).
func (r *rawTmux) check(what string) {
	r.t.Helper()
	b, err := os.ReadFile(r.raw)
	if err != nil {
		r.t.Fatal(err)
	}
	if len(b) < 1000 {
		r.t.Fatalf("%s: only %d bytes captured from the terminal", what, len(b))
	}
	for _, bad := range hostile.CheckTerminal(b) {
		r.t.Errorf("%s wrote to the terminal: %s", what, bad)
	}
}

// checkTitle fails the test if the window title (as tmux holds it) is
// not one gotune set, with clean text.
func (r *rawTmux) checkTitle(what string) {
	r.t.Helper()
	title := r.display("#{pane_title}")
	if !strings.HasPrefix(title, hostile.TitlePrefix) {
		r.t.Errorf("%s: the window title is %q, not one gotune set", what, title)
	} else if err := hostile.CheckText([]byte(title)); err != nil {
		r.t.Errorf("%s: the window title %q: %v", what, title, err)
	}
}

// quit presses q and waits for gotune to exit.
func (r *rawTmux) quit(d time.Duration) {
	r.t.Helper()
	r.send("q")
	r.waitText(d, "gotune exited 0")
}

// TestHostileTextNeverReachesTheDashboardTerminal drives the real dashboard
// in tmux against a real process whose argv, function and file names,
// sample and goroutine labels, goroutine states, agent go_version and HTTP
// error bodies carry OSC 0/2/8/52, CSI, SGR conceal and C1 controls
// (internal/hostile): attached by PID, by URL, from the picker and to a URL
// that answers 500, through every screen that shows what the target said,
// the window title, saving a snapshot, sources and a fetch failing with a
// hostile error body, and the compare view's Profiles, Goroutines and
// Findings tabs. The raw bytes gotune wrote to its terminal (stderr
// included) hold none of the payload's sequences, and its visible words
// are on the screen (shown inert, not dropped).
func TestHostileTextNeverReachesTheDashboardTerminal(t *testing.T) {
	needTmux(t)
	bin := testproc.Build(t, ".")
	target := testproc.StartWith(t, testproc.BuildInto(t, testproc.Hostile, ""), testproc.Options{
		Argv0: hostile.Argv0, Env: []string{"GOHOSTILE=" + hostile.Payload}, WaitReady: true,
	}, hostile.Args()...)
	if len(target.Ready) < 3 {
		t.Fatalf("the target printed %q, want \"ready PID URL ERROR-URL\"", target.FirstLine)
	}
	pid, url := target.Ready[0], target.Ready[1]
	data := t.TempDir()
	gotune := "XDG_DATA_HOME=" + data + " " + bin
	// Generous: the machine may be loaded; every wait ends as soon as the
	// screen shows what it waits for.
	const d = 60 * time.Second

	t.Run("by PID, every screen", func(t *testing.T) {
		// Wide enough that the status line shows a whole error.
		tm := startRawTmux(t, 500, 50, gotune+" attach "+pid)
		tm.waitText(d, "Heap", "metrics via agent", "PWNED")
		tm.send("2")
		tm.waitFor(d, "the flame's hostile frame", func(s string) bool {
			return strings.Contains(s, "heap · inuse_space") && strings.Contains(lineWith(s, "pkg.(*T).Mid"), "CONCEALED")
		})
		tm.send("j") // the frame panel follows the selection
		tm.waitText(d, "Callees", "LINK")
		tm.send("3")
		tm.waitText(d, "flat%", "main.INJECTEDleafINJECTED")
		tm.send("4")
		tm.waitText(d, "goroutines in", "INJECTEDkey", "CONCEALED")
		tm.send("Enter") // the stack, with file names
		tm.waitText(d, "main.INJECTEDleafINJECTED", "/src/evil")
		tm.send("d") // the full dump: states and labels
		tm.waitText(d, "debug=2 dump read", "chan receiveINJ")
		tm.send("5")
		tm.waitText(d, "goroutine-leak", "main.INJECTEDleafINJECTED")
		tm.send("1")
		tm.waitText(d, "Heap", "metrics via agent")
		// Saving a snapshot: the prompt's default path is named after the
		// target, and the status line says where it went.
		tm.send("s")
		tm.waitText(d, "Save a snapshot", "path")
		tm.send("Enter")
		tm.waitText(d, "saved to")
		// Every endpoint now answers 500 with the hostile body: the status
		// line quotes it.
		fail(t, url, true)
		defer fail(t, url, false)
		tm.waitFor(d, "the status line quoting the body", func(s string) bool {
			l := lineWith(s, "failing (")
			return strings.Contains(l, "500") && strings.Contains(l, "INJECTED") && strings.Contains(l, "CONCEALED")
		})
		// A profile fetched again now fails with it too.
		tm.send("2")
		tm.waitText(d, "heap · inuse_space")
		tm.send("r")
		tm.waitFor(d, "the fetch's error", func(s string) bool {
			return strings.Contains(lineWith(s, "heap"), "500") && strings.Contains(lineWith(s, "heap"), "INJECTED")
		})
		tm.checkTitle("gotune attach PID")
		tm.quit(d)
		tm.check("gotune attach PID")
	})

	t.Run("by URL", func(t *testing.T) {
		tm := startRawTmux(t, 140, 45, gotune+" attach "+url)
		tm.waitText(d, "Heap", "metrics via agent", "go1.26INJECTED")
		tm.send("2")
		tm.waitText(d, "heap · inuse_space", "CONCEALED")
		tm.send("4")
		tm.waitText(d, "goroutines in", "INJECTEDkey", "CONCEALED")
		tm.checkTitle("gotune attach URL")
		tm.quit(d)
		tm.check("gotune attach URL")
	})

	t.Run("an error body at attach", func(t *testing.T) {
		// The dashboard opens and its status line says why no source
		// answers, quoting the bodies (wide enough to show them).
		tm := startRawTmux(t, 500, 45, gotune+" attach "+target.Ready[2])
		tm.waitFor(d, "the status line quoting the body", func(s string) bool {
			l := lineWith(s, "failing (")
			return strings.Contains(l, "500") && strings.Contains(l, "INJECTED") && strings.Contains(l, "CONCEALED")
		})
		tm.quit(d)
		tm.check("gotune attach ERROR-URL")
	})

	t.Run("host overview", func(t *testing.T) {
		tm := startRawTmux(t, 200, 45, gotune)
		// Other processes may fill the first page: filter by the PID.
		tm.waitText(d, "every Go process on this host", "COMMAND")
		tm.send("/")
		tm.typeText(pid)
		tm.waitFor(d, "the hostile target's row", func(s string) bool {
			return strings.Contains(lineWith(s, pid+" "), "PWNED")
		})
		tm.send("Enter")
		tm.waitText(d, "Heap", "metrics via agent", "PWNED")
		tm.checkTitle("gotune (the host overview)")
		tm.quit(d)
		tm.check("gotune (the host overview)")
	})

	t.Run("compare view", func(t *testing.T) {
		var snaps []string
		for _, name := range []string{"a", "b"} {
			path := filepath.Join(data, name+".gotune")
			out, err := exec.Command(bin, "snapshot", pid, "-o", path, "--window", "3s").CombinedOutput()
			if err != nil {
				t.Fatalf("gotune snapshot: %v\n%s", err, out)
			}
			snaps = append(snaps, path)
		}
		tm := startRawTmux(t, 200, 45, gotune+" diff "+snaps[0]+" "+snaps[1])
		tm.waitText(d, "gotune diff", "1 Metrics")
		tm.send("2")
		tm.waitText(d, "noise floor", "Mid")
		tm.send("3")
		tm.waitText(d, "INJECTED")
		tm.send("5")
		tm.waitText(d, "INJECTED")
		tm.checkTitle("gotune diff")
		tm.quit(d)
		tm.check("gotune diff")
	})
}

// fail turns the hostile target's failing agent document on or off.
func fail(t *testing.T, url string, on bool) {
	t.Helper()
	u := url + "/hostile/fail"
	if !on {
		u += "?off"
	}
	resp, err := http.Post(u, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %s", u, resp.Status)
	}
}
