package export

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gotune/gotune/export/exporttest"
	"github.com/gotune/gotune/internal/testproc"
	"github.com/gotune/gotune/profile"
)

// fast retries for tests: behaviour, not timing, is asserted.
var fastRetry = Options{MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, RequestTimeout: 2 * time.Second}

func withSpill(o Options, dir string, spillBytes int64) Options {
	o.SpillDir, o.SpillBytes = dir, spillBytes
	return o
}

func seqOrigin(i int) Origin {
	o := testOrigin("before")
	o.Extra = map[string]string{"seq": strconv.Itoa(i)}
	return o
}

// seqsReceived is the set of "seq" labels the Pyroscope receiver has seen.
func seqsReceived(r *exporttest.PyroscopeReceiver) map[int]int {
	out := map[int]int{}
	for _, in := range r.Ingests() {
		n, _ := strconv.Atoi(in.Labels["seq"])
		out[n]++
	}
	return out
}

func pyroscopeExporter(t *testing.T, url string, o Options) *Exporter {
	t.Helper()
	sink, err := NewPyroscope(PyroscopeConfig{URL: url})
	testproc.Must(t, err, "sink")
	ex, err := New(sink, o)
	testproc.Must(t, err, "exporter")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = ex.Close(ctx)
	})
	return ex
}

func closeWithin(t *testing.T, ex *Exporter, d time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return ex.Close(ctx)
}

// TestReceiverDownAtStart: nothing listens when gotune starts exporting.
// Items queue, spill to disk while the destination fails, and all arrive
// once it listens; nothing is dropped.
func TestReceiverDownAtStart(t *testing.T) {
	recv := &exporttest.PyroscopeReceiver{}
	srv := exporttest.NewFaultServer(t, recv) // not up
	ex := pyroscopeExporter(t, srv.URL(), withSpill(fastRetry, t.TempDir(), 0))
	c := fixture(t, profile.KindHeap)
	const n = 12
	for i := range n {
		testproc.Must(t, ex.EnqueueProfile(c, seqOrigin(i)), "enqueue")
	}
	testproc.Eventually(t, 20*time.Second, func() bool {
		st := ex.Stats()
		return st.Failing && st.Retries >= 2 && st.Spilled == n
	}, "queue did not spill while the receiver was down: %s", ex.Stats())
	st := ex.Stats()
	if !strings.Contains(st.LastError, "connection refused") || st.Sent != 0 || st.Lost() != 0 {
		t.Fatalf("while down: %s", st)
	}
	srv.Up()
	testproc.Eventually(t, 20*time.Second, func() bool { return ex.Stats().Sent == n }, "not all sent after the receiver came up: %s", ex.Stats())
	got := seqsReceived(recv)
	for i := range n {
		if got[i] != 1 {
			t.Errorf("seq %d received %d times", i, got[i])
		}
	}
	st = ex.Stats()
	if st.Spilled != 0 || st.Queued != 0 || st.Lost() != 0 || st.Failing {
		t.Errorf("after recovery: %s", st)
	}
	if files, _ := filepath.Glob(filepath.Join(ex.opt.SpillDir, "*")); len(files) != 0 {
		t.Errorf("spill directory still holds %v", files)
	}
}

// TestReceiverRefuses: statuses worth retrying (5xx, 429, 408) are retried
// until the receiver accepts; the others (400, 401, 404) would fail again,
// so the request counts as failed at once and the queue moves on.
func TestReceiverRefuses(t *testing.T) {
	c := fixture(t, profile.KindGoroutine)
	for _, tc := range []struct {
		status int
		retry  bool
	}{{500, true}, {502, true}, {503, true}, {504, true}, {429, true}, {408, true}, {400, false}, {401, false}, {404, false}, {413, false}} {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			recv := &exporttest.PyroscopeReceiver{}
			srv := exporttest.NewFaultServer(t, recv)
			srv.Set(tc.status, 0)
			srv.Up()
			ex := pyroscopeExporter(t, srv.URL(), fastRetry)
			for i := range 3 {
				testproc.Must(t, ex.EnqueueProfile(c, seqOrigin(i)), "enqueue")
			}
			if tc.retry {
				testproc.Eventually(t, 20*time.Second, func() bool { return ex.Stats().Retries >= 3 }, "no retries: %s", ex.Stats())
				st := ex.Stats()
				if st.Failed != 0 || st.Sent != 0 || st.Queued != 3 || !strings.Contains(st.LastError, "status "+strconv.Itoa(tc.status)) {
					t.Fatalf("while refusing: %s", st)
				}
				srv.Set(0, 0)
				testproc.Eventually(t, 20*time.Second, func() bool { return ex.Stats().Sent == 3 }, "not sent after recovery: %s", ex.Stats())
				if got := seqsReceived(recv); len(got) != 3 {
					t.Errorf("received %v", got)
				}
				return
			}
			testproc.Eventually(t, 20*time.Second, func() bool { return ex.Stats().Failed == 3 }, "not failed: %s", ex.Stats())
			st := ex.Stats()
			if st.Retries != 0 || st.Sent != 0 || st.Queued != 0 || st.Lost() != 3 || !strings.Contains(st.LastError, "refused by the test") {
				t.Errorf("after a permanent refusal: %s", st)
			}
		})
	}
}

// TestReceiverSlow: the receiver takes the request and never answers (it
// would hold it 30 s). Each attempt times out, gotune keeps queueing, and
// everything goes through once the receiver answers again.
func TestReceiverSlow(t *testing.T) {
	recv := &exporttest.PyroscopeReceiver{}
	srv := exporttest.NewFaultServer(t, recv)
	srv.Set(0, 30*time.Second)
	srv.Up()
	o := fastRetry
	o.RequestTimeout = 300 * time.Millisecond
	ex := pyroscopeExporter(t, srv.URL(), withSpill(o, t.TempDir(), 0))
	c := fixture(t, profile.KindMutex)
	for i := range 4 {
		testproc.Must(t, ex.EnqueueProfile(c, seqOrigin(i)), "enqueue")
	}
	testproc.Eventually(t, 30*time.Second, func() bool { return ex.Stats().Retries >= 2 }, "no timeouts: %s", ex.Stats())
	// Enqueue keeps working while a request hangs.
	for i := 4; i < 8; i++ {
		testproc.Must(t, ex.EnqueueProfile(c, seqOrigin(i)), "enqueue while slow")
	}
	st := ex.Stats()
	if st.Sent != 0 || st.Queued+st.Spilled != 8 || !strings.Contains(st.LastError, "deadline exceeded") {
		t.Fatalf("while slow: %s", st)
	}
	srv.Set(0, 0)
	testproc.Eventually(t, 30*time.Second, func() bool { return ex.Stats().Sent == 8 }, "not sent after the receiver sped up: %s", ex.Stats())
	got := seqsReceived(recv)
	for i := range 8 {
		if got[i] != 1 {
			t.Errorf("seq %d received %d times", i, got[i])
		}
	}
}

// TestNoSampleLostAcrossRestart: items keep coming while the receiver is
// taken down (connections cut) and brought back twice; every item and so
// every sample arrives (at least once), none is dropped.
func TestNoSampleLostAcrossRestart(t *testing.T) {
	recv := &exporttest.PyroscopeReceiver{}
	srv := exporttest.NewFaultServer(t, recv)
	srv.Up()
	ex := pyroscopeExporter(t, srv.URL(), withSpill(fastRetry, t.TempDir(), 0))
	c := fixture(t, profile.KindCPU)
	const n = 30
	for i := range n {
		testproc.Must(t, ex.EnqueueProfile(c, seqOrigin(i)), "enqueue")
		switch i {
		case 5, 20:
			testproc.Eventually(t, 20*time.Second, func() bool { return ex.Stats().Sent >= 3 }, "nothing sent before the restart")
			srv.Down()
		case 12, 27:
			testproc.Eventually(t, 20*time.Second, func() bool { return ex.Stats().Failing }, "the outage was not noticed")
			srv.Up()
		}
	}
	testproc.Must(t, closeWithin(t, ex, 30*time.Second), "close")
	got := seqsReceived(recv)
	var samples int64
	for i := range n {
		if got[i] == 0 {
			t.Errorf("seq %d never arrived", i)
		}
	}
	for _, in := range recv.Ingests() {
		p, err := profile.ParseBytes(in.Profile)
		testproc.Must(t, err, "parse")
		samples += exporttest.PprofTotals(p)["samples/count"]
	}
	want := exporttest.PprofTotals(c.Profile)["samples/count"] * n
	st := ex.Stats()
	if dup := int64(len(recv.Ingests())) - n; samples != want*int64(len(recv.Ingests()))/n || st.Lost() != 0 {
		t.Errorf("received %d samples in %d requests (%d duplicates), want %d; %s", samples, len(recv.Ingests()), dup, want, st)
	}
	t.Logf("%d items across two restarts: %d requests received, %d retries; %s", n, len(recv.Ingests()), st.Retries, st)
}

// TestQueueBound: with the receiver down and no spill directory, the
// memory queue holds what fits its cap and refuses the rest, counting
// each refusal; what it held is sent when the receiver is back.
func TestQueueBound(t *testing.T) {
	recv := &exporttest.PyroscopeReceiver{}
	srv := exporttest.NewFaultServer(t, recv)
	c := fixture(t, profile.KindHeap)
	o := fastRetry
	o.MemoryBytes = 10 * (int64(len(c.Raw))*2 + 1024) // ten estimated heap profiles
	ex := pyroscopeExporter(t, srv.URL(), o)
	var refused, accepted int
	var refusal error
	for i := range 25 {
		err := ex.EnqueueProfile(c, seqOrigin(i))
		switch {
		case err == nil:
			accepted++
		case errors.Is(err, ErrQueueFull):
			refused++
			refusal = err
		default:
			t.Fatal(err)
		}
	}
	st := ex.Stats()
	if accepted < 10 || refused == 0 || st.Dropped != int64(refused) || st.QueuedBytes > o.MemoryBytes {
		t.Fatalf("accepted %d, refused %d: %s", accepted, refused, st)
	}
	// The refusal says why. (Stats' last error may as well be the sender's
	// next failed attempt on the receiver that is down: which comes last
	// depends on the scheduler.)
	if !strings.Contains(refusal.Error(), "queue full") {
		t.Errorf("refusal %q does not say the queue is full", refusal)
	}
	srv.Up()
	testproc.Eventually(t, 20*time.Second, func() bool { return ex.Stats().Sent == int64(accepted) }, "queued items not sent: %s", ex.Stats())
	if got := len(seqsReceived(recv)); got != accepted {
		t.Errorf("receiver got %d distinct items, %d were accepted", got, accepted)
	}
	st = ex.Stats()
	if st.Sent+st.Dropped != 25 {
		t.Errorf("sent %d + dropped %d != 25 enqueued", st.Sent, st.Dropped)
	}
}

// TestSpillSurvivesRestartOfGotune: the receiver is down when gotune
// closes; Close keeps what it could not send on disk (within the cap,
// dropping and counting the rest), and the next Exporter on the directory
// sends it.
func TestSpillSurvivesRestartOfGotune(t *testing.T) {
	recv := &exporttest.PyroscopeReceiver{}
	srv := exporttest.NewFaultServer(t, recv)
	dir := t.TempDir()
	c := fixture(t, profile.KindGoroutine)
	sink, _ := NewPyroscope(PyroscopeConfig{URL: srv.URL()})
	probe, _ := sink.Encode(Item{Signal: SignalProfiles, Profile: c, Origin: seqOrigin(10)})
	per := (&spool{kind: "pyroscope"}).size(probe)
	ex := pyroscopeExporter(t, srv.URL(), withSpill(fastRetry, dir, 6*per+per/2)) // room for six
	for i := range 9 {
		testproc.Must(t, ex.EnqueueProfile(c, seqOrigin(i)), "enqueue")
	}
	testproc.Eventually(t, 20*time.Second, func() bool { return ex.Stats().Spilled == 6 }, "did not spill up to the cap: %s", ex.Stats())
	err := closeWithin(t, ex, 300*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "6 requests") || !strings.Contains(err.Error(), dir) {
		t.Fatalf("Close: %v", err)
	}
	st := ex.Stats()
	if st.Dropped != 3 || st.Spilled != 6 {
		t.Fatalf("after Close: %s", st)
	}
	if err := ex.EnqueueProfile(c, seqOrigin(99)); !errors.Is(err, ErrClosed) {
		t.Errorf("enqueue after Close: %v", err)
	}

	// Six requests wait on disk. (The new exporter's Stats may already
	// count one as sent: its sender starts at once, and did beside a
	// second suite.)
	if files, _ := filepath.Glob(filepath.Join(dir, "pyroscope-*.gtx")); len(files) != 6 {
		t.Fatalf("%d spilled requests on disk after Close, want 6", len(files))
	}
	srv.Up()
	ex2 := pyroscopeExporter(t, srv.URL(), withSpill(fastRetry, dir, 0))
	testproc.Must(t, closeWithin(t, ex2, 20*time.Second), "close the second exporter")
	if got := seqsReceived(recv); len(got) != 6 {
		t.Errorf("received %v after the restart, want the six spilled", got)
	}
	if s := ex2.Stats(); s.Sent != 6 || s.Lost() != 0 {
		t.Errorf("second exporter: %s", s)
	}
}

// TestCorruptSpillFile: a damaged file in the spill directory is counted
// as failed and removed; the good ones are sent.
func TestCorruptSpillFile(t *testing.T) {
	recv := &exporttest.PyroscopeReceiver{}
	srv := exporttest.NewFaultServer(t, recv)
	dir := t.TempDir()
	c := fixture(t, profile.KindGoroutine)
	ex := pyroscopeExporter(t, srv.URL(), withSpill(fastRetry, dir, 0))
	testproc.Must(t, ex.EnqueueProfile(c, seqOrigin(1)), "enqueue")
	testproc.Eventually(t, 20*time.Second, func() bool { return ex.Stats().Spilled == 1 }, "not spilled")
	_ = closeWithin(t, ex, 100*time.Millisecond)
	files, _ := filepath.Glob(filepath.Join(dir, "pyroscope-*.gtx"))
	if len(files) != 1 {
		t.Fatalf("spill files: %v", files)
	}
	data, _ := os.ReadFile(files[0])
	data[len(data)/2] ^= 0xff
	testproc.Must(t, os.WriteFile(filepath.Join(dir, "pyroscope-00000000000000000000.gtx"), data, 0o600), "write")
	testproc.Must(t, os.WriteFile(filepath.Join(dir, "stray.gtx.tmp"), []byte("half"), 0o600), "write")
	srv.Up()
	ex2 := pyroscopeExporter(t, srv.URL(), withSpill(fastRetry, dir, 0))
	testproc.Must(t, closeWithin(t, ex2, 20*time.Second), "close")
	st := ex2.Stats()
	if st.Sent != 1 || st.Failed != 1 || !strings.Contains(st.LastError, "checksum") {
		t.Errorf("stats: %s", st)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Errorf("left in the spill directory: %v", left)
	}
}

// blockingSink never finishes a Send until released.
type blockingSink struct {
	release chan struct{}
	mu      sync.Mutex
	sends   int
}

func (s *blockingSink) Kind() string        { return "blocking" }
func (s *blockingSink) Endpoint() string    { return "test" }
func (s *blockingSink) Accepts(Signal) bool { return true }
func (s *blockingSink) Encode(it Item) (Payload, error) {
	return Payload{Signal: it.Signal, Data: 1, Body: make([]byte, 100)}, nil
}
func (s *blockingSink) Send(ctx context.Context, p Payload) (Result, error) {
	select {
	case <-s.release:
		s.mu.Lock()
		s.sends++
		s.mu.Unlock()
		return Result{}, nil
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
}

// TestEnqueueNeverBlocks: while the one request in flight hangs, a
// thousand enqueues return (a hang here would be a deadlock; the watchdog
// is not a speed assertion).
func TestEnqueueNeverBlocks(t *testing.T) {
	sink := &blockingSink{release: make(chan struct{})}
	o := fastRetry
	o.RequestTimeout = time.Hour
	ex, err := New(sink, o)
	testproc.Must(t, err, "exporter")
	c := fixture(t, profile.KindGoroutine)
	done := make(chan struct{})
	go func() {
		for i := range 1000 {
			_ = ex.EnqueueProfile(c, seqOrigin(i))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("Enqueue blocked behind a hanging request")
	}
	if st := ex.Stats(); st.Queued+int(st.Dropped) != 1000 {
		t.Errorf("queued %d + dropped %d != 1000", st.Queued, st.Dropped)
	}
	close(sink.release)
	testproc.Must(t, closeWithin(t, ex, 30*time.Second), "close")
	if st := ex.Stats(); st.Sent != 1000 || sink.sends != 1000 {
		t.Errorf("sent %d (sink saw %d), want 1000", st.Sent, sink.sends)
	}
}

// TestCloseWithoutSpillDirCountsDrops: with nowhere to keep them, what is
// left at Close's deadline is dropped, counted and reported.
func TestCloseWithoutSpillDirCountsDrops(t *testing.T) {
	srv := exporttest.NewFaultServer(t, http.NotFoundHandler())
	ex := pyroscopeExporter(t, srv.URL(), fastRetry)
	c := fixture(t, profile.KindGoroutine)
	for i := range 4 {
		testproc.Must(t, ex.EnqueueProfile(c, seqOrigin(i)), "enqueue")
	}
	err := closeWithin(t, ex, 200*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "dropped") {
		t.Fatalf("Close: %v", err)
	}
	if st := ex.Stats(); st.Dropped != 4 || st.Sent != 0 {
		t.Errorf("stats: %s", st)
	}
}

// TestRemoteWriteSlowAndRateLimited: a remote-write receiver that holds
// every request without an answer, then answers 429: each attempt that
// ends at the request's deadline, and each 429, is retried (client_golang
// hands the deadline back without the retry callback and unwrapped, so it
// must not count as a permanent refusal); everything arrives once it
// answers, nothing failed.
func TestRemoteWriteSlowAndRateLimited(t *testing.T) {
	for _, v2 := range []bool{false, true} {
		t.Run("v2="+strconv.FormatBool(v2), func(t *testing.T) {
			store, h := exporttest.NewRemoteWriteReceiver()
			srv := exporttest.NewFaultServer(t, h)
			srv.Set(0, 30*time.Second)
			srv.Up()
			sink, err := NewRemoteWrite(RemoteWriteConfig{URL: srv.URL() + "/api/v1/write", V2: v2})
			testproc.Must(t, err, "sink")
			o := fastRetry
			o.RequestTimeout = 300 * time.Millisecond
			ex, err := New(sink, withSpill(o, t.TempDir(), 0))
			testproc.Must(t, err, "exporter")
			defer closeWithin(t, ex, time.Second)
			pts := syntheticPoints(4, time.Unix(1_700_000_000, 0))
			for i := range 3 {
				testproc.Must(t, ex.EnqueueMetrics(pts, seqOrigin(i)), "enqueue")
			}
			testproc.Eventually(t, 30*time.Second, func() bool { return ex.Stats().Retries >= 2 }, "no retries while slow: %s", ex.Stats())
			srv.Set(http.StatusTooManyRequests, 0)
			r := ex.Stats().Retries
			testproc.Eventually(t, 30*time.Second, func() bool { return ex.Stats().Retries >= r+2 }, "no retries on 429: %s", ex.Stats())
			if st := ex.Stats(); st.Failed != 0 || st.Sent != 0 {
				t.Fatalf("while slow and rate-limited: %s", st)
			}
			srv.Set(0, 0)
			testproc.Eventually(t, 30*time.Second, func() bool { return ex.Stats().Sent == 3 }, "not sent after recovery: %s", ex.Stats())
			seqs := map[string]bool{}
			for _, s := range store.All() {
				seqs[s.Labels["seq"]] = true
			}
			if st := ex.Stats(); len(seqs) != 3 || st.Lost() != 0 {
				t.Errorf("received seqs %v; %s", seqs, st)
			}
		})
	}
}
