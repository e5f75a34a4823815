package profile

import (
	"cmp"
	"slices"
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

// NewFlameTree builds the full call tree of p as linked nodes.
// Granularity and filters apply as in NewTop. It makes one node per
// distinct path, which on a big profile of mostly unique stacks is about
// one node per frame of every sample: views should use NewTree, which
// builds only what they show.
func NewFlameTree(p *Profile, o Options) (*FlameTree, error) {
	t, err := NewTree(p, TreeOptions{Options: o})
	if err != nil {
		return nil, err
	}
	return t.FlameTree(), nil
}

// FlameTree returns t's built nodes as linked FlameNodes, with each
// node's Trimmed value (nodes not built) kept.
func (t *Tree) FlameTree() *FlameTree {
	nodes := make([]FlameNode, len(t.nodes))
	kids := make([]*FlameNode, 0, len(t.nodes)-1)
	for i := range nodes {
		n := NodeID(i)
		nodes[i] = FlameNode{Name: t.Name(n), Self: t.Self(n), Total: t.Value(n), Trimmed: t.Trimmed(n)}
		if cs := t.Children(n); len(cs) > 0 {
			start := len(kids)
			for _, c := range cs {
				kids = append(kids, &nodes[c])
			}
			nodes[i].Children = kids[start:len(kids):len(kids)]
		}
	}
	return &FlameTree{SampleType: t.SampleType, Total: t.Total, Root: &nodes[0]}
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
