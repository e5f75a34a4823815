package trace

import (
	"fmt"
	"time"

	"github.com/gotune/gotune/profile"
)

// Summary is everything gotune reads out of one execution trace. Every
// duration is measured on the trace's own clock (nanoseconds); Start fields
// are offsets from the trace's first event. JSON field names are part of
// `gotune trace --json` (docs/trace.md).
type Summary struct {
	// Format is the trace's header, e.g. "go 1.26 trace"; GoVersion the Go
	// release that wrote it ("go1.26").
	Format    string `json:"format"`
	GoVersion string `json:"go_version"`
	Bytes     int64  `json:"bytes"`  // bytes of trace read
	Events    int64  `json:"events"` // events the parser returned
	// Generations is the number of trace generations (the runtime starts
	// one about every second; a flight-recorder snapshot holds a few).
	Generations int           `json:"generations"`
	Duration    time.Duration `json:"duration_ns"` // first to last event
	// WallStart is the wall-clock time of the first event, from the
	// trace's clock snapshot (Go ≥1.25 traces); zero when unknown.
	WallStart  time.Time `json:"wall_start,omitzero"`
	GOMAXPROCS int       `json:"gomaxprocs"` // the last value the trace reports
	Goroutines int       `json:"goroutines"` // distinct goroutines seen
	// Truncated is set when the trace ends early (a cut file or stream):
	// the figures cover what was read, and Analyze also returns an error.
	Truncated bool `json:"truncated,omitempty"`

	Pauses   Pauses       `json:"pauses"`
	MMU      []MMUPoint   `json:"mmu"`
	Sched    SchedLatency `json:"sched"`
	Blocking Blocking     `json:"blocking"`
	GC       GCSummary    `json:"gc"`
}

// Pauses are the stop-the-world pauses of the trace, GC and others.
type Pauses struct {
	Count int           `json:"count"`
	Total time.Duration `json:"total_ns"`
	// GCCount and GCTotal cover the GC's own pauses (sweep termination and
	// mark termination).
	GCCount int           `json:"gc_count"`
	GCTotal time.Duration `json:"gc_total_ns"`
	// List holds the longest MaxPauses pauses, worst first (ties by
	// start). Count and the totals cover every pause.
	List []Pause `json:"list"`
}

// Worst returns the longest pause and false when there is none.
func (p Pauses) Worst() (Pause, bool) {
	if len(p.List) == 0 {
		return Pause{}, false
	}
	return p.List[0], true
}

// Pause is one stop-the-world, from the runtime starting to stop the world
// to the world running again: the time to stop (waiting for every running
// goroutine to reach a safe point) is part of it, as in the runtime's own
// /sched/pauses metrics.
type Pause struct {
	Start    time.Duration `json:"start_ns"`
	Duration time.Duration `json:"duration_ns"`
	// Reason is the runtime's stop reason: "GC sweep termination", "GC mark
	// termination", "GOMAXPROCS", "read mem stats", "goroutine profile",
	// "start trace", ...
	Reason string `json:"reason"`
	GC     bool   `json:"gc"`
	// Cycle is the 1-based number of the GC cycle in this trace the pause
	// belongs to (GC pauses only; 0 otherwise).
	Cycle int `json:"gc_cycle,omitempty"`
	// Goroutine stopped the world; Stack is where (innermost first).
	Goroutine int64           `json:"goroutine"`
	Stack     []profile.Frame `json:"stack,omitempty"`
	// States counts the other goroutines by state when the stop began.
	States GoroutineStates `json:"states"`
	// Running lists the goroutines that were on a P when the stop began:
	// each had to reach a safe point before the world was stopped.
	Running []RunningGoroutine `json:"running,omitempty"`
	// LastToStop is the running goroutine that stopped last, with where it
	// stopped: when its delay is most of the pause, it is the cause (a loop
	// without preemption points, a long non-preemptible section).
	LastToStop *RunningGoroutine `json:"last_to_stop,omitempty"`
}

// RunningGoroutine is a goroutine that was running when a stop began.
type RunningGoroutine struct {
	Goroutine int64  `json:"goroutine"`
	Name      string `json:"name"` // its start function, "" when the trace does not say
	// StoppedAfter is how long after the stop began it stopped running
	// (LastToStop only).
	StoppedAfter time.Duration   `json:"stopped_after_ns,omitempty"`
	Stack        []profile.Frame `json:"stack,omitempty"` // where it stopped (LastToStop only)
}

// GoroutineStates counts goroutines by state. Waiting is by the runtime's
// wait reason ("chan receive", "select", "sync", "network", "sleep", ...).
type GoroutineStates struct {
	Running  int            `json:"running"`
	Runnable int            `json:"runnable"`
	Syscall  int            `json:"syscall"`
	Waiting  map[string]int `json:"waiting,omitempty"`
}

// MMUPoint is the minimum mutator utilisation for one window size: over
// every window of that length in the trace, the smallest share of the CPU
// (GOMAXPROCS × window) left to the program after stop-the-world pauses,
// background mark workers, mark assists and sweeping. It is what
// `go tool trace`'s MMU page computes with all four boxes ticked and "per
// proc" off (internal/trace.MutatorUtilizationV2 and MMUCurve.MMU).
type MMUPoint struct {
	Window time.Duration `json:"window_ns"`
	MMU    float64       `json:"mmu"` // 0..1
	// WorstAt is the start of a window with that utilisation.
	WorstAt time.Duration `json:"worst_at_ns"`
}

// SchedLatency is the time goroutines spent runnable before running: the
// quantity `go tool trace -pprof=sched` profiles.
type SchedLatency struct {
	Latency
	// Histogram counts the waits by length, in decades from 1 µs.
	Histogram []Bucket `json:"histogram"`
	// Quantiles of the waits, estimated from a log histogram with 16
	// buckets per doubling (within ±2.2 %); Max is exact.
	P50 time.Duration `json:"p50_ns"`
	P90 time.Duration `json:"p90_ns"`
	P99 time.Duration `json:"p99_ns"`
	// IdlePShare is the share of runnable goroutine-time during which a P
	// was free — idle, or held by a thread still looking for work — and so
	// could have run the goroutine: the integral over time of
	// min(runnable goroutines, GOMAXPROCS − running goroutines) over the
	// integral of runnable goroutines. Waits while every P runs a goroutine
	// are CPU demand above GOMAXPROCS; waits with a free P mean the threads
	// that would run them did not get a CPU from the OS (a CPU quota, an
	// affinity mask or cpuset narrower than GOMAXPROCS, a busy host).
	IdlePShare float64 `json:"idle_p_share"`
	// Groups are the goroutines' own stacks while they waited to run (what
	// a goroutine dump would show for a runnable goroutine), grouped as the
	// Goroutines screen groups them, longest total first; at most
	// MaxGroups.
	Groups []StackGroup `json:"groups"`
}

// Latency is a total of waits.
type Latency struct {
	Count int64         `json:"count"`
	Total time.Duration `json:"total_ns"`
	Max   time.Duration `json:"max_ns"`
	// BeforeFirstRun is the part of Count and Total from waits that ended
	// before the goroutine first ran in this trace (waits under way when
	// the trace began, and a new goroutine's wait for its first run).
	// `go tool trace -pprof` leaves those out: it clips every wait to the
	// goroutine's life from its first run, so its figure is Total −
	// BeforeFirstRun.
	BeforeFirstRunCount int64         `json:"before_first_run_count"`
	BeforeFirstRun      time.Duration `json:"before_first_run_ns"`
}

// Bucket is one histogram bar: waits up to UpTo (and longer than the
// previous bucket's UpTo); the last bucket has UpTo 0 and counts the rest.
type Bucket struct {
	UpTo  time.Duration `json:"up_to_ns"`
	Count int64         `json:"count"`
}

// Blocking is the time goroutines spent off the CPU, waiting, by reason.
type Blocking struct {
	// Reasons totals each category, longest first.
	Reasons []ReasonTotal `json:"reasons"`
	// Groups are the stacks responsible, by category and stack, longest
	// total first; at most MaxGroups.
	Groups []StackGroup `json:"groups"`
}

// Category groups the runtime's wait reasons the way an operator asks
// about them.
type Category string

const (
	CatChannel  Category = "channel"   // "chan send", "chan receive"
	CatSelect   Category = "select"    // "select"
	CatSync     Category = "sync"      // "sync" (Mutex, RWMutex, WaitGroup), "sync.(*Cond).Wait"
	CatNetwork  Category = "network"   // "network": the netpoller (sockets, pipes in non-blocking mode)
	CatSyscall  Category = "syscall"   // in a system call (state, not a wait reason)
	CatGCAssist Category = "gc-assist" // in "GC mark assist" ranges: allocating goroutines made to mark
	CatSleep    Category = "sleep"     // time.Sleep
	CatGC       Category = "gc-wait"   // "wait until GC ends", "GC mark assist wait for work", ...
	CatOther    Category = "other"
	// CatRunnable marks scheduler-latency groups (runnable, waiting for a P).
	CatRunnable Category = "runnable"
)

// ReasonTotal is the blocking in one category. PprofTotal is what `go tool
// trace` reports for it where it has a profile: -pprof=sync is channel +
// select + sync, -pprof=net network, -pprof=syscall syscall.
type ReasonTotal struct {
	Category Category `json:"category"`
	Latency
}

// StackGroup is time spent in one state at one stack: the group key is the
// state (wait reason) and the stack's functions, files and lines, as
// profile.GroupGoroutines keys a goroutine dump.
type StackGroup struct {
	Category Category `json:"category"`
	// State is the runtime's wait reason ("chan receive", "sync",
	// "network"), "syscall", "runnable" or "GC mark assist".
	State  string          `json:"state"`
	Frames []profile.Frame `json:"frames"` // innermost first
	Latency
	// Goroutines is how many distinct goroutines were seen here (counted
	// up to the first 10,000); IDs holds the smallest few.
	Goroutines int     `json:"goroutines"`
	IDs        []int64 `json:"ids,omitempty"`
}

// Group returns g as the Goroutines screen's type, so it renders and
// compares like a goroutine-dump group: Count is the number of goroutines.
func (g StackGroup) Group() profile.GoroutineGroup {
	return profile.GoroutineGroup{Count: g.Goroutines, State: g.State, Frames: g.Frames, IDs: g.IDs}
}

// GCSummary is the GC cycles the trace saw.
type GCSummary struct {
	Count int `json:"count"` // cycles whose mark phase began in the trace
	// AssistShare is mark assists' share of all GC mark CPU time (assists
	// plus dedicated, fractional and idle workers) over the trace.
	AssistShare float64 `json:"assist_share"`
	// AssistCPU and MarkCPU are the mark assists' CPU time and all mark
	// CPU time (assists and every kind of worker) over the trace.
	AssistCPU time.Duration `json:"assist_cpu_ns"`
	MarkCPU   time.Duration `json:"mark_cpu_ns"`
	// CPUShare is GC mark CPU time (workers and assists) and stop-the-world
	// time over GOMAXPROCS × the trace.
	CPUShare float64 `json:"cpu_share"`
	// Cycles holds the cycles in order; at most MaxCycles (the last ones).
	Cycles []GCCycle `json:"cycles"`
}

// Label is the cycle's number as tables show it, with "(began before)" or
// "(unfinished)" for a cycle the trace cut.
func (c GCCycle) Label() string {
	n := fmt.Sprint(c.N)
	switch {
	case c.BeganBefore:
		n += " (began before)"
	case c.Unfinished:
		n += " (unfinished)"
	}
	return n
}

// GCCycle is one GC cycle: sweep termination (a pause), concurrent mark,
// mark termination (a pause), then concurrent sweeping until the next.
type GCCycle struct {
	N     int           `json:"n"` // 1-based, in this trace
	Start time.Duration `json:"start_ns"`
	// BeganBefore is set for a cycle already marking when the trace began.
	BeganBefore bool `json:"began_before_trace,omitempty"`
	// Unfinished is set for a cycle still marking when the trace ended.
	Unfinished bool `json:"unfinished,omitempty"`

	SweepTermination time.Duration `json:"sweep_termination_ns"` // pause
	Mark             time.Duration `json:"mark_ns"`              // concurrent mark phase, wall time
	MarkTermination  time.Duration `json:"mark_termination_ns"`  // pause
	// Sweep is the time Ps spent in incremental sweeping after this
	// cycle's mark termination (background sweeping is not traced).
	Sweep time.Duration `json:"sweep_ns"`

	// CPU time in the mark phase, by kind of worker.
	Assist     time.Duration `json:"assist_cpu_ns"`
	Dedicated  time.Duration `json:"dedicated_cpu_ns"`
	Fractional time.Duration `json:"fractional_cpu_ns"`
	Idle       time.Duration `json:"idle_cpu_ns"`
	// AssistShare is Assist over all four.
	AssistShare float64 `json:"assist_share"`
	// HeapLive is the heap (objects) when the cycle began, HeapGoal the
	// goal the trace reported during it; 0 when the trace has no metric.
	HeapLive uint64 `json:"heap_live_bytes,omitempty"`
	HeapGoal uint64 `json:"heap_goal_bytes,omitempty"`
}

// MarkCPU is the cycle's mark CPU time of every kind.
func (c GCCycle) MarkCPU() time.Duration {
	return c.Assist + c.Dedicated + c.Fractional + c.Idle
}
