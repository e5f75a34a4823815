package discover

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gotune/gotune/collectors/proc"
	psnet "github.com/shirou/gopsutil/v4/net"
)

// ErrNotLocal says a URL names another machine: its process is out of the
// OS's reach.
var ErrNotLocal = errors.New("not a local address")

// LocalPID finds the local process behind a URL target, so URL mode can
// show its OS figures: when the URL's host is this machine (localhost, a
// loopback address, or an address of one of its interfaces), it returns
// the PID that listens on the URL's port, through gopsutil's connection
// list (every process's sockets: /proc on Linux, lsof on macOS and
// FreeBSD, GetExtendedTcpTable on Windows). A host name other than
// localhost is resolved, within the context's deadline. The error wraps
// ErrNotLocal for another machine; it says so when the socket is found but
// its owner is not visible (another user's process while gotune is not
// root).
func LocalPID(ctx context.Context, target string, opts Options) (int, error) {
	opts = opts.withDefaults()
	host, port, err := hostPort(target)
	if err != nil {
		return 0, err
	}
	addrs, err := localAddrs(ctx, host)
	if err != nil {
		return 0, err
	}
	conns, err := psnet.ConnectionsWithoutUidsWithContext(proc.FS{Root: opts.Root}.Context(ctx), "tcp")
	if err != nil {
		return 0, fmt.Errorf("list listening sockets: %w", err)
	}
	hidden := false
	for _, c := range conns {
		if c.Status != "LISTEN" || c.Laddr.Port != uint32(port) {
			continue
		}
		l := listenAddrs([]psnet.ConnectionStat{c}, int(c.Pid))
		if len(l) != 1 || !servesAny(l[0].Addr(), addrs) {
			continue
		}
		if c.Pid <= 0 {
			hidden = true
			continue
		}
		return int(c.Pid), nil
	}
	if hidden {
		return 0, fmt.Errorf("port %d is listened on by a process gotune cannot see (another user's; run gotune as root)", port)
	}
	return 0, fmt.Errorf("no local process listens on port %d", port)
}

// hostPort splits "http://host:port/...", "host:port" or ":port".
func hostPort(target string) (string, int, error) {
	s := target
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", 0, fmt.Errorf("%s: %w", target, err)
	}
	p := u.Port()
	if p == "" {
		p = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	port, err := strconv.Atoi(p)
	if err != nil || port <= 0 || port > 65535 {
		return "", 0, fmt.Errorf("%s: no TCP port", target)
	}
	return u.Hostname(), port, nil
}

// localAddrs returns the addresses host names, if every one is this
// machine's; else an error wrapping ErrNotLocal.
func localAddrs(ctx context.Context, host string) ([]netip.Addr, error) {
	var addrs []netip.Addr
	switch a, err := netip.ParseAddr(host); {
	case host == "" || strings.EqualFold(host, "localhost"):
		return []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()}, nil
	case err == nil:
		addrs = []netip.Addr{a.Unmap().WithZone("")}
	default:
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return nil, fmt.Errorf("resolve %s: %w", host, err)
		}
		for _, ip := range ips {
			addrs = append(addrs, ip.Unmap().WithZone(""))
		}
	}
	own, err := net.InterfaceAddrs()
	if err != nil {
		return nil, fmt.Errorf("this machine's addresses: %w", err)
	}
	for _, a := range addrs {
		if a.IsLoopback() || a.IsUnspecified() {
			continue
		}
		mine := false
		for _, o := range own {
			if p, err := netip.ParsePrefix(o.String()); err == nil && p.Addr().Unmap() == a {
				mine = true
			}
		}
		if !mine {
			return nil, fmt.Errorf("%s (%s): %w", host, a, ErrNotLocal)
		}
	}
	return addrs, nil
}

// servesAny reports whether a socket listening on l accepts connections to
// one of addrs: the same address, or a wildcard (:: also takes IPv4).
func servesAny(l netip.Addr, addrs []netip.Addr) bool {
	for _, a := range addrs {
		switch {
		case l == a, l == netip.IPv6Unspecified():
			return true
		case l == netip.IPv4Unspecified() && a.Is4():
			return true
		}
	}
	return false
}
