// Package trace reads Go execution traces — a `/debug/pprof/trace`
// capture, a `runtime/trace` file or a flight-recorder snapshot — and says
// why a program waited: every stop-the-world pause with its reason and what
// the goroutines were doing, the minimum mutator utilisation (MMU) curve,
// scheduler latency (runnable → running) as a histogram and by stack, time
// blocked by reason (channels, select, sync, network, syscalls, GC assists)
// with the stacks responsible, and the GC cycles with their phases and
// assist share.
//
// It is pure: Analyze reads an io.Reader it is handed and streams the
// events through golang.org/x/exp/trace (a copy of Go's own parser), one
// generation at a time. Nothing is kept per event; what grows with the
// trace is the mutator-utilisation curve (one point per change) and the
// per-stack groups. So a trace of hundreds of megabytes is read in a
// fraction of the memory `go tool trace` needs to hold it.
//
// Figures follow Go's own tools, and the tests hold them to the tools on
// the same files: scheduler, sync, syscall and network totals as `go tool
// trace -pprof=sched|sync|syscall|net` computes them (see
// Latency.BeforeFirstRun for the one deliberate difference), pauses as the
// STW ranges `go tool trace -d=parsed` prints, and the MMU as the MMU page
// of `go tool trace` (internal/trace.MutatorUtilizationV2 and MMUCurve).
package trace

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gotune/gotune/measurement"
)

// Defaults for Options.
const (
	// DefaultMaxBytes bounds the trace Analyze reads. Analysis streams, so
	// this guards time rather than memory: about 2.5 s per 100 MB on one
	// core of the machine the benchmark ran on.
	DefaultMaxBytes  = 4 << 30
	DefaultMaxPauses = 100
	DefaultMaxGroups = 50
	DefaultMaxCycles = 500
)

// DefaultWindows are the MMU window sizes, 1 ms to 1 s in 1-2-5 steps.
var DefaultWindows = []time.Duration{
	1 * time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond,
	10 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond,
	1 * time.Second,
}

// Options tune Analyze. The zero value uses the defaults.
type Options struct {
	MaxBytes  int64           // refuse traces longer than this; default DefaultMaxBytes
	MaxPauses int             // pauses kept in Summary.Pauses.List (the longest)
	MaxGroups int             // stack groups kept per table (the longest totals)
	MaxCycles int             // GC cycles kept (the last ones)
	Windows   []time.Duration // MMU window sizes; windows longer than the trace are left out
	// MMUCompat computes the MMU exactly as internal/trace (go tool trace)
	// does, including its double count of GC worker runs (see
	// docs/trace.md); by default each worker run counts once.
	MMUCompat bool
	// Progress, if set, is called every few thousand events with the bytes
	// read so far.
	Progress func(bytes int64)
}

func (o Options) withDefaults() Options {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxPauses <= 0 {
		o.MaxPauses = DefaultMaxPauses
	}
	if o.MaxGroups <= 0 {
		o.MaxGroups = DefaultMaxGroups
	}
	if o.MaxCycles <= 0 {
		o.MaxCycles = DefaultMaxCycles
	}
	if o.Windows == nil {
		o.Windows = DefaultWindows
	}
	return o
}

// Errors for input that is not a trace gotune can read. Analyze wraps them
// with what it read; test with errors.Is.
var (
	ErrNotTrace    = errors.New("not a Go execution trace (it does not start with a \"go 1.N trace\" header)")
	ErrEmpty       = errors.New("empty input: no trace data")
	ErrTooLarge    = errors.New("trace is larger than the limit")
	ErrTruncated   = errors.New("trace is truncated or corrupt")
	ErrUnsupported = errors.New("unsupported trace version")
)

// VersionError is a trace from a Go release this build cannot parse: newer
// than the pinned golang.org/x/exp/trace knows, or older than Go 1.11.
type VersionError struct {
	Minor int // 27 for "go 1.27 trace"
	Max   int // the newest minor version this build reads
}

func (e *VersionError) Error() string {
	if e.Minor > e.Max {
		return fmt.Sprintf("this trace was written by Go 1.%d, newer than this gotune can read (Go 1.%d and older): rebuild gotune with a newer golang.org/x/exp/trace, or read it with that Go's `go tool trace`", e.Minor, e.Max)
	}
	return fmt.Sprintf("this trace was written by Go 1.%d, older than any version the parser reads", e.Minor)
}

func (e *VersionError) Unwrap() error { return ErrUnsupported }

// maxMinor is the newest trace version golang.org/x/exp/trace
// v0.0.0-20261113113407-e3970619a1a4 reads (internal/version.Current).
const maxMinor = 26

// Analyze reads one execution trace and summarises it. For a trace that
// ends early (a cut file, a broken stream) it returns the summary of what
// it read, with Truncated set, and an error wrapping ErrTruncated; for
// anything else that is not a readable trace, a nil summary and an error a
// person can act on.
func Analyze(ctx context.Context, r io.Reader, o Options) (*Summary, error) {
	o = o.withDefaults()
	cr := &countingReader{r: r, limit: o.MaxBytes}
	br := bufio.NewReaderSize(cr, 64<<10)
	header, err := readHeader(br)
	if err != nil {
		if cr.exceeded {
			return nil, tooLarge(o.MaxBytes)
		}
		return nil, err
	}
	a := newAnalyzer(o)
	a.s.Format = header.format
	a.s.GoVersion = "go1." + strconv.Itoa(header.minor)
	if err := a.run(ctx, br, cr); err != nil {
		if cr.exceeded {
			return nil, tooLarge(o.MaxBytes)
		}
		if errors.Is(err, ErrTruncated) {
			a.finish()
			a.s.Bytes = cr.n
			a.s.Truncated = true
			return a.s, err
		}
		return nil, err
	}
	a.finish()
	a.s.Bytes = cr.n
	return a.s, nil
}

// AnalyzeFile is Analyze on a file.
func AnalyzeFile(ctx context.Context, path string, o Options) (*Summary, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		max := o.MaxBytes
		if max <= 0 {
			max = DefaultMaxBytes
		}
		if st.Size() > max {
			return nil, fmt.Errorf("%s: %s is %s: %w", path, "the trace", measurement.Bytes(float64(st.Size())), tooLarge(max))
		}
	}
	s, err := Analyze(ctx, f, o)
	if err != nil {
		return s, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

func tooLarge(max int64) error {
	return fmt.Errorf("%w of %s; not read (raise the limit if you mean it)", ErrTooLarge, measurement.Bytes(float64(max)))
}

type traceHeader struct {
	format string
	minor  int
}

// readHeader checks the 16-byte header ("go 1.26 trace\x00\x00\x00")
// without consuming it, so the parser reads it again.
func readHeader(br *bufio.Reader) (traceHeader, error) {
	b, err := br.Peek(16)
	if len(b) == 0 {
		if err == nil || errors.Is(err, io.EOF) {
			return traceHeader{}, ErrEmpty
		}
		return traceHeader{}, err
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return traceHeader{}, err
	}
	var minor int
	if _, err := fmt.Sscanf(string(b), "go 1.%d trace", &minor); err != nil || len(b) < 16 {
		if len(b) < 16 && (strings.HasPrefix(string(b), "go 1.") || strings.HasPrefix("go 1.", string(b))) {
			return traceHeader{}, fmt.Errorf("%w: only %d bytes", ErrTruncated, len(b))
		}
		return traceHeader{}, ErrNotTrace
	}
	if minor > maxMinor || minor < 11 {
		return traceHeader{}, &VersionError{Minor: minor, Max: maxMinor}
	}
	return traceHeader{format: fmt.Sprintf("go 1.%d trace", minor), minor: minor}, nil
}

// countingReader counts bytes and fails past a limit.
type countingReader struct {
	r        io.Reader
	n        int64
	limit    int64
	exceeded bool
}

var errLimit = errors.New("byte limit reached")

func (c *countingReader) Read(p []byte) (int, error) {
	if c.n >= c.limit {
		// Allow the read that proves there is more.
		var one [1]byte
		if n, _ := c.r.Read(one[:]); n > 0 {
			c.exceeded = true
			return 0, errLimit
		}
		return 0, io.EOF
	}
	if rest := c.limit - c.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
