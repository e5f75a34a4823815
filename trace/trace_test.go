package trace

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	rtrace "runtime/trace"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	selfOnce  sync.Once
	selfTrace []byte
	selfErr   error
)

// ownTrace is an execution trace of this test process running a little
// channel, mutex and GC work: real bytes from the runtime, with no target
// to build.
func ownTrace(t testing.TB) []byte {
	t.Helper()
	selfOnce.Do(func() {
		var buf bytes.Buffer
		if err := rtrace.Start(&buf); err != nil {
			selfErr = err
			return
		}
		var mu sync.Mutex
		var wg sync.WaitGroup
		ch := make(chan int)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 200 {
					mu.Lock()
					_ = make([]byte, 64<<10)
					mu.Unlock()
					if i%50 == 0 {
						ch <- i
					}
				}
			}()
		}
		go func() {
			for range 16 {
				<-ch
			}
		}()
		wg.Wait()
		runtime.GC()
		rtrace.Stop()
		selfTrace = buf.Bytes()
	})
	if selfErr != nil {
		t.Fatal(selfErr)
	}
	return selfTrace
}

func TestAnalyzeOwnTrace(t *testing.T) {
	s, err := Analyze(context.Background(), bytes.NewReader(ownTrace(t)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.Format, "go 1.") || s.GoVersion == "" || s.Events < 100 || s.Duration <= 0 || s.GOMAXPROCS < 1 {
		t.Errorf("header figures: %+v", s)
	}
	if s.Bytes != int64(len(ownTrace(t))) {
		t.Errorf("Bytes %d, trace has %d", s.Bytes, len(ownTrace(t)))
	}
	// The test forced a GC: its two pauses are in the list.
	var sweep, mark bool
	for _, p := range s.Pauses.List {
		sweep = sweep || p.Reason == "GC sweep termination"
		mark = mark || p.Reason == "GC mark termination"
		if p.Duration <= 0 || p.Start < 0 || p.Start > s.Duration {
			t.Errorf("pause %+v outside the trace", p)
		}
	}
	if !sweep || !mark || s.GC.Count < 1 {
		t.Errorf("pauses %d, GC %d cycles: want the forced GC's two pauses", len(s.Pauses.List), s.GC.Count)
	}
	for i := 1; i < len(s.Pauses.List); i++ {
		if s.Pauses.List[i].Duration > s.Pauses.List[i-1].Duration {
			t.Fatalf("pauses not worst first")
		}
	}
	if len(s.MMU) == 0 || s.MMU[0].Window != time.Millisecond {
		t.Errorf("MMU %+v: want windows from 1ms", s.MMU)
	}
	for i := 1; i < len(s.MMU); i++ {
		if s.MMU[i].MMU+1e-12 < s.MMU[i-1].MMU {
			t.Errorf("MMU falls with a longer window: %+v", s.MMU)
		}
	}
	var hist int64
	for _, b := range s.Sched.Histogram {
		hist += b.Count
	}
	if hist != s.Sched.Count || s.Sched.P50 > s.Sched.P99 || s.Sched.P99 > s.Sched.Max {
		t.Errorf("sched %+v", s.Sched)
	}
}

func TestBadInput(t *testing.T) {
	good := ownTrace(t)
	newer := append([]byte("go 1.27 trace\x00\x00\x00"), good[16:]...)
	ctx := context.Background()
	for _, c := range []struct {
		name    string
		data    []byte
		opts    Options
		want    error
		partial bool // a summary of what was read comes back
		text    string
	}{
		{"empty", nil, Options{}, ErrEmpty, false, "empty input"},
		{"garbage", []byte("<html><body>login</body></html>\n and more bytes"), Options{}, ErrNotTrace, false, "not a Go execution trace"},
		{"pprof profile", []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 1, 2, 3, 4, 5, 6, 7}, Options{}, ErrNotTrace, false, "not a Go execution trace"},
		{"newer Go", newer, Options{}, ErrUnsupported, false, "written by Go 1.27, newer than this gotune can read"},
		{"header cut", good[:10], Options{}, ErrTruncated, false, "truncated"},
		{"cut mid-trace", good[:len(good)*2/3], Options{}, ErrTruncated, true, "truncated or corrupt"},
		{"too large", good, Options{MaxBytes: 4096}, ErrTooLarge, false, "larger than the limit of 4.0 KiB"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := Analyze(ctx, bytes.NewReader(c.data), c.opts)
			if !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
			if !strings.Contains(err.Error(), c.text) {
				t.Errorf("err %q does not say %q", err, c.text)
			}
			if c.partial != (s != nil) {
				t.Fatalf("summary %v, want partial=%v", s != nil, c.partial)
			}
			if s != nil && (!s.Truncated || s.Events == 0) {
				t.Errorf("partial summary: truncated=%v events=%d", s.Truncated, s.Events)
			}
		})
	}
	var ve *VersionError
	if _, err := Analyze(ctx, bytes.NewReader(newer), Options{}); !errors.As(err, &ve) || ve.Minor != 27 {
		t.Errorf("newer Go: %v", err)
	}
	// AnalyzeFile refuses a file over the limit before reading it.
	p := filepath.Join(t.TempDir(), "big.trace")
	if err := os.WriteFile(p, good, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := AnalyzeFile(ctx, p, Options{MaxBytes: 1000}); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), p) {
		t.Errorf("AnalyzeFile over the limit: %v", err)
	}
	// Cancellation stops the read.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if s, err := Analyze(cctx, bytes.NewReader(good), Options{}); err == nil && s.Events >= 65536 {
		t.Errorf("cancelled context: read %d events", s.Events)
	}
}

// Every cut of a real trace either parses or fails with one of the
// package's errors; none panics.
func TestEveryCut(t *testing.T) {
	good := ownTrace(t)
	step := max(1, len(good)/200)
	for n := 0; n < len(good); n += step {
		_, err := Analyze(context.Background(), bytes.NewReader(good[:n]), Options{})
		if err == nil {
			continue
		}
		if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrEmpty) && !errors.Is(err, ErrNotTrace) {
			t.Errorf("cut at %d: unexpected error %v", n, err)
		}
	}
}

// TestMain doubles as the writer of tinyTrace's trace.
func TestMain(m *testing.M) {
	if os.Getenv("GOTUNE_TINY_TRACE") == "1" {
		if err := rtrace.Start(os.Stdout); err != nil {
			os.Exit(1)
		}
		ch := make(chan int)
		go func() { ch <- 1 }()
		<-ch
		rtrace.Stop()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// tinyTrace is a trace of almost nothing, written by a child process: a
// fuzz worker that has run runtime/trace itself slows to a few executions
// a minute, and the fuzzer mutates small inputs faster anyway.
func tinyTrace(t testing.TB) []byte {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "GOTUNE_TINY_TRACE=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("write a tiny trace: %v", err)
	}
	return out
}

func FuzzAnalyze(f *testing.F) {
	good := tinyTrace(f)
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte("go 1.26 trace\x00\x00\x00"))
	f.Add([]byte("go 1.22 trace\x00\x00\x00\x01\x02\x03"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Analyze(context.Background(), bytes.NewReader(data), Options{MaxBytes: 1 << 20})
		if err == nil && s == nil {
			t.Fatal("nil summary without an error")
		}
		if s != nil {
			var buf bytes.Buffer
			if err := WriteText(&buf, s); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// mmu agrees with a brute-force minimum over every integer start (the
// minimum is at a start where an edge meets a change, and changes are at
// integer times here).
func TestMMUBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for iter := range 300 {
		n := 2 + r.IntN(20)
		series := make([]utilPoint, n)
		tm := int64(r.IntN(5))
		for i := range series {
			levels := []float64{0, 0.25, 0.5, 0.75, 1}
			series[i] = utilPoint{tm, levels[r.IntN(len(levels))]}
			tm += 1 + int64(r.IntN(15))
		}
		span := series[n-1].T - series[0].T
		w := 1 + int64(r.IntN(int(span)+5))
		got, at := mmu(series, w)
		want := bruteMMU(series, min(w, span))
		if math.Abs(got-want) > 1e-12 {
			t.Fatalf("iter %d: mmu(%v, %d) = %v, brute force %v", iter, series, w, got, want)
		}
		if at < series[0].T || at > series[n-1].T-min(w, span) {
			t.Fatalf("iter %d: worst window at %d outside the series", iter, at)
		}
	}
}

func bruteMMU(s []utilPoint, w int64) float64 {
	integral := func(a, b int64) float64 {
		var v float64
		for i := 0; i+1 < len(s); i++ {
			lo, hi := max(a, s[i].T), min(b, s[i+1].T)
			if hi > lo {
				v += s[i].U * float64(hi-lo)
			}
		}
		return v
	}
	best := 1.0
	for t := s[0].T; t+w <= s[len(s)-1].T; t++ {
		best = min(best, integral(t, t+w)/float64(w))
	}
	return best
}

func TestLogHistQuantiles(t *testing.T) {
	var h logHist
	for i := 1; i <= 10000; i++ {
		h.add(time.Duration(i) * time.Microsecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 5000 * time.Microsecond}, {0.9, 9000 * time.Microsecond}, {0.99, 9900 * time.Microsecond}} {
		got := h.quantile(c.q)
		if rel := math.Abs(float64(got-c.want)) / float64(c.want); rel > 0.023 {
			t.Errorf("q%.2f = %s, want %s ±2.2%%", c.q, got, c.want)
		}
	}
	if h.quantile(1) != 10000*time.Microsecond {
		t.Errorf("q1 = %s, want the exact max", h.quantile(1))
	}
}
