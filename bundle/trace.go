package bundle

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/gotune/gotune/capture"
	"github.com/gotune/gotune/collectors"
	"github.com/gotune/gotune/measurement"
	"github.com/gotune/gotune/safetext"
)

// Defaults of TraceOf.
const (
	// DefaultTraceSeconds is the length of the execution trace a bundle
	// takes from a target without a flight recorder.
	DefaultTraceSeconds = 2
	// DefaultTraceMaxBytes bounds one bundle's trace.
	DefaultTraceMaxBytes = 64 << 20
)

// TraceExt names the trace saved beside a bundle: NAME.trace next to
// NAME.gotune (the format of /debug/pprof/trace; `go tool trace` and
// `gotune trace` read it).
const TraceExt = ".trace"

// TraceOf is the TraceHook of a target: the gotune agent's flight
// recorder snapshot where the target enabled it (what led up to the
// firing, at no extra cost to the target), else an execution trace of
// seconds from /debug/pprof/trace (0: none), at most maxBytes (0:
// DefaultTraceMaxBytes). A target without net/http/pprof gives none; the
// note says which was taken, or why none.
func TraceOf(t collectors.Target, seconds int, maxBytes int64) TraceHook {
	if maxBytes <= 0 {
		maxBytes = DefaultTraceMaxBytes
	}
	return func(ctx context.Context, _ *capture.Session, _ *capture.Window) ([]byte, string) {
		pc := t.Profiles()
		if pc == nil {
			return nil, "no execution trace: the target serves no net/http/pprof"
		}
		c := &collectors.TraceClient{Base: pc.Base, HTTP: pc.HTTP}
		var b bytes.Buffer
		start := time.Now()
		_, ferr := c.Fetch(ctx, collectors.TraceRequest{FlightRecorder: true, MaxBytes: maxBytes}, &b)
		if ferr == nil {
			return b.Bytes(), fmt.Sprintf("execution trace: the flight recorder's snapshot, %s, fetched in %s, saved beside the bundle (%s)",
				measurement.Bytes(float64(b.Len())), measurement.Seconds(time.Since(start).Seconds()), TraceExt)
		}
		if ctx.Err() != nil {
			return nil, ""
		}
		if seconds <= 0 {
			return nil, "no execution trace: " + safetext.Line(ferr.Error())
		}
		b.Reset()
		start = time.Now()
		if _, err := c.Fetch(ctx, collectors.TraceRequest{Seconds: seconds, MaxBytes: maxBytes}, &b); err != nil {
			if ctx.Err() != nil {
				return nil, ""
			}
			return nil, safetext.Line(fmt.Sprintf("no execution trace: %v (the flight recorder: %v)", err, ferr))
		}
		return b.Bytes(), fmt.Sprintf("execution trace: %d s from /debug/pprof/trace after the window (no flight recorder), %s, saved beside the bundle (%s)",
			seconds, measurement.Bytes(float64(b.Len())), TraceExt)
	}
}
