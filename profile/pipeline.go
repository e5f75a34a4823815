package profile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/gzip"
)

// pipelineMin is the gzipped size from which ParseBytes inflates on one
// goroutine while it decodes on another: below it the goroutine costs
// more than it saves.
const pipelineMin = 256 << 10

// errTrailer marks a gzip stream whose length does not match its trailer
// (several members, or more than 4 GB): the pipelined reader gives up and
// ParseBytes inflates the plain way.
var errTrailer = errors.New("gzip trailer size does not match the stream")

// inflater inflates a gzip stream into buf (sized from the trailer) on its
// own goroutine, publishing how much is ready, so the decoder can walk the
// first samples while the last are being inflated: inflating is about half
// the cost of reading a big profile, and this overlaps it with the rest.
type inflater struct {
	buf   []byte
	avail atomic.Int64 // bytes of buf ready
	stop  atomic.Bool  // the decoder gave up
	mu    sync.Mutex
	cond  *sync.Cond
	done  bool
	err   error
}

func startInflater(data []byte, size int) (*inflater, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	in := &inflater{buf: make([]byte, size)}
	in.cond = sync.NewCond(&in.mu)
	go in.run(zr)
	return in, nil
}

func (in *inflater) run(zr *gzip.Reader) {
	const chunk = 256 << 10
	n := 0
	var err error
	for n < len(in.buf) && !in.stop.Load() {
		var k int
		k, err = zr.Read(in.buf[n:min(n+chunk, len(in.buf))])
		n += k
		in.mu.Lock()
		in.avail.Store(int64(n))
		in.cond.Broadcast()
		in.mu.Unlock()
		if err != nil {
			break
		}
	}
	if err == io.EOF && n < len(in.buf) {
		err = errTrailer // shorter than the trailer says
	} else if err == nil && !in.stop.Load() {
		// The buffer is full: the stream must end here (this read also
		// checks the CRC).
		var one [1]byte
		if k, rerr := io.ReadFull(zr, one[:]); k > 0 {
			err = errTrailer
		} else if rerr != io.EOF {
			err = rerr
		}
	}
	if err == io.EOF {
		err = nil
	}
	in.mu.Lock()
	in.done, in.err = true, err
	in.cond.Broadcast()
	in.mu.Unlock()
}

// wait blocks until end bytes are ready or the stream ended, and returns
// how many are ready.
func (in *inflater) wait(end int) int {
	if a := int(in.avail.Load()); a >= end {
		return a
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	for int(in.avail.Load()) < end && !in.done {
		in.cond.Wait()
	}
	return int(in.avail.Load())
}

// finish waits for the inflater to end and returns its error.
func (in *inflater) finish() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	for !in.done {
		in.cond.Wait()
	}
	return in.err
}

// abort stops the inflater and waits for it.
func (in *inflater) abort() {
	in.stop.Store(true)
	in.finish()
}

// pipeFields yields the top-level fields of the message being inflated.
type pipeFields struct {
	in  *inflater
	pos int
}

func (f *pipeFields) next() (int, int, uint64, []byte, error) {
	in := f.in
	size := len(in.buf)
	if f.pos >= size {
		return 0, 0, 0, nil, io.EOF
	}
	// A key and a length are at most 20 bytes.
	avail := in.wait(min(f.pos+20, size))
	if avail <= f.pos {
		return 0, 0, 0, nil, f.streamErr()
	}
	w := wire{b: in.buf[:avail], pos: f.pos}
	field, typ, err := w.key()
	if err != nil {
		return 0, 0, 0, nil, f.short(err, avail)
	}
	switch typ {
	case 0:
		v, err := w.varint()
		if err != nil {
			return 0, 0, 0, nil, f.short(err, avail)
		}
		f.pos = w.pos
		return field, typ, v, nil, nil
	case 2:
		n, err := w.varint()
		if err != nil {
			return 0, 0, 0, nil, f.short(err, avail)
		}
		if n > uint64(size-w.pos) {
			return 0, 0, 0, nil, fmt.Errorf("%w: length %d runs past the end of the message", errTruncated, n)
		}
		end := w.pos + int(n)
		if in.wait(end) < end {
			return 0, 0, 0, nil, f.streamErr()
		}
		f.pos = end
		return field, typ, 0, in.buf[w.pos:end], nil
	}
	end := min(f.pos+20, size)
	w.b = in.buf[:in.wait(end)]
	if err := w.skip(typ); err != nil {
		return 0, 0, 0, nil, f.short(err, len(w.b))
	}
	f.pos = w.pos
	return field, typ, 0, nil, nil
}

// short turns a truncation seen on the bytes ready so far into the
// stream's error when the stream ended early.
func (f *pipeFields) short(err error, avail int) error {
	if errors.Is(err, errTruncated) && avail < len(f.in.buf) {
		return f.streamErr()
	}
	return err
}

func (f *pipeFields) streamErr() error {
	if err := f.in.finish(); err != nil {
		return gzipError{err}
	}
	return errTruncated
}

// parsePipelined decodes a gzipped profile while it is inflated. ok is
// false when it could not (a trailer that does not match the stream, or a
// profile the lean decoder hands to google/pprof): the caller then takes
// the plain path.
func parsePipelined(data []byte, c *check) (p *Profile, ok bool, err error) {
	if len(data) < pipelineMin {
		return nil, false, nil
	}
	return parseWhileInflatingWithin(data, c)
}

func parseWhileInflating(data []byte) (p *Profile, ok bool, err error) {
	c := newCheck(DefaultBudget(), "profile", int64(len(data)))
	return parseWhileInflatingWithin(data, &c)
}

// parseWhileInflatingWithin needs a trailer within the Inflated budget
// (the buffer is allocated at its size): the plain path measures and
// refuses a larger stream.
func parseWhileInflatingWithin(data []byte, c *check) (p *Profile, ok bool, err error) {
	if len(data) < 18 { // a gzip header and trailer
		return nil, false, nil
	}
	size := int(binary.LittleEndian.Uint32(data[len(data)-4:]))
	if size < len(data)/2 || size > len(data)*64 || c.b.Inflated > 0 && int64(size) > c.b.Inflated {
		return nil, false, nil // not a single plausible member within the budget
	}
	in, err := startInflater(data, size)
	if err != nil {
		return nil, false, nil
	}
	p, err = decodeFields(&pipeFields{in: in}, c.clampCounts(estimateCounts(in, size)), c)
	if err != nil {
		in.abort()
		if IsBudgetError(err) {
			return nil, true, err
		}
		var gerr gzipError
		if errors.As(err, &gerr) && !errors.Is(gerr.err, errTrailer) {
			return nil, true, fmt.Errorf("%w: %w", ErrNotProfile, err)
		}
		return nil, false, nil
	}
	if err := in.finish(); err != nil {
		if errors.Is(err, errTrailer) {
			return nil, false, nil
		}
		return nil, true, fmt.Errorf("%w: gzip: %w", ErrNotProfile, err)
	}
	return p, true, nil
}

// estimateCounts sizes the sample arrays from the first megabyte: the
// samples counted there, extrapolated to the whole stream. Go writes
// samples first, so this overestimates by about the share of locations,
// functions and strings (a few percent on a big profile); a short
// estimate only means appends grow the arrays.
func estimateCounts(in *inflater, size int) sampleCounts {
	prefix := min(size, 1<<20)
	avail := min(in.wait(prefix), prefix)
	fr := &bytesFields{w: wire{b: in.buf[:avail]}}
	c := countSamples(fr)
	if c.samples == 0 || fr.w.pos == 0 {
		return sampleCounts{}
	}
	scale := func(n int) int {
		return int(math.Min(float64(n)*float64(size)/float64(fr.w.pos), float64(size)))
	}
	return sampleCounts{samples: scale(c.samples), locs: scale(c.locs), values: scale(c.values)}
}
