package session

import (
	"strings"
	"testing"
	"time"
)

func TestRestartBetween(t *testing.T) {
	at := func(vals map[string]float64, origins map[string]string) *Sample {
		return &Sample{Time: t0, Values: vals, Origins: origins}
	}
	start := float64(t0.Add(-time.Hour).Unix())
	cases := []struct {
		name       string
		prev, cur  *Sample
		restart    bool
		whyHasPart string
	}{
		{"start changed", at(map[string]float64{ProcessStart: start, GCCycles: 10}, nil), at(map[string]float64{ProcessStart: start + 90, GCCycles: 12}, nil), true, "start time changed"},
		{"start within tolerance", at(map[string]float64{ProcessStart: start}, nil), at(map[string]float64{ProcessStart: start + 0.9}, nil), false, ""},
		// The start time says one process: counters are not asked.
		{"same start, counter back", at(map[string]float64{ProcessStart: start, GCCycles: 10}, nil), at(map[string]float64{ProcessStart: start, GCCycles: 2}, nil), false, ""},
		{"NumGC dropped", at(map[string]float64{GCCycles: 412, HeapAllocsBytes: 5e9}, nil), at(map[string]float64{GCCycles: 3, HeapAllocsBytes: 6e9}, nil), true, "GC cycles 412 → 3"},
		{"TotalAlloc dropped", at(map[string]float64{HeapAllocsBytes: 5e9}, nil), at(map[string]float64{HeapAllocsBytes: 1e6}, nil), true, "bytes allocated"},
		{"process CPU dropped", at(map[string]float64{ProcessCPU: 120.5}, nil), at(map[string]float64{ProcessCPU: 0.2}, nil), true, "process CPU seconds"},
		{"counters forward", at(map[string]float64{GCCycles: 3, ProcessCPU: 1}, nil), at(map[string]float64{GCCycles: 4, ProcessCPU: 1.5}, nil), false, ""},
		// A fused target that took the figure from another endpoint this
		// time (a cached reading) is not a restart.
		{"other origin", at(map[string]float64{GCCycles: 40}, map[string]string{GCCycles: "prometheus :9090 go_gc_cycles"}),
			at(map[string]float64{GCCycles: 39}, map[string]string{GCCycles: "pprof :6060 heap?debug=1 MemStats"}), false, ""},
		{"first sample", nil, at(map[string]float64{GCCycles: 1}, nil), false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			why, ok := RestartBetween(c.prev, c.cur)
			if ok != c.restart || !strings.Contains(why, c.whyHasPart) {
				t.Errorf("RestartBetween = %q, %v; want %v with %q", why, ok, c.restart, c.whyHasPart)
			}
		})
	}
}

func TestRestartString(t *testing.T) {
	at := time.Date(2026, 11, 21, 15, 4, 5, 0, time.Local)
	s1, s2 := at.Add(-time.Hour), at.Add(-2*time.Second)
	cases := []struct {
		r    Restart
		want string
	}{
		{Restart{At: at, FromPID: 4242, ToPID: 4250, FromStart: s1, ToStart: s2}, "target restarted at 15:04:05 (PID 4242 → 4250)"},
		{Restart{At: at, FromPID: 1, ToPID: 1, FromStart: s1, ToStart: s2}, "target restarted at 15:04:05 (PID 1, started 15:04:03)"},
		{Restart{At: at, FromStart: s1, ToStart: s2}, "target restarted at 15:04:05 (started 15:04:03, before 14:04:05)"},
		{Restart{At: at, Why: "counters went backwards (GC cycles 9 → 1)"}, "target restarted at 15:04:05 (counters went backwards (GC cycles 9 → 1))"},
	}
	for _, c := range cases {
		if got := c.r.String(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.r, got, c.want)
		}
	}
}

// Nothing is derived across a restart: not the marked point's rates (even
// when the new process's counters happen to be above the old one's), not
// the next point's GC CPU window.
func TestNoRateAcrossRestart(t *testing.T) {
	s := NewStore(100)
	start := float64(t0.Add(-time.Hour).Unix())
	for i := 0; i < 12; i++ {
		s.Append(sampleAt(i, map[string]float64{HeapAllocsBytes: float64(i) * 1e6, ProcessCPU: float64(i) * 0.1, GCCycles: float64(i),
			CPUTotal: float64(i) * 2, CPUGCTotal: float64(i) * 0.1, CPUGCIdle: 0, ProcessStart: start}))
	}
	if _, ok := s.Snapshot().Latest().Derived[AllocRate]; !ok {
		t.Fatal("no alloc rate before the restart: the test proves nothing")
	}
	newStart := float64(t0.Add(12 * time.Second).Unix())
	// The new process's counters are above the old one's: only the
	// marker keeps them apart.
	mk := func(sec int, k float64) Sample {
		return sampleAt(sec, map[string]float64{HeapAllocsBytes: 50e6 + k*1e6, ProcessCPU: 5 + k*0.2, GCCycles: 20 + k,
			CPUTotal: 40 + k*2, CPUGCTotal: 3 + k*0.1, CPUGCIdle: 0, ProcessStart: newStart})
	}
	tg := Target{PID: 2, StartTime: time.Unix(int64(newStart), 0)}
	p := s.AppendRestart(mk(13, 0), Restart{FromPID: 1, ToPID: 2, Why: "test"}, tg)
	if len(p.Derived) != 0 || p.Restart == nil || !p.Restart.At.Equal(p.Time) {
		t.Fatalf("marked point %+v derives %v", p.Restart, p.Derived)
	}
	snap := s.Snapshot()
	if snap.Target.PID != 2 || snap.LastRestart() == nil || snap.LastRestart().ToPID != 2 || snap.RestartInPoints() == nil {
		t.Fatalf("after the restart: target %+v, restarts %+v", snap.Target, snap.Restarts)
	}
	next := s.Append(mk(14, 1))
	if got, want := next.Derived[AllocRate], 1e6; got != want {
		t.Errorf("alloc rate after the restart %v, want %v (against the marked point only)", got, want)
	}
	// GC CPU over the window reaches back to the marked point, no further.
	if o := next.DerivedOrigins[GCCPU]; !strings.Contains(o, "over 1s") {
		t.Errorf("GC CPU origin after the restart %q, want a 1s window (from the marked point)", o)
	}
	// Later, the usual window: the newest point at least GCCPUWindow old.
	later := s.Append(mk(30, 17))
	if o := later.DerivedOrigins[GCCPU]; !strings.Contains(o, "over 16s") {
		t.Errorf("GC CPU origin 17 s after the restart %q, want 16s (from the point at 14 s)", o)
	}
}

func TestRestartsBounded(t *testing.T) {
	s := NewStore(10)
	for i := 0; i < maxRestarts+10; i++ {
		s.AppendRestart(sampleAt(i, map[string]float64{}), Restart{ToPID: i + 1}, Target{PID: i + 1})
	}
	snap := s.Snapshot()
	if len(snap.Restarts) != maxRestarts || snap.LastRestart().ToPID != maxRestarts+10 {
		t.Errorf("%d restarts kept, last %+v", len(snap.Restarts), snap.LastRestart())
	}
}
