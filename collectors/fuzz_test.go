package collectors

import (
	"bytes"
	"os"
	"testing"
	"time"
)

// The parsers of what a target sends must never panic, whatever arrives.

func FuzzAgentDocument(f *testing.F) {
	f.Add([]byte(`{"format":1,"go_version":"go1.26","pid":1,"gomaxprocs":2,"metrics":[{"name":"/gc/heap/live:bytes","kind":"uint64","value":5},{"name":"/sched/latencies:seconds","kind":"histogram","buckets":["-Inf",0,1,"+Inf"],"counts":[0,1,2]}]}`))
	f.Add([]byte(`{"format":1,"metrics":[{"name":"x","kind":"histogram","buckets":[1],"counts":[1,2,3]}]}`))
	f.Add([]byte(`<html>`))
	f.Add([]byte(`{"format":99}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		doc, err := DecodeAgentDocument(b)
		if err != nil {
			return
		}
		s := SampleFromAgent(doc, time.Unix(0, 0))
		for name, h := range s.Histograms {
			if len(h.Buckets) != len(h.Counts)+1 {
				t.Fatalf("%s: malformed histogram kept", name)
			}
			h.Quantile(0.99)
		}
	})
}

func FuzzPrometheusPage(f *testing.F) {
	f.Add([]byte("# TYPE go_goroutines gauge\ngo_goroutines 8\n# TYPE go_sched_latencies_seconds histogram\ngo_sched_latencies_seconds_bucket{le=\"1e-06\"} 5\ngo_sched_latencies_seconds_bucket{le=\"+Inf\"} 9\ngo_sched_latencies_seconds_sum 0.1\ngo_sched_latencies_seconds_count 9\n"))
	f.Add([]byte("# TYPE go_gc_duration_seconds summary\ngo_gc_duration_seconds{quantile=\"0.5\"} 0.0001\ngo_gc_duration_seconds_sum 0.01\ngo_gc_duration_seconds_count 12\n"))
	f.Add([]byte("go_goroutines{a=\"b\"} 1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := SampleFromPrometheus(b, time.Unix(0, 0))
		if err != nil {
			return
		}
		for _, h := range s.Histograms {
			if len(h.Buckets) != len(h.Counts)+1 {
				t.Fatal("malformed histogram")
			}
			h.Quantile(0.5)
		}
	})
}

func FuzzExpvarPage(f *testing.F) {
	f.Add([]byte(`{"memstats":{"HeapAlloc":100,"NextGC":200,"NumGC":300,"PauseNs":[1,2,3]}}`))
	f.Add([]byte(`{"memstats":null}`))
	f.Add([]byte(`{"cmdline":["x"]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ms, err := decodeExpvarMemstats(b)
		if err != nil {
			return
		}
		var p pauseHistogram
		p.sample(ms, time.Unix(0, 0))
		ms.NumGC += 300
		p.sample(ms, time.Unix(1, 0))
	})
}

func FuzzDecodeFetched(f *testing.F) {
	f.Add(gzipped([]byte{0x0a, 0x04, 0x08, 0x01, 0x10, 0x02}))
	f.Add([]byte{0x1f, 0x8b, 0x08})
	f.Add([]byte{0x0a, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, err := DecodeFetched(b); err == nil && got.Profile == nil {
			t.Errorf("no error and no profile for %d bytes", len(b))
		}
	})
}

func FuzzHeapMemStats(f *testing.F) {
	if b, err := os.ReadFile("testdata/heap-debug1.txt"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("heap profile: 0: 0 [0: 0] @ heap/1048576\n\n# runtime.MemStats\n# HeapAlloc = 1\n# NextGC = 2\n# NumGC = 3\n# PauseNs = [1 2]\n"))
	f.Add([]byte("heap profile: x\n# runtime.MemStats\n# GCCPUFraction = NaN\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ms, err := ParseHeapMemStats(bytes.NewReader(b))
		if err != nil {
			return
		}
		if !(ms.GCCPUFraction >= 0 && ms.GCCPUFraction <= 1) {
			t.Fatalf("fraction %v kept", ms.GCCPUFraction)
		}
		var p pauseHistogram
		s := p.sample(ms, time.Unix(0, 0))
		for _, h := range s.Histograms {
			h.Quantile(0.99)
		}
	})
}
