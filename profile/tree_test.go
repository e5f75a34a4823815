package profile

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// refNode is a node of the reference call tree, built the plain way: one
// map lookup per frame of every sample.
type refNode struct {
	self, value int64
	kids        map[int32]*refNode
}

func referenceTree(t testing.TB, p *Profile, o TreeOptions) *refNode {
	t.Helper()
	r, err := compileRefine(o.Options)
	if err != nil {
		t.Fatal(err)
	}
	vi, _ := p.SampleIndex(o.SampleIndex)
	v := newNodeSet().prepare(p, vi, o.Granularity, r)
	root := &refNode{kids: map[int32]*refNode{}}
	var buf []int32
	for s := range p.NumSamples() {
		w := v.weight(s)
		var ok bool
		if buf, ok = v.path(s, buf[:0]); !ok || w == 0 {
			continue
		}
		if o.Inverted {
			for i, j := 0, len(buf)-1; i < j; i, j = i+1, j-1 {
				buf[i], buf[j] = buf[j], buf[i]
			}
		}
		n := root
		n.value += w
		for _, id := range buf {
			c := n.kids[id]
			if c == nil {
				c = &refNode{kids: map[int32]*refNode{}}
				n.kids[id] = c
			}
			c.value += w
			n = c
		}
		n.self += w
	}
	return root
}

// checkTree compares t under node n (path names the way there) with the
// reference ref: every built node exists in the reference with the same
// values, every reference child at or above cut is built, and Trimmed
// accounts for the rest.
func checkTree(t *testing.T, tr *Tree, n NodeID, ref *refNode, cut int64, path string) int {
	t.Helper()
	if tr.Value(n) != ref.value || tr.Self(n) != ref.self {
		t.Fatalf("%s: value %d self %d, reference %d %d", path, tr.Value(n), tr.Self(n), ref.value, ref.self)
	}
	built := map[int32]bool{}
	sum := tr.Self(n)
	count := 1
	prev := int64(-1)
	for _, c := range tr.Children(n) {
		name, id := tr.Name(c), tr.nodes[c].name
		if built[id] {
			t.Fatalf("%s: child %s twice", path, name)
		}
		built[id] = true
		if tr.Parent(c) != n || tr.Depth(c) != tr.Depth(n)+1 {
			t.Fatalf("%s;%s: parent %d depth %d", path, name, tr.Parent(c), tr.Depth(c))
		}
		if prev >= 0 && abs(tr.Value(c)) > prev {
			t.Fatalf("%s: children not sorted by value", path)
		}
		prev = abs(tr.Value(c))
		rc := ref.kids[id]
		if rc == nil {
			t.Fatalf("%s: child %s not in the reference", path, name)
		}
		sum += tr.Value(c)
		count += checkTree(t, tr, c, rc, cut, path+";"+name)
	}
	var trimmed int64
	for id, rc := range ref.kids {
		if !built[id] {
			if abs(rc.value) >= cut {
				t.Fatalf("%s: child %s (value %d, cutoff %d) not built", path, tr.v.ns.names[id], rc.value, cut)
			}
			trimmed += rc.value
		}
	}
	if tr.Trimmed(n) != trimmed || sum+trimmed != tr.Value(n) {
		t.Fatalf("%s: trimmed %d, reference %d (children and self %d of %d)", path, tr.Trimmed(n), trimmed, sum, tr.Value(n))
	}
	if tr.Expandable(n) != (len(built) < len(ref.kids)) {
		t.Fatalf("%s: expandable %v with %d of %d children built", path, tr.Expandable(n), len(built), len(ref.kids))
	}
	return count
}

func treeProfiles(t *testing.T) []string {
	files, _ := filepath.Glob(fixtures + "/*.pb.gz")
	if !testing.Short() {
		files = append(files, deepHeap(t, 3000))
	}
	return files
}

func TestTreeMatchesReference(t *testing.T) {
	for _, file := range treeProfiles(t) {
		p := mustParseFile(t, file)
		for _, o := range []TreeOptions{
			{},
			{MinFraction: 0.01},
			{MinFraction: DefaultTreeFraction},
			{Inverted: true},
			{Inverted: true, MinFraction: 0.02},
			{Options: Options{Granularity: Lines, Hide: "runtime"}, MinFraction: 0.005},
			{Options: Options{Granularity: Files}},
			{Options: Options{ShowFrom: "main|pkg0", Focus: "."}, Inverted: true},
			{Options: Options{Show: "main|pkg1|sync", SampleIndex: "0"}, MinFraction: 0.001},
		} {
			name := fmt.Sprintf("%s %+v", filepath.Base(file), o)
			tr, err := NewTree(p, o)
			if err != nil {
				t.Fatal(err)
			}
			ref := referenceTree(t, p, o)
			cut := cutoff(ref.value, o.MinFraction)
			t.Run(name, func(t *testing.T) {
				n := checkTree(t, tr, Root, ref, cut, "root")
				if n != tr.Len() {
					t.Fatalf("%d nodes reachable, %d built", n, tr.Len())
				}
				// Expanding every node to the full tree gives the
				// reference; the original is untouched.
				before := tr.Len()
				full := tr.Expand(Root, 0)
				checkTree(t, full, Root, ref, 0, "root")
				if tr.Len() != before {
					t.Fatalf("Expand changed the tree it was called on: %d nodes, then %d", before, tr.Len())
				}
				// Zooming into the largest child builds its subtree to
				// the new, relative cutoff.
				if kids := tr.Children(Root); len(kids) > 0 {
					z := tr.Expand(kids[0], 0.05)
					checkTree(t, z, kids[0], ref.kids[tr.nodes[kids[0]].name], cutoff(tr.Value(kids[0]), 0.05), "zoom")
				}
			})
		}
	}
}

// TestFlameTreeFromTree: the linked form holds the same nodes.
func TestFlameTreeFromTree(t *testing.T) {
	p := mustParseFile(t, fixtures+"/heap.pb.gz")
	ft, err := NewFlameTree(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	tr, _ := NewTree(p, TreeOptions{})
	var a, b strings.Builder
	ft.Walk(func(n *FlameNode, depth int) { fmt.Fprintf(&a, "%d %s %d %d\n", depth, n.Name, n.Self, n.Total) })
	tr.Walk(func(n NodeID) bool {
		fmt.Fprintf(&b, "%d %s %d %d\n", tr.Depth(n), tr.Name(n), tr.Self(n), tr.Value(n))
		return true
	})
	if a.String() != b.String() || ft.Total != tr.Total || tr.Len() < 10 {
		t.Errorf("flame tree:\n%s\ntree:\n%s", a.String(), b.String())
	}
}

// TestTreePeekAndSearch: a tree's side-panel figures are those of the
// whole selection, whatever is built.
func TestTreePeekAndSearch(t *testing.T) {
	p := mustParseFile(t, fixtures+"/cpu.pb.gz")
	o := Options{Hide: `runtime\.goexit`}
	tr, err := NewTree(p, TreeOptions{Options: o, MinFraction: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	var fib NodeID = NoNode
	tr.Walk(func(n NodeID) bool {
		if tr.Name(n) == "main.burnCPU" {
			fib = n
		}
		return true
	})
	if fib == NoNode {
		t.Fatal("main.burnCPU is not built")
	}
	got := tr.Peek(fib)
	pk, err := NewPeek(p, PeekOptions{Options: o, Match: `^main\.burnCPU$`})
	if err != nil {
		t.Fatal(err)
	}
	want := pk.Nodes[0]
	if fmt.Sprint(got) != fmt.Sprint(want) || len(got.Callees) < 2 {
		t.Errorf("tree peek %+v\nNewPeek %+v", got, want)
	}
	value, nodes := tr.Search(regexp.MustCompile(`main\.(spin|hashLoop)`))
	top, _ := NewTop(p, TopOptions{Options: Options{Hide: o.Hide, Focus: `main\.(spin|hashLoop)`}})
	if value != top.Shown || value == 0 {
		t.Errorf("search value %d, focused top %d", value, top.Shown)
	}
	for _, n := range nodes {
		if !strings.Contains(tr.Name(n), "main.") {
			t.Errorf("search matched %s", tr.Name(n))
		}
	}
}
