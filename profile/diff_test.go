package profile

import (
	"strings"
	"testing"
)

func TestDiffClassifiesFrames(t *testing.T) {
	period := ValueType{"cpu", "nanoseconds"}
	base := mustParseBytes(t, synth(t, cpuTypes, period, []synthSample{
		cpuSample(100, "hot", "main"),
		cpuSample(3, "tiny", "main"),
		cpuSample(50, "removed", "main"),
		cpuSample(40, "steady", "main"),
	}))
	cur := mustParseBytes(t, synth(t, cpuTypes, period, []synthSample{
		cpuSample(150, "hot", "main"),
		cpuSample(4, "tiny", "main"),
		cpuSample(20, "added", "main"),
		cpuSample(40, "steady", "main"),
	}))
	d, err := NewDiff(base, cur, DiffOptions{Options: Options{SampleIndex: "samples"}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		change         Change
		deltaFlat, cum int64
	}{
		"hot":     {ChangeGrew, 50, 50},
		"tiny":    {ChangeNoise, 1, 1},
		"removed": {ChangeGone, -50, -50},
		"added":   {ChangeNew, 20, 20},
		"steady":  {ChangeNoDelta, 0, 0},
		// main's cum moved by 21 of 193 samples without flat change:
		// above the floor, so it grew.
		"main": {ChangeGrew, 0, 21},
	}
	if len(d.Rows) != len(want) {
		t.Fatalf("%d rows, want %d: %+v", len(d.Rows), len(want), d.Rows)
	}
	for _, r := range d.Rows {
		w := want[r.Name]
		if r.Change != w.change || r.DeltaFlat != w.deltaFlat || r.DeltaCum != w.cum {
			t.Errorf("%s: change %s Δflat %d Δcum %d, want %s %d %d", r.Name, r.Change, r.DeltaFlat, r.DeltaCum, w.change, w.deltaFlat, w.cum)
		}
	}
	if d.BaseTotal != 193 || d.Rows[0].Name != "removed" && d.Rows[0].Name != "hot" {
		t.Errorf("base total %d, first row %s", d.BaseTotal, d.Rows[0].Name)
	}
	var names []string
	for _, r := range d.Changes() {
		names = append(names, r.Name)
	}
	if got := strings.Join(names, ","); got != "hot,removed,main,added" {
		t.Errorf("changes = %s, want hot,removed,main,added", got)
	}
}

func TestDiffNormalizeCancelsScale(t *testing.T) {
	period := ValueType{"cpu", "nanoseconds"}
	base := mustParseBytes(t, synth(t, cpuTypes, period, []synthSample{cpuSample(10, "a", "main"), cpuSample(30, "b", "main")}))
	cur := mustParseBytes(t, synth(t, cpuTypes, period, []synthSample{cpuSample(20, "a", "main"), cpuSample(60, "b", "main")}))
	d, err := NewDiff(base, cur, DiffOptions{Normalize: true})
	if err != nil {
		t.Fatal(err)
	}
	if d.Ratio != 0.5 || d.NewTotal != d.BaseTotal {
		t.Errorf("ratio %v, totals %d %d", d.Ratio, d.BaseTotal, d.NewTotal)
	}
	if len(d.Changes()) != 0 {
		t.Errorf("a profile twice as long but the same shape shows changes: %+v", d.Changes())
	}
	abs, err := NewDiff(base, cur, DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(abs.Changes()) != 3 {
		t.Errorf("absolute diff: %d changes, want 3 (a, b, main grew)", len(abs.Changes()))
	}
}

// TestDiffMatchesDiffTop checks that the per-frame deltas are the figures the
// pprof-compatible diff top table (itself checked against go tool pprof)
// shows.
func TestDiffMatchesDiffTop(t *testing.T) {
	for _, c := range []struct{ base, cur string }{{"heap_base.pb.gz", "heap.pb.gz"}, {"cpu_base.pb.gz", "cpu.pb.gz"}} {
		for _, norm := range []bool{false, true} {
			base, cur := mustParseFile(t, fixtures+"/"+c.base), mustParseFile(t, fixtures+"/"+c.cur)
			top, err := NewDiffTop(base, cur, TopOptions{}, norm)
			if err != nil {
				t.Fatal(err)
			}
			d, err := NewDiff(base, cur, DiffOptions{Normalize: norm})
			if err != nil {
				t.Fatal(err)
			}
			if d.BaseTotal != top.Total {
				t.Errorf("%s: base total %d, top total %d", c.cur, d.BaseTotal, top.Total)
			}
			rows := map[string]DiffRow{}
			for _, r := range d.Rows {
				rows[r.Name] = r
			}
			for _, tr := range top.Rows {
				r, ok := rows[tr.Name]
				if !ok || r.DeltaFlat != tr.Flat || r.DeltaCum != tr.Cum {
					t.Errorf("%s normalize=%v: %s: diff %+v, top %+v", c.cur, norm, tr.Name, r, tr)
				}
			}
			if len(top.Rows) == 0 {
				t.Errorf("%s: empty diff top", c.cur)
			}
		}
	}
}

func TestDiffMismatch(t *testing.T) {
	heap, cpu := mustParseFile(t, fixtures+"/heap.pb.gz"), mustParseFile(t, fixtures+"/cpu.pb.gz")
	_, err := NewDiff(heap, cpu, DiffOptions{})
	if err == nil || !strings.Contains(err.Error(), "profile mismatch: cannot compare a heap profile") {
		t.Errorf("heap vs cpu: %v", err)
	}
	gor, mutex := mustParseFile(t, fixtures+"/goroutine.pb.gz"), mustParseFile(t, fixtures+"/mutex.pb.gz")
	_, err = NewDiffTop(gor, mutex, TopOptions{}, false)
	if err == nil || !strings.Contains(err.Error(), "cannot compare a goroutine profile (goroutine/count) with a mutex profile") {
		t.Errorf("goroutine vs mutex: %v", err)
	}
	// Mutex and block profiles have the same types: pprof diffs them, and
	// so do we; Kind still tells them apart.
	if k := mustParseFile(t, fixtures+"/block.pb.gz").Kind(); k != "block" || mutex.Kind() != "mutex" {
		t.Errorf("kinds: block profile is %q, mutex profile is %q", k, mutex.Kind())
	}
}
