package cgroup

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"
)

const hostDir = "../../testdata/host"

func read(t *testing.T, name string) Stats {
	t.Helper()
	s, err := FS{Root: filepath.Join(hostDir, name)}.Read(context.Background(), 4242)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Missing) != 0 {
		t.Errorf("Missing = %v", s.Missing)
	}
	if s.CPU == nil || s.Memory == nil || s.Cpuset == nil {
		t.Fatalf("controllers not found: cpu %v memory %v cpuset %v", s.CPU, s.Memory, s.Cpuset)
	}
	return s
}

func quota(q, p int64) CPUQuota { return CPUQuota{QuotaUsec: q, PeriodUsec: p, Limited: true} }
func noQuota(p int64) CPUQuota  { return CPUQuota{PeriodUsec: p} }
func ints(lo, hi int) []int {
	r := []int{}
	for i := lo; i <= hi; i++ {
		r = append(r, i)
	}
	return r
}

const mib = 1 << 20

func checkCPU(t *testing.T, c *CPU, want CPU) {
	t.Helper()
	if c.Hierarchy != want.Hierarchy {
		t.Errorf("cpu hierarchy = %+v, want %+v", c.Hierarchy, want.Hierarchy)
	}
	if !slices.Equal(c.Levels, want.Levels) {
		t.Errorf("cpu levels =\n%+v\nwant\n%+v", c.Levels, want.Levels)
	}
	if c.Effective != want.Effective || c.From != want.From {
		t.Errorf("cpu effective = %+v from %q, want %+v from %q", c.Effective, c.From, want.Effective, want.From)
	}
}

func checkMemory(t *testing.T, m *Memory, want Memory) {
	t.Helper()
	if m.Hierarchy != want.Hierarchy {
		t.Errorf("memory hierarchy = %+v, want %+v", m.Hierarchy, want.Hierarchy)
	}
	if !slices.Equal(m.Levels, want.Levels) {
		t.Errorf("memory levels =\n%+v\nwant\n%+v", m.Levels, want.Levels)
	}
	if m.Limit != want.Limit || m.Limited != want.Limited || m.From != want.From {
		t.Errorf("memory effective = %d (%v) from %q, want %d (%v) from %q", m.Limit, m.Limited, m.From, want.Limit, want.Limited, want.From)
	}
}

func checkCpuset(t *testing.T, c *Cpuset, cpus []int, cpusFrom string, mems []int, memsFrom string) {
	t.Helper()
	if !slices.Equal(c.CPUs, cpus) || c.CPUsFrom != cpusFrom || !slices.Equal(c.Mems, mems) || c.MemsFrom != memsFrom {
		t.Errorf("cpuset = %v from %q, mems %v from %q; want %v from %q, %v from %q",
			c.CPUs, c.CPUsFrom, c.Mems, c.MemsFrom, cpus, cpusFrom, mems, memsFrom)
	}
}

func TestCgroupV1(t *testing.T) {
	s := read(t, "cgroupv1")
	leaf := "/docker/3f2a9c1b7d6e"
	if s.Mode != ModeV1 {
		t.Errorf("Mode = %s", s.Mode)
	}
	checkCPU(t, s.CPU, CPU{
		Hierarchy: Hierarchy{V1, "/sys/fs/cgroup/cpu,cpuacct", leaf},
		Levels: []CPULevel{
			{Path: leaf, Quota: quota(150000, 100000), HasQuota: true, HasThrottling: true,
				Throttling: Throttling{Periods: 51234, Throttled: 1873, Time: 98123456789 * time.Nanosecond}},
			{Path: "/docker", Quota: noQuota(100000), HasQuota: true, HasThrottling: true},
			{Path: "/", Quota: noQuota(100000), HasQuota: true, HasThrottling: true},
		},
		Effective: quota(150000, 100000), From: leaf,
	})
	checkMemory(t, s.Memory, Memory{
		Hierarchy: Hierarchy{V1, "/sys/fs/cgroup/memory", leaf},
		Levels: []MemoryLevel{
			{Path: leaf, Limit: 512 * mib, Limited: true, Usage: 201326592, HasUsage: true, Peak: 530579456, HasPeak: true, OOMKills: 2, HasOOMKill: true, Hierarchical: true},
			{Path: "/docker", Usage: 812345344, HasUsage: true, Peak: 1012345344, HasPeak: true, HasOOMKill: true, Hierarchical: true},
			{Path: "/", Usage: 3123456000, HasUsage: true, Peak: 7021234176, HasPeak: true, HasOOMKill: true, Hierarchical: true},
		},
		Limit: 512 * mib, Limited: true, From: leaf,
	})
	checkCpuset(t, s.Cpuset, ints(0, 3), leaf, []int{0}, "/")
	if g := s.Go; !g.Found || g.Version != V1 || g.Dir != "/sys/fs/cgroup/cpu,cpuacct"+leaf || g.Quota != quota(150000, 100000) {
		t.Errorf("Go view = %+v", g)
	}
	if n := s.Go.GOMAXPROCS(8); n != 2 { // ceil(1.5)
		t.Errorf("GOMAXPROCS(8) = %d, want 2", n)
	}
}

func TestCgroupV2(t *testing.T) {
	s := read(t, "cgroupv2")
	leaf := "/system.slice/gotune-demo.service"
	if s.Mode != ModeV2 {
		t.Errorf("Mode = %s", s.Mode)
	}
	checkCPU(t, s.CPU, CPU{
		Hierarchy: Hierarchy{V2, "/sys/fs/cgroup", leaf},
		Levels: []CPULevel{
			{Path: leaf, Quota: quota(200000, 100000), HasQuota: true, HasThrottling: true,
				Throttling: Throttling{Periods: 8123}, Usage: 51234567 * time.Microsecond},
			{Path: "/system.slice", Quota: noQuota(100000), HasQuota: true, HasThrottling: true, Usage: 812341234 * time.Microsecond},
			// The root cgroup has no cpu.max.
			{Path: "/", HasThrottling: true, Usage: 923412341 * time.Microsecond},
		},
		Effective: quota(200000, 100000), From: leaf,
	})
	checkMemory(t, s.Memory, Memory{
		Hierarchy: Hierarchy{V2, "/sys/fs/cgroup", leaf},
		Levels: []MemoryLevel{
			{Path: leaf, Limit: 1024 * mib, Limited: true, High: 966367641, HasHigh: true, Usage: 201326592, HasUsage: true, Peak: 412876800, HasPeak: true, HasOOMKill: true, Hierarchical: true},
			{Path: "/system.slice", Usage: 2123456512, HasUsage: true, Peak: 3021234176, HasPeak: true, HasOOMKill: true, Hierarchical: true},
			{Path: "/", Hierarchical: true},
		},
		Limit: 1024 * mib, Limited: true, From: leaf,
	})
	checkCpuset(t, s.Cpuset, ints(0, 7), "/", []int{0}, "/")
	if g := s.Go; !g.Found || g.Version != V2 || g.Dir != "/sys/fs/cgroup"+leaf || g.Path != leaf || g.Quota != quota(200000, 100000) {
		t.Errorf("Go view = %+v", g)
	}
}

func TestCgroupHybrid(t *testing.T) {
	s := read(t, "hybrid")
	leaf := "/system.slice/gotune-demo.service"
	if s.Mode != ModeHybrid {
		t.Errorf("Mode = %s", s.Mode)
	}
	// The cpu controller lives in v1 even though a v2 line exists.
	checkCPU(t, s.CPU, CPU{
		Hierarchy: Hierarchy{V1, "/sys/fs/cgroup/cpu,cpuacct", leaf},
		Levels: []CPULevel{
			{Path: leaf, Quota: quota(50000, 50000), HasQuota: true, HasThrottling: true,
				Throttling: Throttling{Periods: 1200, Throttled: 3, Time: 1500 * time.Microsecond}},
			{Path: "/system.slice", Quota: noQuota(100000), HasQuota: true, HasThrottling: true},
			{Path: "/", Quota: noQuota(100000), HasQuota: true, HasThrottling: true},
		},
		Effective: quota(50000, 50000), From: leaf,
	})
	// Unlimited leaf, limited parent slice.
	if m := s.Memory; m.Version != V1 || !m.Limited || m.Limit != 2048*mib || m.From != "/system.slice" || m.Levels[1].OOMKills != 1 {
		t.Errorf("memory = %+v", m)
	}
	// cpuset sits at "/" in its own v1 hierarchy.
	checkCpuset(t, s.Cpuset, ints(0, 3), "/", []int{0}, "/")
	if len(s.Cpuset.Levels) != 1 {
		t.Errorf("cpuset levels = %+v", s.Cpuset.Levels)
	}
	if g := s.Go; !g.Found || g.Version != V1 || g.Quota.Cores() != 1 || g.GOMAXPROCS(4) != 2 {
		t.Errorf("Go view = %+v, GOMAXPROCS(4) = %d", g, g.GOMAXPROCS(4))
	}
}

func TestCgroupV2ParentTighter(t *testing.T) {
	s := read(t, "v2-parent-tighter")
	pod := "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod7c9e2b0a_1d4f_4e7a_9b51_2f6c8d3e1a90.slice"
	leaf := pod + "/cri-containerd-5b1e0c7f9a2d.scope"
	c := s.CPU
	if len(c.Levels) != 5 || c.Levels[0].Path != leaf || c.Levels[1].Path != pod || c.Levels[4].Path != "/" {
		t.Fatalf("levels = %+v", c.Levels)
	}
	if c.Effective != quota(100000, 100000) || c.From != pod {
		t.Errorf("cpu effective = %+v from %s, want 1 core from the pod", c.Effective, c.From)
	}
	if th := c.Levels[1].Throttling; th != (Throttling{Periods: 40123, Throttled: 11234, Time: 812345678 * time.Microsecond}) {
		t.Errorf("pod throttling = %+v", th)
	}
	m := s.Memory
	if m.Limit != 256*mib || m.From != pod || m.Levels[0].Limit != 512*mib || m.Levels[3].Limit != 15*1024*mib || m.Levels[1].OOMKills != 3 {
		t.Errorf("memory = %d from %s, levels %+v", m.Limit, m.From, m.Levels)
	}
	// Go reads only the leaf: 4 cores, while the pod allows 1.
	g := s.Go
	if !g.Found || g.Path != leaf || g.Quota != quota(400000, 100000) || g.GOMAXPROCS(16) != 4 {
		t.Errorf("Go view = %+v, GOMAXPROCS(16) = %d", g, g.GOMAXPROCS(16))
	}
	if c.Effective.Cores() >= g.Quota.Cores() {
		t.Error("fixture lost its point: the parent must be tighter than what Go reads")
	}
}

func TestCgroupThrottled(t *testing.T) {
	s := read(t, "throttled")
	leaf := "/system.slice/docker-9a8b7c6d5e4f.scope"
	cur := s.CPU.Leaf().Throttling
	if want := (Throttling{Periods: 36000, Throttled: 34211, Time: 1692345678 * time.Microsecond}); cur != want {
		t.Errorf("throttling = %+v, want %+v", cur, want)
	}
	if s.CPU.Effective.Cores() != 0.5 || s.CPU.From != leaf {
		t.Errorf("effective = %v from %s", s.CPU.Effective.Cores(), s.CPU.From)
	}
	if n := s.Go.GOMAXPROCS(8); n != 2 { // never below 2 from a quota
		t.Errorf("GOMAXPROCS(8) = %d, want 2", n)
	}
	if n := s.Go.GOMAXPROCS(1); n != 1 {
		t.Errorf("GOMAXPROCS(1) = %d, want 1", n)
	}
	checkCpuset(t, s.Cpuset, []int{2, 3}, leaf, []int{0}, "/")
	prev := Throttling{Periods: cur.Periods - 600, Throttled: cur.Throttled - 570, Time: cur.Time - 28500*time.Millisecond}
	r, ok := Rates(prev, cur, time.Minute)
	if !ok || r.PeriodsPerSecond != 10 || r.ThrottledFraction != 0.95 || math.Abs(r.ThrottledSeconds-0.475) > 1e-9 {
		t.Errorf("Rates = %+v, %v", r, ok)
	}
	before := s
	before.ReadAt = s.ReadAt.Add(-time.Minute)
	before.CPU = &CPU{Levels: slices.Clone(s.CPU.Levels)}
	before.CPU.Levels[0].Throttling = prev
	all := CPURates(before, s)
	if len(all) != 3 || all[leaf] != r || all["/"].PeriodsPerSecond != 0 {
		t.Errorf("CPURates = %+v", all)
	}
	if _, ok := Rates(cur, prev, time.Minute); ok {
		t.Error("Rates accepted counters going backwards")
	}
	if _, ok := Rates(prev, cur, 0); ok {
		t.Error("Rates accepted zero wall time")
	}
}

func TestNoProcess(t *testing.T) {
	_, err := FS{Root: filepath.Join(hostDir, "cgroupv2")}.Read(context.Background(), 1)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v", err)
	}
}

func TestFindMount(t *testing.T) {
	mounts := []mount{
		{Root: "/", MountPoint: "/sys/fs/cgroup/memory", FSType: "cgroup", Options: []string{"rw", "memory"}},
		{Root: "/docker/abc", MountPoint: "/sys/fs/cgroup/cpu,cpuacct", FSType: "cgroup", Options: []string{"rw", "cpu", "cpuacct"}},
		{Root: "/kubepods/pod1", MountPoint: "/sys/fs/cgroup", FSType: "cgroup2"},
	}
	tests := []struct {
		version            Version
		controller, cgroup string
		mnt, rel           string
		ok                 bool
	}{
		{V1, "cpu", "/docker/abc", "/sys/fs/cgroup/cpu,cpuacct", "/", true},
		{V1, "cpu", "/docker/abc/sub", "/sys/fs/cgroup/cpu,cpuacct", "/sub", true},
		{V1, "cpu", "/docker/abcd", "", "", false}, // prefix of the name, not the path
		{V1, "cpuacct", "/docker/abc", "/sys/fs/cgroup/cpu,cpuacct", "/", true},
		{V1, "memory", "/x/y", "/sys/fs/cgroup/memory", "/x/y", true},
		{V1, "pids", "/x", "", "", false},
		{V2, "cpu", "/kubepods/pod1/ctr", "/sys/fs/cgroup", "/ctr", true},
		{V2, "cpu", "/other", "", "", false},
	}
	for _, tt := range tests {
		m, rel, ok := findMount(mounts, tt.version, tt.controller, tt.cgroup)
		if ok != tt.ok || m.MountPoint != tt.mnt || rel != tt.rel {
			t.Errorf("findMount(%v, %s, %s) = %q %q %v, want %q %q %v", tt.version, tt.controller, tt.cgroup, m.MountPoint, rel, ok, tt.mnt, tt.rel, tt.ok)
		}
	}
	// A cgroup outside the reader's namespace ("/../..") is unreachable.
	ns := []mount{{Root: "/", MountPoint: "/sys/fs/cgroup", FSType: "cgroup2"}}
	if _, _, ok := findMount(ns, V2, "cpu", "/../../init.scope"); ok {
		t.Error("findMount reached a cgroup outside the namespace")
	}
}

// TestLive reads this test process's own cgroups and checks the Go view
// against what the runtime actually chose.
func TestLive(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads the live /proc and /sys")
	}
	s, err := FS{Root: "/"}.Read(context.Background(), os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("mode %s, cpu %+v, go %+v", s.Mode, s.CPU, s.Go)
	if s.Mode == ModeNone {
		t.Fatal("no cgroup mounts")
	}
	if s.Memory != nil && s.Memory.Leaf != "" && s.Memory.Levels[0].Path != s.Memory.Leaf {
		t.Errorf("memory leaf %q, first level %q", s.Memory.Leaf, s.Memory.Levels[0].Path)
	}
	if s.Cpuset != nil && len(s.Cpuset.CPUs) > 0 && len(s.Cpuset.CPUs) < runtime.NumCPU() {
		t.Errorf("cpuset %v smaller than this process's %d CPUs", s.Cpuset.CPUs, runtime.NumCPU())
	}
	if os.Getenv("GOMAXPROCS") == "" {
		if got, want := s.Go.GOMAXPROCS(runtime.NumCPU()), runtime.GOMAXPROCS(0); got != want {
			t.Errorf("predicted default GOMAXPROCS %d, runtime chose %d", got, want)
		}
	}
}
