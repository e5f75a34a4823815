package discover

import (
	"bufio"
	"bytes"
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
)

// tcpListen is the kernel's TCP_LISTEN state as /proc/net/tcp prints it
// (include/net/tcp_states.h: TCP_LISTEN = 10).
const tcpListen = "0A"

// ListenSocket is one listening TCP socket.
type ListenSocket struct {
	Addr  netip.AddrPort
	Inode uint64
}

// ParseNetTCP parses /proc/net/tcp or /proc/net/tcp6 (man 5 proc, the
// kernel's tcp4_seq_show / tcp6_seq_show) and returns the sockets in LISTEN
// state. Addresses are hex in the kernel's byte order: each 32-bit word is
// stored in host order (so 127.0.0.1 reads 0100007F on little-endian), the
// port is big-endian hex.
func ParseNetTCP(b []byte) ([]ListenSocket, error) {
	var out []ListenSocket
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
		out = append(out, ListenSocket{Addr: ap, Inode: inode})
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
	byNS     map[string][]ListenSocket
}

func (n *netTables) listening(pid int, ns string) ([]ListenSocket, error) {
	if ns != "" {
		if s, ok := n.byNS[ns]; ok {
			return s, nil
		}
	}
	var all []ListenSocket
	var errs []error
	for _, name := range []string{"tcp", "tcp6"} {
		b, err := os.ReadFile(filepath.Join(n.procRoot, strconv.Itoa(pid), "net", name))
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) { // no IPv6 in this kernel
				errs = append(errs, err)
			}
			continue
		}
		s, err := ParseNetTCP(b)
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
			n.byNS = make(map[string][]ListenSocket)
		}
		n.byNS[ns] = all
	}
	return all, nil
}

// ListeningAddrs returns the TCP addresses pid listens on, sorted, from its
// socket fds and its namespace's /proc/net/tcp{,6}.
func ListeningAddrs(procRoot string, pid int) ([]netip.AddrPort, error) {
	inodes, err := socketInodes(procRoot, pid)
	if err != nil {
		return nil, err
	}
	var n netTables
	n.procRoot = procRoot
	return pidListening(&n, pid, "", inodes)
}

func pidListening(n *netTables, pid int, ns string, inodes map[uint64]bool) ([]netip.AddrPort, error) {
	if len(inodes) == 0 {
		return nil, nil
	}
	socks, err := n.listening(pid, ns)
	if err != nil {
		return nil, err
	}
	var out []netip.AddrPort
	for _, s := range socks {
		if inodes[s.Inode] && !slices.Contains(out, s.Addr) {
			out = append(out, s.Addr)
		}
	}
	slices.SortFunc(out, func(a, b netip.AddrPort) int { return a.Compare(b) })
	return out, nil
}

// dialAddrs are the addresses to try, in order, to reach a socket listening
// on a. A wildcard is reached through loopback; Go's net.Listen(":port")
// makes a dual-stack [::] socket, which 127.0.0.1 reaches even where IPv6
// loopback is disabled, so IPv4 loopback is tried first.
func dialAddrs(a netip.AddrPort) []netip.AddrPort {
	v4 := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), a.Port())
	switch a.Addr() {
	case netip.IPv4Unspecified():
		return []netip.AddrPort{v4}
	case netip.IPv6Unspecified():
		return []netip.AddrPort{v4, netip.AddrPortFrom(netip.IPv6Loopback(), a.Port())}
	}
	return []netip.AddrPort{a}
}
