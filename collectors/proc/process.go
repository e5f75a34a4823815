package proc

import (
	"context"
	"time"
)

// ProcessStat is one reading of a process. Counters (CPU seconds, context
// switches) are cumulative; compare two readings for rates (CPUPercent).
// Which facts each OS gives is in docs/hosts.md; one it does not give is
// named in Unsupported and left zero (or -1 where zero is a figure).
type ProcessStat struct {
	PID     int
	PPID    int      // Linux: stat field 4; elsewhere gopsutil Ppid
	Comm    string   // process name: Linux's task name, at most 15 bytes (stat field 2)
	Cmdline []string // empty for kernel threads and zombies
	State   string   // Linux only: R, S, D, Z, T, t, X, I (stat field 3)

	UID  int    // effective UID; -1 if unknown (and always on Windows)
	User string // user name, else the UID as digits ("DOMAIN\user" on Windows)

	// StartTime identifies the process across PID reuse, together with
	// PID. On Linux it is boot time (/proc/stat btime) + stat field 22 /
	// ClockTicks, to the 10 ms tick, like ps; elsewhere gopsutil's
	// CreateTime, to the millisecond. Zero if unreadable.
	StartTime time.Time

	UserSeconds   float64 // all threads, live and exited (gopsutil Times)
	SystemSeconds float64
	CPUSeconds    float64 // UserSeconds + SystemSeconds

	RSS     uint64 // bytes resident (gopsutil MemoryInfo: statm on Linux, the working set on Windows)
	PeakRSS uint64 // bytes, high-water mark of RSS (Linux status VmHWM); 0 if unknown

	NumThreads int // OS threads (Linux: stat field 20; elsewhere gopsutil NumThreads)

	// FDs is the number of open file descriptors, or -1 when unknown
	// (another user's process, see Missing; or this OS, see Unsupported).
	FDs int

	// Context switches summed over the live threads' task/TID/status
	// (Linux only). /proc/PID/status alone counts the main thread only, and
	// switches of threads that already exited are lost (the kernel keeps
	// them only for getrusage). ProcessSummary gives the main thread's.
	VoluntaryCtxSwitches   uint64
	InvoluntaryCtxSwitches uint64

	// Threads holds one entry per live thread (Process, Linux only).
	Threads []ThreadStat

	// Affinity from Linux's status (Cpus_allowed_list, Mems_allowed_list):
	// the CPUs the main thread may run on and the memory nodes it may
	// allocate from (cpuset and sched_setaffinity both narrow them). Nil if
	// unknown.
	CPUsAllowed []int
	MemsAllowed []int

	// ReadAt is when the CPU time was read (with a monotonic clock
	// reading); zero when it could not be read.
	ReadAt  time.Time
	Missing []Missing // facts that could not be read, with why
	// Unsupported names the facts this OS does not give gotune ("peak
	// RSS", "threads", "context switches", "affinity", ...): not an error,
	// and not a reason to call a row partial.
	Unsupported []string `json:",omitempty"`
}

// ThreadStat is one thread of a process, from task/TID/stat and
// task/TID/status (Linux).
type ThreadStat struct {
	TID                    int
	Name                   string // comm; Go names no threads, so usually the program name
	State                  string
	LastCPU                int // stat field 39: the CPU it last ran on, -1 if unknown
	CPUSeconds             float64
	VoluntaryCtxSwitches   uint64
	InvoluntaryCtxSwitches uint64
}

// Threads reads every live thread of pid, sorted by TID: task/TID/stat and
// task/TID/status on Linux. Other OSes return an error wrapping
// ErrNotAvailable (gopsutil has no per-thread last CPU or context
// switches anywhere).
func (fsys FS) Threads(ctx context.Context, pid int) ([]ThreadStat, error) {
	if err := fsys.checkRoot(); err != nil {
		return nil, err
	}
	return fsys.threads(ctx, pid)
}

// Environ returns the variables of pid's environment whose names start with
// "GO", as set when it was exec'd (later os.Setenv calls do not show). It
// never returns any other variable. On Linux /proc/PID/environ is read and
// cleared from memory after filtering; it is readable only by the same
// user or root, so expect an error wrapping fs.ErrPermission for other
// users. macOS and Windows go through gopsutil (which hands over the whole
// environment as strings before gotune filters it); FreeBSD returns an
// error wrapping ErrNotAvailable.
func (fsys FS) Environ(ctx context.Context, pid int) (map[string]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := fsys.checkRoot(); err != nil {
		return nil, err
	}
	return fsys.environ(ctx, pid)
}
