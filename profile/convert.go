package profile

// Conversion of the decoder's raw records (and of google/pprof profiles)
// into the model: IDs become slice indices, string indices become strings.

import (
	"errors"
	"fmt"
	"iter"

	pprof "github.com/google/pprof/profile"
)

// idIndex maps pprof IDs (usually 1..n) to slice indices.
type idIndex struct {
	dense  []int32
	sparse map[uint64]int32
}

func newIDIndex(n int, ids iter.Seq[uint64]) (idIndex, error) {
	var x idIndex
	dense := true
	for v := range ids {
		if v == 0 || v > uint64(4*n+16) {
			dense = false
			break
		}
	}
	if dense {
		x.dense = make([]int32, 4*n+17)
		for i := range x.dense {
			x.dense[i] = -1
		}
		i := int32(0)
		for v := range ids {
			if x.dense[v] >= 0 {
				return x, fmt.Errorf("duplicate ID %d", v)
			}
			x.dense[v] = i
			i++
		}
		return x, nil
	}
	x.sparse = make(map[uint64]int32, n)
	i := int32(0)
	for v := range ids {
		if v == 0 {
			return x, errors.New("ID 0 is reserved")
		}
		if _, dup := x.sparse[v]; dup {
			return x, fmt.Errorf("duplicate ID %d", v)
		}
		x.sparse[v] = i
		i++
	}
	return x, nil
}

// idsOf yields the IDs of records in a table.
func idsOf[T any](all iter.Seq2[int, *T], id func(*T) uint64) iter.Seq[uint64] {
	return func(yield func(uint64) bool) {
		for _, r := range all {
			if !yield(id(r)) {
				return
			}
		}
	}
}

func (x idIndex) get(id uint64) int32 {
	if x.dense != nil {
		if id < uint64(len(x.dense)) {
			return x.dense[id]
		}
		return -1
	}
	if i, ok := x.sparse[id]; ok {
		return i
	}
	return -1
}

func (d *decoder) finish() (*Profile, error) {
	p := d.p
	if len(d.strs) == 0 || d.strs[0] != "" {
		return nil, errors.New("string table is missing or does not start with the empty string")
	}
	var err error
	vt := func(v [2]int64) (ValueType, error) {
		t, err := d.str(v[0])
		if err != nil {
			return ValueType{}, err
		}
		u, err := d.str(v[1])
		return ValueType{Type: t, Unit: u}, err
	}
	for _, st := range d.sampleTypes {
		t, err := vt(st)
		if err != nil {
			return nil, err
		}
		p.SampleTypes = append(p.SampleTypes, t)
	}
	if p.PeriodType, err = vt(d.periodType); err != nil {
		return nil, err
	}
	if p.DefaultSampleType, err = d.str(d.defaultType); err != nil {
		return nil, err
	}
	for _, c := range d.comments {
		s, err := d.str(c)
		if err != nil {
			return nil, err
		}
		p.Comments = append(p.Comments, s)
	}
	if n := p.NumSamples(); n > 0 && d.nvals != len(p.SampleTypes) {
		return nil, fmt.Errorf("samples have %d values, profile has %d sample types", d.nvals, len(p.SampleTypes))
	}

	mapIdx, err := newIDIndex(len(d.maps), idsOf(indexed(d.maps), func(m *rawMapping) uint64 { return m.id }))
	if err != nil {
		return nil, fmt.Errorf("mapping: %w", err)
	}
	p.Mappings = make([]Mapping, len(d.maps))
	for i, m := range d.maps {
		pm := &p.Mappings[i]
		if pm.File, err = d.str(m.filename); err != nil {
			return nil, err
		}
		if pm.BuildID, err = d.str(m.buildID); err != nil {
			return nil, err
		}
		pm.Start, pm.Limit, pm.Offset = m.start, m.limit, m.offset
		pm.HasFunctions, pm.HasFilenames, pm.HasLineNumbers, pm.HasInlineFrames = m.hasFunctions, m.hasFilenames, m.hasLineNumbers, m.hasInlineFrames
	}

	funcIdx, err := newIDIndex(d.funcs.len(), idsOf(d.funcs.all(), func(f *rawFunction) uint64 { return f.id }))
	if err != nil {
		return nil, fmt.Errorf("function: %w", err)
	}
	p.Functions = make([]Function, d.funcs.len())
	for i, f := range d.funcs.all() {
		fn := &p.Functions[i]
		if fn.Name, err = d.str(f.name); err != nil {
			return nil, err
		}
		if fn.SystemName, err = d.str(f.systemName); err != nil {
			return nil, err
		}
		if fn.Filename, err = d.str(f.filename); err != nil {
			return nil, err
		}
		fn.StartLine = f.start
	}

	locIdx, err := newIDIndex(d.locs.len(), idsOf(d.locs.all(), func(l *rawLocation) uint64 { return l.id }))
	if err != nil {
		return nil, fmt.Errorf("location: %w", err)
	}
	lines := make([]Line, d.lines.len())
	p.Locations = make([]Location, d.locs.len())
	off := 0
	for i, l := range d.locs.all() {
		loc := &p.Locations[i]
		loc.Address = l.address
		loc.Mapping = -1
		if l.mappingID != 0 {
			if loc.Mapping = mapIdx.get(l.mappingID); loc.Mapping < 0 {
				return nil, fmt.Errorf("location %d refers to unknown mapping %d", l.id, l.mappingID)
			}
		}
		loc.Lines = lines[off : off+len(l.lines) : off+len(l.lines)]
		for j, ln := range l.lines {
			loc.Lines[j] = Line{Function: -1, Line: int64(ln.line)}
			if ln.functionID != 0 {
				if loc.Lines[j].Function = funcIdx.get(ln.functionID); loc.Lines[j].Function < 0 {
					return nil, fmt.Errorf("location %d refers to unknown function %d", l.id, ln.functionID)
				}
			}
		}
		off += len(l.lines)
	}

	for i, id := range p.stack {
		x := locIdx.get(uint64(id))
		if x < 0 {
			return nil, fmt.Errorf("sample refers to unknown location %d", id)
		}
		p.stack[i] = uint32(x)
	}

	if len(d.labels) > 0 {
		n := p.NumSamples()
		p.labelOff = make([]uint32, n+1)
		p.labels = make([]Label, 0, len(d.labels))
		j := 0
		for s := range n {
			p.labelOff[s] = uint32(len(p.labels))
			for ; j < len(d.labels) && d.labels[j].sample == uint32(s); j++ {
				k, err := d.str(d.labels[j].key)
				if err != nil {
					return nil, err
				}
				v, err := d.str(d.labels[j].str)
				if err != nil {
					return nil, err
				}
				p.labels = append(p.labels, Label{Key: k, Value: v})
			}
		}
		p.labelOff[n] = uint32(len(p.labels))
	}
	if len(p.SampleTypes) == 0 {
		return nil, errors.New("profile has no sample types")
	}
	return p, nil
}

// FromPprof converts a google/pprof profile (for example one built by
// profile.Merge, or parsed from a legacy text format).
func FromPprof(pp *pprof.Profile) *Profile {
	p := &Profile{
		DefaultSampleType: pp.DefaultSampleType,
		Period:            pp.Period,
		TimeNanos:         pp.TimeNanos,
		DurationNanos:     pp.DurationNanos,
		Comments:          append([]string(nil), pp.Comments...),
		stackOff:          []uint32{0},
	}
	for _, st := range pp.SampleType {
		p.SampleTypes = append(p.SampleTypes, ValueType{st.Type, st.Unit})
	}
	if pp.PeriodType != nil {
		p.PeriodType = ValueType{pp.PeriodType.Type, pp.PeriodType.Unit}
	}
	mi := map[*pprof.Mapping]int32{}
	for i, m := range pp.Mapping {
		mi[m] = int32(i)
		p.Mappings = append(p.Mappings, Mapping{File: m.File, BuildID: m.BuildID, Start: m.Start, Limit: m.Limit, Offset: m.Offset,
			HasFunctions: m.HasFunctions, HasFilenames: m.HasFilenames, HasLineNumbers: m.HasLineNumbers, HasInlineFrames: m.HasInlineFrames})
	}
	fi := map[*pprof.Function]int32{}
	for i, f := range pp.Function {
		fi[f] = int32(i)
		p.Functions = append(p.Functions, Function{f.Name, f.SystemName, f.Filename, f.StartLine})
	}
	li := map[*pprof.Location]uint32{}
	for i, l := range pp.Location {
		li[l] = uint32(i)
		loc := Location{Address: l.Address, Mapping: -1}
		if l.Mapping != nil {
			loc.Mapping = mi[l.Mapping]
		}
		for _, ln := range l.Line {
			f := int32(-1)
			if ln.Function != nil {
				f = fi[ln.Function]
			}
			loc.Lines = append(loc.Lines, Line{Function: f, Line: ln.Line})
		}
		p.Locations = append(p.Locations, loc)
	}
	hasLabels := false
	for _, s := range pp.Sample {
		if len(s.Label) > 0 {
			hasLabels = true
		}
	}
	if hasLabels {
		p.labelOff = []uint32{0}
	}
	for _, s := range pp.Sample {
		for _, l := range s.Location {
			p.stack = append(p.stack, li[l])
		}
		p.stackOff = append(p.stackOff, uint32(len(p.stack)))
		v := s.Value
		if len(v) != len(p.SampleTypes) {
			v = make([]int64, len(p.SampleTypes))
			copy(v, s.Value)
		}
		p.values = append(p.values, v...)
		if hasLabels {
			for _, k := range sortedKeys(s.Label) {
				for _, val := range s.Label[k] {
					p.labels = append(p.labels, Label{k, val})
				}
			}
			p.labelOff = append(p.labelOff, uint32(len(p.labels)))
		}
	}
	return p
}
