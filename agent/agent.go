// Package agent serves a Go program's runtime/metrics as JSON for gotune,
// and, only when the program opts in, live tuning and a flight recorder.
//
// Import it for its side effect, the way net/http/pprof is imported:
//
//	import _ "github.com/gotune/gotune/agent"
//
// which registers GET /debug/gotune/metrics on http.DefaultServeMux, and
// the opt-in endpoints next to it (they refuse until enabled). For another
// mux, mount them with Register, or the metrics alone with Handler():
//
//	mux.Handle(agent.Path, agent.Handler())
//
// The metrics endpoint is read-only. It reports every metric the running Go
// version knows (metrics.All(), histograms included) plus a few process
// facts. A request costs a few microseconds of CPU (see BenchmarkHandler)
// and the package imports nothing outside the standard library.
//
// Two features are off until the program turns them on:
//
//   - EnableWrites lets gotune change GOGC, GOMEMLIMIT, GOMAXPROCS and the
//     mutex and block profile rates while the program runs (the runtime
//     reads GOGC and GOMEMLIMIT from the environment only at start). Every
//     write needs the token the agent writes to a file only the process's
//     user can read, TLS unless both ends are loopback, stays within bounds
//     that refuse harm, and holds under a lease: the agent reverts it on
//     its own when the lease ends unless the client renews or keeps it.
//     Each accepted write is journalled.
//   - EnableFlightRecorder keeps the last seconds of execution trace in
//     memory (runtime/trace.FlightRecorder) and serves a snapshot.
//
// The formats are described in docs/agent-format.md.
package agent

import (
	"math"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Path is where the agent registers on http.DefaultServeMux.
const Path = "/debug/gotune/metrics"

// FormatVersion is the version of the JSON document served at Path. It
// changes only when a field changes meaning or goes away.
const FormatVersion = 1

// ContentType is the media type of the document served at Path.
const ContentType = "application/json; charset=utf-8"

var startTime = time.Now()

func init() {
	Register(http.DefaultServeMux)
}

// Register mounts every agent endpoint on mux: the metrics (Path), the
// settings and journal (SettingsPath, JournalPath; refused until
// EnableWrites) and the flight recorder (FlightRecorderPath; 404 until
// EnableFlightRecorder).
func Register(mux interface{ Handle(string, http.Handler) }) {
	mux.Handle(Path, Handler())
	mux.Handle(SettingsPath, SettingsHandler())
	mux.Handle(JournalPath, JournalHandler())
	mux.Handle(FlightRecorderPath, FlightRecorderHandler())
}

// Handler returns the read-only handler that serves the metrics document.
func Handler() http.Handler {
	return http.HandlerFunc(serve)
}

// reader keeps the sample slice between requests: metrics.Read with a reused
// slice does not allocate for scalar metrics (see PINS.md: ~3 µs for all).
type reader struct {
	samples []metrics.Sample
	descs   []metrics.Description
	buf     []byte
	// Per metric: the rendered `{"name":...` prefix, and for histograms the
	// rendered bucket bounds with the bounds they came from. Names never
	// change and a histogram's bounds are fixed for a runtime, so most of
	// the document's text is rendered once (it halves the cost per request).
	prefix  [][]byte
	buckets []cachedBuckets
}

type cachedBuckets struct {
	bounds []float64
	text   []byte
}

var readers = sync.Pool{New: func() any {
	descs := metrics.All()
	r := &reader{descs: descs, samples: make([]metrics.Sample, len(descs)),
		prefix: make([][]byte, len(descs)), buckets: make([]cachedBuckets, len(descs))}
	for i, d := range descs {
		r.samples[i].Name = d.Name
		p := strconv.AppendQuote([]byte(`{"name":`), d.Name)
		if d.Cumulative {
			p = append(p, `,"cumulative":true`...)
		}
		r.prefix[i] = p
	}
	return r
}}

func serve(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "gotune agent: read-only endpoint, use GET", http.StatusMethodNotAllowed)
		return
	}
	r := readers.Get().(*reader)
	defer readers.Put(r)
	r.buf = r.appendDocument(r.buf[:0], time.Now())
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(r.buf)))
	if req.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(r.buf)
}

// appendDocument renders the JSON document by hand: encoding/json would
// reflect over every sample and cannot encode the ±Inf histogram bounds.
func (r *reader) appendDocument(b []byte, now time.Time) []byte {
	metrics.Read(r.samples)
	b = append(b, `{"format":`...)
	b = strconv.AppendInt(b, FormatVersion, 10)
	b = append(b, `,"go_version":`...)
	b = strconv.AppendQuote(b, runtime.Version())
	b = append(b, `,"pid":`...)
	b = strconv.AppendInt(b, int64(os.Getpid()), 10)
	b = append(b, `,"start_time":"`...)
	b = startTime.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","time":"`...)
	b = now.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","gomaxprocs":`...)
	b = strconv.AppendInt(b, int64(runtime.GOMAXPROCS(0)), 10)
	if p, ok := readProcess(); ok {
		b = append(b, `,"process":{"cpu_seconds":`...)
		b = appendFloat(b, p.cpuSeconds)
		b = append(b, `,"rss_bytes":`...)
		b = strconv.AppendUint(b, p.rssBytes, 10)
		b = append(b, '}')
	}
	b = append(b, `,"metrics":[`...)
	for i, s := range r.samples {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, r.prefix[i]...)
		switch s.Value.Kind() {
		case metrics.KindUint64:
			b = append(b, `,"kind":"uint64","value":`...)
			b = strconv.AppendUint(b, s.Value.Uint64(), 10)
		case metrics.KindFloat64:
			b = append(b, `,"kind":"float64","value":`...)
			b = appendFloat(b, s.Value.Float64())
		case metrics.KindFloat64Histogram:
			h := s.Value.Float64Histogram()
			b = append(b, `,"kind":"histogram","buckets":[`...)
			b = append(b, r.bucketText(i, h.Buckets)...)
			b = append(b, `],"counts":[`...)
			for j, c := range h.Counts {
				if j > 0 {
					b = append(b, ',')
				}
				b = strconv.AppendUint(b, c, 10)
			}
			b = append(b, ']')
		default: // KindBad: a metric this Go version lists but does not support
			b = append(b, `,"kind":"unsupported"`...)
		}
		b = append(b, '}')
	}
	return append(b, "]}\n"...)
}

// bucketText returns the rendered bounds of metric i, rendering them again
// only if they differ from the cached ones.
func (r *reader) bucketText(i int, bounds []float64) []byte {
	c := &r.buckets[i]
	if c.text != nil && slices.Equal(c.bounds, bounds) {
		return c.text
	}
	c.bounds = append(c.bounds[:0], bounds...)
	c.text = c.text[:0]
	for j, v := range bounds {
		if j > 0 {
			c.text = append(c.text, ',')
		}
		c.text = appendFloat(c.text, v)
	}
	return c.text
}

// appendFloat writes f as a JSON number, or as the strings "+Inf", "-Inf" and
// "NaN", which JSON numbers cannot express. Float decodes both forms.
func appendFloat(b []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(b, `"+Inf"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Inf"`...)
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}
