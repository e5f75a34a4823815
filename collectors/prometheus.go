package collectors

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"path"
	"runtime/metrics"
	"sort"
	"strings"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/gotune/gotune/session"
)

// PrometheusSource reads the go_* series of a Prometheus text page
// (client_golang's Go collector) and maps them back to runtime/metrics
// names where the mapping is exact.
type PrometheusSource struct {
	URL  string
	opts HTTPSourceOptions
}

// NewPrometheusSource reads from base + "/metrics".
func NewPrometheusSource(base string, opts HTTPSourceOptions) *PrometheusSource {
	return &PrometheusSource{URL: base + "/metrics", opts: opts.withDefaults()}
}

func (p *PrometheusSource) Via() string { return "prometheus" }

// promAccept asks for the classic text format: it is what expfmt's text
// parser reads, and every client_golang version can produce it.
const promAccept = "text/plain;version=0.0.4;q=1,*/*;q=0.1"

func (p *PrometheusSource) Read(ctx context.Context) (session.Sample, error) {
	body, _, err := get(ctx, p.opts.HTTP, p.URL, p.opts.Timeout, p.opts.MaxBody, promAccept)
	if err != nil {
		return session.Sample{}, err
	}
	s, err := SampleFromPrometheus(body, time.Now())
	if err != nil {
		return session.Sample{}, &FetchError{URL: p.URL, Reason: err.Error(), Err: err, Hint: profileHint(body)}
	}
	label := endpointLabel("prometheus", strings.TrimSuffix(p.URL, "/metrics"))
	for k, o := range s.Origins {
		s.Origins[k] = label + strings.TrimPrefix(o, "prometheus")
	}
	return s, nil
}

// classicProm maps client_golang's MemStats-era series onto the
// runtime/metrics they are computed from. Only exact equivalents are listed:
// go_memstats_mallocs_total, for one, adds tiny allocations that
// /gc/heap/allocs:objects leaves out, so it is not here.
// Source: client_golang prometheus/go_collector_latest.go (memStatsFromRM).
//
// A series of client_golang's runtime/metrics collector (promToRuntime)
// wins over a classic one for the same metric (go_sched_goroutines_goroutines
// over go_goroutines, go_gc_cycles_total_gc_cycles_total over
// go_gc_duration_seconds_count): one series per metric, always the same.
var classicProm = map[string]string{
	"go_goroutines":                 session.Goroutines,
	"go_memstats_heap_alloc_bytes":  session.HeapObjects,
	"go_memstats_next_gc_bytes":     session.HeapGoal,
	"go_memstats_alloc_bytes_total": session.HeapAllocsBytes,
	"go_memstats_sys_bytes":         session.MemoryTotal,
	"process_cpu_seconds_total":     session.ProcessCPU,
	"process_resident_memory_bytes": session.ProcessRSS,
	"process_start_time_seconds":    session.ProcessStart,
	// Old client_golang versions (before v1.12) exported GCCPUFraction;
	// it counts only together with the last GC's time (see below).
	"go_memstats_gc_cpu_fraction":      session.MemStatsGCCPUFraction,
	"go_memstats_last_gc_time_seconds": session.MemStatsLastGC,
}

// promToRuntime maps client_golang's names for runtime/metrics back to the
// runtime/metrics names, built from the descriptions this Go version knows
// with client_golang's own naming rule (internal.RuntimeMetricsToProm). It
// is built on first use, not at init: every gotune command links this
// package, and building it costs about 1 ms of each one's start.
var promToRuntime = sync.OnceValue(func() map[string]string {
	m := map[string]string{}
	for _, d := range metrics.All() {
		if name, ok := runtimeMetricToProm(d); ok {
			m[name] = d.Name
		}
	}
	// Names of older Go versions that this runtime no longer lists.
	m["go_gc_pauses_seconds"] = session.PausesGCOld
	return m
})

// runtimeMetricToProm follows client_golang v1.25
// prometheus/internal/go_runtime_metrics.go RuntimeMetricsToProm.
func runtimeMetricToProm(d metrics.Description) (string, bool) {
	key, unit, ok := strings.Cut(d.Name, ":")
	if !ok {
		return "", false
	}
	subsystem := path.Dir(key[1:])
	name := path.Base(key)
	subsystem = strings.NewReplacer("/", "_", "-", "_").Replace(subsystem)
	unit = strings.NewReplacer("-", "_", "*", "_", "/", "_per_").Replace(unit)
	name = strings.ReplaceAll(name, "-", "_") + "_" + unit
	if d.Cumulative && d.Kind != metrics.KindFloat64Histogram {
		name += "_total"
	}
	switch d.Kind {
	case metrics.KindUint64, metrics.KindFloat64, metrics.KindFloat64Histogram:
	default:
		return "", false
	}
	return "go_" + subsystem + "_" + name, true
}

// SampleFromPrometheus parses a Prometheus text exposition page.
func SampleFromPrometheus(body []byte, now time.Time) (session.Sample, error) {
	if looksLikeHTML(body) {
		return session.Sample{}, fmt.Errorf("got an HTML page, not Prometheus metrics")
	}
	parser := expfmt.NewTextParser(model.UTF8Validation) // the zero value panics (PINS.md)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		return session.Sample{}, fmt.Errorf("not a Prometheus text page: %w", err)
	}
	s := session.Sample{Time: now, Source: "prometheus", Values: map[string]float64{}, Histograms: map[string]*session.Histogram{},
		Origins: map[string]string{}}
	// Names in order, so the outcome never depends on map order; classic
	// series first, so that the runtime/metrics ones overwrite them.
	names := make([]string, 0, len(fams))
	goSeries := 0
	for name := range fams {
		names = append(names, name)
		if strings.HasPrefix(name, "go_") {
			goSeries++
		}
	}
	sort.Strings(names)
	set := func(rt, series string, v float64) {
		s.Values[rt] = v
		s.Origins[rt] = "prometheus " + series
	}
	for _, name := range names {
		fam := fams[name]
		// The Go collector's series have no labels; with labels, take the
		// first unlabelled one or skip.
		m := unlabelled(fam.GetMetric())
		if m == nil {
			continue
		}
		if rt, ok := classicProm[name]; ok {
			if v, ok := scalar(m); ok {
				set(rt, name, v)
			}
			continue
		}
		if name == "go_gc_duration_seconds" && m.GetSummary() != nil {
			// NumGC: completed cycles, as /gc/cycles/total:gc-cycles.
			set(session.GCCycles, name+"_count", float64(m.GetSummary().GetSampleCount()))
		}
	}
	for _, name := range names {
		rt, ok := promToRuntime()[name]
		if !ok {
			continue
		}
		m := unlabelled(fams[name].GetMetric())
		if m == nil {
			continue
		}
		if h := m.GetHistogram(); h != nil {
			s.Histograms[rt] = histogramFromProm(h)
			s.Origins[rt] = "prometheus " + name
			continue
		}
		if v, ok := scalar(m); ok {
			set(rt, name, v)
		}
	}
	// GCCPUFraction is as of the last GC's end: without that time it is
	// only a lifetime average and is dropped, and the time alone is of no use.
	_, f := s.Values[session.MemStatsGCCPUFraction]
	_, l := s.Values[session.MemStatsLastGC]
	if f != l {
		delete(s.Values, session.MemStatsGCCPUFraction)
		delete(s.Values, session.MemStatsLastGC)
		delete(s.Origins, session.MemStatsGCCPUFraction)
		delete(s.Origins, session.MemStatsLastGC)
	}
	if goSeries == 0 {
		return session.Sample{}, fmt.Errorf("the page has no go_* series; the Go collector is not registered")
	}
	s.Missing = missing(&s)
	return s, nil
}

func unlabelled(ms []*dto.Metric) *dto.Metric {
	for _, m := range ms {
		if len(m.GetLabel()) == 0 {
			return m
		}
	}
	return nil
}

func scalar(m *dto.Metric) (float64, bool) {
	switch {
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue(), true
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue(), true
	case m.GetUntyped() != nil:
		return m.GetUntyped().GetValue(), true
	}
	return 0, false
}

// histogramFromProm turns cumulative "le" buckets into runtime/metrics
// buckets: Counts[i] in [Buckets[i], Buckets[i+1]). Durations and sizes are
// never negative, so the first bucket starts at 0.
func histogramFromProm(h *dto.Histogram) *session.Histogram {
	bs := append([]*dto.Bucket(nil), h.GetBucket()...)
	sort.Slice(bs, func(i, j int) bool { return bs[i].GetUpperBound() < bs[j].GetUpperBound() })
	out := &session.Histogram{Buckets: []float64{0}}
	var prev uint64
	for _, b := range bs {
		c := b.GetCumulativeCount()
		if c < prev {
			c = prev
		}
		out.Buckets = append(out.Buckets, b.GetUpperBound())
		out.Counts = append(out.Counts, c-prev)
		prev = c
	}
	if n := len(out.Buckets); n == 1 || !math.IsInf(out.Buckets[n-1], 1) {
		total := h.GetSampleCount()
		if total < prev {
			total = prev
		}
		out.Buckets = append(out.Buckets, math.Inf(1))
		out.Counts = append(out.Counts, total-prev)
	}
	return out
}
