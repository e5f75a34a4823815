package ui

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/safetext"
)

// diffNode is a frame of a diff flame's merged call tree: its width is
// its before and after values together.
type diffNode struct {
	name        string
	self, total int64
	parent      *diffNode
	children    []*diffNode
	depth       int
}

// The icicle places a diff flame's nodes (icicleTree).
func (df *diffFlame) width(n *diffNode) int64 {
	if n == nil {
		return 0
	}
	return n.total
}
func (df *diffFlame) children(n *diffNode) []*diffNode { return n.children }
func (df *diffFlame) parent(n *diffNode) (*diffNode, bool) {
	if n == nil || n.parent == nil {
		return nil, false
	}
	return n.parent, true
}
func (df *diffFlame) trimmed(*diffNode) int64 { return 0 }

// pathOf is the names from n up to the root's child, innermost first.
func pathOf(n *diffNode) []string {
	var p []string
	for ; n != nil && n.parent != nil; n = n.parent {
		p = append(p, n.name)
	}
	return p
}

// findPath follows path (innermost first) down from root as far as the
// tree has it.
func findPath(root *diffNode, path []string) *diffNode {
	n := root
	for i := len(path) - 1; i >= 0; i-- {
		var next *diffNode
		for _, c := range n.children {
			if c.name == path[i] {
				next = c
				break
			}
		}
		if next == nil {
			return n
		}
		n = next
	}
	return n
}

// diffValue is a frame's value before and after (after scaled in
// normalized mode).
type diffValue struct{ before, after int64 }

// diffFlame is a diff flame of one profile kind in one mode: the merged
// call tree of both profiles, each frame as wide as its before and after
// values together (so frames that vanished still show), classified
// against the noise floor. Built once, never modified.
type diffFlame struct {
	kind       profile.Kind
	sampleType profile.ValueType
	normalized bool
	ratio      float64
	baseTotal  int64
	newTotal   int64
	floor      int64 // |Δ| below this is noise
	minChange  float64
	root       *diffNode
	vals       map[*diffNode]diffValue
	changes    []profile.DiffRow // the function-level diff's rows beyond the floor
}

// buildDiffFlame merges base and cur, the profiles d compares, into a diff
// flame. minChange is the noise floor as a fraction of the base total.
func buildDiffFlame(kind profile.Kind, base, cur *profile.Profile, d *profile.Diff, minChange float64) (*diffFlame, error) {
	opts := profile.Options{SampleIndex: d.SampleType.Type}
	bt, err := profile.NewFlameTree(base, opts)
	if err != nil {
		return nil, err
	}
	at, err := profile.NewFlameTree(cur, opts)
	if err != nil {
		return nil, err
	}
	ratio := d.Ratio
	if ratio == 0 || !d.Normalized {
		ratio = 1
	}
	df := &diffFlame{kind: kind, sampleType: d.SampleType, normalized: d.Normalized, ratio: ratio,
		baseTotal: bt.Total, newTotal: scale(at.Total, ratio), minChange: minChange,
		vals: map[*diffNode]diffValue{}, changes: d.Changes()}
	df.floor = int64(math.Abs(float64(df.baseTotal) * minChange))
	var merge func(b, a *profile.FlameNode, parent *diffNode, depth int) *diffNode
	merge = func(b, a *profile.FlameNode, parent *diffNode, depth int) *diffNode {
		n := &diffNode{parent: parent, depth: depth}
		var v diffValue
		kids := map[string][2]*profile.FlameNode{}
		var names []string
		add := func(side int, cs []*profile.FlameNode) {
			for _, c := range cs {
				k, ok := kids[c.Name]
				if !ok {
					names = append(names, c.Name)
				}
				k[side] = c
				kids[c.Name] = k
			}
		}
		if b != nil {
			n.name, v.before, n.self = b.Name, b.Total, b.Self
			add(0, b.Children)
		}
		if a != nil {
			n.name, v.after = a.Name, scale(a.Total, ratio)
			n.self += scale(a.Self, ratio)
			add(1, a.Children)
		}
		n.total = v.before + v.after
		df.vals[n] = v
		for _, name := range names {
			k := kids[name]
			n.children = append(n.children, merge(k[0], k[1], n, depth+1))
		}
		slices.SortFunc(n.children, func(x, y *diffNode) int {
			return cmp.Or(cmp.Compare(y.total, x.total), strings.Compare(x.name, y.name))
		})
		return n
	}
	df.root = merge(bt.Root, at.Root, nil, 0)
	df.root.name = "root"
	// The root spans the totals (samples without frames included), the
	// denominators of every share.
	df.vals[df.root] = diffValue{df.baseTotal, df.newTotal}
	df.root.total = max(df.root.total, df.baseTotal+df.newTotal)
	return df, nil
}

func scale(v int64, ratio float64) int64 {
	if ratio == 1 {
		return v
	}
	return int64(math.Round(float64(v) * ratio))
}

// class says how a frame changed, with the same floor as the
// function-level diff: a change smaller than floor is noise.
func (df *diffFlame) class(n *diffNode) profile.Change {
	v := df.vals[n]
	delta := v.after - v.before
	switch {
	case delta == 0:
		return profile.ChangeNoDelta
	case abs64(delta) < df.floor:
		return profile.ChangeNoise
	case v.before == 0:
		return profile.ChangeNew
	case v.after == 0:
		return profile.ChangeGone
	case delta > 0:
		return profile.ChangeGrew
	}
	return profile.ChangeShrank
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// marker is the sign a frame's label starts with, so a change reads
// without colour too.
func marker(c profile.Change) string {
	switch c {
	case profile.ChangeGrew:
		return "▲"
	case profile.ChangeShrank:
		return "▼"
	case profile.ChangeNew:
		return "+"
	case profile.ChangeGone:
		return "×"
	}
	return ""
}

func (df *diffFlame) label(n *diffNode) string {
	if m := marker(df.class(n)); m != "" {
		return m + safetext.Line(shortName(n.name))
	}
	return safetext.Line(shortName(n.name))
}

func (df *diffFlame) format(v int64) string {
	return profile.FormatValue(v, df.sampleType.Unit, "auto")
}

// deltaText is a signed change with its share of the before total.
func (df *diffFlame) deltaText(delta int64) string {
	s := "+"
	if delta < 0 {
		s = "-"
	}
	s += df.format(abs64(delta))
	if df.baseTotal != 0 {
		s += " (" + signedPercent(float64(delta)/float64(df.baseTotal)) + ")"
	}
	return s
}

func signedPercent(f float64) string { return fmt.Sprintf("%+.1f%%", f*100) }
