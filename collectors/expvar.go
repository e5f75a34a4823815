package collectors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
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
	s := e.pauses.sample(ms, time.Now())
	s.Source = "expvar"
	from := endpointLabel("expvar", strings.TrimSuffix(e.URL, "/debug/vars")) + " memstats"
	s.Origins = make(map[string]string, len(s.Values)+1)
	for k := range s.Values {
		s.Origins[k] = from
	}
	for k := range s.Histograms {
		s.Origins[k] = from + " PauseNs"
	}
	return s, nil
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
	LastGC        uint64 // unix ns of the last GC's end; 0 before the first
	GCCPUFraction float64

	havePauses bool // PauseNs was read
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
	doc.Memstats.havePauses = true
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
	if !ms.havePauses {
		newPauses = 0
	}
	for k := uint32(0); k < newPauses; k++ {
		ns := ms.PauseNs[(ms.NumGC-k+255)%256]
		p.counts[bucketOf(float64(ns)/1e9)]++
	}
	p.numGC, p.seen = ms.NumGC, true
	s := session.Sample{Time: now, Source: "expvar", Values: map[string]float64{
		// GCCPUFraction and LastGC belong together: the fraction is as of
		// the end of that cycle (session.GCPaidPerP).
		session.MemStatsGCCPUFraction: ms.GCCPUFraction,
		session.MemStatsLastGC:        float64(ms.LastGC) / 1e9,
		session.HeapObjects:           float64(ms.HeapAlloc),
		session.HeapGoal:              float64(ms.NextGC),
		session.GCCycles:              float64(ms.NumGC),
		session.GCCyclesForced:        float64(ms.NumForcedGC),
		session.HeapAllocsBytes:       float64(ms.TotalAlloc),
		session.HeapObjectCount:       float64(ms.HeapObjects),
		session.MemoryTotal:           float64(ms.Sys),
	}, Histograms: map[string]*session.Histogram{}}
	if ms.havePauses {
		s.Histograms[session.PausesGCOld] = &session.Histogram{Buckets: pauseBuckets, Counts: append([]uint64(nil), p.counts...)}
	}
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

// DetectMetrics finds every metrics source a target offers at base — the
// gotune agent, a Prometheus page with go_* series, expvar memstats, the
// net/http/pprof endpoints — and returns them fused (FusedSource) with the
// first sample. The error lists what each probe said.
func DetectMetrics(ctx context.Context, base string, opts HTTPSourceOptions) (*FusedSource, session.Sample, error) {
	opts = opts.withDefaults()
	f := NewFusedSource(
		NewAgentSource(base, opts),
		NewPrometheusSource(base, opts),
		NewExpvarSource(base, opts),
		NewPprofMetricsSource(base, opts),
	)
	s, err := f.Detect(ctx)
	if err != nil {
		var nm *NoMetricsError
		if errors.As(err, &nm) {
			nm.Base = base
		}
		return nil, session.Sample{}, err
	}
	f.Finish(&s)
	return f, s, nil
}

// NoMetricsError says that no metrics source answered at a reachable target.
type NoMetricsError struct {
	Base  string
	Tried []error
}

func (e *NoMetricsError) Error() string {
	// What a probe said beyond "not here" (404, connection closed) is what
	// the person needs: a newer agent, a server error, a login page, a
	// redirect, a page over the cap.
	var said []string
	newer := false
	for _, err := range e.Tried {
		if err == nil || IsNotFound(err) {
			continue
		}
		if strings.Contains(err.Error(), "upgrade gotune") {
			newer = true
		}
		said = append(said, err.Error())
	}
	msg := fmt.Sprintf("%s serves no runtime metrics gotune can read (tried the gotune agent, Prometheus /metrics, expvar /debug/vars, net/http/pprof)", Redact(e.Base))
	if len(said) > 0 {
		msg += ": " + strings.Join(said, "; ")
	}
	switch {
	case newer:
		msg += "; the target's gotune agent is newer than this gotune: upgrade gotune"
	case len(said) == 0:
		msg += `; add import _ "net/http/pprof" (and import _ "github.com/gotune/gotune/agent" for every runtime metric)`
	}
	return msg
}

func (e *NoMetricsError) Unwrap() []error { return e.Tried }
