package compare

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/trace"
)

func fixtureSummary(t *testing.T) *trace.Summary {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "testdata", "traces", "stw.trace"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := trace.Analyze(context.Background(), bytes.NewReader(raw), trace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func row(tc *TraceComparison, name string) TraceRow {
	for _, r := range tc.Rows {
		if r.Name == name {
			return r
		}
	}
	return TraceRow{}
}

// Two traces compare figure by figure: worst pause, pauses' share, MMU at
// 1, 10 and 100 ms, sched p99 and blocking per second of trace, with notes
// where they are not like with like.
func TestCompareTraces(t *testing.T) {
	b := fixtureSummary(t)
	// The after trace: the world stops quickly, the trace is twice as
	// long, a window is missing, GOMAXPROCS 4.
	a := *b
	a.Duration = 2 * b.Duration
	a.GOMAXPROCS = 4
	a.Pauses.List = []trace.Pause{{Duration: 2 * time.Millisecond, Reason: "GC mark termination"}}
	a.Pauses.Total = 4 * time.Millisecond
	a.MMU = slices.DeleteFunc(slices.Clone(b.MMU), func(p trace.MMUPoint) bool { return p.Window == 100*time.Millisecond })
	// The same blocking totals over twice the time: half the rates.
	before := snap("before", []float64{0.1, 0.1}, []float64{1, 1}, "", "", "", nil)
	after := snap("after", []float64{0.1, 0.1}, []float64{1, 1}, "", "", "", nil)
	if Compare(before, after).Trace != nil {
		t.Fatal("a trace comparison without traces")
	}
	before.Trace = &trace.Captured{Source: trace.SourcePprof, Seconds: 1, Summary: b}
	after.Trace = &trace.Captured{Source: trace.SourceFlightRecorder, Summary: &a}
	if Compare(before, snap("x", []float64{0.1}, []float64{1}, "", "", "", nil)).Trace != nil {
		t.Fatal("a trace comparison with one trace")
	}
	tc := Compare(before, after).Trace
	if tc == nil {
		t.Fatal("no trace comparison")
	}
	w := row(tc, "worst pause")
	if *w.Before != b.Pauses.List[0].Duration.Seconds() || *w.After != 0.002 || w.Detail != "GC sweep termination → GC mark termination" {
		t.Errorf("worst pause row %+v (%v → %v)", w, *w.Before, *w.After)
	}
	if d, better, ok := w.Change(); !ok || !better || d >= 0 {
		t.Errorf("a shorter worst pause is not better: %v %v %v", d, better, ok)
	}
	if cs := w.Cells(); cs[2] != "2.00ms" || cs[4] != "better" || !strings.HasPrefix(cs[3], "-") {
		t.Errorf("cells %q", cs)
	}
	ps := row(tc, "pauses (share of the trace)")
	if got, want := *ps.After, 0.004/a.Duration.Seconds(); got != want {
		t.Errorf("pause share after %v, want %v", got, want)
	}
	if m := row(tc, "MMU 100ms"); m.Before == nil || m.After != nil || m.Cells()[2] != "-" || m.Cells()[4] != "" {
		t.Errorf("MMU 100ms row %+v", m)
	}
	if m := row(tc, "MMU 1.00ms"); m.Before == nil || m.After == nil || m.Better != "higher" {
		t.Errorf("MMU 1ms row %+v", m)
	}
	ch := row(tc, "blocked: channel (per second of trace)")
	if ch.Before == nil || *ch.After*2 != *ch.Before || !strings.HasPrefix(ch.Detail, "total 363ms → 363ms") {
		t.Errorf("channel row %+v", ch)
	}
	if row(tc, "blocked: network (per second of trace)").Name != "" {
		t.Error("a reason neither trace has is listed")
	}
	notes := strings.Join(tc.Notes, "\n")
	for _, want := range []string{"different sources: /debug/pprof/trace?seconds=1 before, the agent's flight recorder after", "lengths differ", "GOMAXPROCS differs: 2 before, 4 after"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
	c := Compare(before, after)
	var text, md bytes.Buffer
	if err := c.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"EXECUTION TRACE", "worst pause", "sched latency p99 (≈)", "not a change measured beyond noise"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	if !strings.Contains(md.String(), "### Execution trace") || !strings.Contains(md.String(), "| worst pause | 102ms | 2.00ms |") {
		t.Errorf("markdown:\n%s", md.String())
	}
}
