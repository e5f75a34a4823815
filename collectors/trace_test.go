package collectors

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gotune/gotune/internal/testproc"
	"github.com/gotune/gotune/trace"
)

// startTraceTarget runs the lock-contention workload of trace-cases with
// net/http/pprof served on loopback and returns its base URL.
func startTraceTarget(t *testing.T) string {
	t.Helper()
	bin := testproc.Build(t, "./testdata/targets/trace-cases")
	p := testproc.Start(t, bin, nil, "-case", "lock", "-serve", "127.0.0.1:0")
	f := strings.Fields(p.FirstLine)
	if len(f) != 3 || f[0] != "ready" {
		t.Fatalf("trace-cases said %q", p.FirstLine)
	}
	return "http://" + f[2]
}

func TestFetchTraceFromPprof(t *testing.T) {
	base := startTraceTarget(t)
	c := NewTraceClient(base)
	var (
		mu    sync.Mutex
		steps []TraceProgress
	)
	var buf bytes.Buffer
	n, err := c.Fetch(t.Context(), TraceRequest{Seconds: 1, Progress: func(p TraceProgress) {
		mu.Lock()
		steps = append(steps, p)
		mu.Unlock()
	}}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) || n < 1000 {
		t.Fatalf("Fetch returned %d, wrote %d bytes", n, buf.Len())
	}
	// The bytes are a whole trace of the workload.
	s, err := trace.Analyze(t.Context(), bytes.NewReader(buf.Bytes()), trace.Options{})
	if err != nil {
		t.Fatalf("the fetched trace does not parse: %v", err)
	}
	if s.Duration < 900*time.Millisecond || s.Duration > 5*time.Second {
		t.Errorf("a 1 s capture spans %s", s.Duration)
	}
	var sync time.Duration
	for _, r := range s.Blocking.Reasons {
		if r.Category == trace.CatSync {
			sync = r.Total
		}
	}
	if sync <= 0 {
		t.Errorf("a trace of six goroutines sharing one mutex shows no sync blocking: %+v", s.Blocking.Reasons)
	}
	// Progress: at least the final report, bytes never go back, the last
	// one is Done with every byte.
	if len(steps) == 0 || !steps[len(steps)-1].Done || steps[len(steps)-1].Bytes != n {
		t.Fatalf("progress %+v", steps)
	}
	for i := 1; i < len(steps); i++ {
		if steps[i].Bytes < steps[i-1].Bytes || steps[i].Seconds != 1 {
			t.Fatalf("progress goes back or forgets the length: %+v", steps)
		}
	}
}

func TestFetchTraceOneAtATime(t *testing.T) {
	base := startTraceTarget(t)
	c := NewTraceClient(base)
	started := make(chan struct{})
	var once sync.Once
	errc := make(chan error, 1)
	go func() {
		_, err := c.Fetch(t.Context(), TraceRequest{Seconds: 2, Progress: func(TraceProgress) { once.Do(func() { close(started) }) }}, &bytes.Buffer{})
		errc <- err
	}()
	select {
	case <-started:
	case <-time.After(testproc.MinWait):
		t.Fatal("the first capture sent nothing")
	}
	// A second client for the same target is refused too.
	if _, err := NewTraceClient(base).Fetch(t.Context(), TraceRequest{Seconds: 1}, &bytes.Buffer{}); !errors.Is(err, ErrTraceBusy) {
		t.Errorf("second capture: %v, want ErrTraceBusy", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("first capture: %v", err)
	}
	// Once it is done, the next one runs.
	if _, err := c.Fetch(t.Context(), TraceRequest{Seconds: 1}, &bytes.Buffer{}); err != nil {
		t.Errorf("capture after the first: %v", err)
	}
}

func TestFetchTraceCancel(t *testing.T) {
	base := startTraceTarget(t)
	c := NewTraceClient(base)
	ctx, cancel := context.WithCancel(t.Context())
	start := time.Now()
	time.AfterFunc(300*time.Millisecond, cancel)
	_, err := c.Fetch(ctx, TraceRequest{Seconds: 30}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "cancelled") {
		t.Fatalf("cancelled capture: %v", err)
	}
	// Under the 30 s the capture asked for: the cancel ended it, however
	// loaded the machine.
	if d := time.Since(start); d >= 30*time.Second {
		t.Errorf("cancel took %s to end a 30 s capture", d)
	}
	// The target stopped tracing when gotune went away: a new capture is
	// accepted (it would get "tracing is already enabled" otherwise).
	testproc.Eventually(t, 20*time.Second, func() bool {
		_, err := c.Fetch(t.Context(), TraceRequest{Seconds: 1}, &bytes.Buffer{})
		return err == nil
	}, "a capture after the cancelled one never succeeded")
}

func TestFetchTraceErrors(t *testing.T) {
	trBase := startTraceTarget(t)
	noPprof := startMetricsServer(t, "expvar")

	hang := make(chan struct{})
	defer close(hang)
	mux := http.NewServeMux()
	mux.HandleFunc("/hang/debug/pprof/trace", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/html/debug/pprof/trace", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html><body>Please log in</body></html>"))
	})
	mux.HandleFunc("/busy/debug/pprof/trace", func(w http.ResponseWriter, r *http.Request) {
		// What net/http/pprof answers while another client traces.
		http.Error(w, "Could not enable tracing: tracing is already enabled", http.StatusInternalServerError)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	defer srv.Close()
	odd := "http://" + ln.Addr().String()

	for _, c := range []struct {
		name string
		base string
		req  TraceRequest
		want string
	}{
		{"no pprof", noPprof, TraceRequest{Seconds: 1}, "this server does not register net/http/pprof"},
		{"no flight recorder", trBase, TraceRequest{FlightRecorder: true}, "did not enable the flight recorder"},
		{"refused", refusedAddr(t), TraceRequest{Seconds: 1}, "connection refused"},
		{"too large", trBase, TraceRequest{Seconds: 1, MaxBytes: 2000}, "larger than the 2.0 KiB budget"},
		{"no answer", odd + "/hang", TraceRequest{Seconds: 1, Timeout: 300 * time.Millisecond}, "no answer within 1.3s"},
		{"html", odd + "/html", TraceRequest{Seconds: 1}, "HTML page, not an execution trace"},
		{"busy target", odd + "/busy", TraceRequest{Seconds: 1}, "already writing an execution trace for another client"},
		{"too long", trBase, TraceRequest{Seconds: 3600}, "longer than the 60 s"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			_, err := NewTraceClient(c.base).Fetch(t.Context(), c.req, &buf)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want %q", err, c.want)
			}
			if c.name == "html" && buf.Len() != 0 {
				t.Errorf("an HTML page was passed on (%d bytes)", buf.Len())
			}
		})
	}
}

func TestCheckTraceHeader(t *testing.T) {
	for _, c := range []struct {
		head string
		ok   bool
	}{
		{"go 1.26 trace\x00\x00\x00", true},
		{"go 1.", true},
		{"go", true},
		{"", false},
		{"<!DOCTYPE html>", false},
		{"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", false},
		{"go 1.26 tracks\x00\x00", false},
	} {
		if err := checkTraceHeader([]byte(c.head)); (err == nil) != c.ok {
			t.Errorf("%q: %v", c.head, err)
		}
	}
}

// A flight-recorder snapshot (runtime/trace.FlightRecorder served where
// gotune's agent serves it) arrives at once and parses.
func TestFetchFlightRecorder(t *testing.T) {
	bin := testproc.Build(t, "./testdata/targets/trace-cases")
	p := testproc.Start(t, bin, nil, "-case", "lock", "-serve", "127.0.0.1:0", "-flightrecorder")
	base := "http://" + strings.Fields(p.FirstLine)[2]
	time.Sleep(500 * time.Millisecond) // let it record something
	var buf bytes.Buffer
	var last TraceProgress
	n, err := NewTraceClient(base).Fetch(t.Context(), TraceRequest{FlightRecorder: true, Progress: func(p TraceProgress) { last = p }}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	// Seconds 0: a snapshot of the recorder, not a timed capture.
	if !last.Done || last.Bytes != n || last.Seconds != 0 {
		t.Errorf("last progress %+v", last)
	}
	s, err := trace.Analyze(t.Context(), bytes.NewReader(buf.Bytes()), trace.Options{})
	if err != nil {
		t.Fatalf("the snapshot does not parse: %v", err)
	}
	if s.Events == 0 || s.Duration <= 0 {
		t.Errorf("empty snapshot: %d events over %s", s.Events, s.Duration)
	}
}
