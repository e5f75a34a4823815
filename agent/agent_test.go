package agent

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"
)

func fetch(t *testing.T, h http.Handler, method string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, Path, nil))
	return rec
}

func TestDocumentHasEveryMetric(t *testing.T) {
	rec := fetch(t, Handler(), http.MethodGet)
	if rec.Code != 200 || rec.Header().Get("Content-Type") != ContentType {
		t.Fatalf("status %d, content type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	var doc Document
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatalf("served document is not valid JSON: %v", err)
	}
	if doc.Format != FormatVersion || doc.PID != os.Getpid() || doc.GoVersion != runtime.Version() || doc.GOMAXPROCS != runtime.GOMAXPROCS(0) {
		t.Errorf("header fields: format %d pid %d go %s gomaxprocs %d", doc.Format, doc.PID, doc.GoVersion, doc.GOMAXPROCS)
	}
	if doc.StartTime.IsZero() || doc.Time.Before(doc.StartTime) {
		t.Errorf("start %v, time %v", doc.StartTime, doc.Time)
	}
	byName := map[string]Metric{}
	for _, m := range doc.Metrics {
		byName[m.Name] = m
	}
	for _, d := range metrics.All() {
		m, ok := byName[d.Name]
		if !ok {
			t.Errorf("metric %s missing", d.Name)
			continue
		}
		if m.Cumulative != d.Cumulative {
			t.Errorf("%s: cumulative %v, want %v", d.Name, m.Cumulative, d.Cumulative)
		}
		if d.Kind == metrics.KindFloat64Histogram {
			if m.Kind != "histogram" || len(m.Buckets) != len(m.Counts)+1 {
				t.Errorf("%s: kind %s, %d buckets for %d counts", d.Name, m.Kind, len(m.Buckets), len(m.Counts))
			}
		}
	}
	// Histogram bounds at ±Inf survive the round trip.
	lat := byName["/sched/latencies:seconds"]
	if len(lat.Buckets) == 0 || !math.IsInf(float64(lat.Buckets[0]), -1) && !math.IsInf(float64(lat.Buckets[len(lat.Buckets)-1]), 1) {
		t.Errorf("scheduler latency buckets lost their infinite bounds: first %v last %v", lat.Buckets[0], lat.Buckets[len(lat.Buckets)-1])
	}
	if !strings.Contains(rec.Body.String(), `"+Inf"`) {
		t.Error(`no "+Inf" string in the document`)
	}
	if gm := byName["/sched/gomaxprocs:threads"]; int(gm.Value) != runtime.GOMAXPROCS(0) {
		t.Errorf("gomaxprocs metric %v", gm.Value)
	}
	if runtime.GOOS == "linux" && (doc.Process == nil || doc.Process.RSSBytes == 0 || doc.Process.CPUSeconds <= 0) {
		t.Errorf("process facts on linux: %+v", doc.Process)
	}
}

func TestReadOnly(t *testing.T) {
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		if rec := fetch(t, Handler(), m); rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("%s: status %d, want 405", m, rec.Code)
		}
	}
	if rec := fetch(t, Handler(), http.MethodHead); rec.Code != 200 || rec.Body.Len() != 0 {
		t.Errorf("HEAD: status %d, %d body bytes", rec.Code, rec.Body.Len())
	}
}

func TestRegistersOnDefaultMux(t *testing.T) {
	rec := fetch(t, http.DefaultServeMux, http.MethodGet)
	if rec.Code != 200 || !strings.HasPrefix(rec.Body.String(), `{"format":1`) {
		t.Fatalf("DefaultServeMux %s: status %d", Path, rec.Code)
	}
}

func TestFloatJSON(t *testing.T) {
	for _, c := range []struct {
		in   string
		want float64
	}{{`"+Inf"`, math.Inf(1)}, {`"-Inf"`, math.Inf(-1)}, {`1.5e-9`, 1.5e-9}, {`0`, 0}} {
		var f Float
		if err := json.Unmarshal([]byte(c.in), &f); err != nil || float64(f) != c.want {
			t.Errorf("%s → %v, %v", c.in, f, err)
		}
		out, _ := json.Marshal(f)
		var back Float
		json.Unmarshal(out, &back)
		if float64(back) != c.want {
			t.Errorf("round trip of %v gave %v", c.want, back)
		}
	}
	var f Float
	if err := json.Unmarshal([]byte(`"banana"`), &f); err == nil {
		t.Error("bad float string accepted")
	}
}

// BenchmarkHandler is the target's cost of one scrape: time and allocations
// per request, the document included (no network).
func BenchmarkHandler(b *testing.B) {
	h := Handler()
	req := httptest.NewRequest(http.MethodGet, Path, nil)
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
	b.ReportMetric(float64(w.n)/float64(b.N), "bytes/doc")
}

type discardWriter struct {
	h http.Header
	n int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) WriteHeader(int)             {}
func (d *discardWriter) Write(p []byte) (int, error) { d.n += len(p); return len(p), nil }
