package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/gotune/gotune/collectors/effective"
	"github.com/gotune/gotune/measurement"
	"github.com/gotune/gotune/session"
)

// printer writes what watch sees: a fresh point, or a status when no sample
// arrived in time.
type printer interface {
	// point prints p; restart, when not nil, is the restart marked on p
	// or on a point since the last one printed.
	point(snap *session.Snapshot, p *session.Point, restart *session.Restart) error
	stale(snap *session.Snapshot, now time.Time) error
}

// linePrinter prints one aligned text line per interval (--plain).
type linePrinter struct {
	w            io.Writer
	target       string
	lines        int
	lastVia      string
	lastSettings string
}

// lineHeader names the columns; every CPU figure is in cores (CPU seconds
// per second): the GC CPU paid, the idle-priority marking apart, and the
// process's CPU as the OS measures it.
const lineHeader = "TIME      HEAP LIVE / GOAL        GC CPU  IDLE GC   GC/s  PAUSE p99  GOROUTINES  SCHED p99    CPU      RSS"

func (l *linePrinter) point(snap *session.Snapshot, p *session.Point, restart *session.Restart) error {
	if restart != nil {
		fmt.Fprintf(l.w, "# %s\n", restartText(*restart))
		l.lastVia, l.lastSettings = "", "" // the new process's sources and settings, said again
	}
	if p.Source != l.lastVia {
		l.lastVia = p.Source
		via := p.Source
		if labels := p.SourceLabels(); len(labels) > 0 {
			via = strings.Join(labels, " + ") // with ports: "prometheus :9090 + pprof :6060 + /proc/4242"
		}
		fmt.Fprintf(l.w, "# %s · metrics via %s", l.target, via)
		if len(p.Missing) > 0 {
			fmt.Fprintf(l.w, " · missing: %s", strings.Join(shortNames(p.Missing), ", "))
		}
		fmt.Fprintln(l.w)
		l.lines = 0
	}
	if ex := snap.Facts.Settings; ex != nil {
		if text := settingsText(*ex); text != l.lastSettings {
			l.lastSettings = text
			fmt.Fprint(l.w, text)
			l.lines = 0
		}
	}
	if l.lines%20 == 0 {
		fmt.Fprintln(l.w, lineHeader)
	}
	l.lines++
	_, err := fmt.Fprintln(l.w, FormatLine(p))
	return err
}

// FormatLine renders one point as an aligned text line; a figure the source
// cannot give, or cannot give yet (rates need two samples), is "-".
func FormatLine(p *session.Point) string {
	v := func(name string) float64 {
		if x, ok := p.Values[name]; ok {
			return x
		}
		return math.NaN()
	}
	d := func(name string) float64 {
		if x, ok := p.Derived[name]; ok {
			return x
		}
		return math.NaN()
	}
	// The marked live heap, else its estimate marked "~" (never HeapAlloc).
	live, origin, ok := p.HeapLiveOrEstimate()
	if !ok {
		live = math.NaN()
	}
	heap := measurement.Bytes(live) + " / " + measurement.Bytes(v(session.HeapGoal))
	if ok && session.IsEstimate(origin) {
		heap = "~" + heap
	}
	cores := func(v float64) string {
		if math.IsNaN(v) {
			return "-"
		}
		return strings.TrimSuffix(measurement.Cores(v), " cores")
	}
	idle := d(session.GCCPUIdle) * v(session.GOMAXPROCS)
	gcs := "-"
	if r := d(session.GCRate); !math.IsNaN(r) {
		gcs = fmt.Sprintf("%.1f", r)
	}
	gcv, ok := session.GCCPUCoresOf(p)
	if !ok {
		gcv = math.NaN()
	}
	gc := cores(gcv)
	if d(session.GCCPUExceedsOS) == 1 {
		// The runtime's estimate is above the CPU the OS gave the whole
		// process (a busy host, a throttled cgroup): an upper bound.
		gc = "≤" + gc
	}
	line := fmt.Sprintf("%-8s  %-22s  %6s  %7s  %5s  %9s  %10s  %9s  %5s  %9s",
		p.Time.Local().Format("15:04:05"), heap,
		gc, cores(idle), gcs,
		measurement.Seconds(d(session.PauseP99)),
		measurement.Count(v(session.Goroutines)),
		measurement.Seconds(d(session.SchedLatP99)),
		cores(d(session.ProcessCPUFrac)), measurement.Bytes(v(session.ProcessRSS)))
	return strings.TrimRight(line, " ")
}

func (l *linePrinter) stale(snap *session.Snapshot, now time.Time) error {
	st, _ := snap.StatusOf("metrics")
	_, err := fmt.Fprintln(l.w, staleText(snap, st, now))
	return err
}

// restartText is the restart's status line with how it was seen and what
// it means for the figures.
func restartText(r session.Restart) string {
	s := r.String()
	if r.Why != "" && !strings.HasSuffix(s, "("+r.Why+")") {
		s += ": " + r.Why
	}
	return s + "; the figures from here are the new process's, and no rate spans the restart"
}

func staleText(snap *session.Snapshot, st session.Status, now time.Time) string {
	var b strings.Builder
	b.WriteString(now.Local().Format("15:04:05"))
	b.WriteString("  ")
	switch {
	case st.Exited:
		at := snap.Target.ExitedAt
		if at.IsZero() {
			at = st.LostAt
		}
		fmt.Fprintf(&b, "target exited at %s", at.Local().Format("15:04:05"))
	case st.Lost:
		fmt.Fprintf(&b, "target lost at %s", st.LostAt.Local().Format("15:04:05"))
	case st.Failures > 0:
		b.WriteString("no sample")
	case snap.Latest() != nil:
		fmt.Fprintf(&b, "no new sample for %s", now.Sub(snap.Latest().Time).Round(100*time.Millisecond))
	default:
		b.WriteString("waiting for the first sample")
	}
	if st.Failures > 0 && st.LastErr != "" {
		b.WriteString(": ")
		b.WriteString(st.LastErr)
	}
	if p := snap.Latest(); p != nil {
		fmt.Fprintf(&b, " (last sample %s, %d kept)", p.Time.Local().Format("15:04:05"), len(snap.Points))
	}
	if st.Backoff > 0 {
		fmt.Fprintf(&b, "; retrying every %s", st.Backoff)
	}
	return b.String()
}

// settingsText renders the effective settings as header lines.
func settingsText(ex effective.Explanation) string {
	var b strings.Builder
	for _, s := range ex.Settings() {
		fmt.Fprintf(&b, "# %-10s %-9s %s\n", s.Name, s.Value, s.Reason)
	}
	return b.String()
}

// shortNames strips the unit from metric names for compact messages.
func shortNames(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i], _, _ = strings.Cut(n, ":")
	}
	return out
}

// jsonPrinter prints one JSON object per line (NDJSON).
type jsonPrinter struct {
	w      io.Writer
	target string
}

// Record is one NDJSON line of `gotune attach --json`.
type Record struct {
	Time       time.Time              `json:"time"`
	Target     string                 `json:"target"`
	PID        int                    `json:"pid,omitempty"`
	Fresh      bool                   `json:"fresh"` // false: no new sample this interval
	SampleTime *time.Time             `json:"sample_time,omitempty"`
	Source     SourceRecord           `json:"source"`
	Missing    []string               `json:"missing,omitempty"`
	Hint       string                 `json:"hint,omitempty"` // how to enable profiles, for an OS-only target
	Settings   *effective.Explanation `json:"settings,omitempty"`
	Metrics    map[string]float64     `json:"metrics,omitempty"`
	Derived    map[string]float64     `json:"derived,omitempty"`
	// Origins say where each metric and histogram came from, and
	// DerivedOrigins how each derived figure was computed; an estimate's
	// starts "estimate: " (see docs/attach-json.md).
	Origins        map[string]string `json:"origins,omitempty"`
	DerivedOrigins map[string]string `json:"derived_origins,omitempty"`
	// Note is the metrics collector's note on its cadence and sources.
	Note string `json:"note,omitempty"`
	// Restart is set on the first record of a new process: the target
	// restarted since the record before (see docs/attach-json.md).
	Restart *RestartRecord `json:"restart,omitempty"`
	// Exited is when a PID target's process was found gone for good;
	// the watch ends after this record.
	Exited *time.Time `json:"exited_at,omitempty"`
}

// RestartRecord is a restart of the target in a Record.
type RestartRecord struct {
	At        time.Time  `json:"at"`
	FromPID   int        `json:"from_pid,omitempty"`
	ToPID     int        `json:"to_pid,omitempty"`
	FromStart *time.Time `json:"from_start,omitempty"`
	ToStart   *time.Time `json:"to_start,omitempty"`
	Why       string     `json:"why,omitempty"`
	Text      string     `json:"text"`
}

func restartRecord(r session.Restart) *RestartRecord {
	rec := &RestartRecord{At: r.At, FromPID: r.FromPID, ToPID: r.ToPID, Why: r.Why, Text: r.String()}
	if !r.FromStart.IsZero() {
		t := r.FromStart
		rec.FromStart = &t
	}
	if !r.ToStart.IsZero() {
		t := r.ToStart
		rec.ToStart = &t
	}
	return rec
}

// SourceRecord is the status of the metrics collector in a Record.
type SourceRecord struct {
	Via       string     `json:"via,omitempty"`
	OK        bool       `json:"ok"`
	LastOK    *time.Time `json:"last_ok,omitempty"`
	LatencyMS float64    `json:"latency_ms,omitempty"`
	Error     string     `json:"error,omitempty"`
	Failures  int        `json:"failures,omitempty"`
	Dropped   int        `json:"dropped,omitempty"`
	Lost      bool       `json:"lost,omitempty"`
	LostAt    *time.Time `json:"lost_at,omitempty"`
	// Exited: the process is gone for good (a PID target); nothing is
	// retried.
	Exited bool `json:"exited,omitempty"`
}

func sourceRecord(st session.Status) SourceRecord {
	r := SourceRecord{Via: st.Via, OK: st.Failures == 0 && !st.LastOK.IsZero(), Failures: st.Failures,
		Dropped: st.Dropped, Lost: st.Lost, Exited: st.Exited, LatencyMS: float64(st.Latency.Microseconds()) / 1000}
	if !st.LastOK.IsZero() {
		t := st.LastOK
		r.LastOK = &t
	}
	if st.Failures > 0 {
		r.Error = st.LastErr
	}
	if st.Lost {
		t := st.LostAt
		r.LostAt = &t
	}
	return r
}

func (j *jsonPrinter) point(snap *session.Snapshot, p *session.Point, restart *session.Restart) error {
	st, _ := snap.StatusOf("metrics")
	t := p.Time
	rec := Record{Time: time.Now(), Target: j.target, PID: snap.Target.PID, Fresh: true, SampleTime: &t,
		Source: sourceRecord(st), Missing: p.Missing, Metrics: finite(p.Values), Derived: finite(p.Derived),
		Origins: p.Origins, DerivedOrigins: p.DerivedOrigins, Note: st.Note}
	if restart != nil {
		rec.Restart = restartRecord(*restart)
	}
	addFacts(&rec, snap)
	// The sample says how it was read: "os" when the metrics source failed
	// this time and only the OS figures came through.
	rec.Source.Via = p.Source
	rec.Source.OK = p.Source != "os" || st.Via == "os" || st.Via == ""
	return j.write(rec)
}

func (j *jsonPrinter) stale(snap *session.Snapshot, now time.Time) error {
	st, _ := snap.StatusOf("metrics")
	rec := Record{Time: now, Target: j.target, PID: snap.Target.PID, Source: sourceRecord(st)}
	addFacts(&rec, snap)
	if rec.Source.Error == "" && st.LastErr != "" {
		rec.Source.Error = st.LastErr
	}
	return j.write(rec)
}

func addFacts(rec *Record, snap *session.Snapshot) {
	rec.Settings = snap.Facts.Settings
	if at := snap.Target.ExitedAt; !at.IsZero() {
		rec.Exited = &at
	}
	if r := snap.Facts.Reach; r != nil && r.OSOnly {
		rec.Hint = r.Hint
	}
}

func (j *jsonPrinter) write(rec Record) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	_, err = j.w.Write(b)
	return err
}

// finite drops NaN and ±Inf, which JSON cannot carry (GOGC=off is +Inf
// nowhere: runtime/metrics reports it as the maximum uint64, a finite number).
func finite(m map[string]float64) map[string]float64 {
	out := make(map[string]float64, len(m))
	for k, v := range m {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			out[k] = v
		}
	}
	return out
}
