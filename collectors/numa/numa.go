// Package numa reads a Linux machine's NUMA layout and a process's place in
// it: nodes with their CPUs, distances and memory, the kernel's automatic
// NUMA balancing and transparent huge page settings, the CPUs and memory
// nodes a process may use, the nodes its threads last ran on, and how many
// of its pages sit on each node (/proc/PID/numa_maps).
//
// numa_maps walks the process's page tables under its mmap lock, so its cost
// grows with the resident set: read it on demand or rarely, never at 1 Hz
// (Documentation/filesystems/proc.rst, "numa_maps"; PINS.md).
//
// All reads go through FS.Root ("/" live, a fixture tree in tests). A
// kernel without CONFIG_NUMA has no /sys/devices/system/node; Topology then
// returns one synthetic node holding every online CPU.
//
// Sources: Documentation/ABI/stable/sysfs-devices-node (cpulist, distance,
// meminfo), Documentation/admin-guide/sysctl/kernel.rst (numa_balancing),
// Documentation/admin-guide/mm/transhuge.rst (enabled, defrag),
// Documentation/filesystems/proc.rst and man 7 numa (numa_maps).
package numa

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/gotune/gotune/collectors/cpulist"
	"github.com/gotune/gotune/collectors/proc"
)

// FS reads /sys and /proc under Root.
type FS struct {
	Root string // "/" on a live system
}

// Host is the live system.
var Host = FS{Root: "/"}

func (fsys FS) join(p ...string) string {
	return filepath.Join(append([]string{fsys.Root}, p...)...)
}

// Node is one NUMA node.
type Node struct {
	ID   int
	CPUs []int // nodeN/cpulist; empty for a memory-only node (CXL, HBM)
	// Distances holds the node's relative distance to every node of the
	// Topology, in the order of Topology.Nodes (nodeN/distance lists online
	// nodes in order; 10 is local, ACPI SLIT).
	Distances  []int
	MemTotal   uint64 // bytes, nodeN/meminfo MemTotal
	MemFree    uint64 // bytes, nodeN/meminfo MemFree
	HasMemInfo bool
}

// Topology is the machine's nodes, sorted by ID.
type Topology struct {
	Nodes []Node
	// Synthetic is true when the kernel exposes no NUMA nodes: Nodes then
	// holds one node 0 with every online CPU and /proc/meminfo's memory.
	Synthetic bool
}

// NodeOfCPU returns the node holding cpu, or -1.
func (t Topology) NodeOfCPU(cpu int) int {
	for _, n := range t.Nodes {
		if cpulist.Contains(n.CPUs, cpu) {
			return n.ID
		}
	}
	return -1
}

// Distance returns the distance from node a to node b.
func (t Topology) Distance(a, b int) (int, bool) {
	ia := slices.IndexFunc(t.Nodes, func(n Node) bool { return n.ID == a })
	ib := slices.IndexFunc(t.Nodes, func(n Node) bool { return n.ID == b })
	if ia < 0 || ib < 0 || ib >= len(t.Nodes[ia].Distances) {
		return 0, false
	}
	return t.Nodes[ia].Distances[ib], true
}

// NodesOfCPUs returns the sorted nodes holding any of cpus.
func (t Topology) NodesOfCPUs(cpus []int) []int {
	nodes := []int{}
	for _, n := range t.Nodes {
		if len(cpulist.Intersect(n.CPUs, cpus)) > 0 {
			nodes = append(nodes, n.ID)
		}
	}
	return nodes
}

// Topology reads /sys/devices/system/node/node*/.
func (fsys FS) Topology(ctx context.Context) (Topology, error) {
	if err := ctx.Err(); err != nil {
		return Topology{}, err
	}
	dir := fsys.join("sys", "devices", "system", "node")
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return fsys.syntheticTopology()
	}
	if err != nil {
		return Topology{}, fmt.Errorf("read NUMA nodes: %w", err)
	}
	var t Topology
	for _, e := range entries {
		idStr, ok := strings.CutPrefix(e.Name(), "node")
		id, err := strconv.Atoi(idStr)
		if !ok || err != nil || id < 0 {
			continue
		}
		n := Node{ID: id}
		nd := filepath.Join(dir, e.Name())
		b, err := os.ReadFile(filepath.Join(nd, "cpulist"))
		if err != nil {
			return Topology{}, fmt.Errorf("read node %d CPUs: %w", id, err)
		}
		if n.CPUs, err = cpulist.Parse(string(b)); err != nil {
			return Topology{}, fmt.Errorf("node %d cpulist: %w", id, err)
		}
		if b, err := os.ReadFile(filepath.Join(nd, "distance")); err == nil {
			if n.Distances, err = parseDistances(b); err != nil {
				return Topology{}, fmt.Errorf("node %d distance: %w", id, err)
			}
		}
		if b, err := os.ReadFile(filepath.Join(nd, "meminfo")); err == nil {
			mi, err := parseMeminfo(b)
			if err != nil {
				return Topology{}, fmt.Errorf("node %d meminfo: %w", id, err)
			}
			n.MemTotal, n.MemFree, n.HasMemInfo = mi["MemTotal"], mi["MemFree"], true
		}
		t.Nodes = append(t.Nodes, n)
	}
	if len(t.Nodes) == 0 {
		return fsys.syntheticTopology()
	}
	slices.SortFunc(t.Nodes, func(a, b Node) int { return a.ID - b.ID })
	return t, nil
}

func (fsys FS) syntheticTopology() (Topology, error) {
	n := Node{ID: 0, Distances: []int{10}}
	b, err := os.ReadFile(fsys.join("sys", "devices", "system", "cpu", "online"))
	if err != nil {
		return Topology{}, fmt.Errorf("no NUMA nodes and no online CPU list: %w", err)
	}
	if n.CPUs, err = cpulist.Parse(string(b)); err != nil {
		return Topology{}, fmt.Errorf("/sys/devices/system/cpu/online: %w", err)
	}
	if b, err := os.ReadFile(fsys.join("proc", "meminfo")); err == nil {
		if mi, err := parseMeminfo(b); err == nil {
			n.MemTotal, n.MemFree, n.HasMemInfo = mi["MemTotal"], mi["MemFree"], true
		}
	}
	return Topology{Nodes: []Node{n}, Synthetic: true}, nil
}

// Settings are the kernel's system-wide NUMA and huge page policies.
type Settings struct {
	// NUMABalancing is /proc/sys/kernel/numa_balancing: 0 off, 1 normal
	// (pages migrate toward the CPUs using them), 2 memory tiering, 3
	// both; -1 when the file is absent (kernel built without it).
	NUMABalancing int
	// THPEnabled and THPDefrag are the bracketed choices of
	// /sys/kernel/mm/transparent_hugepage/{enabled,defrag}: "always",
	// "madvise", "never" (defrag also "defer", "defer+madvise"); "" when
	// absent.
	THPEnabled string
	THPDefrag  string
	Missing    []string // files that exist but could not be read or parsed, and why
}

// Settings reads numa_balancing and the THP modes. Absent files are not
// errors; unreadable ones are listed in Missing.
func (fsys FS) Settings(ctx context.Context) (Settings, error) {
	s := Settings{NUMABalancing: -1}
	if err := ctx.Err(); err != nil {
		return s, err
	}
	read := func(p string) ([]byte, bool) {
		b, err := os.ReadFile(p)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.Missing = append(s.Missing, err.Error())
		}
		return b, err == nil
	}
	if b, ok := read(fsys.join("proc", "sys", "kernel", "numa_balancing")); ok {
		n, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || n < 0 {
			s.Missing = append(s.Missing, fmt.Sprintf("numa_balancing: unexpected %q", b))
		} else {
			s.NUMABalancing = n
		}
	}
	thp := fsys.join("sys", "kernel", "mm", "transparent_hugepage")
	for name, dst := range map[string]*string{"enabled": &s.THPEnabled, "defrag": &s.THPDefrag} {
		if b, ok := read(filepath.Join(thp, name)); ok {
			v, err := parseBracketed(b)
			if err != nil {
				s.Missing = append(s.Missing, fmt.Sprintf("transparent_hugepage/%s: %v", name, err))
			}
			*dst = v
		}
	}
	return s, nil
}

// ThreadNodes counts a process's threads by the node of the CPU each last
// ran on; Node -1 holds threads whose CPU is unknown or on no node.
type ThreadNodes struct {
	Node    int
	Threads int
}

// CountThreadNodes maps each thread's last CPU to its node.
func CountThreadNodes(t Topology, threads []proc.ThreadStat) []ThreadNodes {
	counts := map[int]int{}
	for _, th := range threads {
		counts[t.NodeOfCPU(th.LastCPU)]++
	}
	out := make([]ThreadNodes, 0, len(counts))
	for n, c := range counts {
		out = append(out, ThreadNodes{Node: n, Threads: c})
	}
	slices.SortFunc(out, func(a, b ThreadNodes) int { return a.Node - b.Node })
	return out
}

// Process is one process's NUMA placement.
type Process struct {
	PID          int
	AllowedCPUs  []int // status Cpus_allowed_list
	AllowedMems  []int // status Mems_allowed_list: nodes it may allocate from
	CPUNodes     []int // nodes holding any allowed CPU
	ThreadNodes  []ThreadNodes
	Memory       *Maps // nil unless asked for (numa_maps is expensive)
	MemoryDenied bool  // numa_maps exists but was not readable (another user)
}

// Process reads pid's affinity, threads and, when withMaps is set, its
// numa_maps. Callers that already hold a proc.ProcessStat can use
// Topology.NodesOfCPUs and CountThreadNodes instead of reading /proc again. A numa_maps that cannot be read for lack of rights is noted in
// MemoryDenied, not returned as an error.
func (fsys FS) Process(ctx context.Context, t Topology, pid int, withMaps bool) (Process, error) {
	pfs := proc.FS{Root: fsys.Root}
	p := Process{PID: pid}
	ps, err := pfs.ProcessSummary(ctx, pid)
	if err != nil {
		return p, err
	}
	p.AllowedCPUs, p.AllowedMems = ps.CPUsAllowed, ps.MemsAllowed
	p.CPUNodes = t.NodesOfCPUs(p.AllowedCPUs)
	threads, err := pfs.Threads(ctx, pid)
	if err != nil {
		return p, err
	}
	p.ThreadNodes = CountThreadNodes(t, threads)
	if withMaps {
		m, err := fsys.NumaMaps(ctx, pid)
		switch {
		case errors.Is(err, fs.ErrPermission):
			p.MemoryDenied = true
		case err != nil:
			return p, err
		default:
			p.Memory = &m
		}
	}
	return p, nil
}

// NumaMaps reads and sums /proc/PID/numa_maps. Expensive: see the package
// comment.
func (fsys FS) NumaMaps(ctx context.Context, pid int) (Maps, error) {
	if err := ctx.Err(); err != nil {
		return Maps{}, err
	}
	p := fsys.join("proc", strconv.Itoa(pid), "numa_maps")
	b, err := os.ReadFile(p)
	if err != nil {
		return Maps{}, fmt.Errorf("read NUMA memory of process %d: %w", pid, err)
	}
	m, err := parseNumaMaps(b)
	if err != nil {
		return Maps{}, fmt.Errorf("%s: %w", p, err)
	}
	return m, nil
}

// parseBracketed returns the [selected] word of a sysfs choice file such as
// "always [madvise] never".
func parseBracketed(b []byte) (string, error) {
	i := bytes.IndexByte(b, '[')
	j := bytes.IndexByte(b, ']')
	if i < 0 || j < i+2 {
		return "", fmt.Errorf("no [choice] in %q", b)
	}
	return string(b[i+1 : j]), nil
}

// parseDistances parses nodeN/distance, e.g. "10 21\n".
func parseDistances(b []byte) ([]int, error) {
	var d []int
	for _, f := range strings.Fields(string(b)) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 || n > 255 { // SLIT entries are one byte
			return nil, fmt.Errorf("distance %q", f)
		}
		d = append(d, n)
	}
	if len(d) == 0 {
		return nil, errors.New("empty distance list")
	}
	return d, nil
}

// parseMeminfo parses nodeN/meminfo ("Node 0 MemTotal:  4024524 kB") and
// /proc/meminfo ("MemTotal:  4024524 kB") into bytes; counts without a kB
// unit (HugePages_Total) are kept as they are.
func parseMeminfo(b []byte) (map[string]uint64, error) {
	mi := map[string]uint64{}
	for line := range bytes.SplitSeq(b, []byte{'\n'}) {
		key, val, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			continue
		}
		f := bytes.Fields(key)
		if len(f) == 0 {
			continue
		}
		name := string(f[len(f)-1])
		v := bytes.Fields(val)
		if len(v) == 0 {
			return nil, fmt.Errorf("no value for %s", name)
		}
		n, err := strconv.ParseUint(string(v[0]), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %q", name, v[0])
		}
		if len(v) > 1 && string(v[1]) == "kB" {
			if n > 1<<53 {
				return nil, fmt.Errorf("%s: %d kB is too large", name, n)
			}
			n *= 1024
		}
		mi[name] = n
	}
	if _, ok := mi["MemTotal"]; !ok {
		return nil, errors.New("no MemTotal")
	}
	return mi, nil
}
