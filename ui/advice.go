package ui

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/gotune/gotune/advisor"
	"github.com/gotune/gotune/capture"
	"github.com/gotune/gotune/measurement"
	"github.com/gotune/gotune/safetext"
	"github.com/gotune/gotune/snapshot"
)

// adviceRefresh is how often the rules run again while the screen shows.
const adviceRefresh = 5 * time.Second

// adviceMaxAge is how old a held profile may be for the Advice screen to
// reuse it instead of fetching again: the rules run every adviceRefresh,
// the profiles they read are fetched at most this often.
const adviceMaxAge = time.Minute

// adviceMsg is a report from the advisor.
type adviceMsg struct {
	report advisor.Report
	window *capture.Window
	at     time.Time
	err    error
}

// adviceWindow is the window the Advice screen and a save advise on:
// everything since attach, with the profiles the rules read (held ones
// reused while recent).
var adviceWindow = capture.WindowOptions{MaxAge: adviceMaxAge}

// runAdvisor takes the session's window and runs the rules over it, off
// the UI goroutine: the same window and report `gotune advise` and a saved
// snapshot use.
func runAdvisor(ctx context.Context, sess *capture.Session, at time.Time) tea.Cmd {
	return func() tea.Msg {
		w, err := sess.Window(ctx, adviceWindow)
		if err != nil {
			return adviceMsg{at: at, err: err}
		}
		return adviceMsg{report: w.Advise(advisor.DefaultConfig()), window: w, at: at}
	}
}

// adviceScreen shows the advisor's findings and the GC what-if table.
type adviceScreen struct {
	s       *shared
	w, h    int
	report  *advisor.Report
	notes   []string // what the window could not capture
	err     error
	at      time.Time
	running bool
	offset  int
	window  *capture.Window // the report's window (the apply flow's "before")
	flow    *applyFlow      // live changes (apply.go)
}

func newAdviceScreen(s *shared, o capture.ApplyOptions) *adviceScreen {
	o.HoldLease = cmp.Or(o.HoldLease, capture.DefaultHoldLease)
	o.Settle = cmp.Or(o.Settle, capture.DefaultSettle)
	o.Verify = cmp.Or(o.Verify, capture.DefaultVerify)
	return &adviceScreen{s: s, flow: &applyFlow{s: s, opts: o}}
}

func (a *adviceScreen) title() string { return "Advice" }
func (a *adviceScreen) typing() bool  { return a.flow.state == flowTyping }
func (a *adviceScreen) helpKeys() []key.Binding {
	k := a.s.keys
	return []key.Binding{k.Nav.Up, k.Nav.Down, k.Nav.PageUp, k.Nav.PageDown, k.Goroutines.Refresh,
		k.Apply.Open, k.Apply.Next, k.Apply.Keep, k.Apply.Revert}
}
func (a *adviceScreen) setSize(w, h int) { a.w, a.h = w, h }

func (a *adviceScreen) run() tea.Cmd {
	if a.running || a.s.sess == nil || a.s.snap == nil || len(a.s.snap.Points) == 0 {
		return nil
	}
	a.running = true
	return runAdvisor(a.s.ctx, a.s.sess, a.s.now)
}

func (a *adviceScreen) update(msg tea.Msg) tea.Cmd {
	k := a.s.keys
	if _, key := msg.(tea.KeyPressMsg); !key || a.flow.active() {
		if cmd, used := a.flow.update(msg); used {
			return cmd
		}
	}
	switch msg := msg.(type) {
	case activatedMsg:
		return a.run()
	case tickMsg:
		if a.s.active == scrAdvice && a.s.now.Sub(a.at) >= adviceRefresh {
			return a.run()
		}
	case adviceMsg:
		a.running = false
		a.at, a.err = msg.at, msg.err
		if msg.err == nil {
			a.report = &msg.report
			a.notes = msg.window.Notes
			a.window = msg.window
		}
	case tea.MouseWheelMsg:
		if msg.Mouse().Button == tea.MouseWheelUp {
			a.offset -= 3
		} else {
			a.offset += 3
		}
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, k.Nav.Up):
			a.offset--
		case key.Matches(msg, k.Nav.Down):
			a.offset++
		case key.Matches(msg, k.Nav.PageUp):
			a.offset -= a.h / 2
		case key.Matches(msg, k.Nav.PageDown):
			a.offset += a.h / 2
		case key.Matches(msg, k.Goroutines.Refresh):
			return a.run()
		case key.Matches(msg, k.Apply.Open):
			return a.flow.open(a.report, a.window)
		}
	}
	a.offset = max(0, a.offset)
	return nil
}

func (a *adviceScreen) view() string {
	t := a.s.theme
	if a.report == nil {
		if a.err != nil {
			return t.Crit.S(safetext.Line(a.err.Error()))
		}
		return t.Muted.S("fetching the profiles the rules read, then running the advisor over the samples so far…")
	}
	if a.flow.active() {
		return a.flow.view(a.w, a.h)
	}
	r := a.report
	var lines []string
	add := func(s string) { lines = append(lines, s) }
	head := fmt.Sprintf("%d findings", len(r.Findings))
	if len(r.Findings) > 0 {
		head += " · worst " + r.Worst().String()
	}
	add(t.Bold.S(head) + t.Muted.S(fmt.Sprintf(" · %d samples over %s since attach · %s · profiles refreshed at most every %s",
		r.Samples, shortDuration(r.Window.Duration()), a.at.Local().Format("15:04:05"), shortDuration(adviceMaxAge))))
	if len(r.Findings) == 0 {
		add(t.OK.S("no finding: nothing to tune in this window"))
	}
	if a.window != nil && len(a.window.Changes) > 0 || a.flow.last != "" {
		add(t.Bold.S("applied changes") + t.Muted.S(" (a to try another)"))
		seen := false
		for _, c := range a.windowChanges() {
			s := c.Sentence(time.Local)
			seen = seen || s == a.flow.last
			add("  " + safetext.Line(s))
		}
		if !seen && a.flow.last != "" {
			add("  " + safetext.Line(a.flow.last))
		}
	} else if slices.ContainsFunc(r.Findings, capture.Applicable) {
		add(t.Muted.S("a: apply a finding's setting live and verify it"))
	}
	wrap := func(prefix, s string) {
		w := max(20, a.w-ansi.StringWidthWc(prefix))
		for _, l := range wrapText(s, w) {
			add(prefix + l)
			prefix = strings.Repeat(" ", ansi.StringWidthWc(prefix))
		}
	}
	for _, f := range r.Findings {
		add("")
		sev := fmt.Sprintf("%-5s", strings.ToUpper(f.Severity.String()))
		switch f.Severity {
		case advisor.Crit:
			sev = t.Crit.S(sev)
		case advisor.Warn:
			sev = t.Warn.S(sev)
		default:
			sev = t.Accent.S(sev)
		}
		// Findings quote function names and labels from the target.
		wrap(sev+" ", safetext.Line(f.Title+fmt.Sprintf("  [%s · %s · confidence %s]", f.Area, f.ID, f.Confidence)))
		for _, e := range f.Evidence {
			wrap("   "+t.Muted.S("evidence ")+" ", safetext.Line(e.Name+": "+e.Text+" ("+e.Source+")"))
		}
		act := f.Action.Text
		if f.Action.Note != "" {
			act += " — " + f.Action.Note
		}
		wrap("   "+t.Muted.S("action   ")+" ", safetext.Line(act))
		if f.Predicted != nil {
			wrap("   "+t.Muted.S("effect   ")+" ", safetext.Line(f.Predicted.Text))
		}
	}
	if w := r.WhatIf; w != nil {
		add("")
		add(t.Bold.S("GC what-if") + t.Muted.S(fmt.Sprintf(" · live heap %s · allocating %s · target GC CPU %s",
			measurement.Bytes(w.Observed.LiveHeap), measurement.Rate(measurement.Bytes, w.Observed.AllocRate), measurement.Percent(w.Target))))
		add(t.Muted.S(fmt.Sprintf("  %-28s %12s %12s %9s %14s", "SETTING", "HEAP GOAL", "PEAK MEMORY", "GC/s", "GC CPU")))
		for i, row := range w.Rows {
			note := ""
			switch {
			case row.Current:
				note = " ← now"
			case i == w.Recommended:
				note = " ← recommended"
			}
			if row.Thrashing {
				note += " (thrashes)"
			}
			l := fmt.Sprintf("  %-28s %12s %12s %9s %14s%s", ansi.TruncateWc(row.Setting, 28, "…"),
				measurement.Bytes(row.HeapGoal.Value), measurement.Bytes(row.PeakMemory.Value),
				fmt.Sprintf("%.2f", row.CycleRate.Value),
				measurement.Percent(row.GCCPU.Low)+"–"+measurement.Percent(row.GCCPU.High), note)
			if i == w.Recommended {
				l = t.OK.S(l)
			}
			add(l)
		}
		if w.Reason != "" {
			wrap("  ", t.Muted.S(w.Reason))
		}
	}
	if len(r.Skipped) > 0 {
		add("")
		add(t.Muted.S("not checked:"))
		for _, s := range r.Skipped {
			wrap("  ", t.Muted.S(safetext.Line(s)))
		}
	}
	if len(a.notes) > 0 {
		add("")
		add(t.Muted.S("not captured:"))
		for _, n := range a.notes {
			wrap("  ", t.Muted.S(safetext.Line(n)))
		}
	}
	a.offset = min(a.offset, max(0, len(lines)-a.h))
	return strings.Join(lines[min(a.offset, len(lines)):], "\n")
}

// wrapText breaks s into lines of at most w cells at spaces.
func wrapText(s string, w int) []string {
	var out []string
	for ansi.StringWidthWc(s) > w {
		cut := ansi.TruncateWc(s, w, "")
		if i := strings.LastIndexByte(cut, ' '); i > w/2 {
			cut = cut[:i]
		}
		out = append(out, cut)
		s = strings.TrimLeft(s[len(cut):], " ")
	}
	return append(out, s)
}

// windowChanges are the live changes of the report's window.
func (a *adviceScreen) windowChanges() []snapshot.Change {
	if a.window == nil {
		return nil
	}
	return a.window.Changes
}
