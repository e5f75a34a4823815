package capture

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/gotune/gotune/collectors"
	"github.com/gotune/gotune/trace"
)

// TraceFetcher fetches one execution trace, writing it to w as it arrives.
// *collectors.TraceClient implements it.
type TraceFetcher interface {
	Fetch(ctx context.Context, req collectors.TraceRequest, w io.Writer) (int64, error)
}

// TraceOptions say which execution trace Session.Trace takes.
type TraceOptions struct {
	// Seconds is the length of a /debug/pprof/trace capture; default
	// collectors.DefaultTraceSeconds, at most collectors.MaxTraceSeconds.
	Seconds int
	// FlightRecorder asks the gotune agent's flight recorder for the last
	// seconds it holds instead (at once; the program must have enabled
	// it).
	FlightRecorder bool
	// MaxBytes is the byte budget of the capture; default
	// collectors.DefaultMaxTrace.
	MaxBytes int64
	// Progress, if set, is called from the fetching goroutine as bytes
	// arrive and once at the end (collectors.TraceRequest.Progress).
	Progress func(collectors.TraceProgress)
}

// ErrNoTraces says the target serves no endpoint execution traces come
// from.
var ErrNoTraces = errors.New("the target serves no net/http/pprof endpoint, so no /debug/pprof/trace: add import _ \"net/http/pprof\" to capture execution traces")

// traceState is a session's execution traces: where they come from, one
// capture at a time, and the last one taken (held like a profile, for the
// window and its snapshot).
type traceState struct {
	fetcher TraceFetcher
	busy    sync.Mutex // one trace at a time
	mu      sync.Mutex
	held    *trace.Captured
}

// traceFetcherFor is the trace client of a target: its pprof server
// (/debug/pprof/trace), where the agent's flight recorder is mounted too
// (the agent's opt-in paths live next to its metrics, beside pprof in
// every program gotune knows).
func traceFetcherFor(t collectors.Target) TraceFetcher {
	switch t := t.(type) {
	case *collectors.URLTarget:
		return collectors.NewTraceClient(t.Base)
	case *collectors.PIDTarget:
		switch {
		case t.Pprof != nil:
			return collectors.NewTraceClient(t.Pprof.Base)
		case t.Base != "":
			return collectors.NewTraceClient(t.Base)
		}
		return nil
	}
	if pc, ok := t.Profiles().(*collectors.PprofClient); ok && pc != nil {
		return collectors.NewTraceClient(pc.Base)
	}
	return nil
}

// HasTraces reports whether the session can take execution traces (or,
// replayed, holds one).
func (s *Session) HasTraces() bool { return s.tr.fetcher != nil || s.HeldTrace() != nil }

// HeldTrace returns the last execution trace the session took, or nil.
func (s *Session) HeldTrace() *trace.Captured {
	s.tr.mu.Lock()
	defer s.tr.mu.Unlock()
	return s.tr.held
}

// Trace takes one execution trace from the target (see TraceOptions),
// analyses it as it arrives and holds it: the next Window carries it (its
// summary to the advisor, its bytes to the snapshot) when it lies inside
// the window. One trace at a time: a second call while one runs gets
// collectors.ErrTraceBusy. Cancelling ctx ends the capture.
//
// A trace that ends early (the target cut it) is held with what was read
// (Summary.Truncated) and returned together with an error wrapping
// trace.ErrTruncated. Anything else that is not a trace gotune reads (not
// a trace, a newer Go's, over the budget) is an error and nothing is held.
func (s *Session) Trace(ctx context.Context, o TraceOptions) (*trace.Captured, error) {
	if s.tr.fetcher == nil {
		if c := s.HeldTrace(); c != nil && s.replay {
			return c, nil // a replay: what was recorded
		}
		return nil, ErrNoTraces
	}
	if !s.tr.busy.TryLock() {
		return nil, collectors.ErrTraceBusy
	}
	defer s.tr.busy.Unlock()
	maxBytes := o.MaxBytes
	if maxBytes <= 0 {
		maxBytes = collectors.DefaultMaxTrace
	}
	req := collectors.TraceRequest{Seconds: o.Seconds, FlightRecorder: o.FlightRecorder, MaxBytes: maxBytes, Progress: o.Progress}
	c := &trace.Captured{Source: trace.SourcePprof, Seconds: o.Seconds}
	what := "execution trace"
	if o.FlightRecorder {
		c.Source, c.Seconds, what = trace.SourceFlightRecorder, 0, "flight recorder snapshot"
	} else if c.Seconds <= 0 {
		c.Seconds = collectors.DefaultTraceSeconds
	}

	// The analysis reads the trace as it arrives, so it is done when the
	// capture is; the bytes are kept for the snapshot (a file go tool
	// trace opens).
	var raw bytes.Buffer
	pr, pw := io.Pipe()
	type result struct {
		sum *trace.Summary
		err error
	}
	done := make(chan result, 1)
	go func() {
		sum, err := trace.Analyze(ctx, pr, trace.Options{MaxBytes: maxBytes})
		_, _ = io.Copy(io.Discard, pr) // an analysis that stops early must not stall the capture
		done <- result{sum, err}
	}()
	_, ferr := s.tr.fetcher.Fetch(ctx, req, io.MultiWriter(&raw, pw))
	pw.CloseWithError(ferr)
	res := <-done
	if ferr != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: %w", what, ctx.Err())
		}
		if o.FlightRecorder {
			return nil, ferr // the agent client's errors name the flight recorder
		}
		return nil, fmt.Errorf("%s: %w", what, ferr)
	}
	if res.err != nil && !errors.Is(res.err, trace.ErrTruncated) {
		return nil, fmt.Errorf("read the %s: %w", what, res.err)
	}
	c.Raw, c.Summary = raw.Bytes(), res.sum
	c.SetSpan(s.now())
	var err error
	if res.err != nil {
		c.Problem = res.err.Error()
		err = fmt.Errorf("read the %s: %w", what, res.err)
	}
	s.tr.mu.Lock()
	s.tr.held = c
	s.tr.mu.Unlock()
	return c, err
}

// heldTraceSince returns the held trace when its span starts at or after
// t (a second's slack: spans from a request are estimates), or nil.
func (s *Session) heldTraceSince(t time.Time) *trace.Captured {
	c := s.HeldTrace()
	if c == nil || c.Summary == nil || c.From.Before(t.Add(-time.Second)) {
		return nil
	}
	return c
}

// windowTrace is the trace a window carries: the held one taken inside
// it; none when the window leaves profiles out.
func (s *Session) windowTrace(o WindowOptions, from time.Time) *trace.Captured {
	if o.NoProfiles {
		return nil
	}
	if s.replay {
		return s.HeldTrace()
	}
	return s.heldTraceSince(from)
}

// traceInWindow starts the trace a window asks for (WindowOptions.Trace),
// timed to end at until, unless one taken since the window's start is
// held. The returned function waits for it and returns what could not be
// captured, for the window's notes.
func (s *Session) traceInWindow(ctx context.Context, o WindowOptions, from, until, giveUp time.Time) func() []string {
	none := func() []string { return nil }
	if o.Trace <= 0 || o.NoProfiles || o.HeldOnly || s.replay || s.heldTraceSince(from) != nil {
		return none
	}
	if s.tr.fetcher == nil {
		return func() []string { return []string{"execution trace: " + ErrNoTraces.Error()} }
	}
	secs := min(collectors.MaxTraceSeconds, max(1, int(o.Trace/time.Second)))
	notes := make(chan []string, 1)
	// A target that has not answered by giveUp is not waited for.
	tctx, cancel := context.WithDeadline(ctx, giveUp)
	go func() {
		defer cancel()
		if err := sleepUntil(tctx, until.Add(-time.Duration(secs)*time.Second)); err != nil {
			notes <- nil
			return
		}
		if _, err := s.Trace(tctx, TraceOptions{Seconds: secs}); err != nil && ctx.Err() == nil {
			if tctx.Err() != nil {
				err = fmt.Errorf("execution trace: not answered by %s after the window's end; left out", windowGrace)
			}
			notes <- []string{err.Error()}
			return
		}
		notes <- nil
	}()
	return func() []string {
		select {
		case n := <-notes:
			return n
		case <-ctx.Done():
			return nil
		}
	}
}
