package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"
	"github.com/gotune/gotune/agent"
	"github.com/gotune/gotune/internal/testproc"
)

// get fetches url and returns its body, failing the test on any error or a
// status other than 200.
func get(t *testing.T, c *http.Client, url string) []byte {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %s: %s", url, resp.Status, body)
	}
	return body
}

// agentMetrics fetches the agent document and returns its scalar metrics.
func agentMetrics(t *testing.T, c *http.Client, base string) (agent.Document, map[string]float64) {
	t.Helper()
	var doc agent.Document
	if err := json.Unmarshal(get(t, c, base+agent.Path), &doc); err != nil {
		t.Fatalf("decode agent document: %v", err)
	}
	m := make(map[string]float64, len(doc.Metrics))
	for _, x := range doc.Metrics {
		m[x.Name] = float64(x.Value)
	}
	return doc, m
}

// eventually calls cond until it returns true or the deadline (at least
// testproc.MinWait) passes, and fails with the last state cond gave.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	timeout = max(timeout, testproc.MinWait)
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s; last: %s", what, timeout, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestServe(t *testing.T) {
	cfg := Config{
		AllocRate:            20 << 20,
		Workers:              2,
		CacheBytes:           16 << 20,
		LeakEvery:            20 * time.Millisecond,
		MutexWorkers:         3,
		MutexProfileFraction: 1,
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	urls := make(chan string, 1)
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, "127.0.0.1:0", cfg, func(u string) { urls <- u }) }()
	var base string
	select {
	case base = <-urls:
	case err := <-served:
		t.Fatalf("Serve returned before ready: %v", err)
	case <-time.After(testproc.MinWait):
		t.Fatalf("Serve did not call ready within %v", testproc.MinWait)
	}
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("base URL %q, want http://127.0.0.1:PORT", base)
	}
	c := &http.Client{Timeout: testproc.MinWait}
	defer c.CloseIdleConnections()

	if index := get(t, c, base+"/debug/pprof/"); !bytes.Contains(index, []byte("goroutine")) {
		t.Errorf("/debug/pprof/ does not list the goroutine profile:\n%s", index)
	}
	heap, err := profile.Parse(bytes.NewReader(get(t, c, base+"/debug/pprof/heap")))
	if err != nil {
		t.Fatalf("parse heap profile: %v", err)
	}
	if !hasFrame(heap, "demo.newCacheEntry") {
		t.Errorf("heap profile has no sample allocated by demo.newCacheEntry (%d samples)", len(heap.Sample))
	}

	doc, m := agentMetrics(t, c, base)
	if doc.Format != agent.FormatVersion || len(doc.Metrics) < 50 {
		t.Fatalf("agent document: format %d, %d metrics; want format %d and every runtime metric", doc.Format, len(doc.Metrics), agent.FormatVersion)
	}
	eventually(t, 30*time.Second, "live heap holds the cache", func() (bool, string) {
		_, m = agentMetrics(t, c, base)
		live := m["/gc/heap/live:bytes"]
		return live >= 0.8*float64(cfg.CacheBytes) && m["/gc/cycles/total:gc-cycles"] >= 2,
			fmt.Sprintf("live %.0f bytes after %.0f GC cycles", live, m["/gc/cycles/total:gc-cycles"])
	})
	if live := m["/gc/heap/live:bytes"]; live > 2*float64(cfg.CacheBytes) {
		t.Errorf("live heap %.0f bytes, want about the cache size %d", live, cfg.CacheBytes)
	}

	g0 := m["/sched/goroutines:goroutines"]
	eventually(t, 30*time.Second, "goroutines grow with the leak", func() (bool, string) {
		_, m := agentMetrics(t, c, base)
		g := m["/sched/goroutines:goroutines"]
		return g >= g0+10, fmt.Sprintf("%.0f goroutines, started at %.0f", g, g0)
	})
	goroutines := get(t, c, base+"/debug/pprof/goroutine?debug=1")
	if !bytes.Contains(goroutines, []byte("demo.leakyWorker")) {
		t.Errorf("goroutine dump has no demo.leakyWorker")
	}

	eventually(t, 30*time.Second, "mutex profile shows demo.contendedCounter", func() (bool, string) {
		p, err := profile.Parse(bytes.NewReader(get(t, c, base+"/debug/pprof/mutex")))
		if err != nil {
			return false, err.Error()
		}
		return hasFrame(p, "demo.contendedCounter"), fmt.Sprintf("%d samples", len(p.Sample))
	})

	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve = %v after cancel, want nil", err)
		}
	case <-time.After(testproc.MinWait):
		t.Fatal("Serve did not return within 30s of cancel")
	}
	if _, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), time.Second); err == nil {
		t.Errorf("%s still accepts connections after Serve returned", base)
	}
	if left := workloadGoroutines(); left != "" {
		t.Errorf("workload goroutines still running after Serve returned:\n%s", left)
	}
}

// hasFrame reports whether a sample with a positive value has fn (a
// function name suffix such as "demo.leakyWorker") on its stack.
func hasFrame(p *profile.Profile, fn string) bool {
	for _, s := range p.Sample {
		positive := false
		for _, v := range s.Value {
			positive = positive || v > 0
		}
		if !positive {
			continue
		}
		for _, loc := range s.Location {
			for _, l := range loc.Line {
				if l.Function != nil && strings.HasSuffix(l.Function.Name, fn) {
					return true
				}
			}
		}
	}
	return false
}

func TestServeListenError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = Serve(context.Background(), ln.Addr().String(), Config{CacheBytes: 1 << 20}, func(string) {
		t.Error("ready called although the address is taken")
	})
	if err == nil || !strings.Contains(err.Error(), "listen on "+ln.Addr().String()) {
		t.Errorf("Serve on a taken address = %v, want a listen error naming it", err)
	}
}

func TestBaseURL(t *testing.T) {
	tests := []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}, "http://127.0.0.1:8080"},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 80}, "http://127.0.0.1:80"},
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 9}, "http://127.0.0.1:9"},
		{&net.TCPAddr{IP: net.IPv6loopback, Port: 6060}, "http://[::1]:6060"},
		{&net.TCPAddr{Port: 1}, "http://127.0.0.1:1"},
	}
	for _, tt := range tests {
		if got := BaseURL(tt.addr); got != tt.want {
			t.Errorf("BaseURL(%v) = %q, want %q", tt.addr, got, tt.want)
		}
	}
}
