package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/gotune/gotune/capture"
	"github.com/gotune/gotune/collectors"
	"github.com/gotune/gotune/collectors/discover"
	"github.com/gotune/gotune/snapshot"
)

func snapshotCmd(e *env) *cobra.Command {
	var (
		out    string
		window time.Duration
		cpu    time.Duration
		tr     time.Duration
		name   string
		noProf bool
		ov     discover.Overrides
	)
	cmd := &cobra.Command{
		Use:   "snapshot TARGET -o FILE",
		Short: "Capture a target's metrics, profiles, settings and goroutines into a .gotune file",
		Long: `Capture everything gotune knows about a target over a window into one
.gotune file: the metric series, heap, allocs, goroutine, mutex and block
profiles (a CPU profile with --cpu, an execution trace with --trace, never
by default), the goroutine groups, the effective settings and why, and the
cgroup and NUMA facts. Two snapshots, before and
after a change, compare as a whole.

Secrets never enter a snapshot: only GO* environment variables are kept, and
credentials in URLs and values of secret-looking flags (password, token,
secret, key, ...) are masked. The file is written atomically.

TARGET is a PID or a URL, as for attach.`,
		Example: `  gotune snapshot 4242 -o before.gotune --window 30s --cpu 10s
  gotune snapshot http://127.0.0.1:6060 -o after.gotune --name "GOGC=200" --trace 5s
  gotune snapshot extract before.gotune ./profiles`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return fmt.Errorf("name the output file with -o FILE")
			}
			if window < time.Second {
				return fmt.Errorf("--window %s is too short: at least 1s", window)
			}
			if cpu < 0 || cpu > window {
				return fmt.Errorf("--cpu %s must lie between 0 and the window (%s)", cpu, window)
			}
			if tr < 0 || tr > window || tr > collectors.MaxTraceSeconds*time.Second || tr > 0 && tr < time.Second {
				return fmt.Errorf("--trace %s must lie between 1s and the window (%s), at most %ds", tr, window, collectors.MaxTraceSeconds)
			}
			t, err := collectors.Open(e.ctx, args[0], ov)
			if err != nil {
				return err
			}
			s, err := captureSnapshot(e.ctx, t, capture.WindowOptions{Length: window, CPU: cpu, Trace: tr, Dump: true, NoProfiles: noProf}, name)
			if err != nil {
				return err
			}
			if err := snapshot.Write(out, s); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "saved %s: %d points over %s, %d profiles", out, len(s.Series.Points), s.Manifest.Window.Duration().Round(time.Second), len(s.Profiles))
			if s.Trace != nil {
				fmt.Fprintf(e.stdout, ", an execution trace")
			}
			if len(s.Manifest.Notes) > 0 {
				fmt.Fprintf(e.stdout, " (%d not captured: see the manifest's notes)", len(s.Manifest.Notes))
			}
			fmt.Fprintln(e.stdout)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&out, "output", "o", "", "the .gotune file to write")
	f.DurationVar(&window, "window", 30*time.Second, "how long to collect metrics")
	f.DurationVar(&cpu, "cpu", 0, "also capture a CPU profile this long (0: none)")
	f.DurationVar(&tr, "trace", 0, "also capture an execution trace this long inside the window (/debug/pprof/trace; 0: none)")
	f.StringVar(&name, "name", "", "a label stored in the snapshot, e.g. \"before GOGC=200\"")
	f.BoolVar(&noProf, "no-profiles", false, "fetch no profiles at all, only metrics and OS facts (nothing adds to the target's own costs in the window)")
	f.StringVar(&ov.URL, "url", "", "PID target: read metrics and profiles from this base URL")
	f.IntVar(&ov.GopsPort, "gops-port", 0, "PID target: use the gops agent on this 127.0.0.1 port")
	cmd.AddCommand(snapshotExtractCmd(e))
	return cmd
}

func snapshotExtractCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "extract FILE DIR",
		Short: "Write a snapshot's profiles out as .pb.gz files that go tool pprof opens (and its trace as trace.out for go tool trace)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := snapshot.Read(args[0])
			if err != nil {
				return err
			}
			paths, err := snapshot.Extract(s, args[1])
			for _, p := range paths {
				fmt.Fprintln(e.stdout, p)
			}
			return err
		},
	}
}

// captureSnapshot watches t for a window through the capture pipeline (the
// start of the window, a CPU profile inside it, the closing profiles and the
// goroutine dump, as o says) and builds the snapshot with the advisor's
// report.
func captureSnapshot(ctx context.Context, t collectors.Target, o capture.WindowOptions, name string) (*snapshot.Snapshot, error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sess := capture.Start(wctx, t, capture.Options{Interval: time.Second, Baselines: !o.NoProfiles, StartBudget: startBudget(o.Length)})
	w, err := sess.Window(wctx, o)
	if err != nil {
		return nil, err
	}
	return w.Snapshot(capture.SnapshotOptions{Name: name, GotuneVersion: Version}), nil
}

// startBudget bounds the window's start fetches to a quarter of the window
// (at least a second), so a slow target does not stretch it.
func startBudget(window time.Duration) time.Duration { return max(time.Second, window/4) }
