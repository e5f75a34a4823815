package agent

import (
	"errors"
	"fmt"
	"net/http"
	"runtime/trace"
	"sync"
	"sync/atomic"
	"time"
)

// flightWriteTimeout bounds how long one snapshot may take to send: a slow
// or stalled client must not hold the recorder (one WriteTo at a time).
const flightWriteTimeout = 30 * time.Second

// FlightRecorderOptions configure EnableFlightRecorder; they are passed to
// runtime/trace.FlightRecorderConfig. Zero values leave the choice to Go
// (a window "on the order of seconds").
type FlightRecorderOptions struct {
	// MinAge is how far back the window should reach at least.
	MinAge time.Duration
	// MaxBytes bounds the window's size; it takes precedence over MinAge
	// and is a hint, not a guarantee, for memory and snapshot size.
	MaxBytes uint64
}

type flightRecorder struct {
	fr   *trace.FlightRecorder
	opts FlightRecorderOptions
	mu   sync.Mutex // one WriteTo at a time (runtime/trace's rule)
}

var (
	flight   atomic.Pointer[flightRecorder]
	flightMu sync.Mutex
)

// EnableFlightRecorder starts Go's flight recorder (runtime/trace,
// Go 1.25+): the runtime keeps the last seconds of execution trace in
// memory, and GET FlightRecorderPath returns a snapshot of that window in
// the format of /debug/pprof/trace, for "what just happened" after a
// latency spike. Until it is called the endpoint answers 404. It costs the
// program the tracer's CPU and the window's memory while it runs (see
// docs/agent-format.md for figures). It fails if a flight recorder is
// already running in this process.
func EnableFlightRecorder(opts FlightRecorderOptions) error {
	flightMu.Lock()
	defer flightMu.Unlock()
	if flight.Load() != nil {
		return errors.New("agent: the flight recorder is already enabled")
	}
	fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{MinAge: opts.MinAge, MaxBytes: opts.MaxBytes})
	if err := fr.Start(); err != nil {
		return fmt.Errorf("agent: start the flight recorder: %w", err)
	}
	flight.Store(&flightRecorder{fr: fr, opts: opts})
	return nil
}

// DisableFlightRecorder stops the flight recorder and frees its window.
func DisableFlightRecorder() {
	flightMu.Lock()
	defer flightMu.Unlock()
	f := flight.Swap(nil)
	if f == nil {
		return
	}
	f.mu.Lock() // let a snapshot in progress finish
	defer f.mu.Unlock()
	f.fr.Stop()
}

// FlightRecorderHandler serves FlightRecorderPath.
func FlightRecorderHandler() http.Handler { return http.HandlerFunc(serveFlightRecorder) }

func serveFlightRecorder(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		refuse(http.StatusMethodNotAllowed, CodeBadRequest, "use GET").write(w)
		return
	}
	f := flight.Load()
	if f == nil {
		refuse(http.StatusNotFound, CodeFlightRecorderDisabled,
			"the flight recorder is not enabled in this program: it must call agent.EnableFlightRecorder").write(w)
		return
	}
	if !f.mu.TryLock() {
		refuse(http.StatusConflict, CodeFlightRecorderBusy, "another flight recorder snapshot is being written; try again when it is done").write(w)
		return
	}
	defer f.mu.Unlock()
	if !f.fr.Enabled() {
		refuse(http.StatusNotFound, CodeFlightRecorderDisabled, "the flight recorder was stopped").write(w)
		return
	}
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(flightWriteTimeout))
	// The headers of net/http/pprof.Trace: the bytes are the same format.
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="trace"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	cw := &countingWriter{w: w}
	if _, err := f.fr.WriteTo(cw); err != nil && cw.n == 0 {
		w.Header().Del("Content-Disposition")
		refuse(http.StatusInternalServerError, CodeFlightRecorderDisabled, "flight recorder snapshot: %v", err).write(w)
	}
	// An error after the first byte cannot be reported in the status: the
	// client sees a truncated body (a chunked response that ends early).
}

type countingWriter struct {
	w http.ResponseWriter
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
