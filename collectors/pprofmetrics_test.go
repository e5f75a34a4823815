package collectors

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/session"
)

// heap-debug1.txt is /debug/pprof/heap?debug=1 of the metricsserver target
// (Go 1.26, -live 4), as served.
func TestParseHeapMemStats(t *testing.T) {
	b, err := os.ReadFile("testdata/heap-debug1.txt")
	if err != nil {
		t.Fatal(err)
	}
	ms, err := ParseHeapMemStats(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if ms.HeapAlloc != 8336736 || ms.NextGC != 9411186 || ms.NumGC != 9 || ms.TotalAlloc != 43796608 ||
		ms.HeapObjects != 1384 || ms.Sys != 17406216 || ms.LastGC != 1796133824881485203 || ms.GCCPUFraction != 0.001294654056401478 {
		t.Errorf("memstats %+v", ms)
	}
	if !ms.havePauses || ms.PauseNs[0] != 406953 || ms.PauseNs[8] != 374010 || ms.PauseNs[9] != 0 {
		t.Errorf("pauses %v", ms.PauseNs[:10])
	}
	// Cut before the trailer (a page over the budget): a clear error.
	i := bytes.Index(b, []byte("# runtime.MemStats"))
	if _, err := ParseHeapMemStats(bytes.NewReader(b[:i])); err == nil || !strings.Contains(err.Error(), "no MemStats trailer") {
		t.Errorf("cut page: %v", err)
	}
	for _, bad := range []string{"", "<html><body>login</body></html>", "goroutine profile: total 3\n"} {
		if _, err := ParseHeapMemStats(strings.NewReader(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestParseGoroutineTotal(t *testing.T) {
	for in, want := range map[string]int{"goroutine profile: total 5\n": 5, "goroutine profile: total 123456": 123456} {
		if n, err := ParseGoroutineTotal(in); err != nil || n != want {
			t.Errorf("%q: %d %v", in, n, err)
		}
	}
	for _, bad := range []string{"heap profile: 1: 2 [3: 4] @ heap/1", "goroutine profile: total -1", "goroutine profile: total x"} {
		if _, err := ParseGoroutineTotal(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// The pacer slows down for slow or large pages and never below the base.
func TestPprofPacer(t *testing.T) {
	var p pprofPacer
	p.after(time.Second, 2*time.Millisecond, 4<<10, false)
	if p.interval != time.Second {
		t.Errorf("cheap page: every %s, want the base 1s", p.interval)
	}
	p = pprofPacer{}
	p.after(time.Second, 80*time.Millisecond, 4<<10, false) // 80 ms ÷ 1 % = 8 s
	if p.interval != 8*time.Second {
		t.Errorf("80 ms page: every %s, want 8s", p.interval)
	}
	// One slow fetch among fast ones is scheduling noise: the least of
	// the last four counts.
	p = pprofPacer{}
	for _, l := range []time.Duration{3, 3, 90, 3} {
		p.after(time.Second, l*time.Millisecond, 4<<10, false)
	}
	if p.interval != time.Second {
		t.Errorf("one slow fetch: every %s, want 1s", p.interval)
	}
	p = pprofPacer{}
	p.after(time.Second, time.Millisecond, 6<<20, false) // 6 MiB at 1 MiB/s
	if p.interval != 6*time.Second {
		t.Errorf("6 MiB page: every %s, want 6s", p.interval)
	}
	p.after(time.Second, 10*time.Second, 1<<30, false)
	if p.interval != pprofMaxInterval {
		t.Errorf("huge page: every %s, want the cap %s", p.interval, pprofMaxInterval)
	}
	p.after(time.Second, time.Millisecond, 9<<20, true)
	if p.interval != pprofOverBudgetWait {
		t.Errorf("over budget: every %s", p.interval)
	}
}

// A heap page over the byte budget is not read to its end; the status says
// so, and the next try waits long.
func TestHeapPageOverBudget(t *testing.T) {
	page, _ := os.ReadFile("testdata/heap-debug1.txt")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/debug/pprof/goroutine") {
			w.Write([]byte("goroutine profile: total 7\n"))
			return
		}
		w.Write(page)
	}))
	defer srv.Close()
	p := NewPprofMetricsSource(srv.URL, HTTPSourceOptions{})
	p.MaxHeapPage = 1024
	s, err := p.read(context.Background(), time.Second, true)
	if err == nil || !strings.Contains(err.Error(), "budget") {
		t.Fatalf("error %v, want one about the budget", err)
	}
	if s.Values[session.Goroutines] != 7 {
		t.Errorf("goroutines %v, want 7 (the other part still read)", s.Values[session.Goroutines])
	}
	if _, ok := s.Values[session.HeapGoal]; ok {
		t.Error("a heap goal from a page over the budget")
	}
	if note := p.Note(time.Second); !strings.Contains(note, "over the 1.0 KiB budget") {
		t.Errorf("note %q", note)
	}
	if iv := p.Interval(time.Second); iv != pprofOverBudgetWait {
		t.Errorf("interval %s after an over-budget page", iv)
	}
	// Within the budget: the MemStats figures, with their origins.
	p = NewPprofMetricsSource(srv.URL, HTTPSourceOptions{})
	s, err = p.read(context.Background(), time.Second, true)
	if err != nil {
		t.Fatal(err)
	}
	if s.Values[session.HeapGoal] != 9411186 || s.Values[session.HeapObjects] != 8336736 || s.Values[session.GCCycles] != 9 ||
		!strings.HasSuffix(s.Origins[session.HeapGoal], "heap?debug=1 MemStats") || s.Histograms[session.PausesGCOld].Total() != 9 {
		t.Errorf("sample %+v", s)
	}
}
