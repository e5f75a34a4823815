package ui

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/safetext"
)

// viewOptions is how the Flame and Top screens aggregate a profile:
// pprof's refinements and granularity, and the flame's orientation.
type viewOptions struct {
	profile.Options
	Inverted bool
}

// flameData is one fetched profile, aggregated for the flame and top
// screens with one set of view options. It is built in a command and never
// modified afterwards; zooms expand a copy of its tree (profile.Tree is
// immutable).
type flameData struct {
	kind        profile.Kind
	opts        viewOptions // as built; SampleIndex is the resolved type
	sampleType  string
	unit        string
	sampleTypes []string
	total       int64
	tree        *profile.Tree
	top         *profile.Top
	prof        *profile.Profile
	capture     *profile.Captured // what the session fetched (kept there)
	fetchedAt   time.Time
	seconds     int
	// first is the selection the screen starts at (the root's largest
	// child) and peek its peek, computed with the tree so that the first
	// frame has its side panel.
	first profile.NodeID
	peek  *profile.PeekNode
}

func buildFlameData(c *profile.Captured, o viewOptions) (*flameData, error) {
	p, kind := c.Profile, c.Kind
	// The top table is built beside the tree and the first peek: the
	// first frame needs only those, and a big profile's table takes a
	// third of the time.
	var top *profile.Top
	var topErr error
	topDone := make(chan struct{})
	topOpts := profile.TopOptions{Options: o.Options} // o changes below
	go func() {
		defer close(topDone)
		top, topErr = profile.NewTop(p, topOpts)
	}()
	tree, err := profile.NewTree(p, profile.TreeOptions{Options: o.Options, Inverted: o.Inverted, MinFraction: profile.DefaultTreeFraction})
	if err != nil {
		<-topDone
		return nil, fmt.Errorf("build the flame tree: %w", err)
	}
	o.SampleIndex = tree.SampleType.Type
	d := &flameData{kind: kind, opts: o, sampleType: tree.SampleType.Type, unit: tree.SampleType.Unit,
		sampleTypes: p.SampleTypeNames(), total: tree.Total, tree: tree, prof: p, capture: c,
		fetchedAt: c.FetchedAt, seconds: int(c.Seconds() + 0.5), first: profile.Root}
	if kids := tree.Children(profile.Root); len(kids) > 0 {
		d.first = kids[0]
	}
	pk := tree.Peek(d.first)
	d.peek = &pk
	<-topDone
	if topErr != nil {
		return nil, fmt.Errorf("build the top table: %w", topErr)
	}
	d.top = top
	return d, nil
}

// format renders a value in the profile's unit.
func (d *flameData) format(v int64) string {
	return safetext.Line(profile.FormatValue(v, d.unit, "auto"))
}

// share is v as a percentage of the profile's total.
func (d *flameData) share(v int64) string { return strings.TrimSpace(profile.Percent(v, d.total)) }

// label names the profile for people: "CPU 10s", "heap inuse_space".
func (d *flameData) label() string {
	st := safetext.Line(d.sampleType) // the profile names it
	switch d.kind {
	case profile.KindCPU:
		return fmt.Sprintf("CPU %ds · %s", d.seconds, st)
	}
	return string(d.kind) + " · " + st
}

// large reports whether aggregations over every sample of d (a peek, a
// search's share) are slow enough to run in a command rather than in
// Update: on small profiles a command's round trip costs more than the
// work.
func (d *flameData) large() bool { return d.tree.Samples(profile.Root) > syncSamples }

// syncSamples is the sample count up to which peeks and search shares are
// computed in Update: a full pass over 20,000 samples takes about 2 ms.
var syncSamples = 20000 // a variable: tests lower it to take the command paths

// nodesNamed lists the built nodes of t named name, largest first.
func nodesNamed(t *profile.Tree, name string) []profile.NodeID {
	var out []profile.NodeID
	for n := 1; n < t.Len(); n++ {
		if t.Name(profile.NodeID(n)) == name {
			out = append(out, profile.NodeID(n))
		}
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && abs64(t.Value(out[j])) > abs64(t.Value(out[j-1])); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// peekName is the callers and callees of name over every sample of d's
// tree: through a built node of that name when there is one, else with
// NewPeek for exactly that name (the same figures).
func peekName(d *flameData, t *profile.Tree, name string) profile.PeekNode {
	if ns := nodesNamed(t, name); len(ns) > 0 {
		return t.Peek(ns[0])
	}
	pk, err := profile.NewPeek(d.prof, profile.PeekOptions{Options: d.opts.Options, Match: "^" + regexp.QuoteMeta(name) + "$"})
	if err != nil || len(pk.Nodes) == 0 {
		return profile.PeekNode{Name: name}
	}
	return pk.Nodes[0]
}

// searchRegexp compiles a search: a regular expression when it is one,
// else a literal; case-insensitive either way.
func searchRegexp(q string) *regexp.Regexp {
	if q == "" {
		return nil
	}
	if re, err := regexp.Compile("(?i)" + q); err == nil {
		return re
	}
	return regexp.MustCompile("(?i)" + regexp.QuoteMeta(q))
}

// matcher is searchRegexp as a predicate (nil for no query).
func matcher(q string) func(string) bool {
	if re := searchRegexp(q); re != nil {
		return re.MatchString
	}
	return nil
}

// treeSource is a profile.Tree as the icicle places it.
type treeSource struct{ t *profile.Tree }

func (s treeSource) width(n profile.NodeID) int64 { return abs64(s.t.Value(n)) }
func (s treeSource) children(n profile.NodeID) []profile.NodeID {
	return s.t.Children(n)
}
func (s treeSource) parent(n profile.NodeID) (profile.NodeID, bool) {
	p := s.t.Parent(n)
	return p, p != profile.NoNode
}
func (s treeSource) trimmed(n profile.NodeID) int64 { return s.t.Trimmed(n) }

// treePath is the names from n up to the root's child, innermost first.
func treePath(t *profile.Tree, n profile.NodeID) []string {
	var p []string
	for ; n != profile.Root && n != profile.NoNode; n = t.Parent(n) {
		p = append(p, t.Name(n))
	}
	return p
}

// findTreePath follows path (innermost first) down from the root as far as
// t's built nodes have it.
func findTreePath(t *profile.Tree, path []string) profile.NodeID {
	n := profile.Root
	for i := len(path) - 1; i >= 0; i-- {
		next := profile.NoNode
		for _, c := range t.Children(n) {
			if t.Name(c) == path[i] {
				next = c
				break
			}
		}
		if next == profile.NoNode {
			return n
		}
		n = next
	}
	return n
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

// functionOf is the function a node named name stands for at d's
// granularity, for a listing: the name itself at function granularity;
// at -lines and -addresses the profile's longest function name that the
// node's name starts with (after the address), since a name there is
// "function file:line". Files name no function.
func functionOf(d *flameData, name string) (string, bool) {
	switch d.opts.Granularity {
	case profile.Functions:
		return name, name != ""
	case profile.Files:
		return "", false
	}
	if d.opts.Granularity == profile.Addresses {
		if i := strings.IndexByte(name, ' '); i == 16 && isHex(name[:16]) {
			name = name[17:]
		}
	}
	best := ""
	for i := range d.prof.Functions {
		f := d.prof.Functions[i].Name
		if len(f) > len(best) && strings.HasPrefix(name, f) && (len(name) == len(f) || name[len(f)] == ' ') {
			best = f
		}
	}
	return best, best != ""
}

func isHex(s string) bool {
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return s != ""
}
