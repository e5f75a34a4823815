package advisor

import (
	"fmt"
	"strings"

	"github.com/gotune/gotune/collectors/numa"
	"github.com/gotune/gotune/session"
)

var numaRules = []rule{
	{ID: "numa-remote-memory", Area: AreaNUMA, Title: "Threads and memory span NUMA nodes with much remote memory",
		Source: srcNumactl, MinSamples: MinSamplesFacts, check: checkNUMARemote},
	{ID: "numa-balancing-pauses", Area: AreaNUMA, Title: "Automatic NUMA balancing is on and GC pauses are long",
		Source: srcNUMABalancing, MinSamples: MinSamplesRate, check: checkNUMABalancing},
	{ID: "thp-heap-size", Area: AreaNUMA, Title: "Transparent huge pages do not suit the heap size",
		Source: srcGCGuideTHP, MinSamples: MinSamplesFacts, check: checkTHP},
}

// multiNode returns the topology when the machine really has several
// nodes; without one it records that the running rule could not run.
func (c *check) multiNode() (*numa.Topology, bool) {
	t := c.in.Facts.Topology
	if t == nil {
		c.cannot("no NUMA topology (/sys/devices/system/node): a URL target's host is out of reach", enablePID)
		return nil, false
	}
	if t.Synthetic || len(t.Nodes) < 2 {
		return nil, false
	}
	return t, true
}

func checkNUMARemote(c *check) *Finding {
	t, ok := c.multiNode()
	if !ok {
		return nil
	}
	np := c.in.Facts.NUMAProcess
	if np == nil {
		c.cannot("no NUMA placement of the process (its threads' CPUs, /proc/PID/numa_maps)", enablePID)
		return nil
	}
	if np.Memory == nil {
		if np.MemoryDenied {
			c.cannot("/proc/PID/numa_maps is not readable (another user's process)", "run gotune as the process's user or as root")
		} else {
			c.cannot("/proc/PID/numa_maps was not read (it walks page tables, so gotune reads it rarely)", "gotune advise PID reads it once per window")
		}
		return nil
	}
	var threadNodes []int
	for _, tn := range np.ThreadNodes {
		if tn.Node >= 0 && tn.Threads > 0 {
			threadNodes = append(threadNodes, tn.Node)
		}
	}
	m := np.Memory
	if len(threadNodes) < 2 || len(m.Nodes) < 2 || m.Bytes == 0 {
		return nil
	}
	// Memory away from the node holding most of it is remote for the
	// threads there; with threads on every node some of it always is.
	busiest, frac := 0, 0.0
	for _, n := range m.Nodes {
		if f := m.Fraction(n.Node); f > frac {
			busiest, frac = n.Node, f
		}
	}
	remote := 1 - frac
	if remote < c.cfg.RemoteMemory {
		return nil
	}
	f := &Finding{Severity: Warn, Title: fmt.Sprintf("Threads run on %d NUMA nodes and %s of the memory is off node %d: many accesses cross the interconnect", len(threadNodes), pct(remote), busiest)}
	var parts []string
	for _, n := range m.Nodes {
		parts = append(parts, fmt.Sprintf("node %d %s", n.Node, bytes(float64(n.Bytes))))
	}
	var tparts []string
	for _, tn := range np.ThreadNodes {
		if tn.Node >= 0 {
			tparts = append(tparts, fmt.Sprintf("node %d: %d", tn.Node, tn.Threads))
		}
	}
	f.Evidence = []Evidence{
		fact("memory by node", remote, "fraction", strings.Join(parts, ", "), "/proc/PID/numa_maps"),
		fact("threads by node", float64(len(threadNodes)), "nodes", strings.Join(tparts, ", "), "/proc/PID/task/*/stat field 39 (last CPU)"),
		fact("nodes", float64(len(t.Nodes)), "nodes", fmt.Sprintf("%d nodes", len(t.Nodes)), "/sys/devices/system/node"),
	}
	if d, ok := t.Distance(t.Nodes[0].ID, t.Nodes[1].ID); ok {
		f.Evidence = append(f.Evidence, fact("remote distance", float64(d), "", fmt.Sprintf("%d (local is 10)", d), "/sys/devices/system/node/node*/distance"))
	}
	n0 := t.Nodes[0]
	f.Action = Action{Kind: ActionCommand, Text: fmt.Sprintf("GOMAXPROCS=%d numactl --cpunodebind=%d --membind=%d <command>", len(n0.CPUs), n0.ID, n0.ID),
		Note: "one instance per node (repeat with each node's ID and CPU count), load-balanced in front"}
	f.Alternatives = []Action{{Kind: ActionCommand, Text: "numactl --interleave=all <command>", Note: "for one large process that must span nodes: spreads pages evenly, so no thread sees only remote memory"}}
	f.Predicted = &Prediction{Text: "memory accesses become local (bound) or evenly spread (interleaved); memory-bound work typically gains 10–30%, proportional to the remote distance — measure it"}
	f.Confidence = Low
	return f
}

func checkNUMABalancing(c *check) *Finding {
	if _, ok := c.multiNode(); !ok {
		return nil
	}
	s := c.in.Facts.NUMASettings
	if s == nil {
		c.cannot("no NUMA settings (/proc/sys/kernel/numa_balancing)", enablePID)
		return nil
	}
	if s.NUMABalancing <= 0 {
		return nil
	}
	p99, ok := c.w.quantile(session.PausesGC, 0.99)
	if !ok {
		p99, ok = c.w.quantile(session.PausesGCOld, 0.99)
	}
	if !ok && !c.hasHistogram(session.PausesGC) && !c.hasHistogram(session.PausesGCOld) {
		c.cannot("no GC pause histogram "+c.via()+" (/sched/pauses/total/gc)", enableAgent)
		return nil
	}
	if !ok || p99 < c.cfg.GCPauseLong.Seconds() {
		return nil
	}
	f := &Finding{Severity: Warn, Title: fmt.Sprintf("GC pauses reach %s (p99) with automatic NUMA balancing on: its hinting faults slow the stop-the-world phases", secs(p99))}
	f.Evidence = []Evidence{
		c.evm("GC pause p99", session.PausesGC, p99, "seconds", secs(p99)),
		fact("numa_balancing", float64(s.NUMABalancing), "", fmt.Sprint(s.NUMABalancing), "/proc/sys/kernel/numa_balancing"),
	}
	f.Action = Action{Kind: ActionCommand, Text: "sysctl -w kernel.numa_balancing=0", Note: "host-wide; bind the process with numactl instead where the host is shared"}
	f.Alternatives = []Action{{Kind: ActionCommand, Text: "numactl --cpunodebind=0 --membind=0 <command>", Note: "a bound process gives balancing nothing to migrate"}}
	f.Predicted = &Prediction{Text: fmt.Sprintf("GC pause p99 falls under %s if balancing faults caused them; if it does not, look at CPU starvation (throttling, saturation)", secs(c.cfg.GCPauseLong.Seconds())),
		Metric: "gc-pause-p99", Unit: "seconds", Low: 0, High: c.cfg.GCPauseLong.Seconds()}
	f.Confidence = Low
	return f
}

func checkTHP(c *check) *Finding {
	s := c.in.Facts.NUMASettings
	if s == nil || s.THPEnabled == "" {
		c.cannot("no transparent huge page settings (/sys/kernel/mm/transparent_hugepage)", enablePID)
		return nil
	}
	heap, ok := c.w.last(session.HeapGoal)
	if !ok {
		heap, ok = c.w.last(session.HeapObjects)
	}
	if !ok {
		c.cannot("no heap size "+c.via()+" (/gc/heap/goal or heap objects)", enableAgent)
		return nil
	}
	thp := fact("transparent_hugepage", 0, "", "enabled="+s.THPEnabled+", defrag="+s.THPDefrag, "/sys/kernel/mm/transparent_hugepage/{enabled,defrag}")
	heapEv := c.evm("heap goal", session.HeapGoal, heap, "bytes", bytes(heap))
	switch {
	case heap >= LargeHeapTHP && s.THPEnabled == "never":
		return &Finding{Severity: Info, Title: fmt.Sprintf("A %s heap with transparent huge pages off: big heaps gain up to 10%% throughput with THP", bytes(heap)),
			Evidence: []Evidence{heapEv, thp},
			Action: Action{Kind: ActionCommand, Text: "echo always > /sys/kernel/mm/transparent_hugepage/enabled; echo defer+madvise > /sys/kernel/mm/transparent_hugepage/defrag",
				Note: "host-wide; the GC guide recommends defrag=defer or defer+madvise with THP"},
			Predicted:  &Prediction{Text: "up to 10% more throughput for a 1 GiB+ heap, with 1–2% more memory (GC guide)", Metric: "throughput", Unit: "fraction", Low: 0, High: 0.10},
			Confidence: Low}
	case heap >= LargeHeapTHP && s.THPEnabled == "always" && s.THPDefrag == "always":
		return &Finding{Severity: Info, Title: "THP defrag=always: page-fault compaction stalls can hurt latency",
			Evidence:   []Evidence{heapEv, thp},
			Action:     Action{Kind: ActionCommand, Text: "echo defer+madvise > /sys/kernel/mm/transparent_hugepage/defrag", Note: "host-wide"},
			Predicted:  &Prediction{Text: "no allocation stalls for compaction; huge pages are assembled in the background (GC guide)"},
			Confidence: Low}
	case heap < LargeHeapTHP && s.THPEnabled == "always":
		rss, ok1 := c.w.last(session.ProcessRSS)
		goMem, ok2 := c.w.last(session.MemoryTotal)
		rel, _ := c.w.last(metricHeapReleased)
		if !ok1 || !ok2 || goMem-rel <= 0 || rss < THPSmallHeapOverhead*(goMem-rel) {
			return nil
		}
		over := rss / (goMem - rel)
		return &Finding{Severity: Info, Title: fmt.Sprintf("RSS is %.1f× the memory Go uses, on a small heap with THP always: huge pages waste memory here", over),
			Evidence: []Evidence{heapEv, thp,
				c.ev("RSS ÷ Go memory", over, "ratio", fmt.Sprintf("%s RSS vs %s", bytes(rss), bytes(goMem-rel)), "/proc/PID/status VmRSS; /memory/classes/total − released")},
			Action: Action{Kind: ActionCommand, Text: "echo madvise > /sys/kernel/mm/transparent_hugepage/enabled",
				Note: "host-wide; or keep always and set /sys/kernel/mm/transparent_hugepage/khugepaged/max_ptes_none to 0, so khugepaged does not fill sparse ranges"},
			Predicted:  &Prediction{Text: fmt.Sprintf("RSS falls toward Go's own %s (GC guide: small heaps can use up to 50%% more with THP)", bytes(goMem-rel)), Metric: "rss", Unit: "bytes", Low: goMem - rel, High: rss},
			Confidence: Low}
	}
	return nil
}
