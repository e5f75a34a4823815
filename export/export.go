// Package export sends what gotune captured to the engines people already
// run: profiles as OTLP profiles to an OpenTelemetry collector (gRPC or
// HTTP) or as pprof to Pyroscope's /ingest API; metrics (the runtime series,
// with their runtime/metrics names) as OTLP metrics or Prometheus
// remote-write.
//
// An Exporter owns one destination (a Sink). Enqueue never blocks and never
// does I/O: it puts the item in a bounded in-memory queue and returns. A
// background sender encodes and sends, one request at a time, retrying with
// exponential backoff while the destination is down, slow or refusing; a
// spiller moves queued items to a directory (with a byte cap) when memory
// fills or the destination is failing, so they survive until it is back and
// across a restart of gotune. What cannot be kept is refused and counted,
// never silently lost: Stats gives queued, spilled, sent, dropped and failed
// counts and the last error.
//
// Delivery is at least once: a request that timed out may still have been
// stored by the receiver, and is sent again.
package export

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/gotune/gotune/measurement"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/safetext"
	"github.com/gotune/gotune/session"
)

// Signal is what kind of data an item carries.
type Signal string

const (
	SignalProfiles Signal = "profiles"
	SignalMetrics  Signal = "metrics"
)

// Errors Enqueue returns. An item refused with ErrQueueFull or ErrClosed is
// counted in Stats.Dropped.
var (
	ErrQueueFull   = errors.New("export queue full")
	ErrClosed      = errors.New("exporter closed")
	ErrUnsupported = errors.New("destination does not take this signal")
)

// Defaults of Options.
const (
	DefaultMemoryBytes      = 64 << 20
	DefaultSpillBytes       = 512 << 20
	DefaultRequestTimeout   = 10 * time.Second
	DefaultMinBackoff       = 500 * time.Millisecond
	DefaultMaxBackoff       = 30 * time.Second
	DefaultPointsPerRequest = 60
)

// Options bound an Exporter's queue and pace its retries. The zero value
// takes the defaults and keeps nothing on disk.
type Options struct {
	// MemoryBytes caps the in-memory queue (encoded size, or an estimate
	// before encoding). An item that does not fit is refused.
	MemoryBytes int64
	// SpillDir, when set, holds queued requests while the destination is
	// failing or memory is over half full. Items left there by an earlier
	// run for the same kind of destination are sent first.
	SpillDir string
	// SpillBytes caps the files in SpillDir.
	SpillBytes int64
	// RequestTimeout bounds one request.
	RequestTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait between retries (doubling,
	// with jitter; a Retry-After from the receiver is honoured up to
	// MaxBackoff).
	MinBackoff, MaxBackoff time.Duration
	// PointsPerRequest splits metric series into requests of this many
	// points (each point carries every metric of one sample).
	PointsPerRequest int
	// Now is the clock (tests); time.Now when nil.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.MemoryBytes <= 0 {
		o.MemoryBytes = DefaultMemoryBytes
	}
	if o.SpillBytes <= 0 {
		o.SpillBytes = DefaultSpillBytes
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = DefaultRequestTimeout
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = DefaultMinBackoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = o.MinBackoff
	}
	if o.PointsPerRequest <= 0 {
		o.PointsPerRequest = DefaultPointsPerRequest
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Item is one thing to export: a profile or a run of metric points, with
// where it came from. Sinks encode it.
type Item struct {
	Signal  Signal
	Profile *profile.Captured // SignalProfiles
	Points  []session.Point   // SignalMetrics
	Origin  Origin
}

// Payload is one encoded request, as it is sent and as it is spilled.
type Payload struct {
	Signal Signal
	// Kind is the profile kind ("" for metrics).
	Kind string
	// Data counts what the request carries: profile samples (summed over
	// sample types) or metric data points.
	Data int64
	// Body is the request body, ready for the wire.
	Body []byte
	// Meta holds what a sink needs besides the body (a query string, a
	// content type), kept with the body on disk.
	Meta map[string]string
}

// Result is what a receiver said about an accepted request.
type Result struct {
	// Rejected counts data the receiver accepted the request for but
	// refused to keep (OTLP partial success).
	Rejected int64
	// Message is the receiver's note on a partial success.
	Message string
}

// Sink is one destination. Encode is pure; Send does one attempt with no
// retries of its own (the Exporter retries) and returns a *SendError that
// says whether to try again.
type Sink interface {
	// Kind names the protocol ("otlp-http", "otlp-grpc", "pyroscope",
	// "remote-write"); spilled files carry it.
	Kind() string
	// Endpoint is where it sends, for people (no credentials).
	Endpoint() string
	// Accepts reports whether the sink takes the signal.
	Accepts(Signal) bool
	Encode(Item) (Payload, error)
	Send(ctx context.Context, p Payload) (Result, error)
}

// SendError is a failed attempt. Retryable errors (the receiver is down,
// slow, overloaded or failing: network errors, timeouts, 408, 429, 5xx,
// gRPC Unavailable and the like) are tried again; the others (the receiver
// refused this request: other 4xx, gRPC InvalidArgument, Unimplemented)
// would fail the same way again and count as failed.
type SendError struct {
	Retryable  bool
	RetryAfter time.Duration
	Err        error
}

func (e *SendError) Error() string { return e.Err.Error() }
func (e *SendError) Unwrap() error { return e.Err }

// retryable reports how to treat err from Send: a plain error is a
// network-level failure and retryable.
func retryable(err error) (bool, time.Duration) {
	var se *SendError
	if errors.As(err, &se) {
		return se.Retryable, se.RetryAfter
	}
	return true, 0
}

// Stats is what an Exporter has done, for the status line.
type Stats struct {
	Kind, Endpoint string
	// Queued and QueuedBytes are in memory now; Spilled and SpilledBytes
	// on disk now.
	Queued       int
	QueuedBytes  int64
	Spilled      int
	SpilledBytes int64
	// Sent counts accepted requests; SentData the samples or points they
	// carried; SentBytes their bodies.
	Sent, SentData, SentBytes int64
	// Dropped counts items refused (queue and disk full, too big, closed);
	// Failed requests the receiver refused for good or that could not be
	// encoded; Rejected data a receiver accepted but did not keep.
	Dropped, Failed, Rejected int64
	// Retries counts failed attempts that will be tried again.
	Retries int64
	// Failing is set while the last attempt failed and will be retried;
	// Backoff is the wait before the next try.
	Failing     bool
	Backoff     time.Duration
	LastError   string // safe to print (safetext.Line)
	LastErrorAt time.Time
	LastSentAt  time.Time
}

// Lost is what could not be sent and will not be: dropped, failed and
// rejected.
func (s Stats) Lost() int64 { return s.Dropped + s.Failed + s.Rejected }

// String is a one-line status: "otlp-http http://127.0.0.1:4318: 12 sent,
// 3 queued (1.2 MB), 0 on disk, 0 dropped, 0 failed".
func (s Stats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %d sent, %d queued (%s), %d on disk (%s), %d dropped, %d failed",
		s.Kind, safetext.Line(s.Endpoint), s.Sent, s.Queued, measurement.Bytes(float64(s.QueuedBytes)),
		s.Spilled, measurement.Bytes(float64(s.SpilledBytes)), s.Dropped, s.Failed)
	if s.Rejected > 0 {
		fmt.Fprintf(&b, ", %d rejected", s.Rejected)
	}
	if s.Retries > 0 {
		fmt.Fprintf(&b, ", %d retries", s.Retries)
	}
	if s.Failing {
		fmt.Fprintf(&b, "; retrying in %s", measurement.Seconds(s.Backoff.Seconds()))
	}
	if s.LastError != "" && (s.Failing || s.Lost() > 0) {
		fmt.Fprintf(&b, "; last error: %s", s.LastError)
	}
	return b.String()
}

// entry is one queued request, in memory or on disk.
type entry struct {
	seq  uint64
	item *Item    // until encoded
	pl   *Payload // once encoded (or loaded from disk)
	size int64
	path string // on disk when set
	busy bool   // taken by the sender or the spiller
}

// Exporter queues items for one Sink and sends them in the background.
type Exporter struct {
	sink  Sink
	opt   Options
	spool *spool // nil without SpillDir

	mu        sync.Mutex
	mem       []*entry // by seq
	memBytes  int64
	disk      []*entry // by seq
	diskBytes int64
	diskFull  bool // the last spill did not fit; wait for room
	seq       uint64
	closing   bool
	st        Stats

	wakeSend  chan struct{}
	wakeSpill chan struct{}
	ctx       context.Context // cancelled when Close gives up
	cancel    context.CancelFunc
	drain     chan struct{} // closed by Close: exit once empty
	sendDone  chan struct{}
	spillDone chan struct{}
}

// New starts an Exporter for sink. With a SpillDir it first takes up what
// an earlier run left there.
func New(sink Sink, o Options) (*Exporter, error) {
	o = o.withDefaults()
	e := &Exporter{
		sink:      sink,
		opt:       o,
		wakeSend:  make(chan struct{}, 1),
		wakeSpill: make(chan struct{}, 1),
		drain:     make(chan struct{}),
		sendDone:  make(chan struct{}),
		spillDone: make(chan struct{}),
	}
	e.st.Kind, e.st.Endpoint = sink.Kind(), sink.Endpoint()
	if o.SpillDir != "" {
		sp, left, err := openSpool(o.SpillDir, sink.Kind())
		if err != nil {
			return nil, err
		}
		e.spool = sp
		for _, d := range left {
			e.disk = append(e.disk, d)
			e.diskBytes += d.size
			if d.seq > e.seq {
				e.seq = d.seq
			}
		}
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	go e.sendLoop()
	go e.spillLoop()
	return e, nil
}

// Sink returns the destination.
func (e *Exporter) Sink() Sink { return e.sink }

// EnqueueProfile queues a profile. It never blocks; ErrQueueFull and
// ErrClosed mean it was dropped (and counted).
func (e *Exporter) EnqueueProfile(c *profile.Captured, o Origin) error {
	if c == nil || len(c.Raw) == 0 && c.Profile == nil {
		return fmt.Errorf("export: empty profile")
	}
	if !e.sink.Accepts(SignalProfiles) {
		return ErrUnsupported
	}
	size := int64(len(c.Raw))*2 + 1024 // OTLP is larger than gzipped pprof
	return e.enqueue(&Item{Signal: SignalProfiles, Profile: c, Origin: o}, size)
}

// EnqueueMetrics queues metric points (split into requests of
// Options.PointsPerRequest). It never blocks. When some chunks do not fit,
// the first error is returned and the rest are still tried.
func (e *Exporter) EnqueueMetrics(points []session.Point, o Origin) error {
	if !e.sink.Accepts(SignalMetrics) {
		return ErrUnsupported
	}
	var first error
	for len(points) > 0 {
		n := min(len(points), e.opt.PointsPerRequest)
		chunk := points[:n:n]
		points = points[n:]
		var size int64 = 512
		for i := range chunk {
			size += int64(len(chunk[i].Values)+len(chunk[i].Derived))*48 + 64
			for _, h := range chunk[i].Histograms {
				size += int64(len(h.Counts)) * 16
			}
		}
		if err := e.enqueue(&Item{Signal: SignalMetrics, Points: chunk, Origin: o}, size); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (e *Exporter) enqueue(it *Item, size int64) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closing {
		e.dropLocked("enqueued after Close")
		return ErrClosed
	}
	if e.memBytes+size > e.opt.MemoryBytes {
		what := fmt.Sprintf("queue full (%s queued, cap %s)", measurement.Bytes(float64(e.memBytes)), measurement.Bytes(float64(e.opt.MemoryBytes)))
		if size > e.opt.MemoryBytes {
			what = fmt.Sprintf("item of %s is larger than the queue (%s)", measurement.Bytes(float64(size)), measurement.Bytes(float64(e.opt.MemoryBytes)))
		}
		e.dropLocked(what)
		return fmt.Errorf("%w: %s", ErrQueueFull, what)
	}
	e.seq++
	e.mem = append(e.mem, &entry{seq: e.seq, item: it, size: size})
	e.memBytes += size
	signal(e.wakeSend)
	if e.shouldSpillLocked() {
		signal(e.wakeSpill)
	}
	return nil
}

func (e *Exporter) dropLocked(why string) {
	e.st.Dropped++
	e.st.LastError = "dropped: " + why
	e.st.LastErrorAt = e.opt.Now()
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Stats returns the counts now.
func (e *Exporter) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.st
	s.Queued, s.QueuedBytes = len(e.mem), e.memBytes
	s.Spilled, s.SpilledBytes = len(e.disk), e.diskBytes
	return s
}

// Close stops taking items and sends what is queued until ctx is done.
// Then it cancels the request in flight and writes what is left in memory
// to the spill directory (sent by the next Exporter on it); what does not
// fit there is dropped. The error says what was not sent.
func (e *Exporter) Close(ctx context.Context) error {
	e.mu.Lock()
	already := e.closing
	e.closing = true
	e.mu.Unlock()
	if already {
		<-e.sendDone
		return nil
	}
	close(e.drain)
	signal(e.wakeSend)
	select {
	case <-e.sendDone:
	case <-ctx.Done():
	}
	e.cancel()
	<-e.sendDone
	<-e.spillDone
	if c, ok := e.sink.(io.Closer); ok {
		_ = c.Close()
	}
	// Whatever is still in memory goes to disk, or is dropped.
	e.mu.Lock()
	left := e.mem
	e.mem = nil
	e.memBytes = 0
	e.mu.Unlock()
	var spillErr error
	for _, en := range left {
		if err := e.spillOne(en); err != nil {
			e.mu.Lock()
			e.dropLocked("closed before it could be sent: " + err.Error())
			e.mu.Unlock()
			spillErr = err
		}
	}
	s := e.Stats()
	if s.Spilled == 0 && spillErr == nil {
		return nil
	}
	msg := fmt.Sprintf("export to %s: not sent before the deadline", safetext.Line(s.Endpoint))
	if s.Spilled > 0 {
		msg += fmt.Sprintf("; %d requests (%s) kept in %s for the next run", s.Spilled, measurement.Bytes(float64(s.SpilledBytes)), e.opt.SpillDir)
	}
	if spillErr != nil {
		msg += fmt.Sprintf("; some dropped: %v", spillErr)
	}
	return errors.New(msg)
}

// next takes the oldest entry that nobody holds.
func (e *Exporter) nextLocked() *entry {
	var best *entry
	for _, q := range [][]*entry{e.disk, e.mem} {
		for _, en := range q {
			if !en.busy {
				if best == nil || en.seq < best.seq {
					best = en
				}
				break
			}
		}
	}
	if best != nil {
		best.busy = true
	}
	return best
}

func (e *Exporter) sendLoop() {
	defer close(e.sendDone)
	attempt := 0
	for {
		e.mu.Lock()
		en := e.nextLocked()
		e.mu.Unlock()
		if en == nil {
			select {
			case <-e.wakeSend:
				continue
			case <-e.drain:
				e.mu.Lock()
				empty := len(e.mem) == 0 && len(e.disk) == 0
				busy := e.anyBusyLocked()
				e.mu.Unlock()
				if empty {
					return
				}
				if busy { // the spiller holds the rest; wait for it
					select {
					case <-e.wakeSend:
					case <-e.ctx.Done():
						return
					case <-time.After(10 * time.Millisecond):
					}
				}
				continue
			case <-e.ctx.Done():
				return
			}
		}
		if e.ctx.Err() != nil {
			e.release(en)
			return
		}
		pl, err := e.payload(en)
		if err != nil {
			e.finish(en, func(s *Stats) {
				s.Failed++
				s.LastError = safetext.Line(err.Error())
				s.LastErrorAt = e.opt.Now()
			})
			continue
		}
		rctx, cancel := context.WithTimeout(e.ctx, e.opt.RequestTimeout)
		res, err := e.sink.Send(rctx, *pl)
		cancel()
		if err == nil {
			attempt = 0
			e.finish(en, func(s *Stats) {
				s.Sent++
				s.SentData += pl.Data - res.Rejected
				s.SentBytes += int64(len(pl.Body))
				s.LastSentAt = e.opt.Now()
				s.Failing, s.Backoff = false, 0
				if res.Rejected > 0 {
					s.Rejected += res.Rejected
					s.LastError = safetext.Line(fmt.Sprintf("%s accepted a request but rejected %d of its %d %s: %s", e.sink.Kind(), res.Rejected, pl.Data, dataNoun(pl.Signal), res.Message))
					s.LastErrorAt = e.opt.Now()
				}
			})
			continue
		}
		if e.ctx.Err() != nil { // Close gave up: the request stays queued
			e.release(en)
			return
		}
		again, after := retryable(err)
		if !again {
			attempt = 0
			e.finish(en, func(s *Stats) {
				s.Failed++
				s.Failing, s.Backoff = false, 0
				s.LastError = safetext.Line(err.Error())
				s.LastErrorAt = e.opt.Now()
			})
			continue
		}
		wait := e.backoff(attempt, after)
		attempt++
		e.mu.Lock()
		en.busy = false
		e.st.Retries++
		e.st.Failing, e.st.Backoff = true, wait
		e.st.LastError = safetext.Line(err.Error())
		e.st.LastErrorAt = e.opt.Now()
		e.mu.Unlock()
		signal(e.wakeSpill) // failing: keep what is queued on disk
		select {
		case <-time.After(wait):
		case <-e.ctx.Done():
			return
		}
	}
}

func dataNoun(s Signal) string {
	if s == SignalProfiles {
		return "samples"
	}
	return "data points"
}

func (e *Exporter) anyBusyLocked() bool {
	for _, q := range [][]*entry{e.disk, e.mem} {
		for _, en := range q {
			if en.busy {
				return true
			}
		}
	}
	return false
}

// backoff doubles from MinBackoff up to MaxBackoff with jitter in
// [d/2, d], and honours a receiver's Retry-After up to MaxBackoff.
func (e *Exporter) backoff(attempt int, retryAfter time.Duration) time.Duration {
	d := e.opt.MinBackoff
	for i := 0; i < attempt && d < e.opt.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, e.opt.MaxBackoff)
	d = d/2 + rand.N(d/2+1)
	if retryAfter > d {
		d = min(retryAfter, e.opt.MaxBackoff)
	}
	return d
}

// payload encodes a memory entry or loads a disk entry.
func (e *Exporter) payload(en *entry) (*Payload, error) {
	if en.pl != nil {
		return en.pl, nil
	}
	if en.path != "" {
		pl, err := e.spool.load(en.path)
		if err != nil {
			return nil, err
		}
		return &pl, nil // not kept: disk entries stay on disk
	}
	pl, err := e.sink.Encode(*en.item)
	if err != nil {
		return nil, fmt.Errorf("encode %s for %s: %w", en.item.Signal, e.sink.Kind(), err)
	}
	e.mu.Lock()
	en.pl, en.item = &pl, nil
	size := int64(len(pl.Body)) + 256
	e.memBytes += size - en.size
	en.size = size
	e.mu.Unlock()
	return en.pl, nil
}

// finish removes a sent or failed entry and updates the stats.
func (e *Exporter) finish(en *entry, update func(*Stats)) {
	if en.path != "" {
		e.spool.remove(en.path)
	}
	e.mu.Lock()
	e.removeLocked(en)
	update(&e.st)
	e.mu.Unlock()
	if en.path != "" {
		signal(e.wakeSpill) // room on disk
	}
}

func (e *Exporter) release(en *entry) {
	e.mu.Lock()
	en.busy = false
	e.mu.Unlock()
}

func (e *Exporter) removeLocked(en *entry) {
	if en.path != "" {
		for i, d := range e.disk {
			if d == en {
				e.disk = append(e.disk[:i], e.disk[i+1:]...)
				e.diskBytes -= en.size
				e.diskFull = false
				return
			}
		}
		return
	}
	for i, m := range e.mem {
		if m == en {
			e.mem = append(e.mem[:i], e.mem[i+1:]...)
			e.memBytes -= en.size
			return
		}
	}
}

// shouldSpillLocked: spill while the destination is failing (so a restart
// of gotune keeps the queue) or memory is over half full.
func (e *Exporter) shouldSpillLocked() bool {
	if e.spool == nil || e.diskFull {
		return false
	}
	return e.st.Failing || e.memBytes > e.opt.MemoryBytes/2
}

func (e *Exporter) spillLoop() {
	defer close(e.spillDone)
	for {
		select {
		case <-e.wakeSpill:
		case <-e.ctx.Done():
			return
		}
		for e.ctx.Err() == nil {
			e.mu.Lock()
			var en *entry
			if e.shouldSpillLocked() {
				for _, m := range e.mem {
					if !m.busy {
						en = m
						en.busy = true
						break
					}
				}
			}
			e.mu.Unlock()
			if en == nil {
				break
			}
			if err := e.spillOne(en); err != nil {
				e.release(en)
				break
			}
			signal(e.wakeSend)
		}
	}
}

// spillOne writes a memory entry to disk and moves it to the disk queue.
// The entry must not be in the sender's hands.
func (e *Exporter) spillOne(en *entry) error {
	if e.spool == nil {
		return errors.New("no spill directory")
	}
	if en.pl == nil {
		pl, err := e.sink.Encode(*en.item)
		if err != nil {
			e.mu.Lock()
			e.removeLocked(en)
			e.st.Failed++
			e.st.LastError = safetext.Line(fmt.Sprintf("encode %s for %s: %v", en.item.Signal, e.sink.Kind(), err))
			e.st.LastErrorAt = e.opt.Now()
			e.mu.Unlock()
			return nil
		}
		en.pl = &pl
	}
	size := e.spool.size(*en.pl)
	e.mu.Lock()
	fits := e.diskBytes+size <= e.opt.SpillBytes
	if !fits {
		e.diskFull = true
	}
	e.mu.Unlock()
	if !fits {
		return fmt.Errorf("spill directory full (cap %s)", measurement.Bytes(float64(e.opt.SpillBytes)))
	}
	path, err := e.spool.write(en.seq, *en.pl)
	if err != nil {
		e.mu.Lock()
		e.diskFull = true // do not spin on a broken disk; room resets it
		e.st.LastError = safetext.Line("spill: " + err.Error())
		e.st.LastErrorAt = e.opt.Now()
		e.mu.Unlock()
		return err
	}
	d := &entry{seq: en.seq, size: size, path: path}
	e.mu.Lock()
	e.removeLocked(en)
	i := len(e.disk)
	for i > 0 && e.disk[i-1].seq > d.seq {
		i--
	}
	e.disk = append(e.disk, nil)
	copy(e.disk[i+1:], e.disk[i:])
	e.disk[i] = d
	e.diskBytes += size
	e.mu.Unlock()
	return nil
}
