package export

import (
	"math"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/pprofile"
	"go.opentelemetry.io/collector/pdata/pprofile/pprofileotlp"

	"github.com/gotune/gotune/export/exporttest"
	"github.com/gotune/gotune/internal/testproc"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/session"
)

// TestProfilesToOTLP converts every committed fixture, round-trips it
// through the OTLP protobuf encoding, and checks: one OTLP profile per
// sample type, totals equal pprof's, each sample's leaf frame names the
// same function as in pprof, and every dictionary table keeps its zero
// entry at index 0.
func TestProfilesToOTLP(t *testing.T) {
	for _, k := range []profile.Kind{profile.KindCPU, profile.KindHeap, profile.KindAllocs, profile.KindGoroutine, profile.KindMutex, profile.KindBlock, profile.KindThreadCreate} {
		t.Run(string(k), func(t *testing.T) {
			c := fixture(t, k)
			pd, n, err := ProfilesToOTLP(c, testOrigin("before"))
			testproc.Must(t, err, "convert")
			body, err := pprofileotlp.NewExportRequestFromProfiles(pd).MarshalProto()
			testproc.Must(t, err, "marshal")
			req := pprofileotlp.NewExportRequest()
			testproc.Must(t, req.UnmarshalProto(body), "unmarshal")
			pd = req.Profiles()

			want := exporttest.PprofTotals(c.Profile)
			got := exporttest.OTLPTotals(pd, k)
			for st, w := range want {
				if got[st] != w {
					t.Errorf("%s: OTLP total %d, pprof %d", st, got[st], w)
				}
			}
			profs := pd.ResourceProfiles().At(0).ScopeProfiles().At(0).Profiles()
			if profs.Len() != len(c.Profile.SampleTypes) {
				t.Errorf("%d OTLP profiles for %d sample types", profs.Len(), len(c.Profile.SampleTypes))
			}
			var nonzero int64
			for i := range c.Profile.NumSamples() {
				for _, v := range c.Profile.Values(i) {
					if v != 0 {
						nonzero++
					}
				}
			}
			if n != nonzero {
				t.Errorf("converter reports %d samples, pprof has %d non-zero values", n, nonzero)
			}
			dict := pd.Dictionary()
			if dict.StringTable().At(0) != "" || dict.FunctionTable().At(0).NameStrindex() != 0 || dict.LocationTable().At(0).Lines().Len() != 0 || dict.StackTable().At(0).LocationIndices().Len() != 0 {
				t.Error("a dictionary table lost its zero entry at index 0")
			}
			// Leaf function names per sample, by sample type 0, in order.
			var pprofLeaves []string
			for i := range c.Profile.NumSamples() {
				if c.Profile.Values(i)[0] == 0 {
					continue
				}
				pprofLeaves = append(pprofLeaves, leafName(c.Profile, c.Profile.Stack(i)))
			}
			first := profs.At(0)
			if first.Samples().Len() != len(pprofLeaves) {
				t.Fatalf("sample type 0: %d OTLP samples, %d non-zero pprof samples", first.Samples().Len(), len(pprofLeaves))
			}
			for i := range first.Samples().Len() {
				if got := otlpLeafName(pd, first.Samples().At(i)); got != pprofLeaves[i] {
					t.Fatalf("sample %d: OTLP leaf %q, pprof leaf %q", i, got, pprofLeaves[i])
				}
			}
			if k == profile.KindCPU && first.Period() != c.Profile.Period {
				t.Errorf("period %d, want %d", first.Period(), c.Profile.Period)
			}
		})
	}
}

func leafName(p *profile.Profile, stack []uint32) string {
	if len(stack) == 0 {
		return ""
	}
	loc := p.Locations[stack[0]]
	if len(loc.Lines) == 0 || loc.Lines[0].Function < 0 {
		return ""
	}
	return p.Functions[loc.Lines[0].Function].Name
}

func otlpLeafName(pd pprofile.Profiles, s pprofile.Sample) string {
	dict := pd.Dictionary()
	st := dict.StackTable().At(int(s.StackIndex()))
	if st.LocationIndices().Len() == 0 {
		return ""
	}
	loc := dict.LocationTable().At(int(st.LocationIndices().At(0)))
	if loc.Lines().Len() == 0 {
		return ""
	}
	fn := dict.FunctionTable().At(int(loc.Lines().At(0).FunctionIndex()))
	return dict.StringTable().At(int(fn.NameStrindex()))
}

// TestMetricsToOTLP checks the metric kinds, units, values, the counters'
// start time and the histogram buckets of a conversion.
func TestMetricsToOTLP(t *testing.T) {
	start := time.Unix(1_700_000_100, 0)
	points := syntheticPoints(3, start)
	o := testOrigin("")
	md, n := MetricsToOTLP(points, o)
	body, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
	testproc.Must(t, err, "marshal")
	req := pmetricotlp.NewExportRequest()
	testproc.Must(t, req.UnmarshalProto(body), "unmarshal")
	md = req.Metrics()
	want := int64(0)
	for _, p := range points {
		want += int64(len(p.Values) + len(p.Derived) + len(p.Histograms))
	}
	if n != want {
		t.Errorf("%d data points, want %d", n, want)
	}
	ms := md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics()
	byName := map[string]pmetric.Metric{}
	for i := range ms.Len() {
		byName[ms.At(i).Name()] = ms.At(i)
	}
	for name, wantType := range map[string]pmetric.MetricType{
		session.HeapLive: pmetric.MetricTypeGauge, session.GCCycles: pmetric.MetricTypeSum, session.ProcessCPU: pmetric.MetricTypeSum,
		session.PausesGC: pmetric.MetricTypeHistogram, DerivedPrefix + session.GCCPU: pmetric.MetricTypeGauge,
	} {
		m, ok := byName[name]
		if !ok || m.Type() != wantType {
			t.Errorf("%s: type %v (present %v), want %v", name, m.Type(), ok, wantType)
		}
	}
	if u := byName[session.HeapLive].Unit(); u != "By" {
		t.Errorf("unit of %s = %q, want By", session.HeapLive, u)
	}
	sum := byName[session.GCCycles].Sum()
	if !sum.IsMonotonic() || sum.AggregationTemporality() != pmetric.AggregationTemporalityCumulative ||
		!sum.DataPoints().At(0).StartTimestamp().AsTime().Equal(o.Target.StartTime) || sum.DataPoints().At(2).DoubleValue() != 102 {
		t.Errorf("gc cycles sum: monotonic %v, temporality %v, start %v, last %v", sum.IsMonotonic(), sum.AggregationTemporality(), sum.DataPoints().At(0).StartTimestamp().AsTime(), sum.DataPoints().At(2).DoubleValue())
	}
	h := byName[session.PausesGC].Histogram().DataPoints().At(1)
	if got, want := h.ExplicitBounds().AsRaw(), []float64{1e-6, 1e-5, 1e-4}; !slices.Equal(got, want) {
		t.Errorf("bounds %v, want %v", got, want)
	}
	if got, want := h.BucketCounts().AsRaw(), []uint64{0, 4, 2, 1}; !slices.Equal(got, want) || h.Count() != 7 {
		t.Errorf("counts %v (count %d), want %v (7)", got, h.Count(), want)
	}
	// Finite outer edges get empty open-ended buckets.
	b, c := otlpBuckets(&session.Histogram{Buckets: []float64{0, 1, 2}, Counts: []uint64{5, 6}})
	if !slices.Equal(b, []float64{0, 1, 2}) || !slices.Equal(c, []uint64{0, 5, 6, 0}) {
		t.Errorf("finite edges: bounds %v counts %v", b, c)
	}
	// NaN and ±Inf values are left out.
	md, n = MetricsToOTLP([]session.Point{{Sample: session.Sample{Time: start, Values: map[string]float64{"a:x": math.NaN(), "b:x": math.Inf(1), "c:x": 1}}}}, o)
	if n != 1 {
		t.Errorf("NaN/Inf: %d data points, want 1", n)
	}
}

func TestGOGCOf(t *testing.T) {
	for _, c := range []struct {
		v    float64
		ok   bool
		want string
	}{{100, true, "100"}, {-1, true, "off"}, {math.MaxUint64, true, "off"}, {0, false, ""}} {
		p := &session.Point{Sample: session.Sample{Values: map[string]float64{}}}
		if c.ok {
			p.Values[session.GOGC] = c.v
		}
		if got := GOGCOf(p); got != c.want {
			t.Errorf("GOGCOf(%v) = %q, want %q", c.v, got, c.want)
		}
	}
}

func BenchmarkProfilesToOTLP(b *testing.B) {
	for _, k := range []profile.Kind{profile.KindCPU, profile.KindHeap} {
		c := fixture(b, k)
		b.Run(string(k), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				pd, _, err := ProfilesToOTLP(c, testOrigin(""))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := pprofileotlp.NewExportRequestFromProfiles(pd).MarshalProto(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(c.Profile.NumSamples()), "samples")
		})
	}
}

func BenchmarkMetricsToOTLP(b *testing.B) {
	points := syntheticPoints(60, time.Unix(1_700_000_000, 0))
	b.ReportAllocs()
	for b.Loop() {
		md, _ := MetricsToOTLP(points, testOrigin(""))
		if _, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto(); err != nil {
			b.Fatal(err)
		}
	}
}
