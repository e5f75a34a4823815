package discover

import (
	"context"
	"net/netip"
	"os"

	"github.com/shirou/gopsutil/v4/net"
)

// The two readers of a process's listening sockets on Linux, compared by
// TestListeningSelf and TestHostFiguresAgreeWithKernel.

// kernelListening is gotune's own reader: the socket:[N] links of
// /proc/PID/fd joined with /proc/PID/net/tcp{,6}.
func kernelListening(pid int) ([]netip.AddrPort, error) {
	p := &Process{PID: pid, ns: netNS("/proc", pid)}
	return newSocketFinder(Options{Root: "/"}, false).listening(context.Background(), p)
}

// gopsutilListening is gopsutil's per-PID connection list, as macOS,
// FreeBSD and Windows use it (there through lsof or GetExtendedTcpTable).
func gopsutilListening(pid int) ([]netip.AddrPort, error) {
	conns, err := net.ConnectionsPidWithoutUidsWithContext(context.Background(), "tcp", int32(pid))
	if err != nil {
		return nil, err
	}
	return listenAddrs(conns, pid), nil
}

func readDirNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}
