package trace

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"slices"
	"testing"

	xtrace "golang.org/x/exp/trace"
)

// TestMMUAssistActiveWhileRunnable reads a real 1 s trace of the demo
// taken on a loaded machine (testdata/traces/README.md). In its first
// generation the reader reports mark assists as already active for
// goroutines that are runnable, not running, and the goroutine starts
// running just after. Counted at the report and again at the run, as
// internal/trace counts them, a P's GC count never returns to zero and the
// utilisation stays at ½ or 0 to the end: the dashboard said "the trace is
// too short for a 1 ms window" on a 2 s trace. Counted once, every P's
// count is back at zero at the end and the MMU curve covers the trace.
func TestMMUAssistActiveWhileRunnable(t *testing.T) {
	f, err := os.Open("../testdata/traces/assist-active.trace.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}

	// Feed both builders every event; count the reports this is about.
	own, compat := newMMUBuilder(false), newMMUBuilder(true)
	tr, err := xtrace.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	runnable := 0
	for {
		ev, err := tr.ReadEvent()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var st xtrace.StateTransition
		if ev.Kind() == xtrace.EventStateTransition {
			st = ev.StateTransition()
		}
		if ev.Kind() == xtrace.EventRangeActive && ev.Range().Name == rangeAssist && own.nSync <= 1 &&
			!own.states[ev.Range().Scope.Goroutine()].Executing() {
			runnable++
		}
		own.event(&ev, &st)
		compat.event(&ev, &st)
	}
	if runnable == 0 {
		t.Fatal("the fixture has no assist reported active for a goroutine that is not running")
	}
	t.Logf("%d assists reported active for goroutines not running; GC counts at the end: %v (internal/trace's reading %v)", runnable, own.ps, compat.ps)
	if !slices.Equal(own.ps, []int{0, 0}) {
		t.Errorf("GC counts per P at the end of the trace: %v, want [0 0]", own.ps)
	}

	s, err := Analyze(context.Background(), bytes.NewReader(data), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.MMU) != len(DefaultWindows) {
		t.Fatalf("MMU at %d windows for a %s trace, want all %d", len(s.MMU), s.Duration, len(DefaultWindows))
	}
	// The demo's mutator keeps about three quarters of the Ps over a
	// second (77.9 %); the double count held it at 38.1 %.
	if m := s.MMU[len(s.MMU)-1]; m.Window != DefaultWindows[len(DefaultWindows)-1] || m.MMU < 0.7 || m.MMU > 0.85 {
		t.Errorf("MMU over %s = %.3f, want 0.70–0.85", m.Window, m.MMU)
	}
}
