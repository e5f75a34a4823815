//go:build unix

package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/internal/hostile"
	"github.com/gotune/gotune/internal/testproc"
)

// gotuneRun is one run of the real gotune binary: its raw output bytes.
type gotuneRun struct {
	args           []string
	stdout, stderr []byte
	code           int
}

func runGotuneBinary(t *testing.T, bin string, args ...string) gotuneRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := gotuneRun{args: args, stdout: out.Bytes(), stderr: errb.Bytes()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("gotune %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// The rule for outputs of gotune that a person may print on a terminal
// (stdout and stderr of every command, text, Markdown, HTML and JSON):
// the raw bytes hold no ESC, BEL or other C0 control but newline and tab,
// no DEL, no C1 control (U+0080–U+009F), no bidirectional formatting and
// no invalid UTF-8 (hostile.CheckText). Text shows the payload inert
// (each control is U+FFFD) and its visible words stay, so the test fails
// if the text was dropped instead. JSON is for programs and keeps the
// original value: the controls are \uXXXX escapes (text on a terminal),
// and the decoded document holds the payload's sequences again (the raw
// 0x9b and 0x9d bytes, which are not UTF-8, decode as U+FFFD, as
// encoding/json reads them).
func checkOutput(t *testing.T, r gotuneRun, stream string, b []byte, want ...string) {
	t.Helper()
	what := "gotune " + strings.Join(r.args, " ") + " " + stream
	if err := hostile.CheckText(b); err != nil {
		t.Errorf("%s: %v", what, err)
	}
	for _, w := range want {
		if !bytes.Contains(b, []byte(w)) {
			t.Errorf("%s lacks %q (the payload must stay visible, inert):\n%s", what, w, clip(b))
		}
	}
}

// checkJSON applies the JSON rule to r's stdout (one document, or one per
// line with lines): it decodes, and some string of it holds want.
func checkJSON(t *testing.T, r gotuneRun, lines bool, want string) {
	t.Helper()
	checkOutput(t, r, "stdout", r.stdout)
	docs := [][]byte{r.stdout}
	if lines {
		docs = bytes.Split(bytes.TrimSpace(r.stdout), []byte("\n"))
	}
	found := false
	for _, d := range docs {
		var v any
		if err := json.Unmarshal(d, &v); err != nil {
			t.Fatalf("gotune %s: not JSON: %v\n%s", strings.Join(r.args, " "), err, clip(d))
		}
		found = found || holds(v, want)
	}
	if !found {
		t.Errorf("gotune %s: no string of the JSON holds %q (JSON keeps the original value)", strings.Join(r.args, " "), want)
	}
}

func holds(v any, want string) bool {
	switch x := v.(type) {
	case string:
		return strings.Contains(x, want)
	case []any:
		for _, e := range x {
			if holds(e, want) {
				return true
			}
		}
	case map[string]any:
		for k, e := range x {
			if strings.Contains(k, want) || holds(e, want) {
				return true
			}
		}
	}
	return false
}

func clip(b []byte) []byte {
	if len(b) > 3000 {
		return b[:3000]
	}
	return b
}

// TestHostileTextNeverReachesTheTerminal runs the real gotune against a real
// process whose argv, function names, file names, sample and goroutine
// labels, goroutine states, agent go_version and HTTP error bodies carry
// OSC 0/2/8/52, CSI, SGR conceal and C1 controls (internal/hostile), by
// URL and by PID, through every command that prints what a target said.
func TestHostileTextNeverReachesTheTerminal(t *testing.T) {
	bin := testproc.Build(t, ".")
	target := testproc.StartWith(t, testproc.BuildInto(t, testproc.Hostile, ""), testproc.Options{
		Argv0: hostile.Argv0, Env: []string{"GOHOSTILE=" + hostile.Payload}, WaitReady: true,
	}, hostile.Args()...)
	if len(target.Ready) < 3 {
		t.Fatalf("the target printed %q, want \"ready PID URL ERROR-URL\"", target.FirstLine)
	}
	pid, url, errURL := target.Ready[0], target.Ready[1], target.Ready[2]
	dir := t.TempDir()
	run := func(args ...string) gotuneRun {
		t.Helper()
		r := runGotuneBinary(t, bin, args...)
		if r.code != 0 {
			t.Fatalf("gotune %s: exit %d\n%s", strings.Join(args, " "), r.code, clip(r.stderr))
		}
		checkOutput(t, r, "stderr", r.stderr)
		checkOutput(t, r, "stdout", r.stdout)
		return r
	}
	// The payload's OSC 52 as a JSON value: the original, kept.
	raw := hostile.OSC52

	t.Run("advise", func(t *testing.T) {
		// 5 s at 250 ms: the leak and mutex rules have their samples and
		// name the crafted function (main.INJECTEDleaf + payload).
		r := run("advise", url, "--window", "5s", "--interval", "250ms", "--cpu-profile", "1s")
		checkOutput(t, r, "stdout", r.stdout, "goroutine-leak", "mutex-wait-high", "main.INJECTEDleafINJECTED", "PWNED", "CONCEALED")
		r = run("advise", pid, "--window", "5s", "--interval", "250ms", "--cpu-profile", "1s", "--json")
		checkJSON(t, r, false, raw)
	})
	t.Run("attach", func(t *testing.T) {
		r := run("attach", pid, "--plain", "--duration", "3s", "--interval", "500ms")
		checkOutput(t, r, "stdout", r.stdout, "INJECTED", "PWNED", "HEAP LIVE")
		r = run("attach", url, "--json", "--duration", "3s", "--interval", "500ms")
		checkJSON(t, r, true, "/INJECTED"+hostile.OSC0) // a metric's name
		r = run("attach", pid, "--json", "--duration", "3s", "--interval", "500ms")
		checkJSON(t, r, true, raw) // the command line
	})
	t.Run("profiles", func(t *testing.T) {
		r := run("folded", url, "--kind", "heap")
		checkOutput(t, r, "stdout", r.stdout, "main.INJECTEDleafINJECTED", "CONCEALED", "LINK")
		r = run("top", url, "--kind", "heap")
		checkOutput(t, r, "stdout", r.stdout, "main.INJECTEDleafINJECTED", "CONCEALED")
		r = run("top", url, "--kind", "mutex", "--json")
		checkJSON(t, r, false, raw)
		r = run("goroutines", url)
		checkOutput(t, r, "stdout", r.stdout, "main.INJECTEDleafINJECTED", "INJECTEDstate", "/src/evil")
		r = run("goroutines", url, "--proto")
		checkOutput(t, r, "stdout", r.stdout, "INJECTEDkey", "main.INJECTEDleafINJECTED")
		r = run("goroutines", url, "--json")
		checkJSON(t, r, false, raw)
	})
	t.Run("snapshot report diff trace", func(t *testing.T) {
		a, b := filepath.Join(dir, "a.gotune"), filepath.Join(dir, "b.gotune")
		run("snapshot", pid, "-o", a, "--window", "3s", "--cpu", "1s", "--trace", "1s")
		run("snapshot", url, "-o", b, "--window", "3s")
		r := run("report", a, "-o", "-")
		checkOutput(t, r, "stdout", r.stdout, "main.INJECTEDleafINJECTED", "GOHOSTILE=INJECTED", "INJECTEDstate", "PWNED")
		r = run("report", a, "-o", "-", "--format", "json")
		checkJSON(t, r, false, raw)
		r = run("report", a, b, "-o", "-", "--format", "html")
		checkOutput(t, r, "stdout", r.stdout, "INJECTEDleaf", "PWNED")
		for _, f := range []string{"md", "text"} {
			r = run("diff", a, b, "--format", f)
			checkOutput(t, r, "stdout", r.stdout, "INJECTEDleaf", "PWNED")
		}
		r = run("diff", a, b, "--format", "json")
		checkJSON(t, r, false, raw)
		r = run("trace", a)
		checkOutput(t, r, "stdout", r.stdout, "GC")
		r = run("trace", url, "--seconds", "1")
		checkOutput(t, r, "stdout", r.stdout, "GC")
	})
	t.Run("error bodies", func(t *testing.T) {
		// Every probe and fetch answers 500 with the payload: the errors
		// quote it, inert.
		for _, args := range [][]string{
			{"advise", errURL, "--window", "2s"},
			{"attach", errURL, "--plain", "--duration", "2s"},
			{"top", errURL, "--kind", "heap"},
			{"goroutines", errURL},
			{"trace", errURL, "--seconds", "1"},
		} {
			r := runGotuneBinary(t, bin, args...)
			if r.code == 0 {
				t.Errorf("gotune %s: exit 0 against a target that answers 500", strings.Join(args, " "))
			}
			checkOutput(t, r, "stdout", r.stdout)
			checkOutput(t, r, "stderr", r.stderr, "500", "INJECTED", "CONCEALED")
		}
	})
	t.Run("os only", func(t *testing.T) {
		// A Go process with no endpoint: attach says so on stderr, naming
		// it by its command line.
		p := testproc.StartWith(t, testproc.BuildInto(t, testproc.PlainSleep, ""), testproc.Options{Argv0: hostile.Argv0, WaitReady: true}, hostile.Args()...)
		r := run("attach", p.Ready[0], "--plain", "--duration", "2s")
		checkOutput(t, r, "stderr", r.stderr, "reachable through the OS only", "INJECTED", "PWNED")
		checkOutput(t, r, "stdout", r.stdout, "INJECTED")
	})
	t.Run("ps", func(t *testing.T) {
		r := run("ps")
		checkOutput(t, r, "stdout", r.stdout, "INJECTED")
		r = run("ps", "--json")
		checkJSON(t, r, false, raw)
	})
}
