package collectors

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gotune/gotune/collectors/discover"
	"github.com/gotune/gotune/collectors/proc"
)

// localListener finds the local process listening on the port of base,
// when base is a loopback URL: the LISTEN socket of that port in
// /proc/net/tcp{,6}, then the process holding its inode among the fds
// gotune may read (its own user's processes, or all as root). A URL
// target needs only its start time from it: MemStats' GCCPUFraction is a
// share of the time since the start (session.GCPaidPerP), which neither
// pprof nor expvar report.
func localListener(ctx context.Context, fsys proc.FS, base string) (int, error) {
	u, err := url.Parse(base)
	if err != nil {
		return 0, err
	}
	host, portText, err := net.SplitHostPort(u.Host)
	if err != nil {
		return 0, err
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return 0, fmt.Errorf("%s is not a loopback address", host)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return 0, err
	}
	inodes := map[uint64]bool{}
	for _, name := range []string{"tcp", "tcp6"} {
		b, err := os.ReadFile(filepath.Join(fsys.Root, "proc", "net", name))
		if err != nil {
			continue
		}
		socks, _ := discover.ParseNetTCP(b)
		for _, s := range socks {
			a := s.Addr.Addr()
			if int(s.Addr.Port()) == port && (a.IsLoopback() || a.IsUnspecified()) {
				inodes[s.Inode] = true
			}
		}
	}
	if len(inodes) == 0 {
		return 0, fmt.Errorf("no local socket listens on port %d (another network namespace?)", port)
	}
	pids, err := fsys.PIDs(ctx)
	if err != nil {
		return 0, err
	}
	self := os.Getpid()
	for _, pid := range pids {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		if pid == self && fsys.Root == "/" {
			continue
		}
		dir := filepath.Join(fsys.Root, "proc", strconv.Itoa(pid), "fd")
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue // another user's: not ours to read
		}
		for _, e := range ents {
			link, err := os.Readlink(filepath.Join(dir, e.Name()))
			if err != nil {
				continue
			}
			if s, ok := strings.CutPrefix(link, "socket:["); ok {
				if ino, err := strconv.ParseUint(strings.TrimSuffix(s, "]"), 10, 64); err == nil && inodes[ino] {
					return pid, nil
				}
			}
		}
	}
	return 0, errors.New("the process listening there is not one gotune may inspect (another user's?)")
}

// processStart is when pid started, to about 20 ms: now − /proc/uptime +
// /proc/PID/stat starttime ÷ USER_HZ. /proc/stat's btime (what
// proc.ProcessStat.StartTime builds on) is whole seconds, and GC CPU from
// MemStats needs better: GCCPUFraction × (LastGC − start) is off by
// ΔGCCPUFraction × the start's error (session.GCPaidPerP), which is large
// in a young process whose fraction still falls fast.
func processStart(fsys proc.FS, pid int) (time.Time, error) {
	now := time.Now()
	up, err := os.ReadFile(filepath.Join(fsys.Root, "proc", "uptime"))
	if err != nil {
		return time.Time{}, err
	}
	f := strings.Fields(string(up))
	if len(f) == 0 {
		return time.Time{}, errors.New("/proc/uptime is empty")
	}
	uptime, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("/proc/uptime: %w", err)
	}
	stat, err := os.ReadFile(filepath.Join(fsys.Root, "proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return time.Time{}, err
	}
	i := strings.LastIndexByte(string(stat), ')')
	if i < 0 {
		return time.Time{}, fmt.Errorf("/proc/%d/stat: no command field", pid)
	}
	// After ")" come fields 3.. (man 5 proc): starttime is field 22.
	rest := strings.Fields(string(stat[i+1:]))
	if len(rest) < 20 {
		return time.Time{}, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(rest)+2)
	}
	ticks, err := strconv.ParseUint(rest[19], 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("/proc/%d/stat starttime: %w", pid, err)
	}
	boot := now.Add(-time.Duration(uptime * float64(time.Second)))
	return boot.Add(time.Duration(ticks) * (time.Second / proc.ClockTicks)), nil
}
