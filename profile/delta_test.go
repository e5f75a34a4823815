package profile

import (
	"bytes"
	"testing"

	gpprof "github.com/google/pprof/profile"
)

// deltaFixture builds a contentions/delay profile with one sample per
// function, the values given.
func deltaFixture(t *testing.T, at int64, vals map[string][2]int64) []byte {
	t.Helper()
	p := &gpprof.Profile{
		SampleType: []*gpprof.ValueType{{Type: "contentions", Unit: "count"}, {Type: "delay", Unit: "nanoseconds"}},
		PeriodType: &gpprof.ValueType{Type: "contentions", Unit: "count"}, Period: 1, TimeNanos: at,
	}
	id := uint64(1)
	for _, name := range []string{"a", "b", "c"} {
		v, ok := vals[name]
		if !ok {
			continue
		}
		fn := &gpprof.Function{ID: id, Name: "pkg." + name}
		loc := &gpprof.Location{ID: id, Address: 0x1000 * id, Line: []gpprof.Line{{Function: fn, Line: 10}}}
		p.Function = append(p.Function, fn)
		p.Location = append(p.Location, loc)
		p.Sample = append(p.Sample, &gpprof.Sample{Location: []*gpprof.Location{loc}, Value: []int64{v[0], v[1]}})
		id++
	}
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDelta(t *testing.T) {
	base := deltaFixture(t, 1e9, map[string][2]int64{"a": {10, 1000}, "b": {5, 500}})
	cur := deltaFixture(t, 31e9, map[string][2]int64{"a": {25, 4000}, "b": {5, 500}, "c": {2, 70}})
	d, err := Delta(base, cur)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParseBytes(d)
	if err != nil {
		t.Fatal(err)
	}
	top, err := NewTop(p, TopOptions{Options: Options{SampleIndex: "contentions"}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, r := range top.Rows {
		got[r.Name] = r.Flat
	}
	// b did not change: netted to zero and dropped.
	if len(got) != 2 || got["pkg.a"] != 15 || got["pkg.c"] != 2 || top.Total != 17 {
		t.Errorf("delta contentions = %v (total %d), want pkg.a 15, pkg.c 2", got, top.Total)
	}
	if p.DurationNanos != 30e9 {
		t.Errorf("duration = %d, want 30e9", p.DurationNanos)
	}
	if _, err := Delta(base, []byte("not a profile")); err == nil {
		t.Error("Delta of garbage succeeded")
	}
}
