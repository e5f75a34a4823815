package ui

// The Advice screen's live-change flow: from a finding (or a setting the
// user types), a confirmation with the prediction and the lease, the
// write, a verification view with a countdown, then predicted against
// measured with the verdict, where k keeps and r (or the timeout)
// reverts. The loop itself is capture's (capture/apply.go); this file
// only shows it and sends its commands. Quitting reverts what was not
// kept (Run).

import (
	"context"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/gotune/gotune/advisor"
	"github.com/gotune/gotune/capture"
	"github.com/gotune/gotune/collectors"
	"github.com/gotune/gotune/safetext"
	"github.com/gotune/gotune/snapshot"
)

// decisionTimeout is how long the result waits for k before the change is
// reverted: a change nobody chose to keep does not stay.
const decisionTimeout = time.Minute

// flowState is where the flow stands.
type flowState int

const (
	flowIdle      flowState = iota
	flowTyping              // the user types a setting
	flowConfirm             // the prediction and the lease, waiting for enter
	flowApplying            // the write is on its way
	flowVerifying           // settle and verification window
	flowResult              // predicted vs measured; k keeps, r reverts
	flowEnding              // the keep or revert is on its way
)

// accessMsg is how the target can be written.
type accessMsg struct{ acc collectors.WriteAccess }

// appliedMsg is the trial of an accepted write, or why it was not made.
type appliedMsg struct {
	trial *capture.Trial
	err   error
}

// verifiedMsg is the trial's record after its verification window.
type verifiedMsg struct {
	trial  *capture.Trial
	change snapshot.Change
	err    error
}

// endedMsg is the record after a keep or revert.
type endedMsg struct {
	change snapshot.Change
	err    error
}

func findAccess(ctx context.Context, sess *capture.Session) tea.Cmd {
	return func() tea.Msg { return accessMsg{acc: sess.WriteAccess(ctx)} }
}

func applyChange(ctx context.Context, sess *capture.Session, acc collectors.WriteAccess, p capture.Proposal, b capture.Bounds, o capture.ApplyOptions) tea.Cmd {
	return func() tea.Msg {
		tr, err := sess.Apply(ctx, acc, p, b, o)
		return appliedMsg{trial: tr, err: err}
	}
}

func verifyChange(ctx context.Context, tr *capture.Trial) tea.Cmd {
	return func() tea.Msg {
		c, err := tr.Verify(ctx)
		return verifiedMsg{trial: tr, change: c, err: err}
	}
}

func endChange(ctx context.Context, tr *capture.Trial, keep bool) tea.Cmd {
	return func() tea.Msg {
		if keep {
			c, err := tr.Keep(ctx)
			return endedMsg{change: c, err: err}
		}
		c, err := tr.Revert(ctx)
		return endedMsg{change: c, err: err}
	}
}

// applyFlow is the flow's state; the Advice screen owns one.
type applyFlow struct {
	s     *shared
	opts  capture.ApplyOptions
	state flowState

	input    []rune // flowTyping
	findings []advisor.Finding
	fi       int
	report   *advisor.Report
	window   *capture.Window

	prop    capture.Proposal
	propErr error
	acc     *collectors.WriteAccess // nil while it is being found
	trial   *capture.Trial
	change  snapshot.Change
	err     error
	// resultAt is when the result showed (the decision timeout counts
	// from it).
	resultAt time.Time
	// last is the outcome of the last change, shown until the next.
	last string
}

// active reports whether the flow takes the screen.
func (f *applyFlow) active() bool { return f.state != flowIdle }

// open starts the flow from the report's applicable findings, or a typed
// setting when there are none.
func (f *applyFlow) open(r *advisor.Report, w *capture.Window) tea.Cmd {
	if f.s.sess == nil || r == nil {
		return nil
	}
	f.report, f.window, f.err, f.acc = r, w, nil, nil
	f.findings = f.findings[:0]
	for _, fd := range r.Findings {
		if capture.Applicable(fd) {
			f.findings = append(f.findings, fd)
		}
	}
	if len(f.findings) == 0 {
		f.state, f.input = flowTyping, []rune(suggestedSetting(r))
		return nil
	}
	f.fi = 0
	return f.confirm()
}

// suggestedSetting prefills the typed setting: the GC model's
// recommendation, else today's GOGC.
func suggestedSetting(r *advisor.Report) string {
	if row, ok := r.WhatIf.Recommendation(); ok && row.MemoryLimit == 0 {
		return row.Setting
	}
	return "GOGC="
}

// confirm proposes the current finding (or the typed setting) and finds
// the write path.
func (f *applyFlow) confirm() tea.Cmd {
	if f.state == flowTyping {
		f.prop, f.propErr = capture.Propose(string(f.input), f.window, f.report)
	} else {
		f.prop, f.propErr = capture.ProposeFinding(f.findings[f.fi], f.window, f.report)
	}
	if f.propErr != nil && f.state == flowTyping {
		return nil // say why, keep typing
	}
	f.state = flowConfirm
	if f.acc != nil {
		return nil
	}
	return findAccess(f.s.ctx, f.s.sess)
}

// update handles the flow's messages and, while it is active, its keys;
// it reports whether it used msg.
func (f *applyFlow) update(msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case accessMsg:
		f.acc = &msg.acc
		return nil, true
	case appliedMsg:
		if msg.err != nil {
			f.state, f.err = flowConfirm, msg.err
			return nil, true
		}
		f.trial, f.change, f.state = msg.trial, msg.trial.Change(), flowVerifying
		return verifyChange(f.s.ctx, msg.trial), true
	case verifiedMsg:
		if msg.trial != f.trial {
			return nil, true
		}
		f.change, f.err = msg.change, msg.err
		if f.state == flowVerifying {
			f.state, f.resultAt = flowResult, f.s.now
		}
		return nil, true
	case endedMsg:
		f.change, f.err = msg.change, msg.err
		f.last = msg.change.Sentence(time.Local)
		if msg.err != nil {
			f.last += " — " + safetext.Line(msg.err.Error())
		}
		f.state, f.trial = flowIdle, nil
		return nil, true
	case tickMsg:
		if f.state == flowResult && f.s.now.Sub(f.resultAt) >= decisionTimeout {
			f.state = flowEnding
			return endChange(context.WithoutCancel(f.s.ctx), f.trial, false), true
		}
		return nil, false
	case tea.PasteMsg:
		if f.state == flowTyping {
			f.input = append(f.input, []rune(safetext.Line(msg.Content))...)
			return nil, true
		}
	case tea.KeyPressMsg:
		return f.key(msg)
	}
	return nil, false
}

func (f *applyFlow) key(msg tea.KeyPressMsg) (tea.Cmd, bool) {
	k := f.s.keys.Apply
	switch f.state {
	case flowTyping:
		switch {
		case key.Matches(msg, k.Cancel):
			f.state = flowIdle
		case key.Matches(msg, k.Confirm):
			return f.confirm(), true
		case msg.String() == "backspace":
			if len(f.input) > 0 {
				f.input = f.input[:len(f.input)-1]
			}
		default:
			if t := msg.Text; t != "" && len(f.input) < 64 {
				f.input = append(f.input, []rune(t)...)
			}
		}
		return nil, true
	case flowConfirm:
		switch {
		case key.Matches(msg, k.Cancel):
			f.state = flowIdle
		case key.Matches(msg, k.Next) && len(f.findings) > 1:
			f.fi = (f.fi + 1) % len(f.findings)
			f.err = nil
			return f.confirm(), true
		case key.Matches(msg, k.Confirm):
			if f.acc == nil || f.acc.Tuner == nil || f.propErr != nil {
				return nil, true
			}
			f.state, f.err = flowApplying, nil
			return applyChange(f.s.ctx, f.s.sess, *f.acc, f.prop, capture.BoundsOf(f.window, f.acc.Settings), f.opts), true
		}
		return nil, true
	case flowVerifying, flowResult:
		switch {
		case key.Matches(msg, k.Keep) && f.state == flowResult:
			f.state = flowEnding
			return endChange(f.s.ctx, f.trial, true), true
		case key.Matches(msg, k.Revert):
			f.state = flowEnding
			return endChange(f.s.ctx, f.trial, false), true
		}
		return nil, true
	case flowApplying, flowEnding:
		return nil, true // wait for the answer
	}
	return nil, false
}

// view renders the flow in w×h.
func (f *applyFlow) view(w, h int) string {
	t := f.s.theme
	var lines []string
	add := func(s string) { lines = append(lines, s) }
	wrap := func(prefix, s string) {
		ww := max(20, w-ansi.StringWidthWc(prefix))
		for _, l := range wrapText(s, ww) {
			add(prefix + l)
			prefix = strings.Repeat(" ", ansi.StringWidthWc(prefix))
		}
	}
	keyHint := func(pairs ...string) string {
		var parts []string
		for i := 0; i+1 < len(pairs); i += 2 {
			parts = append(parts, t.Key.S(pairs[i])+" "+t.Muted.S(pairs[i+1]))
		}
		return strings.Join(parts, t.Faint.S(" · "))
	}
	switch f.state {
	case flowTyping:
		add(t.Title.S("Try a setting live"))
		add("")
		add(t.Muted.S("setting ") + safetext.Line(string(f.input)) + "█")
		add(t.Muted.S("GOGC=200, GOGC=off, GOMEMLIMIT=900MiB, GOMAXPROCS=2 or GOMAXPROCS=default"))
		if f.propErr != nil {
			wrap("", t.Crit.S(safetext.Line(f.propErr.Error())))
		}
		add("")
		add(keyHint("enter", "show the prediction", "esc", "cancel"))
	case flowConfirm, flowApplying:
		from := "typed"
		if f.prop.FindingID != "" {
			from = "finding " + f.prop.FindingID
		}
		add(t.Title.S("Apply "+f.prop.Action()+" live?") + t.Muted.S("  ("+from+")"))
		if len(f.findings) > 1 {
			add(t.Muted.S(fmt.Sprintf("finding %d of %d that gotune can apply", f.fi+1, len(f.findings))))
		}
		add("")
		switch {
		case f.propErr != nil:
			wrap("", t.Crit.S(safetext.Line(f.propErr.Error())))
		case f.acc == nil:
			add(t.Muted.S("looking for a way to change the target…"))
		case f.acc.Tuner == nil:
			wrap("", t.Crit.S("read-only: ")+safetext.Line(f.acc.ReadOnly))
		default:
			lease := fmt.Sprintf("held under a %s lease that gotune renews while it watches; if gotune dies or loses the connection, the agent reverts it on its own", shortDuration(f.opts.HoldLease))
			if _, gops := f.acc.Tuner.(collectors.GopsTuner); gops {
				lease = collectors.GopsLimitations + "; gotune reverts it when it quits"
			}
			wrap(t.Muted.S("via      "), f.acc.Tuner.Via()+" · "+lease)
		}
		if f.prop.PredictedText != "" {
			wrap(t.Muted.S("effect   "), safetext.Line(f.prop.PredictedText))
		}
		lines = append(lines, f.checkTable(false)...)
		for _, n := range f.prop.Notes {
			wrap(t.Muted.S("note     "), safetext.Line(n))
		}
		for _, x := range f.prop.Warnings {
			wrap(t.Warn.S("warning  "), safetext.Line(x))
		}
		if f.prop.Setting == "GOMAXPROCS" {
			wrap(t.Warn.S("warning  "), "changing GOMAXPROCS stops the world briefly; a fixed value turns off Go's automatic updates")
		}
		if f.err != nil {
			wrap("", t.Crit.S(safetext.Line(f.err.Error())))
		}
		add("")
		wrap(t.Muted.S("then     "), fmt.Sprintf("%s to settle, a %s verification window, predicted against measured; you keep it (k) or it is reverted (r, quitting, or after %s)",
			shortDuration(f.opts.Settle), shortDuration(f.opts.Verify), shortDuration(decisionTimeout)))
		add("")
		if f.state == flowApplying {
			add(t.Warn.S("applying…"))
		} else if f.acc != nil && f.acc.Tuner != nil && f.propErr == nil {
			hint := []string{"enter", "apply", "esc", "cancel"}
			if len(f.findings) > 1 {
				hint = append(hint, "n", "next finding")
			}
			add(keyHint(hint...))
		} else {
			add(keyHint("esc", "close"))
		}
	case flowVerifying, flowEnding, flowResult:
		c := f.change
		head := fmt.Sprintf("%s applied at %s via %s (was %s)", c.Action(), c.AppliedAt.Local().Format("15:04:05"), c.Via, c.Previous)
		add(t.Title.S(safetext.Line(head)))
		if f.state == flowVerifying || f.state == flowEnding && c.Verdict == "" {
			from, to := f.trial.VerifySpan()
			left := to.Sub(f.s.now)
			phase := "verifying"
			if f.s.now.Before(from) {
				phase = "settling"
			}
			bar := progressBar(1-left.Seconds()/to.Sub(c.AppliedAt).Seconds(), 20)
			add(t.Warn.S(fmt.Sprintf("%s: %s left", phase, shortDuration(max(0, left)))) + " " + t.Accent.S(bar) +
				t.Muted.S(fmt.Sprintf("  window %s–%s", from.Local().Format("15:04:05"), to.Local().Format("15:04:05"))))
		} else {
			verdict := c.Verdict
			switch verdict {
			case snapshot.VerdictHeld:
				verdict = t.OK.S(verdict)
			case snapshot.VerdictMissed:
				verdict = t.Crit.S(verdict)
			default:
				verdict = t.Warn.S(verdict)
			}
			wrap(t.Bold.S("verdict ")+verdict+" ", safetext.Line(c.Reason))
		}
		lines = append(lines, f.checkTable(true)...)
		for _, k := range c.Checks {
			if k.Measured == nil && k.Note != "" && c.Verdict != "" {
				wrap(t.Muted.S("         "), safetext.Line(k.Name+" not measured: "+k.Note))
			}
		}
		for _, n := range c.Notes {
			wrap(t.Muted.S("note     "), safetext.Line(n))
		}
		if f.err != nil {
			wrap("", t.Crit.S(safetext.Line(f.err.Error())))
		}
		add("")
		switch f.state {
		case flowEnding:
			add(t.Warn.S("ending the change…"))
		case flowVerifying:
			add(keyHint("r", "revert now"))
		case flowResult:
			left := decisionTimeout - f.s.now.Sub(f.resultAt)
			add(keyHint("k", "keep it", "r", "revert") + t.Muted.S(fmt.Sprintf(" · reverted in %s unless kept, and when gotune quits", shortDuration(max(0, left)))))
			wrap(t.Muted.S("deploy   "), safetext.Line(c.Deploy)+t.Muted.S("  (a live change ends with the process)"))
		}
	}
	return strings.Join(fitLines(strings.Join(lines, "\n"), w, min(h, len(lines))), "\n")
}

// checkTable shows the checks: before and predicted, and measured with
// its result once verified.
func (f *applyFlow) checkTable(measured bool) []string {
	t := f.s.theme
	checks := f.prop.Checks
	if measured {
		checks = f.change.Checks
	}
	if len(checks) == 0 {
		return nil
	}
	var out []string
	if measured && f.change.Verdict != "" {
		out = append(out, t.Muted.S(fmt.Sprintf("  %-18s %10s %17s %10s  %s", "FIGURE", "BEFORE", "PREDICTED", "MEASURED", "RESULT")))
	} else {
		out = append(out, t.Muted.S(fmt.Sprintf("  %-18s %10s %17s", "FIGURE", "NOW", "PREDICTED")))
	}
	for _, k := range checks {
		row := fmt.Sprintf("  %-18s %10s %17s", k.Name, k.BeforeText(), k.PredictedText())
		if measured && f.change.Verdict != "" {
			res := k.Result
			if res == "" {
				res = "shown"
			}
			row += fmt.Sprintf(" %10s  %s", k.MeasuredText(), res)
			switch k.Result {
			case snapshot.ResultInRange:
				row = t.OK.S(row)
			case snapshot.ResultOutOfRange:
				row = t.Crit.S(row)
			}
		}
		out = append(out, row)
	}
	return out
}

// progressBar draws frac of n cells.
func progressBar(frac float64, n int) string {
	frac = min(max(frac, 0), 1)
	full := int(frac * float64(n))
	return strings.Repeat("█", full) + strings.Repeat("░", n-full)
}
