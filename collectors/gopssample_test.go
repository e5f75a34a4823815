package collectors

import (
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/collectors/gops"
	"github.com/gotune/gotune/session"
)

// gopsMemStatsFixture is a memstats reply of a real gops v0.3.29 agent.
const gopsMemStatsFixture = `alloc: 1.20MB (1258760 bytes)
total-alloc: 2.13MB (2233512 bytes)
sys: 7.27MB (7623696 bytes)
lookups: 0
mallocs: 2254
frees: 1132
heap-alloc: 1.20MB (1258760 bytes)
heap-sys: 3.66MB (3833856 bytes)
heap-idle: 1.52MB (1597440 bytes)
heap-in-use: 2.13MB (2236416 bytes)
heap-released: 1.48MB (1548288 bytes)
heap-objects: 1122
stack-in-use: 416.00KB (425984 bytes)
stack-sys: 416.00KB (425984 bytes)
mspan-in-use: 43.52KB (44560 bytes)
mspan-sys: 48.62KB (49792 bytes)
mcache-in-use: 9.44KB (9664 bytes)
mcache-sys: 15.34KB (15704 bytes)
buck-hash-sys: 3.96KB (4053 bytes)
other-sys: 857.01KB (877582 bytes)
gc-sys: 2.29MB (2405184 bytes)
next-gc: when heap-alloc >= 4.00MB (4194304 bytes)
last-gc: 2026-05-01 10:11:12.123456789 +0200 CEST
gc-pause-total: 1.234ms
gc-pause: 45678
gc-pause-end: 1777623072123456789
num-gc: 7
num-forced-gc: 2
gc-cpu-fraction: 0.0012345
enable-gc: true
debug-gc: false
`

func TestSampleFromGops(t *testing.T) {
	m, err := gops.ParseMemStats([]byte(gopsMemStatsFixture))
	if err != nil {
		t.Fatal(err)
	}
	st, _ := gops.ParseStats([]byte("goroutines: 12\nOS threads: 9\nGOMAXPROCS: 2\nnum CPU: 4\n"))
	at := time.Unix(1000, 0)
	s := sampleFromGops(at, &m, &st)
	want := map[string]float64{
		session.HeapObjects:     1258760,
		session.HeapGoal:        4194304,
		session.GCCycles:        7,
		session.GCCyclesForced:  2,
		session.HeapAllocsBytes: 2233512,
		session.HeapObjectCount: 1122,
		session.MemoryTotal:     7623696,
		session.Goroutines:      12,
		session.GOMAXPROCS:      2,
		// GCCPUFraction with the end of that cycle, for GC CPU from deltas.
		session.MemStatsGCCPUFraction: 0.0012345,
		session.MemStatsLastGC:        float64(time.Date(2026, 5, 1, 8, 11, 12, 123456789, time.UTC).UnixNano()) / 1e9,
	}
	if s.Source != "gops" || !s.Time.Equal(at) || len(s.Values) != len(want) {
		t.Errorf("sample = %+v", s)
	}
	for k, v := range want {
		if s.Values[k] != v {
			t.Errorf("%s = %v, want %v", k, s.Values[k], v)
		}
	}
	missing := strings.Join(s.Missing, " ")
	for _, k := range []string{session.HeapLive, session.GOGC, session.GOMEMLIMIT, session.HeapAllocsObjs, session.PausesGC} {
		if !strings.Contains(missing, k) {
			t.Errorf("Missing lacks %s: %v", k, s.Missing)
		}
	}
	for k := range s.Values {
		if strings.Contains(missing, k) {
			t.Errorf("%s is both a value and missing", k)
		}
		if o := s.Origins[k]; o != "gops memstats" && o != "gops stats" {
			t.Errorf("%s: origin %q", k, o)
		}
	}

	// Without stats, goroutines and GOMAXPROCS are missing, not zero.
	s = sampleFromGops(at, &m, nil)
	if _, ok := s.Values[session.Goroutines]; ok || !strings.Contains(strings.Join(s.Missing, " "), session.GOMAXPROCS) {
		t.Errorf("without stats: %+v", s)
	}
}
