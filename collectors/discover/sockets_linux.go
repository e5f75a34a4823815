package discover

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/gotune/gotune/collectors/proc"
)

// socketFinder reads listening sockets with gotune's own /proc reader, not
// gopsutil's: gopsutil joins a PID's fds with /proc/PID/net/tcp{,6} on
// every call, and reading a TCP table costs the kernel a walk of its whole
// socket hash (2.5 to 4 ms per file on the 24 GiB test machine, however
// few sockets there are). Per PID, the OS-only part of a scan of 100 Go
// processes went from about 46 ms to 92–155 ms; gopsutil's all-processes
// form, shared by a scan, reads every fd of every process and ran 41 ms
// of serial work. Here each network namespace's tables are read once per
// scan and each PID's socket fds once. TestHostFiguresAgreeWithKernel
// checks that gopsutil and this reader agree on real targets.
type socketFinder struct {
	mu       sync.Mutex // guards tables
	tables   *netTables
	procRoot string
}

func newSocketFinder(o Options, _ bool) *socketFinder {
	return &socketFinder{tables: &netTables{procRoot: o.procRoot()}, procRoot: o.procRoot()}
}

// listening returns p's listening TCP addresses: an empty, non-nil slice
// when it listens on none, an error wrapping fs.ErrPermission when its fds
// are not ours to read.
func (f *socketFinder) listening(_ context.Context, p *Process) ([]netip.AddrPort, error) {
	inodes, err := socketInodes(f.procRoot, p.PID)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return pidListening(f.tables, p.PID, p.ns, inodes)
}

// tcpListen is the kernel's TCP_LISTEN state as /proc/net/tcp prints it
// (include/net/tcp_states.h: TCP_LISTEN = 10).
const tcpListen = "0A"

// listenSocket is one listening TCP socket.
type listenSocket struct {
	Addr  netip.AddrPort
	Inode uint64
}

// parseNetTCP parses /proc/net/tcp or /proc/net/tcp6 (man 5 proc, the
// kernel's tcp4_seq_show / tcp6_seq_show) and returns the sockets in LISTEN
// state. Addresses are hex in the kernel's byte order: each 32-bit word is
// stored in host order (so 127.0.0.1 reads 0100007F on little-endian), the
// port is big-endian hex.
func parseNetTCP(b []byte) ([]listenSocket, error) {
	var out []listenSocket
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 512), 64<<10)
	first := true
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if first {
			first = false
			if len(f) > 0 && f[0] == "sl" {
				continue
			}
		}
		if len(f) < 10 || f[3] != tcpListen {
			continue
		}
		ap, err := parseHexAddrPort(f[1])
		if err != nil {
			return out, fmt.Errorf("bad local address %q: %w", f[1], err)
		}
		inode, err := strconv.ParseUint(f[9], 10, 64)
		if err != nil {
			return out, fmt.Errorf("bad inode %q: %w", f[9], err)
		}
		if inode == 0 {
			continue // a socket being torn down
		}
		out = append(out, listenSocket{Addr: ap, Inode: inode})
	}
	return out, sc.Err()
}

func parseHexAddrPort(s string) (netip.AddrPort, error) {
	h, p, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, errors.New("no port")
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, err
	}
	raw, err := hex.DecodeString(h)
	if err != nil {
		return netip.AddrPort{}, err
	}
	var addr netip.Addr
	switch len(raw) {
	case 4:
		var a [4]byte
		binary.BigEndian.PutUint32(a[:], binary.NativeEndian.Uint32(raw))
		addr = netip.AddrFrom4(a)
	case 16:
		var a [16]byte
		for i := 0; i < 16; i += 4 {
			binary.BigEndian.PutUint32(a[i:], binary.NativeEndian.Uint32(raw[i:]))
		}
		addr = netip.AddrFrom16(a).Unmap()
	default:
		return netip.AddrPort{}, fmt.Errorf("address of %d bytes", len(raw))
	}
	return netip.AddrPortFrom(addr, uint16(port)), nil
}

// socketInodes returns the inodes of the sockets pid has open, from the
// "socket:[N]" targets of /proc/PID/fd/*. Reading another user's fds needs
// root (or CAP_SYS_PTRACE): the error then wraps fs.ErrPermission.
func socketInodes(procRoot string, pid int) (map[uint64]bool, error) {
	dir := filepath.Join(procRoot, strconv.Itoa(pid), "fd")
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return nil, err
	}
	inodes := make(map[uint64]bool)
	for _, n := range names {
		link, err := os.Readlink(filepath.Join(dir, n))
		if errors.Is(err, fs.ErrPermission) {
			return nil, err // the directory lists, but its links are not ours to read
		}
		if err != nil {
			continue // closed meanwhile
		}
		if s, ok := strings.CutPrefix(link, "socket:["); ok {
			if ino, err := strconv.ParseUint(strings.TrimSuffix(s, "]"), 10, 64); err == nil {
				inodes[ino] = true
			}
		}
	}
	return inodes, nil
}

// netTables reads the LISTEN sockets of the network namespace pid is in, by
// way of /proc/PID/net/tcp{,6} (which shows pid's namespace, not ours), with
// a cache keyed by namespace so a host with many processes reads each table
// once.
type netTables struct {
	procRoot string
	byNS     map[string][]listenSocket
}

func (n *netTables) listening(pid int, ns string) ([]listenSocket, error) {
	if ns != "" {
		if s, ok := n.byNS[ns]; ok {
			return s, nil
		}
	}
	var all []listenSocket
	var errs []error
	for _, name := range []string{"tcp", "tcp6"} {
		b, err := os.ReadFile(filepath.Join(n.procRoot, strconv.Itoa(pid), "net", name))
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) { // no IPv6 in this kernel
				errs = append(errs, err)
			}
			continue
		}
		s, err := parseNetTCP(b)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
		all = append(all, s...)
	}
	if len(errs) > 0 && len(all) == 0 {
		return nil, errors.Join(errs...)
	}
	if ns != "" {
		if n.byNS == nil {
			n.byNS = make(map[string][]listenSocket)
		}
		n.byNS[ns] = all
	}
	return all, nil
}

func pidListening(n *netTables, pid int, ns string, inodes map[uint64]bool) ([]netip.AddrPort, error) {
	if len(inodes) == 0 {
		return []netip.AddrPort{}, nil
	}
	socks, err := n.listening(pid, ns)
	if err != nil {
		return nil, err
	}
	out := []netip.AddrPort{}
	for _, s := range socks {
		if inodes[s.Inode] && !slices.Contains(out, s.Addr) {
			out = append(out, s.Addr)
		}
	}
	slices.SortFunc(out, func(a, b netip.AddrPort) int { return a.Compare(b) })
	return out, nil
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
