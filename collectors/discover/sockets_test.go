package discover

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/shirou/gopsutil/v4/net"
)

// gopsutil's address spellings differ by OS (Linux: from /proc; macOS and
// FreeBSD: lsof's "*" and "[::1]"; Windows: the IP table): all become the
// same listening addresses.
func TestListenAddrs(t *testing.T) {
	conn := func(pid int32, family uint32, ip string, port uint32, status string) net.ConnectionStat {
		return net.ConnectionStat{Pid: pid, Family: family, Status: status, Laddr: net.Addr{IP: ip, Port: port}}
	}
	conns := []net.ConnectionStat{
		conn(7, 2, "127.0.0.1", 6060, "LISTEN"),
		conn(7, 10, "::", 8080, "LISTEN"),
		conn(7, 10, "::ffff:127.0.0.1", 6061, "LISTEN"),
		conn(7, 30, "*", 9090, "LISTEN"), // lsof, IPv6 on macOS
		conn(7, 2, "*", 9091, "LISTEN"),  // lsof, IPv4
		conn(7, 10, "[::1]", 9092, "LISTEN"),
		conn(7, 2, "127.0.0.1", 6060, "LISTEN"),       // duplicate
		conn(7, 2, "127.0.0.1", 40000, "ESTABLISHED"), // not listening
		conn(8, 2, "127.0.0.1", 7070, "LISTEN"),       // another process
		conn(7, 2, "bogus", 1, "LISTEN"),
	}
	var want []netip.AddrPort
	for _, s := range []string{"0.0.0.0:9091", "127.0.0.1:6060", "127.0.0.1:6061", "[::]:8080", "[::]:9090", "[::1]:9092"} {
		want = append(want, netip.MustParseAddrPort(s))
	}
	slices.SortFunc(want, func(a, b netip.AddrPort) int { return a.Compare(b) })
	if got := listenAddrs(conns, 7); !slices.Equal(got, want) {
		t.Errorf("listenAddrs = %v\nwant %v", got, want)
	}
	if got := listenAddrs(nil, 7); got == nil || len(got) != 0 {
		t.Errorf("no connections: %v, want empty non-nil", got)
	}
}
