package export

import (
	"io"
	"log"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pprofile"

	"github.com/gotune/gotune/export/exporttest"
	"github.com/gotune/gotune/internal/testproc"
	"github.com/gotune/gotune/profile"
)

// seqsAtCollector collects the "seq" resource attribute of everything the
// collector runs in dir wrote, with how many profile samples each carried.
func seqsAtCollector(t *testing.T, outs []string) (profiles map[int]int64, metrics map[int]int) {
	t.Helper()
	profiles, metrics = map[int]int64{}, map[int]int{}
	for _, out := range outs {
		profs, mets := exporttest.ParseFileExport(t, out)
		for _, pd := range profs {
			rps := pd.ResourceProfiles()
			for i := range rps.Len() {
				v, _ := rps.At(i).Resource().Attributes().Get("seq")
				n, _ := strconv.Atoi(v.AsString())
				one := pprofile.NewProfiles()
				pd.Dictionary().CopyTo(one.Dictionary())
				rps.At(i).CopyTo(one.ResourceProfiles().AppendEmpty())
				for _, tot := range exporttest.OTLPTotals(one, profile.KindHeap) {
					profiles[n] += tot
				}
			}
		}
		for _, md := range mets {
			rms := md.ResourceMetrics()
			for i := range rms.Len() {
				v, _ := rms.At(i).Resource().Attributes().Get("seq")
				n, _ := strconv.Atoi(v.AsString())
				metrics[n] += countDataPoints(rms.At(i))
			}
		}
	}
	return profiles, metrics
}

func countDataPoints(rm pmetric.ResourceMetrics) int {
	n := 0
	sms := rm.ScopeMetrics()
	for i := range sms.Len() {
		ms := sms.At(i).Metrics()
		for j := range ms.Len() {
			switch m := ms.At(j); m.Type() {
			case pmetric.MetricTypeGauge:
				n += m.Gauge().DataPoints().Len()
			case pmetric.MetricTypeSum:
				n += m.Sum().DataPoints().Len()
			case pmetric.MetricTypeHistogram:
				n += m.Histogram().DataPoints().Len()
			}
		}
	}
	return n
}

// TestCollectorFaults drives the real collector through every fault in
// turn while gotune keeps exporting heap profiles and metrics, each item
// tagged with a sequence number: down at start (nothing listens), refusing
// (503, then a 400 that fails one request for good), slow (a proxy holds
// requests 30 s; the exporter times out at 500 ms), killed mid-run
// (SIGKILL) and restarted on the same ports. HTTP goes through a fault
// proxy in front of the collector; gRPC connects directly. In the end
// every item except the one refused with 400 is in the collector's output,
// with its full sample total, and the stats say so.
func TestCollectorFaults(t *testing.T) {
	for _, grpc := range []bool{false, true} {
		name := "http"
		if grpc {
			name = "grpc"
		}
		t.Run(name, func(t *testing.T) { collectorFaults(t, grpc) })
	}
}

func collectorFaults(t *testing.T, grpc bool) {
	dir := t.TempDir()
	grpcPort, httpPort := exporttest.FreePort(t), exporttest.FreePort(t)
	backend, _ := url.Parse("http://127.0.0.1:" + strconv.Itoa(httpPort))
	rp := httputil.NewSingleHostReverseProxy(backend)
	rp.ErrorLog = log.New(io.Discard, "", 0) // the collector is down on purpose
	proxy := exporttest.NewFaultServer(t, rp)
	cfg := OTLPConfig{Endpoint: proxy.URL()}
	if grpc {
		cfg = OTLPConfig{Endpoint: "127.0.0.1:" + strconv.Itoa(grpcPort), GRPC: true}
	}
	sink, err := NewOTLP(cfg)
	testproc.Must(t, err, "sink")
	o := withSpill(fastRetry, t.TempDir(), 0)
	o.RequestTimeout = 500 * time.Millisecond
	ex, err := New(sink, o)
	testproc.Must(t, err, "exporter")
	defer closeWithin(t, ex, time.Second)

	heap := fixture(t, profile.KindHeap)
	heapTotal := int64(0)
	for _, v := range exporttest.PprofTotals(heap.Profile) {
		heapTotal += v
	}
	points := syntheticPoints(3, time.Unix(1_700_000_000, 0))
	perPoints := 0
	for _, p := range points {
		perPoints += len(p.Values) + len(p.Derived) + len(p.Histograms)
	}
	seq := 0
	sentProfiles, sentMetrics := map[int]bool{}, map[int]bool{}
	enqueue := func(n int) {
		for range n {
			seq++
			o := seqOrigin(seq)
			if seq%2 == 0 {
				testproc.Must(t, ex.EnqueueMetrics(points, o), "enqueue metrics")
				sentMetrics[seq] = true
			} else {
				testproc.Must(t, ex.EnqueueProfile(heap, o), "enqueue profile")
				sentProfiles[seq] = true
			}
		}
	}
	waitFailing := func(what string) {
		t.Helper()
		r := ex.Stats().Retries
		testproc.Eventually(t, 30*time.Second, func() bool { s := ex.Stats(); return s.Failing && s.Retries >= r+2 }, "%s: no retries: %s", what, ex.Stats())
	}
	waitSent := func(what string, n int64) {
		t.Helper()
		testproc.Eventually(t, 60*time.Second, func() bool { return ex.Stats().Sent >= n }, "%s: %s", what, ex.Stats())
	}

	// Down at start.
	enqueue(4)
	waitFailing("down at start")
	// The spill goroutine writes to disk once the exporter is failing; on a
	// busy machine (encoding a heap profile under -race) it may lag the
	// 33 ms retries, so wait for it rather than expect it by now.
	testproc.Eventually(t, 30*time.Second, func() bool { return ex.Stats().Spilled > 0 }, "down at start: nothing spilled: %s", ex.Stats())
	if st := ex.Stats(); st.Sent != 0 {
		t.Fatalf("down at start: %s", st)
	}
	col := exporttest.StartCollector(t, dir, grpcPort, httpPort)
	proxy.Up()
	waitSent("after the collector started", 4)

	if !grpc {
		// Refusing: 503 is retried, 400 fails that request for good.
		proxy.Set(503, 0)
		enqueue(2)
		waitFailing("503")
		proxy.Set(0, 0)
		waitSent("after 503", 6)
		proxy.Set(400, 0)
		enqueue(1)
		testproc.Eventually(t, 30*time.Second, func() bool { return ex.Stats().Failed == 1 }, "400 not counted: %s", ex.Stats())
		refused := seq
		delete(sentProfiles, refused)
		delete(sentMetrics, refused)
		proxy.Set(0, 0)

		// Slow: no answer for 30 s.
		proxy.Set(0, 30*time.Second)
		enqueue(2)
		waitFailing("slow")
		if st := ex.Stats(); !strings.Contains(st.LastError, "deadline exceeded") {
			t.Errorf("slow: last error %q", st.LastError)
		}
		proxy.Set(0, 0)
		waitSent("after slow", 8)
	}

	// Killed mid-run: wait until the file holds what was sent, kill, keep
	// exporting, restart on the same ports.
	before := ex.Stats().Sent
	testproc.Eventually(t, 20*time.Second, func() bool {
		p, m := seqsAtCollector(t, []string{col.Out()})
		return int64(len(p)+len(m)) >= before
	}, "the collector did not write what it accepted")
	col.Kill()
	enqueue(4)
	waitFailing("killed")
	col2 := exporttest.StartCollector(t, dir, grpcPort, httpPort)
	waitSent("after the restart", before+4)
	col2.Stop()

	st := ex.Stats()
	gotP, gotM := seqsAtCollector(t, []string{col.Out(), col2.Out()})
	for s := range sentProfiles {
		if gotP[s] == 0 || gotP[s]%heapTotal != 0 {
			t.Errorf("profile seq %d: collector total %d, want %d (or a multiple: at-least-once)", s, gotP[s], heapTotal)
		}
	}
	for s := range sentMetrics {
		if gotM[s] == 0 || gotM[s]%perPoints != 0 {
			t.Errorf("metrics seq %d: %d data points at the collector, want %d", s, gotM[s], perPoints)
		}
	}
	wantFailed := int64(1)
	if grpc {
		wantFailed = 0
	}
	if st.Sent != int64(len(sentProfiles)+len(sentMetrics)) || st.Failed != wantFailed || st.Dropped != 0 || st.Spilled != 0 || st.Queued != 0 {
		t.Errorf("stats: %s", st)
	}
	t.Logf("%d items through the faults, %d retries; %s", seq, st.Retries, st)
}
