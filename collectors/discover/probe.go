package discover

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gotune/gotune/agent"
)

// DefaultProbeTimeout bounds each probe request. Probes go to loopback, where
// a Go HTTP server answers in well under a millisecond; 300 ms leaves room
// for a loaded box while keeping `gotune ps` under a second.
const DefaultProbeTimeout = 300 * time.Millisecond

// Probe paths, in the order gotune prefers them for metrics.
const (
	PathAgent      = agent.Path // "/debug/gotune/metrics"
	PathPprof      = "/debug/pprof/"
	PathPrometheus = "/metrics"
	PathExpvar     = "/debug/vars"
)

// Caps on what a probe reads. Detection needs only the start of a page.
const (
	probeBodyLimit = 1 << 20
	probeHeaderMax = 64 << 10
)

// Endpoints says which gotune-relevant endpoints answered at one base URL.
type Endpoints struct {
	Base       string `json:"base"` // "http://127.0.0.1:6060"
	Agent      bool   `json:"agent,omitempty"`
	Pprof      bool   `json:"pprof,omitempty"`
	Prometheus bool   `json:"prometheus,omitempty"`
	Expvar     bool   `json:"expvar,omitempty"`
	// NotHTTP: the server spoke first (a NATS, SSH or SMTP port): it was
	// not sent any request.
	NotHTTP bool `json:"not_http,omitempty"`
}

// speakFirstWait is how long a probe listens on a fresh connection before
// sending anything: a server that greets first (NATS's INFO, an SSH
// banner) does so within microseconds on loopback at rest; nats-server
// with two cores saturated by JetStream load took over 50 ms. A server
// slower than this is probed as before. Ports are probed concurrently, so
// this adds one wait to a scan, not one per port.
const speakFirstWait = 100 * time.Millisecond

// speaksFirst reports whether the server at base ("http://host:port")
// sends bytes before the client says anything: not an HTTP server.
func speaksFirst(ctx context.Context, base string, wait time.Duration) bool {
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, wait*4)
	defer cancel()
	c, err := (&net.Dialer{}).DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(wait))
	var b [1]byte
	n, _ := c.Read(b[:])
	return n > 0
}

// Any reports whether anything gotune can use answered.
func (e Endpoints) Any() bool { return e.Agent || e.Pprof || e.Prometheus || e.Expvar }

// NewProbeClient returns the HTTP client probes use: no keep-alives (a probe
// must not leave idle connections in someone's server), no proxy (targets are
// local), small header cap.
func NewProbeClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                  nil,
			DisableKeepAlives:      true,
			MaxResponseHeaderBytes: probeHeaderMax,
			DialContext:            (&net.Dialer{}).DialContext,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Probe asks base ("http://host:port") for the four endpoints concurrently,
// each with its own timeout (DefaultProbeTimeout when 0), and reports which
// answered with what gotune expects there: the agent's JSON document, the
// pprof index, a Prometheus page with go_* series, an expvar page with
// memstats. A nil client means NewProbeClient().
func Probe(ctx context.Context, client *http.Client, base string, timeout time.Duration) Endpoints {
	if client == nil {
		client = NewProbeClient()
	}
	if timeout <= 0 {
		timeout = DefaultProbeTimeout
	}
	base = strings.TrimRight(base, "/")
	e := Endpoints{Base: base}
	if speaksFirst(ctx, base, min(timeout/3, speakFirstWait)) {
		// NATS, SSH, SMTP, MySQL, FTP, Redis sentinels... greet first; an
		// HTTP server never does. Four GETs there would only put parser
		// errors in its log.
		e.NotHTTP = true
		return e
	}
	checks := []struct {
		path string
		ok   func(body []byte) bool
		dst  *bool
	}{
		{PathAgent, isAgentDocument, &e.Agent},
		{PathPprof, isPprofIndex, &e.Pprof},
		{PathPrometheus, isGoPrometheus, &e.Prometheus},
		{PathExpvar, isExpvar, &e.Expvar},
	}
	var wg sync.WaitGroup
	for _, c := range checks {
		wg.Go(func() {
			body, ok := probeGet(ctx, client, base+c.path, timeout)
			*c.dst = ok && c.ok(body)
		})
	}
	wg.Wait()
	return e
}

func probeGet(ctx context.Context, client *http.Client, url string, timeout time.Duration) ([]byte, bool) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, false
	}
	req.Header.Set("User-Agent", "gotune-probe")
	resp, err := client.Do(req)
	if err != nil {
		return nil, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, false
	}
	// A page longer than the cap is read in part: detection looks at its start.
	body, err := io.ReadAll(io.LimitReader(resp.Body, probeBodyLimit))
	if err != nil && len(body) == 0 {
		return nil, false
	}
	return body, true
}

// isAgentDocument: the gotune agent's document starts {"format":N.
func isAgentDocument(b []byte) bool {
	return bytes.HasPrefix(bytes.TrimSpace(b), []byte(`{"format":`)) && bytes.Contains(b, []byte(`"metrics":`))
}

// isPprofIndex: net/http/pprof's Index page lists the profiles by name.
func isPprofIndex(b []byte) bool {
	return bytes.Contains(b, []byte("goroutine")) && bytes.Contains(b, []byte("heap")) && bytes.Contains(b, []byte("profile"))
}

// isGoPrometheus: a Prometheus text page carrying client_golang's Go
// collector (go_goroutines, go_memstats_*, go_gc_*).
func isGoPrometheus(b []byte) bool {
	return bytes.Contains(b, []byte("\ngo_")) || bytes.HasPrefix(b, []byte("go_")) || bytes.Contains(b, []byte("# TYPE go_"))
}

// isExpvar: expvar's /debug/vars is a JSON object holding "memstats".
func isExpvar(b []byte) bool {
	return bytes.HasPrefix(bytes.TrimSpace(b), []byte("{")) && bytes.Contains(b, []byte(`"memstats":`))
}
