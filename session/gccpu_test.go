package session

import (
	"math"
	"strings"
	"testing"
)

// GC CPU from /cpu/classes: the paid share leaves idle marking out, which
// is shown apart, and both are in GOMAXPROCS × wall; in cores too.
func TestGCCPUPaidAndIdleApart(t *testing.T) {
	base := sampleAt(0, map[string]float64{CPUTotal: 100, CPUGCTotal: 10, CPUGCIdle: 4, GOMAXPROCS: 4, ProcessCPU: 50})
	cur := sampleAt(10, map[string]float64{CPUTotal: 140, CPUGCTotal: 16, CPUGCIdle: 8, GOMAXPROCS: 4, ProcessCPU: 60})
	d, o := DeriveWithOrigins(&base, &cur, &base)
	want := map[string]float64{
		GCCPU:          (6.0 - 4) / 40, // (Δgc − Δidle) / Δtotal
		GCCPUIdle:      4.0 / 40,
		GCCPUCores:     (6.0 - 4) / 10, // paid GC CPU-seconds per wall second
		ProcessCPUFrac: 1,
		ProcessCPUGo:   0.25,
		GCCPUExceedsOS: 0, // 6 GC cpu-seconds within the 10 the OS measured
	}
	for k, w := range want {
		if got, ok := d[k]; !ok || math.Abs(got-w) > 1e-9 {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, w)
		}
	}
	if !strings.Contains(o[GCCPU], "gc/mark/idle") || IsEstimate(o[GCCPU]) {
		t.Errorf("GC CPU origin %q", o[GCCPU])
	}
}

// The runtime's GC CPU above the CPU the OS gave the whole process (P wall
// time while threads were descheduled) is flagged.
func TestGCCPUExceedsOSFlag(t *testing.T) {
	base := sampleAt(0, map[string]float64{CPUTotal: 100, CPUGCTotal: 10, CPUGCIdle: 1, ProcessCPU: 5})
	cur := sampleAt(10, map[string]float64{CPUTotal: 140, CPUGCTotal: 15.5, CPUGCIdle: 1, ProcessCPU: 7.4}) // GC 5.5 s, OS 2.4 s
	d, o := DeriveWithOrigins(&base, &cur, &base)
	if d[GCCPUExceedsOS] != 1 || !strings.Contains(o[GCCPUExceedsOS], "more than the 2.40 the OS measured") {
		t.Errorf("flag %v: %q", d[GCCPUExceedsOS], o[GCCPUExceedsOS])
	}
	// Within the tolerance (10 % + 50 ms): not flagged.
	cur.Values[ProcessCPU] = 5 + 5.1
	if d := Derive(&base, &cur, &base); d[GCCPUExceedsOS] != 0 {
		t.Errorf("flagged within the tolerance: %v", d)
	}
	// Without the OS figure: no flag at all.
	delete(cur.Values, ProcessCPU)
	if _, ok := Derive(&base, &cur, &base)[GCCPUExceedsOS]; ok {
		t.Error("flag without an OS figure")
	}
}

// GC CPU from MemStats: GCCPUFraction is the paid GC CPU since the start
// over GOMAXPROCS × (LastGC − start); its deltas give the window's share,
// labelled an estimate. The figures are cycles 5 and 7 of a real run at
// GOMAXPROCS=2, where GCCPUFraction × uptime × 2 matched the runtime's own
// gc/total − gc/mark/idle to 0.1 ms.
func TestGCCPUFromMemStatsDeltas(t *testing.T) {
	const start = 1_800_000_000.0
	mk := func(sec int, f, up float64, n float64) Sample {
		return sampleAt(sec, map[string]float64{MemStatsGCCPUFraction: f, MemStatsLastGC: start + up, ProcessStart: start, GCCycles: n, GOMAXPROCS: 2, ProcessCPU: float64(sec) * 0.5})
	}
	base := mk(0, 0.00070, 2.013, 5) // paid 0.00141 s per P
	cur := mk(4, 0.00029, 5.665, 7)  // paid 0.00164 s per P
	d, o := DeriveWithOrigins(&base, &cur, &base)
	want := (0.00029*5.665 - 0.00070*2.013) / 4
	if got := d[GCCPU]; math.Abs(got-want) > 1e-9 {
		t.Errorf("GC CPU %v, want %v", got, want)
	}
	if got := d[GCCPUCores]; math.Abs(got-2*want) > 1e-9 {
		t.Errorf("GC CPU cores %v, want %v", got, 2*want)
	}
	if !IsEstimate(o[GCCPU]) || !strings.Contains(o[GCCPU], "GCCPUFraction") {
		t.Errorf("origin %q: want an estimate from GCCPUFraction", o[GCCPU])
	}
	if _, ok := d[GCCPUIdle]; ok {
		t.Error("idle marking from MemStats, which has none")
	}
	if _, ok := d[GCCPUExceedsOS]; !ok {
		t.Error("no OS check with GOMAXPROCS and process CPU known")
	}
	// No start time: no figure.
	delete(cur.Values, ProcessStart)
	if _, ok := Derive(&base, &cur, &base)[GCCPU]; ok {
		t.Error("GC CPU from MemStats without the process start")
	}
	// A restart (another start, or fewer cycles): no figure.
	cur = mk(4, 0.00029, 5.665, 7)
	cur.Values[ProcessStart] = start + 100
	if _, ok := Derive(&base, &cur, &base)[GCCPU]; ok {
		t.Error("GC CPU across a restart")
	}
	cur = mk(4, 0.00029, 5.665, 3)
	if _, ok := Derive(&base, &cur, &base)[GCCPU]; ok {
		t.Error("GC CPU with cycles going backwards")
	}
	// /cpu/classes win when both are there.
	cur = mk(4, 0.00029, 5.665, 7)
	base.Values[CPUTotal], base.Values[CPUGCTotal], cur.Values[CPUTotal], cur.Values[CPUGCTotal] = 10, 1, 18, 2
	if _, o := DeriveWithOrigins(&base, &cur, &base); IsEstimate(o[GCCPU]) {
		t.Errorf("MemStats preferred over /cpu/classes: %q", o[GCCPU])
	}
	v, src, ok := GCCPUBetween(&base, &cur)
	if !ok || math.Abs(v-1.0/8) > 1e-9 || !strings.Contains(src, "/cpu/classes") {
		t.Errorf("GCCPUBetween = %v %q %v", v, src, ok)
	}
}

func TestEstimateHeapLive(t *testing.T) {
	cases := []struct {
		name string
		in   HeapLiveInput
		want float64
		why  string
	}{
		{"GOGC=100", HeapLiveInput{Goal: 200 << 20, GOGC: 100}, 100 << 20, ""},
		{"GOGC=25", HeapLiveInput{Goal: 125 << 20, GOGC: 25}, 100 << 20, ""},
		{"GOGC=0", HeapLiveInput{Goal: 64 << 20, GOGC: 0}, 64 << 20, ""},
		{"GOGC=off", HeapLiveInput{Goal: 900 << 20, GOGC: math.MaxUint64, MemoryLimit: 1 << 30}, 0, "GOGC=off"},
		{"off as -1", HeapLiveInput{Goal: 900 << 20, GOGC: -1}, 0, "GOGC=off"},
		{"limit binding", HeapLiveInput{Goal: 700 << 20, GOGC: 100, MemoryLimit: 1 << 30, MemoryTotal: 950 << 20}, 0, "near GOMEMLIMIT"},
		{"limit far", HeapLiveInput{Goal: 200 << 20, GOGC: 100, MemoryLimit: 1 << 30, MemoryTotal: 300 << 20}, 100 << 20, ""},
		{"no limit (max int64)", HeapLiveInput{Goal: 200 << 20, GOGC: 100, MemoryLimit: math.MaxInt64, MemoryTotal: 300 << 20}, 100 << 20, ""},
		{"no goal", HeapLiveInput{GOGC: 100}, 0, "no heap goal"},
	}
	for _, c := range cases {
		live, origin, ok := EstimateHeapLive(c.in)
		if ok != (c.why == "") || (ok && live != c.want) || (!ok && !strings.Contains(origin, c.why)) {
			t.Errorf("%s: %v %q %v, want %v / %q", c.name, live, origin, ok, c.want, c.why)
		}
		if ok && !IsEstimate(origin) {
			t.Errorf("%s: origin %q is not labelled an estimate", c.name, origin)
		}
	}
}

// HeapLiveBytes is the marked live heap only, never HeapAlloc.
func TestHeapLiveNeverHeapAlloc(t *testing.T) {
	s := Sample{Values: map[string]float64{HeapObjects: 50 << 20}}
	if v, ok := s.HeapLiveBytes(); ok {
		t.Errorf("HeapLiveBytes = %v from HeapAlloc", v)
	}
	if _, _, ok := s.HeapLiveOrEstimate(); ok {
		t.Error("a live heap from HeapAlloc")
	}
	s.Values[HeapLiveEstimate] = 30 << 20
	s.Origins = map[string]string{HeapLiveEstimate: EstimatePrefix + "heap goal ÷ 2"}
	if v, o, ok := s.HeapLiveOrEstimate(); !ok || v != 30<<20 || !IsEstimate(o) {
		t.Errorf("estimate: %v %q %v", v, o, ok)
	}
	s.Values[HeapLive] = 31 << 20
	if v, o, ok := s.HeapLiveOrEstimate(); !ok || v != 31<<20 || IsEstimate(o) {
		t.Errorf("reported live heap: %v %q %v", v, o, ok)
	}
}

func TestSourceLabels(t *testing.T) {
	s := Sample{Source: "prometheus + pprof", Origins: map[string]string{
		HeapGoal: "prometheus :9090 go_memstats_next_gc_bytes", Goroutines: "prometheus :9090 go_goroutines",
		MemStatsGCCPUFraction: "pprof :6060 heap?debug=1 MemStats", ProcessCPU: "/proc/4242",
		HeapLiveEstimate: EstimatePrefix + "heap goal ÷ 2",
	}}
	got := strings.Join(s.SourceLabels(), " + ")
	if got != "prometheus :9090 + pprof :6060 + /proc/4242" {
		t.Errorf("labels %q", got)
	}
	for o, want := range map[string]string{"gops memstats": "gops", "agent :6060 process": "agent :6060", "agent": "agent",
		"expvar 10.0.0.5:8080 memstats": "expvar 10.0.0.5:8080", EstimatePrefix + "x": ""} {
		if got := OriginSource(o); got != want {
			t.Errorf("OriginSource(%q) = %q, want %q", o, got, want)
		}
	}
}
