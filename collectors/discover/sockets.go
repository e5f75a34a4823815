package discover

import (
	"net/netip"
	"slices"

	"github.com/shirou/gopsutil/v4/net"
)

// Listening sockets come from gopsutil's net connections on every OS
// (sockets_linux.go: /proc/PID/fd and /proc/PID/net/tcp{,6}, per PID;
// sockets_other.go: lsof on macOS and FreeBSD, GetExtendedTcpTable on
// Windows, once per scan). newSocketFinder and (*socketFinder).listening
// are defined per OS.

// listenAddrs picks pid's LISTEN sockets out of gopsutil's connections,
// sorted, without duplicates. gopsutil spells v4-mapped IPv6 addresses as
// IPv4 ("127.0.0.1") on Linux and may keep the "::ffff:" form elsewhere:
// both unmap to the same address.
func listenAddrs(conns []net.ConnectionStat, pid int) []netip.AddrPort {
	out := []netip.AddrPort{}
	for _, c := range conns {
		if c.Status != "LISTEN" || int(c.Pid) != pid || c.Laddr.Port == 0 || c.Laddr.Port > 65535 {
			continue
		}
		ip := c.Laddr.IP
		if ip == "*" { // lsof's wildcard
			ip = "0.0.0.0"
			if c.Family == 30 || c.Family == 28 || c.Family == 23 { // AF_INET6 on darwin, freebsd, windows
				ip = "::"
			}
		}
		a, err := netip.ParseAddr(trimBrackets(ip))
		if err != nil {
			continue
		}
		ap := netip.AddrPortFrom(a.Unmap().WithZone(""), uint16(c.Laddr.Port))
		if !slices.Contains(out, ap) {
			out = append(out, ap)
		}
	}
	slices.SortFunc(out, func(a, b netip.AddrPort) int { return a.Compare(b) })
	return out
}

func trimBrackets(s string) string {
	if len(s) >= 2 && s[0] == '[' && s[len(s)-1] == ']' {
		return s[1 : len(s)-1]
	}
	return s
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
