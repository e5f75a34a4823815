package profile

import (
	"bytes"
	"strings"
	"testing"

	gpprof "github.com/google/pprof/profile"
)

// MapStrings maps every string of a profile into a copy, leaves the
// original and the samples alone, and returns the profile itself when
// nothing changes.
func TestMapStrings(t *testing.T) {
	fn := &gpprof.Function{ID: 1, Name: "main.\x1bevil", SystemName: "main.\x1bevil", Filename: "/src/\x1bx.go"}
	loc := &gpprof.Location{ID: 1, Address: 0x1000, Line: []gpprof.Line{{Function: fn, Line: 10}},
		Mapping: &gpprof.Mapping{ID: 1, File: "/bin/\x1bx", BuildID: "b\x1b"}}
	gp := &gpprof.Profile{
		SampleType: []*gpprof.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		PeriodType: &gpprof.ValueType{Type: "cpu", Unit: "nanoseconds"}, Period: 1, Comments: []string{"c\x1b"},
		Function: []*gpprof.Function{fn}, Location: []*gpprof.Location{loc}, Mapping: []*gpprof.Mapping{loc.Mapping},
		Sample: []*gpprof.Sample{{Location: []*gpprof.Location{loc}, Value: []int64{3, 30}, Label: map[string][]string{"k\x1b": {"v\x1b"}}}},
	}
	var buf bytes.Buffer
	if err := gp.Write(&buf); err != nil {
		t.Fatal(err)
	}
	p, err := Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	mark := func(s string) string { return strings.ReplaceAll(s, "\x1b", "?") }
	q := p.MapStrings(mark)
	if q == p {
		t.Fatal("MapStrings returned the profile it had to change")
	}
	if got := q.Functions[0]; got.Name != "main.?evil" || got.SystemName != "main.?evil" || got.Filename != "/src/?x.go" {
		t.Errorf("function %+v", got)
	}
	if got := q.Mappings[0]; got.File != "/bin/?x" || got.BuildID != "b?" {
		t.Errorf("mapping %+v", got)
	}
	if got := q.Labels(0); len(got) != 1 || got[0] != (Label{"k?", "v?"}) {
		t.Errorf("labels %+v", got)
	}
	if q.Comments[0] != "c?" || q.NumSamples() != 1 || q.Values(0)[1] != 30 || len(q.Stack(0)) != 1 {
		t.Errorf("comments %q, samples %d, values %v", q.Comments, q.NumSamples(), q.Values(0))
	}
	if p.Functions[0].Name != "main.\x1bevil" || p.Labels(0)[0].Key != "k\x1b" {
		t.Error("MapStrings changed the original")
	}
	if again := q.MapStrings(mark); again != q {
		t.Error("MapStrings copied a profile it did not change")
	}
}
