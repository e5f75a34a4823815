package export

import (
	"context"
	"math"
	rtmetrics "runtime/metrics"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/gotune/gotune/export/exporttest"
	"github.com/gotune/gotune/internal/testproc"
	"github.com/gotune/gotune/session"
)

// syntheticPoints are n points one second apart with values that differ
// per point and per metric, so a mix-up shows.
func syntheticPoints(n int, start time.Time) []session.Point {
	var out []session.Point
	for i := range n {
		f := float64(i)
		out = append(out, session.Point{
			Sample: session.Sample{
				Time: start.Add(time.Duration(i) * time.Second),
				Values: map[string]float64{
					session.HeapLive:   64<<20 + f*4096,
					session.HeapGoal:   128<<20 + f,
					session.GCCycles:   100 + f,
					session.GOGC:       200,
					session.Goroutines: 17 + f,
					session.CPUGCTotal: 1.25 + f/8,
					session.ProcessRSS: 200<<20 + f,
					session.ProcessCPU: 3.5 + f/4,
				},
				Histograms: map[string]*session.Histogram{
					session.PausesGC: {Buckets: []float64{math.Inf(-1), 1e-6, 1e-5, 1e-4, math.Inf(1)}, Counts: []uint64{0, uint64(3 + i), 2, 1}},
				},
			},
			Derived: map[string]float64{session.GCCPU: 0.05 + f/100, session.AllocRate: 1e6 + f},
		})
	}
	return out
}

// TestRemoteWrite sends points through remote-write 1.0 and 2.0 to
// client_golang/exp's NewWriteHandler and checks each sample: its name
// (client_golang's rule), labels, millisecond timestamp and value, and the
// counter/gauge metadata.
func TestRemoteWrite(t *testing.T) {
	start := time.Unix(1_700_000_100, 250_000_000)
	points := syntheticPoints(5, start)
	for _, v2 := range []bool{false, true} {
		name := "v1"
		if v2 {
			name = "v2"
		}
		t.Run(name, func(t *testing.T) {
			store, h := exporttest.NewRemoteWriteReceiver()
			srv := exporttest.NewFaultServer(t, h)
			srv.Up()
			sink, err := NewRemoteWrite(RemoteWriteConfig{URL: srv.URL() + "/api/v1/write", V2: v2})
			testproc.Must(t, err, "sink")
			ex, err := New(sink, Options{PointsPerRequest: 2})
			testproc.Must(t, err, "exporter")
			testproc.Must(t, ex.EnqueueMetrics(points, testOrigin("after")), "enqueue")
			ctx, cancel := context.WithTimeout(context.Background(), testproc.MinWait)
			defer cancel()
			testproc.Must(t, ex.Close(ctx), "close")
			got := store.All()
			want := 0
			for _, p := range points {
				want += len(p.Values) + len(p.Derived)
			}
			if len(got) != want {
				t.Fatalf("received %d samples, want %d", len(got), want)
			}
			idx := map[string]map[int64]float64{}
			for _, s := range got {
				n := s.Labels["__name__"]
				if s.Labels["service_name"] != "api-server" || s.Labels["phase"] != "after" || s.Labels["pid"] != "4242" || s.Labels["gogc"] != "200" {
					t.Fatalf("labels of %s: %v", n, s.Labels)
				}
				if idx[n] == nil {
					idx[n] = map[int64]float64{}
				}
				idx[n][s.Ms] = s.V
			}
			for _, p := range points {
				for name, v := range p.Values {
					if g, ok := idx[PromName(name)][p.Time.UnixMilli()]; !ok || g != v {
						t.Errorf("%s (%s) at %d: got %v (present %v), want %v", PromName(name), name, p.Time.UnixMilli(), g, ok, v)
					}
				}
				for name, v := range p.Derived {
					if g := idx[PromName(DerivedPrefix+name)][p.Time.UnixMilli()]; g != v {
						t.Errorf("derived %s: got %v, want %v", name, g, v)
					}
				}
			}
			wantTypes := map[string]string{"go_gc_cycles_total_gc_cycles_total": "COUNTER", "go_gc_heap_live_bytes": "GAUGE"}
			if v2 {
				wantTypes = map[string]string{"go_gc_cycles_total_gc_cycles_total": "METRIC_TYPE_COUNTER", "go_gc_heap_live_bytes": "METRIC_TYPE_GAUGE"}
			}
			for n, w := range wantTypes {
				if store.Types()[n] != w {
					t.Errorf("metadata type of %s = %q, want %q", n, store.Types()[n], w)
				}
			}
			if st := ex.Stats(); st.Sent != 3 || st.SentData != int64(want) || st.Lost() != 0 {
				t.Errorf("stats: %s (data %d)", st, st.SentData)
			}
		})
	}
}

// TestPromNameAgreesWithClientGolang checks PromName against the names
// client_golang's own Go collector gives every runtime/metrics metric, in
// this process.
func TestPromNameAgreesWithClientGolang(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(collectors.MetricsAll)))
	mfs, err := reg.Gather()
	testproc.Must(t, err, "gather")
	served := map[string]bool{}
	for _, mf := range mfs {
		served[mf.GetName()] = true
	}
	checked := 0
	for _, d := range rtmetrics.All() {
		if d.Kind == rtmetrics.KindFloat64Histogram || d.Kind == rtmetrics.KindBad {
			continue
		}
		n := PromName(d.Name)
		if !served[n] {
			// client_golang skips names that are not valid legacy names
			// and a few it renames; those must at least be valid.
			if !validPromName(n) {
				t.Errorf("PromName(%s) = %q is not a valid metric name", d.Name, n)
			}
			continue
		}
		checked++
	}
	if checked < 40 {
		t.Errorf("only %d runtime/metrics names matched client_golang's", checked)
	}
	for in, want := range map[string]string{
		"/gc/heap/live:bytes":                "go_gc_heap_live_bytes",
		"/gc/cycles/total:gc-cycles":         "go_gc_cycles_total_gc_cycles_total",
		"/sched/gomaxprocs:threads":          "go_sched_gomaxprocs_threads",
		"/cpu/classes/gc/total:cpu-seconds":  "go_cpu_classes_gc_total_cpu_seconds_total",
		"/process/resident:bytes":            "go_process_resident_bytes",
		DerivedPrefix + "gc-cpu:fraction":    "gotune_gc_cpu_fraction",
		DerivedPrefix + "alloc-rate:bytes/s": "gotune_alloc_rate_bytes_per_s",
	} {
		if got := PromName(in); got != want {
			t.Errorf("PromName(%s) = %s, want %s", in, got, want)
		}
	}
}

func validPromName(n string) bool {
	for i, c := range n {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == ':' || c >= '0' && c <= '9' && i > 0
		if !ok {
			return false
		}
	}
	return n != ""
}
