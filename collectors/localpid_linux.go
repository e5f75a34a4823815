package collectors

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gotune/gotune/collectors/proc"
)

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
