package cli

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gotune/gotune/agent"
	"github.com/gotune/gotune/collectors"
	"github.com/gotune/gotune/internal/testproc"
	"github.com/gotune/gotune/session"
	"github.com/gotune/gotune/snapshot"
)

// Every test here runs the gotuneagent target as a real process and
// gotune apply against it over a real socket.

type writable struct {
	p         *testproc.Proc
	base      string
	tokenFile string // where the target keeps its token
}

// startAgent runs gotuneagent with args; its HOME is a fresh directory, so
// its token file (if it enables writes) is under it.
func startAgent(t *testing.T, args ...string) writable {
	t.Helper()
	bin := testproc.Build(t, "./testdata/targets/gotuneagent")
	home := t.TempDir()
	p := testproc.StartWith(t, bin, testproc.Options{WaitReady: true,
		Env: []string{"HOME=" + home, "XDG_RUNTIME_DIR=", "XDG_CONFIG_HOME=", agent.TokenDirEnv + "=", "GOGC=100"}}, args...)
	w := writable{p: p, base: "http://" + p.Addr(), tokenFile: agent.TokenFilePath(filepath.Join(home, ".config", "gotune", "agent"), p.PID)}
	for i, a := range args {
		if a == "-token-file" {
			w.tokenFile = args[i+1]
		}
	}
	return w
}

func (w writable) gogc(t *testing.T) float64 {
	t.Helper()
	s, err := collectors.NewAgentSource(w.base, collectors.HTTPSourceOptions{}).Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return s.Values[session.GOGC]
}

// journal reads the agent's journal with the target's own token.
func (w writable) journal(t *testing.T) agent.Journal {
	t.Helper()
	b, err := os.ReadFile(w.tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	c := collectors.NewAgentClient(w.base, collectors.AgentToken{Token: strings.TrimSpace(string(b)), Path: w.tokenFile}, collectors.HTTPSourceOptions{})
	j, err := c.Journal(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func events(j agent.Journal) string {
	var ev []string
	for _, e := range j.Entries {
		ev = append(ev, e.Event)
	}
	return strings.Join(ev, " ")
}

func applyJSON(t *testing.T, args ...string) (applyOutput, error) {
	t.Helper()
	out, stderr, err := runGotune(t, t.Context(), append([]string{"apply"}, args...)...)
	var o applyOutput
	if jerr := json.Unmarshal([]byte(out), &o); jerr != nil {
		t.Fatalf("gotune apply %s: not JSON (%v): %v\n%s\n%s", strings.Join(args, " "), jerr, err, out, stderr)
	}
	return o, err
}

func exitCode(err error) int {
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	if err != nil {
		return 1
	}
	return 0
}

// The security refusals through gotune apply: each leaves the target's
// GOGC and journal as they were, exits 6 and says why.
func TestApplyRefusals(t *testing.T) {
	t.Run("writes not enabled", func(t *testing.T) {
		a := startAgent(t)
		o, err := applyJSON(t, a.base, "GOGC=200", "--json")
		if exitCode(err) != applyRefused || !strings.Contains(o.ReadOnly, "did not enable live changes") || o.Change != nil {
			t.Fatalf("exit %d, %+v", exitCode(err), o)
		}
		if g := a.gogc(t); g != 100 {
			t.Fatalf("GOGC %v after a refused apply", g)
		}
	})
	t.Run("no token", func(t *testing.T) {
		// The program keeps its token where gotune does not look.
		a := startAgent(t, "-writes", "-token-file", filepath.Join(t.TempDir(), "elsewhere.token"))
		o, err := applyJSON(t, a.base, "GOGC=200", "--json")
		if exitCode(err) != applyRefused || !strings.Contains(o.ReadOnly, "no token file") {
			t.Fatalf("exit %d, %+v", exitCode(err), o)
		}
		if g, ev := a.gogc(t), events(a.journal(t)); g != 100 || ev != "enable" {
			t.Fatalf("GOGC %v, journal %q after a refused apply", g, ev)
		}
	})
	t.Run("wrong token", func(t *testing.T) {
		a := startAgent(t, "-writes")
		wrong := filepath.Join(t.TempDir(), "wrong.token")
		if err := os.WriteFile(wrong, []byte(hex.EncodeToString(make([]byte, 32))+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		o, err := applyJSON(t, a.base, "GOGC=200", "--json", "--token-file", wrong)
		if exitCode(err) != applyRefused || !strings.Contains(o.ReadOnly, "token") {
			t.Fatalf("exit %d, %+v", exitCode(err), o)
		}
		if g, ev := a.gogc(t), events(a.journal(t)); g != 100 || ev != "enable" {
			t.Fatalf("GOGC %v, journal %q after a refused apply", g, ev)
		}
		// The agent counted the refusal itself.
		b, _ := os.ReadFile(a.tokenFile)
		s, err := collectors.NewAgentClient(a.base, collectors.AgentToken{Token: strings.TrimSpace(string(b))}, collectors.HTTPSourceOptions{}).Settings(t.Context())
		if err != nil || s.RefusedRequests < 1 || !strings.Contains(s.LastRefusalReason, "token") {
			t.Fatalf("agent settings %+v, %v: want the wrong token refused", s, err)
		}
	})
	t.Run("harmful setting", func(t *testing.T) {
		a := startAgent(t, "-writes", "-live", "16")
		o, err := applyJSON(t, a.base, "GOMEMLIMIT=8MiB", "--json", "--baseline", "2s", "--interval", "500ms")
		if exitCode(err) != applyRefused || !strings.Contains(o.Refused, "below the live heap") {
			t.Fatalf("exit %d, %+v", exitCode(err), o)
		}
		if ev := events(a.journal(t)); ev != "enable" {
			t.Fatalf("journal %q: a refused setting reached the agent", ev)
		}
	})
}

// The whole headless loop on a real process: the prediction, the write,
// the verification, the revert; the exit code follows the verdict and the
// deployment line is printed.
func TestApplyHeadless(t *testing.T) {
	a := startAgent(t, "-writes", "-churn", "40", "-live", "16")
	o, err := applyJSON(t, a.base, "GOGC=400", "--json", "--baseline", "6s", "--settle", "1s", "--verify", "6s", "--interval", "500ms", "--hold-lease", "2s")
	c := o.Change
	if c == nil {
		t.Fatalf("no change: %v %+v", err, o)
	}
	want := map[string]int{snapshot.VerdictHeld: applyHeld, snapshot.VerdictMissed: applyMissed, snapshot.VerdictInconclusive: applyInconclusive}[c.Verdict]
	if exitCode(err) != want || o.ExitCode != want {
		t.Errorf("verdict %s: exit %d (json %d), want %d", c.Verdict, exitCode(err), o.ExitCode, want)
	}
	if c.Outcome != snapshot.OutcomeReverted || o.Deploy != "GOGC=400" || c.Via != "gotune agent" || len(c.Checks) < 2 || c.Checks[0].Predicted == nil {
		t.Fatalf("change %+v", c)
	}
	t.Logf("%s (%s)", c.Sentence(nil), c.Reason)
	if g := a.gogc(t); g != 100 {
		t.Errorf("GOGC %v after apply without --keep: want it reverted to 100", g)
	}
	if ev := events(a.journal(t)); ev != "enable set renew revert" && ev != "enable set revert" {
		t.Errorf("journal %q", ev)
	}
	// The text form ends with the deployment line.
	out, _, _ := runGotune(t, t.Context(), "apply", a.base, "GOGC=150", "--baseline", "2s", "--settle", "1s", "--verify", "2s", "--interval", "500ms", "--keep")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if last := lines[len(lines)-1]; last != "put in the deployment: GOGC=150" {
		t.Errorf("last line %q\n%s", last, out)
	}
	if !strings.Contains(out, "FIGURE") || !strings.Contains(out, "applied GOGC=150") {
		t.Errorf("no table or sentence:\n%s", out)
	}
}

// gotune apply killed with SIGKILL mid-lease: the agent reverts on its own
// when the lease expires. The values before, during and after are logged.
func TestApplyKilledMidLease(t *testing.T) {
	a := startAgent(t, "-writes")
	gotune := testproc.Build(t, ".")
	const hold = 3 * time.Second
	cmd := exec.Command(gotune, "apply", a.base, "GOGC=300", "--baseline", "1s", "--interval", "250ms", "--settle", "1s", "--verify", "5m", "--hold-lease", hold.String())
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	before := a.gogc(t)
	testproc.Eventually(t, 30*time.Second, func() bool { return a.gogc(t) == 300 }, "GOGC never became 300")
	// Past one lease: gotune's renewals hold it.
	time.Sleep(hold + time.Second)
	during := a.gogc(t)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	killed := time.Now()
	testproc.Eventually(t, hold+10*time.Second, func() bool { return a.gogc(t) == 100 }, "the agent did not revert after gotune was killed")
	after := a.gogc(t)
	t.Logf("GOGC before %v, during %v (after %s, renewed), after SIGKILL %v (reverted %s after the kill; lease %s)", before, during, hold+time.Second, after, time.Since(killed).Round(100*time.Millisecond), hold)
	if before != 100 || during != 300 || after != 100 {
		t.Fatalf("GOGC before %v, during %v, after %v: want 100, 300, 100", before, during, after)
	}
	j := a.journal(t)
	if ev := events(j); !strings.HasPrefix(ev, "enable set") || !strings.HasSuffix(ev, "expire") {
		t.Fatalf("journal %q: want the set, renewals and the agent's own expire", ev)
	}
	last := j.Entries[len(j.Entries)-1]
	if last.From != 300 || last.To != 100 {
		t.Errorf("expire entry %+v: want 300 → 100", last)
	}
}

// Through a gops agent gotune changes GOGC only, without a lease: it says
// so, reverts at the end itself, refuses --lease and other settings.
func TestApplyThroughGops(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("GOPS_CONFIG_DIR", dir)
	bin := testproc.BuildInto(t, testproc.GopsAgent, "")
	p := testproc.StartWith(t, bin, testproc.Options{Env: []string{"GOPS_CONFIG_DIR=" + dir, "GOGC=100"}, WaitReady: true})
	pid := strconv.Itoa(p.PID)
	o, err := applyJSON(t, pid, "GOGC=200", "--json", "--baseline", "2s", "--settle", "1s", "--verify", "2s", "--interval", "500ms")
	c := o.Change
	if c == nil {
		t.Fatalf("no change through gops: %v %+v", err, o)
	}
	if o.Via != "gops agent" || c.Via != "gops agent" || c.Previous != "100" || c.Outcome != snapshot.OutcomeReverted || c.LeaseSeconds != 0 {
		t.Fatalf("change %+v (via %s)", c, o.Via)
	}
	if !strings.Contains(strings.Join(c.Warnings, " "), "without authentication, lease or journal") {
		t.Errorf("warnings %q: want gops' limits said", c.Warnings)
	}
	// The revert went through: a second write finds 100 again.
	o, _ = applyJSON(t, pid, "GOGC=150", "--json", "--baseline", "1s", "--settle", "1s", "--verify", "2s", "--interval", "500ms")
	if o.Change == nil || o.Change.Previous != "100" {
		t.Fatalf("second change %+v: want it to find GOGC=100 restored", o.Change)
	}
	if _, err := applyJSON(t, pid, "GOGC=200", "--json", "--lease", "1m"); exitCode(err) != 1 {
		t.Errorf("--lease through gops: exit %d, want 1", exitCode(err))
	}
	if o, err := applyJSON(t, pid, "GOMAXPROCS=1", "--json", "--baseline", "1s", "--interval", "500ms"); exitCode(err) != applyRefused || !strings.Contains(o.Refused, "GOGC") {
		t.Errorf("GOMAXPROCS through gops: exit %d, %+v", exitCode(err), o)
	}
}
