package export

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pprofile"

	"github.com/gotune/gotune/export/exporttest"
	"github.com/gotune/gotune/internal/testproc"
	"github.com/gotune/gotune/profile"
)

// Every kind the dashboard exports, from a live session.
var liveKinds = []profile.Kind{profile.KindCPU, profile.KindHeap, profile.KindAllocs, profile.KindGoroutine}

// TestCollectorReceivesSession exports a live session's profiles and
// metrics to the real collector (built from the module proxy, profiles
// behind their feature gate) over HTTP and over gRPC, and checks the file
// exporter's output: per profile and sample type, the sample totals equal
// the pprof totals; every metric value equals the session's; the labels
// arrive as resource attributes.
func TestCollectorReceivesSession(t *testing.T) {
	live := captureLive(t, liveKinds...)
	for _, grpc := range []bool{false, true} {
		name := "http"
		if grpc {
			name = "grpc"
		}
		t.Run(name, func(t *testing.T) {
			col := exporttest.StartCollector(t, t.TempDir(), 0, 0)
			cfg := OTLPConfig{Endpoint: col.HTTPURL()}
			if grpc {
				cfg = OTLPConfig{Endpoint: col.GRPCAddr(), GRPC: true}
			}
			sink, err := NewOTLP(cfg)
			testproc.Must(t, err, "sink")
			ex, err := New(sink, Options{MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond})
			testproc.Must(t, err, "exporter")
			o := Origin{Target: live.target, Service: "exporttarget", Host: "test-host", GOGC: GOGCOf(&live.points[len(live.points)-1]), Trigger: "test", Phase: "before"}
			for _, c := range live.profiles {
				testproc.Must(t, ex.EnqueueProfile(c, o), "enqueue "+string(c.Kind))
			}
			testproc.Must(t, ex.EnqueueMetrics(live.points, o), "enqueue metrics")
			ctx, cancel := context.WithTimeout(context.Background(), testproc.MinWait)
			defer cancel()
			testproc.Must(t, ex.Close(ctx), "close")
			st := ex.Stats()
			if st.Sent != int64(len(live.profiles)+1) || st.Lost() != 0 {
				t.Fatalf("stats: %s", st)
			}
			var profs []pprofile.Profiles
			testproc.Eventually(t, 20*time.Second, func() bool {
				profs, _ = col.Received()
				return len(profs) >= len(live.profiles)
			}, "the collector wrote %d of %d profiles; log:\n%s", len(profs), len(live.profiles), col.LogText())
			col.Stop() // flush
			profs, mets := col.Received()

			for _, c := range live.profiles {
				want := exporttest.PprofTotals(c.Profile)
				got := map[string]int64{}
				for _, pd := range profs {
					for k, v := range exporttest.OTLPTotals(pd, c.Kind) {
						got[k] += v
					}
				}
				if len(want) == 0 {
					t.Fatalf("%s: the live profile has no sample types", c.Kind)
				}
				for st, w := range want {
					if got[st] != w {
						t.Errorf("%s %s: collector total %d, pprof total %d", c.Kind, st, got[st], w)
					}
				}
				t.Logf("%s: %d samples, totals %v", c.Kind, c.Profile.NumSamples(), want)
			}
			// pprof labels (the target's pprof.Do "worker" label) arrive as
			// sample attributes.
			labelled := 0
			for _, pd := range profs {
				dict := pd.Dictionary()
				ps := pd.ResourceProfiles().At(0).ScopeProfiles().At(0).Profiles()
				for i := range ps.Len() {
					for j := range ps.At(i).Samples().Len() {
						ai := ps.At(i).Samples().At(j).AttributeIndices()
						for k := range ai.Len() {
							a := dict.AttributeTable().At(int(ai.At(k)))
							if dict.StringTable().At(int(a.KeyStrindex())) == "worker" {
								labelled++
							}
						}
					}
				}
			}
			if labelled == 0 {
				t.Error("no sample carries the target's pprof label \"worker\"")
			}
			attrs := profs[0].ResourceProfiles().At(0).Resource().Attributes()
			for k, w := range map[string]string{"service.name": "exporttarget", "host.name": "test-host", "gotune.phase": "before", "gotune.trigger": "test", "gotune.gogc": "150", "process.runtime.version": live.target.GoVersion} {
				if v, _ := attrs.Get(k); v.AsString() != w {
					t.Errorf("resource attribute %s = %q, want %q", k, v.AsString(), w)
				}
			}
			if v, _ := attrs.Get("process.pid"); v.Int() != int64(live.target.PID) {
				t.Errorf("process.pid = %d, want %d", v.Int(), live.target.PID)
			}
			n := checkMetrics(t, exporttest.MetricValues(mets), live.points)
			if n < 50*len(live.points) {
				t.Errorf("only %d metric values checked over %d points", n, len(live.points))
			}
			t.Logf("%d metric values over %d points agree; %s", n, len(live.points), st)
		})
	}
}
