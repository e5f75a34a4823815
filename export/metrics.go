package export

import (
	"math"
	"path"
	rtmetrics "runtime/metrics"
	"sort"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/gotune/gotune/session"
)

// DerivedPrefix starts the names of the figures gotune derives from
// consecutive samples (session.Derive: "gc-cpu:fraction", ...) when they
// are exported, so they are never mistaken for the runtime's own metrics.
const DerivedPrefix = "gotune/"

// metricKind is how a metric's values behave.
type metricKind int

const (
	kindGauge metricKind = iota
	kindCounter
	kindHistogram
)

// descriptions of the runtime/metrics this gotune binary knows. A target
// built with another Go version uses the same names for the metrics both
// have; names gotune does not know are exported as gauges.
var descriptions = func() map[string]rtmetrics.Description {
	m := map[string]rtmetrics.Description{}
	for _, d := range rtmetrics.All() {
		m[d.Name] = d
	}
	return m
}()

func kindOf(name string) metricKind {
	switch name {
	case session.ProcessCPU:
		return kindCounter
	case session.ProcessRSS:
		return kindGauge
	case session.PausesGCOld:
		return kindHistogram
	}
	d, ok := descriptions[name]
	switch {
	case !ok:
		return kindGauge
	case d.Kind == rtmetrics.KindFloat64Histogram:
		return kindHistogram
	case d.Cumulative:
		return kindCounter
	}
	return kindGauge
}

func descriptionOf(name string) string {
	if d, ok := descriptions[name]; ok {
		return d.Description
	}
	return ""
}

// unitOf is the part of a runtime/metrics name after the colon.
func unitOf(name string) string {
	if i := strings.LastIndexByte(name, ':'); i >= 0 {
		return name[i+1:]
	}
	return ""
}

// ucum maps runtime/metrics units to the UCUM units OTLP uses; others
// become annotations ("{gc-cycles}").
func ucum(unit string) string {
	switch unit {
	case "bytes":
		return "By"
	case "seconds", "cpu-seconds":
		return "s"
	case "percent":
		return "%"
	case "bytes/s":
		return "By/s"
	case "fraction":
		return "1"
	case "":
		return ""
	}
	return "{" + unit + "}"
}

// PromName is the Prometheus name of a runtime/metrics name, by the rule
// client_golang's Go collector uses (prometheus/internal
// RuntimeMetricsToProm, v1.25.0): "go_" + the path with "/" and "-" as "_"
// + "_" + the unit ("/" as "_per_"), "_total" for cumulative counters.
// So /gc/heap/live:bytes is go_gc_heap_live_bytes, as Prometheus users
// already chart it. gotune's derived figures take "gotune_" instead of
// "go_"; anything left that is not [a-zA-Z0-9_:] becomes "_".
func PromName(name string) string {
	ns := "go"
	n := name
	if rest, ok := strings.CutPrefix(name, DerivedPrefix); ok {
		ns, n = "gotune", "/"+rest
	}
	key, unit, _ := strings.Cut(n, ":")
	key = strings.TrimPrefix(key, "/")
	sub, base := path.Dir(key), path.Base(key)
	unit = strings.NewReplacer("-", "_", "*", "_", "/", "_per_").Replace(unit)
	var b strings.Builder
	b.WriteString(ns)
	b.WriteByte('_')
	if sub != "." && sub != "" {
		b.WriteString(strings.NewReplacer("/", "_", "-", "_").Replace(sub))
		b.WriteByte('_')
	}
	b.WriteString(strings.ReplaceAll(base, "-", "_"))
	if unit != "" {
		b.WriteByte('_')
		b.WriteString(unit)
	}
	if kindOf(name) == kindCounter {
		b.WriteString("_total")
	}
	out := []byte(b.String())
	for i, c := range out {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == ':' || c >= '0' && c <= '9' && i > 0
		if !ok {
			out[i] = '_'
		}
	}
	return string(out)
}

// series is one metric across points: its values by point, in time order.
type series struct {
	name   string
	kind   metricKind
	times  []time.Time
	values []float64
	hists  []*session.Histogram
}

// collect gathers the points' values (Values, Derived under DerivedPrefix,
// Histograms), sorted by name for stable output. NaN and ±Inf values are
// left out (no engine stores them as samples of a gauge).
func collect(points []session.Point) []*series {
	byName := map[string]*series{}
	get := func(name string, k metricKind) *series {
		s := byName[name]
		if s == nil {
			s = &series{name: name, kind: k}
			byName[name] = s
		}
		return s
	}
	for i := range points {
		p := &points[i]
		for name, v := range p.Values {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			s := get(name, kindOf(name))
			if s.kind == kindHistogram {
				s.kind = kindGauge // a histogram name given as a plain value
			}
			s.times = append(s.times, p.Time)
			s.values = append(s.values, v)
		}
		for name, v := range p.Derived {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			s := get(DerivedPrefix+name, kindGauge)
			s.times = append(s.times, p.Time)
			s.values = append(s.values, v)
		}
		for name, h := range p.Histograms {
			if h == nil || len(h.Counts) == 0 || len(h.Buckets) != len(h.Counts)+1 {
				continue
			}
			s := get(name, kindHistogram)
			s.times = append(s.times, p.Time)
			s.hists = append(s.hists, h)
		}
	}
	out := make([]*series, 0, len(byName))
	for _, s := range byName {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// MetricsToOTLP converts points to OTLP metrics: each runtime/metrics name
// (kept as the metric name, its unit in UCUM) becomes a gauge, a monotonic
// cumulative sum (cumulative metrics, started at the target's start) or an
// explicit-bucket histogram (runtime/metrics histograms; their ±Inf edge
// buckets become OTLP's open-ended first and last buckets). Derived figures
// are gauges named DerivedPrefix + their key. It returns the number of
// data points.
func MetricsToOTLP(points []session.Point, o Origin) (pmetric.Metrics, int64) {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	setResource(rm.Resource().Attributes(), o)
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(scopeName)
	start := o.Target.StartTime
	if start.IsZero() && len(points) > 0 {
		start = points[0].Time
	}
	startTS := pcommon.NewTimestampFromTime(start)
	var n int64
	for _, s := range collect(points) {
		m := sm.Metrics().AppendEmpty()
		m.SetName(s.name)
		m.SetUnit(ucum(unitOf(s.name)))
		m.SetDescription(descriptionOf(s.name))
		switch s.kind {
		case kindGauge:
			dps := m.SetEmptyGauge().DataPoints()
			for i, v := range s.values {
				dp := dps.AppendEmpty()
				dp.SetTimestamp(pcommon.NewTimestampFromTime(s.times[i]))
				dp.SetDoubleValue(v)
			}
		case kindCounter:
			sum := m.SetEmptySum()
			sum.SetIsMonotonic(true)
			sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
			for i, v := range s.values {
				dp := sum.DataPoints().AppendEmpty()
				dp.SetStartTimestamp(startTS)
				dp.SetTimestamp(pcommon.NewTimestampFromTime(s.times[i]))
				dp.SetDoubleValue(v)
			}
		case kindHistogram:
			hist := m.SetEmptyHistogram()
			hist.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
			for i, h := range s.hists {
				dp := hist.DataPoints().AppendEmpty()
				dp.SetStartTimestamp(startTS)
				dp.SetTimestamp(pcommon.NewTimestampFromTime(s.times[i]))
				bounds, counts := otlpBuckets(h)
				dp.ExplicitBounds().FromRaw(bounds)
				dp.BucketCounts().FromRaw(counts)
				dp.SetCount(h.Total())
			}
		}
		n += int64(len(s.times))
	}
	return md, n
}

// otlpBuckets turns runtime/metrics buckets (edges b0..bn, counts c0..cn-1,
// bucket i is [b_i, b_i+1)) into OTLP explicit bounds, whose first bucket is
// (-Inf, bound0] and last (bound_k-1, +Inf). Infinite edges are dropped; a
// finite outer edge gets an empty open-ended bucket beyond it. (The edge
// itself moves from the upper to the lower bucket: runtime/metrics buckets
// are closed below, OTLP's above.)
func otlpBuckets(h *session.Histogram) ([]float64, []uint64) {
	edges := h.Buckets
	counts := h.Counts
	var bounds []float64
	var out []uint64
	if !math.IsInf(edges[0], -1) {
		out = append(out, 0)
		bounds = append(bounds, edges[0])
	}
	for i, c := range counts {
		out = append(out, c)
		if hi := edges[i+1]; !math.IsInf(hi, 1) {
			bounds = append(bounds, hi)
		}
	}
	if !math.IsInf(edges[len(edges)-1], 1) {
		out = append(out, 0)
	}
	return bounds, out
}
