package collectors

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gotune/gotune/agent"
	"github.com/gotune/gotune/measurement"
)

// Limits of a trace capture. An execution trace costs the target CPU while
// it runs (a few percent, more with many goroutine switches) and is large:
// a busy service writes megabytes per second.
const (
	DefaultTraceSeconds = 5
	MaxTraceSeconds     = 60
	DefaultMaxTrace     = 256 << 20 // byte budget of one capture
	// traceSlack is the deadline beyond the capture's seconds: connecting,
	// the target stopping its tracer and flushing, and the transfer.
	traceSlack = 20 * time.Second
	// FlightRecorderPath is the gotune agent's flight-recorder snapshot
	// (the same format as /debug/pprof/trace).
	FlightRecorderPath = "/debug/gotune/flightrecorder"
	tracePath          = "/debug/pprof/trace"
	traceHeaderPrefix  = "go 1."
	progressEvery      = 200 * time.Millisecond
)

// TraceRequest says which execution trace to fetch.
type TraceRequest struct {
	// Seconds is the length of a /debug/pprof/trace capture; default
	// DefaultTraceSeconds, at most MaxTraceSeconds. Ignored for the flight
	// recorder, which returns what it holds at once.
	Seconds        int
	FlightRecorder bool
	// MaxBytes is the byte budget; default DefaultMaxTrace. A longer trace
	// is an error, never a silent cut (a cut trace loses its last
	// generation).
	MaxBytes int64
	// Timeout is the deadline beyond Seconds; default 20 s.
	Timeout time.Duration
	// Progress, if set, is called from the fetching goroutine as bytes
	// arrive (at most every 200 ms) and once at the end with Done set.
	Progress func(TraceProgress)
}

// TraceProgress is how far a capture has got.
type TraceProgress struct {
	Bytes   int64         `json:"bytes"`
	Elapsed time.Duration `json:"elapsed_ns"`
	Seconds int           `json:"seconds"` // the capture's length; 0 for the flight recorder
	Done    bool          `json:"done"`
}

// ErrTraceBusy is returned when gotune is already capturing a trace from
// the same target: one at a time, as the target's tracer serves one
// /debug/pprof/trace at a time and each costs it CPU.
var ErrTraceBusy = errors.New("a trace is already being captured from this target; wait for it to finish or cancel it")

// tracesInFlight holds the base URLs with a capture under way.
var tracesInFlight sync.Map

// TraceClient fetches execution traces from a target.
type TraceClient struct {
	Base string
	HTTP *http.Client
}

// NewTraceClient returns a client for the target at base (a URL or
// host:port).
func NewTraceClient(base string) *TraceClient {
	if b, err := NormalizeBase(base); err == nil {
		base = b
	}
	return &TraceClient{Base: base, HTTP: NewHTTPClient()}
}

func traceSeconds(req TraceRequest) int {
	switch {
	case req.Seconds <= 0:
		return DefaultTraceSeconds
	case req.Seconds > MaxTraceSeconds:
		return MaxTraceSeconds
	}
	return req.Seconds
}

// URL returns the endpoint URL for req.
func (c *TraceClient) URL(req TraceRequest) string {
	if req.FlightRecorder {
		return c.Base + FlightRecorderPath
	}
	return c.Base + tracePath + "?seconds=" + strconv.Itoa(traceSeconds(req))
}

// Fetch captures one trace and writes it to w as it arrives, so a caller
// can stream it into a file or straight into the analysis. It returns the
// bytes written. Cancelling ctx ends the capture: net/http/pprof stops
// tracing when its client goes away.
func (c *TraceClient) Fetch(ctx context.Context, req TraceRequest, w io.Writer) (int64, error) {
	if req.Seconds > MaxTraceSeconds {
		return 0, fmt.Errorf("a %d s trace is longer than the %d s gotune allows (traces are large and cost the target CPU)", req.Seconds, MaxTraceSeconds)
	}
	if _, busy := tracesInFlight.LoadOrStore(c.Base, true); busy {
		return 0, ErrTraceBusy
	}
	defer tracesInFlight.Delete(c.Base)

	secs := traceSeconds(req)
	if req.FlightRecorder {
		secs = 0
	}
	slack := req.Timeout
	if slack <= 0 {
		slack = traceSlack
	}
	timeout := time.Duration(secs)*time.Second + slack
	maxBytes := req.MaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxTrace
	}
	httpc := c.HTTP
	if httpc == nil {
		httpc = NewHTTPClient()
	}
	u := c.URL(req)

	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, &FetchError{URL: u, Reason: "bad URL: " + err.Error(), Err: err}
	}
	hreq.Header.Set("User-Agent", userAgent)
	start := time.Now()
	resp, err := httpc.Do(hreq)
	if err != nil {
		return 0, classifyTransportError(ctx, u, timeout, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return 0, traceStatusError(u, resp.StatusCode, string(msg), req.FlightRecorder)
	}
	if resp.ContentLength > maxBytes {
		return 0, traceTooLarge(u, maxBytes)
	}

	// Check the header before passing anything on.
	head := make([]byte, 16)
	n, err := io.ReadFull(resp.Body, head)
	head = head[:n]
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return 0, classifyTransportError(ctx, u, timeout, err)
	}
	if herr := checkTraceHeader(head); herr != nil {
		return 0, &FetchError{URL: u, Reason: herr.Error(), Hint: traceHint(head, req.FlightRecorder)}
	}
	if n < 16 {
		return 0, &FetchError{URL: u, Reason: fmt.Sprintf("the trace ends after %d bytes, inside its header", n)}
	}
	pw := &progressWriter{w: w, start: start, seconds: secs, report: req.Progress}
	if _, err := pw.Write(head); err != nil {
		return pw.n, err
	}
	_, err = io.Copy(pw, io.LimitReader(resp.Body, maxBytes+1-int64(n)))
	if err != nil {
		var we *writeError
		if errors.As(err, &we) {
			return pw.n, we.err
		}
		fe := classifyTransportError(ctx, u, timeout, err)
		if e, ok := fe.(*FetchError); ok {
			e.Reason = fmt.Sprintf("%s after %s of trace", e.Reason, measurement.Bytes(float64(pw.n)))
		}
		return pw.n, fe
	}
	if pw.n > maxBytes {
		return pw.n, traceTooLarge(u, maxBytes)
	}
	pw.done()
	return pw.n, nil
}

func traceTooLarge(u string, maxBytes int64) error {
	return &FetchError{URL: u, Reason: fmt.Sprintf("the trace is larger than the %s budget; stopped reading", measurement.Bytes(float64(maxBytes))),
		Hint: "capture fewer seconds, or raise the byte budget"}
}

// checkTraceHeader accepts "go 1.N trace" (possibly cut short).
func checkTraceHeader(head []byte) error {
	if len(head) == 0 {
		return errors.New("empty response, not an execution trace")
	}
	if looksLikeHTML(head) {
		return errors.New("got an HTML page, not an execution trace")
	}
	p := []byte(traceHeaderPrefix)
	if len(head) < len(p) {
		if !bytes.HasPrefix(p, head) {
			return errors.New("not an execution trace")
		}
		return nil
	}
	if !bytes.HasPrefix(head, p) || (len(head) >= 13 && !bytes.Contains(head, []byte(" trace"))) {
		return errors.New("not an execution trace (no \"go 1.N trace\" header)")
	}
	return nil
}

func traceHint(head []byte, fr bool) string {
	if looksLikeHTML(head) {
		return "is this the pprof endpoint, or a login or proxy page?"
	}
	if fr {
		return "the flight recorder endpoint answered with something else"
	}
	return ""
}

func traceStatusError(u string, status int, body string, fr bool) error {
	if fr {
		// The agent's own refusals (off, busy) carry a code and a hint.
		return refusalError("flight recorder snapshot", u, agent.FlightRecorderPath, status, []byte(body), "")
	}
	err := statusError(u, status, body)
	e, ok := err.(*FetchError)
	if !ok {
		return err
	}
	switch {
	case status == http.StatusNotFound && fr:
		e.Hint = "the target does not serve gotune's flight recorder: import github.com/gotune/gotune/agent with the flight recorder enabled"
	case strings.Contains(body, "already enabled"):
		e.Reason = "the target is already writing an execution trace for another client"
		e.Hint = "wait for it to finish and try again"
	case strings.Contains(body, "WriteTimeout"):
		e.Reason = "the target's HTTP server has a WriteTimeout shorter than the capture"
		e.Hint = "capture fewer seconds"
	}
	return e
}

type writeError struct{ err error }

func (e *writeError) Error() string { return "write trace: " + e.err.Error() }

// progressWriter counts, forwards and reports.
type progressWriter struct {
	w       io.Writer
	n       int64
	start   time.Time
	last    time.Time
	seconds int
	report  func(TraceProgress)
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.n += int64(n)
	if err != nil {
		return n, &writeError{err}
	}
	if p.report != nil {
		if now := time.Now(); now.Sub(p.last) >= progressEvery {
			p.last = now
			p.report(TraceProgress{Bytes: p.n, Elapsed: now.Sub(p.start), Seconds: p.seconds})
		}
	}
	return n, nil
}

func (p *progressWriter) done() {
	if p.report != nil {
		p.report(TraceProgress{Bytes: p.n, Elapsed: time.Since(p.start), Seconds: p.seconds, Done: true})
	}
}
