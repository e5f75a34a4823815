// Package session holds what gotune knows about one target over time: the
// samples read from it (keyed by runtime/metrics names), the figures derived
// from consecutive samples, the status of every collector, and the Store that
// keeps them in fixed-size rings and publishes immutable snapshots.
//
// It does no I/O. Collectors write into a Store; the UI, reports and the
// advisor read Snapshots.
package session

import (
	"math"
	"sort"
	"strings"
	"time"
)

// Names of the runtime/metrics gotune reads most. Sources that are not the
// gotune agent map their own series onto these names where the mapping is
// exact, so everything downstream speaks runtime/metrics.
const (
	HeapLive           = "/gc/heap/live:bytes"                // live heap after the last GC (Go ≥1.21)
	HeapObjects        = "/memory/classes/heap/objects:bytes" // MemStats.HeapAlloc: live + not yet swept
	HeapGoal           = "/gc/heap/goal:bytes"
	HeapAllocsBytes    = "/gc/heap/allocs:bytes" // cumulative
	HeapAllocsObjs     = "/gc/heap/allocs:objects"
	HeapFreesObjs      = "/gc/heap/frees:objects"
	HeapObjectCount    = "/gc/heap/objects:objects"
	MemoryTotal        = "/memory/classes/total:bytes"
	GCCycles           = "/gc/cycles/total:gc-cycles" // cumulative
	GCCyclesForced     = "/gc/cycles/forced:gc-cycles"
	GOGC               = "/gc/gogc:percent"
	GOMEMLIMIT         = "/gc/gomemlimit:bytes"
	GOMAXPROCS         = "/sched/gomaxprocs:threads"
	Goroutines         = "/sched/goroutines:goroutines"
	GoroutinesRunnable = "/sched/goroutines/runnable:goroutines" // Go ≥1.26
	GoroutinesRunning  = "/sched/goroutines/running:goroutines"
	GoroutinesWaiting  = "/sched/goroutines/waiting:goroutines"
	GoroutinesNotInGo  = "/sched/goroutines/not-in-go:goroutines"
	Threads            = "/sched/threads/total:threads"
	CPUTotal           = "/cpu/classes/total:cpu-seconds" // GOMAXPROCS × wall time
	CPUGCTotal         = "/cpu/classes/gc/total:cpu-seconds"
	CPUGCAssist        = "/cpu/classes/gc/mark/assist:cpu-seconds"
	CPUGCIdle          = "/cpu/classes/gc/mark/idle:cpu-seconds" // GC work on otherwise idle Ps: "free", not paid
	CPUUser            = "/cpu/classes/user:cpu-seconds"
	LimiterLastEnabled = "/gc/limiter/last-enabled:gc-cycle"
	MutexWait          = "/sync/mutex/wait/total:seconds"
	FinalizersQueued   = "/gc/finalizers/queued:finalizers"
	FinalizersExecuted = "/gc/finalizers/executed:finalizers"
	PausesGC           = "/sched/pauses/total/gc:seconds" // histogram, Go ≥1.22
	PausesGCOld        = "/gc/pauses:seconds"             // histogram, Go 1.17–1.21 name
	SchedLatencies     = "/sched/latencies:seconds"       // histogram

	// Not runtime/metrics: facts the OS knows about the process, from the
	// agent's process block, Prometheus process_* series or /proc.
	ProcessCPU   = "/process/cpu:cpu-seconds" // cumulative user+system
	ProcessRSS   = "/process/resident:bytes"
	ProcessStart = "/process/start:unix-seconds" // when the process started (wall clock)

	// Not runtime/metrics: runtime.MemStats fields that have no
	// runtime/metrics equivalent, as expvar, heap?debug=1 and gops print
	// them. GCCPUFraction is the GC CPU paid since the process started
	// (idle marking left out) as a fraction of GOMAXPROCS × wall, as of the
	// end of the last GC cycle (runtime/mgc.go gcMarkTermination); LastGC
	// is when that cycle ended. GODEBUG=gctrace=1 prints the same fraction
	// as its "N%" field.
	MemStatsGCCPUFraction = "/memstats/gc-cpu-fraction:fraction"
	MemStatsLastGC        = "/memstats/last-gc:unix-seconds"

	// HeapLiveEstimate is the live heap estimated from the heap goal and
	// GOGC where the runtime does not report /gc/heap/live (see
	// EstimateHeapLive). Its origin always starts with "estimate: ".
	HeapLiveEstimate = "/estimate/gc/heap/live:bytes"
)

// EstimatePrefix starts the origin of every estimated figure.
const EstimatePrefix = "estimate: "

// IsEstimate reports whether an origin names an estimate rather than a
// figure the target reported.
func IsEstimate(origin string) bool { return strings.HasPrefix(origin, EstimatePrefix) }

// Histogram is a runtime/metrics Float64Histogram: Counts[i] samples fell in
// [Buckets[i], Buckets[i+1]). Buckets may start at -Inf and end at +Inf.
type Histogram struct {
	Buckets []float64
	Counts  []uint64
}

// Sample is one reading of a target at one instant. Values and Histograms are
// never modified after the sample is stored.
type Sample struct {
	Time       time.Time
	Source     string // how it was read: "agent", "prometheus", "expvar", "gops", "os"
	Values     map[string]float64
	Histograms map[string]*Histogram
	Missing    []string // key metrics this source does not provide
	// Origins says where each value and histogram came from, by metric
	// name: "agent", "prometheus :9090 go_gc_heap_live_bytes", "pprof :6060
	// heap?debug=1 MemStats", "expvar :6060 memstats", "gops memstats",
	// "/proc/4242"; estimates start with "estimate: " (IsEstimate). Nil in
	// samples recorded before origins existed.
	Origins map[string]string
}

// Origin returns where the named metric came from, or "".
func (s *Sample) Origin(name string) string { return s.Origins[name] }

// Value returns the named metric and whether the sample has it.
func (s *Sample) Value(name string) (float64, bool) {
	v, ok := s.Values[name]
	return v, ok
}

// HeapLiveBytes is the live heap the runtime marked in the last GC cycle
// (/gc/heap/live, Go ≥1.21). It is never HeapAlloc (HeapObjects), which
// also counts dead objects not yet swept; see HeapLiveOrEstimate.
func (s *Sample) HeapLiveBytes() (float64, bool) {
	v, ok := s.Values[HeapLive]
	return v, ok
}

// HeapLiveOrEstimate is the reported live heap, else the estimate from the
// heap goal and GOGC, with its origin (an estimate's starts "estimate: ").
func (s *Sample) HeapLiveOrEstimate() (v float64, origin string, ok bool) {
	if v, ok := s.Values[HeapLive]; ok {
		return v, s.Origins[HeapLive], true
	}
	if v, ok := s.Values[HeapLiveEstimate]; ok {
		o := s.Origins[HeapLiveEstimate]
		if o == "" {
			o = EstimatePrefix + "heap goal ÷ (1 + GOGC/100)"
		}
		return v, o, true
	}
	return 0, "", false
}

// Sub returns h - old bucket by bucket, for the samples that arrived between
// two readings of a cumulative histogram. It returns nil when the bucket
// layouts differ or a count went backwards (the target restarted).
func (h *Histogram) Sub(old *Histogram) *Histogram {
	if old == nil {
		return h
	}
	if len(h.Counts) != len(old.Counts) || len(h.Buckets) != len(old.Buckets) {
		return nil
	}
	d := &Histogram{Buckets: h.Buckets, Counts: make([]uint64, len(h.Counts))}
	for i := range h.Counts {
		if h.Counts[i] < old.Counts[i] {
			return nil
		}
		d.Counts[i] = h.Counts[i] - old.Counts[i]
	}
	return d
}

// Total is the number of samples in the histogram.
func (h *Histogram) Total() uint64 {
	var n uint64
	for _, c := range h.Counts {
		n += c
	}
	return n
}

// Quantile returns the q-quantile (0..1) as the upper bound of the bucket it
// falls in, the conservative reading used by the Go runtime's own tests and
// by pprof-style tools; an infinite upper bound falls back to the lower one.
// ok is false for an empty histogram.
func (h *Histogram) Quantile(q float64) (v float64, ok bool) {
	total := h.Total()
	if total == 0 {
		return 0, false
	}
	rank := uint64(math.Ceil(q * float64(total)))
	if rank == 0 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.Counts {
		seen += c
		if seen >= rank {
			hi := h.Buckets[i+1]
			if math.IsInf(hi, 1) {
				hi = h.Buckets[i]
			}
			return hi, true
		}
	}
	return h.Buckets[len(h.Buckets)-1], true
}

// SortedNames returns the metric names of s in order, for stable output.
func (s *Sample) SortedNames() []string {
	names := make([]string, 0, len(s.Values))
	for n := range s.Values {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// OriginSource is the source part of an origin: its kind and endpoint
// ("prometheus :9090" of "prometheus :9090 go_goroutines", "gops" of "gops
// memstats", "/proc/4242"), "" for an estimate.
func OriginSource(origin string) string {
	if origin == "" || IsEstimate(origin) {
		return ""
	}
	f := strings.Fields(origin)
	if strings.HasPrefix(f[0], "/") || len(f) == 1 {
		return f[0]
	}
	if strings.Contains(f[1], ":") {
		return f[0] + " " + f[1]
	}
	return f[0]
}

// SourceLabels lists the sources the sample's figures came from, in the
// order of Source's kinds, then the OS: ["prometheus :9090", "pprof
// :6060", "/proc/4242"]. A status line says "metrics via " and these
// joined by " + ".
func (s *Sample) SourceLabels() []string {
	seen := map[string]bool{}
	var out []string
	for _, name := range sortedOriginKeys(s.Origins) {
		if src := OriginSource(s.Origins[name]); src != "" && !seen[src] {
			seen[src] = true
			out = append(out, src)
		}
	}
	kinds := strings.Split(s.Source, " + ")
	rank := func(label string) int {
		k, _, _ := strings.Cut(label, " ")
		for i, kind := range kinds {
			if kind == k {
				return i
			}
		}
		return len(kinds) // the OS and anything else last
	}
	sort.SliceStable(out, func(i, j int) bool {
		ri, rj := rank(out[i]), rank(out[j])
		if ri != rj {
			return ri < rj
		}
		return out[i] < out[j]
	})
	return out
}

func sortedOriginKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
