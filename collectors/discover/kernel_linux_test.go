package discover

// The kernel's own view of listening sockets, read without gopsutil: the
// reference the gopsutil path is checked against (TestListeningSelf and
// TestHostFiguresAgreeWithKernel). This was gotune's production reader
// before it moved to gopsutil.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
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

type listenSocket struct {
	Addr  netip.AddrPort
	Inode uint64
}

// parseNetTCP parses /proc/net/tcp or /proc/net/tcp6 (man 5 proc, the
// kernel's tcp4_seq_show / tcp6_seq_show) and returns the sockets in LISTEN
// state. Each 32-bit word of an address is stored in host order (127.0.0.1
// reads 0100007F on little-endian); the port is big-endian hex.
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
		if inode != 0 {
			out = append(out, listenSocket{Addr: ap, Inode: inode})
		}
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

// kernelListening returns pid's listening addresses from the socket:[N]
// links of /proc/PID/fd and /proc/PID/net/tcp{,6}, sorted.
func kernelListening(pid int) ([]netip.AddrPort, error) {
	dir := filepath.Join("/proc", strconv.Itoa(pid), "fd")
	names, err := readDirNames(dir)
	if err != nil {
		return nil, err
	}
	inodes := map[uint64]bool{}
	for _, n := range names {
		link, err := os.Readlink(filepath.Join(dir, n))
		if err != nil {
			continue
		}
		if s, ok := strings.CutPrefix(link, "socket:["); ok {
			if ino, err := strconv.ParseUint(strings.TrimSuffix(s, "]"), 10, 64); err == nil {
				inodes[ino] = true
			}
		}
	}
	out := []netip.AddrPort{}
	for _, name := range []string{"tcp", "tcp6"} {
		b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "net", name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		socks, err := parseNetTCP(b)
		if err != nil {
			return nil, err
		}
		for _, s := range socks {
			if inodes[s.Inode] && !slices.Contains(out, s.Addr) {
				out = append(out, s.Addr)
			}
		}
	}
	slices.SortFunc(out, func(a, b netip.AddrPort) int { return a.Compare(b) })
	return out, nil
}

func readDirNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}
