package profile

import (
	"bytes"
	"testing"

	pprof "github.com/google/pprof/profile"
)

// synthSample is a sample of a synthetic profile: stack leaf first.
type synthSample struct {
	stack  []string
	values []int64
	labels map[string][]string
}

var cpuTypes = []ValueType{{"samples", "count"}, {"cpu", "nanoseconds"}}

// synth builds a gzipped pprof profile with google/pprof, one function and
// location per distinct name.
func synth(t testing.TB, types []ValueType, period ValueType, samples []synthSample) []byte {
	t.Helper()
	p := &pprof.Profile{PeriodType: &pprof.ValueType{Type: period.Type, Unit: period.Unit}, Period: 1}
	for _, st := range types {
		p.SampleType = append(p.SampleType, &pprof.ValueType{Type: st.Type, Unit: st.Unit})
	}
	m := &pprof.Mapping{ID: 1, File: "/bin/synth", HasFunctions: true}
	p.Mapping = []*pprof.Mapping{m}
	locs := map[string]*pprof.Location{}
	for _, s := range samples {
		ps := &pprof.Sample{Value: s.values, Label: s.labels}
		for _, name := range s.stack {
			l, ok := locs[name]
			if !ok {
				f := &pprof.Function{ID: uint64(len(p.Function) + 1), Name: name, SystemName: name, Filename: "/src/" + name + ".go"}
				p.Function = append(p.Function, f)
				l = &pprof.Location{ID: uint64(len(p.Location) + 1), Mapping: m, Address: uint64(0x1000 + len(p.Location)), Line: []pprof.Line{{Function: f, Line: 10}}}
				p.Location = append(p.Location, l)
				locs[name] = l
			}
			ps.Location = append(ps.Location, l)
		}
		p.Sample = append(p.Sample, ps)
	}
	if err := p.CheckValid(); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := p.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func mustParseBytes(t testing.TB, data []byte) *Profile {
	t.Helper()
	p, err := ParseBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func cpuSample(n int64, stack ...string) synthSample {
	return synthSample{stack: stack, values: []int64{n, n * 10_000_000}}
}
