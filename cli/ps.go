package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gotune/gotune/collectors/discover"
	"github.com/gotune/gotune/safetext"
)

func psCmd(e *env) *cobra.Command {
	var asJSON, noProbe bool
	var probeTimeout time.Duration
	var pw psWatchFlags
	cmd := &cobra.Command{
		Use:   "ps",
		Short: "List the Go processes on this host and how gotune can reach each",
		Long: `List every Go process on this host (found by the build info of
/proc/PID/exe, which works for deleted binaries too) with its user, Go
version, uptime, CPU % over a short window, resident memory, threads, and how
gotune can reach it: the gotune agent, net/http/pprof, Prometheus or expvar on
one of its listening sockets, a gops agent, or the OS only.

Listening sockets are probed briefly on loopback (GET of /debug/gotune/metrics,
/debug/pprof/, /metrics and /debug/vars). Processes of other users that gotune
may not read are still listed, with what could be read and why the rest could
not; run as root to see everything.`,
		Example: `  gotune ps
  gotune ps --json | jq '.[] | select(.reach.pprof_url)'
  gotune ps --watch --sort gc-cpu
  gotune ps --watch --json --count 3 --filter api`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if pw.watch {
				return psWatch(e, pw, asJSON, discover.Options{NoProbe: noProbe, ProbeTimeout: probeTimeout})
			}
			procs, err := discover.Scan(e.ctx, discover.Options{NoProbe: noProbe, ProbeTimeout: probeTimeout})
			if err != nil {
				return fmt.Errorf("ps: %w", err)
			}
			if asJSON {
				return writePsJSON(e.jsonOut(), procs)
			}
			return writePsTable(safetext.NewWriter(e.stdout), procs)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, "print a JSON array of processes")
	f.BoolVar(&noProbe, "no-probe", false, "do not connect to any listening socket")
	f.DurationVar(&probeTimeout, "probe-timeout", discover.DefaultProbeTimeout, "deadline of each probe request")
	pw.add(cmd)
	return cmd
}

func writePsJSON(w io.Writer, procs []discover.Process) error {
	if procs == nil {
		procs = []discover.Process{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(procs)
}

// writePsTable prints the Go processes as an aligned table, then the
// processes that could not be checked, then footnotes for partial rows and
// the hint for OS-only processes.
func writePsTable(w io.Writer, procs []discover.Process) error {
	var known, unchecked []discover.Process
	for _, p := range procs {
		if p.GoVersion == "" {
			unchecked = append(unchecked, p)
		} else {
			known = append(known, p)
		}
	}
	var b strings.Builder
	if len(known) == 0 {
		b.WriteString("no Go processes found\n")
	} else {
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "PID\tUSER\tGO\tUPTIME\tCPU%\tRSS\tTHR\tREACH\tCOMMAND")
		for _, p := range known {
			reach := p.Reach.String()
			if p.Partial {
				reach += " *"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
				p.PID, orDash(p.User), strings.TrimPrefix(p.GoVersion, "go"), formatUptime(p.UptimeSeconds, !p.StartTime.IsZero()),
				formatCPU(p.CPUPercent), formatRSS(p.RSSBytes), formatCount(p.Threads), reach, truncateCommand(p.Command, 60))
		}
		tw.Flush()
	}
	if len(unchecked) > 0 {
		noun := "processes"
		if len(unchecked) == 1 {
			noun = "process"
		}
		why := "by this user; run gotune as root"
		if os.Geteuid() == 0 {
			why = "even by root: non-dumpable processes, or another user namespace"
		}
		fmt.Fprintf(&b, "\n%d more %s could not be checked for Go (their executables are not readable %s):\n", len(unchecked), noun, why)
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  PID\tUSER\tRSS\tTHR\tCOMMAND")
		for _, p := range unchecked {
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\n", p.PID, orDash(p.User), formatRSS(p.RSSBytes), formatCount(p.Threads), truncateCommand(p.Command, 60))
		}
		tw.Flush()
	}
	var notes []string
	osOnly := false
	for _, p := range known {
		if p.Partial {
			r := append([]string(nil), p.Reasons...)
			if p.Reach.Unknown != "" {
				r = append(r, p.Reach.Unknown)
			}
			notes = append(notes, fmt.Sprintf("* %d: %s", p.PID, strings.Join(r, "; ")))
		}
		osOnly = osOnly || p.Reach.OSOnly
	}
	if len(notes) > 0 {
		b.WriteString("\n" + strings.Join(notes, "\n") + "\n")
	}
	if osOnly {
		b.WriteString("\nOS only: " + discover.EnableHint + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func formatUptime(sec float64, known bool) string {
	if !known {
		return "-"
	}
	d := time.Duration(sec) * time.Second
	switch {
	case d >= 24*time.Hour:
		return fmt.Sprintf("%dd%02dh", int(d.Hours())/24, int(d.Hours())%24)
	case d >= time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	case d >= time.Minute:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%ds", int(d.Seconds()))
}

func formatCPU(p *float64) string {
	if p == nil {
		return "-"
	}
	return strconv.FormatFloat(*p, 'f', 1, 64)
}

func formatRSS(n uint64) string {
	switch {
	case n == 0:
		return "-"
	case n >= 1<<30:
		return fmt.Sprintf("%.1fG", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1fM", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.0fK", float64(n)/(1<<10))
}

func formatCount(n int) string {
	if n <= 0 {
		return "-"
	}
	return strconv.Itoa(n)
}

func truncateCommand(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
