package session

import (
	"math"
	"testing"
	"time"

	"github.com/gotune/gotune/internal/testproc"
)

var t0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func sampleAt(sec int, vals map[string]float64) Sample {
	return Sample{Time: t0.Add(time.Duration(sec) * time.Second), Source: "test", Values: vals}
}

func TestStoreWrapsAround(t *testing.T) {
	s := NewStore(4)
	for i := 0; i < 10; i++ {
		s.Append(sampleAt(i, map[string]float64{Goroutines: float64(i)}))
	}
	snap := s.Snapshot()
	if len(snap.Points) != 4 {
		t.Fatalf("kept %d points, want 4", len(snap.Points))
	}
	for i, p := range snap.Points {
		if got, want := p.Values[Goroutines], float64(6+i); got != want {
			t.Errorf("point %d: goroutines %v, want %v (oldest first after wrap)", i, got, want)
		}
	}
	if snap.Latest().Values[Goroutines] != 9 {
		t.Errorf("latest = %v, want 9", snap.Latest().Values[Goroutines])
	}
}

func TestSnapshotIsImmutable(t *testing.T) {
	s := NewStore(3)
	s.Append(sampleAt(0, map[string]float64{Goroutines: 1}))
	old := s.Snapshot()
	for i := 1; i < 10; i++ {
		s.Append(sampleAt(i, map[string]float64{Goroutines: float64(i + 1)}))
	}
	if len(old.Points) != 1 || old.Points[0].Values[Goroutines] != 1 {
		t.Fatalf("an old snapshot changed after later writes: %+v", old.Points)
	}
	if s.Snapshot().Seq <= old.Seq {
		t.Errorf("seq did not advance: %d <= %d", s.Snapshot().Seq, old.Seq)
	}
}

// A reader that never drains Changed must not hold up the writer: many
// appends complete and the channel holds a single coalesced signal.
func TestSlowReaderNeverBlocksWriter(t *testing.T) {
	s := NewStore(16)
	done := make(chan struct{})
	go func() {
		for i := 0; i < 10000; i++ {
			s.Append(sampleAt(i, map[string]float64{Goroutines: float64(i)}))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(testproc.MinWait): // a deadlock guard, not a timing assertion
		t.Fatal("writer blocked behind a reader that never reads")
	}
	if n := len(s.Changed()); n != 1 {
		t.Errorf("changed holds %d signals, want 1 (coalesced)", n)
	}
	<-s.Changed()
	if got := s.Snapshot().Latest().Values[Goroutines]; got != 9999 {
		t.Errorf("latest = %v, want 9999", got)
	}
}

func TestConcurrentReadersSeeConsistentSnapshots(t *testing.T) {
	s := NewStore(8)
	stop := make(chan struct{})
	errs := make(chan string, 1)
	for r := 0; r < 4; r++ {
		go func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				snap := s.Snapshot()
				for i := 1; i < len(snap.Points); i++ {
					if !snap.Points[i].Time.After(snap.Points[i-1].Time) {
						select {
						case errs <- "points out of order in a snapshot":
						default:
						}
						return
					}
				}
			}
		}()
	}
	for i := 0; i < 5000; i++ {
		s.Append(sampleAt(i, map[string]float64{}))
	}
	close(stop)
	select {
	case e := <-errs:
		t.Fatal(e)
	default:
	}
}

func TestDeriveRates(t *testing.T) {
	prev := sampleAt(0, map[string]float64{HeapAllocsBytes: 1000, GCCycles: 10, ProcessCPU: 1.0, CPUTotal: 100, CPUGCTotal: 10, CPUGCAssist: 1})
	cur := sampleAt(2, map[string]float64{HeapAllocsBytes: 5000, GCCycles: 14, ProcessCPU: 2.5, CPUTotal: 104, CPUGCTotal: 11, CPUGCAssist: 1.2})
	d := Derive(&prev, &cur, nil)
	want := map[string]float64{AllocRate: 2000, GCRate: 2, ProcessCPUFrac: 0.75, GCCPU: 0.25, GCAssistCPU: 0.05}
	for k, w := range want {
		if got, ok := d[k]; !ok || math.Abs(got-w) > 1e-9 {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, w)
		}
	}
}

func TestDeriveRestartGivesNoFigure(t *testing.T) {
	prev := sampleAt(0, map[string]float64{HeapAllocsBytes: 5000, GCCycles: 14})
	cur := sampleAt(1, map[string]float64{HeapAllocsBytes: 100, GCCycles: 1})
	d := Derive(&prev, &cur, nil)
	if _, ok := d[AllocRate]; ok {
		t.Errorf("alloc rate derived across a restart: %v", d[AllocRate])
	}
	if _, ok := d[GCRate]; ok {
		t.Errorf("gc rate derived across a restart")
	}
}

func TestDeriveGCCPUUsesWindowBase(t *testing.T) {
	base := sampleAt(0, map[string]float64{CPUTotal: 100, CPUGCTotal: 10})
	prev := sampleAt(9, map[string]float64{CPUTotal: 120, CPUGCTotal: 12})
	cur := sampleAt(10, map[string]float64{CPUTotal: 120, CPUGCTotal: 12}) // no GC ended in the last second
	if _, ok := Derive(&prev, &cur, nil)[GCCPU]; ok {
		t.Errorf("GC CPU derived from a 0/0 one-second delta")
	}
	if got := Derive(&prev, &cur, &base)[GCCPU]; math.Abs(got-0.1) > 1e-9 {
		t.Errorf("GC CPU over the window = %v, want 0.1", got)
	}
}

func TestHistogramQuantilesFromDeltas(t *testing.T) {
	b := []float64{math.Inf(-1), 0.001, 0.01, 0.1, math.Inf(1)}
	prev := Sample{Time: t0, Histograms: map[string]*Histogram{SchedLatencies: {Buckets: b, Counts: []uint64{0, 100, 0, 0}}}}
	cur := Sample{Time: t0.Add(time.Second), Histograms: map[string]*Histogram{SchedLatencies: {Buckets: b, Counts: []uint64{0, 150, 48, 2}}}}
	d := Derive(&prev, &cur, nil)
	// Interval: 50 in [1ms,10ms), 48 in [10ms,100ms), 2 in [100ms,+Inf).
	if got := d[SchedLatP50]; got != 0.01 {
		t.Errorf("p50 = %v, want 0.01 (upper bound of the bucket holding the 50th of 100)", got)
	}
	if got := d[SchedLatP99]; got != 0.1 {
		t.Errorf("p99 = %v, want 0.1 (+Inf upper bound falls back to the lower)", got)
	}
}

func TestHistogramSubRejectsLayoutChange(t *testing.T) {
	a := &Histogram{Buckets: []float64{0, 1, 2}, Counts: []uint64{1, 1}}
	b := &Histogram{Buckets: []float64{0, 1}, Counts: []uint64{5}}
	if a.Sub(b) != nil {
		t.Error("Sub across different layouts returned a histogram")
	}
	c := &Histogram{Buckets: []float64{0, 1, 2}, Counts: []uint64{0, 3}}
	if c.Sub(a) != nil {
		t.Error("Sub with a count going backwards returned a histogram")
	}
}

func BenchmarkStoreAppend(b *testing.B) {
	s := NewStore(DefaultCapacity)
	vals := map[string]float64{Goroutines: 1, HeapLive: 1 << 20}
	i := 0
	for b.Loop() {
		s.Append(sampleAt(i, vals))
		i++
	}
}
