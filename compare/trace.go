package compare

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/gotune/gotune/measurement"
	"github.com/gotune/gotune/snapshot"
	"github.com/gotune/gotune/trace"
)

// TraceComparison sets the execution traces of two snapshots side by side:
// the figures an operator compares after a change — the worst pause, the
// pauses' share of the trace, the MMU at 1, 10 and 100 ms, the scheduler
// latency p99 and the time blocked by reason. A trace is one sample of the
// program's behaviour: there is no noise estimate for one trace, so the
// rows are differences, not verdicts beyond noise.
type TraceComparison struct {
	Before TraceSide  `json:"before"`
	After  TraceSide  `json:"after"`
	Rows   []TraceRow `json:"rows"`
	// Notes say where the two traces do not compare like with like.
	Notes []string `json:"notes,omitempty"`
}

// TraceSide describes one side's trace.
type TraceSide struct {
	Source     string        `json:"source"` // "/debug/pprof/trace?seconds=5", "the agent's flight recorder"
	Duration   time.Duration `json:"duration_ns"`
	GOMAXPROCS int           `json:"gomaxprocs"`
	Truncated  bool          `json:"truncated,omitempty"`
}

// TraceRow is one figure of both traces. Before or After is nil when that
// trace has no such figure (an MMU window longer than the trace).
type TraceRow struct {
	Name string `json:"name"`
	// Unit is "seconds", "fraction" (the MMU, the pauses' share of the
	// trace) or "seconds/s" (goroutine-seconds per second of trace:
	// traces of different lengths compare as rates).
	Unit   string   `json:"unit"`
	Before *float64 `json:"before,omitempty"`
	After  *float64 `json:"after,omitempty"`
	// Better is the direction of an improvement: "lower" or "higher".
	Better string `json:"better"`
	// Detail says more for people: the pauses' reasons, the totals
	// behind a rate.
	Detail string `json:"detail,omitempty"`
}

// Change is After − Before, and whether it is an improvement; ok is false
// when a side has no figure or nothing changed.
func (r TraceRow) Change() (delta float64, improved, ok bool) {
	if r.Before == nil || r.After == nil || *r.After == *r.Before {
		return 0, false, false
	}
	d := *r.After - *r.Before
	return d, (d < 0) == (r.Better == "lower"), true
}

// TraceMMUWindows are the MMU windows compared.
var TraceMMUWindows = []time.Duration{time.Millisecond, 10 * time.Millisecond, 100 * time.Millisecond}

// traceCategories are the blocking reasons compared, in order.
var traceCategories = []trace.Category{trace.CatChannel, trace.CatSelect, trace.CatSync, trace.CatNetwork, trace.CatSyscall, trace.CatGCAssist}

// compareTrace is nil unless both snapshots hold an analysed trace.
func compareTrace(before, after *snapshot.Snapshot) *TraceComparison {
	if before.Trace == nil || after.Trace == nil || before.Trace.Summary == nil || after.Trace.Summary == nil {
		return nil
	}
	b, a := before.Trace.Summary, after.Trace.Summary
	side := func(c *trace.Captured) TraceSide {
		return TraceSide{Source: c.SourceText(), Duration: c.Summary.Duration, GOMAXPROCS: c.Summary.GOMAXPROCS, Truncated: c.Summary.Truncated}
	}
	tc := &TraceComparison{Before: side(before.Trace), After: side(after.Trace)}
	f := func(v float64) *float64 { return &v }
	perSec := func(d time.Duration, s *trace.Summary) *float64 {
		if s.Duration <= 0 {
			return nil
		}
		return f(d.Seconds() / s.Duration.Seconds())
	}

	worst := TraceRow{Name: "worst pause", Unit: "seconds", Better: "lower"}
	var reasons [2]string
	for i, s := range []*trace.Summary{b, a} {
		v, reason := 0.0, "none"
		if w, ok := s.Pauses.Worst(); ok {
			v, reason = w.Duration.Seconds(), w.Reason
		}
		reasons[i] = reason
		if i == 0 {
			worst.Before = f(v)
		} else {
			worst.After = f(v)
		}
	}
	worst.Detail = reasons[0] + " → " + reasons[1]
	tc.Rows = append(tc.Rows, worst)
	tc.Rows = append(tc.Rows, TraceRow{Name: "pauses (share of the trace)", Unit: "fraction", Better: "lower",
		Before: perSec(b.Pauses.Total, b), After: perSec(a.Pauses.Total, a),
		Detail: fmt.Sprintf("%d pauses, %s → %d pauses, %s", b.Pauses.Count, dur(b.Pauses.Total), a.Pauses.Count, dur(a.Pauses.Total))})
	for _, w := range TraceMMUWindows {
		tc.Rows = append(tc.Rows, TraceRow{Name: "MMU " + dur(w), Unit: "fraction", Better: "higher", Before: mmuAt(b, w), After: mmuAt(a, w)})
	}
	tc.Rows = append(tc.Rows, TraceRow{Name: "sched latency p99 (≈)", Unit: "seconds", Better: "lower",
		Before: f(b.Sched.P99.Seconds()), After: f(a.Sched.P99.Seconds()),
		Detail: fmt.Sprintf("max %s → %s", dur(b.Sched.Max), dur(a.Sched.Max))})
	for _, cat := range traceCategories {
		bt, at := reasonTotal(b, cat), reasonTotal(a, cat)
		if bt == 0 && at == 0 {
			continue
		}
		tc.Rows = append(tc.Rows, TraceRow{Name: "blocked: " + string(cat) + " (per second of trace)", Unit: "seconds/s", Better: "lower",
			Before: perSec(bt, b), After: perSec(at, a), Detail: fmt.Sprintf("total %s → %s", dur(bt), dur(at))})
	}

	if tc.Before.Source != tc.After.Source {
		tc.Notes = append(tc.Notes, fmt.Sprintf("the traces come from different sources: %s before, %s after", tc.Before.Source, tc.After.Source))
	}
	if bd, ad := b.Duration.Seconds(), a.Duration.Seconds(); bd > 0 && ad > 0 && max(bd, ad)/min(bd, ad) > windowRatioNote {
		tc.Notes = append(tc.Notes, fmt.Sprintf("the traces' lengths differ (%s before, %s after): pauses and blocking compare per second of trace, and a longer trace has more chances of a worst pause",
			dur(b.Duration), dur(a.Duration)))
	}
	if b.GOMAXPROCS != a.GOMAXPROCS && b.GOMAXPROCS > 0 && a.GOMAXPROCS > 0 {
		tc.Notes = append(tc.Notes, fmt.Sprintf("GOMAXPROCS differs: %d before, %d after (the MMU is a share of GOMAXPROCS)", b.GOMAXPROCS, a.GOMAXPROCS))
	}
	if b.Truncated || a.Truncated {
		tc.Notes = append(tc.Notes, "a trace is truncated: its figures cover what was read")
	}
	return tc
}

func mmuAt(s *trace.Summary, w time.Duration) *float64 {
	i := slices.IndexFunc(s.MMU, func(p trace.MMUPoint) bool { return p.Window == w })
	if i < 0 {
		return nil
	}
	v := s.MMU[i].MMU
	return &v
}

func reasonTotal(s *trace.Summary, c trace.Category) time.Duration {
	for _, r := range s.Blocking.Reasons {
		if r.Category == c {
			return r.Total
		}
	}
	return 0
}

func dur(d time.Duration) string { return measurement.Seconds(d.Seconds()) }

// traceValue formats one figure of a TraceRow.
func traceValue(unit string, v *float64) string {
	if v == nil {
		return "-"
	}
	switch unit {
	case "fraction":
		return measurement.Percent(*v)
	case "seconds/s":
		// Goroutine-seconds per second of trace: many goroutines blocked
		// at once make more than 1 s/s.
		return measurement.Seconds(*v) + "/s"
	}
	return measurement.Seconds(*v)
}

// Cells are the row as text: name, before, after, change, and whether
// the change is an improvement ("better", "worse", or "").
func (r TraceRow) Cells() []string {
	d, improved, ok := r.Change()
	change, verdict := "-", ""
	if ok {
		sign := "+"
		if d < 0 {
			sign = "-"
		}
		ad := math.Abs(d)
		switch r.Unit {
		case "seconds":
			change = sign + measurement.Seconds(ad)
		case "seconds/s":
			change = sign + measurement.Seconds(ad) + "/s"
		default:
			change = fmt.Sprintf("%s%.1f pp", sign, ad*100)
		}
		if *r.Before != 0 && r.Unit != "fraction" {
			change += fmt.Sprintf(" (%+.0f%%)", d / *r.Before * 100)
		}
		verdict = "worse"
		if improved {
			verdict = "better"
		}
	}
	return []string{r.Name, traceValue(r.Unit, r.Before), traceValue(r.Unit, r.After), change, verdict}
}

func (c *Comparison) writeTraceText(bw *errWriter) {
	tc := c.Trace
	if tc == nil {
		return
	}
	bw.printf("\nEXECUTION TRACE\n  before: %s, %s, GOMAXPROCS %d\n  after:  %s, %s, GOMAXPROCS %d\n", tc.Before.Source, dur(tc.Before.Duration), tc.Before.GOMAXPROCS,
		tc.After.Source, dur(tc.After.Duration), tc.After.GOMAXPROCS)
	for _, n := range tc.Notes {
		bw.printf("  note: %s\n", n)
	}
	for _, r := range tc.Rows {
		cs := r.Cells()
		bw.printf("  %-40s %10s %10s %18s  %s", cs[0], cs[1], cs[2], cs[3], cs[4])
		if r.Detail != "" {
			bw.printf("  (%s)", r.Detail)
		}
		bw.printf("\n")
	}
	bw.printf("  one trace per side: a difference, not a change measured beyond noise\n")
}

func (c *Comparison) writeTraceMarkdown(bw *errWriter) {
	tc := c.Trace
	if tc == nil {
		return
	}
	bw.printf("\n### Execution trace\n\n")
	bw.printf("- before: %s, %s, GOMAXPROCS %d\n- after: %s, %s, GOMAXPROCS %d\n\n", mdEscape(tc.Before.Source), dur(tc.Before.Duration), tc.Before.GOMAXPROCS,
		mdEscape(tc.After.Source), dur(tc.After.Duration), tc.After.GOMAXPROCS)
	for _, n := range tc.Notes {
		bw.printf("> **Note:** %s\n>\n", mdEscape(n))
	}
	if len(tc.Notes) > 0 {
		bw.printf("\n")
	}
	bw.printf("| figure | before | after | change | | |\n|---|---:|---:|---:|---|---|\n")
	for _, r := range tc.Rows {
		cs := r.Cells()
		bw.printf("| %s | %s | %s | %s | %s | %s |\n", mdEscape(cs[0]), cs[1], cs[2], cs[3], cs[4], mdEscape(r.Detail))
	}
	bw.printf("\nOne trace per side: a difference, not a change measured beyond noise.\n")
}
