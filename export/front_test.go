package export

import (
	"context"
	"testing"
	"time"

	"github.com/gotune/gotune/export/exporttest"
	"github.com/gotune/gotune/internal/testproc"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/session"
)

func TestParseDestination(t *testing.T) {
	for _, c := range []struct {
		in, kind, endpoint string
		ok                 bool
	}{
		{"otlp+http://127.0.0.1:4318", "otlp-http", "http://127.0.0.1:4318", true},
		{"otlp+https://collector.example:4318/", "otlp-http", "https://collector.example:4318", true},
		{"otlp+grpc://127.0.0.1:4317", "otlp-grpc", "127.0.0.1:4317", true},
		{"pyroscope+http://127.0.0.1:4040", "pyroscope", "http://127.0.0.1:4040", true},
		{"remote-write+http://127.0.0.1:9090/api/v1/write", "remote-write", "http://127.0.0.1:9090/api/v1/write", true},
		{"remote-write-v2+http://127.0.0.1:9090/api/v1/write", "remote-write-v2", "http://127.0.0.1:9090/api/v1/write", true},
		{"http://127.0.0.1:4318", "", "", false},
		{"zipkin+http://127.0.0.1:9411", "", "", false},
		{"pyroscope+ftp://x", "", "", false},
	} {
		s, err := ParseDestination(c.in)
		if (err == nil) != c.ok {
			t.Errorf("ParseDestination(%q): err %v, want ok=%v", c.in, err, c.ok)
			continue
		}
		if err == nil && (s.Kind() != c.kind || s.Endpoint() != c.endpoint) {
			t.Errorf("ParseDestination(%q) = %s %s, want %s %s", c.in, s.Kind(), s.Endpoint(), c.kind, c.endpoint)
		}
	}
}

// TestGroupAndFollow: a Group of Pyroscope and remote-write sends each
// signal only where it is taken; Follow exports a live store's points as
// they arrive (more than one ring's worth) and what is left at the end.
func TestGroupAndFollow(t *testing.T) {
	pyro := &exporttest.PyroscopeReceiver{}
	psrv := exporttest.NewFaultServer(t, pyro)
	psrv.Up()
	store, h := exporttest.NewRemoteWriteReceiver()
	rsrv := exporttest.NewFaultServer(t, h)
	rsrv.Up()
	var g Group
	for _, d := range []string{"pyroscope+" + psrv.URL(), "remote-write+" + rsrv.URL() + "/api/v1/write"} {
		sink, err := ParseDestination(d)
		testproc.Must(t, err, d)
		ex, err := New(sink, fastRetry)
		testproc.Must(t, err, "exporter")
		g = append(g, ex)
	}
	testproc.Must(t, g.EnqueueProfile(fixture(t, profile.KindGoroutine), testOrigin("before")), "profile")

	st := session.NewStore(50)
	st.SetTarget(testOrigin("").Target)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		done <- Follow(ctx, st, g, func(s *session.Snapshot) Origin { return OriginOf(s, "follow", "watch", "") }, FollowOptions{Every: 50 * time.Millisecond, PointsPerBatch: 10})
	}()
	start := time.Unix(1_700_000_000, 0)
	const n = 120 // over twice the ring
	for i := range n {
		st.Append(session.Sample{Time: start.Add(time.Duration(i) * time.Second), Values: map[string]float64{session.Goroutines: float64(i), session.GOGC: 100}})
		if i%20 == 19 && i < n-1 {
			// The ring holds 50: wait until Follow has these out.
			want := i + 1
			testproc.Eventually(t, 20*time.Second, func() bool {
				c := 0
				for _, s := range store.All() {
					if s.Labels["__name__"] == PromName(session.Goroutines) {
						c++
					}
				}
				return c >= want
			}, "Follow did not export the first %d points", want)
		}
	}
	cancel()
	queued := <-done
	cctx, ccancel := context.WithTimeout(context.Background(), testproc.MinWait)
	defer ccancel()
	testproc.Must(t, g.Close(cctx), "close")

	if queued != n {
		t.Errorf("Follow queued %d points, want %d", queued, n)
	}
	got := map[int64]float64{}
	for _, s := range store.All() {
		if s.Labels["__name__"] == PromName(session.Goroutines) {
			got[s.Ms] = s.V
			if s.Labels["service_name"] != "follow" || s.Labels["trigger"] != "watch" || s.Labels["gogc"] != "100" {
				t.Fatalf("labels %v", s.Labels)
			}
		}
	}
	for i := range n {
		if v, ok := got[start.Add(time.Duration(i)*time.Second).UnixMilli()]; !ok || v != float64(i) {
			t.Errorf("point %d: got %v (present %v)", i, v, ok)
		}
	}
	if len(pyro.Ingests()) != 1 {
		t.Errorf("pyroscope got %d profiles, want 1", len(pyro.Ingests()))
	}
	for _, s := range g.Stats() {
		if s.Lost() != 0 {
			t.Errorf("%s", s)
		}
	}
}
