package collectors

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/collectors/gops"
	"github.com/gotune/gotune/session"
)

// gopsMemStatsFixture is a memstats reply of a real gops v0.3.29 agent.
func gopsMemStatsFixture(t *testing.T) string {
	b, err := os.ReadFile("gops/testdata/memstats.txt")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSampleFromGops(t *testing.T) {
	m, err := gops.ParseMemStats([]byte(gopsMemStatsFixture(t)))
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
