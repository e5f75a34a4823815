package agent

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// cgroupRoot is where /proc and /sys are read from; tests point it at a
// fixture tree.
var cgroupRoot = "/"

// v1Unlimited: cgroup v1 reports "no limit" as a page-rounded huge number
// (9223372036854771712 on 4 KiB pages); anything above 2^60 means none.
const v1Unlimited = 1 << 60

// containerMemoryLimit returns the smallest memory limit over the process's
// memory cgroup and its ancestors (v2 memory.max, v1
// memory.limit_in_bytes), or 0 when there is none or it cannot be read.
// Sources: Documentation/admin-guide/cgroup-v2.rst ("memory.max") and
// cgroup-v1/memory.rst ("memory.limit_in_bytes"). It reads a few small
// files, only when a write is checked.
func containerMemoryLimit() int64 {
	groups, err := os.ReadFile(filepath.Join(cgroupRoot, "proc/self/cgroup"))
	if err != nil {
		return 0
	}
	mounts, err := os.ReadFile(filepath.Join(cgroupRoot, "proc/self/mountinfo"))
	if err != nil {
		return 0
	}
	var v1Path, v2Path string
	var haveV1, haveV2 bool
	for line := range strings.SplitSeq(string(groups), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			v2Path, haveV2 = parts[2], true
		}
		for c := range strings.SplitSeq(parts[1], ",") {
			if c == "memory" {
				v1Path, haveV1 = parts[2], true
			}
		}
	}
	// A hybrid host mounts the memory controller as v1: v1 wins.
	if haveV1 {
		if mp, root, ok := findCgroupMount(mounts, "cgroup", "memory"); ok {
			return walkLimit(mp, root, v1Path, "memory.limit_in_bytes")
		}
	}
	if haveV2 {
		if mp, root, ok := findCgroupMount(mounts, "cgroup2", ""); ok {
			return walkLimit(mp, root, v2Path, "memory.max")
		}
	}
	return 0
}

// findCgroupMount finds a mount of fstype (with the super option opt, for
// v1) in mountinfo and returns its mount point and the cgroup it shows as
// its root (man 5 proc, /proc/PID/mountinfo: field 4 is the root, field 5
// the mount point, the fstype follows the " - " separator).
func findCgroupMount(mountinfo []byte, fstype, opt string) (mountPoint, root string, ok bool) {
	for line := range bytes.SplitSeq(mountinfo, []byte("\n")) {
		pre, post, found := bytes.Cut(line, []byte(" - "))
		if !found {
			continue
		}
		f := strings.Fields(string(pre))
		p := strings.Fields(string(post))
		if len(f) < 5 || len(p) < 3 || p[0] != fstype {
			continue
		}
		if opt != "" && !hasOption(p[2], opt) {
			continue
		}
		return filepath.Join(cgroupRoot, f[4]), f[3], true
	}
	return "", "", false
}

func hasOption(opts, want string) bool {
	for o := range strings.SplitSeq(opts, ",") {
		if o == want {
			return true
		}
	}
	return false
}

// walkLimit reads file in the process's cgroup directory and every ancestor
// up to the mount point and returns the smallest limit.
func walkLimit(mountPoint, mountRoot, cgPath, file string) int64 {
	rel := cgPath
	if mountRoot != "/" {
		rel = strings.TrimPrefix(cgPath, mountRoot)
	}
	dir := filepath.Join(mountPoint, rel)
	if _, err := os.Stat(dir); err != nil {
		dir = mountPoint // another cgroup namespace: the mount shows our own group
	}
	var best int64
	for {
		if b, err := os.ReadFile(filepath.Join(dir, file)); err == nil {
			s := strings.TrimSpace(string(b))
			if v, err := strconv.ParseInt(s, 10, 64); err == nil && v > 0 && v < v1Unlimited && (best == 0 || v < best) {
				best = v
			}
		}
		if dir == mountPoint || len(dir) <= len(mountPoint) {
			return best
		}
		dir = filepath.Dir(dir)
	}
}
