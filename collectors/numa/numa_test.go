package numa

import (
	"context"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/gotune/gotune/collectors/cpulist"
	"github.com/gotune/gotune/collectors/proc"
)

const hostDir = "../../testdata/host"

func fixture(name string) FS { return FS{Root: filepath.Join(hostDir, name)} }

func ints(lo, hi int) []int {
	r := []int{}
	for i := lo; i <= hi; i++ {
		r = append(r, i)
	}
	return r
}

const (
	kib = 1024
	mib = 1 << 20
)

func topology(t *testing.T, name string) Topology {
	t.Helper()
	top, err := fixture(name).Topology(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return top
}

func TestTopology(t *testing.T) {
	tests := []struct {
		name      string
		want      []Node
		synthetic bool
	}{
		{"numa-1node", []Node{{ID: 0, CPUs: ints(0, 7), Distances: []int{10}, MemTotal: 32772340 * kib, MemFree: 21123456 * kib, HasMemInfo: true}}, false},
		{"numa-2node", []Node{
			{ID: 0, CPUs: append(ints(0, 15), ints(32, 47)...), Distances: []int{10, 21}, MemTotal: 263856420 * kib, MemFree: 201234560 * kib, HasMemInfo: true},
			{ID: 1, CPUs: append(ints(16, 31), ints(48, 63)...), Distances: []int{21, 10}, MemTotal: 264201340 * kib, MemFree: 99123456 * kib, HasMemInfo: true},
		}, false},
		{"numa-4node", []Node{
			{ID: 0, CPUs: ints(0, 15), Distances: []int{10, 12, 32, 32}, MemTotal: 131923456 * kib, MemFree: 91234560 * kib, HasMemInfo: true},
			{ID: 1, CPUs: ints(16, 31), Distances: []int{12, 10, 32, 32}, MemTotal: 132120576 * kib, MemFree: 41234560 * kib, HasMemInfo: true},
			{ID: 2, CPUs: ints(32, 47), Distances: []int{32, 32, 10, 12}, MemTotal: 132120576 * kib, MemFree: 121234560 * kib, HasMemInfo: true},
			{ID: 3, CPUs: ints(48, 63), Distances: []int{32, 32, 12, 10}, MemTotal: 132120576 * kib, MemFree: 131000000 * kib, HasMemInfo: true},
		}, false},
		// No /sys/devices/system/node: one node from cpu/online and /proc/meminfo.
		{"cgroupv1", []Node{{ID: 0, CPUs: ints(0, 7), Distances: []int{10}, MemTotal: 32772340 * kib, MemFree: 21123456 * kib, HasMemInfo: true}}, true},
	}
	for _, tt := range tests {
		top := topology(t, tt.name)
		if top.Synthetic != tt.synthetic {
			t.Errorf("%s: Synthetic = %v", tt.name, top.Synthetic)
		}
		if !slices.EqualFunc(top.Nodes, tt.want, func(a, b Node) bool {
			return a.ID == b.ID && slices.Equal(a.CPUs, b.CPUs) && slices.Equal(a.Distances, b.Distances) &&
				a.MemTotal == b.MemTotal && a.MemFree == b.MemFree && a.HasMemInfo == b.HasMemInfo
		}) {
			t.Errorf("%s: nodes =\n%+v\nwant\n%+v", tt.name, top.Nodes, tt.want)
		}
	}
}

func TestTopologyLookups(t *testing.T) {
	two := topology(t, "numa-2node")
	for cpu, node := range map[int]int{0: 0, 15: 0, 16: 1, 40: 0, 50: 1, 64: -1, -1: -1} {
		if got := two.NodeOfCPU(cpu); got != node {
			t.Errorf("NodeOfCPU(%d) = %d, want %d", cpu, got, node)
		}
	}
	four := topology(t, "numa-4node")
	if d, ok := four.Distance(0, 2); !ok || d != 32 {
		t.Errorf("Distance(0,2) = %d, %v", d, ok)
	}
	if d, ok := four.Distance(3, 2); !ok || d != 12 {
		t.Errorf("Distance(3,2) = %d, %v", d, ok)
	}
	if _, ok := four.Distance(0, 9); ok {
		t.Error("Distance to a missing node")
	}
	if got := four.NodesOfCPUs(ints(10, 20)); !slices.Equal(got, []int{0, 1}) {
		t.Errorf("NodesOfCPUs = %v", got)
	}
}

func TestSettings(t *testing.T) {
	tests := []struct {
		name            string
		balancing       int
		enabled, defrag string
	}{
		{"numa-1node", 0, "madvise", "madvise"},
		{"numa-2node", 1, "always", "madvise"},
		{"numa-4node", 1, "madvise", "defer+madvise"},
		{"throttled", 0, "never", "never"},
		{"cgroupv1", -1, "madvise", "madvise"}, // no numa_balancing file
	}
	for _, tt := range tests {
		s, err := fixture(tt.name).Settings(context.Background())
		if err != nil || len(s.Missing) != 0 {
			t.Fatalf("%s: %v %v", tt.name, err, s.Missing)
		}
		if s.NUMABalancing != tt.balancing || s.THPEnabled != tt.enabled || s.THPDefrag != tt.defrag {
			t.Errorf("%s: Settings = %+v, want %d %s %s", tt.name, s, tt.balancing, tt.enabled, tt.defrag)
		}
	}
}

func TestNumaMapsTwoNodes(t *testing.T) {
	m, err := fixture("numa-2node").NumaMaps(context.Background(), 4242)
	if err != nil {
		t.Fatal(err)
	}
	const page, huge = 4 * kib, 2 * mib
	want := []NodeMemory{
		{Node: 0, Pages: 1128 + 300 + 2048 + 100000 + 512 + 2048,
			Bytes:     (1128+300+2048+100000+2048)*page + 512*huge,
			AnonBytes: (2048+100000+2048)*page + 512*huge,
			HugeBytes: 512 * huge},
		{Node: 1, Pages: 112 + 52 + 162144 + 2048 + 1 + 33,
			Bytes:     (112 + 52 + 162144 + 2048 + 1 + 33) * page,
			AnonBytes: (162144 + 2048 + 1 + 33) * page},
	}
	if !slices.Equal(m.Nodes, want) {
		t.Errorf("Nodes =\n%+v\nwant\n%+v", m.Nodes, want)
	}
	if m.Mappings != 11 || m.Bytes != want[0].Bytes+want[1].Bytes {
		t.Errorf("Mappings %d, Bytes %d", m.Mappings, m.Bytes)
	}
	wantPolicy := map[string]uint64{
		"interleave:0-1": 4096 * page,
		"bind:1":         page,
		"default":        m.Bytes - 4096*page - page,
	}
	if !maps.Equal(m.PolicyBytes, wantPolicy) {
		t.Errorf("PolicyBytes = %v, want %v", m.PolicyBytes, wantPolicy)
	}
	if f := m.Fraction(0) + m.Fraction(1); f < 0.999999 || f > 1.000001 || m.Fraction(5) != 0 {
		t.Errorf("fractions sum to %v", f)
	}
}

func TestNumaMapsFourNodes(t *testing.T) {
	m, err := fixture("numa-4node").NumaMaps(context.Background(), 4242)
	if err != nil {
		t.Fatal(err)
	}
	const page, huge = 4 * kib, 2 * mib
	want := []NodeMemory{
		{Node: 0, Pages: 1128 + 150000 + 600 + 33, Bytes: (1128+150000+33)*page + 600*huge, AnonBytes: (150000+33)*page + 600*huge, HugeBytes: 600 * huge},
		{Node: 1, Pages: 250000 + 400 + 100, Bytes: (250000+100)*page + 400*huge, AnonBytes: (250000+100)*page + 400*huge, HugeBytes: 400 * huge},
		{Node: 2, Pages: 4 + 100, Bytes: 4*huge + 100*page, AnonBytes: 100 * page, HugeBytes: 4 * huge},
		{Node: 3, Pages: 4 + 100, Bytes: 4*huge + 100*page, AnonBytes: 100 * page, HugeBytes: 4 * huge},
	}
	if !slices.Equal(m.Nodes, want) {
		t.Errorf("Nodes =\n%+v\nwant\n%+v", m.Nodes, want)
	}
	if got := m.PolicyBytes["bind:0-1"]; got != (150000+250000)*page+1000*huge {
		t.Errorf("bind:0-1 bytes = %d", got)
	}
}

func TestProcess(t *testing.T) {
	tests := []struct {
		name           string
		cpus, mems     []int
		cpuNodes       []int
		threads        []ThreadNodes
		nodesWithBytes int
	}{
		{"numa-1node", ints(0, 7), []int{0}, []int{0}, []ThreadNodes{{0, 2}}, 1},
		{"numa-2node", ints(0, 63), []int{0, 1}, []int{0, 1}, []ThreadNodes{{0, 2}, {1, 2}}, 2},
		// numactl --cpunodebind=0,1 --membind=0,1
		{"numa-4node", ints(0, 31), []int{0, 1}, []int{0, 1}, []ThreadNodes{{0, 2}, {1, 3}}, 4},
	}
	for _, tt := range tests {
		fsys := fixture(tt.name)
		top := topology(t, tt.name)
		p, err := fsys.Process(context.Background(), top, 4242, true)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if !slices.Equal(p.AllowedCPUs, tt.cpus) || !slices.Equal(p.AllowedMems, tt.mems) || !slices.Equal(p.CPUNodes, tt.cpuNodes) {
			t.Errorf("%s: cpus %v mems %v nodes %v", tt.name, p.AllowedCPUs, p.AllowedMems, p.CPUNodes)
		}
		if !slices.Equal(p.ThreadNodes, tt.threads) {
			t.Errorf("%s: ThreadNodes = %v, want %v", tt.name, p.ThreadNodes, tt.threads)
		}
		if p.Memory == nil || len(p.Memory.Nodes) != tt.nodesWithBytes {
			t.Errorf("%s: Memory = %+v", tt.name, p.Memory)
		}
	}
	// Without withMaps, numa_maps is not read.
	p, err := fixture("numa-2node").Process(context.Background(), topology(t, "numa-2node"), 4242, false)
	if err != nil || p.Memory != nil {
		t.Errorf("Process without maps: %v, %+v", err, p.Memory)
	}
}

func TestCountThreadNodesUnknownCPU(t *testing.T) {
	top := topology(t, "numa-2node")
	got := CountThreadNodes(top, []proc.ThreadStat{{LastCPU: -1}, {LastCPU: 99}, {LastCPU: 16}})
	if want := []ThreadNodes{{-1, 2}, {1, 1}}; !slices.Equal(got, want) {
		t.Errorf("CountThreadNodes = %v, want %v", got, want)
	}
}

// TestLive reads this machine: its topology, its settings and the test
// process's own numa_maps.
func TestLive(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads the live /sys and /proc")
	}
	ctx := context.Background()
	host := FS{Root: "/"}
	top, err := host.Topology(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var all []int
	for _, n := range top.Nodes {
		all = append(all, n.CPUs...)
		if n.HasMemInfo && (n.MemTotal == 0 || n.MemFree > n.MemTotal) {
			t.Errorf("node %d memory %d free of %d", n.ID, n.MemFree, n.MemTotal)
		}
	}
	slices.Sort(all)
	self, err := proc.SchedAffinity(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if len(cpulist.Intersect(all, self)) != len(self) {
		t.Errorf("node CPUs %v do not cover our affinity %v", all, self)
	}
	if _, err := host.Settings(ctx); err != nil {
		t.Error(err)
	}
	p, err := host.Process(ctx, top, os.Getpid(), true)
	if err != nil {
		t.Fatal(err)
	}
	if p.Memory == nil || p.Memory.Bytes == 0 || p.Memory.Mappings < 10 {
		t.Errorf("numa_maps of self: %+v", p.Memory)
	}
	// PID 1's numa_maps is closed to non-root users (and, in sandboxes,
	// to a root lacking ptrace rights over it): that is a flag, not an error.
	_, direct := os.ReadFile("/proc/1/numa_maps")
	p1, err := host.Process(ctx, top, 1, true)
	if err != nil {
		t.Fatalf("Process(1): %v", err)
	}
	if denied := errors.Is(direct, fs.ErrPermission); p1.MemoryDenied != denied || (p1.Memory == nil) != denied {
		t.Errorf("PID 1: MemoryDenied %v, Memory %v; direct read err %v", p1.MemoryDenied, p1.Memory != nil, direct)
	}
	var threads int
	for _, tn := range p.ThreadNodes {
		if tn.Node < 0 {
			t.Errorf("%d threads on no node", tn.Threads)
		}
		threads += tn.Threads
	}
	if threads < 1 {
		t.Error("no threads")
	}
}
