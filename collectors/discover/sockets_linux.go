package discover

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"

	"github.com/gotune/gotune/collectors/proc"
	"github.com/shirou/gopsutil/v4/net"
)

// socketFinder reads the listening sockets of one PID at a time through
// gopsutil, which joins /proc/PID/fd with /proc/PID/net/tcp{,6} (the
// tables of the PID's own network namespace).
type socketFinder struct {
	fsys     proc.FS
	procRoot string
}

func newSocketFinder(o Options, _ bool) *socketFinder {
	return &socketFinder{fsys: proc.FS{Root: o.Root}, procRoot: o.procRoot()}
}

// listening returns p's listening TCP addresses: an empty, non-nil slice
// when it listens on none, an error wrapping fs.ErrPermission when its fds
// are not ours to read.
func (f *socketFinder) listening(ctx context.Context, p *Process) ([]netip.AddrPort, error) {
	conns, err := net.ConnectionsPidWithoutUidsWithContext(f.fsys.Context(ctx), "tcp", int32(p.PID))
	if err != nil {
		return nil, err
	}
	addrs := listenAddrs(conns, p.PID)
	if len(addrs) == 0 {
		// gopsutil v4.26.10 answers "no connections" when it could not
		// open /proc/PID/fd or read its links (getProcInodes' error is
		// dropped when it found no inode): tell "none" from "not ours".
		if err := fdAccess(f.procRoot, p.PID); err != nil {
			return nil, err
		}
	}
	return addrs, nil
}

// fdAccess checks that pid's fd directory lists and that its links read.
// Reading another user's fds needs root (or CAP_SYS_PTRACE).
func fdAccess(procRoot string, pid int) error {
	dir := filepath.Join(procRoot, strconv.Itoa(pid), "fd")
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	names, err := d.Readdirnames(8)
	d.Close()
	if err != nil && len(names) == 0 {
		return nil // no fds at all
	}
	for _, n := range names {
		_, err := os.Readlink(filepath.Join(dir, n))
		if os.IsPermission(err) {
			return err // the directory lists, but its links are not ours to read
		}
		if err == nil {
			return nil
		}
		// closed meanwhile: try the next
	}
	return nil
}

// exeName names the file build info is read from, for reasons.
func exeName(procRoot string, pid int) string {
	return filepath.Join(procRoot, strconv.Itoa(pid), "exe")
}

// gopsProcRoot is where gops.FindAgent checks that the PID exists.
func gopsProcRoot(o Options) string { return o.procRoot() }

// buildPath is the file to read pid's build info from: the /proc/PID/exe
// link, which opens the running binary even after it was deleted or
// replaced on disk.
func buildPath(_ context.Context, _ proc.FS, procRoot string, pid int) (string, error) {
	return filepath.Join(procRoot, strconv.Itoa(pid), "exe"), nil
}

// netNS is the network namespace of pid (procRoot/PID/ns/net), or "".
func netNS(procRoot string, pid int) string {
	ns, _ := os.Readlink(filepath.Join(procRoot, strconv.Itoa(pid), "ns", "net"))
	return ns
}

// ourNetNS is gotune's own network namespace, or "" for a fake root (no
// namespace check).
func ourNetNS(o Options) string {
	if o.Root != "/" {
		return ""
	}
	ns, _ := os.Readlink("/proc/self/ns/net")
	return ns
}
