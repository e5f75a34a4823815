package collectors

import (
	"context"
	"fmt"
	"time"

	"github.com/gotune/gotune/collectors/gops"
	"github.com/gotune/gotune/session"
)

// gopsSource is the session.Sample source name of gops readings.
const gopsSource = "gops"

// gopsMemStatsMetrics maps gops memstats keys onto the runtime/metrics names whose
// value is the same counter inside the runtime: each pair is asserted equal
// by the Go runtime's own TestReadMetricsConsistency (runtime/metrics_test.go).
//
// Mallocs and Frees are NOT mapped: MemStats adds the tiny-allocation count
// to both (runtime/mstats.go readmemstats_m, "For historical reasons"), so
// Mallocs = /gc/heap/allocs:objects + /gc/heap/tiny/allocs:objects, and the
// tiny count is not in the gops reply. HeapObjects (Mallocs-Frees) is exact.
var gopsMemStatsMetrics = []struct {
	key    string
	metric string
	value  func(*gops.MemStats) float64
}{
	{"heap-alloc", session.HeapObjects, func(m *gops.MemStats) float64 { return float64(m.HeapAlloc) }},
	{"next-gc", session.HeapGoal, func(m *gops.MemStats) float64 { return float64(m.NextGC) }},
	{"num-gc", session.GCCycles, func(m *gops.MemStats) float64 { return float64(m.NumGC) }},
	{"num-forced-gc", session.GCCyclesForced, func(m *gops.MemStats) float64 { return float64(m.NumForcedGC) }},
	{"total-alloc", session.HeapAllocsBytes, func(m *gops.MemStats) float64 { return float64(m.TotalAlloc) }},
	{"heap-objects", session.HeapObjectCount, func(m *gops.MemStats) float64 { return float64(m.HeapObjects) }},
	{"sys", session.MemoryTotal, func(m *gops.MemStats) float64 { return float64(m.Sys) }},
}

// gopsAlwaysMissing are key metrics gops cannot provide at all: the agent prints
// neither the live (marked) heap, GOGC, GOMEMLIMIT, the CPU classes nor any
// histogram. Threads alive now come from /proc, not from gops (its "OS
// threads" counts threads ever created).
var gopsAlwaysMissing = []string{
	session.HeapAllocsObjs, // see gopsMemStatsMetrics
	session.HeapFreesObjs,
	session.HeapLive,
	session.GOGC,
	session.GOMEMLIMIT,
	session.Threads,
	session.CPUTotal,
	session.CPUGCTotal,
	session.CPUGCAssist,
	session.CPUUser,
	session.LimiterLastEnabled,
	session.MutexWait,
	session.PausesGC,
	session.SchedLatencies,
	session.GoroutinesRunnable,
	session.GoroutinesRunning,
	session.GoroutinesWaiting,
}

// sampleFromGops maps a memstats reply and (optionally, nil) a stats reply
// read at time at onto a session.Sample with runtime/metrics names, only
// where the mapping is exact, and lists in Missing the key metrics it lacks.
func sampleFromGops(at time.Time, m *gops.MemStats, s *gops.Stats) session.Sample {
	out := session.Sample{Time: at, Source: gopsSource, Values: make(map[string]float64, 14), Origins: make(map[string]string, 14)}
	for _, f := range gopsMemStatsMetrics {
		if m != nil && m.Has(f.key) {
			out.Values[f.metric] = f.value(m)
			out.Origins[f.metric] = "gops memstats"
		} else {
			out.Missing = append(out.Missing, f.metric)
		}
	}
	// GCCPUFraction is as of the end of the last GC (last-gc): both or
	// neither (session.GCPaidPerP).
	if m != nil && m.Has("gc-cpu-fraction") && m.Has("last-gc") {
		out.Values[session.MemStatsGCCPUFraction] = m.GCCPUFraction
		last := 0.0
		if !m.LastGC.IsZero() {
			last = float64(m.LastGC.UnixNano()) / 1e9
		}
		out.Values[session.MemStatsLastGC] = last
		out.Origins[session.MemStatsGCCPUFraction] = "gops memstats"
		out.Origins[session.MemStatsLastGC] = "gops memstats"
	}
	if s != nil && s.Has("goroutines") {
		out.Values[session.Goroutines] = float64(s.Goroutines)
		out.Origins[session.Goroutines] = "gops stats"
	} else {
		out.Missing = append(out.Missing, session.Goroutines)
	}
	if s != nil && s.Has("GOMAXPROCS") {
		out.Values[session.GOMAXPROCS] = float64(s.GOMAXPROCS)
		out.Origins[session.GOMAXPROCS] = "gops stats"
	} else {
		out.Missing = append(out.Missing, session.GOMAXPROCS)
	}
	out.Missing = append(out.Missing, gopsAlwaysMissing...)
	return out
}

// gopsSample reads memstats and stats (two connections, one after the
// other) and returns them as one sample timed at the memstats reply. It never
// sends a profile or trace signal, so it is what polling code calls.
func gopsSample(ctx context.Context, c *gops.Client) (session.Sample, error) {
	m, err := c.MemStats(ctx)
	if err != nil {
		return session.Sample{}, err
	}
	at := time.Now()
	s, err := c.Stats(ctx)
	if err != nil {
		return session.Sample{}, fmt.Errorf("%w (memstats was read)", err)
	}
	return sampleFromGops(at, &m, &s), nil
}
