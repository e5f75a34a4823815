package profile

import (
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"strings"
)

// Granularity says what one node of a top table or flame tree stands for.
type Granularity int

const (
	Functions Granularity = iota // one node per function (pprof's default)
	Files                        // one node per source file
	Lines                        // one node per function and source line
)

// ParseGranularity accepts "functions", "files" and "lines" (and the
// singular forms).
func ParseGranularity(s string) (Granularity, error) {
	switch strings.TrimSuffix(strings.ToLower(s), "s") {
	case "", "function":
		return Functions, nil
	case "file":
		return Files, nil
	case "line":
		return Lines, nil
	}
	return 0, fmt.Errorf("granularity %q: want functions, files or lines", s)
}

func (g Granularity) String() string {
	switch g {
	case Files:
		return "files"
	case Lines:
		return "lines"
	}
	return "functions"
}

// Options select what is aggregated. The regular expressions behave like
// pprof's -focus, -ignore, -hide and -show: they match a location's function
// names, source file names or mapping file; focus keeps samples with a
// matching frame, ignore drops them, hide removes matching frames from
// stacks, show keeps only matching frames. As in pprof (without
// -relative_percentages), percentages stay relative to the unfiltered total.
type Options struct {
	SampleIndex string // sample type name or number; "" is the default type
	Granularity Granularity
	Focus       string
	Ignore      string
	Hide        string
	Show        string
}

type filters struct {
	focus, ignore, hide, show *regexp.Regexp
}

func (f filters) any() bool {
	return f.focus != nil || f.ignore != nil || f.hide != nil || f.show != nil
}

func compileFilters(o Options) (filters, error) {
	var f filters
	for _, c := range []struct {
		name string
		expr string
		dst  **regexp.Regexp
	}{{"focus", o.Focus, &f.focus}, {"ignore", o.Ignore, &f.ignore}, {"hide", o.Hide, &f.hide}, {"show", o.Show, &f.show}} {
		if c.expr == "" {
			continue
		}
		re, err := regexp.Compile(c.expr)
		if err != nil {
			return f, fmt.Errorf("parse %s regexp: %w", c.name, err)
		}
		*c.dst = re
	}
	return f, nil
}

// nodeSet interns node names so that several profiles (a diff) share node
// numbers.
type nodeSet struct {
	names []string
	index map[string]int32
}

func newNodeSet() *nodeSet { return &nodeSet{index: map[string]int32{}} }

func (ns *nodeSet) id(name string) int32 {
	if i, ok := ns.index[name]; ok {
		return i
	}
	i := int32(len(ns.names))
	ns.names = append(ns.names, name)
	ns.index[name] = i
	return i
}

// view is a profile prepared for one aggregation: each location's nodes at
// the chosen granularity (outermost frame first, after -hide/-show) and its
// focus/ignore verdict.
type view struct {
	p       *Profile
	vi      int // sample value index
	nodes   []int32
	nodeOff []int32
	verdict []int8 // +1 focused, -1 ignored, 0 neither
	filter  bool   // any filter set: apply pprof's sample selection
}

func (ns *nodeSet) prepare(p *Profile, vi int, g Granularity, f filters) *view {
	v := &view{p: p, vi: vi, filter: f.any(), nodeOff: make([]int32, len(p.Locations)+1)}
	if v.filter {
		v.verdict = make([]int8, len(p.Locations))
	}
	// Names are cached per function: most functions appear in many
	// locations.
	fnName := make([]int32, len(p.Functions))
	for i := range fnName {
		fnName[i] = -1
	}
	for li := range p.Locations {
		loc := &p.Locations[li]
		if v.filter {
			switch {
			case f.ignore != nil && p.locationMatches(loc, f.ignore):
				v.verdict[li] = -1
			case f.focus == nil || p.locationMatches(loc, f.focus):
				v.verdict[li] = 1
			}
		}
		hideAll := f.hide != nil && loc.Mapping >= 0 && f.hide.MatchString(p.Mappings[loc.Mapping].File)
		if !hideAll {
			if len(loc.Lines) == 0 {
				if f.show == nil {
					v.nodes = append(v.nodes, ns.id(p.locationName(loc, Line{Function: -1}, g)))
				}
			}
			for j := len(loc.Lines) - 1; j >= 0; j-- {
				ln := loc.Lines[j]
				if f.hide != nil && p.lineMatches(ln, f.hide) {
					continue
				}
				if f.show != nil && !p.lineMatches(ln, f.show) {
					continue
				}
				if g == Functions && ln.Function >= 0 {
					id := fnName[ln.Function]
					if id < 0 {
						id = ns.id(p.locationName(loc, ln, g))
						fnName[ln.Function] = id
					}
					v.nodes = append(v.nodes, id)
					continue
				}
				v.nodes = append(v.nodes, ns.id(p.locationName(loc, ln, g)))
			}
		}
		v.nodeOff[li+1] = int32(len(v.nodes))
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

// locationName is pprof's NodeInfo.PrintableName after aggregation at
// granularity g (internal/graph.nodeInfo and NameComponents).
func (p *Profile) locationName(loc *Location, ln Line, g Granularity) string {
	var name, file string
	if ln.Function >= 0 {
		f := &p.Functions[ln.Function]
		if g != Files {
			name = f.Name
		}
		if g != Functions && f.Filename != "" {
			file = filepath.Clean(f.Filename)
		}
	}
	var parts []string
	if name != "" {
		parts = append(parts, name)
	}
	switch {
	case g == Lines && ln.Line != 0:
		parts = append(parts, fmt.Sprintf("%s:%d", file, ln.Line))
	case file != "":
		parts = append(parts, file)
	case name != "":
	case loc.Mapping >= 0 && p.Mappings[loc.Mapping].File != "":
		parts = append(parts, "["+filepath.Base(p.Mappings[loc.Mapping].File)+"]")
	default:
		parts = append(parts, "<unknown>")
	}
	return strings.Join(parts, " ")
}

// path appends sample i's nodes, root first, to buf. It returns false when
// the sample is filtered out (pprof's FilterSamplesByName).
func (v *view) path(i int, buf []int32) ([]int32, bool) {
	stack := v.p.Stack(i)
	if v.filter {
		focused := false
		for _, l := range stack {
			switch v.verdict[l] {
			case -1:
				return buf, false
			case 1:
				focused = true
			}
		}
		if !focused {
			return buf, false
		}
	}
	for k := len(stack) - 1; k >= 0; k-- {
		l := stack[k]
		buf = append(buf, v.nodes[v.nodeOff[l]:v.nodeOff[l+1]]...)
	}
	if v.filter && len(buf) == 0 {
		// All frames hidden: pprof drops the sample.
		return buf, false
	}
	return buf, true
}

// weigher turns a raw sample value into the value aggregated: identity,
// negation for a diff base, or pprof's -normalize scaling.
type weigher struct {
	ratio  float64 // 1: unscaled
	negate bool
}

func (w weigher) weight(v int64) int64 {
	if w.ratio != 1 {
		v = int64(math.Round(float64(v) * w.ratio))
	}
	if w.negate {
		v = -v
	}
	return v
}

// accum holds flat and cum per node for one side of an aggregation, plus
// hits (how many samples' worth of the count type passed through the node),
// used for the diff noise floor.
type accum struct {
	flat, cum, hits []int64
	seen            []uint32
	gen             uint32
	leafSum         int64 // sum of flat: pprof's g.Nodes.Sum() flat total
}

func (a *accum) grow(n int) {
	for len(a.flat) < n {
		a.flat = append(a.flat, 0)
		a.cum = append(a.cum, 0)
		a.hits = append(a.hits, 0)
		a.seen = append(a.seen, 0)
	}
}

// add accumulates every sample of v. Cum is added once per node per sample
// however often the node recurs in the stack (pprof's graph.newGraph rule);
// flat goes to the leaf.
func (a *accum) add(v *view, w weigher, nnodes int, hitIndex int) {
	a.grow(nnodes)
	p := v.p
	nv := len(p.SampleTypes)
	var buf []int32
	for i := range p.NumSamples() {
		raw := p.values[i*nv+v.vi]
		wt := w.weight(raw)
		if wt == 0 {
			continue
		}
		var ok bool
		buf, ok = v.path(i, buf[:0])
		if !ok || len(buf) == 0 {
			continue
		}
		var hit int64 = 1
		if hitIndex >= 0 {
			hit = p.values[i*nv+hitIndex]
		}
		a.gen++
		if a.gen == 0 {
			clear(a.seen)
			a.gen = 1
		}
		for _, n := range buf {
			if a.seen[n] != a.gen {
				a.seen[n] = a.gen
				a.cum[n] += wt
				a.hits[n] += hit
			}
		}
		a.flat[buf[len(buf)-1]] += wt
		a.leafSum += wt
	}
}

// total is pprof's report total (internal/report.computeTotal): the sum of
// absolute values of the selected type over all samples, before filters.
func total(p *Profile, vi int, w weigher) int64 {
	nv := len(p.SampleTypes)
	var t int64
	for i := range p.NumSamples() {
		v := w.weight(p.values[i*nv+vi])
		if v < 0 {
			v = -v
		}
		t += v
	}
	return t
}

// hitIndex picks the sample type that counts events for the noise floor:
// the selected type if it is a count, else the matching *_objects type, else
// -1 (count sample records).
func hitIndex(p *Profile, vi int) int {
	if p.SampleTypes[vi].Unit == "count" {
		return vi
	}
	if prefix, ok := strings.CutSuffix(p.SampleTypes[vi].Type, "_space"); ok {
		for i, t := range p.SampleTypes {
			if t.Type == prefix+"_objects" {
				return i
			}
		}
	}
	for i, t := range p.SampleTypes {
		if t.Unit == "count" {
			return i
		}
	}
	return -1
}
