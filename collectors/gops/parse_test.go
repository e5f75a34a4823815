package gops

import (
	"fmt"
	"math"
	"os"
	"testing"
	"time"
)

// realMemStats is a memstats reply of the gops v0.3.29 agent on go1.26
// (testdata/memstats.txt, also read by the collectors' mapping test).
var realMemStats = func() string {
	b, err := os.ReadFile("testdata/memstats.txt")
	if err != nil {
		panic(err)
	}
	return string(b)
}()

func TestParseMemStats(t *testing.T) {
	m, err := ParseMemStats([]byte(realMemStats))
	if err != nil {
		t.Fatal(err)
	}
	want := MemStats{
		Alloc: 1258760, TotalAlloc: 2233512, Sys: 7623696, Mallocs: 2254, Frees: 1132,
		HeapAlloc: 1258760, HeapSys: 3833856, HeapIdle: 1597440, HeapInuse: 2236416, HeapReleased: 1548288,
		HeapObjects: 1122, StackInuse: 425984, StackSys: 425984, MSpanInuse: 44560, MSpanSys: 49792,
		MCacheInuse: 9664, MCacheSys: 15704, BuckHashSys: 4053, OtherSys: 877582, GCSys: 2405184,
		NextGC: 4194304, PauseTotal: 1234 * time.Microsecond, LastPause: 45678,
		NumGC: 7, NumForcedGC: 2, GCCPUFraction: 0.0012345, EnableGC: true,
	}
	lastGC := time.Date(2026, 5, 1, 8, 11, 12, 123456789, time.UTC)
	if !m.LastGC.Equal(lastGC) {
		t.Errorf("LastGC = %v, want %v", m.LastGC, lastGC)
	}
	if m.LastPauseEnd.UnixNano() != 1777623072123456789 {
		t.Errorf("LastPauseEnd = %v", m.LastPauseEnd)
	}
	m.LastGC, m.LastPauseEnd, m.has = time.Time{}, time.Time{}, nil
	if fmt.Sprintf("%+v", m) != fmt.Sprintf("%+v", want) {
		t.Errorf("ParseMemStats =\n%+v\nwant\n%+v", m, want)
	}
}

func TestParseMemStatsEdges(t *testing.T) {
	m, err := ParseMemStats([]byte("heap-alloc: 512 bytes\nlast-gc: -\nnum-gc: notanumber\nnew-field: 3\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m.HeapAlloc != 512 || !m.LastGC.IsZero() || !m.Has("last-gc") || m.Has("num-gc") || m.Has("new-field") {
		t.Errorf("got %+v", m)
	}
	for _, bad := range []string{"", "hello", "<html>", "heap-alloc: lots\n"} {
		if _, err := ParseMemStats([]byte(bad)); err == nil {
			t.Errorf("ParseMemStats(%q) succeeded", bad)
		}
	}
}

func TestParseBytes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"0 bytes", 0, true},
		{"1023 bytes", 1023, true},
		{"1.00KB (1024 bytes)", 1024, true},
		{"16.00EB (18446744073709551615 bytes)", math.MaxUint64, true},
		{"1.50MB", 1572864, true}, // older agents: rounded only
		{"77", 77, true},
		{"-1 bytes", 0, false},
		{"1.5XB", 0, false},
		{"NaNKB", 0, false},
		{"1e300PB", 0, false},
	} {
		got, ok := parseBytes(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseBytes(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParseStats(t *testing.T) {
	s, err := ParseStats([]byte("goroutines: 12\nOS threads: 9\nGOMAXPROCS: 2\nnum CPU: 4\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Goroutines != 12 || s.OSThreads != 9 || s.GOMAXPROCS != 2 || s.NumCPU != 4 {
		t.Errorf("ParseStats = %+v", s)
	}
	if _, err := ParseStats([]byte("go1.26.8\n")); err == nil {
		t.Error("ParseStats accepted a version reply")
	}
	s, err = ParseStats([]byte("goroutines: -3\nGOMAXPROCS: 8\n"))
	if err != nil || s.Has("goroutines") || s.GOMAXPROCS != 8 {
		t.Errorf("negative goroutines: %+v, %v", s, err)
	}
}

func TestParseSetGCReply(t *testing.T) {
	set, prev, err := ParseSetGCReply([]byte("New GC percent set to 50. Previous value was 100.\n"))
	if err != nil || set != 50 || prev != 100 {
		t.Errorf("= %d, %d, %v", set, prev, err)
	}
	set, prev, err = ParseSetGCReply([]byte("New GC percent set to -1. Previous value was -1.\n"))
	if err != nil || set != -1 || prev != -1 {
		t.Errorf("= %d, %d, %v", set, prev, err)
	}
	for _, bad := range []string{"", "ok", "New GC percent set to x. Previous value was 1.", "New GC percent set to 5. Previous value was 1"} {
		if _, _, err := ParseSetGCReply([]byte(bad)); err == nil {
			t.Errorf("ParseSetGCReply(%q) succeeded", bad)
		}
	}
}
