package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/gotune/gotune/bundle"
	"github.com/gotune/gotune/capture"
	"github.com/gotune/gotune/collectors"
	"github.com/gotune/gotune/collectors/discover"
	"github.com/gotune/gotune/demo"
	"github.com/gotune/gotune/export"
	"github.com/gotune/gotune/measurement"
	"github.com/gotune/gotune/session"
	"github.com/gotune/gotune/snapshot"
	"github.com/gotune/gotune/trigger"
)

// defaultTriggers are watch's rules when none is given.
var defaultTriggers = []string{"gc-cpu>25%:30s", "goroutine-growth>100/min:1m", "rss>90%:30s", "heap-goal>95%:30s", "sched-p99>50ms:30s"}

func watchCmd(e *env) *cobra.Command {
	var (
		rules      []string
		out        string
		cooldown   time.Duration
		clearAfter time.Duration
		cpu        time.Duration
		maxDisk    string
		interval   time.Duration
		duration   time.Duration
		asJSON     bool
		dests      []string
		service    string
		expTimeout time.Duration
		traceLen   time.Duration
		noTrace    bool
	)
	cmd := &cobra.Command{
		Use:   "watch TARGET... --trigger RULE --out DIR",
		Short: "Watch processes headless and capture a bundle when a trigger fires",
		Long: `Watch one or more targets (PIDs or URLs, as for attach) for as long as it
runs, judging trigger rules on every sample. When a rule starts to hold, gotune
captures a bundle into DIR: a .gotune snapshot with the goroutine groups (and
the debug=2 dump below 10000 goroutines), heap, allocations, mutex and block
contention over the capture, a CPU profile, the metric series of the minutes
around it and the advisor's findings, with the reason as its first note, and
beside it (NAME.trace) the flight recorder's snapshot where the target enabled
the gotune agent's (else, with --trace, an execution trace after the window). One
bundle per episode: none while the rule goes on holding, none again within
the cool-down. DIR/index.jsonl lists every event; --max-disk caps the bundles
(the oldest go first). Memory stays bounded: five minutes of samples per
target.

Rules: ` + trigger.Syntax + `.
Without --trigger: ` + strings.Join(defaultTriggers, ", ") + `.

With --export (or ` + ExportEnv + `), the metric series go to the
destinations as they arrive, and each bundle's profiles with the labels
trigger=<rule kind>, rule, episode (see gotune export).`,
		Example: `  gotune watch 4242 --trigger "gc-cpu>20%:30s" --out /var/tmp/gotune
  gotune watch 4242 4243 http://127.0.0.1:6060 --trigger "goroutine-growth>100/min:2m" --trigger "rss>90%" --out ./bundles
  gotune watch 4242 --out ./bundles --export otlp+http://127.0.0.1:4318 --export pyroscope+http://127.0.0.1:4040`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return fmt.Errorf("name the bundle directory with --out DIR")
			}
			if interval < 100*time.Millisecond {
				return fmt.Errorf("--interval %s is too short: at least 100ms", interval)
			}
			capBytes, err := demo.ParseBytes(maxDisk)
			if err != nil {
				return fmt.Errorf("--max-disk: %w", err)
			}
			specs := rules
			if len(specs) == 0 {
				specs = defaultTriggers
				fmt.Fprintf(e.stderr, "gotune watch: no --trigger given; watching for %s\n", strings.Join(defaultTriggers, ", "))
			}
			var rs []trigger.Rule
			for _, s := range specs {
				r, err := trigger.Parse(s)
				if err != nil {
					return fmt.Errorf("--trigger: %w", err)
				}
				rs = append(rs, r)
			}
			dir, err := bundle.OpenDir(out, capBytes)
			if err != nil {
				return err
			}
			var targets []collectors.Target
			for _, a := range args {
				t, err := collectors.Open(e.ctx, a, discover.Overrides{})
				if err != nil {
					return err
				}
				targets = append(targets, t)
			}
			group, err := openExporters(exportDestinations(dests), filepath.Join(out, "export-spill"))
			if err != nil {
				return err
			}
			ctx, cancel := context.WithCancel(e.ctx)
			defer cancel()
			if duration > 0 {
				ctx, cancel = context.WithTimeout(ctx, duration)
				defer cancel()
			}
			if traceLen > 0 && traceLen < time.Second || traceLen > collectors.MaxTraceSeconds*time.Second {
				return fmt.Errorf("--trace %s: 0, or from 1s to %ds", traceLen, collectors.MaxTraceSeconds)
			}
			o := bundle.WatchOptions{Rules: rs, Trigger: trigger.Options{Cooldown: cooldown, ClearAfter: clearAfter},
				Bundle: bundle.Options{CPU: cpu, GotuneVersion: Version}, Dir: dir, Interval: interval, Out: e.stdout, JSON: asJSON,
				TraceSeconds: int(traceLen / time.Second)}
			if noTrace {
				o.TraceSeconds = -1
			}
			// Each target's series are followed until the watch ends; the
			// exporters close once the last follower has queued its rest.
			var follow sync.WaitGroup
			defer follow.Wait()
			if len(group) > 0 {
				o.OnSession = func(ctx context.Context, sess *capture.Session) {
					follow.Go(func() {
						export.Follow(ctx, sess.Store(), group, func(s *session.Snapshot) export.Origin {
							return export.OriginOf(s, service, "watch", "")
						}, export.FollowOptions{})
					})
				}
				o.OnBundle = func(ev trigger.Event, s *snapshot.Snapshot, w bundle.Written) {
					org := bundleOrigin(s, service, ev.Rule, ev.Episode)
					if _, err := enqueueSnapshotProfiles(group, s, org); err != nil {
						fmt.Fprintf(e.stderr, "gotune watch: export %s: %v\n", filepath.Base(w.Path), err)
					}
				}
			}
			if !asJSON {
				fmt.Fprintf(e.stdout, "watching %d targets for %s; bundles in %s (cap %s)\n", len(targets), ruleList(rs), dir.Path(), measurement.Bytes(float64(capBytes)))
			}
			sum := bundle.Watch(ctx, targets, o)
			cancel()
			follow.Wait()
			if !asJSON {
				used, n := dir.Usage()
				fmt.Fprintf(e.stdout, "%d fired, %d suppressed by the cool-down, %d bundles written (%d in %s now, %s), %d failed\n",
					sum.Fired, sum.Suppressed, sum.Written, n, dir.Path(), measurement.Bytes(float64(used)), sum.Failed)
			}
			if err := closeExporters(group, expTimeout, e.stderr); err != nil {
				return err
			}
			if sum.Failed > 0 {
				return fmt.Errorf("watch: %d bundles could not be captured (see %s)", sum.Failed, filepath.Join(dir.Path(), bundle.IndexName))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&rules, "trigger", nil, "a rule, repeatable: "+trigger.Syntax)
	f.StringVarP(&out, "out", "o", "", "the bundle directory (made if missing)")
	f.DurationVar(&cooldown, "cooldown", trigger.DefaultCooldown, "least time between two firings of one rule on one target")
	f.DurationVar(&clearAfter, "clear-after", trigger.DefaultClearAfter, "how long a rule must stop holding for its episode to end")
	f.DurationVar(&cpu, "cpu", bundle.DefaultCPU, "length of each bundle's CPU profile (the allocations and contention are counted over it too)")
	f.DurationVar(&traceLen, "trace", 0, "also take an execution trace this long after the window from a target without a flight recorder (0: the flight recorder only; a trace costs the target CPU, and gotune holds it in memory until written)")
	f.BoolVar(&noTrace, "no-trace", false, "take no execution trace, not even the flight recorder's")
	f.StringVar(&maxDisk, "max-disk", "1GiB", "cap on the bundles' total size; the oldest go first")
	f.DurationVar(&interval, "interval", time.Second, "sampling interval")
	f.DurationVar(&duration, "duration", 0, "stop after this long (0: until interrupted)")
	f.BoolVar(&asJSON, "json", false, "print each event as a JSON line (the index's entries)")
	f.StringArrayVar(&dests, "export", nil, "also export to this destination, repeatable: otlp+http://, otlp+grpc://, pyroscope+http://, remote-write+http:// (default $"+ExportEnv+")")
	f.StringVar(&service, "service", "", "service label of exported data (default: the command's base name)")
	f.DurationVar(&expTimeout, "export-timeout", 30*time.Second, "at the end, how long to wait for the exporters to send what is queued (the rest stays in DIR/export-spill)")
	return cmd
}

// bundleOrigin labels a bundle's profiles: trigger=<rule kind> (the
// engine's own views filter on it), rule and episode as extras.
func bundleOrigin(s *snapshot.Snapshot, service string, r trigger.Rule, episode int) export.Origin {
	o := export.Origin{Target: snapshotTarget(s), Service: service, Trigger: string(r.Kind),
		Extra: map[string]string{"rule": r.String()}}
	if episode > 0 {
		o.Extra["episode"] = strconv.Itoa(episode)
	}
	if pts := s.Series.Points; len(pts) > 0 {
		if v, ok := pts[len(pts)-1].Values[session.GOGC]; ok {
			o.GOGC = export.GOGCOf(&session.Point{Sample: session.Sample{Values: map[string]float64{session.GOGC: v}}})
		}
	}
	return o
}

func ruleList(rs []trigger.Rule) string {
	var s []string
	for _, r := range rs {
		s = append(s, r.String())
	}
	return strings.Join(s, ", ")
}
