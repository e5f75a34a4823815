package cgroup

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

var errFormat = errors.New("unexpected format")

// membership is one line of /proc/PID/cgroup, "hierarchy-ID:controllers:path"
// (man 7 cgroups, "/proc/[pid]/cgroup"). ID 0 with no controllers is the v2
// hierarchy.
type membership struct {
	ID          int
	Controllers []string // v1 only; "name=systemd" style entries included
	Path        string
}

// parseProcCgroup parses /proc/PID/cgroup.
func parseProcCgroup(b []byte) ([]membership, error) {
	var ms []membership
	for line := range bytes.SplitSeq(b, []byte{'\n'}) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		id, rest, ok1 := bytes.Cut(line, []byte{':'})
		ctrls, path, ok2 := bytes.Cut(rest, []byte{':'})
		n, err := strconv.Atoi(string(id))
		if !ok1 || !ok2 || err != nil || n < 0 || len(path) == 0 || path[0] != '/' {
			return nil, fmt.Errorf("/proc/PID/cgroup: %w: line %q", errFormat, line)
		}
		m := membership{ID: n, Path: string(path)}
		if len(ctrls) > 0 {
			m.Controllers = strings.Split(string(ctrls), ",")
		}
		ms = append(ms, m)
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("/proc/PID/cgroup: %w: empty", errFormat)
	}
	return ms, nil
}

// mount is a cgroup or cgroup2 line of /proc/self/mountinfo.
type mount struct {
	Root       string   // (4) root of the mount within the cgroup hierarchy
	MountPoint string   // (5)
	FSType     string   // (9) "cgroup" or "cgroup2"
	Options    []string // (11) super options; a v1 mount lists its controllers here
}

// parseMountinfo returns the cgroup and cgroup2 mounts of a mountinfo file
// (man 5 proc_pid_mountinfo):
//
//	36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//	(1)(2)(3)   (4)   (5)      (6)      (7)   (8) (9)   (10)         (11)
//
// Paths escape space, tab, newline and backslash as \ooo octal
// (fs/proc_namespace.c show_mountinfo → seq_path_root with " \t\n\\").
func parseMountinfo(b []byte) ([]mount, error) {
	var ms []mount
	for line := range bytes.SplitSeq(b, []byte{'\n'}) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		pre, post, ok := bytes.Cut(line, []byte(" - "))
		f := bytes.Fields(pre)
		g := bytes.Fields(post)
		if !ok || len(f) < 6 || len(g) < 2 {
			return nil, fmt.Errorf("mountinfo: %w: line %q", errFormat, line)
		}
		fstype := string(g[0])
		if fstype != "cgroup" && fstype != "cgroup2" {
			continue
		}
		root, err1 := unescapeOctal(string(f[3]))
		mnt, err2 := unescapeOctal(string(f[4]))
		if err := errors.Join(err1, err2); err != nil || root == "" || root[0] != '/' || mnt == "" || mnt[0] != '/' {
			return nil, fmt.Errorf("mountinfo: %w: line %q", errFormat, line)
		}
		m := mount{Root: root, MountPoint: mnt, FSType: fstype}
		if len(g) >= 3 {
			m.Options = strings.Split(string(g[2]), ",")
		}
		ms = append(ms, m)
	}
	return ms, nil
}

func unescapeOctal(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var out strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			out.WriteByte(s[i])
			continue
		}
		if i+4 > len(s) {
			return "", fmt.Errorf("short escape in %q", s)
		}
		n, err := strconv.ParseUint(s[i+1:i+4], 8, 8)
		if err != nil {
			return "", fmt.Errorf("bad escape in %q", s)
		}
		out.WriteByte(byte(n))
		i += 3
	}
	return out.String(), nil
}

// parseFlatKeyed parses "key value" lines (cpu.stat, memory.events,
// memory.oom_control: Documentation/admin-guide/cgroup-v2.rst "Format").
// Values that are not unsigned integers are skipped.
func parseFlatKeyed(b []byte) (map[string]uint64, error) {
	kv := map[string]uint64{}
	for line := range bytes.SplitSeq(b, []byte{'\n'}) {
		f := bytes.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			return nil, fmt.Errorf("%w: line %q", errFormat, line)
		}
		if v, err := strconv.ParseUint(string(f[1]), 10, 64); err == nil {
			kv[string(f[0])] = v
		}
	}
	return kv, nil
}

// parseCPUMax parses v2 cpu.max, "$MAX $PERIOD" in µs where $MAX may be
// "max" (Documentation/admin-guide/cgroup-v2.rst, "cpu.max"). The kernel
// writes only "$MAX $PERIOD\n"; a lone "$MAX" is accepted as input to the
// file but never printed.
func parseCPUMax(b []byte) (CPUQuota, error) {
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return CPUQuota{}, fmt.Errorf("cpu.max: %w: %q", errFormat, b)
	}
	period, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil || period <= 0 {
		return CPUQuota{}, fmt.Errorf("cpu.max: %w: period %q", errFormat, f[1])
	}
	q := CPUQuota{PeriodUsec: period}
	if f[0] == "max" {
		return q, nil
	}
	quota, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil || quota <= 0 {
		return CPUQuota{}, fmt.Errorf("cpu.max: %w: quota %q", errFormat, f[0])
	}
	q.QuotaUsec, q.Limited = quota, true
	return q, nil
}

// parseInt parses a file holding one decimal integer (v1 cpu.cfs_quota_us
// may be -1).
func parseInt(b []byte) (int64, error) {
	n, err := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %q", errFormat, b)
	}
	return n, nil
}

// v1Unlimited: cgroup v1 prints "no limit" as PAGE_COUNTER_MAX pages in
// bytes, LONG_MAX rounded down to the page size (9223372036854771712 with
// 4 KiB pages, 9223372036854710272 with 64 KiB pages;
// mm/memcontrol-v1.c, include/linux/page_counter.h). Anything within 2 MiB
// of MaxInt64 is that.
const v1Unlimited = math.MaxInt64 - (2<<20 - 1)

// parseMemoryLimit parses v2 memory.max ("max" or bytes) and v1
// memory.limit_in_bytes (bytes, v1Unlimited meaning none).
func parseMemoryLimit(b []byte) (limit uint64, limited bool, err error) {
	s := strings.TrimSpace(string(b))
	if s == "max" {
		return 0, false, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("%w: memory limit %q", errFormat, s)
	}
	if n >= v1Unlimited {
		return 0, false, nil
	}
	return n, true, nil
}

// parseUint parses a file holding one unsigned decimal integer
// (memory.current, memory.usage_in_bytes, ...).
func parseUint(b []byte) (uint64, error) {
	n, err := strconv.ParseUint(string(bytes.TrimSpace(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %q", errFormat, b)
	}
	return n, nil
}

// hasPathPrefix reports whether p is prefix or below it (both start with
// '/'), as internal/runtime/cgroup.hasPathPrefix.
func hasPathPrefix(p, prefix string) bool {
	if prefix == "/" {
		return strings.HasPrefix(p, "/")
	}
	return p == prefix || strings.HasPrefix(p, prefix+"/")
}

func contains(list []string, s string) bool { return slices.Contains(list, s) }
