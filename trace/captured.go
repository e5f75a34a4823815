package trace

import (
	"strconv"
	"time"
)

// Source says where a captured trace came from.
type Source string

const (
	// SourcePprof is a /debug/pprof/trace?seconds=N capture: the target
	// traced for N seconds after the request.
	SourcePprof Source = "pprof-trace"
	// SourceFlightRecorder is a snapshot of the gotune agent's flight
	// recorder: the last seconds before the request.
	SourceFlightRecorder Source = "flight-recorder"
	// SourceFile is a trace read from a file.
	SourceFile Source = "file"
)

// Captured is one execution trace as gotune keeps it (the capture
// pipeline's held trace, a snapshot's): the bytes as the target wrote them
// — a file `go tool trace` opens — what Analyze read from them, and where
// and when it came from. Its JSON (without the bytes) is the snapshot's
// trace/summary.json entry and the reports' trace section.
type Captured struct {
	Raw    []byte `json:"-"`
	Source Source `json:"source"`
	// Seconds is the length the capture asked for (SourcePprof); 0 for
	// the flight recorder, which returns what it holds.
	Seconds int `json:"seconds,omitempty"`
	// From and To are the wall-clock span the trace covers: from the
	// trace's clock snapshot when it has one (Go ≥1.25), else estimated
	// from the request (FromTrace says which).
	From      time.Time `json:"from"`
	To        time.Time `json:"to"`
	FromTrace bool      `json:"span_from_trace"`
	FetchedAt time.Time `json:"fetched_at"`
	// Summary is the analysis; nil when the bytes could not be read as a
	// trace (Problem says why).
	Summary *Summary `json:"summary,omitempty"`
	// Problem is the analysis error, when there was one (a truncated
	// trace keeps the summary of what was read).
	Problem string `json:"problem,omitempty"`
}

// SourceText says where the trace came from, for people:
// "/debug/pprof/trace?seconds=5", "the agent's flight recorder".
func (c *Captured) SourceText() string {
	switch c.Source {
	case SourcePprof:
		if c.Seconds > 0 {
			return "/debug/pprof/trace?seconds=" + strconv.Itoa(c.Seconds)
		}
		return "/debug/pprof/trace"
	case SourceFlightRecorder:
		return "the agent's flight recorder"
	case SourceFile:
		return "a trace file"
	}
	return string(c.Source)
}

// SetSpan sets From and To: the trace's own wall-clock span when its
// summary has one, else the request's (the seconds before fetchedAt, or
// for the flight recorder the trace's duration before it).
func (c *Captured) SetSpan(fetchedAt time.Time) {
	c.FetchedAt = fetchedAt
	if s := c.Summary; s != nil && !s.WallStart.IsZero() {
		c.From, c.To, c.FromTrace = s.WallStart, s.WallStart.Add(s.Duration), true
		return
	}
	d := time.Duration(c.Seconds) * time.Second
	if c.Summary != nil && (d == 0 || c.Source == SourceFlightRecorder) {
		d = c.Summary.Duration
	}
	c.From, c.To, c.FromTrace = fetchedAt.Add(-d), fetchedAt, false
}
