// Package proc reads what Linux's /proc says about a process: identity
// (PID, parent, command, user, start time), CPU time, resident memory and its
// peak, threads with their context switches and the CPU each last ran on,
// open file descriptors, CPU and memory-node affinity, and the GO* variables
// of its environment.
//
// Every reader works over a root directory (FS.Root), "/" in production and a
// fixture tree such as testdata/host/cgroupv2 in tests, so the same code runs
// against fake /proc trees. Each file has a pure parser over bytes
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
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// ClockTicks is USER_HZ, the unit of the tick counts in /proc/PID/stat
// (utime, stime, starttime). It is 100 on every architecture Go supports on
// Linux (include/asm-generic/param.h; `getconf CLK_TCK` prints 100), and the
// kernel converts to it whatever its internal HZ is (jiffies_to_clock_t).
const ClockTicks = 100

// ErrNoProcess is wrapped by errors about a PID that does not exist (or
// exited while it was being read).
var ErrNoProcess = errors.New("no such process")

// FS reads /proc (and /etc/passwd for user names) under Root.
type FS struct {
	// Root is the directory holding proc/ and etc/: "/" on a live system.
	Root string

	// readFile and readDirNames replace the OS calls in tests that need
	// errors a root-run test cannot provoke (permission denied).
	readFile     func(name string) ([]byte, error)
	readDirNames func(name string) ([]string, error)
}

// Host is the live system.
var Host = FS{Root: "/"}

func (fsys FS) path(elem ...string) string {
	return filepath.Join(append([]string{fsys.Root}, elem...)...)
}

func (fsys FS) procPath(pid int, elem ...string) string {
	return fsys.path(append([]string{"proc", strconv.Itoa(pid)}, elem...)...)
}

func (fsys FS) read(name string) ([]byte, error) {
	if fsys.readFile != nil {
		return fsys.readFile(name)
	}
	return os.ReadFile(name)
}

func (fsys FS) dirNames(name string) ([]string, error) {
	if fsys.readDirNames != nil {
		return fsys.readDirNames(name)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}

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

// PIDs lists the processes under Root/proc, in no particular order.
func (fsys FS) PIDs(ctx context.Context) ([]int, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	names, err := fsys.dirNames(fsys.path("proc"))
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	pids := make([]int, 0, len(names))
	for _, n := range names {
		if pid, err := strconv.Atoi(n); err == nil && pid > 0 {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// bootTimes caches btime by Root: it is fixed while the machine is up, and
// /proc/stat is large on many-CPU machines (a line per CPU and per IRQ), so
// re-reading it for every process would dominate `gotune ps`.
var bootTimes sync.Map // Root → time.Time

// BootTime reads btime (seconds since the epoch) from /proc/stat.
func (fsys FS) BootTime() (time.Time, error) {
	if t, ok := bootTimes.Load(fsys.Root); ok && fsys.readFile == nil {
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
	if fsys.readFile == nil {
		bootTimes.Store(fsys.Root, t)
	}
	return t, nil
}

func notExist(pid int, path string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("process %d: read %s: %w: %w", pid, path, ErrNoProcess, err)
	}
	return fmt.Errorf("process %d: read %s: %w", pid, path, err)
}
