package bundle

import (
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
	return func(ctx context.Context, sess *capture.Session, _ *capture.Window) ([]byte, string) {
		if !sess.HasTraces() {
			return nil, "no execution trace: the target serves no net/http/pprof"
		}
		start := time.Now()
		c, ferr := sess.Trace(ctx, capture.TraceOptions{FlightRecorder: true, MaxBytes: maxBytes})
		if ferr == nil {
			return c.Raw, fmt.Sprintf("execution trace: the flight recorder's snapshot, %s, fetched in %s, saved beside the bundle (%s)",
				measurement.Bytes(float64(len(c.Raw))), measurement.Seconds(time.Since(start).Seconds()), TraceExt)
		}
		if ctx.Err() != nil {
			return nil, ""
		}
		if seconds <= 0 {
			return nil, "no execution trace: " + safetext.Line(ferr.Error())
		}
		c, err := sess.Trace(ctx, capture.TraceOptions{Seconds: seconds, MaxBytes: maxBytes})
		if err != nil {
			if ctx.Err() != nil {
				return nil, ""
			}
			return nil, safetext.Line(fmt.Sprintf("no execution trace: %v (the flight recorder: %v)", err, ferr))
		}
		return c.Raw, fmt.Sprintf("execution trace: %d s from /debug/pprof/trace after the window (no flight recorder), %s, saved beside the bundle (%s)",
			seconds, measurement.Bytes(float64(len(c.Raw))), TraceExt)
	}
}
