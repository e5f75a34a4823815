package report

import (
	"fmt"
	"strings"

	"github.com/gotune/gotune/collectors/cpulist"
	"github.com/gotune/gotune/measurement"
)

// hostLines says what the host facts mean, one line each, with every
// byte count in units and the file each figure comes from; the raw facts
// follow in the report's details.
func (r *Report) hostLines() []string {
	e := r.Environment
	var out []string
	if b := e.Target.Build; b != nil {
		l := "built with " + b.GoVersion
		if b.Module != "" {
			l += ", main module " + b.Module
		}
		if b.GODEBUG != "" {
			l += ", DefaultGODEBUG " + b.GODEBUG
		}
		if len(b.Tuners) > 0 {
			l += ", links " + strings.Join(b.Tuners, ", ")
		}
		out = append(out, l+" (build info of "+b.From+")")
	}
	if cg := e.Cgroup; cg != nil {
		l := "cgroup " + string(cg.Mode)
		if c := cg.CPU; c != nil {
			if c.Effective.Limited {
				l += fmt.Sprintf("; CPU quota %.2f CPUs (set on %s)", c.Effective.Cores(), c.From)
			} else {
				l += "; no CPU quota"
			}
		}
		if m := cg.Memory; m != nil {
			if m.Limited {
				l += fmt.Sprintf("; memory limit %s (set on %s)", measurement.Bytes(float64(m.Limit)), m.From)
			} else {
				l += "; no memory limit"
			}
			if len(m.Levels) > 0 && m.Levels[0].HasUsage {
				l += ", using " + measurement.Bytes(float64(m.Levels[0].Usage))
			}
			if len(m.Levels) > 0 && m.Levels[0].HasOOMKill && m.Levels[0].OOMKills > 0 {
				l += fmt.Sprintf(", %d OOM kills", m.Levels[0].OOMKills)
			}
		}
		if cs := cg.Cpuset; cs != nil && len(cs.CPUs) > 0 {
			l += "; cpuset CPUs " + cpulist.Format(cs.CPUs)
		}
		out = append(out, l)
	}
	if t := e.CgroupRates; t != nil {
		out = append(out, fmt.Sprintf("throttled in %s of CFS periods, %s throttled per second (cpu.stat, last interval)",
			measurement.Percent(t.ThrottledFraction), measurement.Seconds(t.ThrottledSeconds)))
	}
	if t := e.NUMATopology; t != nil {
		var nodes []string
		for _, n := range t.Nodes {
			s := fmt.Sprintf("node %d: CPUs %s", n.ID, cpulist.Format(n.CPUs))
			if n.HasMemInfo {
				s += ", " + measurement.Bytes(float64(n.MemTotal))
			}
			nodes = append(nodes, s)
		}
		l := fmt.Sprintf("%d NUMA node(s): %s", len(t.Nodes), strings.Join(nodes, "; "))
		if t.Synthetic {
			l += " (the kernel exposes no NUMA nodes)"
		}
		out = append(out, l)
	}
	if s := e.NUMASettings; s != nil {
		bal := map[int]string{-1: "absent", 0: "off", 1: "on", 2: "memory tiering", 3: "on with memory tiering"}[s.NUMABalancing]
		out = append(out, fmt.Sprintf("numa_balancing %s, transparent huge pages %s (defrag %s)", bal, orDash(s.THPEnabled), orDash(s.THPDefrag)))
	}
	if p := e.NUMAProcess; p != nil {
		l := fmt.Sprintf("the process may run on CPUs %s and allocate on nodes %s", cpulist.Format(p.AllowedCPUs), cpulist.Format(p.AllowedMems))
		if m := p.Memory; m != nil && m.Bytes > 0 {
			var parts []string
			for _, n := range m.Nodes {
				parts = append(parts, fmt.Sprintf("node %d %s", n.Node, measurement.Bytes(float64(n.Bytes))))
			}
			l += "; resident memory by node: " + strings.Join(parts, ", ") + " (numa_maps)"
		}
		out = append(out, l)
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
