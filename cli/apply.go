package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gotune/gotune/advisor"
	"github.com/gotune/gotune/capture"
	"github.com/gotune/gotune/collectors"
	"github.com/gotune/gotune/collectors/discover"
	"github.com/gotune/gotune/safetext"
	"github.com/gotune/gotune/snapshot"
)

// Exit codes of gotune apply, for scripts (docs/apply.md).
const (
	applyHeld         = 0 // the prediction held (the change was kept, reverted or leased as asked)
	applyMissed       = 4 // a measured figure fell outside its predicted range
	applyInconclusive = 5 // nothing predicted could be measured
	applyRefused      = 6 // nothing was changed: the target is read-only, or the setting would harm it
	applyNotReverted  = 7 // the revert failed: the value stays until the agent's lease ends (gops: until changed)
)

// applyFlags are gotune apply's options.
type applyFlags struct {
	verify    time.Duration
	settle    time.Duration
	baseline  time.Duration
	interval  time.Duration
	keep      bool
	lease     time.Duration
	holdLease time.Duration
	finding   string
	tokenFile string
	json      bool
	target    float64
}

func applyCmd(e *env) *cobra.Command {
	var f applyFlags
	var ov discover.Overrides
	cmd := &cobra.Command{
		Use:   "apply TARGET [SETTING]",
		Short: "Change GOGC, GOMEMLIMIT or GOMAXPROCS on a running Go process and check the prediction",
		Long: `Apply a setting to a running Go process, measure what it does, and compare
that with what the advisor predicted: watch the target for --baseline (the
window the prediction is fitted on), check the bounds, apply the setting,
hold it under a lease while a verification window of --verify runs (after
--settle), print predicted versus measured side by side with a verdict
(held, missed or inconclusive), then revert it — or, with --keep, keep it
unless the prediction missed, or with --lease D leave it for D after which
the agent reverts it on its own.

SETTING is GOGC=200, GOGC=off, GOMEMLIMIT=900MiB, GOMAXPROCS=2 or
GOMAXPROCS=default; with --finding ID, the action of that finding of the
baseline window is applied instead.

Writes go through the gotune agent when the program enabled them
(agent.EnableWrites: a token file only its user can read, TLS off
loopback, leases, a journal), else GOGC only through a gops agent (no
authentication, no lease: gotune reverts itself, and if it is killed the
value stays). A target with neither is read-only, and gotune says why. The
agent reverts a change on its own when renewals stop (gotune killed, the
connection lost) within --hold-lease.

Harmful settings are refused before anything is written: GOGC below 10,
GOGC=off without a memory limit, a GOGC heap goal above the container's
memory limit, a memory limit below the live heap plus headroom or above the
container's limit. Changing GOMAXPROCS stops the world briefly and a fixed
value turns off Go's automatic updates: gotune says so.

The last line is what to put in the deployment: a live change ends with
the process.

Exit status: 0 the prediction held; 4 it missed; 5 inconclusive; 6 nothing
was changed (read-only target or refused setting); 7 the revert failed; 1
any other error; 130 interrupted (the change is reverted first).`,
		Example: `  gotune apply 4242 GOGC=200
  gotune apply http://127.0.0.1:6060 GOMEMLIMIT=900MiB --verify 60s --keep
  gotune apply 4242 --finding gc-cpu-high --lease 10m --json
  gotune apply 4242 GOMAXPROCS=1 --verify 1m`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			setting := ""
			if len(args) == 2 {
				setting = args[1]
				if _, _, _, err := capture.ParseSetting(setting); err != nil {
					return err
				}
			}
			switch {
			case setting == "" && f.finding == "":
				return errors.New("name a SETTING (GOGC=200, GOMEMLIMIT=900MiB, GOMAXPROCS=2) or a --finding")
			case setting != "" && f.finding != "":
				return errors.New("a SETTING or a --finding, not both")
			case f.keep && cmd.Flags().Changed("lease"):
				return errors.New("--keep and --lease exclude each other")
			case f.lease < 0, f.holdLease < 0, f.settle < 0:
				return errors.New("--lease, --hold-lease and --settle must not be negative")
			case f.verify < 2*time.Second:
				return fmt.Errorf("--verify %s is too short: at least 2s", f.verify)
			case f.baseline < 2*f.interval:
				return fmt.Errorf("--baseline %s is too short: at least two --interval (%s)", f.baseline, f.interval)
			case f.interval < 100*time.Millisecond:
				return fmt.Errorf("--interval %s is too short: at least 100ms", f.interval)
			}
			t, err := collectors.Open(e.ctx, args[0], ov)
			if err != nil {
				return err
			}
			return runApply(e, t, setting, f)
		},
	}
	fl := cmd.Flags()
	fl.DurationVar(&f.verify, "verify", capture.DefaultVerify, "length of the verification window")
	fl.DurationVar(&f.settle, "settle", capture.DefaultSettle, "time between the write and the verification window")
	fl.DurationVar(&f.baseline, "baseline", 20*time.Second, "how long to watch before the change (the prediction is fitted on it)")
	fl.DurationVar(&f.interval, "interval", time.Second, "sampling interval")
	fl.BoolVar(&f.keep, "keep", false, "keep the change at the end (unless the prediction missed): it stays after gotune exits")
	fl.DurationVar(&f.lease, "lease", 0, "leave the change at the end under this lease: the agent reverts it when the lease ends")
	fl.DurationVar(&f.holdLease, "hold-lease", capture.DefaultHoldLease, "lease held (and renewed) while verifying: the agent reverts this long after gotune dies")
	fl.StringVar(&f.finding, "finding", "", "apply the action of this finding of the baseline window (e.g. gc-cpu-high)")
	fl.StringVar(&f.tokenFile, "token-file", "", "the agent's token file, if the program set WriteOptions.TokenFile")
	fl.BoolVar(&f.json, "json", false, "print the result as JSON")
	fl.Float64Var(&f.target, "gc-cpu-target", advisor.DefaultGCCPUTarget, "GC CPU share the advisor's recommendation aims for (with --finding)")
	fl.StringVar(&ov.URL, "url", "", "PID target: read metrics from, and write through, this base URL instead of detecting it")
	fl.IntVar(&ov.GopsPort, "gops-port", 0, "PID target: use the gops agent on this 127.0.0.1 port instead of its port file")
	return cmd
}

// applyOutput is what apply prints with --json.
type applyOutput struct {
	Target string `json:"target"`
	Via    string `json:"via,omitempty"`
	// ReadOnly says why nothing could be written (exit 6), or why writes
	// fall back to gops.
	ReadOnly string `json:"read_only,omitempty"`
	// Refused says why the setting was not written (exit 6).
	Refused string           `json:"refused,omitempty"`
	Change  *snapshot.Change `json:"change,omitempty"`
	// Deploy is the line to put in the deployment.
	Deploy   string `json:"deploy,omitempty"`
	ExitCode int    `json:"exit_code"`
	Error    string `json:"error,omitempty"`
}

func runApply(e *env, t collectors.Target, setting string, f applyFlags) error {
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	out := &applyOutput{Target: t.Name()}
	var w io.Writer = safetext.NewWriter(e.stderr)
	if !f.json {
		w = safetext.NewWriter(e.stdout)
	}
	finish := func(code int, err error) error {
		out.ExitCode = code
		if err != nil {
			out.Error = err.Error()
		}
		if f.json {
			enc := json.NewEncoder(e.jsonOut())
			enc.SetIndent("", "  ")
			if jerr := enc.Encode(out); jerr != nil {
				return jerr
			}
		}
		if code == 0 {
			return err
		}
		if err == nil {
			err = fmt.Errorf("gotune apply: exit %d", code)
		}
		return &ExitError{Code: code, Err: err}
	}

	sess := capture.Start(ctx, t, capture.Options{Interval: f.interval})
	acc := collectors.FindWriteAccess(ctx, capture.WriteTargetOf(t, f.tokenFile))
	out.ReadOnly = acc.ReadOnly
	if acc.Tuner == nil {
		fmt.Fprintf(w, "%s is read-only: %s\n", t.Name(), acc.ReadOnly)
		return finish(applyRefused, fmt.Errorf("%w: %s", capture.ErrReadOnly, acc.ReadOnly))
	}
	out.Via = acc.Tuner.Via()
	if _, gops := acc.Tuner.(collectors.GopsTuner); gops {
		if f.lease > 0 {
			return finish(1, errors.New("--lease: writes go through a gops agent, which has no lease (the value would stay); use --keep or neither"))
		}
		fmt.Fprintf(w, "writing through the gops agent (%s); the gotune agent is not available: %s\n", collectors.GopsLimitations, acc.ReadOnly)
	}

	fmt.Fprintf(w, "watching %s for %s to fit the prediction…\n", t.Name(), f.baseline)
	before, err := sess.Window(ctx, capture.WindowOptions{Length: f.baseline, NoProfiles: true})
	if err != nil {
		return finish(1, err)
	}
	report := before.Advise(advisor.Config{GCCPUTarget: f.target})
	var p capture.Proposal
	if f.finding != "" {
		fd, ok := report.Find(f.finding)
		if !ok {
			return finish(applyRefused, fmt.Errorf("no finding %s over the %s baseline window (findings: %s)", f.finding, f.baseline, findingIDs(report)))
		}
		p, err = capture.ProposeFinding(fd, before, &report)
	} else {
		p, err = capture.Propose(setting, before, &report)
	}
	if err != nil {
		return finish(applyRefused, err)
	}
	writeProposal(w, p, acc, f)

	settle := f.settle
	if settle == 0 {
		settle = -1 // --settle 0: none (ApplyOptions' zero is the default)
	}
	tr, err := sess.Apply(ctx, acc, p, capture.BoundsOf(before, acc.Settings),
		capture.ApplyOptions{HoldLease: f.holdLease, Settle: settle, Verify: f.verify, Advisor: advisor.Config{GCCPUTarget: f.target}})
	var refused *capture.RefusedError
	switch {
	case errors.As(err, &refused):
		out.Refused = refused.Reason
		fmt.Fprintln(w, refused.Error())
		return finish(applyRefused, err)
	case errors.Is(err, capture.ErrReadOnly):
		out.Refused = err.Error()
		return finish(applyRefused, err)
	case err != nil:
		if code := collectors.AgentErrorCode(err); code != "" {
			out.Refused = err.Error()
			return finish(applyRefused, err)
		}
		return finish(1, err)
	}
	from, to := tr.VerifySpan()
	fmt.Fprintf(w, "applied %s at %s (was %s); verifying from %s to %s…\n", p.Action(), tr.Change().AppliedAt.Local().Format("15:04:05"),
		tr.Change().Previous, from.Local().Format("15:04:05"), to.Local().Format("15:04:05"))

	// The revert must run even when the user interrupts: on a context of
	// its own.
	endCtx := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(e.ctx), 2*collectors.DefaultAgentWriteTimeout)
	}
	c, verr := tr.Verify(ctx)
	ectx, ecancel := endCtx()
	defer ecancel()
	var eerr error
	switch {
	case verr != nil:
		c, eerr = tr.Revert(ectx)
	case f.keep && c.Verdict != snapshot.VerdictMissed:
		c, eerr = tr.Keep(ectx)
	case f.lease > 0:
		c, eerr = tr.Leave(ectx, f.lease)
	default:
		c, eerr = tr.Revert(ectx)
	}
	out.Change, out.Deploy = &c, c.Deploy
	writeChange(w, c)
	if verr != nil {
		if eerr != nil {
			return finish(applyNotReverted, errors.Join(verr, eerr))
		}
		return finish(130, verr)
	}
	if eerr != nil {
		return finish(applyNotReverted, eerr)
	}
	if f.keep && c.Verdict == snapshot.VerdictMissed {
		fmt.Fprintln(w, "not kept: the prediction missed, so the change was reverted")
	}
	switch c.Verdict {
	case snapshot.VerdictMissed:
		return finish(applyMissed, nil)
	case snapshot.VerdictInconclusive:
		return finish(applyInconclusive, nil)
	}
	return finish(applyHeld, nil)
}

func findingIDs(r advisor.Report) string {
	if len(r.Findings) == 0 {
		return "none"
	}
	s := ""
	for i, f := range r.Findings {
		if i > 0 {
			s += ", "
		}
		s += f.ID
	}
	return s
}

// writeProposal prints what will be applied and its prediction.
func writeProposal(w io.Writer, p capture.Proposal, acc collectors.WriteAccess, f applyFlags) {
	from := "typed"
	if p.FindingID != "" {
		from = "finding " + p.FindingID
	}
	lease := fmt.Sprintf("held under a %s lease, renewed while verifying", f.holdLease)
	if _, gops := acc.Tuner.(collectors.GopsTuner); gops {
		lease = "no lease (gops)"
	}
	fmt.Fprintf(w, "%s (%s) via %s, %s\n", p.Action(), from, acc.Tuner.Via(), lease)
	if p.PredictedText != "" {
		fmt.Fprintf(w, "  predicted: %s\n", p.PredictedText)
	}
	for _, c := range p.Checks {
		if c.Predicted != nil {
			fmt.Fprintf(w, "  predicted %s %s (now %s)\n", c.Name, c.PredictedText(), c.BeforeText())
		}
	}
	for _, n := range p.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	for _, x := range p.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", x)
	}
}

// writeChange prints predicted against measured, the verdict, the outcome
// and the line for the deployment.
func writeChange(w io.Writer, c snapshot.Change) {
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FIGURE\tBEFORE\tPREDICTED\tMEASURED\tRESULT")
	for _, k := range c.Checks {
		res := k.Result
		if res == "" {
			res = "shown"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.Name, k.BeforeText(), k.PredictedText(), k.MeasuredText(), res)
	}
	tw.Flush()
	for _, k := range c.Checks {
		if k.Measured == nil && k.Note != "" {
			fmt.Fprintf(w, "  %s not measured: %s\n", k.Name, k.Note)
		}
	}
	for _, x := range c.Warnings {
		fmt.Fprintf(w, "warning: %s\n", x)
	}
	for _, n := range c.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	if c.Verdict != "" {
		fmt.Fprintf(w, "verdict: %s (%s)\n", c.Verdict, c.Reason)
	}
	fmt.Fprintln(w, c.Sentence(time.Local))
	fmt.Fprintf(w, "put in the deployment: %s\n", c.Deploy)
}
