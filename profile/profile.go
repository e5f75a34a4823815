// Package profile is gotune's analysis core for pprof profiles and goroutine
// dumps. It owns the data model of a decoded profile, the aggregations every
// view is built from (top tables, call trees, peek, source listings, diffs,
// goroutine groups, folded stacks) and the formatting of their values. It
// does no I/O beyond reading an io.Reader it is handed (source text for
// listings comes through the Sources interface; profile/sources finds it).
//
// The layering follows google/pprof:
//
//   - model: Profile and Parse (wire.go, decoder.go, convert.go);
//   - refine: Options, one set of pprof's filters (focus, ignore, hide,
//     show, show_from, tag filters) and a granularity, compiled once into a
//     view (options.go, view.go) that every aggregation reads samples
//     through, so every view filters alike;
//   - aggregate: NewTop, NewTree (the flame graph as flat arrays, built
//     trimmed and expanded on demand), NewPeek, NewListing, NewDiff,
//     WriteFolded, GroupGoroutines;
//   - format: FormatValue, Percent and the WriteText methods, which print
//     what `go tool pprof` prints.
//
// Numbers agree with `go tool pprof` on the same input: totals, flat and cum
// per node, edges, per-line values, the node-fraction trimming and the
// orderings follow its internal/graph and internal/report rules, which are
// cited next to the code that re-creates them, and the agreement tests hold
// them against go tool pprof's own output.
//
// Parse does not build a *github.com/google/pprof/profile.Profile: on a large
// heap profile that costs seconds and hundreds of megabytes. It decodes the
// protobuf wire format directly into compact arrays and falls back to
// profile.ParseData only for the legacy text formats.
package profile

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// ValueType describes one sample value: "inuse_space"/"bytes",
// "cpu"/"nanoseconds", "goroutine"/"count".
type ValueType struct {
	Type string `json:"type"`
	Unit string `json:"unit"`
}

func (v ValueType) String() string { return v.Type + "/" + v.Unit }

// Mapping is a binary or shared library mapped into the profiled process.
// Start, Limit, Offset and the Has flags are kept so a profile gotune
// writes (Delta) tells go tool pprof what the target's did.
type Mapping struct {
	File    string
	BuildID string

	Start, Limit, Offset                                        uint64
	HasFunctions, HasFilenames, HasLineNumbers, HasInlineFrames bool
}

// Function is a symbolized function.
type Function struct {
	Name       string
	SystemName string
	Filename   string
	StartLine  int64
}

// Line is one (possibly inlined) frame of a Location. Function is an index
// into Profile.Functions, or -1 when the location is not symbolized.
type Line struct {
	Function int32
	Line     int64
}

// Location is a program counter with the frames it stands for. Lines[0] is
// the innermost (inlined) frame, the last line the outermost caller, as in
// the pprof proto.
type Location struct {
	Address uint64
	Mapping int32 // index into Profile.Mappings, or -1
	Lines   []Line
}

// Label is a string label attached to a sample (pprof.Do labels on goroutine
// and CPU profiles, "pprof::base" on diff bases).
type Label struct {
	Key, Value string
}

// Profile is a decoded pprof profile. Samples are held in flat arrays rather
// than one struct per sample so that a 500,000-sample heap profile stays a few
// tens of megabytes; read them through NumSamples, Stack, Values and Labels.
type Profile struct {
	SampleTypes       []ValueType
	DefaultSampleType string
	PeriodType        ValueType
	Period            int64
	TimeNanos         int64
	DurationNanos     int64
	Comments          []string
	Mappings          []Mapping
	Functions         []Function
	Locations         []Location

	// Sample i has locations stack[stackOff[i]:stackOff[i+1]] (indices into
	// Locations, leaf first) and values values[i*nv:(i+1)*nv].
	stack    []uint32
	stackOff []uint32
	values   []int64
	// labelOff is nil when no sample has string labels.
	labelOff []uint32
	labels   []Label

	footprint int64 // Footprint, set when decoded
}

// Footprint is the memory the decoded profile holds, estimated from its
// arrays (64-bit sizes): what the Held budget counts for it.
func (p *Profile) Footprint() int64 {
	if p == nil {
		return 0
	}
	if p.footprint == 0 {
		p.footprint = footprint(p)
	}
	return p.footprint
}

// NumSamples returns the number of samples.
func (p *Profile) NumSamples() int {
	if len(p.stackOff) == 0 {
		return 0
	}
	return len(p.stackOff) - 1
}

// Stack returns sample i's location indices, leaf first. The slice is shared:
// do not modify it.
func (p *Profile) Stack(i int) []uint32 { return p.stack[p.stackOff[i]:p.stackOff[i+1]] }

// Values returns sample i's values, one per SampleTypes entry. Shared slice.
func (p *Profile) Values(i int) []int64 {
	nv := len(p.SampleTypes)
	return p.values[i*nv : (i+1)*nv]
}

// Labels returns sample i's string labels. Shared slice.
func (p *Profile) Labels(i int) []Label {
	if p.labelOff == nil {
		return nil
	}
	return p.labels[p.labelOff[i]:p.labelOff[i+1]]
}

// HasLabels reports whether any sample carries a string label.
func (p *Profile) HasLabels() bool { return len(p.labels) > 0 }

// SampleIndex resolves a sample type name the way `go tool pprof
// -sample_index` does: "" is the profile's default sample type (else the last
// one), a number is an index, "inuse_space" also matches "space".
func (p *Profile) SampleIndex(name string) (int, error) {
	if len(p.SampleTypes) == 0 {
		return 0, fmt.Errorf("profile has no sample types")
	}
	if name == "" {
		if d := p.DefaultSampleType; d != "" {
			for i, t := range p.SampleTypes {
				if t.Type == d {
					return i, nil
				}
			}
		}
		return len(p.SampleTypes) - 1, nil
	}
	if i, err := strconv.Atoi(name); err == nil {
		if i < 0 || i >= len(p.SampleTypes) {
			return 0, fmt.Errorf("sample index %s is outside the range [0..%d]", name, len(p.SampleTypes)-1)
		}
		return i, nil
	}
	noInuse := strings.TrimPrefix(name, "inuse_")
	for i, t := range p.SampleTypes {
		if t.Type == name || t.Type == noInuse {
			return i, nil
		}
	}
	return 0, fmt.Errorf("sample index %q must be one of: %s", name, strings.Join(p.SampleTypeNames(), ", "))
}

// SampleTypeNames lists the sample types' names.
func (p *Profile) SampleTypeNames() []string {
	names := make([]string, len(p.SampleTypes))
	for i, t := range p.SampleTypes {
		names[i] = t.Type
	}
	return names
}

// Kind guesses what profile this is from its sample types: CPU, Heap,
// Allocs, Goroutine, Mutex, Block, ThreadCreate, or "" when unknown.
// Allocs and heap profiles share sample types; the allocs endpoint sets
// alloc_space as the default sample type.
func (p *Profile) Kind() Kind {
	has := func(t string) bool {
		for _, st := range p.SampleTypes {
			if st.Type == t {
				return true
			}
		}
		return false
	}
	switch {
	case has("cpu"):
		return KindCPU
	case has("inuse_space"):
		if p.DefaultSampleType == "alloc_space" {
			return KindAllocs
		}
		return KindHeap
	case has("goroutine"):
		return KindGoroutine
	case has("threadcreate"):
		return KindThreadCreate
	case has("contentions"):
		// Mutex and block profiles share sample and period types. Mutex
		// profiles record where a contended lock is released, so their
		// leaves are Unlock functions; block profiles record where
		// goroutines blocked (Lock, chanrecv, selectgo, Wait).
		if p.leafMatches(func(name string) bool { return strings.Contains(name, "nlock") }) {
			return KindMutex
		}
		return KindBlock
	}
	return ""
}

// leafMatches reports whether the innermost frame of some sample satisfies f.
func (p *Profile) leafMatches(f func(name string) bool) bool {
	for i := range p.NumSamples() {
		st := p.Stack(i)
		if len(st) == 0 {
			continue
		}
		loc := &p.Locations[st[0]]
		if len(loc.Lines) > 0 && loc.Lines[0].Function >= 0 && f(p.Functions[loc.Lines[0].Function].Name) {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
