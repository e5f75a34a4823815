package numa

import (
	"bytes"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strconv"
)

// maxNode bounds node IDs read from numa_maps: MAX_NUMNODES is
// 1<<CONFIG_NODES_SHIFT and NODES_SHIFT is at most 10 (mm/Kconfig).
const maxNode = 1 << 10

// NodeMemory is how much of a process's memory sits on one node.
type NodeMemory struct {
	Node      int
	Pages     uint64 // in each mapping's own page size (4 KiB, 2 MiB, ...)
	Bytes     uint64
	AnonBytes uint64 // in mappings not backed by a file (heap, stack, Go's arenas)
	HugeBytes uint64 // in hugetlb mappings (the "huge" token), not THP
}

// Maps sums /proc/PID/numa_maps by node.
type Maps struct {
	Nodes    []NodeMemory // sorted by node; nodes holding no page are absent
	Bytes    uint64       // total resident bytes counted
	Mappings int          // lines (VMAs), including those with no resident page
	// PolicyBytes is resident bytes by memory policy ("default",
	// "bind:0-1", "interleave:0-1", "prefer:1", ...).
	PolicyBytes map[string]uint64
}

// parseNumaMaps parses numa_maps lines (Documentation/filesystems/proc.rst
// "numa_maps"; mm/mempolicy.c show_numa_map):
//
//	c000000000 default anon=262144 dirty=262144 N0=100000 N1=162144 kernelpagesize_kB=4
//
// "N<node>=<pages>" counts resident pages per node, in units of
// kernelpagesize_kB, which the kernel prints last on the line.
func parseNumaMaps(b []byte) (Maps, error) {
	m := Maps{PolicyBytes: map[string]uint64{}}
	byNode := map[int]*NodeMemory{}
	type count struct {
		node  int
		pages uint64
	}
	var counts []count
	for line := range bytes.SplitSeq(b, []byte{'\n'}) {
		f := bytes.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) < 2 {
			return Maps{}, fmt.Errorf("%w: line %q", errFormat, line)
		}
		if _, err := strconv.ParseUint(string(f[0]), 16, 64); err != nil {
			return Maps{}, fmt.Errorf("%w: address %q", errFormat, f[0])
		}
		m.Mappings++
		policy := string(f[1])
		counts = counts[:0]
		var pageKB uint64 = 4
		anon, huge := true, false
		for _, tok := range f[2:] {
			key, val, _ := bytes.Cut(tok, []byte{'='})
			switch {
			case bytes.Equal(key, []byte("file")):
				anon = false
			case bytes.Equal(tok, []byte("huge")):
				huge = true
			case bytes.Equal(key, []byte("kernelpagesize_kB")):
				n, err := strconv.ParseUint(string(val), 10, 64)
				if err != nil || n == 0 || n > 16<<20 { // largest: 16 GiB pages (ppc64)
					return Maps{}, fmt.Errorf("%w: %q", errFormat, tok)
				}
				pageKB = n
			case len(key) > 1 && key[0] == 'N' && key[1] >= '0' && key[1] <= '9':
				node, err1 := strconv.Atoi(string(key[1:]))
				pages, err2 := strconv.ParseUint(string(val), 10, 64)
				if err := errors.Join(err1, err2); err != nil || node >= maxNode {
					return Maps{}, fmt.Errorf("%w: %q", errFormat, tok)
				}
				counts = append(counts, count{node, pages})
			}
		}
		for _, c := range counts {
			hi, bytesOnNode := bits.Mul64(c.pages, pageKB*1024)
			if hi != 0 {
				return Maps{}, fmt.Errorf("%w: N%d=%d pages of %d kB overflow", errFormat, c.node, c.pages, pageKB)
			}
			nm := byNode[c.node]
			if nm == nil {
				nm = &NodeMemory{Node: c.node}
				byNode[c.node] = nm
			}
			var err error
			nm.Pages, err = add(nm.Pages, c.pages, err)
			nm.Bytes, err = add(nm.Bytes, bytesOnNode, err)
			if anon {
				nm.AnonBytes, err = add(nm.AnonBytes, bytesOnNode, err)
			}
			if huge {
				nm.HugeBytes, err = add(nm.HugeBytes, bytesOnNode, err)
			}
			m.Bytes, err = add(m.Bytes, bytesOnNode, err)
			m.PolicyBytes[policy], err = add(m.PolicyBytes[policy], bytesOnNode, err)
			if err != nil {
				return Maps{}, err
			}
		}
	}
	for _, nm := range byNode {
		m.Nodes = append(m.Nodes, *nm)
	}
	slices.SortFunc(m.Nodes, func(a, b NodeMemory) int { return a.Node - b.Node })
	return m, nil
}

var errFormat = errors.New("unexpected numa_maps format")

func add(a, b uint64, err error) (uint64, error) {
	s, carry := bits.Add64(a, b, 0)
	if carry != 0 && err == nil {
		err = fmt.Errorf("%w: byte total overflows", errFormat)
	}
	return s, err
}

// Fraction returns the share of the counted bytes on node (0..1).
func (m Maps) Fraction(node int) float64 {
	if m.Bytes == 0 {
		return 0
	}
	for _, n := range m.Nodes {
		if n.Node == node {
			return float64(n.Bytes) / float64(m.Bytes)
		}
	}
	return 0
}
