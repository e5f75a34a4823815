package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gotune/gotune/collectors/discover"
	"github.com/gotune/gotune/hostview"
	"github.com/gotune/gotune/measurement"
	"github.com/gotune/gotune/safetext"
)

// psWatchFlags are ps --watch's.
type psWatchFlags struct {
	watch    bool
	interval time.Duration
	count    int
	sort     string
	filter   string
}

func (w *psWatchFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.BoolVar(&w.watch, "watch", false, "keep watching: the host overview, headless (one table, or with --json one JSON object, per refresh)")
	f.DurationVar(&w.interval, "interval", hostview.DefaultInterval, "--watch: time between refreshes")
	f.IntVar(&w.count, "count", 0, "--watch: stop after this many refreshes (0: until interrupted)")
	f.StringVar(&w.sort, "sort", string(hostview.ByCPU), "--watch: order of the rows: cpu, rss, heap, gc-cpu, goroutines, growth, findings, pid, name")
	f.StringVar(&w.filter, "filter", "", "--watch: only rows whose PID, name, user, reach or command contain this")
}

// psWatchJSON is one refresh of ps --watch --json.
type psWatchJSON struct {
	At         time.Time      `json:"at"`
	TookMillis float64        `json:"refresh_ms"`
	Reads      int            `json:"reads"`
	Skipped    int            `json:"skipped,omitempty"`
	ScanError  string         `json:"scan_error,omitempty"`
	Rows       []hostview.Row `json:"rows"`
}

// psWatch refreshes the host overview every interval and prints it.
func psWatch(e *env, w psWatchFlags, asJSON bool, dopts discover.Options) error {
	key, err := hostview.ParseSortKey(w.sort)
	if err != nil {
		return fmt.Errorf("--sort: %w", err)
	}
	if w.interval < 200*time.Millisecond {
		return fmt.Errorf("--interval %s is too short: at least 200ms", w.interval)
	}
	if w.count < 0 {
		return fmt.Errorf("--count must not be negative")
	}
	h := hostview.New(hostview.Options{Interval: w.interval, Discover: dopts})
	out := safetext.NewWriter(e.stdout)
	enc := json.NewEncoder(e.stdout)
	tick := time.NewTicker(w.interval)
	defer tick.Stop()
	for n := 0; w.count == 0 || n < w.count; n++ {
		if n > 0 {
			select {
			case <-e.ctx.Done():
				return nil
			case <-tick.C:
			}
		}
		v, err := h.Refresh(e.ctx)
		if err != nil {
			if e.ctx.Err() != nil {
				return nil // interrupted: a normal stop
			}
			return fmt.Errorf("ps --watch: %w", err)
		}
		var rows []hostview.Row
		for _, r := range v.Rows {
			if r.GoVersion != "" && hostview.Matches(r, w.filter) {
				rows = append(rows, r)
			}
		}
		hostview.Sort(rows, key)
		if asJSON {
			j := psWatchJSON{At: v.At, TookMillis: float64(v.Took.Microseconds()) / 1000, Reads: v.Reads, Skipped: v.Skipped, Rows: rows}
			if j.Rows == nil {
				j.Rows = []hostview.Row{}
			}
			if v.ScanErr != nil {
				j.ScanError = v.ScanErr.Error()
			}
			if err := enc.Encode(j); err != nil {
				return err
			}
			continue
		}
		if err := writeHostTable(out, v, rows, key); err != nil {
			return err
		}
	}
	return nil
}

// writeHostTable prints one refresh: a line with its time and cost, the
// table, and a legend for estimates.
func writeHostTable(w io.Writer, v *hostview.View, rows []hostview.Row, key hostview.SortKey) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s · %d Go processes · refresh %s (%d read", v.At.Local().Format("15:04:05"), len(rows), measurement.Seconds(v.Took.Seconds()), v.Reads)
	if v.Skipped > 0 {
		fmt.Fprintf(&b, ", %d still reading", v.Skipped)
	}
	fmt.Fprintf(&b, ") · sorted by %s\n", key)
	if v.ScanErr != nil {
		fmt.Fprintf(&b, "rescan failed: %v\n", v.ScanErr)
	}
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PID\tNAME\tHEAP\tGOAL\tLIMIT\tGC%\tGC/s\tGOROUTINES\t+/MIN\tCPU\tGOMAXPROCS\tQUOTA\tTHROTTLED\tRSS\tCRIT/WARN/INFO\tVIA")
	estimate := false
	cell := func(f *hostview.Figure, format func(float64) string) string {
		if f == nil {
			return "-"
		}
		s := format(f.Value)
		if f.Estimated {
			s, estimate = "~"+s, true
		}
		return s
	}
	bytes := func(v float64) string { return strings.ReplaceAll(measurement.Bytes(v), " ", "") }
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	for _, r := range rows {
		mark := ""
		switch {
		case r.Exited:
			mark = " (exited)"
		case r.Error != "":
			mark = " (!)"
		}
		find := "…"
		if !r.Findings.At.IsZero() {
			find = fmt.Sprintf("%d/%d/%d", r.Findings.Crit, r.Findings.Warn, r.Findings.Info)
		}
		fmt.Fprintf(tw, "%d\t%s%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.PID, r.Name, mark,
			cell(r.HeapLive, bytes), cell(r.HeapGoal, bytes), cell(r.MemLimit, bytes),
			cell(r.GCCPU, measurement.Percent), cell(r.GCRate, func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }),
			cell(r.Goroutines, measurement.Count), cell(r.GoroutineGrowth, func(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }),
			cell(r.CPU, func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }), cell(r.GOMAXPROCS, num), cell(r.CPUQuota, num),
			cell(r.Throttled, measurement.Percent), cell(r.RSS, bytes), find, r.Via)
	}
	tw.Flush()
	if estimate {
		b.WriteString("~ an estimate (--json gives each figure's origin)\n")
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}
