package profile

import (
	"cmp"
	"regexp"
	"slices"
)

// NodeID identifies a node of a Tree. Root is the synthetic root.
type NodeID int32

// Root is the id of every tree's root; NoNode is the root's parent.
const (
	Root   NodeID = 0
	NoNode NodeID = -1
)

// DefaultTreeFraction is the smallest share of the shown total a node of a
// Tree is built for by default: 0.1%, a fraction of a cell on the widest
// terminal. On a 100,000-sample heap profile of deep, mostly unique stacks
// it keeps a few hundred of the million nodes of the full tree.
const DefaultTreeFraction = 0.001

// TreeOptions shape a call tree.
type TreeOptions struct {
	Options
	// Inverted builds the tree bottom-up: roots are the innermost frames
	// (where the value is spent), children their callers.
	Inverted bool
	// MinFraction: only nodes whose |value| is at least this fraction of
	// the root's are built; the rest are counted in their parent's
	// Trimmed and can be built later with Expand. 0 builds every node
	// (the full tree, which can have one node per frame of every sample).
	MinFraction float64
}

// Tree is the call tree (flame graph) of one sample type of a profile,
// held in flat arrays. Node ids index them; the root is Root. Children are
// sorted by |value| (largest first), then name.
//
// A Tree is built trimmed (TreeOptions.MinFraction): nodes below the cutoff
// are not made, their value is their parent's Trimmed. Expand builds them
// when a view zooms in. Each node keeps the range of samples under it, so
// expanding a node costs a pass over its own samples only.
//
// A Tree is immutable: Expand returns a new one. It is safe to read from
// several goroutines.
type Tree struct {
	SampleType ValueType
	// Total is the percentage denominator, as in Top: the sum of absolute
	// sample values before filtering.
	Total    int64
	Inverted bool

	v     *view
	nodes []treeNode
	kids  []NodeID
	// samples are the selected samples, grouped so that each node's are
	// contiguous: [lo, restLo) are under built children, [restLo, deepHi)
	// under children not built yet (their cursor is at the child's
	// frame), [deepHi, hi) end at the node (its self value).
	samples []treeSample
	// stops holds each sample's root-most frame for an inverted tree.
	stops []cursor
}

type treeNode struct {
	name                   int32 // index into the view's names; -1 for the root
	parent                 NodeID
	depth                  int32
	lo, restLo, deepHi, hi int32
	kidOff, kidLen         int32
	self, value, trimmed   int64
}

type treeSample struct {
	w int64
	s int32
	c cursor
}

// NewTree builds the call tree of p. Sample selection, refinement and
// granularity apply as in NewTop.
func NewTree(p *Profile, o TreeOptions) (*Tree, error) {
	r, err := compileRefine(o.Options)
	if err != nil {
		return nil, err
	}
	vi, err := p.SampleIndex(o.SampleIndex)
	if err != nil {
		return nil, err
	}
	v := newNodeSet().prepare(p, vi, o.Granularity, r)
	t := &Tree{SampleType: p.SampleTypes[vi], Total: total(p, vi, weigher{ratio: 1}), Inverted: o.Inverted, v: v}
	n := p.NumSamples()
	t.samples = make([]treeSample, 0, n)
	if o.Inverted {
		t.stops = make([]cursor, n)
	}
	var value int64
	for s := range n {
		w := v.weight(s)
		if w == 0 || !v.selected(s) {
			continue
		}
		c, ok := v.start(s)
		if !ok {
			continue
		}
		if o.Inverted {
			t.stops[s] = c
			c, _ = v.leaf(s)
		}
		t.samples = append(t.samples, treeSample{w: w, s: int32(s), c: c})
		value += w
	}
	ns := int32(len(t.samples))
	t.nodes = append(make([]treeNode, 0, 64), treeNode{name: -1, parent: NoNode, deepHi: ns, hi: ns, value: value})
	b := newTreeBuilder(t)
	b.expand(Root, cutoff(value, o.MinFraction))
	return t, nil
}

func cutoff(value int64, fraction float64) int64 {
	return abs(int64(float64(abs(value)) * fraction))
}

// Expand returns a tree in which every descendant of n whose |value| is at
// least minFraction of |Value(n)| is built, for a view zoomed into n.
func (t *Tree) Expand(n NodeID, minFraction float64) *Tree {
	nt := *t
	nt.nodes = slices.Clone(t.nodes)
	nt.kids = slices.Clone(t.kids)
	nt.samples = slices.Clone(t.samples)
	b := newTreeBuilder(&nt)
	b.expand(n, cutoff(t.nodes[n].value, minFraction))
	return &nt
}

type treeBuilder struct {
	t      *Tree
	slot   []int32 // per node name: index in groups, -1
	groups []treeGroup
	keys   []int32
	tmp    []treeSample
}

type treeGroup struct {
	name int32
	n    int32
	sum  int64
	off  int32
}

func newTreeBuilder(t *Tree) *treeBuilder {
	b := &treeBuilder{t: t, slot: make([]int32, len(t.v.ns.names))}
	for i := range b.slot {
		b.slot[i] = -1
	}
	return b
}

// expand builds the unbuilt children of n whose |value| is at least cut,
// then recurses into every child.
func (b *treeBuilder) expand(n NodeID, cut int64) {
	t := b.t
	if nd := t.nodes[n]; nd.deepHi > nd.restLo {
		b.partition(n, cut)
	}
	nd := t.nodes[n]
	for i := range nd.kidLen {
		c := t.kids[nd.kidOff+i]
		if abs(t.nodes[c].value) >= cut {
			b.expand(c, cut)
		}
	}
}

// partition groups n's unbuilt samples by their next frame, makes a child
// for each group at or above cut, and advances those samples' cursors.
func (b *treeBuilder) partition(n NodeID, cut int64) {
	t, v := b.t, b.t.v
	nd := t.nodes[n]
	lo, hi := nd.restLo, nd.deepHi
	ss := t.samples[lo:hi]
	if cap(b.keys) < len(ss) {
		b.keys = make([]int32, len(ss))
	}
	keys := b.keys[:len(ss)]
	groups := b.groups[:0]
	for i := range ss {
		name := v.nodes[ss[i].c.e]
		g := b.slot[name]
		if g < 0 {
			g = int32(len(groups))
			b.slot[name] = g
			groups = append(groups, treeGroup{name: name})
		}
		groups[g].n++
		groups[g].sum += ss[i].w
		keys[i] = g
	}
	off, kept := lo, 0
	for i := range groups {
		b.slot[groups[i].name] = -1
		if abs(groups[i].sum) >= cut {
			groups[i].off = off
			off += groups[i].n
			kept++
		}
	}
	if kept == 0 {
		b.groups = groups
		nd.trimmed = sumGroups(groups)
		t.nodes[n] = nd
		return
	}
	restLo := off
	var trimmed int64
	for i := range groups {
		if abs(groups[i].sum) < cut {
			groups[i].off = off
			off += groups[i].n
			trimmed += groups[i].sum
		}
	}
	if len(groups) > 1 {
		if cap(b.tmp) < len(ss) {
			b.tmp = make([]treeSample, len(ss))
		}
		tmp := b.tmp[:len(ss)]
		for i := range ss {
			g := &groups[keys[i]]
			tmp[g.off-lo] = ss[i]
			g.off++
		}
		copy(ss, tmp)
		for i := range groups {
			groups[i].off -= groups[i].n
		}
	}
	// Grow by doubling: append's 1.25 factor for big slices copies the
	// full tree's million nodes several times over.
	if need := len(t.nodes) + kept; need > cap(t.nodes) {
		t.nodes = append(make([]treeNode, 0, max(2*cap(t.nodes), need)), t.nodes...)
	}
	if need := len(t.kids) + int(nd.kidLen) + kept; need > cap(t.kids) {
		t.kids = append(make([]NodeID, 0, max(2*cap(t.kids), need)), t.kids...)
	}
	first := NodeID(len(t.nodes))
	for _, g := range groups {
		if abs(g.sum) < cut {
			continue
		}
		c := treeNode{name: g.name, parent: n, depth: nd.depth + 1, lo: g.off, restLo: g.off, hi: g.off + g.n, value: g.sum}
		c.deepHi, c.self = b.advance(g.off, g.off+g.n)
		t.nodes = append(t.nodes, c)
	}
	b.groups = groups
	nd.restLo = restLo
	nd.trimmed = trimmed
	// The new children join n's old ones (built at a higher cutoff), in
	// one sorted run at the end of kids.
	old := t.kids[nd.kidOff : nd.kidOff+nd.kidLen]
	nd.kidOff = int32(len(t.kids))
	t.kids = append(t.kids, old...)
	for c := first; c < NodeID(len(t.nodes)); c++ {
		t.kids = append(t.kids, c)
	}
	nd.kidLen = int32(len(t.kids)) - nd.kidOff
	t.sortKids(t.kids[nd.kidOff:])
	t.nodes[n] = nd
}

func sumGroups(gs []treeGroup) int64 {
	var s int64
	for _, g := range gs {
		s += g.sum
	}
	return s
}

// advance moves the cursors of samples[lo:hi] (a new node's) one frame on,
// moves the samples whose path ends to the back, and returns where they
// start and the sum of their values.
func (b *treeBuilder) advance(lo, hi int32) (deepHi int32, self int64) {
	t, v := b.t, b.t.v
	ss := t.samples
	i, j := lo, hi
	for i < j {
		var ok bool
		if t.Inverted {
			ss[i].c, ok = v.up(ss[i].c, t.stops[ss[i].s])
		} else {
			ss[i].c, ok = v.down(int(ss[i].s), ss[i].c)
		}
		if ok {
			i++
			continue
		}
		self += ss[i].w
		j--
		// ss[i] becomes the last sample not yet advanced.
		ss[i], ss[j] = ss[j], ss[i]
	}
	return i, self
}

func (t *Tree) sortKids(ks []NodeID) {
	names := t.v.ns.names
	slices.SortFunc(ks, func(a, b NodeID) int {
		na, nb := &t.nodes[a], &t.nodes[b]
		if c := cmp.Compare(abs(nb.value), abs(na.value)); c != 0 {
			return c
		}
		return cmp.Compare(names[na.name], names[nb.name])
	})
}

// Len is the number of nodes built, the root included.
func (t *Tree) Len() int { return len(t.nodes) }

// Name is node n's frame name at the tree's granularity; "root" for Root.
func (t *Tree) Name(n NodeID) string {
	if k := t.nodes[n].name; k >= 0 {
		return t.v.ns.names[k]
	}
	return "root"
}

// Self is the value spent in node n's frame itself.
func (t *Tree) Self(n NodeID) int64 { return t.nodes[n].self }

// Value is node n's total: its self value and its descendants'.
func (t *Tree) Value(n NodeID) int64 { return t.nodes[n].value }

// Trimmed is the value of node n's children that are not built (below the
// cutoff they were built with): a view draws it as one "other" block.
func (t *Tree) Trimmed(n NodeID) int64 { return t.nodes[n].trimmed }

// Expandable reports whether node n has children that are not built.
func (t *Tree) Expandable(n NodeID) bool { return t.nodes[n].deepHi > t.nodes[n].restLo }

// Parent is node n's parent, NoNode for Root.
func (t *Tree) Parent(n NodeID) NodeID { return t.nodes[n].parent }

// Depth is node n's distance from Root (0).
func (t *Tree) Depth(n NodeID) int { return int(t.nodes[n].depth) }

// Children lists node n's built children, largest first. The slice is
// shared: do not modify it.
func (t *Tree) Children(n NodeID) []NodeID {
	nd := &t.nodes[n]
	return t.kids[nd.kidOff : nd.kidOff+nd.kidLen : nd.kidOff+nd.kidLen]
}

// Samples is the number of profile samples under node n.
func (t *Tree) Samples(n NodeID) int { return int(t.nodes[n].hi - t.nodes[n].lo) }

// Walk calls f for every built node, parents before children, children in
// order; f returning false skips the node's subtree.
func (t *Tree) Walk(f func(n NodeID) bool) {
	var walk func(n NodeID)
	walk = func(n NodeID) {
		if !f(n) {
			return
		}
		for _, c := range t.Children(n) {
			walk(c)
		}
	}
	walk(Root)
}

// Search returns the value of the samples with a frame whose name matches
// re (each sample counted once, whatever the depth and number of its
// matching frames, as pprof's -focus counts), over every sample of the
// tree, built or not; and the built nodes that match.
func (t *Tree) Search(re *regexp.Regexp) (value int64, nodes []NodeID) {
	names := t.v.ns.names
	match := make([]int8, len(names)) // 0 unknown, 1 yes, -1 no
	isMatch := func(name int32) bool {
		if match[name] == 0 {
			match[name] = -1
			if re.MatchString(names[name]) {
				match[name] = 1
			}
		}
		return match[name] > 0
	}
	var buf []int32
	for _, ts := range t.samples {
		buf, _ = t.v.path(int(ts.s), buf[:0])
		for _, n := range buf {
			if isMatch(n) {
				value += ts.w
				break
			}
		}
	}
	for n := range t.nodes[1:] {
		if isMatch(t.nodes[n+1].name) {
			nodes = append(nodes, NodeID(n+1))
		}
	}
	return value, nodes
}
