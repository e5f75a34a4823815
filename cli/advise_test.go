//go:build unix

package cli

import (
	"encoding/json"
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/gotune/gotune/advisor"
	"github.com/gotune/gotune/internal/testproc"
)

// runAdviseBinary runs the real gotune binary and returns its stdout,
// stderr and exit status.
func runAdviseBinary(t *testing.T, bin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), bin, args...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run %s %v: %v", bin, args, err)
	}
	return out.String(), errb.String(), code
}

func decodeAdvice(t *testing.T, out string) adviceOutput {
	t.Helper()
	var a adviceOutput
	if err := json.Unmarshal([]byte(out), &a); err != nil {
		t.Fatalf("advise --json printed no JSON: %v\n%s", err, out)
	}
	return a
}

// The exit codes of gotune advise --fail-on against the real demo: the
// healthy demo has nothing at warn or above (exit 0), the default demo has
// its leak, its mutex contention and its allocation load (exit 3). By PID,
// so the OS facts (cgroups, NUMA, build info) are part of the check too.
func TestAdviseFailOnExitCodes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo for 15 s per case; skipped with -short")
	}
	bin := testproc.Build(t, ".")
	for _, tc := range []struct {
		name     string
		demoArgs []string
		byPID    bool
		wantCode int
		wantIDs  []string
	}{
		{name: "healthy by URL", demoArgs: []string{"--healthy"}, wantCode: 0},
		{name: "healthy by PID", demoArgs: []string{"--healthy"}, byPID: true, wantCode: 0},
		{name: "default by URL", wantCode: 3, wantIDs: []string{"goroutine-leak", "mutex-wait-high"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			demo := testproc.Start(t, bin, nil, append([]string{"demo", "--serve", "127.0.0.1:0"}, tc.demoArgs...)...)
			target := demo.FirstLine
			if tc.byPID {
				target = strconv.Itoa(demo.PID)
			}
			// 15 s: the demo leaks a goroutine a second, and the leak rule
			// wants 10 along a steady line.
			out, stderr, code := runAdviseBinary(t, bin, "advise", target, "--window", "15s", "--json", "--fail-on", "warn")
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d\nstderr: %s\nstdout: %s", code, tc.wantCode, stderr, out)
			}
			a := decodeAdvice(t, out)
			if a.Report.Samples < 10 {
				t.Errorf("only %d samples in a 15 s window at 1 s", a.Report.Samples)
			}
			var ids []string
			for _, f := range a.Report.Findings {
				ids = append(ids, f.ID+"("+f.Severity.String()+")")
			}
			if tc.wantCode == 0 {
				if len(a.Report.AtLeast(advisor.Warn)) > 0 {
					t.Errorf("exit 0 but findings at warn or above: %v", ids)
				}
				if len(a.Report.Findings) > 0 {
					t.Errorf("the healthy demo has findings: %v", ids)
				}
				return
			}
			if !strings.Contains(stderr, "at or above warn") {
				t.Errorf("stderr does not say why the exit status is 3: %q", stderr)
			}
			for _, id := range tc.wantIDs {
				if _, ok := a.Report.Find(id); !ok {
					t.Errorf("%s missing from the default demo's findings %v", id, ids)
				}
			}
			if len(a.Profiles) < 5 {
				t.Errorf("profiles used: %v, want goroutine, profile, heap, allocs, mutex", a.Profiles)
			}
		})
	}
}

// Text output carries the evidence, the action, the prediction and the
// what-if table with today's measurement.
func TestAdviseTextOutput(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo for 10 s; skipped with -short")
	}
	bin := testproc.Build(t, ".")
	demo := testproc.Start(t, bin, nil, "demo", "--serve", "127.0.0.1:0", "--leak-every", "0", "--mutex-workers", "0")
	out, stderr, code := runAdviseBinary(t, bin, "advise", demo.FirstLine, "--window", "10s", "--gc-cpu-target", "0.02")
	if code != 0 {
		t.Fatalf("exit %d without --fail-on; stderr: %s", code, stderr)
	}
	for _, want := range []string{"# gotune advise http://127.0.0.1:", "GC what-if", "GOGC=50", "GOGC=400", "(today)", "measured"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "→") && !strings.Contains(out, "evidence") && !strings.Contains(out, "No findings") {
		t.Errorf("a recommendation without findings or their evidence:\n%s", out)
	}
}

func TestAdviseBadArguments(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"advise", "http://127.0.0.1:1", "--fail-on", "info"}, "want warn or crit"},
		{[]string{"advise", "http://127.0.0.1:1", "--fail-on", "bogus"}, "want warn or crit"},
		{[]string{"advise", "http://127.0.0.1:1", "--window", "1s"}, "too short"},
		{[]string{"advise", "http://127.0.0.1:1", "--gc-cpu-target", "5"}, "fraction"},
		{[]string{"advise", "http://127.0.0.1:1", "--window", "2s", "--interval", "500ms"}, "no sample"},
	} {
		_, _, err := runGotune(t, t.Context(), tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one saying %q", tc.args, err, tc.want)
		}
		var ee *ExitError
		if errors.As(err, &ee) {
			t.Errorf("%v: exit code %d, want the usage/failure code 1", tc.args, ee.Code)
		}
	}
}
