package ui

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gotune/gotune/profile"
)

// flameNode is a frame of the call tree with what navigation needs: its
// parent and depth.
type flameNode struct {
	name        string
	self, total int64
	parent      *flameNode
	children    []*flameNode
	depth       int
}

// flameData is one fetched profile, aggregated for the flame and top
// screens. It is built in a command and never modified afterwards.
type flameData struct {
	kind        profile.Kind
	sampleType  string
	unit        string
	sampleTypes []string
	total       int64
	root        *flameNode
	byName      map[string][]*flameNode
	nodes       int
	top         *profile.Top
	prof        *profile.Profile
	capture     *profile.Captured // what the session fetched (kept there)
	fetchedAt   time.Time
	seconds     int
}

func buildFlameData(c *profile.Captured, sampleIndex string) (*flameData, error) {
	p, kind := c.Profile, c.Kind
	opts := profile.Options{SampleIndex: sampleIndex}
	tree, err := profile.NewFlameTree(p, opts)
	if err != nil {
		return nil, fmt.Errorf("build the flame tree: %w", err)
	}
	top, err := profile.NewTop(p, profile.TopOptions{Options: opts})
	if err != nil {
		return nil, fmt.Errorf("build the top table: %w", err)
	}
	d := &flameData{kind: kind, sampleType: tree.SampleType.Type, unit: tree.SampleType.Unit,
		sampleTypes: p.SampleTypeNames(), total: tree.Total, top: top, prof: p, capture: c,
		fetchedAt: c.FetchedAt, seconds: int(c.Seconds() + 0.5), byName: map[string][]*flameNode{}}
	var conv func(n *profile.FlameNode, parent *flameNode, depth int) *flameNode
	conv = func(n *profile.FlameNode, parent *flameNode, depth int) *flameNode {
		f := &flameNode{name: n.Name, self: n.Self, total: n.Total, parent: parent, depth: depth}
		d.nodes++
		if parent != nil {
			d.byName[f.name] = append(d.byName[f.name], f)
		}
		f.children = make([]*flameNode, 0, len(n.Children))
		for _, c := range n.Children {
			f.children = append(f.children, conv(c, f, depth+1))
		}
		return f
	}
	d.root = conv(tree.Root, nil, 0)
	d.root.name = "root"
	if d.root.total == 0 {
		d.root.total = tree.Total
	}
	return d, nil
}

// format renders a value in the profile's unit.
func (d *flameData) format(v int64) string { return profile.FormatValue(v, d.unit, "auto") }

// share is v as a percentage of the profile's total.
func (d *flameData) share(v int64) string { return strings.TrimSpace(profile.Percent(v, d.total)) }

// label names the profile for people: "CPU 10s", "heap inuse_space".
func (d *flameData) label() string {
	switch d.kind {
	case profile.KindCPU:
		return fmt.Sprintf("CPU %ds · %s", d.seconds, d.sampleType)
	}
	return string(d.kind) + " · " + d.sampleType
}

// relation is a caller or callee of a function with the value through it.
type relation struct {
	name  string
	value int64
}

// relations aggregates, over every occurrence of name in the tree, the
// callers (parents) and callees (children) with their cumulative values.
// Occurrences nested under another occurrence are skipped so recursion
// does not count twice.
func (d *flameData) relations(name string) (flat, cum int64, callers, callees []relation) {
	in := map[string]int64{}
	out := map[string]int64{}
	for _, n := range d.byName[name] {
		nested := false
		for p := n.parent; p != nil; p = p.parent {
			if p.name == name {
				nested = true
				break
			}
		}
		flat += n.self
		if nested {
			continue
		}
		cum += n.total
		if n.parent != nil && n.parent.parent != nil {
			in[n.parent.name] += n.total
		}
		for _, c := range n.children {
			out[c.name] += c.total
		}
	}
	return flat, cum, sortedRelations(in), sortedRelations(out)
}

func sortedRelations(m map[string]int64) []relation {
	rs := make([]relation, 0, len(m))
	for k, v := range m {
		rs = append(rs, relation{k, v})
	}
	slices.SortFunc(rs, func(a, b relation) int {
		if c := cmp.Compare(b.value, a.value); c != 0 {
			return c
		}
		return cmp.Compare(a.name, b.name)
	})
	return rs
}

// matcher compiles a search: a regular expression when it is one, else a
// literal; case-insensitive either way.
func matcher(q string) func(string) bool {
	if q == "" {
		return nil
	}
	if re, err := regexp.Compile("(?i)" + q); err == nil {
		return re.MatchString
	}
	lq := strings.ToLower(q)
	return func(s string) bool { return strings.Contains(strings.ToLower(s), lq) }
}

// searchTree marks the nodes matching q and returns them with the share of
// the total they account for (outermost matches only, so nested matches
// do not count twice).
func (d *flameData) searchTree(q string) (matches map[*flameNode]bool, value int64) {
	match := matcher(q)
	if match == nil {
		return nil, 0
	}
	matches = map[*flameNode]bool{}
	var walk func(n *flameNode, under bool)
	walk = func(n *flameNode, under bool) {
		m := n.parent != nil && match(n.name)
		if m {
			matches[n] = true
			if !under {
				value += n.total
			}
		}
		for _, c := range n.children {
			walk(c, under || m)
		}
	}
	walk(d.root, false)
	return matches, value
}

// shortName trims a Go symbol for a narrow cell: the package path goes
// first ("github.com/x/y/pkg.(*T).M" → "pkg.(*T).M"), then the tail.
func shortName(name string) string {
	paren := strings.IndexByte(name, '(')
	head := name
	if paren >= 0 {
		head = name[:paren]
	}
	if i := strings.LastIndexByte(head, '/'); i >= 0 {
		return name[i+1:]
	}
	return name
}
