package ui

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/gotune/gotune/agent"
	"github.com/gotune/gotune/capture"
	"github.com/gotune/gotune/collectors"
	"github.com/gotune/gotune/snapshot"
)

// fakeTuner records writes; the change it makes is dated setAt.
type fakeTuner struct {
	mu     sync.Mutex
	setAt  time.Time
	value  int64
	writes []string
}

func (f *fakeTuner) Via() string { return "fake tuner" }

func (f *fakeTuner) Set(_ context.Context, s agent.Setting, v int64, _ time.Duration) (agent.Change, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	prev := f.value
	f.value = v
	f.writes = append(f.writes, fmt.Sprintf("set %s=%d", s, v))
	return agent.Change{ID: 1, Setting: s, Value: v, Previous: prev, Restore: prev, State: agent.StateLeased, SetAt: f.setAt}, nil
}

func (f *fakeTuner) Revert(_ context.Context, ch agent.Change) (agent.Change, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.value = ch.Restore
	f.writes = append(f.writes, fmt.Sprintf("revert %s=%d", ch.Setting, ch.Restore))
	ch.State = agent.StateReverted
	return ch, nil
}

func (f *fakeTuner) log() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.writes, ", ")
}

// adviceModel is the test dashboard on the Advice screen with its report.
func adviceModel(t *testing.T, w, h int) *Model {
	t.Helper()
	m := newTestModel(t, w, h, "dark")
	for _, msg := range runCmd(t, press(m, "5")) {
		m.Update(msg)
	}
	if m.screens[scrAdvice].(*adviceScreen).report == nil {
		t.Fatal("no advice report")
	}
	return m
}

// deliver runs cmd and hands its messages to the model, returning them.
func deliver(t *testing.T, m *Model, cmd tea.Cmd) []tea.Msg {
	t.Helper()
	msgs := runCmd(t, cmd)
	for _, msg := range msgs {
		m.Update(msg)
	}
	return msgs
}

func flowOf(m *Model) *applyFlow { return m.screens[scrAdvice].(*adviceScreen).flow }

// The dashboard's loop on the Advice screen, step by step: a typed
// setting, its confirmation with the prediction and the lease, the
// verification countdown, predicted against measured with the verdict,
// and k keeping it. Goldens of each view at two sizes.
func TestApplyFlowGoldens(t *testing.T) {
	for _, sz := range []struct{ w, h int }{{120, 40}, {80, 24}} {
		t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) {
			m := adviceModel(t, sz.w, sz.h)
			f := flowOf(m)
			tuner := &fakeTuner{value: 100, setAt: t0.Add(-40 * time.Second)}
			step := func(name string) {
				t.Helper()
				t.Run(name, func(t *testing.T) {
					checkFrame(t, m.View().Content, sz.w, sz.h)
					golden.RequireEqual(t, plain(m))
				})
			}
			// No finding the dashboard can apply: a typed setting.
			press(m, "a")
			if f.state != flowTyping {
				t.Fatalf("a opened state %d, want typing", f.state)
			}
			press(m, "4", "0", "0") // digits reach the field, not the screen keys
			step("typing")
			cmd := press(m, "enter")
			if f.state != flowConfirm || f.prop.Action() != "GOGC=400" {
				t.Fatalf("enter: state %d, proposal %s (%v)", f.state, f.prop.Action(), f.propErr)
			}
			// The test session is not attached to a process: read-only.
			deliver(t, m, cmd)
			if f.acc == nil || f.acc.Tuner != nil {
				t.Fatalf("access %+v: want read-only", f.acc)
			}
			step("read-only")
			m.Update(accessMsg{acc: collectors.WriteAccess{Tuner: tuner, Writable: []agent.Setting{agent.GOGC}}})
			step("confirm")
			cmd = press(m, "enter")
			if f.state != flowApplying {
				t.Fatalf("state %d after enter, want applying", f.state)
			}
			msgs := runCmd(t, cmd)
			if len(msgs) != 1 {
				t.Fatalf("apply answered %v", msgs)
			}
			_, verify := m.Update(msgs[0])
			if f.state != flowVerifying || tuner.log() != "set GOGC=400" {
				t.Fatalf("state %d, writes %q (%v)", f.state, tuner.log(), f.err)
			}
			// 12 s in: settled, verifying.
			m.s.now = t0.Add(-23 * time.Second)
			step("verifying")
			deliver(t, m, verify)
			m.s.now = t0
			if f.state != flowResult || f.change.Verdict == "" {
				t.Fatalf("state %d, change %+v", f.state, f.change)
			}
			step("result")
			deliver(t, m, press(m, "k"))
			if f.state != flowIdle || f.change.Outcome != snapshot.OutcomeKept || !strings.HasSuffix(f.last, ", kept") {
				t.Fatalf("after k: state %d, outcome %s, last %q", f.state, f.change.Outcome, f.last)
			}
			if tuner.log() != "set GOGC=400" {
				t.Errorf("writes %q: keep must not revert", tuner.log())
			}
			step("kept")
			if cs := m.s.sess.Changes(); len(cs) != 1 || cs[0].Outcome != snapshot.OutcomeKept {
				t.Errorf("session changes %+v", cs)
			}
		})
	}
}

// Without k the result reverts by itself after the decision timeout; r
// reverts at once, also while verifying.
func TestApplyFlowTimeoutAndRevert(t *testing.T) {
	for _, how := range []string{"timeout", "r in the result", "r while verifying"} {
		t.Run(how, func(t *testing.T) {
			m := adviceModel(t, 120, 40)
			f := flowOf(m)
			tuner := &fakeTuner{value: 100, setAt: t0.Add(-40 * time.Second)}
			press(m, "a")
			press(m, strings.Split("\b\b\b\b\b", "")...)
			f.input = []rune("GOGC=200")
			press(m, "enter")
			m.Update(accessMsg{acc: collectors.WriteAccess{Tuner: tuner, Writable: []agent.Setting{agent.GOGC}}})
			msgs := runCmd(t, press(m, "enter"))
			_, verify := m.Update(msgs[0])
			switch how {
			case "r while verifying":
				deliver(t, m, press(m, "r"))
			case "r in the result":
				deliver(t, m, verify)
				deliver(t, m, press(m, "r"))
			case "timeout":
				deliver(t, m, verify)
				m.s.now = t0.Add(decisionTimeout - time.Second)
				if cmd := m.screens[scrAdvice].update(tickMsg(m.s.now)); f.state != flowResult {
					t.Fatalf("reverted before the timeout (%v)", cmd)
				}
				m.s.now = t0.Add(decisionTimeout)
				deliver(t, m, m.screens[scrAdvice].update(tickMsg(m.s.now)))
			}
			if got := tuner.log(); got != "set GOGC=200, revert GOGC=100" {
				t.Fatalf("writes %q", got)
			}
			if f.state != flowIdle || f.change.Outcome != snapshot.OutcomeReverted {
				t.Fatalf("state %d, outcome %s", f.state, f.change.Outcome)
			}
		})
	}
}

// Quitting the dashboard reverts a change that was not kept.
func TestRunRevertsOnQuit(t *testing.T) {
	sess := testSession(t, fillStore(30), nil)
	tuner := &fakeTuner{value: 100, setAt: t0}
	p, err := capture.Propose("GOGC=300", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sess.Apply(t.Context(), collectors.WriteAccess{Tuner: tuner, Writable: []agent.Setting{agent.GOGC}}, p, capture.Bounds{}, capture.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	pr, pw := io.Pipe()
	defer pw.Close()
	if err := Run(ctx, Options{Session: sess, Theme: "mono", Now: func() time.Time { return t0 }}, pr, io.Discard); err != nil {
		t.Fatal(err)
	}
	if got := tuner.log(); got != "set GOGC=300, revert GOGC=100" {
		t.Fatalf("writes %q: quitting must revert", got)
	}
	if cs := sess.Changes(); cs[0].Outcome != snapshot.OutcomeReverted {
		t.Fatalf("outcome %s", cs[0].Outcome)
	}
}
