package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/gotune/gotune/advisor"
	"github.com/gotune/gotune/capture"
	"github.com/gotune/gotune/collectors"
	"github.com/gotune/gotune/collectors/discover"
	"github.com/gotune/gotune/internal/atomicfile"
	"github.com/gotune/gotune/measurement"
	"github.com/gotune/gotune/safetext"
	"github.com/gotune/gotune/session"
	"github.com/gotune/gotune/snapshot"
	"github.com/gotune/gotune/trace"
)

// traceFlags are gotune trace's options.
type traceFlags struct {
	seconds int
	flight  bool
	out     string
	json    bool
	ov      discover.Overrides
}

func traceCmd(e *env) *cobra.Command {
	var f traceFlags
	cmd := &cobra.Command{
		Use:   "trace TARGET|FILE [FILE...]",
		Short: "Capture or read Go execution traces: pauses, MMU, scheduler latency, blocking, GC cycles",
		Long: `Read a Go execution trace without a browser: every stop-the-world pause,
worst first, with its reason, who stopped the world and which goroutine was
last to stop; the minimum mutator utilisation (MMU) from 1 ms to 1 s;
scheduler latency (runnable → running) as a histogram and by stack; time
blocked by reason (channel, select, sync, network, syscall, GC assist) with
the stacks responsible; and the GC cycles with their phases and assist share.
Then the advisor's trace rules: long pauses and their cause, mark assists
that show the program out-pacing the GC, scheduler latency with idle Ps.

TARGET is a PID or a URL, as for attach: gotune captures --seconds of
/debug/pprof/trace (one trace at a time; the target pays a few percent of
CPU while it traces), or with --flight asks the gotune agent's flight
recorder for the last seconds it holds (the program must have called
agent.EnableFlightRecorder). -o keeps the trace as the target wrote it, a
file go tool trace opens.

FILE is a trace file (go tool trace's input, a runtime/trace output, a
flight-recorder snapshot) or a .gotune snapshot that holds one. With several
FILEs gotune ranks them by their worst pause (golang/go#62461), reading one
at a time.`,
		Example: `  gotune trace http://127.0.0.1:6060 --seconds 5 -o app.trace
  gotune trace 4242 --flight
  gotune trace app.trace --json
  gotune trace traces/*.trace`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.seconds < 1 || f.seconds > collectors.MaxTraceSeconds {
				return fmt.Errorf("--seconds %d: want 1 to %d (traces are large and cost the target CPU)", f.seconds, collectors.MaxTraceSeconds)
			}
			if len(args) > 1 {
				for _, a := range args {
					if !isFile(a) {
						return fmt.Errorf("%s: no such file (several arguments are trace files to rank; capture from one TARGET at a time)", a)
					}
				}
				return rankTraces(e, args, f)
			}
			arg := args[0]
			if isFile(arg) {
				if cmd.Flags().Changed("seconds") || f.flight || f.out != "" {
					return fmt.Errorf("%s is a file: --seconds, --flight and -o go with a TARGET to capture from", arg)
				}
				return readTraceFile(e, arg, f)
			}
			if _, err := strconv.Atoi(arg); err != nil && !isURL(arg) {
				return fmt.Errorf("%s: no such file, and not a PID or URL to capture from", arg)
			}
			return captureTrace(e, arg, f)
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&f.seconds, "seconds", collectors.DefaultTraceSeconds, "how long to trace the TARGET (/debug/pprof/trace?seconds=N)")
	fl.BoolVar(&f.flight, "flight", false, "read the gotune agent's flight recorder (the last seconds, at once) instead of tracing now")
	fl.StringVarP(&f.out, "output", "o", "", "keep the captured trace in this file (go tool trace opens it)")
	fl.BoolVar(&f.json, "json", false, "print the summary and findings (or the ranking) as JSON")
	fl.StringVar(&f.ov.URL, "url", "", "PID target: capture from this base URL instead of detecting it")
	fl.IntVar(&f.ov.GopsPort, "gops-port", 0, "PID target: use the gops agent on this 127.0.0.1 port")
	return cmd
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

// traceOutput is what gotune trace prints for one trace (as JSON with
// --json): where it came from, gotune's analysis, the advisor's findings.
type traceOutput struct {
	Name     string            `json:"name"`
	Trace    *trace.Captured   `json:"trace"`
	Findings []advisor.Finding `json:"findings"`
	// SavedTo is the file -o wrote.
	SavedTo string `json:"saved_to,omitempty"`
}

// captureTrace takes one trace from a target through the capture pipeline
// (which also reads the facts the trace rules use: GOMAXPROCS, affinity,
// quota).
func captureTrace(e *env, arg string, f traceFlags) error {
	t, err := collectors.Open(e.ctx, arg, f.ov)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	sess := capture.Start(ctx, t, capture.Options{Interval: time.Second})
	o := capture.TraceOptions{Seconds: f.seconds, FlightRecorder: f.flight}
	if isTerminal(e.term) {
		o.Progress = func(p collectors.TraceProgress) { fmt.Fprint(e.term, "\r"+traceProgressLine(p)+"\x1b[K") }
	}
	c, err := sess.Trace(ctx, o)
	if o.Progress != nil {
		fmt.Fprintln(e.stderr)
	}
	if c == nil {
		return fmt.Errorf("%s: %w", sess.Name(), err)
	}
	out := &traceOutput{Name: sess.Name(), Trace: c}
	if f.out != "" {
		// Kept even when truncated: go tool trace reads what is there.
		if werr := atomicfile.Write(f.out, "trace", func(w io.Writer) error { _, err := w.Write(c.Raw); return err }); werr != nil {
			return werr
		}
		out.SavedTo = f.out
	}
	out.Findings = advisor.AdviseTrace(c.Summary, traceFacts(sess.Snapshot()), advisor.DefaultConfig())
	return printTrace(e, out, f, err)
}

// traceFacts are the session's facts once its first sample arrived (the
// flight recorder answers at once; the sample may not be there yet).
func traceFacts(snap *session.Snapshot) advisor.Facts {
	if snap == nil {
		return advisor.Facts{}
	}
	return snap.Facts
}

// readTraceFile analyses a trace file, or the trace a snapshot holds.
func readTraceFile(e *env, path string, f traceFlags) error {
	if isSnapshotFile(path) {
		s, err := snapshot.Read(path)
		if err != nil {
			return err
		}
		if s.Trace == nil {
			return fmt.Errorf("%s holds no execution trace (gotune snapshot --trace 5s takes one)", path)
		}
		if s.Trace.Summary == nil {
			return fmt.Errorf("%s: its execution trace was not analysed (%s); gotune snapshot extract writes it out", path, s.Trace.Problem)
		}
		return printTrace(e, &traceOutput{Name: path, Trace: s.Trace,
			Findings: advisor.AdviseTrace(s.Trace.Summary, advisor.Facts{}, advisor.DefaultConfig())}, f, nil)
	}
	sum, err := trace.AnalyzeFile(e.ctx, path, trace.Options{})
	if sum == nil {
		return err
	}
	c := &trace.Captured{Source: trace.SourceFile, Summary: sum}
	if err != nil {
		c.Problem = err.Error()
	}
	if fi, serr := os.Stat(path); serr == nil {
		c.SetSpan(fi.ModTime())
	}
	return printTrace(e, &traceOutput{Name: path, Trace: c, Findings: advisor.AdviseTrace(sum, advisor.Facts{}, advisor.DefaultConfig())}, f, err)
}

// printTrace prints one trace; readErr (a truncated trace) is returned
// after the figures of what was read.
func printTrace(e *env, out *traceOutput, f traceFlags, readErr error) error {
	if out.Findings == nil {
		out.Findings = []advisor.Finding{}
	}
	if f.json {
		enc := json.NewEncoder(e.jsonOut())
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else {
		w := safetext.NewWriter(e.stdout)
		c := out.Trace
		fmt.Fprintf(w, "# gotune trace %s · from %s", out.Name, c.SourceText())
		if !c.From.IsZero() && c.Source != trace.SourceFile {
			fmt.Fprintf(w, " · %s – %s", c.From.Local().Format("2006-01-02 15:04:05"), c.To.Local().Format("15:04:05"))
		}
		fmt.Fprintln(w)
		if err := trace.WriteText(w, c.Summary); err != nil {
			return err
		}
		fmt.Fprintln(w)
		if len(out.Findings) == 0 {
			fmt.Fprintln(w, "No findings from the trace's rules (trace-long-pause, trace-gc-assist, trace-sched-free-p).")
		} else {
			fmt.Fprintln(w, "Findings from the trace:")
			fmt.Fprintln(w)
		}
		writeFindings(w, out.Findings)
	}
	if out.SavedTo != "" {
		fmt.Fprintf(e.stderr, "trace written to %s (%s): go tool trace %s opens it\n", out.SavedTo, measurement.Bytes(float64(len(out.Trace.Raw))), out.SavedTo)
	}
	return readErr
}

// rankTraces ranks trace files by their worst pause.
func rankTraces(e *env, paths []string, f traceFlags) error {
	rs := trace.RankFiles(e.ctx, paths, trace.Options{})
	if f.json {
		enc := json.NewEncoder(e.jsonOut())
		enc.SetIndent("", "  ")
		if err := enc.Encode(rs); err != nil {
			return err
		}
	} else if err := trace.WriteRanking(e.stdout, rs); err != nil {
		return err
	}
	failed := 0
	for _, r := range rs {
		if r.Worst == nil && r.Err != "" {
			failed++
		}
	}
	if err := e.ctx.Err(); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d traces could not be read (see the table)", failed, len(rs))
	}
	return nil
}

// traceProgressLine says how far a capture has got, for a terminal.
func traceProgressLine(p collectors.TraceProgress) string {
	got := measurement.Bytes(float64(p.Bytes))
	switch {
	case p.Done:
		return fmt.Sprintf("trace captured: %s in %s", got, p.Elapsed.Round(100*time.Millisecond))
	case p.Seconds == 0:
		return "reading the flight recorder… " + got
	}
	el := min(p.Elapsed, time.Duration(p.Seconds)*time.Second)
	return fmt.Sprintf("tracing %d/%ds… %s (Ctrl-C cancels)", int(el.Seconds()), p.Seconds, got)
}
