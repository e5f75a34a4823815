package advisor

import "time"

// Sources cited by the rules.
var (
	srcGCGuideGOGC        = Citation{"A Guide to the Go Garbage Collector, \"GOGC\"", "https://go.dev/doc/gc-guide#GOGC"}
	srcGCGuideIdentifying = Citation{"A Guide to the Go Garbage Collector, \"Identifying costs\" (runtime.mallocgc, runtime.gcAssistAlloc)",
		"https://go.dev/doc/gc-guide#Identiying_costs"}
	srcGCGuideMemLimit  = Citation{"A Guide to the Go Garbage Collector, \"Memory limit\"", "https://go.dev/doc/gc-guide#Memory_limit"}
	srcGCGuideSuggested = Citation{"A Guide to the Go Garbage Collector, \"Memory limit\" › \"Suggested uses\"", "https://go.dev/doc/gc-guide#Suggested_uses"}
	srcGCGuideTHP       = Citation{"A Guide to the Go Garbage Collector, \"Linux transparent huge pages (THP)\"", "https://go.dev/doc/gc-guide#Linux_transparent_huge_pages"}
	srcGo125Procs       = Citation{"Go 1.25 release notes, \"Container-aware GOMAXPROCS\"", "https://go.dev/doc/go1.25#container-aware-gomaxprocs"}
	srcGoLeafCgroup     = Citation{"Go runtime, runtime/cgroup_linux.go: \"We only read the limit from the leaf cgroup\"; Go 1.25 release notes", "https://go.dev/doc/go1.25#container-aware-gomaxprocs"}
	srcSchedMetrics     = Citation{"runtime/metrics: /sched/goroutines/runnable (Go 1.26), /sched/latencies", "https://pkg.go.dev/runtime/metrics#hdr-Supported_metrics"}
	srcNumactl          = Citation{"numactl(8); Linux NUMA memory policy (admin-guide/mm/numa_memory_policy)", "https://man7.org/linux/man-pages/man8/numactl.8.html"}
	srcNUMABalancing    = Citation{"Linux sysctl kernel.numa_balancing (admin-guide/sysctl/kernel.rst): NUMA hinting faults unmap and fault memory to sample it", "https://docs.kernel.org/admin-guide/sysctl/kernel.html#numa-balancing"}
	srcGoroutineLeak    = Citation{"runtime/metrics /sched/goroutines; net/http/pprof goroutine profile", "https://pkg.go.dev/runtime/pprof#Profile"}
	srcMutexProfile     = Citation{"runtime/metrics /sync/mutex/wait/total; runtime.SetMutexProfileFraction", "https://pkg.go.dev/runtime#SetMutexProfileFraction"}
	srcFinalizers       = Citation{"runtime.SetFinalizer and runtime.AddCleanup docs (one goroutine runs them, in sequence); Go 1.25 metrics /gc/finalizers, /gc/cleanups", "https://pkg.go.dev/runtime#AddCleanup"}
)

// Thresholds from a documented source. They are facts about Go, not tunables.
const (
	// MallocgcCumHigh: "A large amount of cumulative time spent here (>15%)
	// typically indicates a lot of memory being allocated" (GC guide,
	// Identifying costs, runtime.mallocgc).
	MallocgcCumHigh = 0.15
	// AssistHigh: runtime.gcAssistAlloc "cumulative time spent here (>5%)
	// indicates that the application is likely out-pacing the GC" (GC
	// guide, Identifying costs). Applied to /cpu/classes/gc/mark/assist
	// over /cpu/classes/total, the same time measured by the runtime.
	AssistHigh = 0.05
	// GCCPULimit: the GC CPU limiter caps GC CPU at "roughly 50%, with a
	// 2 * GOMAXPROCS CPU-second window" (GC guide, Memory limit).
	GCCPULimit = 0.50
	// MinHeapGoal: "the Go GC has a minimum total heap size of 4 MiB"
	// (GC guide, GOGC), scaled by GOGC/100 (runtime/mgcpacer.go heapMinimum).
	MinHeapGoal = 4 << 20
	// LargeHeapTHP: "applications with big heaps (1 GiB or more) tend to
	// benefit quite a bit (up to 10% throughput)" from THP (GC guide, THP).
	LargeHeapTHP = 1 << 30
	// THPSmallHeapOverhead: small heaps "may end up using a substantial
	// amount of additional memory (as high as 50%)" with THP (GC guide,
	// THP); the rule fires when RSS exceeds Go's own memory by this factor.
	THPSmallHeapOverhead = 1.5
	// MinQuotaGOMAXPROCS: Go ≥1.25 never sets GOMAXPROCS below 2 from a
	// CPU quota (runtime/debug docs, "Implementation details"; Go 1.25
	// release notes).
	MinQuotaGOMAXPROCS = 2
)

// The samples (one a second at the default cadence) a window must hold
// before a rule may fire. A rule below its minimum does not run and says
// so in Report.Skips.
const (
	// MinSamplesFacts: a rule on facts read once (a cgroup limit, the
	// build, the live settings) needs one sample, for the live GOGC,
	// GOMEMLIMIT and GOMAXPROCS.
	MinSamplesFacts = 1
	// MinSamplesRate: a rate or a mean over fewer than five samples is one
	// burst, not the process's behaviour (heuristic; five 100 ms CFS
	// periods per sample give 50 periods, where a 10 % throttled share has
	// a standard error near 4 points).
	MinSamplesRate = 5
	// MinSamplesGC: the runtime updates its /cpu/classes estimates only at
	// the end of a GC cycle (runtime/metrics docs), and session.GCCPUWindow
	// averages GC CPU over 10 s for that reason; a GC figure over fewer
	// samples is one cycle's.
	MinSamplesGC = 10
	// MinSamplesTrend: the leak rule fits a line and wants R² ≥ 0.8; over
	// 10 points pure noise reaches that with probability 0.0005, over 5
	// with 0.04, over 3 with 0.30 (the t distribution of r).
	MinSamplesTrend = 10
)

// Why each minimum, for Report.Skips.
const (
	whyMinFacts = "it reads the live settings"
	whyMinRate  = "a rate or mean over fewer samples is one burst"
	whyMinGC    = "the runtime updates its GC CPU figures only when a GC cycle ends"
	whyMinTrend = "a trend over fewer points is noise"
)

// gcAboveOSSlack: the runtime's GC CPU is an estimate ("not guaranteed to
// be exact", runtime/metrics, /cpu/classes); more than 10 % (and 0.01
// cores) above the process CPU the OS measured over the same window, the
// figure is wrong (idle marking counted, a lifetime average) and is
// flagged (heuristic).
const (
	gcAboveOSSlack = 0.10
	gcAboveOSFloor = 0.01
)

// Defaults of the heuristic thresholds in Config.
const (
	// DefaultGCCPUHigh is where GC CPU starts to cost real throughput; the
	// README's "what to look for" and common practice (the GC guide's
	// examples use 10% as a substantial overhead).
	DefaultGCCPUHigh = 0.10
	// DefaultGCCPUCrit: a quarter of the CPU the process may use goes to
	// the GC, as much as its dedicated mark workers take during a cycle
	// (GC guide, Latency: "the GC takes 25% of CPU resources when in the
	// mark phase") — all the time.
	DefaultGCCPUCrit = 0.25
	// DefaultGCCPUTarget is the GC CPU the what-if recommendation aims for.
	DefaultGCCPUTarget = 0.10
	// DefaultMemoryHeadroom: "leave an additional 5-10% of headroom to
	// account for memory sources the Go runtime is unaware of" (GC guide,
	// Suggested uses): GOMEMLIMIT = 90% of the container limit.
	DefaultMemoryHeadroom = 0.10
	// DefaultLimiterNear: GC CPU this close to the limiter's 50% cap
	// means a memory limit is binding hard (heuristic).
	DefaultLimiterNear = 0.40
	// DefaultLiveHeapNearLimit / Crit: the live heap plus the runtime's
	// other memory as a share of the memory limit. At 70% a GOGC=100 heap
	// no longer fits, so the limit sets GC frequency; at 85% the GC
	// approaches thrashing (heuristics from the GC guide's Memory limit
	// discussion).
	DefaultLiveHeapNearLimit = 0.70
	DefaultLiveHeapCrit      = 0.85
	// DefaultThrottleHigh: the CPU quota ran out in at least one CFS period
	// in ten (cpu.stat nr_throttled / nr_periods); each such period stalls
	// every thread until the next one (heuristic; sched-bwc.rst).
	DefaultThrottleHigh = 0.10
	// DefaultSchedLatencyHigh: p99 time runnable goroutines waited to run
	// (heuristic: above 10 ms a request-serving process loses tail latency
	// to CPU starvation).
	DefaultSchedLatencyHigh = 10 * time.Millisecond
	// DefaultSaturatedBusy: runnable goroutines above GOMAXPROCS mean CPU
	// saturation only while the process keeps its Ps busy: process CPU at
	// 80 % or more of min(GOMAXPROCS, the CPUs it may use), where queueing
	// delay grows steeply (heuristic; an M/M/c queue's wait explodes as
	// utilisation approaches 1). An idle server at 0.01 cores with a
	// runnable count above GOMAXPROCS waits on the host, not on its Ps.
	DefaultSaturatedBusy = 0.8
	// DefaultGCPauseLong: a GC stop-the-world pause p99 this long is far
	// above Go's sub-millisecond norm (heuristic).
	DefaultGCPauseLong = 10 * time.Millisecond
	// DefaultRemoteMemory: share of the process's memory away from its
	// busiest node (heuristic).
	DefaultRemoteMemory = 0.25
	// DefaultGoroutineGrowth: goroutines added over the window, with a
	// steady upward trend, to call it a leak (heuristic).
	DefaultGoroutineGrowth = 10
	// DefaultMutexWait: seconds goroutines spent blocked on mutexes per
	// wall second (heuristic: a tenth of a goroutine always waiting).
	DefaultMutexWait = 0.1
	// DefaultFinalizerBacklog: finalizers and cleanups queued but not yet
	// run (heuristic).
	DefaultFinalizerBacklog = 1000
)

// GOGCCandidates are the GOGC values the what-if table always shows.
var GOGCCandidates = []int{50, 100, 200, 400}

// Config holds the heuristic thresholds. Zero fields take the defaults.
type Config struct {
	GCCPUHigh         float64
	GCCPUCrit         float64
	GCCPUTarget       float64
	MemoryHeadroom    float64
	LimiterNear       float64
	LiveHeapNearLimit float64
	LiveHeapCrit      float64
	ThrottleHigh      float64
	SchedLatencyHigh  time.Duration
	SaturatedBusy     float64
	GCPauseLong       time.Duration
	RemoteMemory      float64
	GoroutineGrowth   int
	MutexWait         float64
	FinalizerBacklog  float64
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config { return Config{}.withDefaults() }

func (c Config) withDefaults() Config {
	def := func(p *float64, v float64) {
		if *p <= 0 {
			*p = v
		}
	}
	def(&c.GCCPUHigh, DefaultGCCPUHigh)
	def(&c.GCCPUCrit, DefaultGCCPUCrit)
	def(&c.GCCPUTarget, DefaultGCCPUTarget)
	def(&c.MemoryHeadroom, DefaultMemoryHeadroom)
	def(&c.LimiterNear, DefaultLimiterNear)
	def(&c.LiveHeapNearLimit, DefaultLiveHeapNearLimit)
	def(&c.LiveHeapCrit, DefaultLiveHeapCrit)
	def(&c.ThrottleHigh, DefaultThrottleHigh)
	def(&c.RemoteMemory, DefaultRemoteMemory)
	def(&c.MutexWait, DefaultMutexWait)
	def(&c.SaturatedBusy, DefaultSaturatedBusy)
	def(&c.FinalizerBacklog, DefaultFinalizerBacklog)
	if c.SchedLatencyHigh <= 0 {
		c.SchedLatencyHigh = DefaultSchedLatencyHigh
	}
	if c.GCPauseLong <= 0 {
		c.GCPauseLong = DefaultGCPauseLong
	}
	if c.GoroutineGrowth <= 0 {
		c.GoroutineGrowth = DefaultGoroutineGrowth
	}
	return c
}
