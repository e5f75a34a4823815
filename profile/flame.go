package profile

import (
	"bufio"
	"cmp"
	"io"
	"slices"
	"strconv"
	"strings"
)

// FlameNode is one frame of a merged call tree. Total includes the node's
// descendants; Self is the part spent in the frame itself. Every root-to-node
// path is distinct, so recursion never double counts in a tree.
type FlameNode struct {
	Name     string       `json:"name"`
	Self     int64        `json:"self"`
	Total    int64        `json:"total"`
	Children []*FlameNode `json:"children,omitempty"`
	// Trimmed is the total of children removed by FlameTree.Trim, shown as
	// one "other" block.
	Trimmed int64 `json:"trimmed,omitempty"`
}

// FlameTree is the call tree of one sample type of a profile, roots at the
// top (under a synthetic "root" node), children sorted by Total (largest
// first), then name.
type FlameTree struct {
	SampleType ValueType `json:"sample_type"`
	// Total is the percentage denominator, as in Top.
	Total int64      `json:"total"`
	Root  *FlameNode `json:"root"`
	// TrimmedNodes and TrimmedValue say how much Trim removed.
	TrimmedNodes int   `json:"trimmed_nodes,omitempty"`
	TrimmedValue int64 `json:"trimmed_value,omitempty"`
}

// NewFlameTree builds the call tree of p. Granularity and filters apply as
// in NewTop.
func NewFlameTree(p *Profile, o Options) (*FlameTree, error) {
	f, err := compileFilters(o)
	if err != nil {
		return nil, err
	}
	vi, err := p.SampleIndex(o.SampleIndex)
	if err != nil {
		return nil, err
	}
	ns := newNodeSet()
	v := ns.prepare(p, vi, o.Granularity, f)
	b := newTreeBuilder()
	nv := len(p.SampleTypes)
	var buf []int32
	for i := range p.NumSamples() {
		w := p.values[i*nv+vi]
		if w == 0 {
			continue
		}
		var ok bool
		if buf, ok = v.path(i, buf[:0]); !ok || len(buf) == 0 {
			continue
		}
		b.add(buf, w)
	}
	return &FlameTree{
		SampleType: p.SampleTypes[vi],
		Total:      total(p, vi, weigher{ratio: 1}),
		Root:       b.build(ns.names),
	}, nil
}

// treeBuilder accumulates paths in flat arrays; build turns them into
// FlameNodes once.
type treeBuilder struct {
	name        []int32
	self, total []int64
	children    map[uint64]int32 // parent<<32 | name → node
}

func newTreeBuilder() *treeBuilder {
	return &treeBuilder{name: []int32{-1}, self: []int64{0}, total: []int64{0}, children: map[uint64]int32{}}
}

func (b *treeBuilder) add(path []int32, w int64) {
	cur := int32(0)
	b.total[0] += w
	for _, n := range path {
		k := uint64(cur)<<32 | uint64(uint32(n))
		c, ok := b.children[k]
		if !ok {
			c = int32(len(b.name))
			b.name = append(b.name, n)
			b.self = append(b.self, 0)
			b.total = append(b.total, 0)
			b.children[k] = c
		}
		b.total[c] += w
		cur = c
	}
	b.self[cur] += w
}

func (b *treeBuilder) build(names []string) *FlameNode {
	nodes := make([]FlameNode, len(b.name))
	for i := range nodes {
		nodes[i].Self, nodes[i].Total = b.self[i], b.total[i]
		if b.name[i] >= 0 {
			nodes[i].Name = names[b.name[i]]
		}
	}
	nodes[0].Name = "root"
	for k, c := range b.children {
		parent := &nodes[k>>32]
		parent.Children = append(parent.Children, &nodes[c])
	}
	for i := range nodes {
		sortFlame(nodes[i].Children)
	}
	return &nodes[0]
}

func sortFlame(ns []*FlameNode) {
	slices.SortFunc(ns, func(a, b *FlameNode) int {
		if c := cmp.Compare(abs(b.Total), abs(a.Total)); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
}

// Trim removes every node whose |Total| is below minFraction of the tree's
// Total, adding its value to its parent's Trimmed, so a view can show
// "other" blocks and the trimmed total.
func (t *FlameTree) Trim(minFraction float64) {
	cutoff := abs(int64(float64(t.Total) * minFraction))
	if cutoff == 0 {
		return
	}
	var walk func(n *FlameNode)
	walk = func(n *FlameNode) {
		kept := n.Children[:0]
		for _, c := range n.Children {
			if abs(c.Total) < cutoff {
				n.Trimmed += c.Total
				t.TrimmedValue += c.Total
				t.TrimmedNodes += countNodes(c)
				continue
			}
			kept = append(kept, c)
			walk(c)
		}
		clear(n.Children[len(kept):])
		n.Children = kept
	}
	walk(t.Root)
}

func countNodes(n *FlameNode) int {
	c := 1
	for _, ch := range n.Children {
		c += countNodes(ch)
	}
	return c
}

// Walk calls f for every node, parents before children, with its depth
// (the root is depth 0).
func (t *FlameTree) Walk(f func(n *FlameNode, depth int)) {
	var walk func(n *FlameNode, d int)
	walk = func(n *FlameNode, d int) {
		f(n, d)
		for _, c := range n.Children {
			walk(c, d+1)
		}
	}
	walk(t.Root, 0)
}

// WriteFolded writes p's stacks in the folded format flame-graph tools read
// ("root;caller;leaf value", Brendan Gregg's stackcollapse output): one line
// per distinct stack with a non-zero self value, sorted by stack.
func WriteFolded(w io.Writer, p *Profile, o Options) error {
	t, err := NewFlameTree(p, o)
	if err != nil {
		return err
	}
	type line struct {
		stack string
		value int64
	}
	var lines []line
	var path []string
	var walk func(n *FlameNode)
	walk = func(n *FlameNode) {
		path = append(path, strings.ReplaceAll(n.Name, ";", ":"))
		if n.Self != 0 {
			lines = append(lines, line{strings.Join(path, ";"), n.Self})
		}
		for _, c := range n.Children {
			walk(c)
		}
		path = path[:len(path)-1]
	}
	for _, c := range t.Root.Children {
		walk(c)
	}
	slices.SortFunc(lines, func(a, b line) int { return strings.Compare(a.stack, b.stack) })
	bw := bufio.NewWriter(w)
	for _, l := range lines {
		bw.WriteString(l.stack)
		bw.WriteByte(' ')
		bw.WriteString(strconv.FormatInt(l.value, 10))
		bw.WriteByte('\n')
	}
	return bw.Flush()
}
