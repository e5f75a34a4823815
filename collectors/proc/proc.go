// Package proc says what the operating system knows about a process:
// identity (PID, parent, command, executable, user, start time), CPU time,
// resident memory and its peak, threads, open file descriptors, CPU and
// memory-node affinity, and the GO* variables of its environment.
//
// The portable facts come from gopsutil v4 (github.com/shirou/gopsutil/v4):
// the process list, executable, command line, CPU times, RSS, open files,
// and off Linux also thread count, parent, user and start time. On Linux
// the parent and thread count are taken from the stat line gotune parses
// anyway (gopsutil would read stat and status again for the same fields).
// gotune's own readers of Linux's /proc remain only for what gopsutil does
// not give or gets wrong (see docs/hosts.md): context switches summed over threads
// (gopsutil counts the main thread), VmHWM (gopsutil's HWM is 0), the CPU
// each thread last ran on, Cpus_allowed_list and Mems_allowed_list, the
// start time (gopsutil's Linux boot time switches to now − /proc/uptime in
// some containers, which moves between calls), and the GO* environment
// (redacted as it is read). The code for each OS lives in proc_linux.go,
// proc_darwin.go, proc_freebsd.go, proc_windows.go, with proc_gopsutil.go
// shared by every OS but Linux; a fact an OS does not give is listed in
// ProcessStat.Unsupported, and functions that have nothing to return on an
// OS return an error wrapping ErrNotAvailable, never a panic or a zero
// figure passed off as a reading.
//
// On Linux every reader works over a root directory (FS.Root), "/" in
// production and a fixture tree such as testdata/host/cgroupv2 in tests:
// gopsutil is pointed at Root/proc through its context values
// (common.EnvKey with HOST_PROC), gotune's own readers join Root
// themselves. Other OSes have no such files: Root must be "/" or "" there.
// Each /proc file gotune parses itself has a pure parser over bytes
// (parseStat, parseStatus, ...) that the fuzz targets call directly.
//
// Readers never panic on another user's process: what cannot be read is
// reported in ProcessStat.Missing and the rest is still returned.
//
// A read of /proc cannot be cancelled: cmdline and environ take the target's
// mmap lock and block while another thread holds it (a process stuck in
// uninterruptible sleep). Readers check their context between files; callers
// that must not hang run them in a goroutine and stop waiting at a deadline.
//
// Formats: man 5 proc_pid_stat, man 5 proc_pid_status, and the kernel's
// Documentation/filesystems/proc.rst (table 1-2 and 1-4).
package proc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"runtime"
	"strconv"

	"github.com/shirou/gopsutil/v4/common"
	"github.com/shirou/gopsutil/v4/process"
)

// ErrNoProcess is wrapped by errors about a PID that does not exist (or
// exited while it was being read).
var ErrNoProcess = errors.New("no such process")

// ErrNotAvailable is wrapped by errors about a fact this OS does not give
// (or gotune cannot read on it): per-thread figures, affinity, the
// environment on FreeBSD, fake roots off Linux.
var ErrNotAvailable = errors.New("not available on this OS")

// notAvailable says what is missing and on which OS.
func notAvailable(what string) error {
	return fmt.Errorf("%s: %w (%s)", what, ErrNotAvailable, runtime.GOOS)
}

// FS reads the processes of the host under Root.
type FS struct {
	// Root is the directory holding proc/ and etc/: "/" on a live system.
	// Only Linux reads a fake root; elsewhere it must be "/" or "".
	Root string
}

// Host is the live system.
var Host = FS{Root: "/"}

func (fsys FS) root() string {
	if fsys.Root == "" {
		return "/"
	}
	return fsys.Root
}

func (fsys FS) path(elem ...string) string {
	return filepath.Join(append([]string{fsys.root()}, elem...)...)
}

func (fsys FS) procPath(pid int, elem ...string) string {
	return fsys.path(append([]string{"proc", strconv.Itoa(pid)}, elem...)...)
}

// Context returns ctx carrying Root for gopsutil (see psContext), for
// callers that use gopsutil's other packages (net connections) on the
// same root.
func (fsys FS) Context(ctx context.Context) context.Context { return fsys.psContext(ctx) }

// psContext points gopsutil at Root: its Linux readers join HOST_PROC,
// HOST_SYS and HOST_ETC from the context (gopsutil common.EnvKey), before
// the environment variables of the same names. They are set even for "/",
// so a HOST_PROC in gotune's own environment does not redirect one reader
// and not the others.
func (fsys FS) psContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, common.EnvKey, common.EnvMap{
		common.HostProcEnvKey: fsys.path("proc"),
		common.HostSysEnvKey:  fsys.path("sys"),
		common.HostEtcEnvKey:  fsys.path("etc"),
	})
}

// psProcess is gopsutil's handle on pid. It is built directly, not with
// process.NewProcess, which checks that the PID exists through the live
// OS (a fake PID under a fake root fails it) and costs a read.
func psProcess(pid int) *process.Process { return &process.Process{Pid: int32(pid)} }

// Missing names a fact that could not be read and why. Err wraps the
// underlying error, so errors.Is(m.Err, fs.ErrPermission) tells "another
// user's process" apart from a vanished one.
type Missing struct {
	What string // "status", "cmdline", "fd", "task", "start time", "user", ...
	Err  error
}

func (m Missing) Error() string { return m.What + ": " + m.Err.Error() }

type missingJSON struct {
	What string `json:"what"`
	Err  string `json:"error"`
}

// MarshalJSON writes the error as its text, so snapshots read it back.
func (m Missing) MarshalJSON() ([]byte, error) {
	var e string
	if m.Err != nil {
		e = m.Err.Error()
	}
	return json.Marshal(missingJSON{m.What, e})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (m *Missing) UnmarshalJSON(b []byte) error {
	var j missingJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	m.What, m.Err = j.What, errors.New(j.Err)
	return nil
}

// PermissionDenied reports whether the fact is missing for lack of rights
// (another user's process while gotune is not root, or a hidepid mount).
func (m Missing) PermissionDenied() bool { return errors.Is(m.Err, fs.ErrPermission) }

// PIDs lists the processes of the host (under Root/proc on Linux), in no
// particular order, through gopsutil.
func (fsys FS) PIDs(ctx context.Context) ([]int, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := fsys.checkRoot(); err != nil {
		return nil, err
	}
	ps, err := process.PidsWithContext(fsys.psContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	pids := make([]int, 0, len(ps))
	for _, p := range ps {
		if p > 0 {
			pids = append(pids, int(p))
		}
	}
	return pids, nil
}

// ProcessSummary reads the cheap facts of a process: identity, CPU time,
// memory, thread count, command line, start time and user, without listing
// fds or threads. It is what `gotune ps` reads for every Go process.
func (fsys FS) ProcessSummary(ctx context.Context, pid int) (ProcessStat, error) {
	if err := ctx.Err(); err != nil {
		return ProcessStat{}, err
	}
	if pid <= 0 {
		return ProcessStat{}, fmt.Errorf("process %d: %w: PIDs are positive", pid, ErrNoProcess)
	}
	if err := fsys.checkRoot(); err != nil {
		return ProcessStat{}, err
	}
	return fsys.summary(ctx, pid)
}

// Process reads everything ProcessSummary reads plus the open fd count and,
// where the OS gives them (Linux), every thread (context switches summed
// over threads, last CPU of each). A thread that exits while it is being
// read is skipped.
func (fsys FS) Process(ctx context.Context, pid int) (ProcessStat, error) {
	p, err := fsys.ProcessSummary(ctx, pid)
	if err != nil {
		return p, err
	}
	return fsys.details(ctx, p)
}

// CPUReading reads what CPUPercent needs, and no more: the process's
// identity (PID, start time) and its CPU seconds now. `gotune ps` takes it
// at the end of its CPU window.
func (fsys FS) CPUReading(ctx context.Context, pid int) (ProcessStat, error) {
	if err := ctx.Err(); err != nil {
		return ProcessStat{}, err
	}
	if err := fsys.checkRoot(); err != nil {
		return ProcessStat{}, err
	}
	return fsys.cpuReading(ctx, pid)
}

// Exe returns the path of pid's executable as the OS names it (on Linux
// the target of /proc/PID/exe, which may end in " (deleted)").
func (fsys FS) Exe(ctx context.Context, pid int) (string, error) {
	if err := fsys.checkRoot(); err != nil {
		return "", err
	}
	return psProcess(pid).ExeWithContext(fsys.psContext(ctx))
}

func (p *ProcessStat) missing(what string, err error) {
	p.Missing = append(p.Missing, Missing{What: what, Err: err})
}

func (p *ProcessStat) unsupported(what ...string) {
	p.Unsupported = append(p.Unsupported, what...)
}

func notExist(pid int, path string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("process %d: read %s: %w: %w", pid, path, ErrNoProcess, err)
	}
	return fmt.Errorf("process %d: read %s: %w", pid, path, err)
}

// CPUPercent is the CPU a process used between two readings, in percent of
// one core (200 = two cores busy). ok is false when the readings are of
// different processes (PID reused: start times differ), a reading holds no
// CPU time (ReadAt zero), time did not advance, or the counter went
// backwards.
func CPUPercent(prev, cur ProcessStat) (pct float64, ok bool) {
	if prev.PID != cur.PID || !prev.StartTime.Equal(cur.StartTime) || prev.ReadAt.IsZero() || cur.ReadAt.IsZero() {
		return 0, false
	}
	wall := cur.ReadAt.Sub(prev.ReadAt).Seconds()
	cpu := cur.CPUSeconds - prev.CPUSeconds
	if wall <= 0 || cpu < 0 {
		return 0, false
	}
	return 100 * cpu / wall, true
}
