package collectors

import (
	"bytes"
	"compress/gzip"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/internal/testproc"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/session"
)

func refusedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// realHeapProfile returns a complete gzipped heap profile of this process.
func realHeapProfile(t *testing.T) []byte {
	t.Helper()
	base := startMetricsServer(t, "pprof")
	f, err := NewPprofClient(base).Fetch(t.Context(), ProfileRequest{Kind: profile.KindHeap})
	if err != nil {
		t.Fatal(err)
	}
	return f.Raw
}

func TestBadTargets(t *testing.T) {
	good := realHeapProfile(t)
	hang := make(chan struct{})
	defer close(hang)
	mux := http.NewServeMux()
	mux.HandleFunc("/hang/debug/pprof/heap", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/html/debug/pprof/heap", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<!DOCTYPE html><html><body>Please log in</body></html>"))
	})
	mux.HandleFunc("/trunc/debug/pprof/heap", func(w http.ResponseWriter, r *http.Request) {
		w.Write(good[:len(good)/2])
	})
	mux.HandleFunc("/corrupt/debug/pprof/heap", func(w http.ResponseWriter, r *http.Request) {
		b := append([]byte(nil), good...)
		b[len(b)-6] ^= 0xff // breaks the CRC
		w.Write(b)
	})
	mux.HandleFunc("/big/debug/pprof/heap", func(w http.ResponseWriter, r *http.Request) {
		w.Write(bytes.Repeat([]byte{0x1f}, 4096)) // Content-Length 4096
	})
	mux.HandleFunc("/bigchunked/debug/pprof/heap", func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < 8; i++ { // no Content-Length: the cap applies while reading
			w.Write(bytes.Repeat([]byte{0x1f}, 1024))
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/text/debug/pprof/heap", func(w http.ResponseWriter, r *http.Request) {
		w.Write(gzipped([]byte("")))
	})
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("followed a redirect to another port: %s", r.URL)
	}))
	defer other.Close()
	mux.HandleFunc("/elsewhere/debug/pprof/heap", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/debug/pprof/heap", http.StatusFound)
	})
	mux.HandleFunc("/loop/debug/pprof/heap", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Path, http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	cases := []struct {
		name, base string
		timeout    time.Duration
		maxBody    int64
		want       []string
		unreach    bool
	}{
		{"refused", refusedAddr(t), 0, 0, []string{"connection refused", "is the service running"}, true},
		{"hanging", srv.URL + "/hang", 300 * time.Millisecond, 0, []string{"no answer within 300ms"}, false},
		{"404", srv.URL + "/nothing", 0, 0, []string{"404 from /nothing/debug/pprof/heap", "does not register net/http/pprof"}, false},
		{"html", srv.URL + "/html", 0, 0, []string{"HTML page, not a profile"}, false},
		{"truncated", srv.URL + "/trunc", 0, 0, []string{"truncated"}, false},
		{"corrupt", srv.URL + "/corrupt", 0, 0, []string{"corrupt"}, false},
		{"over cap", srv.URL + "/big", 0, 1024, []string{"larger than the 1.0 KiB gotune reads"}, false},
		{"over cap chunked", srv.URL + "/bigchunked", 0, 1024, []string{"larger than the 1.0 KiB gotune reads"}, false},
		{"redirect to another port", srv.URL + "/elsewhere", 0, 0, []string{"redirected to another host or port", "follows redirects only on " + strings.TrimPrefix(srv.URL, "http://")}, false},
		{"redirect loop", srv.URL + "/loop", 0, 0, []string{"redirected more than 3 times"}, false},
		{"empty gzip", srv.URL + "/text", 0, 0, []string{"empty"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cl := NewPprofClient(c.base)
			// NormalizeBase cuts at /debug/; these bases have none, keep them.
			cl.Base = c.base
			if c.timeout > 0 {
				cl.Timeout = c.timeout
			}
			if c.maxBody > 0 {
				cl.MaxBody = c.maxBody
			}
			f, err := cl.Fetch(t.Context(), ProfileRequest{Kind: profile.KindHeap})
			if err == nil {
				t.Fatalf("no error; got %d bytes", len(f.Raw))
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if IsUnreachable(err) != c.unreach {
				t.Errorf("unreachable = %v, want %v", IsUnreachable(err), c.unreach)
			}
		})
	}
}

// A hanging metrics endpoint costs one deadline per try; the runner keeps
// going and reports the error instead of freezing.
func TestHangingMetricsRunGoesOn(t *testing.T) {
	hang := make(chan struct{})
	defer close(hang)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	tg, err := NewURLTarget(srv.URL, HTTPSourceOptions{Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	store := session.NewStore(10)
	r := NewRunner("metrics", 200*time.Millisecond, store, tg.CollectMetrics(store))
	r.Timeout = 300 * time.Millisecond
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go r.Run(ctx)
	testproc.Eventually(t, 10*time.Second, func() bool {
		st, _ := store.Snapshot().StatusOf("metrics")
		return st.Failures >= 2
	}, "runner stopped trying after a hang")
	st, _ := store.Snapshot().StatusOf("metrics")
	if !strings.Contains(st.LastErr, "no answer within") {
		t.Errorf("last error %q does not say the target did not answer", st.LastErr)
	}
	if st.Lost {
		t.Error("a hanging target was marked lost (it still accepts connections)")
	}
}

// A target killed mid-stream: the status says "lost", the samples read
// before stay in the store, and the runner keeps retrying.
func TestTargetKilledMidStream(t *testing.T) {
	bin := testproc.Build(t, "./testdata/targets/metricsserver")
	p := testproc.Start(t, bin, nil, "-mode", "agent", "-live", "4")
	tg, err := NewURLTarget(p.FirstLine, HTTPSourceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	store := session.NewStore(100)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	r := tg.MetricsRunner(store, 200*time.Millisecond)
	r.MaxBackoff = time.Second
	go r.Run(ctx)
	testproc.Eventually(t, 10*time.Second, func() bool { return len(store.Snapshot().Points) >= 3 }, "no samples from a live target")
	p.Kill()
	testproc.Eventually(t, 10*time.Second, func() bool {
		st, _ := store.Snapshot().StatusOf("metrics")
		return st.Lost
	}, "status never said the target was lost")
	snap := store.Snapshot()
	st, _ := snap.StatusOf("metrics")
	if len(snap.Points) < 3 {
		t.Errorf("kept %d points after the loss, want ≥ 3", len(snap.Points))
	}
	if !strings.Contains(st.LastErr, "connection refused") || st.LostAt.IsZero() {
		t.Errorf("status after loss: %+v", st)
	}
	failures := st.Failures
	testproc.Eventually(t, 10*time.Second, func() bool {
		st, _ := store.Snapshot().StatusOf("metrics")
		return st.Failures > failures
	}, "runner stopped retrying a lost target")
}
