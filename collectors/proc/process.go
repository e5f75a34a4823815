package proc

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"time"
)

// ProcessStat is one reading of a process. Counters (CPU seconds, context
// switches) are cumulative; compare two readings for rates (CPUPercent).
type ProcessStat struct {
	PID     int
	PPID    int
	Comm    string   // kernel task name, at most 15 bytes (stat field 2)
	Cmdline []string // empty for kernel threads and zombies
	State   string   // R, S, D, Z, T, t, X, I (stat field 3)

	UID  int    // effective UID (second number of status "Uid:"); -1 if unknown
	User string // from Root/etc/passwd, else the UID as digits

	// StartTime is boot time (/proc/stat btime) + stat field 22 / ClockTicks:
	// to the second, like ps. Together with PID it identifies a process
	// across PID reuse. Zero if btime was unreadable.
	StartTime time.Time

	UserSeconds   float64 // stat field 14 / ClockTicks, all threads, live and exited
	SystemSeconds float64 // stat field 15 / ClockTicks
	CPUSeconds    float64 // UserSeconds + SystemSeconds

	RSS     uint64 // bytes, status VmRSS
	PeakRSS uint64 // bytes, status VmHWM (high-water mark of RSS)

	NumThreads int // stat field 20

	// FDs is the number of open file descriptors (entries of
	// /proc/PID/fd), or -1 when that directory is unreadable (another
	// user's process; see Missing).
	FDs int

	// Context switches summed over the live threads' task/TID/status.
	// /proc/PID/status alone counts the main thread only, and switches of
	// threads that already exited are lost (the kernel keeps them only for
	// getrusage). Zero when threads were not read (ProcessSummary).
	VoluntaryCtxSwitches   uint64
	InvoluntaryCtxSwitches uint64

	// Threads holds one entry per live thread (Process only).
	Threads []ThreadStat

	// Affinity from status (Cpus_allowed_list, Mems_allowed_list): the CPUs
	// the main thread may run on and the memory nodes it may allocate from
	// (cpuset and sched_setaffinity both narrow them). Nil if unknown.
	CPUsAllowed []int
	MemsAllowed []int

	ReadAt  time.Time // when stat was read (with a monotonic clock reading)
	Missing []Missing // facts that could not be read, with why
}

// ThreadStat is one thread of a process, from task/TID/stat and
// task/TID/status.
type ThreadStat struct {
	TID                    int
	Name                   string // comm; Go names no threads, so usually the program name
	State                  string
	LastCPU                int // stat field 39: the CPU it last ran on, -1 if unknown
	CPUSeconds             float64
	VoluntaryCtxSwitches   uint64
	InvoluntaryCtxSwitches uint64
}

// ProcessSummary reads the cheap facts of a process: stat, status, cmdline,
// start time and user, without listing fds or threads. It is what
// `gotune ps` reads for every process.
func (fsys FS) ProcessSummary(ctx context.Context, pid int) (ProcessStat, error) {
	if err := ctx.Err(); err != nil {
		return ProcessStat{}, err
	}
	if pid <= 0 {
		return ProcessStat{}, fmt.Errorf("process %d: %w: PIDs are positive", pid, ErrNoProcess)
	}
	p := ProcessStat{PID: pid, UID: -1, FDs: -1}
	path := fsys.procPath(pid, "stat")
	b, err := fsys.read(path)
	p.ReadAt = time.Now()
	if err != nil {
		return p, notExist(pid, path, err)
	}
	st, err := parseStat(b)
	if err != nil {
		return p, fmt.Errorf("process %d: %s: %w", pid, path, err)
	}
	p.PPID, p.Comm, p.State = st.PPID, st.Comm, string(st.State)
	p.UserSeconds = float64(st.UTicks) / ClockTicks
	p.SystemSeconds = float64(st.STicks) / ClockTicks
	p.CPUSeconds = float64(st.UTicks+st.STicks) / ClockTicks
	p.NumThreads = st.NumThreads

	if boot, err := fsys.BootTime(); err != nil {
		p.missing("start time", err)
	} else {
		p.StartTime = boot.Add(time.Duration(st.StartTicks) * (time.Second / ClockTicks))
	}

	if b, err := fsys.read(fsys.procPath(pid, "status")); err != nil {
		p.missing("status", err)
	} else if s, err := parseStatus(b); err != nil {
		p.missing("status", err)
	} else {
		p.UID = s.EUID
		p.RSS, p.PeakRSS = s.VmRSS, s.VmHWM
		p.VoluntaryCtxSwitches, p.InvoluntaryCtxSwitches = s.Voluntary, s.Involuntary
		if s.HasCPUs {
			p.CPUsAllowed = s.CPUsAllowed
		}
		if s.HasMems {
			p.MemsAllowed = s.MemsAllowed
		}
	}
	if b, err := fsys.read(fsys.procPath(pid, "cmdline")); err != nil {
		p.missing("cmdline", err)
	} else {
		p.Cmdline = parseCmdline(b)
	}
	if p.UID >= 0 {
		p.User = strconv.Itoa(p.UID)
		if b, err := fsys.read(fsys.path("etc", "passwd")); err != nil {
			p.missing("user", err)
		} else if name, ok := lookupUser(b, p.UID); ok {
			p.User = name
		}
	}
	return p, nil
}

// Process reads everything ProcessSummary reads plus the open fd count and
// every thread (context switches summed over threads, last CPU of each).
// A thread that exits while it is being read is skipped.
func (fsys FS) Process(ctx context.Context, pid int) (ProcessStat, error) {
	p, err := fsys.ProcessSummary(ctx, pid)
	if err != nil {
		return p, err
	}
	if n, err := fsys.countFDs(pid); err != nil {
		p.missing("fd", err)
	} else {
		p.FDs = n
	}
	threads, err := fsys.Threads(ctx, pid)
	if err != nil {
		if ctx.Err() != nil {
			return p, err
		}
		p.missing("task", err)
		return p, nil
	}
	p.Threads = threads
	p.VoluntaryCtxSwitches, p.InvoluntaryCtxSwitches = 0, 0
	for _, t := range threads {
		p.VoluntaryCtxSwitches += t.VoluntaryCtxSwitches
		p.InvoluntaryCtxSwitches += t.InvoluntaryCtxSwitches
	}
	return p, nil
}

func (p *ProcessStat) missing(what string, err error) {
	p.Missing = append(p.Missing, Missing{What: what, Err: err})
}

func (fsys FS) countFDs(pid int) (int, error) {
	names, err := fsys.dirNames(fsys.procPath(pid, "fd"))
	if err != nil {
		return 0, err
	}
	return len(names), nil
}

// Threads reads task/TID/stat and task/TID/status for every live thread of
// pid, sorted by TID.
func (fsys FS) Threads(ctx context.Context, pid int) ([]ThreadStat, error) {
	dir := fsys.procPath(pid, "task")
	names, err := fsys.dirNames(dir)
	if err != nil {
		return nil, notExist(pid, dir, err)
	}
	threads := make([]ThreadStat, 0, len(names))
	for _, n := range names {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		tid, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		t, err := fsys.thread(pid, tid)
		if errors.Is(err, fs.ErrNotExist) {
			continue // exited after the listing
		}
		if err != nil {
			return nil, err
		}
		threads = append(threads, t)
	}
	slices.SortFunc(threads, func(a, b ThreadStat) int { return a.TID - b.TID })
	return threads, nil
}

func (fsys FS) thread(pid, tid int) (ThreadStat, error) {
	t := ThreadStat{TID: tid, LastCPU: -1}
	tidStr := strconv.Itoa(tid)
	path := fsys.procPath(pid, "task", tidStr, "stat")
	b, err := fsys.read(path)
	if err != nil {
		return t, fmt.Errorf("read %s: %w", path, err)
	}
	st, err := parseStat(b)
	if err != nil {
		return t, fmt.Errorf("%s: %w", path, err)
	}
	t.Name, t.State, t.LastCPU = st.Comm, string(st.State), st.Processor
	t.CPUSeconds = float64(st.UTicks+st.STicks) / ClockTicks
	path = fsys.procPath(pid, "task", tidStr, "status")
	if b, err = fsys.read(path); err != nil {
		return t, fmt.Errorf("read %s: %w", path, err)
	}
	s, err := parseStatus(b)
	if err != nil {
		return t, fmt.Errorf("%s: %w", path, err)
	}
	t.VoluntaryCtxSwitches, t.InvoluntaryCtxSwitches = s.Voluntary, s.Involuntary
	return t, nil
}

// Environ returns the variables of pid's environment whose names start with
// "GO", as set when it was exec'd (later os.Setenv calls do not show). It
// never returns or keeps any other variable: the file is cleared from memory
// after filtering. /proc/PID/environ is readable only by the same user or
// root, so expect an error wrapping fs.ErrPermission for other users.
func (fsys FS) Environ(ctx context.Context, pid int) (map[string]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	path := fsys.procPath(pid, "environ")
	b, err := fsys.read(path)
	if err != nil {
		return nil, notExist(pid, path, err)
	}
	env := parseEnviron(b)
	clear(b)
	return env, nil
}

// CPUPercent is the CPU a process used between two readings, in percent of
// one core (200 = two cores busy). ok is false when the readings are of
// different processes (PID reused: start times differ), time did not
// advance, or the counter went backwards.
func CPUPercent(prev, cur ProcessStat) (pct float64, ok bool) {
	if prev.PID != cur.PID || !prev.StartTime.Equal(cur.StartTime) {
		return 0, false
	}
	wall := cur.ReadAt.Sub(prev.ReadAt).Seconds()
	cpu := cur.CPUSeconds - prev.CPUSeconds
	if wall <= 0 || cpu < 0 {
		return 0, false
	}
	return 100 * cpu / wall, true
}
