package cli

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gotune/gotune/bundle"
	"github.com/gotune/gotune/capture"
	"github.com/gotune/gotune/export"
	"github.com/gotune/gotune/safetext"
	"github.com/gotune/gotune/snapshot"
)

func exportCmd(e *env) *cobra.Command {
	var (
		dests      []string
		service    string
		host       string
		phase      string
		trig       string
		labels     []string
		timeout    time.Duration
		spill      string
		noMetrics  bool
		noProfiles bool
	)
	cmd := &cobra.Command{
		Use:   "export SNAPSHOT... --to URL",
		Short: "Send snapshots' profiles and metric series to OpenTelemetry, Pyroscope or Prometheus",
		Long: `Send the profiles and metric series of .gotune snapshots (gotune snapshot,
the dashboard's s, gotune watch's bundles) to the engines a fleet already runs:
an OpenTelemetry collector (OTLP profiles and metrics, HTTP or gRPC), Pyroscope's
/ingest API (pprof), or a Prometheus remote-write receiver (metrics).

Labels: service (--service, default the command's base name), host (--host,
default this machine), pid, go_version and gogc (from the snapshot), trigger
(--trigger; default the rule kind of a gotune watch bundle, else "snapshot"),
phase (--phase before|after; default from the snapshot's name when it holds
the word "before" or "after"), and --label KEY=VALUE. With phase=before and
phase=after, the engine's own diff view compares a change.

gotune waits up to --timeout for everything to be sent, retrying with backoff;
it exits non-zero when something could not be sent (the counters say what),
or is still waiting in the --spill directory for the next run.

Destinations: otlp+http://HOST:4318, otlp+grpc://HOST:4317,
pyroscope+http://HOST:4040, remote-write+http://HOST:9090/api/v1/write,
remote-write-v2+http://...; "+https" works for each. Default $` + ExportEnv + `.`,
		Example: `  gotune export before.gotune after.gotune --to pyroscope+http://127.0.0.1:4040 --service api
  gotune export bundles/*.gotune --to otlp+grpc://collector:4317
  gotune export after.gotune --to remote-write+http://prometheus:9090/api/v1/write --label region=eu`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if phase != "" && phase != "before" && phase != "after" {
				return fmt.Errorf("--phase %q: want before or after", phase)
			}
			extra := map[string]string{}
			for _, l := range labels {
				k, v, ok := strings.Cut(l, "=")
				if !ok || k == "" {
					return fmt.Errorf("--label %q: want KEY=VALUE", l)
				}
				extra[k] = v
			}
			to := exportDestinations(dests)
			if len(to) == 0 {
				return fmt.Errorf("name a destination with --to URL (or set %s)", ExportEnv)
			}
			// Read every file first: a typo in the third fails before
			// anything is sent.
			snaps := make([]*snapshot.Snapshot, len(args))
			for i, path := range args {
				s, err := snapshot.Read(path)
				if err != nil {
					return err
				}
				snaps[i] = s
			}
			group, err := openExporters(to, spill)
			if err != nil {
				return err
			}
			for i, s := range snaps {
				o := snapshotOrigin(s, service, host, phase, trig, extra)
				profiles, points := 0, 0
				if !noProfiles {
					n, err := enqueueSnapshotProfiles(group, s, o)
					if err != nil {
						fmt.Fprintf(e.stderr, "gotune export: %s: %v\n", args[i], err)
					}
					profiles = n
				}
				if !noMetrics {
					pts := capture.Replay(s).Snapshot().Points
					if err := group.EnqueueMetrics(pts, o); err != nil {
						fmt.Fprintf(e.stderr, "gotune export: %s: metrics: %v\n", args[i], err)
					}
					points = len(pts)
				}
				fmt.Fprintf(e.stdout, "%s: %d profiles, %d points queued (%s)\n", args[i], profiles, points, safetext.Line(labelText(o)))
			}
			return closeExporters(group, timeout, e.stdout)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&dests, "to", nil, "destination, repeatable (default $"+ExportEnv+")")
	f.StringVar(&service, "service", "", "service label (default: the command's base name)")
	f.StringVar(&host, "host", "", "host label (default: this machine's name)")
	f.StringVar(&phase, "phase", "", `phase label: "before" or "after" (default: from the snapshot's name)`)
	f.StringVar(&trig, "trigger", "", `trigger label (default: a bundle's rule kind, else "snapshot")`)
	f.StringArrayVar(&labels, "label", nil, "another label KEY=VALUE, repeatable")
	f.DurationVar(&timeout, "timeout", time.Minute, "how long to keep trying to send")
	f.StringVar(&spill, "spill", "", "keep what could not be sent in this directory, for the next run")
	f.BoolVar(&noMetrics, "no-metrics", false, "send the profiles only")
	f.BoolVar(&noProfiles, "no-profiles", false, "send the metric series only")
	return cmd
}

var phaseWord = regexp.MustCompile(`(?i)\b(before|after)\b`)

// snapshotOrigin labels a snapshot's data: the flags first, then what the
// snapshot says (its target, GOGC, a bundle's rule, a phase in its name).
func snapshotOrigin(s *snapshot.Snapshot, service, host, phase, trig string, extra map[string]string) export.Origin {
	pts := capture.Replay(s).Snapshot()
	o := export.OriginOf(pts, service, trig, phase)
	o.Target = snapshotTarget(s)
	o.Host = host
	o.Extra = map[string]string{}
	for k, v := range extra {
		o.Extra[k] = v
	}
	if r, ok := bundle.RuleOf(s); ok {
		if o.Trigger == "" {
			o.Trigger = string(r.Kind)
		}
		if _, set := o.Extra["rule"]; !set {
			o.Extra["rule"] = r.String()
		}
	}
	if o.Trigger == "" {
		o.Trigger = "snapshot"
	}
	if o.Phase == "" {
		if m := phaseWord.FindStringSubmatch(s.Manifest.Name); m != nil {
			o.Phase = strings.ToLower(m[1])
		}
	}
	return o
}

func labelText(o export.Origin) string {
	var parts []string
	for _, l := range o.Labels() {
		parts = append(parts, l.Name+"="+l.Value)
	}
	return strings.Join(parts, " ")
}
