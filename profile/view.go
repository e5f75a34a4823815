package profile

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
)

// nodeSet interns node names so that several profiles (a diff) share node
// numbers. info holds, per node, the frame it was first made from (the
// function and line a List groups by).
type nodeSet struct {
	names []string
	info  []nodeInfo
	index map[string]int32
}

type nodeInfo struct {
	fn   int32 // index into Profile.Functions, -1 when unsymbolized
	line int64
}

func newNodeSet() *nodeSet { return &nodeSet{index: map[string]int32{}} }

// id interns the node identified by key, whose name is key[:n] (pprof
// keys nodes by more than their printed name; see locationName).
func (ns *nodeSet) id(key []byte, n int, info nodeInfo) int32 {
	if i, ok := ns.index[string(key)]; ok {
		return i
	}
	i := int32(len(ns.names))
	k := string(key)
	ns.names = append(ns.names, k[:n])
	ns.info = append(ns.info, info)
	ns.index[k] = i
	return i
}

// lineID interns the node of line ln of loc at granularity g.
func (ns *nodeSet) lineID(p *Profile, loc *Location, ln Line, g Granularity, buf *[]byte, info nodeInfo) int32 {
	key, n := p.locationName(loc, ln, g, buf)
	return ns.id(key, n, info)
}

// idString is id for a name held in a string already (a function name).
func (ns *nodeSet) idString(name string, info nodeInfo) int32 {
	if i, ok := ns.index[name]; ok {
		return i
	}
	i := int32(len(ns.names))
	ns.names = append(ns.names, name)
	ns.info = append(ns.info, info)
	ns.index[name] = i
	return i
}

// view is a profile prepared for aggregation with one set of Options: each
// location's nodes at the chosen granularity, root-most (outermost inlined
// frame) first, after -hide and -show; the focus/ignore verdict and the
// -show_from cut of each location; and the tag filters. Every aggregation
// (top, tree, folded, peek, list, diff) reads samples through a view, so
// they all select and refine alike.
type view struct {
	p  *Profile
	vi int // sample value index
	g  Granularity
	ns *nodeSet
	// Location l has nodes nodes[nodeOff[l]:nodeOff[l+1]], outermost
	// first. first[e] is set for the first (outermost) entry of a
	// location: an edge into any other entry is an inlined call.
	nodes   []int32
	nodeOff []int32
	first   []bool
	// one is, per location, its node when it has exactly one, -1 when it
	// has several, -2 when none (the hot loops' shortcut).
	one []int32
	// verdict is +1 for a focused location, -1 for an ignored one; nil
	// when no name filter is set.
	verdict []int8
	// sfStart is, per location, 0 when it matches -show_from (a path
	// starts at the outermost matching location; prepare has dropped the
	// location's frames above the match) or -1; nil without -show_from.
	sfStart []int32
	r       *refine
}

func (ns *nodeSet) prepare(p *Profile, vi int, g Granularity, r *refine) *view {
	v := &view{p: p, vi: vi, g: g, ns: ns, r: r, nodeOff: make([]int32, len(p.Locations)+1)}
	v.nodes = make([]int32, 0, len(p.Locations)+len(p.Locations)/8)
	byName := r.byName()
	if byName {
		v.verdict = make([]int8, len(p.Locations))
	}
	if r.showFrom != nil {
		v.sfStart = make([]int32, len(p.Locations))
	}
	// Names are cached per function at function granularity: most
	// functions appear in many locations.
	var fnName []int32
	if g == Functions {
		fnName = make([]int32, len(p.Functions))
		for i := range fnName {
			fnName[i] = -1
		}
	}
	var nameBuf []byte
	for li := range p.Locations {
		loc := &p.Locations[li]
		if byName {
			// internal/profile.FilterSamplesByName.
			switch {
			case r.ignore != nil && p.locationMatches(loc, r.ignore):
				v.verdict[li] = -1
			case r.focus == nil || p.locationMatches(loc, r.focus):
				v.verdict[li] = 1
			}
		}
		mappingFile := ""
		if loc.Mapping >= 0 {
			mappingFile = p.Mappings[loc.Mapping].File
		}
		sf := int32(-1)
		start := len(v.nodes)
		// unmatchedLines: a mapping matching -hide hides the location.
		if r.hide == nil || loc.Mapping < 0 || !r.hide.MatchString(mappingFile) {
			// matchedLines: a mapping matching -show keeps every line.
			showAll := r.show != nil && loc.Mapping >= 0 && r.show.MatchString(mappingFile)
			if len(loc.Lines) == 0 {
				if r.show == nil {
					v.nodes = append(v.nodes, ns.lineID(p, loc, Line{Function: -1}, g, &nameBuf, nodeInfo{fn: -1}))
				}
			}
			for j := len(loc.Lines) - 1; j >= 0; j-- {
				ln := loc.Lines[j]
				if r.hide != nil && p.lineMatches(ln, r.hide) {
					continue
				}
				if r.show != nil && !showAll && ln.Function >= 0 && !p.lineMatches(ln, r.show) {
					continue
				}
				// lastMatchedLineIndex: the outermost kept line that
				// matches -show_from.
				if r.showFrom != nil && sf < 0 && p.lineMatches(ln, r.showFrom) {
					sf = int32(len(v.nodes) - start)
				}
				if fnName != nil && ln.Function >= 0 {
					id := fnName[ln.Function]
					if id < 0 {
						if name := p.Functions[ln.Function].Name; name != "" {
							id = ns.idString(name, nodeInfo{fn: ln.Function, line: ln.Line})
						} else {
							id = ns.lineID(p, loc, ln, g, &nameBuf, nodeInfo{fn: ln.Function, line: ln.Line})
						}
						fnName[ln.Function] = id
					}
					v.nodes = append(v.nodes, id)
					continue
				}
				v.nodes = append(v.nodes, ns.lineID(p, loc, ln, g, &nameBuf, nodeInfo{fn: ln.Function, line: ln.Line}))
			}
		}
		if v.sfStart != nil {
			// filterShowFromLocation: a matching mapping keeps all lines;
			// otherwise the lines above the outermost match go, from the
			// location itself (so from every sample through it, not only
			// those it is the outermost match of).
			if loc.Mapping >= 0 && r.showFrom.MatchString(mappingFile) {
				sf = 0
			}
			if sf > 0 {
				v.nodes = append(v.nodes[:start], v.nodes[start+int(sf):]...)
				sf = 0
			}
			v.sfStart[li] = sf
		}
		v.nodeOff[li+1] = int32(len(v.nodes))
	}
	v.first = make([]bool, len(v.nodes))
	v.one = make([]int32, len(p.Locations))
	for li := range p.Locations {
		a, b := v.nodeOff[li], v.nodeOff[li+1]
		switch {
		case a == b:
			v.one[li] = -2
		case b-a == 1:
			v.one[li] = v.nodes[a]
		default:
			v.one[li] = -1
		}
		if a < b {
			v.first[a] = true
		}
	}
	return v
}

func (p *Profile) lineMatches(ln Line, re *regexp.Regexp) bool {
	if ln.Function < 0 {
		return false
	}
	f := &p.Functions[ln.Function]
	return re.MatchString(f.Name) || re.MatchString(f.Filename)
}

func (p *Profile) locationMatches(loc *Location, re *regexp.Regexp) bool {
	for _, ln := range loc.Lines {
		if p.lineMatches(ln, re) {
			return true
		}
	}
	return loc.Mapping >= 0 && re.MatchString(p.Mappings[loc.Mapping].File)
}

// cleanFile is the file name pprof prints: filepath.Clean
// (internal/graph.nodeInfo) after trimming /proc/self/cwd/
// (internal/report.trimPath, with no -trim_path or -source_path).
func cleanFile(name string) string {
	if name == "" {
		return ""
	}
	name = strings.TrimPrefix(name, "/proc/self/cwd/./")
	name = strings.TrimPrefix(name, "/proc/self/cwd/")
	return filepath.Clean(name)
}

// locationName returns the key of the node of line ln of loc at
// granularity g, and the length of its name, pprof's
// NodeInfo.PrintableName after aggregation (internal/graph.nodeInfo and
// NameComponents), built in *buf (scratch space reused between calls).
// pprof keys nodes by their whole NodeInfo: when a frame has no function
// name (unsymbolized, or at file granularity) that includes the binary
// and the function's start line, so -files has one row per function, each
// named by its file. The key appends them after the name.
func (p *Profile) locationName(loc *Location, ln Line, g Granularity, buf *[]byte) ([]byte, int) {
	var name, file string
	if ln.Function >= 0 {
		f := &p.Functions[ln.Function]
		if g != Files {
			name = f.Name
		}
		if g != Functions {
			file = cleanFile(f.Filename)
		}
	}
	b := (*buf)[:0]
	if g == Addresses && loc.Address != 0 {
		b = fmt.Appendf(b, "%016x", loc.Address)
	}
	add := func(s string) {
		if len(b) > 0 {
			b = append(b, ' ')
		}
		b = append(b, s...)
	}
	if name != "" {
		add(name)
	}
	switch {
	case (g == Lines || g == Addresses) && ln.Line != 0 && ln.Function >= 0:
		add(file)
		b = append(b, ':')
		b = fmt.Appendf(b, "%d", ln.Line)
	case file != "":
		add(file)
	case name != "":
	case loc.Mapping >= 0 && p.Mappings[loc.Mapping].File != "":
		add("[" + filepath.Base(p.Mappings[loc.Mapping].File) + "]")
	default:
		add("<unknown>")
	}
	n := len(b)
	if name == "" {
		b = append(b, 0)
		if ln.Function >= 0 {
			b = fmt.Appendf(b, "%d", p.Functions[ln.Function].StartLine)
		}
		b = append(b, 0)
		if loc.Mapping >= 0 {
			b = append(b, p.Mappings[loc.Mapping].File...)
		}
	}
	*buf = b
	return b, n
}

// selected reports whether sample s passes the sample filters: focus and
// ignore, and the tag filters. (Hide, show and show_from can leave a
// sample without frames; start reports that.)
func (v *view) selected(s int) bool {
	if v.verdict != nil {
		focused := false
		for _, l := range v.p.Stack(s) {
			switch v.verdict[l] {
			case -1:
				return false
			case 1:
				focused = true
			}
		}
		if !focused {
			return false
		}
	}
	if v.r.tagFocus != nil || v.r.tagIgnore != nil {
		return v.r.tags(v.p.Labels(s))
	}
	return true
}

// A cursor is a position in a sample's path: k indexes Profile.stack (the
// location), e indexes view.nodes (the frame within it).
type cursor struct{ k, e int32 }

// start returns the root-most frame of sample s's path, and false when the
// path is empty (every frame hidden, or no frame matching -show_from).
func (v *view) start(s int) (cursor, bool) {
	p := v.p
	lo, hi := int32(p.stackOff[s]), int32(p.stackOff[s+1])
	for k := hi - 1; k >= lo; k-- {
		l := p.stack[k]
		a, b := v.nodeOff[l], v.nodeOff[l+1]
		if a == b {
			continue // hidden
		}
		if v.sfStart == nil {
			return cursor{k, a}, true
		}
		if sf := v.sfStart[l]; sf >= 0 {
			return cursor{k, a + sf}, true
		}
	}
	return cursor{}, false
}

// leaf returns the innermost frame of sample s's path.
func (v *view) leaf(s int) (cursor, bool) {
	p := v.p
	lo, hi := int32(p.stackOff[s]), int32(p.stackOff[s+1])
	for k := lo; k < hi; k++ {
		l := p.stack[k]
		if a, b := v.nodeOff[l], v.nodeOff[l+1]; a < b {
			return cursor{k, b - 1}, true
		}
	}
	return cursor{}, false
}

// down moves c one frame toward the leaf of sample s; false past the leaf.
func (v *view) down(s int, c cursor) (cursor, bool) {
	c.e++
	l := v.p.stack[c.k]
	if c.e < v.nodeOff[l+1] {
		return c, true
	}
	lo := int32(v.p.stackOff[s])
	for c.k--; c.k >= lo; c.k-- {
		l := v.p.stack[c.k]
		if a := v.nodeOff[l]; a < v.nodeOff[l+1] {
			c.e = a
			return c, true
		}
	}
	return c, false
}

// up moves c one frame toward the root of sample s, stopping at stop (the
// path's root-most frame); false past it.
func (v *view) up(c, stop cursor) (cursor, bool) {
	if c == stop {
		return c, false
	}
	l := v.p.stack[c.k]
	if c.e > v.nodeOff[l] {
		c.e--
		return c, true
	}
	for c.k++; ; c.k++ {
		l := v.p.stack[c.k]
		if a, b := v.nodeOff[l], v.nodeOff[l+1]; a < b {
			c.e = b - 1
			return c, true
		}
	}
}

// frames appends sample s's frames (view.nodes indices), root first, to
// buf. It returns false when the sample is filtered out or has no frames.
func (v *view) frames(s int, buf []int32) ([]int32, bool) {
	if !v.selected(s) {
		return buf, false
	}
	c, ok := v.start(s)
	if !ok {
		return buf, false
	}
	p := v.p
	l := p.stack[c.k]
	for e := c.e; e < v.nodeOff[l+1]; e++ {
		buf = append(buf, e)
	}
	lo := int32(p.stackOff[s])
	for k := c.k - 1; k >= lo; k-- {
		l := p.stack[k]
		for e := v.nodeOff[l]; e < v.nodeOff[l+1]; e++ {
			buf = append(buf, e)
		}
	}
	return buf, true
}

// path appends sample s's nodes, root first, to buf. It returns false when
// the sample is filtered out or has no frames.
func (v *view) path(s int, buf []int32) ([]int32, bool) {
	if !v.selected(s) {
		return buf, false
	}
	c, ok := v.start(s)
	if !ok {
		return buf, false
	}
	p := v.p
	buf = append(buf, v.nodes[c.e:v.nodeOff[p.stack[c.k]+1]]...)
	stack := p.stack[p.stackOff[s]:c.k]
	for k := len(stack) - 1; k >= 0; k-- {
		l := stack[k]
		if n := v.one[l]; n >= 0 {
			buf = append(buf, n)
		} else if n == -1 {
			buf = append(buf, v.nodes[v.nodeOff[l]:v.nodeOff[l+1]]...)
		}
	}
	return buf, true
}

// weight is sample s's value of the selected type.
func (v *view) weight(s int) int64 {
	return v.p.values[s*len(v.p.SampleTypes)+v.vi]
}
