//go:build !linux

package proc

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/shirou/gopsutil/v4/process"
)

// Off Linux every fact comes from gopsutil's own calls into the OS
// (sysctl and libproc on macOS, sysctl kinfo_proc on FreeBSD, the Win32
// process and toolhelp APIs on Windows); the per-OS differences are the
// small functions of proc_darwin.go, proc_freebsd.go, proc_windows.go and
// proc_other.go (osUID, osFDs, osEnviron, osTaskInfoOK, osUnsupported).

func (fsys FS) checkRoot() error {
	if fsys.Root != "" && fsys.Root != "/" {
		return fmt.Errorf("root %s: %w", fsys.Root, notAvailable("reading another root than the live system"))
	}
	return nil
}

// exists tells a PID that is gone from one gopsutil cannot read.
func exists(ctx context.Context, pid int) error {
	ok, err := process.PidExistsWithContext(ctx, int32(pid))
	if err == nil && !ok {
		return fmt.Errorf("process %d: %w", pid, ErrNoProcess)
	}
	return nil
}

// classify makes errors.Is(err, fs.ErrPermission) hold for a fact refused
// for lack of rights. gopsutil passes Windows' ERROR_ACCESS_DENIED through
// (which is fs.ErrPermission), but macOS's sysctl and libproc answer
// another user's process with EINVAL, EPERM or a bare "returned 0": a
// failure on a process of another user while gotune is not root is taken
// for what it almost always is.
func classify(err error, uid int) error {
	switch {
	case err == nil, errors.Is(err, fs.ErrPermission):
		return err
	case errors.Is(err, process.ErrorNotPermitted):
		return fmt.Errorf("%w: %w", err, fs.ErrPermission)
	case uid >= 0 && os.Geteuid() > 0 && uid != os.Geteuid():
		return fmt.Errorf("%w (%w: another user's process)", err, fs.ErrPermission)
	}
	return err
}

func (fsys FS) summary(ctx context.Context, pid int) (ProcessStat, error) {
	p := ProcessStat{PID: pid, UID: -1, FDs: -1}
	if err := exists(ctx, pid); err != nil {
		return p, err
	}
	ps := psProcess(pid)
	p.unsupported(osUnsupported...)
	if uids, err := ps.UidsWithContext(ctx); err == nil {
		p.UID = osUID(uids)
	}
	if ct, err := ps.CreateTimeWithContext(ctx); err != nil {
		if err := exists(ctx, pid); err != nil {
			return p, err
		}
		p.missing("start time", classify(err, p.UID))
	} else {
		p.StartTime = time.UnixMilli(ct)
	}
	if ppid, err := ps.PpidWithContext(ctx); err != nil {
		p.missing("parent", classify(err, p.UID))
	} else {
		p.PPID = int(ppid)
	}
	if name, err := ps.NameWithContext(ctx); err != nil {
		p.missing("name", classify(err, p.UID))
	} else {
		p.Comm = name
	}

	n, err := ps.NumThreadsWithContext(ctx)
	if err == nil && !osTaskInfoOK(n) {
		err = fmt.Errorf("the OS gave no task info (%w)", fs.ErrPermission)
	}
	if err != nil {
		// Without task info, CPU and memory would read as zeros: say so
		// rather than show them.
		p.missing("threads, CPU and memory", classify(err, p.UID))
	} else {
		p.NumThreads = int(n)
		if t, err := ps.TimesWithContext(ctx); err != nil {
			p.missing("CPU time", classify(err, p.UID))
		} else {
			p.ReadAt = time.Now()
			p.UserSeconds, p.SystemSeconds = t.User, t.System
			p.CPUSeconds = t.User + t.System
		}
		if m, err := ps.MemoryInfoWithContext(ctx); err != nil {
			p.missing("memory", classify(err, p.UID))
		} else {
			p.RSS = m.RSS
		}
	}
	if args, err := ps.CmdlineSliceWithContext(ctx); err != nil {
		p.missing("cmdline", classify(err, p.UID))
	} else {
		p.Cmdline = args
	}
	if u, err := ps.UsernameWithContext(ctx); err == nil && u != "" {
		p.User = u
	} else if p.UID >= 0 {
		p.User = strconv.Itoa(p.UID) // no name for it here (os/user without cgo reads only /etc/passwd)
	} else if err != nil {
		p.missing("user", classify(err, p.UID))
	}
	return p, nil
}

func (fsys FS) cpuReading(ctx context.Context, pid int) (ProcessStat, error) {
	p := ProcessStat{PID: pid, UID: -1, FDs: -1}
	ps := psProcess(pid)
	ct, err := ps.CreateTimeWithContext(ctx)
	if err != nil {
		if err := exists(ctx, pid); err != nil {
			return p, err
		}
		return p, fmt.Errorf("process %d: start time: %w", pid, err)
	}
	p.StartTime = time.UnixMilli(ct)
	t, err := ps.TimesWithContext(ctx)
	if err != nil {
		return p, fmt.Errorf("process %d: CPU time: %w", pid, err)
	}
	if osTimesOK(t.User, t.System) {
		p.ReadAt = time.Now()
		p.UserSeconds, p.SystemSeconds = t.User, t.System
		p.CPUSeconds = t.User + t.System
	}
	return p, nil
}

func (fsys FS) details(ctx context.Context, p ProcessStat) (ProcessStat, error) {
	n, err := osFDs(ctx, psProcess(p.PID))
	switch {
	case errors.Is(err, ErrNotAvailable):
	case err != nil:
		p.missing("fd", classify(err, p.UID))
	default:
		p.FDs = n
	}
	return p, nil
}

func (fsys FS) threads(context.Context, int) ([]ThreadStat, error) {
	return nil, notAvailable("per-thread figures")
}

func (fsys FS) environ(ctx context.Context, pid int) (map[string]string, error) {
	vars, err := osEnviron(ctx, psProcess(pid))
	if err != nil {
		if errors.Is(err, ErrNotAvailable) {
			return nil, err
		}
		if e := exists(ctx, pid); e != nil {
			return nil, e
		}
		uid := -1
		if uids, e := psProcess(pid).UidsWithContext(ctx); e == nil {
			uid = osUID(uids)
		}
		return nil, fmt.Errorf("process %d: environment: %w", pid, classify(err, uid))
	}
	env := map[string]string{}
	for _, kv := range vars {
		if name, value, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(name, "GO") {
			env[name] = value
		}
	}
	return env, nil
}

// SchedAffinity is implemented on Linux only (gopsutil's CPUAffinity is
// implemented on no OS gotune targets).
func SchedAffinity(pid int) ([]int, error) {
	return nil, notAvailable("CPU affinity")
}
