package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/gotune/gotune/capture"
	"github.com/gotune/gotune/collectors"
	"github.com/gotune/gotune/collectors/discover"
	"github.com/gotune/gotune/safetext"
	"github.com/gotune/gotune/session"
)

// watchFlags are shared by attach and demo.
type watchFlags struct {
	json     bool
	plain    bool
	duration time.Duration
	interval time.Duration
	theme    string
	// sourcePath is where the dashboard's source view looks for files
	// (go tool pprof -source_path).
	sourcePath string
	export     []string // the dashboard's e destinations (default $GOTUNE_EXPORT)
}

func (w *watchFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.BoolVar(&w.json, "json", false, "print one JSON object per interval (NDJSON) instead of text")
	f.BoolVar(&w.plain, "plain", false, "print one aligned text line per interval instead of the dashboard (the default when stdout is not a terminal)")
	f.DurationVar(&w.duration, "duration", 0, "stop after this long (0: until interrupted)")
	f.DurationVar(&w.interval, "interval", time.Second, "sampling interval")
	f.StringArrayVar(&w.export, "export", nil, "the dashboard's E exports the session's profiles and recent series here, repeatable: otlp+http://, otlp+grpc://, pyroscope+http://, remote-write+http:// (default $"+ExportEnv+")")
	f.StringVar(&w.theme, "theme", "auto", "dashboard colours: auto (from the terminal background), dark, light, high-contrast, mono; NO_COLOR forces mono")
	f.StringVar(&w.sourcePath, "source-path", "", "directories where the dashboard's source view (L on the Flame screen) finds files, separated by "+string(filepath.ListSeparator)+" (go tool pprof -source_path); the recorded paths, the module cache and GOROOT are searched too")
}

func (w *watchFlags) validate() error {
	if w.interval < 100*time.Millisecond {
		return fmt.Errorf("--interval %s is too short: at least 100ms, to keep the overhead on the target low", w.interval)
	}
	if w.duration < 0 {
		return fmt.Errorf("--duration must not be negative")
	}
	if w.json && w.plain {
		return fmt.Errorf("--json and --plain exclude each other")
	}
	return validTheme(w.theme)
}

func attachCmd(e *env) *cobra.Command {
	var w watchFlags
	var ov discover.Overrides
	cmd := &cobra.Command{
		Use:   "attach TARGET",
		Short: "Attach to a Go service and watch it live",
		Long: `Attach to a Go service that serves net/http/pprof (and ideally the gotune
agent) and watch it in the full-screen dashboard: live curves, flame views
of its profiles, grouped goroutines and advice (press ? for the keys). With
--plain or --json, or when stdout is not a terminal, print its runtime
figures once per interval instead.

TARGET is a process ID or a base URL such as http://127.0.0.1:6060 (or
host:port). Metrics come from the gotune agent if the service has it, else
from a Prometheus /metrics page with go_* series, else from expvar
/debug/vars, else (PID only) from a gops agent. For a PID, gotune finds the
process's listening sockets and gops port file by itself, always adds what the
OS knows (CPU, RSS, threads, cgroup limits and throttling, NUMA placement),
and explains the effective GOGC, GOMEMLIMIT and GOMAXPROCS. A Go process
with no endpoint at all is watched through the OS only, with a line saying
how to enable profiles.`,
		Example: `  gotune attach 4242
  gotune attach 4242 --theme light
  gotune attach 4242 --plain
  gotune attach 4242 --url http://127.0.0.1:6060 --json --duration 30s
  gotune attach http://127.0.0.1:6060
  gotune attach 127.0.0.1:6060 --json --duration 30s --interval 2s`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := w.validate(); err != nil {
				return err
			}
			t, err := collectors.Open(e.ctx, args[0], ov)
			if err != nil {
				return err
			}
			if w.wantDashboard(e) {
				return dashboard(e, w, t, "")
			}
			if pt, ok := t.(*collectors.PIDTarget); ok && pt.Via() == "os" && !w.json {
				fmt.Fprintf(e.stderr, "gotune: %s is reachable through the OS only: %s\n", t.Name(), pt.Process.Reach.Hint)
			}
			return watch(e, w, t, t.Name())
		},
	}
	w.add(cmd)
	cmd.Flags().StringVar(&ov.URL, "url", "", "PID target: read metrics and profiles from this base URL instead of detecting it")
	cmd.Flags().IntVar(&ov.GopsPort, "gops-port", 0, "PID target: use the gops agent on this 127.0.0.1 port instead of its port file")
	return cmd
}

// watch watches t through the capture pipeline and prints its store once
// per interval until the duration is over or the context ends. It fails only
// if no sample at all was read.
func watch(e *env, w watchFlags, t collectors.Target, targetName string) error {
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	if w.duration > 0 {
		ctx, cancel = context.WithTimeout(ctx, w.duration)
		defer cancel()
	}
	store := capture.Start(ctx, t, capture.Options{Interval: w.interval, Name: targetName}).Store()

	var p printer
	if w.json {
		p = &jsonPrinter{w: e.jsonOut(), target: targetName}
	} else {
		p = &linePrinter{w: safetext.NewWriter(e.stdout), target: targetName}
	}
	var lastPrinted time.Time // sample time of the last printed point
	got := 0
	// A status-only line is printed when no sample arrived for 1.5
	// intervals, so a stuck target shows up on time.
	quiet := time.NewTimer(w.interval * 3 / 2)
	defer quiet.Stop()
	for {
		select {
		case <-ctx.Done():
			if errors.Is(e.ctx.Err(), context.Canceled) && got > 0 {
				return nil // interrupted after a good run: a normal stop
			}
			if got == 0 {
				return noSampleError(store.Snapshot(), targetName, w.duration)
			}
			return nil
		case <-store.Changed():
			snap := store.Snapshot()
			pt := snap.Latest()
			if pt == nil || !pt.Time.After(lastPrinted) {
				if exited(snap) {
					return exitedError(snap, targetName, p)
				}
				continue
			}
			// Only the newest point is printed, but a restart marked on
			// one skipped is said all the same.
			restart := restartSince(snap, lastPrinted)
			lastPrinted = pt.Time
			got++
			if err := p.point(snap, pt, restart); err != nil {
				return err
			}
			quiet.Reset(w.interval * 3 / 2)
		case <-quiet.C:
			snap := store.Snapshot()
			if exited(snap) {
				return exitedError(snap, targetName, p)
			}
			if err := p.stale(snap, time.Now()); err != nil {
				return err
			}
			quiet.Reset(w.interval)
		}
	}
}

// restartSince is the newest restart marked on a point after t, or nil.
func restartSince(snap *session.Snapshot, t time.Time) *session.Restart {
	for i := len(snap.Points) - 1; i >= 0 && snap.Points[i].Time.After(t); i-- {
		if r := snap.Points[i].Restart; r != nil {
			return r
		}
	}
	return nil
}

// exited reports whether the metrics collector found the process gone for
// good (a PID target): nothing more will come.
func exited(snap *session.Snapshot) bool {
	st, ok := snap.StatusOf("metrics")
	return ok && st.Exited
}

// exitedError prints the exit's status line and ends the watch: a PID
// names one process, and gotune follows no other.
func exitedError(snap *session.Snapshot, target string, p printer) error {
	if err := p.stale(snap, time.Now()); err != nil {
		return err
	}
	at := snap.Target.ExitedAt
	if at.IsZero() {
		st, _ := snap.StatusOf("metrics")
		at = st.LostAt
	}
	return fmt.Errorf("%s exited at %s; gotune does not follow another process by PID: attach to the new one", target, at.Local().Format("15:04:05"))
}

func noSampleError(snap *session.Snapshot, target string, d time.Duration) error {
	st, ok := snap.StatusOf("metrics")
	if ok && st.LastErr != "" {
		return fmt.Errorf("no sample read from %s: %s", target, st.LastErr)
	}
	if d > 0 {
		return fmt.Errorf("no sample read from %s within %s", target, d)
	}
	return fmt.Errorf("no sample read from %s", target)
}
