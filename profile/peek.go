package profile

import (
	"cmp"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
)

// PeekOptions shape a Peek.
type PeekOptions struct {
	Options
	// Match selects the nodes to peek at: a regexp matched against node
	// names at the chosen granularity (pprof -peek).
	Match string
	// Cum orders the nodes by cumulative value instead of flat (-cum).
	Cum bool
}

// PeekEdge is a caller or callee of a peeked node, with the value of the
// samples through the call (each sample counted once per edge).
type PeekEdge struct {
	Name  string `json:"name"`
	Value int64  `json:"value"`
	// Inline is set when every sample through the edge reached the callee
	// as a frame inlined into the caller.
	Inline bool `json:"inline,omitempty"`
}

// PeekNode is one matched node with its callers and callees, ordered as
// pprof prints them (largest |value| first, then name).
type PeekNode struct {
	Name    string     `json:"name"`
	Flat    int64      `json:"flat"`
	Cum     int64      `json:"cum"`
	Callers []PeekEdge `json:"callers"`
	Callees []PeekEdge `json:"callees"`
}

// Peek is `go tool pprof -peek`: the callers and callees of the nodes
// matching a regexp, with flat and cum values.
type Peek struct {
	SampleType ValueType `json:"sample_type"`
	// Total is the percentage denominator, as in Top.
	Total int64 `json:"total"`
	// Shown is the flat sum of every node after filtering ("Showing nodes
	// accounting for ...").
	Shown int64      `json:"shown"`
	Nodes []PeekNode `json:"nodes"`
	// minValue is the smallest non-zero |flat| (or |cum|) of any node,
	// for the output unit; nodes counts the nodes with a value.
	minValue int64
	nodes    int
}

// NewPeek builds the peek report of p for the nodes matching o.Match. As
// pprof's, it fails when no node matches.
func NewPeek(p *Profile, o PeekOptions) (*Peek, error) {
	re, err := regexp.Compile(o.Match)
	if err != nil {
		return nil, fmt.Errorf("parsing argument regexp %s: %w", o.Match, err)
	}
	r, err := compileRefine(o.Options)
	if err != nil {
		return nil, err
	}
	vi, err := p.SampleIndex(o.SampleIndex)
	if err != nil {
		return nil, err
	}
	v := newNodeSet().prepare(p, vi, o.Granularity, r)
	matched := make([]bool, len(v.ns.names))
	for i, n := range v.ns.names {
		matched[i] = re.MatchString(n)
	}
	pk := peekAggregate(v, matched, func(yield func(s int) bool) {
		for s := range p.NumSamples() {
			if !yield(s) {
				return
			}
		}
	}, o.Cum, false)
	pk.Total = total(p, vi, weigher{ratio: 1})
	if len(pk.Nodes) == 0 {
		return pk, fmt.Errorf("no matches found for regexp: %s", o.Match)
	}
	return pk, nil
}

// Peek returns the callers and callees of node n's name over every sample
// of the tree (built or not), as NewPeek for exactly that name: what a side
// panel shows for a selected frame.
func (t *Tree) Peek(n NodeID) PeekNode {
	name := t.nodes[n].name
	if name < 0 {
		return PeekNode{Name: "root", Cum: t.nodes[Root].value}
	}
	matched := make([]bool, len(t.v.ns.names))
	matched[name] = true
	pk := peekAggregate(t.v, matched, func(yield func(s int) bool) {
		for _, ts := range t.samples {
			if !yield(int(ts.s)) {
				return
			}
		}
	}, false, true)
	if len(pk.Nodes) == 0 {
		return PeekNode{Name: t.Name(n)}
	}
	return pk.Nodes[0]
}

type peekEdge struct {
	w      int64
	inline bool
}

// peekAggregate walks the samples as internal/graph.newGraph does: cum
// once per node per sample, flat to the leaf, each caller→callee edge once
// per sample (self-calls excluded), an edge inline only while every sample
// through it is.
//
// With matchedOnly, only the matched nodes' figures are wanted (not the
// report's shown total and unit): samples with no location holding a
// matched node are skipped before their paths are built.
func peekAggregate(v *view, matched []bool, samples func(func(int) bool), byCum, matchedOnly bool) *Peek {
	nn := len(v.ns.names)
	var locHas []bool
	if matchedOnly {
		locHas = make([]bool, len(v.p.Locations))
		for l := range locHas {
			for _, n := range v.nodes[v.nodeOff[l]:v.nodeOff[l+1]] {
				if matched[n] {
					locHas[l] = true
					break
				}
			}
		}
	}
	flat, cum := make([]int64, nn), make([]int64, nn)
	seen := make([]uint32, nn)
	gen := uint32(0)
	edges := map[[2]int32]*peekEdge{}
	var seenEdges [][2]int32
	var buf []int32
	var shown int64
	for s := range samples {
		w := v.weight(s)
		if w == 0 {
			continue
		}
		if locHas != nil && !slices.ContainsFunc(v.p.Stack(s), func(l uint32) bool { return locHas[l] }) {
			continue
		}
		var ok bool
		if buf, ok = v.frames(s, buf[:0]); !ok || len(buf) == 0 {
			continue
		}
		gen++
		if gen == 0 {
			clear(seen)
			gen = 1
		}
		seenEdges = seenEdges[:0]
		parent := int32(-1)
		for _, e := range buf {
			n := v.nodes[e]
			if seen[n] != gen {
				seen[n] = gen
				cum[n] += w
			}
			if parent >= 0 && n != parent && (matched[n] || matched[parent]) {
				k := [2]int32{parent, n}
				if !slices.Contains(seenEdges, k) {
					seenEdges = append(seenEdges, k)
					inline := !v.first[e]
					if pe := edges[k]; pe != nil {
						pe.w += w
						pe.inline = pe.inline && inline
					} else {
						edges[k] = &peekEdge{w: w, inline: inline}
					}
				}
			}
			parent = n
		}
		flat[parent] += w
		shown += w
	}
	names := v.ns.names
	pk := &Peek{SampleType: v.p.SampleTypes[v.vi], Shown: shown}
	index := map[int32]int{}
	for n := range nn {
		if flat[n] == 0 && cum[n] == 0 {
			continue
		}
		pk.nodes++
		m := abs(flat[n])
		if m == 0 {
			m = abs(cum[n])
		}
		if m > 0 && (pk.minValue == 0 || m < pk.minValue) {
			pk.minValue = m
		}
		if matched[n] {
			index[int32(n)] = len(pk.Nodes)
			pk.Nodes = append(pk.Nodes, PeekNode{Name: names[n], Flat: flat[n], Cum: cum[n]})
		}
	}
	for k, e := range edges {
		if i, ok := index[k[0]]; ok {
			pk.Nodes[i].Callees = append(pk.Nodes[i].Callees, PeekEdge{Name: names[k[1]], Value: e.w, Inline: e.inline})
		}
		if i, ok := index[k[1]]; ok {
			pk.Nodes[i].Callers = append(pk.Nodes[i].Callers, PeekEdge{Name: names[k[0]], Value: e.w, Inline: e.inline})
		}
	}
	for i := range pk.Nodes {
		sortEdges(pk.Nodes[i].Callers)
		sortEdges(pk.Nodes[i].Callees)
	}
	slices.SortFunc(pk.Nodes, func(a, b PeekNode) int {
		ka, kb, sa, sb := abs(a.Flat), abs(b.Flat), abs(a.Cum), abs(b.Cum)
		if byCum {
			ka, kb, sa, sb = sa, sb, ka, kb
		}
		return cmp.Or(cmp.Compare(kb, ka), cmp.Compare(a.Name, b.Name), cmp.Compare(sb, sa))
	})
	return pk
}

// sortEdges is internal/graph.EdgeMap.Sort: |weight| descending, then the
// other end's name (in a node's callers and callees the fixed end is the
// same node).
func sortEdges(es []PeekEdge) {
	slices.SortFunc(es, func(a, b PeekEdge) int {
		return cmp.Or(cmp.Compare(abs(b.Value), abs(a.Value)), cmp.Compare(a.Name, b.Name))
	})
}

// OutputUnit picks the unit pprof prints a peek report in (see
// Top.OutputUnit), from every node of the report.
func (pk *Peek) OutputUnit() string {
	return outputUnit(pk.SampleType.Unit, pk.Total, func(yield func(flat, cum int64) bool) {
		yield(pk.minValue, 0)
	})
}

// WriteText writes pk like `go tool pprof -peek` does, from the "Showing
// nodes" line on, in unit ("" picks one).
func (pk *Peek) WriteText(w io.Writer, unit string) error {
	const separator = "----------------------------------------------------------+-------------"
	const legend = "      flat  flat%   sum%        cum   cum%   calls calls% + context 	 	 "
	if unit == "" {
		unit = pk.OutputUnit()
	}
	f := func(v int64) string { return FormatValue(v, pk.SampleType.Unit, unit) }
	var b strings.Builder
	fmt.Fprintf(&b, "Showing nodes accounting for %s, %s of %s total\n", f(pk.Shown), strings.TrimSpace(Percent(pk.Shown, pk.Total)), f(pk.Total))
	fmt.Fprintln(&b, separator)
	fmt.Fprintln(&b, legend)
	edge := func(e PeekEdge, cum int64) {
		inline := ""
		if e.Inline {
			inline = " (inline)"
		}
		fmt.Fprintf(&b, "%50s %s |   %s%s\n", f(e.Value), Percent(e.Value, cum), e.Name, inline)
	}
	var flatSum int64
	for _, n := range pk.Nodes {
		fmt.Fprintln(&b, separator)
		for _, e := range n.Callers {
			edge(e, n.Cum)
		}
		flatSum += n.Flat
		fmt.Fprintf(&b, "%10s %s %s %10s %s                | %s\n", f(n.Flat), Percent(n.Flat, pk.Total), Percent(flatSum, pk.Total), f(n.Cum), Percent(n.Cum, pk.Total), n.Name)
		for _, e := range n.Callees {
			edge(e, n.Cum)
		}
	}
	if pk.nodes > 0 {
		fmt.Fprintln(&b, separator)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
