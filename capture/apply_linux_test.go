package capture

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/advisor"
	"github.com/gotune/gotune/agent"
	"github.com/gotune/gotune/collectors"
	"github.com/gotune/gotune/internal/testproc"
	"github.com/gotune/gotune/session"
	"github.com/gotune/gotune/snapshot"
)

// startWritable runs the gotuneagent target with writes enabled, churning
// garbage so the GC runs, and attaches a capture session to it by URL.
func startWritable(t *testing.T) (*Session, collectors.WriteAccess, string) {
	t.Helper()
	bin := testproc.Build(t, "./testdata/targets/gotuneagent")
	home := t.TempDir()
	p := testproc.StartWith(t, bin, testproc.Options{WaitReady: true,
		Env: []string{"HOME=" + home, "XDG_RUNTIME_DIR=", "XDG_CONFIG_HOME=", agent.TokenDirEnv + "=", "GOGC=100"}},
		"-writes", "-churn", "40", "-live", "16")
	base := "http://" + p.Addr()
	target, err := collectors.NewURLTarget(base, collectors.HTTPSourceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sess := Start(t.Context(), target, Options{Interval: 500 * time.Millisecond})
	acc := collectors.FindWriteAccess(t.Context(), WriteTargetOf(target, ""))
	if acc.Tuner == nil {
		t.Fatalf("no write access to the target: %s", acc.ReadOnly)
	}
	return sess, acc, base
}

func liveGOGC(t *testing.T, base string) float64 {
	t.Helper()
	s, err := collectors.NewAgentSource(base, collectors.HTTPSourceOptions{}).Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return s.Values[session.GOGC]
}

func journalEvents(t *testing.T, acc collectors.WriteAccess) []string {
	t.Helper()
	j, err := acc.Tuner.(*collectors.AgentClient).Journal(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var ev []string
	for _, e := range j.Entries {
		if e.Event != agent.EventRenew {
			ev = append(ev, e.Event+":"+string(e.Setting))
		}
	}
	return ev
}

// The whole loop on a real process: a window, a proposal from the GC
// model, the write, the verification window, the verdict, the revert;
// the change is in the session, the next window and its snapshot.
func TestApplyVerifyRevert(t *testing.T) {
	sess, acc, base := startWritable(t)
	before, err := sess.Window(t.Context(), WindowOptions{Length: 8 * time.Second, NoProfiles: true})
	if err != nil {
		t.Fatal(err)
	}
	r := before.Advise(advisorConfig())
	p, err := Propose("GOGC=400", before, &r)
	if err != nil {
		t.Fatal(err)
	}
	if r.WhatIf == nil || len(p.Checks) < 2 || p.Checks[0].Predicted == nil || p.Checks[0].Before == nil {
		t.Fatalf("no prediction from the GC model (%v): %+v", whatIfWhy(&r), p)
	}
	tr, err := sess.Apply(t.Context(), acc, p, BoundsOf(before, acc.Settings), ApplyOptions{HoldLease: 3 * time.Second, Settle: time.Second, Verify: 6 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if got := liveGOGC(t, base); got != 400 {
		t.Fatalf("GOGC after the write: %v, want 400", got)
	}
	c, err := tr.Verify(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// The hold kept the change past its 3 s lease.
	if got := liveGOGC(t, base); got != 400 || c.Outcome != snapshot.OutcomeActive {
		t.Fatalf("after verifying (longer than the lease): GOGC %v, outcome %s; want 400, held", got, c.Outcome)
	}
	var cycles *snapshot.Check
	for i := range c.Checks {
		if c.Checks[i].Metric == mGCCycles {
			cycles = &c.Checks[i]
		}
	}
	if cycles == nil || cycles.Measured == nil || cycles.Before == nil {
		t.Fatalf("GC cycles not measured: %+v", c.Checks)
	}
	// Four times the heap growth: far fewer cycles for the same churn.
	if !(*cycles.Measured < *cycles.Before) {
		t.Errorf("GC cycles/s %v at GOGC=400, %v before: want fewer", *cycles.Measured, *cycles.Before)
	}
	if c.Verdict == "" || c.Reason == "" || c.Verify.Duration() < 5*time.Second || c.Previous != "100" || c.Deploy != "GOGC=400" {
		t.Errorf("record %+v", c)
	}
	t.Logf("%s (%s)", c.Sentence(nil), c.Reason)
	c, err = tr.Revert(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got := liveGOGC(t, base); got != 100 || c.Outcome != snapshot.OutcomeReverted {
		t.Fatalf("after revert: GOGC %v, outcome %s", got, c.Outcome)
	}
	if _, err := tr.Keep(t.Context()); err == nil {
		t.Error("a reverted change could be kept")
	}
	if got := strings.Join(journalEvents(t, acc), " "); got != "enable: set:GOGC revert:GOGC" {
		t.Errorf("journal %s", got)
	}

	w, err := sess.Window(t.Context(), WindowOptions{NoProfiles: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Changes) != 1 || w.Changes[0].Outcome != snapshot.OutcomeReverted {
		t.Fatalf("window changes %+v", w.Changes)
	}
	path := filepath.Join(t.TempDir(), "x.gotune")
	if err := snapshot.Write(path, w.Snapshot(SnapshotOptions{})); err != nil {
		t.Fatal(err)
	}
	s, err := snapshot.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Manifest.Changes) != 1 || s.Manifest.Changes[0].Sentence(nil) != c.Sentence(nil) {
		t.Fatalf("snapshot changes %+v, want %q", s.Manifest.Changes, c.Sentence(nil))
	}
	rw, err := Replay(s).Window(t.Context(), WindowOptions{})
	if err != nil || len(rw.Changes) != 1 {
		t.Fatalf("replayed window changes %v, %v", rw.Changes, err)
	}
}

// Keep ends the lease (the value outlives gotune's renewals); a change
// left unended is reverted by RevertActive (gotune's exit); a harmful one
// is refused before anything is written.
func TestApplyKeepRefuseRevertActive(t *testing.T) {
	sess, acc, base := startWritable(t)
	w, err := sess.Window(t.Context(), WindowOptions{Length: 3 * time.Second, NoProfiles: true})
	if err != nil {
		t.Fatal(err)
	}
	b := BoundsOf(w, acc.Settings)
	p, _ := Propose("GOMEMLIMIT=1MiB", w, nil)
	if _, err := sess.Apply(t.Context(), acc, p, b, ApplyOptions{}); !errors.As(err, new(*RefusedError)) {
		t.Fatalf("GOMEMLIMIT=1MiB: %v, want a refusal", err)
	}
	p, _ = Propose("GOGC=200", w, nil)
	tr, err := sess.Apply(t.Context(), acc, p, b, ApplyOptions{HoldLease: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if c, err := tr.Keep(t.Context()); err != nil || c.Outcome != snapshot.OutcomeKept {
		t.Fatalf("keep: %+v, %v", c, err)
	}
	time.Sleep(2 * time.Second) // past the lease: a kept change stays
	if got := liveGOGC(t, base); got != 200 {
		t.Fatalf("GOGC after keep and the lease: %v, want 200", got)
	}
	p, _ = Propose("GOGC=300", w, nil)
	if _, err := sess.Apply(t.Context(), acc, p, b, ApplyOptions{HoldLease: 30 * time.Second}); err != nil {
		t.Fatal(err)
	}
	if err := sess.RevertActive(t.Context()); err != nil {
		t.Fatal(err)
	}
	// The revert of a change that superseded a kept one restores the
	// value before the first of them (docs/agent-format.md, Restore).
	if got := liveGOGC(t, base); got != 200 && got != 100 {
		t.Fatalf("GOGC after RevertActive: %v", got)
	}
	cs := sess.Changes()
	if len(cs) != 2 || cs[0].Outcome != snapshot.OutcomeKept || cs[1].Outcome != snapshot.OutcomeReverted {
		t.Fatalf("changes %+v", cs)
	}
	if got := strings.Join(journalEvents(t, acc), " "); !strings.HasPrefix(got, "enable: set:GOGC keep:GOGC supersede:GOGC set:GOGC revert:GOGC") || strings.Contains(got, "GOMEMLIMIT") {
		t.Errorf("journal %s: the refused GOMEMLIMIT must not reach the agent", got)
	}
}

func advisorConfig() advisor.Config { return advisor.DefaultConfig() }

// When the renewals stop (the watching context ends: a lost connection),
// the agent reverts on its own when the lease runs out; a later revert
// finds it ended and records it as expired.
func TestApplyLeaseExpires(t *testing.T) {
	sess, acc, base := startWritable(t)
	w, err := sess.Window(t.Context(), WindowOptions{Length: 2 * time.Second, NoProfiles: true})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := Propose("GOGC=250", w, nil)
	ctx, cancel := context.WithCancel(t.Context())
	tr, err := sess.Apply(ctx, acc, p, BoundsOf(w, acc.Settings), ApplyOptions{HoldLease: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cancel() // the renewals stop
	testproc.Eventually(t, 10*time.Second, func() bool { return liveGOGC(t, base) == 100 }, "the agent did not revert when the lease ran out")
	c, err := tr.Revert(t.Context())
	if err != nil || c.Outcome != snapshot.OutcomeExpired {
		t.Fatalf("revert after expiry: %+v, %v; want outcome expired", c, err)
	}
	if got := strings.Join(journalEvents(t, acc), " "); got != "enable: set:GOGC expire:GOGC" {
		t.Errorf("journal %s", got)
	}
}
