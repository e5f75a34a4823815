//go:build !linux

package discover

import (
	"context"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"runtime"
	"sync"

	"github.com/gotune/gotune/collectors/proc"
	"github.com/shirou/gopsutil/v4/net"
)

// socketFinder reads listening sockets through gopsutil: on macOS and
// FreeBSD it runs lsof (`lsof -a -n -P -i tcp`, which FreeBSD has only as
// a package), on Windows it calls GetExtendedTcpTable. One call lists
// every process's sockets, so a scan makes it once and shares it; Resolve
// asks for one PID.
type socketFinder struct {
	scan bool
	once sync.Once
	all  []net.ConnectionStat
	err  error
}

func newSocketFinder(_ Options, scan bool) *socketFinder { return &socketFinder{scan: scan} }

func (f *socketFinder) listening(ctx context.Context, p *Process) ([]netip.AddrPort, error) {
	if runtime.GOOS != "windows" && p.UID >= 0 && os.Geteuid() > 0 && p.UID != os.Geteuid() {
		// lsof lists another user's sockets only to root; an empty answer
		// would read as "listens on nothing".
		return nil, fmt.Errorf("lsof shows another user's sockets only to root: %w", fs.ErrPermission)
	}
	var conns []net.ConnectionStat
	var err error
	if f.scan {
		f.once.Do(func() { f.all, f.err = net.ConnectionsWithContext(ctx, "tcp") })
		conns, err = f.all, f.err
	} else {
		conns, err = net.ConnectionsPidWithContext(ctx, "tcp", int32(p.PID))
	}
	if err != nil {
		return nil, fmt.Errorf("list sockets: %w", err)
	}
	return listenAddrs(conns, p.PID), nil
}

// exeName names the file build info is read from, for reasons.
func exeName(_ string, pid int) string { return fmt.Sprintf("the executable of PID %d", pid) }

// gopsProcRoot: there is no /proc to check the PID in ("" skips it; the
// PID was just read through gopsutil).
func gopsProcRoot(Options) string { return "" }

// buildPath is the executable the OS names for pid (proc_pidpath on macOS,
// kern.proc.pathname on FreeBSD, QueryFullProcessImageName on Windows).
// Unlike Linux's /proc/PID/exe it is a path: a binary deleted or replaced
// since the process started is not the one read (or not found).
func buildPath(ctx context.Context, fsys proc.FS, _ string, pid int) (string, error) {
	return fsys.Exe(ctx, pid)
}

// Network namespaces are Linux's.
func netNS(string, int) string { return "" }

func ourNetNS(Options) string { return "" }
