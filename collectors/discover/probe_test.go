package discover

import (
	"context"
	"expvar"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/pprof"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gotune/gotune/agent"
)

func TestProbe(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector())
	mux := func(register func(m *http.ServeMux)) http.Handler {
		m := http.NewServeMux()
		register(m)
		return m
	}
	for _, tc := range []struct {
		name    string
		handler http.Handler
		want    Endpoints
	}{
		{"agent", mux(func(m *http.ServeMux) { m.Handle(agent.Path, agent.Handler()) }), Endpoints{Agent: true}},
		{"pprof", mux(func(m *http.ServeMux) { m.HandleFunc("/debug/pprof/", pprof.Index) }), Endpoints{Pprof: true}},
		{"prometheus", mux(func(m *http.ServeMux) { m.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{})) }), Endpoints{Prometheus: true}},
		{"expvar", mux(func(m *http.ServeMux) { m.Handle("/debug/vars", expvar.Handler()) }), Endpoints{Expvar: true}},
		{"all", mux(func(m *http.ServeMux) {
			m.Handle(agent.Path, agent.Handler())
			m.HandleFunc("/debug/pprof/", pprof.Index)
			m.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
			m.Handle("/debug/vars", expvar.Handler())
		}), Endpoints{Agent: true, Pprof: true, Prometheus: true, Expvar: true}},
		// Answers 200 with the wrong content everywhere: a catch-all page.
		{"catch-all", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>welcome</html>")) }), Endpoints{}},
		// A Prometheus page without Go series is not a Go metrics source.
		{"prometheus without go_", mux(func(m *http.ServeMux) {
			m.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("# TYPE up gauge\nup 1\n")) })
		}), Endpoints{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			got := Probe(context.Background(), nil, srv.URL, 0)
			tc.want.Base = srv.URL
			if got != tc.want {
				t.Errorf("Probe = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// A server that never answers costs one probe timeout, not more.
func TestProbeTimeout(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(block)
	start := time.Now()
	got := Probe(context.Background(), nil, srv.URL, 100*time.Millisecond)
	// A generous bound: it catches a probe that waits for the server
	// (which never answers), not a slow machine.
	if el := time.Since(start); got.Any() || el > 20*time.Second {
		t.Errorf("Probe of a silent server = %+v after %v; want nothing after ~100ms", got, el)
	}
}

// A server that greets first (NATS sends INFO on accept) is not HTTP: the
// probe sends it nothing, so its log gets no parser errors.
func TestProbeSkipsServersThatSpeakFirst(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var got atomic.Int64
	var conns atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer c.Close()
				io.WriteString(c, "INFO {\"server_id\":\"x\",\"version\":\"2.15.2\"}\r\n")
				n, _ := io.Copy(io.Discard, c)
				got.Add(n)
			}()
		}
	}()
	base := "http://" + ln.Addr().String()
	e := Probe(t.Context(), nil, base, time.Second)
	if e.Any() || !e.NotHTTP {
		t.Errorf("Probe = %+v, want nothing and NotHTTP", e)
	}
	ln.Close()
	time.Sleep(50 * time.Millisecond) // let the handler count what it read
	if n := got.Load(); n != 0 {
		t.Errorf("the probe sent %d bytes to a server that is not HTTP", n)
	}
	if c := conns.Load(); c != 1 {
		t.Errorf("%d connections, want the one that listened", c)
	}
}
