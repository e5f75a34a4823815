package collectors

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/gotune/gotune/internal/testproc"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/session"
)

// selfReport is what the metricsserver target says about itself at /self.
type selfReport struct {
	HeapLive   float64 `json:"heap_live"`
	HeapAlloc  float64 `json:"heap_alloc"`
	Goroutines float64 `json:"goroutines"`
	HeapAllocs float64 `json:"heap_allocs"`
}

func readSelf(t *testing.T, base string) selfReport {
	t.Helper()
	resp, err := http.Get(base + "/self")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r selfReport
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	return r
}

func startMetricsServer(t *testing.T, mode string) string {
	t.Helper()
	bin := testproc.Build(t, "./testdata/targets/metricsserver")
	p := testproc.Start(t, bin, []string{"GOMAXPROCS=2", "GOGC=100"}, "-mode", mode, "-live", "32")
	return p.FirstLine
}

// Each real target is read through the source detection picks for it, and
// the figures agree with what the target reports about itself.
func TestMetricsSourcesAgainstRealTargets(t *testing.T) {
	cases := []struct {
		mode, via  string
		histograms []string
		mustHave   []string
		mustMiss   []string
	}{
		{"agent", "agent", []string{session.SchedLatencies, session.PausesGC},
			[]string{session.HeapLive, session.HeapGoal, session.GOGC, session.GOMAXPROCS, session.Goroutines, session.ProcessCPU, session.ProcessRSS, session.CPUGCTotal}, nil},
		{"promdefault", "prometheus", nil,
			[]string{session.HeapObjects, session.HeapGoal, session.GOGC, session.GOMAXPROCS, session.Goroutines, session.ProcessCPU, session.ProcessRSS, session.GCCycles},
			[]string{session.SchedLatencies}},
		{"promall", "prometheus", []string{session.SchedLatencies, session.PausesGC},
			[]string{session.HeapLive, session.HeapGoal, session.GOGC, session.GOMAXPROCS, session.Goroutines, session.CPUGCTotal, session.GCCycles}, nil},
		{"expvar", "expvar", []string{session.PausesGCOld},
			[]string{session.HeapObjects, session.HeapGoal, session.GCCycles, session.HeapAllocsBytes},
			[]string{session.Goroutines, session.SchedLatencies, session.GOGC}},
	}
	for _, c := range cases {
		t.Run(c.mode, func(t *testing.T) {
			t.Parallel()
			base := startMetricsServer(t, c.mode)
			before := readSelf(t, base)
			src, s, err := DetectMetrics(t.Context(), base, HTTPSourceOptions{})
			if err != nil {
				t.Fatalf("detect: %v", err)
			}
			after := readSelf(t, base)
			if src.Via() != c.via || s.Source != c.via {
				t.Fatalf("via %q (sample %q), want %q", src.Via(), s.Source, c.via)
			}
			for _, name := range c.mustHave {
				if _, ok := s.Values[name]; !ok {
					t.Errorf("missing %s", name)
				}
			}
			for _, name := range c.histograms {
				h := s.Histograms[name]
				if h == nil || len(h.Buckets) != len(h.Counts)+1 {
					t.Errorf("histogram %s absent or malformed", name)
				}
			}
			for _, name := range c.mustMiss {
				found := false
				for _, m := range s.Missing {
					found = found || m == name
				}
				if !found {
					t.Errorf("%s not listed as missing: %v", name, s.Missing)
				}
			}
			// Heap figures against the target's own readings taken just
			// before and after ours.
			if live, ok := s.Values[session.HeapLive]; ok {
				lo, hi := min(before.HeapLive, after.HeapLive), max(before.HeapLive, after.HeapLive)
				if live < lo*0.9 || live > hi*1.1 {
					t.Errorf("heap live %.0f outside the target's own [%.0f, %.0f]", live, lo, hi)
				}
			}
			if alloc, ok := s.Values[session.HeapObjects]; ok {
				if alloc < 32<<20 || alloc > s.Values[session.HeapGoal]*1.2 {
					t.Errorf("heap alloc %.0f: want ≥ the 32 MiB held and ≤ the goal %.0f", alloc, s.Values[session.HeapGoal])
				}
			}
			if v, ok := s.Values[session.GOGC]; ok && v != 100 {
				t.Errorf("GOGC = %v, want 100", v)
			}
			if v, ok := s.Values[session.GOMAXPROCS]; ok && v != 2 {
				t.Errorf("GOMAXPROCS = %v, want 2", v)
			}
			if v, ok := s.Values[session.Goroutines]; ok && (v < 2 || v > after.Goroutines+10) {
				t.Errorf("goroutines = %v, target says %v", v, after.Goroutines)
			}
			// A second read a little later gives rates. The bytes allocated
			// between our two reads lie within what the target counted
			// between its own reads around them (how much depends on how
			// much CPU the loaded test machine gives the target).
			time.Sleep(600 * time.Millisecond)
			s2, err := src.Read(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			after2 := readSelf(t, base)
			d := session.Derive(&s, &s2, nil)
			ours := d[session.AllocRate] * s2.Time.Sub(s.Time).Seconds()
			if ours <= 0 || ours > after2.HeapAllocs-before.HeapAllocs {
				t.Errorf("allocated between our reads: %.0f B; the target counted %.0f B over a longer span", ours, after2.HeapAllocs-before.HeapAllocs)
			}
		})
	}
}

// A server that serves none of the endpoints gotune reads fails clearly,
// naming each it tried.
func TestDetectFailsClearlyWithoutMetrics(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	_, _, err := DetectMetrics(t.Context(), srv.URL, HTTPSourceOptions{})
	if err == nil {
		t.Fatal("detected metrics on a server that serves nothing")
	}
	var nm *NoMetricsError
	if !asError(err, &nm) || len(nm.Tried) != 4 {
		t.Fatalf("error %v is not a NoMetricsError with 4 attempts", err)
	}
	for _, want := range []string{"serves no runtime metrics", "net/http/pprof", "gotune/agent"} {
		if !contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

// What a probe heard beyond "not here" reaches the person: a server error's
// text, or an agent newer than this gotune (with the fix: upgrade).
func TestDetectSaysWhatTheProbesHeard(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/err/metrics", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "registry lock timeout", http.StatusInternalServerError)
	})
	mux.HandleFunc("/newer/debug/gotune/metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"format": 99}`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	cases := []struct {
		base       string
		want, lack []string
	}{
		{srv.URL + "/err", []string{"status 500", "registry lock timeout"}, []string{"upgrade gotune"}},
		{srv.URL + "/newer", []string{"format 99 is newer", "upgrade gotune"}, []string{`import _ "net/http/pprof"`}},
	}
	for _, c := range cases {
		_, _, err := DetectMetrics(t.Context(), c.base, HTTPSourceOptions{})
		if err == nil {
			t.Fatalf("%s: detected metrics", c.base)
		}
		for _, w := range c.want {
			if !contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", c.base, err, w)
			}
		}
		for _, w := range c.lack {
			if contains(err.Error(), w) {
				t.Errorf("%s: error %q has %q", c.base, err, w)
			}
		}
	}
}

// Every profile kind gotune fetches comes back as a complete profile.
func TestFetchEveryProfileKind(t *testing.T) {
	base := startMetricsServer(t, "agent")
	c := NewPprofClient(base)
	for _, ki := range profile.Kinds() {
		kind := ki.Kind
		req := ProfileRequest{Kind: kind}
		if kind.Timed() {
			req.Seconds = 1
		}
		f, err := c.Fetch(t.Context(), req)
		if err != nil {
			t.Errorf("%s: %v", kind, err)
			continue
		}
		// The fetch decodes what it checks: the same profile as decoding
		// its bytes afresh.
		p, err := profile.ParseBytes(f.Raw)
		if err != nil || f.Profile == nil || len(f.Profile.SampleTypes) == 0 || !reflect.DeepEqual(p, f.Profile) {
			t.Errorf("%s: fetched profile %v; its bytes decode to %v, %v", kind, f.Profile != nil, p != nil, err)
		}
	}
	f, err := c.Fetch(t.Context(), ProfileRequest{Kind: profile.KindGoroutine, Debug: 2})
	if dump := f.Raw; err != nil || !contains(string(dump), "goroutine 1 [") || f.Profile != nil {
		t.Errorf("goroutine debug=2: %v, starts %q, decoded %v", err, string(dump[:min(len(dump), 40)]), f.Profile != nil)
	}
}

// Two CPU profiles at once through one client: the second is refused at
// once, without touching the target.
func TestOneCPUProfileAtATime(t *testing.T) {
	base := startMetricsServer(t, "agent")
	c := NewPprofClient(base)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	first := make(chan error, 1)
	go func() {
		_, err := c.Fetch(ctx, ProfileRequest{Kind: profile.KindCPU, Seconds: 2})
		first <- err
	}()
	testproc.Eventually(t, 5*time.Second, func() bool { return !c.cpu.TryLock() || unlockAgain(&c.cpu) }, "first CPU profile never started")
	_, err := c.Fetch(t.Context(), ProfileRequest{Kind: profile.KindCPU, Seconds: 1})
	if err != ErrCPUProfileBusy {
		t.Fatalf("second CPU profile: %v, want ErrCPUProfileBusy", err)
	}
	if err := <-first; err != nil {
		t.Fatalf("first CPU profile: %v", err)
	}
}
