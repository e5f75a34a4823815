package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gotune/gotune/advisor"
	"github.com/gotune/gotune/capture"
	"github.com/gotune/gotune/collectors"
	"github.com/gotune/gotune/collectors/discover"
	"github.com/gotune/gotune/measurement"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/safetext"
	"github.com/gotune/gotune/snapshot"
)

// adviseFlags are gotune advise's options.
type adviseFlags struct {
	window     time.Duration
	interval   time.Duration
	json       bool
	failOn     string
	cpuProfile time.Duration
	noProfiles bool
	target     float64
}

// maxAdviseCPUProfile caps the CPU profile advise takes: long enough for a
// few hundred samples at 100 Hz, short enough to keep the overhead brief.
const maxAdviseCPUProfile = 10 * time.Second

func adviseCmd(e *env) *cobra.Command {
	var f adviseFlags
	var ov discover.Overrides
	cmd := &cobra.Command{
		Use:   "advise TARGET",
		Short: "Watch a Go process for a while and say what to tune, with evidence",
		Long: `Watch a Go process for --window, then print explained advice: each finding
has its evidence (numbers, the window and where they came from), the exact
action (an environment variable, a code line, a command), the predicted
effect with a range, a confidence and the source of the rule. A GC what-if
table predicts heap goal, GC frequency and GC CPU under other GOGC and
GOMEMLIMIT values from the process's own measurements.

TARGET is a process ID, a base URL such as http://127.0.0.1:6060, or a
.gotune snapshot (advised again over its recorded window). For a
PID gotune also reads cgroup limits and throttling, NUMA placement and the
build info. When the target serves net/http/pprof, advise fetches the heap,
allocs, goroutine (at the start and the end) and mutex profiles and one CPU
profile of min(--window, 10s), one at a time.

With --fail-on warn or crit, advise exits with status 3 when a finding at or
above that level exists (for CI).`,
		Example: `  gotune advise 4242
  gotune advise http://127.0.0.1:6060 --window 1m
  gotune advise http://127.0.0.1:6060 --json --fail-on warn
  gotune advise before.gotune`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var failOn advisor.Severity
			if f.failOn != "" {
				s, err := advisor.ParseSeverity(f.failOn)
				if err != nil || s == advisor.Info {
					return fmt.Errorf("--fail-on %q: want warn or crit", f.failOn)
				}
				failOn = s
			}
			if f.window < 2*f.interval || f.window <= 0 {
				return fmt.Errorf("--window %s is too short: at least two --interval (%s)", f.window, f.interval)
			}
			if f.target <= 0 || f.target >= 1 {
				return fmt.Errorf("--gc-cpu-target %v: want a fraction between 0 and 1, such as 0.05", f.target)
			}
			if f.interval < 100*time.Millisecond {
				return fmt.Errorf("--interval %s is too short: at least 100ms", f.interval)
			}
			var out *adviceOutput
			if isSnapshotFile(args[0]) {
				// A recorded window: advise on it again with today's rules.
				s, err := snapshot.Read(args[0])
				if err != nil {
					return err
				}
				w, err := capture.Replay(s).Window(e.ctx, capture.WindowOptions{})
				if err != nil {
					return err
				}
				out = adviceOf(w, advisor.Config{GCCPUTarget: f.target})
			} else {
				t, err := collectors.Open(e.ctx, args[0], ov)
				if err != nil {
					return err
				}
				if out, err = runAdvise(e.ctx, t, f); err != nil {
					return err
				}
			}
			if f.json {
				enc := json.NewEncoder(e.jsonOut())
				enc.SetIndent("", "  ")
				if err := enc.Encode(out); err != nil {
					return err
				}
			} else if err := writeAdvice(safetext.NewWriter(e.stdout), out); err != nil {
				return err
			}
			if failOn > 0 {
				if n := len(out.Report.AtLeast(failOn)); n > 0 {
					return &ExitError{Code: 3, Err: fmt.Errorf("%d finding(s) at or above %s", n, failOn)}
				}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.DurationVar(&f.window, "window", 30*time.Second, "how long to watch before advising")
	fl.DurationVar(&f.interval, "interval", time.Second, "sampling interval")
	fl.BoolVar(&f.json, "json", false, "print the report as JSON")
	fl.StringVar(&f.failOn, "fail-on", "", "exit with status 3 when a finding at or above this severity exists: warn or crit")
	fl.DurationVar(&f.cpuProfile, "cpu-profile", maxAdviseCPUProfile, "length of the CPU profile taken during the window (at most the window; 0: none)")
	fl.Float64Var(&f.target, "gc-cpu-target", advisor.DefaultGCCPUTarget, "GC CPU share (of GOMAXPROCS × wall) the GC what-if recommendation aims for")
	fl.BoolVar(&f.noProfiles, "no-profiles", false, "fetch no profiles at all, only metrics and OS facts")
	fl.StringVar(&ov.URL, "url", "", "PID target: read metrics and profiles from this base URL instead of detecting it")
	fl.IntVar(&ov.GopsPort, "gops-port", 0, "PID target: use the gops agent on this 127.0.0.1 port instead of its port file")
	return cmd
}

// isSnapshotFile reports whether arg names a .gotune file rather than a
// PID or a URL.
func isSnapshotFile(arg string) bool {
	if !strings.HasSuffix(arg, ".gotune") || strings.Contains(arg, "://") {
		return false
	}
	fi, err := os.Stat(arg)
	return err == nil && !fi.IsDir()
}

// adviceOutput is what advise prints (as JSON with --json).
type adviceOutput struct {
	Target string         `json:"target"`
	Via    string         `json:"metrics_via"`
	Report advisor.Report `json:"report"`
	// Profiles lists the profiles the advice used; Errors what could not be
	// fetched and why.
	Profiles []profile.Kind `json:"profiles,omitempty"`
	Errors   []string       `json:"errors,omitempty"`
}

// runAdvise watches t for the window through the capture pipeline and runs
// the advisor over it.
func runAdvise(ctx context.Context, t collectors.Target, f adviseFlags) (*adviceOutput, error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sess := capture.Start(wctx, t, capture.Options{Interval: f.interval, Baselines: !f.noProfiles, StartBudget: startBudget(f.window)})
	w, err := sess.Window(wctx, capture.WindowOptions{Length: f.window, CPU: min(f.cpuProfile, f.window/2, maxAdviseCPUProfile), NoProfiles: f.noProfiles})
	if err != nil {
		return nil, err
	}
	return adviceOf(w, advisor.Config{GCCPUTarget: f.target}), nil
}

// adviceOf is the advise output for a window.
func adviceOf(w *capture.Window, cfg advisor.Config) *adviceOutput {
	out := &adviceOutput{Target: w.Target, Report: w.Advise(cfg), Profiles: w.Kinds(), Errors: w.Notes}
	if p := w.Session.Latest(); p != nil {
		out.Via = p.Source
	}
	return out
}

// writeAdvice prints the report for people.
func writeAdvice(w io.Writer, out *adviceOutput) error {
	r := out.Report
	fmt.Fprintf(w, "# gotune advise %s · %s window · %d samples · metrics via %s\n",
		out.Target, r.Window.Duration().Round(time.Second), r.Samples, out.Via)
	if len(out.Profiles) > 0 {
		names := make([]string, len(out.Profiles))
		for i, k := range out.Profiles {
			names[i] = string(k)
		}
		fmt.Fprintf(w, "# profiles: %s\n", strings.Join(names, ", "))
	}
	fmt.Fprintln(w)
	if len(r.Findings) == 0 {
		fmt.Fprintln(w, "No findings: nothing to tune in this window.")
	}
	writeFindings(w, r.Findings)
	if wi := r.WhatIf; wi != nil {
		writeWhatIf(w, wi)
	}
	for _, s := range r.Skipped {
		fmt.Fprintf(w, "# not checked: %s\n", s)
	}
	for _, s := range out.Errors {
		fmt.Fprintf(w, "# %s\n", s)
	}
	return nil
}

// writeFindings prints findings for people: severity, ID and title, the
// evidence with where each figure came from, the action and its
// alternatives, the predicted effect, the confidence and the source.
// gotune advise and gotune trace print their findings through it.
func writeFindings(w io.Writer, fs []advisor.Finding) {
	for _, f := range fs {
		fmt.Fprintf(w, "%-5s %s — %s\n", strings.ToUpper(f.Severity.String()), f.ID, f.Title)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for i, ev := range f.Evidence {
			label := ""
			if i == 0 {
				label = "evidence"
			}
			fmt.Fprintf(tw, "      %s\t%s\t%s\t(%s%s)\n", label, ev.Name, ev.Text, ev.Source, windowText(ev.Window))
		}
		tw.Flush()
		fmt.Fprintf(w, "      action      [%s] %s\n", f.Action.Kind, f.Action.Text)
		if f.Action.Note != "" {
			fmt.Fprintf(w, "                  %s\n", f.Action.Note)
		}
		for _, a := range f.Alternatives {
			fmt.Fprintf(w, "      or          [%s] %s\n", a.Kind, a.Text)
		}
		if f.Predicted != nil {
			fmt.Fprintf(w, "      predicted   %s\n", f.Predicted.Text)
		}
		fmt.Fprintf(w, "      confidence  %s · source: %s", f.Confidence, f.Source.Text)
		if f.Source.URL != "" {
			fmt.Fprintf(w, " <%s>", f.Source.URL)
		}
		fmt.Fprintln(w)
		fmt.Fprintln(w)
	}
}

func windowText(s advisor.Span) string {
	if s.IsZero() {
		return ""
	}
	// Trace evidence covers less than a second: rounded to seconds it
	// would read "0s".
	if d := s.Duration(); d < time.Second {
		return ", " + d.Round(time.Millisecond).String()
	}
	return ", " + s.Duration().Round(time.Second).String()
}

// writeWhatIf prints the GC model's table, today's measurement under
// today's prediction.
func writeWhatIf(w io.Writer, wi *advisor.WhatIf) {
	o := wi.Observed
	fmt.Fprintf(w, "GC what-if (Go GC guide model fitted on this window: live heap %s, roots %s, %s/s allocated, %s GC CPU per cycle; GC CPU target %s)\n",
		measurement.Bytes(o.LiveHeap), measurement.Bytes(o.Roots), measurement.Bytes(o.AllocRate), measurement.Seconds(o.CPUPerCycle), measurement.Percent(wi.Target))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  SETTING\tHEAP GOAL\tPEAK HEAP\tPEAK MEMORY\tGC/s\tGC CPU\t")
	rng := func(e advisor.Estimate, f func(float64) string) string {
		return f(e.Low) + "–" + f(e.High)
	}
	rate := func(v float64) string { return fmt.Sprintf("%.2f", v) }
	for i, r := range wi.Rows {
		mark := " "
		if i == wi.Recommended {
			mark = "→"
		}
		name := r.Setting
		if r.Current {
			name += " (today)"
		}
		if r.Thrashing {
			name += " (thrashing)"
		}
		fmt.Fprintf(tw, "%s %s\t%s\t%s\t%s\t%s\t%s\t\n", mark, name, rng(r.HeapGoal, measurement.Bytes), rng(r.PeakHeap, measurement.Bytes),
			rng(r.PeakMemory, measurement.Bytes), rng(r.CycleRate, rate), rng(r.GCCPU, measurement.Percent))
		if r.Current {
			fmt.Fprintf(tw, "    measured\t%s\t%s\t\t%s\t%s\t\n", measurement.Bytes(o.HeapGoal.Value), measurement.Bytes(o.PeakHeap),
				rate(o.CycleRate.Value), measurement.Percent(o.GCCPU.Value))
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "  %s\n\n", wi.Reason)
}
