// Package cgroup reads the Linux control-group limits that bound a process:
// CPU quota and period, CPU throttling counters (and their rates between two
// readings), memory limit, usage, peak and OOM kills, and cpuset CPUs and
// memory nodes. It handles cgroup v1, v2 and hybrid hosts, reads the leaf
// cgroup of the process and every ancestor up to the root of the mount it can
// see, and reports the effective (tightest) value with the cgroup it comes
// from. It also reports exactly what the Go runtime (≥1.25) reads for its
// cgroup-aware default GOMAXPROCS, which is the leaf only (see GoView).
//
// All reads go through FS.Root ("/" live, a fixture tree in tests). The
// process's membership comes from Root/proc/PID/cgroup; mounts come from
// Root/proc/self/mountinfo, gotune's own view, because /proc/PID/cgroup paths
// are relative to the reader's cgroup namespace and only gotune's mounts are
// reachable from gotune.
//
// Sources: Documentation/admin-guide/cgroup-v2.rst;
// Documentation/admin-guide/cgroup-v1/{cgroups,memory,cpusets}.rst;
// Documentation/scheduler/sched-bwc.rst (CFS bandwidth: quota, period,
// nr_periods, nr_throttled, throttled_time/throttled_usec).
package cgroup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gotune/gotune/collectors/cpulist"
)

// FS reads cgroup files under Root.
type FS struct {
	Root string // "/" on a live system
}

// Host is the live system.
var Host = FS{Root: "/"}

// Version is a cgroup hierarchy version.
type Version int

const (
	V1 Version = 1
	V2 Version = 2
)

func (v Version) String() string {
	switch v {
	case V1:
		return "v1"
	case V2:
		return "v2"
	}
	return "none"
}

// Mode is how the host mounts cgroups.
type Mode string

const (
	ModeV1     Mode = "v1"     // only v1 hierarchies
	ModeV2     Mode = "v2"     // only the unified hierarchy
	ModeHybrid Mode = "hybrid" // v1 controllers plus a v2 tree (systemd "hybrid")
	ModeNone   Mode = "none"   // no cgroup mounts visible
)

// Hierarchy says where a controller's files were found.
type Hierarchy struct {
	Version Version
	Mount   string // mount point on the host, e.g. /sys/fs/cgroup/cpu,cpuacct
	Leaf    string // the process's cgroup path, e.g. /system.slice/x.service
}

// CPUQuota is a CFS bandwidth limit: QuotaUsec of CPU time per PeriodUsec of
// wall time (v2 cpu.max; v1 cpu.cfs_quota_us and cpu.cfs_period_us).
type CPUQuota struct {
	QuotaUsec  int64
	PeriodUsec int64
	Limited    bool // false for "max" (v2) or -1 (v1)
}

// Cores is quota/period, the average number of CPUs the cgroup may use;
// +Inf when unlimited.
func (q CPUQuota) Cores() float64 {
	if !q.Limited || q.PeriodUsec <= 0 {
		return math.Inf(1)
	}
	return float64(q.QuotaUsec) / float64(q.PeriodUsec)
}

// Throttling holds the cumulative CFS bandwidth counters of cpu.stat.
type Throttling struct {
	Periods   uint64        // nr_periods: enforcement periods with runnable threads
	Throttled uint64        // nr_throttled: periods in which the quota ran out
	Time      time.Duration // throttled_usec (v2, µs) or throttled_time (v1, ns)
}

// CPULevel is one cgroup on the path from the leaf to the root.
type CPULevel struct {
	Path          string // cgroup path
	Quota         CPUQuota
	HasQuota      bool // the quota files exist (not in the v2 root, nor where cpu is not enabled)
	Throttling    Throttling
	HasThrottling bool
	Usage         time.Duration // v2 cpu.stat usage_usec; 0 on v1 (cpuacct holds it)
}

// CPU is the cpu controller of a process.
type CPU struct {
	Hierarchy
	Levels []CPULevel // leaf first

	// Effective is the tightest quota (fewest cores) over Levels; From is
	// the cgroup path it is set on (the leaf wins a tie). Effective.Limited
	// is false when no level limits CPU.
	Effective CPUQuota
	From      string
}

// Leaf returns the leaf level.
func (c *CPU) Leaf() CPULevel { return c.Levels[0] }

// MemoryLevel is one cgroup's memory figures, in bytes.
type MemoryLevel struct {
	Path       string
	Limit      uint64 // memory.max / memory.limit_in_bytes
	Limited    bool   // false for "max" or v1's "unlimited" value, or no file
	High       uint64 // v2 memory.high (throttling threshold)
	HasHigh    bool
	Usage      uint64 // memory.current / memory.usage_in_bytes
	HasUsage   bool
	Peak       uint64 // memory.peak (v2, Linux ≥5.19) / memory.max_usage_in_bytes
	HasPeak    bool
	OOMKills   uint64 // memory.events oom_kill (v2, includes descendants) / memory.oom_control oom_kill (v1)
	HasOOMKill bool
	// Hierarchical is false for a v1 cgroup with memory.use_hierarchy 0:
	// its limit then does not apply to its children.
	Hierarchical bool
}

// Memory is the memory controller of a process.
type Memory struct {
	Hierarchy
	Levels []MemoryLevel // leaf first

	// Limit is the tightest limit over Levels (ancestors count only when
	// hierarchical) and From the cgroup path it is set on (the leaf wins a
	// tie). Limited is false when nothing limits memory.
	Limit   uint64
	Limited bool
	From    string
}

// CpusetLevel is one cgroup's cpuset.
type CpusetLevel struct {
	Path    string
	CPUs    []int // v2 cpuset.cpus.effective; v1 cpuset.effective_cpus, else cpuset.cpus
	Mems    []int // v2 cpuset.mems.effective; v1 cpuset.effective_mems, else cpuset.mems
	HasCPUs bool
	HasMems bool
}

// Cpuset is the cpuset controller of a process.
type Cpuset struct {
	Hierarchy
	Levels []CpusetLevel // leaf first

	// CPUs and Mems are the intersection over Levels (the kernel already
	// narrows each child to its parent). CPUsFrom and MemsFrom name the
	// highest cgroup that already had that set: where the restriction is
	// configured, since children inherit it implicitly.
	CPUs     []int
	CPUsFrom string
	Mems     []int
	MemsFrom string
}

// Stats is everything cgroups say about one process.
type Stats struct {
	PID    int
	Mode   Mode
	CPU    *CPU    // nil when no cpu hierarchy holds the process
	Memory *Memory // nil likewise
	Cpuset *Cpuset // nil likewise
	Go     GoView
	// Missing lists files that exist but could not be read or parsed.
	Missing []Missing
	ReadAt  time.Time
}

// Missing names a file that could not be read and why.
type Missing struct {
	Path string
	Err  error
}

func (m Missing) Error() string { return m.Path + ": " + m.Err.Error() }

type missingJSON struct {
	Path string `json:"path"`
	Err  string `json:"error"`
}

// MarshalJSON writes the error as its text, so snapshots read it back.
func (m Missing) MarshalJSON() ([]byte, error) {
	var e string
	if m.Err != nil {
		e = m.Err.Error()
	}
	return json.Marshal(missingJSON{m.Path, e})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (m *Missing) UnmarshalJSON(b []byte) error {
	var j missingJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	m.Path, m.Err = j.Path, errors.New(j.Err)
	return nil
}

// ErrNoCgroup means the process belongs to no mounted cgroup hierarchy
// gotune can see.
var ErrNoCgroup = errors.New("not in a visible cgroup")

// reader carries one Read's state.
type reader struct {
	fsys    FS
	missing []Missing
}

func (fsys FS) join(p ...string) string {
	return filepath.Join(append([]string{fsys.Root}, p...)...)
}

// Read reads every cgroup fact about pid.
func (fsys FS) Read(ctx context.Context, pid int) (Stats, error) {
	s := Stats{PID: pid, Mode: ModeNone}
	if err := ctx.Err(); err != nil {
		return s, err
	}
	cgPath := fsys.join("proc", strconv.Itoa(pid), "cgroup")
	b, err := os.ReadFile(cgPath)
	if err != nil {
		return s, fmt.Errorf("read cgroups of process %d: %w", pid, err)
	}
	members, err := parseProcCgroup(b)
	if err != nil {
		return s, fmt.Errorf("%s: %w", cgPath, err)
	}
	miPath := fsys.join("proc", "self", "mountinfo")
	if b, err = os.ReadFile(miPath); err != nil {
		return s, fmt.Errorf("read cgroup mounts: %w", err)
	}
	mounts, err := parseMountinfo(b)
	if err != nil {
		return s, fmt.Errorf("%s: %w", miPath, err)
	}
	s.Mode = mode(mounts)
	s.ReadAt = time.Now()
	r := &reader{fsys: fsys}
	if h, dirs, ok := r.locate(members, mounts, "cpu", "cpu.max"); ok {
		s.CPU = r.cpu(h, dirs)
	}
	if h, dirs, ok := r.locate(members, mounts, "memory", "memory.max"); ok {
		s.Memory = r.memory(h, dirs)
	}
	if h, dirs, ok := r.locate(members, mounts, "cpuset", "cpuset.cpus.effective"); ok {
		s.Cpuset = r.cpuset(h, dirs)
	}
	s.Go = fsys.goView(members, mounts)
	s.Missing = r.missing
	if s.CPU == nil && s.Memory == nil && s.Cpuset == nil && s.Mode == ModeNone {
		return s, fmt.Errorf("process %d: %w", pid, ErrNoCgroup)
	}
	return s, nil
}

func mode(mounts []mount) Mode {
	var v1, v2 bool
	for _, m := range mounts {
		v1 = v1 || m.FSType == "cgroup"
		v2 = v2 || m.FSType == "cgroup2"
	}
	switch {
	case v1 && v2:
		return ModeHybrid
	case v1:
		return ModeV1
	case v2:
		return ModeV2
	}
	return ModeNone
}

// level is one directory on the walk from the leaf up.
type level struct {
	path string // cgroup path
	dir  string // directory under Root
}

// locate finds the hierarchy holding controller for the process, as the
// kernel and Go's runtime do: a v1 hierarchy listing the controller wins,
// else the v2 hierarchy (ID 0) if its root lists the controller in
// cgroup.controllers (the v2 tree of a hybrid host lists none). It returns
// the directories from the leaf up to the root of the mount; on v2, levels
// where the parent does not enable the controller simply lack its files.
func (r *reader) locate(members []membership, mounts []mount, controller, v2File string) (Hierarchy, []level, bool) {
	var m *membership
	for i := range members {
		if members[i].ID != 0 && contains(members[i].Controllers, controller) {
			m = &members[i]
			break
		}
		if members[i].ID == 0 {
			m = &members[i]
		}
	}
	if m == nil {
		return Hierarchy{}, nil, false
	}
	version := V1
	if m.ID == 0 {
		version = V2
	}
	mnt, rel, ok := findMount(mounts, version, controller, m.Path)
	if !ok {
		return Hierarchy{}, nil, false
	}
	var levels []level
	cg := m.Path
	for {
		levels = append(levels, level{path: cg, dir: r.fsys.join(mnt.MountPoint, rel)})
		if rel == "/" {
			break
		}
		rel = path.Dir(rel)
		cg = path.Dir(cg)
	}
	if version == V2 && !r.v2Holds(levels, controller, v2File) {
		return Hierarchy{}, nil, false
	}
	return Hierarchy{Version: version, Mount: mnt.MountPoint, Leaf: m.Path}, levels, true
}

// v2Holds reports whether the v2 tree carries controller: listed in the
// top level's cgroup.controllers, or, if that is unreadable, file present
// somewhere on the path.
func (r *reader) v2Holds(levels []level, controller, file string) bool {
	top := levels[len(levels)-1].dir
	if b, err := os.ReadFile(filepath.Join(top, "cgroup.controllers")); err == nil {
		return contains(strings.Fields(string(b)), controller)
	}
	for _, l := range levels {
		if _, err := os.Stat(filepath.Join(l.dir, file)); err == nil {
			return true
		}
	}
	return false
}

// findMount returns the first mount of the version (for v1, one listing
// controller in its super options) whose root holds cgroup, and cgroup's
// path relative to that mount: the algorithm of Go's
// internal/runtime/cgroup parseCPUMount.
func findMount(mounts []mount, version Version, controller, cgroup string) (mount, string, bool) {
	for _, m := range mounts {
		switch version {
		case V1:
			if m.FSType != "cgroup" || !contains(m.Options, controller) {
				continue
			}
		case V2:
			if m.FSType != "cgroup2" {
				continue
			}
		}
		if !hasPathPrefix(cgroup, m.Root) {
			continue
		}
		rel := cgroup
		if m.Root != "/" {
			rel = cgroup[len(m.Root):]
		}
		if hasPathPrefix(rel, "/..") {
			continue // outside this cgroup namespace: unreachable through this mount
		}
		if rel == "" {
			rel = "/"
		}
		return m, rel, true
	}
	return mount{}, "", false
}

// read returns a file's bytes; a missing file is (nil, false) and is not
// an error, anything else is recorded in Missing.
func (r *reader) read(dir, name string) ([]byte, bool) {
	p := filepath.Join(dir, name)
	b, err := os.ReadFile(p)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			r.missing = append(r.missing, Missing{Path: p, Err: err})
		}
		return nil, false
	}
	return b, true
}

func (r *reader) bad(dir, name string, err error) {
	r.missing = append(r.missing, Missing{Path: filepath.Join(dir, name), Err: err})
}

func (r *reader) cpu(h Hierarchy, levels []level) *CPU {
	c := &CPU{Hierarchy: h}
	for _, l := range levels {
		lv := CPULevel{Path: l.path}
		if h.Version == V2 {
			if b, ok := r.read(l.dir, "cpu.max"); ok {
				if q, err := parseCPUMax(b); err != nil {
					r.bad(l.dir, "cpu.max", err)
				} else {
					lv.Quota, lv.HasQuota = q, true
				}
			}
		} else {
			qb, ok1 := r.read(l.dir, "cpu.cfs_quota_us")
			pb, ok2 := r.read(l.dir, "cpu.cfs_period_us")
			if ok1 && ok2 {
				if q, err := parseV1Quota(qb, pb); err != nil {
					r.bad(l.dir, "cpu.cfs_quota_us", err)
				} else {
					lv.Quota, lv.HasQuota = q, true
				}
			}
		}
		if b, ok := r.read(l.dir, "cpu.stat"); ok {
			if kv, err := parseFlatKeyed(b); err != nil {
				r.bad(l.dir, "cpu.stat", err)
			} else {
				lv.Throttling, lv.HasThrottling = throttlingFrom(kv, h.Version)
				lv.Usage = time.Duration(kv["usage_usec"]) * time.Microsecond
			}
		}
		c.Levels = append(c.Levels, lv)
		if lv.Quota.Limited && (!c.Effective.Limited || lv.Quota.Cores() < c.Effective.Cores()) {
			c.Effective, c.From = lv.Quota, lv.Path
		}
	}
	return c
}

// parseV1Quota combines cpu.cfs_quota_us (-1 = none) and cpu.cfs_period_us.
func parseV1Quota(quota, period []byte) (CPUQuota, error) {
	q, err := parseInt(quota)
	if err != nil {
		return CPUQuota{}, err
	}
	p, err := parseInt(period)
	if err != nil || p <= 0 {
		return CPUQuota{}, fmt.Errorf("%w: period %q", errFormat, period)
	}
	if q < 0 {
		return CPUQuota{PeriodUsec: p}, nil
	}
	if q == 0 {
		return CPUQuota{}, fmt.Errorf("%w: quota 0", errFormat)
	}
	return CPUQuota{QuotaUsec: q, PeriodUsec: p, Limited: true}, nil
}

// throttlingFrom reads the bandwidth counters of cpu.stat: v2 reports
// throttled_usec in µs, v1 throttled_time in ns (sched-bwc.rst).
func throttlingFrom(kv map[string]uint64, v Version) (Throttling, bool) {
	periods, ok := kv["nr_periods"]
	if !ok {
		return Throttling{}, false
	}
	t := Throttling{Periods: periods, Throttled: kv["nr_throttled"]}
	if v == V2 {
		t.Time = time.Duration(min(kv["throttled_usec"], math.MaxInt64/1000)) * time.Microsecond
	} else {
		t.Time = time.Duration(min(kv["throttled_time"], math.MaxInt64))
	}
	return t, true
}

func (r *reader) memory(h Hierarchy, levels []level) *Memory {
	m := &Memory{Hierarchy: h}
	for i, l := range levels {
		lv := MemoryLevel{Path: l.path, Hierarchical: true}
		limitFile, usageFile, peakFile := "memory.max", "memory.current", "memory.peak"
		if h.Version == V1 {
			limitFile, usageFile, peakFile = "memory.limit_in_bytes", "memory.usage_in_bytes", "memory.max_usage_in_bytes"
		}
		if b, ok := r.read(l.dir, limitFile); ok {
			if n, lim, err := parseMemoryLimit(b); err != nil {
				r.bad(l.dir, limitFile, err)
			} else {
				lv.Limit, lv.Limited = n, lim
			}
		}
		if b, ok := r.read(l.dir, usageFile); ok {
			if n, err := parseUint(b); err != nil {
				r.bad(l.dir, usageFile, err)
			} else {
				lv.Usage, lv.HasUsage = n, true
			}
		}
		if b, ok := r.read(l.dir, peakFile); ok {
			if n, err := parseUint(b); err != nil {
				r.bad(l.dir, peakFile, err)
			} else {
				lv.Peak, lv.HasPeak = n, true
			}
		}
		if h.Version == V2 {
			if b, ok := r.read(l.dir, "memory.high"); ok {
				if n, lim, err := parseMemoryLimit(b); err != nil {
					r.bad(l.dir, "memory.high", err)
				} else {
					lv.High, lv.HasHigh = n, lim
				}
			}
		}
		eventsFile := "memory.events"
		if h.Version == V1 {
			eventsFile = "memory.oom_control"
			if b, ok := r.read(l.dir, "memory.use_hierarchy"); ok {
				lv.Hierarchical = strings.TrimSpace(string(b)) != "0"
			}
		}
		if b, ok := r.read(l.dir, eventsFile); ok {
			if kv, err := parseFlatKeyed(b); err != nil {
				r.bad(l.dir, eventsFile, err)
			} else {
				lv.OOMKills, lv.HasOOMKill = kv["oom_kill"]
			}
		}
		m.Levels = append(m.Levels, lv)
		applies := i == 0 || lv.Hierarchical
		if lv.Limited && applies && (!m.Limited || lv.Limit < m.Limit) {
			m.Limit, m.Limited, m.From = lv.Limit, true, lv.Path
		}
	}
	return m
}

func (r *reader) cpuset(h Hierarchy, levels []level) *Cpuset {
	c := &Cpuset{Hierarchy: h}
	cpusFiles := []string{"cpuset.cpus.effective"}
	memsFiles := []string{"cpuset.mems.effective"}
	if h.Version == V1 {
		cpusFiles = []string{"cpuset.effective_cpus", "cpuset.cpus"}
		memsFiles = []string{"cpuset.effective_mems", "cpuset.mems"}
	}
	list := func(dir string, names []string) ([]int, bool) {
		for _, name := range names {
			b, ok := r.read(dir, name)
			if !ok {
				continue
			}
			ids, err := cpulist.Parse(string(b))
			if err != nil {
				r.bad(dir, name, err)
				return nil, false
			}
			return ids, true
		}
		return nil, false
	}
	for _, l := range levels {
		lv := CpusetLevel{Path: l.path}
		lv.CPUs, lv.HasCPUs = list(l.dir, cpusFiles)
		lv.Mems, lv.HasMems = list(l.dir, memsFiles)
		c.Levels = append(c.Levels, lv)
	}
	// Walk root → leaf so that the From paths name the highest level
	// holding the final set.
	for i := len(c.Levels) - 1; i >= 0; i-- {
		lv := c.Levels[i]
		if lv.HasCPUs {
			if c.CPUs == nil {
				c.CPUs, c.CPUsFrom = lv.CPUs, lv.Path
			} else if in := cpulist.Intersect(c.CPUs, lv.CPUs); len(in) < len(c.CPUs) {
				c.CPUs, c.CPUsFrom = in, lv.Path
			}
		}
		if lv.HasMems {
			if c.Mems == nil {
				c.Mems, c.MemsFrom = lv.Mems, lv.Path
			} else if in := cpulist.Intersect(c.Mems, lv.Mems); len(in) < len(c.Mems) {
				c.Mems, c.MemsFrom = in, lv.Path
			}
		}
	}
	return c
}
