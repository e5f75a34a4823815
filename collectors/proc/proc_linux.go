package proc

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/shirou/gopsutil/v4/process"
)

// ClockTicks is USER_HZ, the unit of the tick counts in /proc/PID/stat
// (utime, stime, starttime). It is 100 on every architecture Go supports on
// Linux (include/asm-generic/param.h; `getconf CLK_TCK` prints 100), and the
// kernel converts to it whatever its internal HZ is (jiffies_to_clock_t).
const ClockTicks = 100

func init() {
	// gopsutil's Times() re-derives the boot time on every call (a read of
	// /proc/stat, which has a line per CPU and per IRQ) unless this cache is
	// on. The boot time does not change while the machine is up; gotune
	// never uses gopsutil's CreateTime on Linux (see startTime), so the
	// cached value cannot leak from the live host into a fixture root.
	process.EnableBootTimeCache(true)
}

func (fsys FS) checkRoot() error { return nil }

func (fsys FS) read(name string) ([]byte, error) { return os.ReadFile(name) }

func (fsys FS) dirNames(name string) ([]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}

// bootTimes caches btime by Root: it is fixed while the machine is up, and
// /proc/stat is large on many-CPU machines (a line per CPU and per IRQ), so
// re-reading it for every process would dominate `gotune ps`.
var bootTimes sync.Map // Root → time.Time

// BootTime reads btime (seconds since the epoch) from /proc/stat.
func (fsys FS) BootTime() (time.Time, error) {
	if t, ok := bootTimes.Load(fsys.root()); ok {
		return t.(time.Time), nil
	}
	b, err := fsys.read(fsys.path("proc", "stat"))
	if err != nil {
		return time.Time{}, err
	}
	sec, err := parseBootTime(b)
	if err != nil {
		return time.Time{}, err
	}
	t := time.Unix(sec, 0)
	bootTimes.Store(fsys.root(), t)
	return t, nil
}

// ownStat reads /proc/PID/stat with gotune's parser: the name, state and
// start ticks, which gopsutil either does not return (state as a letter,
// start ticks) or derives from a boot time gotune does not trust.
func (fsys FS) ownStat(pid int) (statLine, error) {
	path := fsys.procPath(pid, "stat")
	b, err := fsys.read(path)
	if err != nil {
		return statLine{}, notExist(pid, path, err)
	}
	st, err := parseStat(b)
	if err != nil {
		return statLine{}, fmt.Errorf("process %d: %s: %w", pid, path, err)
	}
	return st, nil
}

// startTime is btime + start ticks. gopsutil's Linux CreateTime is not
// used: inside an LXC guest or a cgroup-v1 Docker container its boot time
// is now − /proc/uptime, truncated to the second and recomputed on every
// call, so two readings of one process can differ by a second (PID-reuse
// checks and gops port-file checks compare start times); under a fake
// HOST_PROC without uptime it is silently the epoch.
func (fsys FS) startTime(p *ProcessStat, st statLine) {
	if boot, err := fsys.BootTime(); err != nil {
		p.missing("start time", err)
	} else {
		p.StartTime = boot.Add(time.Duration(st.StartTicks) * (time.Second / ClockTicks))
	}
}

func (fsys FS) summary(ctx context.Context, pid int) (ProcessStat, error) {
	p := ProcessStat{PID: pid, UID: -1, FDs: -1}
	st, err := fsys.ownStat(pid)
	if err != nil {
		return p, err
	}
	p.Comm, p.State = st.Comm, string(st.State)
	fsys.startTime(&p, st)

	ps, pctx := psProcess(pid), fsys.psContext(ctx)
	times, err := ps.TimesWithContext(pctx)
	if err != nil {
		return p, notExist(pid, fsys.procPath(pid, "stat"), err)
	}
	p.ReadAt = time.Now()
	p.UserSeconds, p.SystemSeconds = times.User, times.System
	p.CPUSeconds = times.User + times.System
	// Parent and thread count are fields 4 and 20 of the stat line just
	// read: gopsutil's Ppid and NumThreads would read stat and status
	// again for the same kernel figures (the scan reads every Go process;
	// TestHostFiguresAgreeWithKernel checks gopsutil's values agree).
	p.PPID, p.NumThreads = st.PPID, st.NumThreads
	memErr := error(nil)
	if m, err := ps.MemoryInfoWithContext(pctx); err != nil {
		memErr = err
	} else {
		p.RSS = m.RSS
	}

	// status for what gopsutil lacks: VmHWM (its HWM is 0), the effective
	// UID as a number gotune can look up under Root, the affinity lists,
	// the main thread's context switches.
	if b, err := fsys.read(fsys.procPath(pid, "status")); err != nil {
		p.missing("status", err)
	} else if s, err := parseStatus(b); err != nil {
		p.missing("status", err)
	} else {
		p.UID = s.EUID
		p.PeakRSS = s.VmHWM
		if memErr != nil {
			// statm unreadable (a fixture root without it): status's
			// VmRSS is the same counter (get_mm_rss) in kB.
			p.RSS, memErr = s.VmRSS, nil
		}
		p.VoluntaryCtxSwitches, p.InvoluntaryCtxSwitches = s.Voluntary, s.Involuntary
		if s.HasCPUs {
			p.CPUsAllowed = s.CPUsAllowed
		}
		if s.HasMems {
			p.MemsAllowed = s.MemsAllowed
		}
	}
	if memErr != nil {
		p.missing("memory", memErr)
	}
	if args, err := ps.CmdlineSliceWithContext(pctx); err != nil {
		p.missing("cmdline", err)
	} else {
		p.Cmdline = args
	}
	// The name is looked up in Root/etc/passwd, not with os/user as
	// gopsutil's Username does: a fixture root has its own users, and a
	// scan of every process should not make an NSS (LDAP, sssd) call each.
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

func (fsys FS) cpuReading(ctx context.Context, pid int) (ProcessStat, error) {
	p := ProcessStat{PID: pid, UID: -1, FDs: -1}
	st, err := fsys.ownStat(pid)
	if err != nil {
		return p, err
	}
	fsys.startTime(&p, st)
	times, err := psProcess(pid).TimesWithContext(fsys.psContext(ctx))
	if err != nil {
		return p, notExist(pid, fsys.procPath(pid, "stat"), err)
	}
	p.ReadAt = time.Now()
	p.UserSeconds, p.SystemSeconds = times.User, times.System
	p.CPUSeconds = times.User + times.System
	return p, nil
}

func (fsys FS) details(ctx context.Context, p ProcessStat) (ProcessStat, error) {
	if n, err := psProcess(p.PID).NumFDsWithContext(fsys.psContext(ctx)); err != nil {
		p.missing("fd", err)
	} else {
		p.FDs = int(n)
	}
	threads, err := fsys.threads(ctx, p.PID)
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

// threads reads task/TID/stat and task/TID/status for every live thread:
// gopsutil's Threads gives CPU times only, and its NumCtxSwitches counts
// the main thread.
func (fsys FS) threads(ctx context.Context, pid int) ([]ThreadStat, error) {
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

// environ reads /proc/PID/environ itself rather than through gopsutil's
// Environ, which returns every variable as a string that cannot be wiped:
// here the raw bytes are filtered and cleared.
func (fsys FS) environ(_ context.Context, pid int) (map[string]string, error) {
	path := fsys.procPath(pid, "environ")
	b, err := fsys.read(path)
	if err != nil {
		return nil, notExist(pid, path, err)
	}
	env := parseEnviron(b)
	clear(b)
	return env, nil
}
