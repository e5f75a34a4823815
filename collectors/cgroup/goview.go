package cgroup

import (
	"math"
	"os"
	"path/filepath"
)

// GoView is what the Go runtime itself reads for its cgroup-aware default
// GOMAXPROCS (Go ≥1.25, on by default for main modules declaring go ≥1.25;
// GODEBUG containermaxprocs=0 turns it off). From
// $GOROOT/src/internal/runtime/cgroup (cgroup.go, cgroup_linux.go) and
// $GOROOT/src/runtime/cgroup_linux.go, Go 1.25 and 1.26:
//
//   - /proc/self/cgroup: the first v1 line whose controller list contains
//     "cpu" wins; otherwise the v2 line ("0::path"). Other controllers
//     (memory, cpuset) are never read: Go sets no memory limit from cgroups.
//   - /proc/self/mountinfo: the first "cgroup" mount with "cpu" in its super
//     options (v1) or the first "cgroup2" mount (v2) whose root is a prefix
//     of that path; the directory is mount point + path minus root.
//   - In that ONE directory, the leaf: v2 cpu.max, or v1 cpu.cfs_quota_us
//     and cpu.cfs_period_us. Ancestors are never read, so a tighter parent
//     (a Kubernetes pod-level limit, a systemd slice) is invisible to Go
//     (runtime/cgroup_linux.go says so: "We only read the limit from the
//     leaf cgroup"). If the file cannot be opened (v2 root cgroup, cpu
//     controller not enabled) Go applies no cgroup limit.
//   - limit = quota/period; no limit for v2 "max" or a negative v1 quota.
//   - default GOMAXPROCS = min(CPUs in the affinity mask,
//     max(2, ceil(limit))): never below 2 from a quota alone
//     (runtime/debug.go, "Implementation details").
//   - The files stay open and are re-read about once a second
//     (updatemaxprocs), but the cgroup is chosen once at startup: a process
//     migrated to another cgroup keeps reading the old one.
//   - A GOMAXPROCS environment variable or a runtime.GOMAXPROCS call
//     overrides all of this.
type GoView struct {
	Found   bool    // Go would find a cgroup CPU limit file
	Version Version // hierarchy Go would use
	Path    string  // cgroup path of the leaf Go reads
	Dir     string  // directory Go reads, as a host path (without FS.Root)
	Quota   CPUQuota
}

// GOMAXPROCS is the default the Go runtime derives from this view for a
// process whose affinity mask holds cpus CPUs.
func (g GoView) GOMAXPROCS(cpus int) int {
	if !g.Found || !g.Quota.Limited {
		return cpus
	}
	limit := int(max(2, math.Ceil(g.Quota.Cores())))
	return min(cpus, limit)
}

func (fsys FS) goView(members []membership, mounts []mount) GoView {
	var g GoView
	var path string
	for _, m := range members {
		if m.ID == 0 {
			path, g.Version = m.Path, V2
			continue // a v1 cpu hierarchy later in the file takes precedence
		}
		if contains(m.Controllers, "cpu") {
			path, g.Version = m.Path, V1
			break
		}
	}
	if g.Version == 0 {
		return g
	}
	mnt, rel, ok := findMount(mounts, g.Version, "cpu", path)
	if !ok {
		return GoView{}
	}
	g.Path = path
	g.Dir = filepath.Join(mnt.MountPoint, rel)
	dir := fsys.join(g.Dir)
	switch g.Version {
	case V2:
		b, err := os.ReadFile(filepath.Join(dir, "cpu.max"))
		if err != nil {
			return g
		}
		q, err := parseCPUMax(b)
		if err != nil {
			return g
		}
		g.Quota, g.Found = q, true
	case V1:
		qb, err1 := os.ReadFile(filepath.Join(dir, "cpu.cfs_quota_us"))
		pb, err2 := os.ReadFile(filepath.Join(dir, "cpu.cfs_period_us"))
		if err1 != nil || err2 != nil {
			return g
		}
		q, err := parseV1Quota(qb, pb)
		if err != nil {
			return g
		}
		g.Quota, g.Found = q, true
	}
	return g
}
