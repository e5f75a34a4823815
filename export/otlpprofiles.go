package export

import (
	"crypto/rand"
	"fmt"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pprofile"

	"github.com/gotune/gotune/profile"
)

// scopeName is the instrumentation scope of everything gotune exports.
const scopeName = "github.com/gotune/gotune/export"

// ProfilesToOTLP converts a captured pprof profile to OTLP profiles (the
// pdata/pprofile v0.165.0 data model, OTLP profiles v1development): one
// Profile per pprof sample type, all sharing one dictionary. Every table of
// the dictionary keeps its reserved zero entry at index 0, as the proto
// requires. Samples whose value is zero for a sample type are left out of
// that type's Profile (they add nothing to its totals); pprof string labels
// become sample attributes.
//
// It returns the number of samples written, summed over sample types.
func ProfilesToOTLP(c *profile.Captured, o Origin) (pprofile.Profiles, int64, error) {
	p := c.Profile
	if p == nil {
		var err error
		if p, err = profile.ParseBytes(c.Raw); err != nil {
			return pprofile.Profiles{}, 0, fmt.Errorf("parse %s profile: %w", c.Kind, err)
		}
	}
	out := pprofile.NewProfiles()
	b := newDictBuilder(out.Dictionary())

	rp := out.ResourceProfiles().AppendEmpty()
	setResource(rp.Resource().Attributes(), o)
	sp := rp.ScopeProfiles().AppendEmpty()
	sp.Scope().SetName(scopeName)

	// Functions, mappings and locations once for all sample types.
	fnIdx := make([]int32, len(p.Functions))
	for i, f := range p.Functions {
		fn := b.dict.FunctionTable().AppendEmpty()
		fn.SetNameStrindex(b.str(f.Name))
		fn.SetSystemNameStrindex(b.str(f.SystemName))
		fn.SetFilenameStrindex(b.str(f.Filename))
		fn.SetStartLine(f.StartLine)
		fnIdx[i] = int32(b.dict.FunctionTable().Len() - 1)
	}
	mapIdx := make([]int32, len(p.Mappings))
	for i, m := range p.Mappings {
		mp := b.dict.MappingTable().AppendEmpty()
		mp.SetFilenameStrindex(b.str(m.File))
		if m.BuildID != "" {
			mp.AttributeIndices().Append(b.attr("process.executable.build_id.go", m.BuildID))
		}
		mapIdx[i] = int32(b.dict.MappingTable().Len() - 1)
	}
	locIdx := make([]int32, len(p.Locations))
	for i, l := range p.Locations {
		loc := b.dict.LocationTable().AppendEmpty()
		loc.SetAddress(l.Address)
		if l.Mapping >= 0 && int(l.Mapping) < len(mapIdx) {
			loc.SetMappingIndex(mapIdx[l.Mapping])
		}
		for _, ln := range l.Lines {
			line := loc.Lines().AppendEmpty()
			if ln.Function >= 0 && int(ln.Function) < len(fnIdx) {
				line.SetFunctionIndex(fnIdx[ln.Function])
			}
			line.SetLine(ln.Line)
		}
		locIdx[i] = int32(b.dict.LocationTable().Len() - 1)
	}

	// Stacks and label sets once per sample.
	n := p.NumSamples()
	stackIdx := make([]int32, n)
	stacks := map[string]int32{}
	var key []byte
	for i := range n {
		st := p.Stack(i)
		key = key[:0]
		for _, li := range st {
			key = strconv.AppendUint(key, uint64(li), 36)
			key = append(key, ',')
		}
		idx, ok := stacks[string(key)]
		if !ok {
			s := b.dict.StackTable().AppendEmpty()
			for _, li := range st {
				s.LocationIndices().Append(locIdx[li])
			}
			idx = int32(b.dict.StackTable().Len() - 1)
			stacks[string(key)] = idx
		}
		stackIdx[i] = idx
	}
	var labelIdx [][]int32
	if p.HasLabels() {
		labelIdx = make([][]int32, n)
		for i := range n {
			for _, l := range p.Labels(i) {
				labelIdx[i] = append(labelIdx[i], b.attr(l.Key, l.Value))
			}
		}
	}

	start, dur := profileSpan(c, p)
	id := newProfileID()
	var written int64
	for t, vt := range p.SampleTypes {
		prof := sp.Profiles().AppendEmpty()
		prof.SampleType().SetTypeStrindex(b.str(vt.Type))
		prof.SampleType().SetUnitStrindex(b.str(vt.Unit))
		prof.PeriodType().SetTypeStrindex(b.str(p.PeriodType.Type))
		prof.PeriodType().SetUnitStrindex(b.str(p.PeriodType.Unit))
		prof.SetPeriod(p.Period)
		prof.SetTime(pcommon.NewTimestampFromTime(start))
		prof.SetDurationNano(uint64(max(dur, 0)))
		pid := id
		pid[15] ^= byte(t) // one ID per sample type, same capture
		prof.SetProfileID(pid)
		prof.AttributeIndices().Append(b.attr("gotune.profile.kind", string(c.Kind)))
		if c.Scope != "" {
			prof.AttributeIndices().Append(b.attr("gotune.profile.scope", string(c.Scope)))
		}
		if t == defaultIndex(p) {
			prof.AttributeIndices().Append(b.attr("gotune.profile.default_sample_type", "true"))
		}
		samples := prof.Samples()
		samples.EnsureCapacity(n)
		for i := range n {
			v := p.Values(i)[t]
			if v == 0 {
				continue
			}
			s := samples.AppendEmpty()
			s.SetStackIndex(stackIdx[i])
			s.Values().Append(v)
			if labelIdx != nil {
				s.AttributeIndices().Append(labelIdx[i]...)
			}
			written++
		}
	}
	return out, written, nil
}

func defaultIndex(p *profile.Profile) int {
	i, err := p.SampleIndex("")
	if err != nil {
		return -1
	}
	return i
}

// profileSpan is when the profile's values start and how long they cover:
// the capture's From/To, else the profile's own time and duration.
func profileSpan(c *profile.Captured, p *profile.Profile) (time.Time, int64) {
	if !c.From.IsZero() && !c.To.IsZero() {
		return c.From, c.To.Sub(c.From).Nanoseconds()
	}
	if p.TimeNanos > 0 {
		return time.Unix(0, p.TimeNanos), p.DurationNanos
	}
	if !c.To.IsZero() {
		return c.To, 0
	}
	return c.FetchedAt, 0
}

func newProfileID() pprofile.ProfileID {
	var id pprofile.ProfileID
	_, _ = rand.Read(id[:])
	return id
}

// dictBuilder interns strings and attributes into a dictionary whose
// tables start with their reserved zero entries.
type dictBuilder struct {
	dict  pprofile.ProfilesDictionary
	strs  map[string]int32
	attrs map[[2]string]int32
}

func newDictBuilder(d pprofile.ProfilesDictionary) *dictBuilder {
	d.StringTable().Append("")
	d.MappingTable().AppendEmpty()
	d.LocationTable().AppendEmpty()
	d.FunctionTable().AppendEmpty()
	d.LinkTable().AppendEmpty()
	d.AttributeTable().AppendEmpty()
	d.StackTable().AppendEmpty()
	return &dictBuilder{dict: d, strs: map[string]int32{"": 0}, attrs: map[[2]string]int32{}}
}

func (b *dictBuilder) str(s string) int32 {
	if i, ok := b.strs[s]; ok {
		return i
	}
	b.dict.StringTable().Append(s)
	i := int32(b.dict.StringTable().Len() - 1)
	b.strs[s] = i
	return i
}

func (b *dictBuilder) attr(k, v string) int32 {
	if i, ok := b.attrs[[2]string{k, v}]; ok {
		return i
	}
	a := b.dict.AttributeTable().AppendEmpty()
	a.SetKeyStrindex(b.str(k))
	a.Value().SetStr(v)
	i := int32(b.dict.AttributeTable().Len() - 1)
	b.attrs[[2]string{k, v}] = i
	return i
}

// setResource writes an Origin as OpenTelemetry resource attributes
// (semantic conventions for service, host and process; gotune's own
// labels under gotune.*).
func setResource(m pcommon.Map, o Origin) {
	m.PutStr("service.name", o.service())
	if h := o.host(); h != "" {
		m.PutStr("host.name", h)
	}
	if o.Target.PID > 0 {
		m.PutInt("process.pid", int64(o.Target.PID))
	}
	m.PutStr("process.runtime.name", "go")
	if o.Target.GoVersion != "" {
		m.PutStr("process.runtime.version", o.Target.GoVersion)
	}
	if o.Target.Command != "" {
		m.PutStr("process.command_line", o.Target.Command)
	}
	if o.GOGC != "" {
		m.PutStr("gotune.gogc", o.GOGC)
	}
	if o.Trigger != "" {
		m.PutStr("gotune.trigger", o.Trigger)
	}
	if o.Phase != "" {
		m.PutStr("gotune.phase", o.Phase)
	}
	for k, v := range o.Extra {
		m.PutStr(k, v)
	}
}
