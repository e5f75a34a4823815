package capture

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gotune/gotune/advisor"
	"github.com/gotune/gotune/collectors"
	"github.com/gotune/gotune/internal/testproc"
	"github.com/gotune/gotune/snapshot"
	"github.com/gotune/gotune/trace"
)

// fixtureTrace is testdata/traces/stw.trace (see its README): a real
// trace whose clock snapshot lies after t0.
func fixtureTrace(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "traces", "stw.trace"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// bytesTracer serves fixed bytes as a trace, or blocks until cancelled.
type bytesTracer struct {
	data  []byte
	block bool
	calls atomic.Int32
	asked []collectors.TraceRequest
}

func (b *bytesTracer) Fetch(ctx context.Context, req collectors.TraceRequest, w io.Writer) (int64, error) {
	b.calls.Add(1)
	b.asked = append(b.asked, req)
	if b.block {
		<-ctx.Done()
		return 0, ctx.Err()
	}
	if req.Progress != nil {
		req.Progress(collectors.TraceProgress{Bytes: int64(len(b.data)), Done: true})
	}
	n, err := w.Write(b.data)
	return int64(n), err
}

func traceSession(t *testing.T, f TraceFetcher) *Session {
	t.Helper()
	clock := t0
	sess := New(recordedStore(30), nil, Options{Name: "test", Now: func() time.Time { return clock }, Traces: f})
	sess.MarkStart(t.Context())
	return sess
}

// A trace taken through the session is analysed, held, carried by the
// next window into the advisor's input and the snapshot, and the snapshot
// keeps the bytes go tool trace reads.
func TestTraceHeldIntoWindowAndSnapshot(t *testing.T) {
	raw := fixtureTrace(t)
	f := &bytesTracer{data: raw}
	sess := traceSession(t, f)
	var progress []collectors.TraceProgress
	c, err := sess.Trace(t.Context(), TraceOptions{Seconds: 2, Progress: func(p collectors.TraceProgress) { progress = append(progress, p) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.asked) != 1 || f.asked[0].Seconds != 2 || f.asked[0].MaxBytes != collectors.DefaultMaxTrace || len(progress) != 1 || !progress[0].Done {
		t.Errorf("asked %+v, progress %+v", f.asked, progress)
	}
	s := c.Summary
	if s == nil || s.Pauses.Count != 7 || s.GOMAXPROCS != 2 || c.Source != trace.SourcePprof || c.Seconds != 2 {
		t.Fatalf("summary %+v, source %s %d s", s, c.Source, c.Seconds)
	}
	if w, _ := s.Pauses.Worst(); w.Reason != "GC sweep termination" || w.Duration < 90*time.Millisecond {
		t.Errorf("worst pause %s %s", w.Reason, w.Duration)
	}
	if !bytes.Equal(c.Raw, raw) || !c.FromTrace || !c.From.Equal(s.WallStart) || c.To.Sub(c.From) != s.Duration {
		t.Errorf("raw %d bytes (want %d), span %s–%s from trace %v", len(c.Raw), len(raw), c.From, c.To, c.FromTrace)
	}
	if sess.HeldTrace() != c || !sess.HasTraces() {
		t.Fatal("the trace is not held")
	}

	w, err := sess.Window(t.Context(), WindowOptions{HeldOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if w.Trace != c || w.AdvisorInput().Trace != s {
		t.Fatalf("the window does not carry the held trace: %v", w.Trace)
	}
	r := w.Advise(advisor.DefaultConfig())
	if f := findFinding(r.Findings, "trace-long-pause"); f == nil {
		t.Errorf("no trace-long-pause finding from a trace with 100 ms pauses: %v", ids(r.Findings))
	}
	snap := w.Snapshot(SnapshotOptions{Name: "with trace"})
	if snap.Trace != c {
		t.Fatal("the snapshot lacks the trace")
	}
	var buf bytes.Buffer
	if err := snapshot.Encode(&buf, snap); err != nil {
		t.Fatal(err)
	}
	back, err := snapshot.Decode(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if back.Trace == nil || !bytes.Equal(back.Trace.Raw, raw) || back.Trace.Summary == nil ||
		back.Trace.Summary.Pauses.Count != 7 || back.Trace.Source != trace.SourcePprof || !back.Trace.From.Equal(c.From) {
		t.Fatalf("trace after a round trip: %+v", back.Trace)
	}

	// A replay of the snapshot holds the trace and its windows carry it.
	rw, err := Replay(back).Window(t.Context(), WindowOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rw.Trace == nil || rw.AdvisorInput().Trace == nil || rw.AdvisorInput().Trace.Pauses.Count != 7 {
		t.Errorf("a replayed window does not carry the trace: %+v", rw.Trace)
	}
	// A window that leaves profiles out leaves the trace out too.
	if nw, _ := sess.Window(t.Context(), WindowOptions{NoProfiles: true}); nw == nil || nw.Trace != nil {
		t.Errorf("a window without profiles carries the trace")
	}
}

// Bad input: each is a clear error, and a bad trace is never held.
func TestTraceBadInput(t *testing.T) {
	raw := fixtureTrace(t)
	newer := append([]byte("go 1.99 trace\x00\x00\x00"), raw[16:]...)
	cases := []struct {
		name    string
		data    []byte
		max     int64
		is      error
		want    string
		holdsIt bool
	}{
		{"garbage", []byte("<html><body>login</body></html> and more bytes"), 0, trace.ErrNotTrace, "not a Go execution trace", false},
		{"newer Go", newer, 0, trace.ErrUnsupported, "written by Go 1.99, newer than this gotune can read", false},
		{"truncated", raw[:len(raw)*2/3], 0, trace.ErrTruncated, "truncated", true},
		{"huge", raw, 64 << 10, trace.ErrTooLarge, "larger than the limit", false},
		{"empty", nil, 0, trace.ErrEmpty, "empty", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sess := traceSession(t, &bytesTracer{data: tc.data})
			c, err := sess.Trace(t.Context(), TraceOptions{MaxBytes: tc.max})
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "read the execution trace") {
				t.Fatalf("error %v, want %v containing %q", err, tc.is, tc.want)
			}
			if held := sess.HeldTrace(); (held != nil) != tc.holdsIt || (c != nil) != tc.holdsIt {
				t.Fatalf("held %v, returned %v; want held %v", held, c, tc.holdsIt)
			}
			if tc.holdsIt && (!c.Summary.Truncated || c.Problem == "" || c.Summary.Events == 0) {
				t.Errorf("a truncated trace keeps what was read: %+v", c.Summary)
			}
		})
	}
}

// A target without /debug/pprof/trace, a trace over the budget and a body
// cut mid-trace, through the real trace client: errors a person can act on.
func TestTraceClientErrors(t *testing.T) {
	raw := fixtureTrace(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/trace", func(w http.ResponseWriter, r *http.Request) { w.Write(raw) })
	mux.HandleFunc("/cut/debug/pprof/trace", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "999999")
		w.Write(raw[:50000])
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	plain := httptest.NewServer(http.NotFoundHandler())
	defer plain.Close()

	sess := traceSession(t, collectors.NewTraceClient(plain.URL))
	if _, err := sess.Trace(t.Context(), TraceOptions{Seconds: 1}); err == nil || !strings.Contains(err.Error(), "net/http/pprof") {
		t.Errorf("a target without /debug/pprof/trace: %v", err)
	}
	sess = traceSession(t, collectors.NewTraceClient(srv.URL))
	if _, err := sess.Trace(t.Context(), TraceOptions{Seconds: 1, MaxBytes: 64 << 10}); err == nil || !strings.Contains(err.Error(), "budget") {
		t.Errorf("a trace over the budget: %v", err)
	}
	if sess.HeldTrace() != nil {
		t.Error("a refused trace is held")
	}
	c, err := sess.Trace(t.Context(), TraceOptions{Seconds: 1})
	if err != nil || c.Summary.Pauses.Count != 7 {
		t.Fatalf("after a refusal the next capture works: %v", err)
	}
	cut := traceSession(t, collectors.NewTraceClient(srv.URL+"/cut"))
	if _, err := cut.Trace(t.Context(), TraceOptions{Seconds: 1}); err == nil || !strings.Contains(err.Error(), "of trace") {
		t.Errorf("a body cut mid-trace: %v", err)
	}
	if _, err := New(recordedStore(3), nil, Options{}).Trace(t.Context(), TraceOptions{}); !errors.Is(err, ErrNoTraces) {
		t.Errorf("a session without a trace client: %v", err)
	}
}

// One trace at a time; cancelling ends the capture.
func TestTraceOneAtATimeAndCancel(t *testing.T) {
	f := &bytesTracer{block: true}
	sess := traceSession(t, f)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { _, err := sess.Trace(ctx, TraceOptions{Seconds: 30}); done <- err }()
	testproc.Eventually(t, 10*time.Second, func() bool { return f.calls.Load() == 1 }, "the first capture did not start")
	if _, err := sess.Trace(t.Context(), TraceOptions{}); !errors.Is(err, collectors.ErrTraceBusy) {
		t.Errorf("a second capture while one runs: %v", err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled capture: %v", err)
	}
	f.block, f.data = false, fixtureTrace(t)
	if _, err := sess.Trace(t.Context(), TraceOptions{}); err != nil {
		t.Errorf("after a cancelled capture the next one works: %v", err)
	}
}

// A real target: /debug/pprof/trace and the flight recorder through the
// target's own trace client, and a window that takes a trace inside it.
func TestTraceRealTarget(t *testing.T) {
	bin := testproc.Build(t, testproc.Target("trace-cases"))
	p := testproc.StartWith(t, bin, testproc.Options{WaitReady: true}, "-case", "lock", "-serve", "127.0.0.1:0", "-flightrecorder")
	target, err := collectors.NewURLTarget("http://"+p.Addr(), collectors.HTTPSourceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f := traceFetcherFor(target)
	if f == nil {
		t.Fatal("no trace client for a URL target")
	}
	sess := New(recordedStore(10), nil, Options{Name: "lock", Traces: f})

	c, err := sess.Trace(t.Context(), TraceOptions{Seconds: 1})
	if err != nil {
		t.Fatal(err)
	}
	s := c.Summary
	sync := reason(s, trace.CatSync)
	if sync.Count == 0 || sync.Total <= 0 || s.Duration < 900*time.Millisecond || !c.FromTrace {
		t.Errorf("a 1 s trace of lock contention: sync %+v, duration %s, span from trace %v", sync, s.Duration, c.FromTrace)
	}
	fr, err := sess.Trace(t.Context(), TraceOptions{FlightRecorder: true})
	if err != nil {
		t.Fatal(err)
	}
	if fr.Source != trace.SourceFlightRecorder || fr.Summary.Duration <= 0 || reason(fr.Summary, trace.CatSync).Count == 0 || sess.HeldTrace() != fr {
		t.Errorf("flight recorder: source %s, duration %s", fr.Source, fr.Summary.Duration)
	}

	// A window that asks for a trace takes one inside it.
	wsess := New(recordedStore(10), nil, Options{Name: "lock", Traces: f})
	wsess.MarkStart(t.Context())
	start := time.Now()
	w, err := wsess.Window(t.Context(), WindowOptions{Length: 3 * time.Second, Trace: time.Second, NoProfiles: false})
	if err != nil {
		t.Fatal(err)
	}
	if w.Trace == nil || w.Trace.Seconds != 1 || w.Trace.From.Before(start) || w.Trace.To.After(time.Now()) {
		t.Fatalf("window trace %+v (notes %v)", w.Trace, w.Notes)
	}
	for _, n := range w.Notes {
		if strings.Contains(n, "trace") {
			t.Errorf("note about the trace: %s", n)
		}
	}
}

func reason(s *trace.Summary, c trace.Category) trace.ReasonTotal {
	for _, r := range s.Blocking.Reasons {
		if r.Category == c {
			return r
		}
	}
	return trace.ReasonTotal{}
}

func findFinding(fs []advisor.Finding, id string) *advisor.Finding {
	for i := range fs {
		if fs[i].ID == id {
			return &fs[i]
		}
	}
	return nil
}

func ids(fs []advisor.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.ID)
	}
	return out
}
