package collectors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/gotune/gotune/session"
)

// ExpvarSource reads runtime.MemStats from an expvar /debug/vars page. It
// has no scheduler or CPU figures; it keeps its own cumulative histogram of
// GC pauses from MemStats.PauseNs (the last 256 pauses) so pause quantiles
// work as for the other sources.
type ExpvarSource struct {
	URL  string
	opts HTTPSourceOptions

	mu     sync.Mutex
	pauses pauseHistogram
}

// NewExpvarSource reads from base + "/debug/vars".
func NewExpvarSource(base string, opts HTTPSourceOptions) *ExpvarSource {
	return &ExpvarSource{URL: base + "/debug/vars", opts: opts.withDefaults()}
}

func (e *ExpvarSource) Via() string { return "expvar" }

func (e *ExpvarSource) Read(ctx context.Context) (session.Sample, error) {
	body, _, err := get(ctx, e.opts.HTTP, e.URL, e.opts.Timeout, e.opts.MaxBody, "application/json")
	if err != nil {
		return session.Sample{}, err
	}
	ms, err := decodeExpvarMemstats(body)
	if err != nil {
		return session.Sample{}, &FetchError{URL: e.URL, Reason: err.Error(), Err: err, Hint: profileHint(body)}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.pauses.sample(ms, time.Now()), nil
}

// expvarMemStats holds the runtime.MemStats fields gotune maps.
type expvarMemStats struct {
	HeapAlloc     uint64
	NextGC        uint64
	NumGC         uint32
	NumForcedGC   uint32
	TotalAlloc    uint64
	Mallocs       uint64
	Frees         uint64
	HeapObjects   uint64
	Sys           uint64
	PauseNs       [256]uint64
	GCCPUFraction float64
}

func decodeExpvarMemstats(body []byte) (expvarMemStats, error) {
	var doc struct {
		Memstats *expvarMemStats `json:"memstats"`
	}
	if looksLikeHTML(body) {
		return expvarMemStats{}, errors.New("got an HTML page, not expvar JSON")
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return expvarMemStats{}, fmt.Errorf("not an expvar page: %w", err)
	}
	if doc.Memstats == nil {
		return expvarMemStats{}, errors.New("expvar page has no memstats")
	}
	return *doc.Memstats, nil
}

// pauseBuckets: 4 per decade from 1 µs to 100 s, then +Inf.
var pauseBuckets = func() []float64 {
	b := []float64{0}
	for e := -6.0; e < 2; e += 0.25 {
		b = append(b, math.Pow(10, e))
	}
	return append(b, math.Inf(1))
}()

type pauseHistogram struct {
	counts []uint64
	numGC  uint32
	seen   bool
}

// sample maps MemStats to runtime/metrics names and adds the pauses since
// the previous read (at most the 256 MemStats remembers) to the histogram.
func (p *pauseHistogram) sample(ms expvarMemStats, now time.Time) session.Sample {
	if p.counts == nil || ms.NumGC < p.numGC { // first read, or the target restarted
		p.counts = make([]uint64, len(pauseBuckets)-1)
		p.numGC, p.seen = 0, false
	}
	newPauses := ms.NumGC - p.numGC
	if !p.seen {
		newPauses = ms.NumGC
	}
	newPauses = min(newPauses, 256)
	for k := uint32(0); k < newPauses; k++ {
		ns := ms.PauseNs[(ms.NumGC-k+255)%256]
		p.counts[bucketOf(float64(ns)/1e9)]++
	}
	p.numGC, p.seen = ms.NumGC, true
	s := session.Sample{Time: now, Source: "expvar", Values: map[string]float64{
		session.HeapObjects:     float64(ms.HeapAlloc),
		session.HeapGoal:        float64(ms.NextGC),
		session.GCCycles:        float64(ms.NumGC),
		session.GCCyclesForced:  float64(ms.NumForcedGC),
		session.HeapAllocsBytes: float64(ms.TotalAlloc),
		session.HeapObjectCount: float64(ms.HeapObjects),
		session.MemoryTotal:     float64(ms.Sys),
	}, Histograms: map[string]*session.Histogram{
		session.PausesGCOld: {Buckets: pauseBuckets, Counts: append([]uint64(nil), p.counts...)},
	}}
	s.Missing = missing(&s)
	return s
}

func bucketOf(v float64) int {
	for i := 1; i < len(pauseBuckets); i++ {
		if v < pauseBuckets[i] {
			return i - 1
		}
	}
	return len(pauseBuckets) - 2
}

// DetectMetrics finds the best metrics source a target offers, in this
// order: the gotune agent, a Prometheus page with go_* series, expvar
// memstats. The error lists what each probe said.
func DetectMetrics(ctx context.Context, base string, opts HTTPSourceOptions) (MetricsSource, session.Sample, error) {
	opts = opts.withDefaults()
	candidates := []MetricsSource{
		NewAgentSource(base, opts),
		NewPrometheusSource(base, opts),
		NewExpvarSource(base, opts),
	}
	var errs []error
	for _, c := range candidates {
		s, err := c.Read(ctx)
		if err == nil {
			return c, s, nil
		}
		if IsUnreachable(err) || ctx.Err() != nil {
			return nil, session.Sample{}, err // no point probing the others
		}
		errs = append(errs, fmt.Errorf("%s: %w", c.Via(), err))
	}
	return nil, session.Sample{}, &NoMetricsError{Base: base, Tried: errs}
}

// NoMetricsError says that no metrics source answered at a reachable target.
type NoMetricsError struct {
	Base  string
	Tried []error
}

func (e *NoMetricsError) Error() string {
	msg := fmt.Sprintf("%s serves no runtime metrics gotune can read (tried the gotune agent, Prometheus /metrics, expvar /debug/vars)", Redact(e.Base))
	msg += `; add import _ "github.com/gotune/gotune/agent" next to net/http/pprof`
	return msg
}

func (e *NoMetricsError) Unwrap() []error { return e.Tried }
