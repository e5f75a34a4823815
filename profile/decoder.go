package profile

// The lean decoder: profile.proto messages into raw records holding
// string-table indices (convert.go turns them into the model).

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"unsafe"

	"github.com/klauspost/compress/gzip"

	pprof "github.com/google/pprof/profile"

	"github.com/gotune/gotune/measurement"
)

// ErrNotProfile is wrapped by Parse errors for input that is neither a pprof
// protobuf nor a legacy text profile.
var ErrNotProfile = errors.New("not a pprof profile")

// Parse reads a profile: gzipped or raw pprof protobuf, or one of the legacy
// text formats google/pprof understands. It reads at most what the default
// budget lets it decode (ReadInput).
func Parse(r io.Reader) (*Profile, error) {
	data, err := ReadInput(r)
	if err != nil {
		return nil, err
	}
	return ParseBytes(data)
}

// ReadInput reads a profile or goroutine dump from r, refusing more bytes
// than the default budget lets either decode (Inflated, DumpBytes) with
// a *BudgetError, so a huge file is refused without being read.
func ReadInput(r io.Reader) ([]byte, error) {
	b := DefaultBudget()
	if b.err != nil {
		return nil, b.err
	}
	name, limit := "inflated", b.Inflated
	if b.DumpBytes > limit || b.DumpBytes <= 0 {
		name, limit = "dump-bytes", b.DumpBytes
	}
	if b.Inflated <= 0 || limit <= 0 {
		return io.ReadAll(r)
	}
	// A gzip is a few bytes larger than what it holds when that does not
	// compress: allow for its header and blocks.
	slack := limit/1000 + 1<<10
	data, err := io.ReadAll(io.LimitReader(r, limit+slack+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit+slack {
		return nil, &BudgetError{What: "input", Budget: name, Limit: limit, Seen: int64(len(data)), AtLeast: true}
	}
	return data, nil
}

// ParseBytes is Parse on a byte slice, within DefaultBudget. It does not
// retain data.
func ParseBytes(data []byte) (*Profile, error) {
	return ParseBytesWithin(data, DefaultBudget())
}

// ParseBytesWithin is ParseBytes within budget b: an input over one of
// its budgets fails with a *BudgetError as soon as decoding reaches it.
func ParseBytesWithin(data []byte, b Budget) (*Profile, error) {
	p, err := parseWithin(data, b)
	if err != nil {
		return nil, err
	}
	track(p.Footprint(), p)
	return p, nil
}

func parseWithin(data []byte, b Budget) (*Profile, error) {
	if b.err != nil {
		return nil, b.err
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty input", ErrNotProfile)
	}
	c := newCheck(b, "profile", int64(len(data)))
	if err := c.heldInput(); err != nil {
		return nil, err
	}
	switch {
	case len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b:
		// Inflate once, into a buffer sized from the gzip trailer:
		// inflating is about half the cost of reading a big profile, so
		// it is not done twice, and on a big one it runs on a goroutine
		// of its own while the decoder follows (pipeline.go).
		if p, ok, err := parsePipelined(data, &c); ok {
			return p, err
		}
		raw, gzerr := gunzipWithin(data, &c)
		if gzerr != nil {
			if IsBudgetError(gzerr) {
				return nil, gzerr
			}
			return nil, fmt.Errorf("%w: gzip: %w", ErrNotProfile, gzerr)
		}
		if len(raw) == 0 {
			return nil, fmt.Errorf("%w: empty after decompression", ErrNotProfile)
		}
		data = raw
	case data[0] == 0x1f:
		// Looks like a damaged gzip header; say so rather than trying proto.
		return nil, fmt.Errorf("%w: gzip: invalid header", ErrNotProfile)
	default:
		if err := c.over("inflated", int64(len(data)), b.Inflated, false); err != nil {
			return nil, err
		}
	}
	counts := countSamples(&bytesFields{w: wire{b: data}})
	if err := c.exactCounts(counts); err != nil {
		return nil, err
	}
	p, err := decodeFields(&bytesFields{w: wire{b: data}}, counts, &c)
	if err == nil {
		return p, nil
	}
	if IsBudgetError(err) {
		return nil, err
	}
	return fallback(data, err, &c)
}

// fallback hands raw to google/pprof's parser when the lean decoder could
// not take it: legacy text formats, or protos it does not support. That
// parser builds a struct per sample (about 16 bytes per input byte), so
// its input is bounded by the FullDecoder budget before it starts.
func fallback(raw []byte, err error, c *check) (*Profile, error) {
	if errors.Is(err, errNeedsFallback) || looksLikeText(raw) {
		if berr := c.fullDecoder(int64(len(raw))); berr != nil {
			return nil, berr
		}
		pp, perr := pprof.ParseData(raw)
		if perr != nil {
			return nil, fmt.Errorf("%w: %v", ErrNotProfile, perr)
		}
		p := FromPprof(pp)
		if berr := c.model(p); berr != nil {
			return nil, berr
		}
		return p, nil
	}
	return nil, fmt.Errorf("%w: %v", ErrNotProfile, err)
}

// looksLikeText reports whether data starts like a legacy text profile
// ("heap profile: ...", "--- contention:", "goroutine profile: total 4").
func looksLikeText(data []byte) bool {
	n := min(len(data), 64)
	for _, c := range data[:n] {
		if c == '\n' {
			break
		}
		if c < 0x20 && c != '\t' && c != '\r' || c >= 0x7f {
			return false
		}
	}
	return true
}

// maxDeflateRatio is the most deflate can inflate: 258 bytes per 2-bit
// code, about 1032 to 1.
const maxDeflateRatio = 1032

func gunzip(data []byte) ([]byte, error) {
	c := newCheck(DefaultBudget(), "profile", 0)
	return gunzipWithin(data, &c)
}

// gunzipWithin inflates data into one buffer, refusing more than the
// Inflated budget while it inflates. The gzip trailer holds the size (mod
// 2^32) of the last member, never more than the whole: one over the budget
// proves the stream is, but is checked by inflating (a truncated stream's
// "trailer" is any four bytes) without keeping what is inflated.
func gunzipWithin(data []byte, c *check) ([]byte, error) {
	limit := c.b.Inflated
	if limit <= 0 {
		limit = math.MaxInt64 / 2
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	trailer := int64(0)
	if len(data) >= 4 {
		trailer = int64(binary.LittleEndian.Uint32(data[len(data)-4:]))
	}
	size := min(trailer, int64(len(data))*maxDeflateRatio)
	if trailer > limit || len(data) >= 64<<10 && trailer != size {
		// Measure first, keeping nothing: the buffer is then allocated
		// once, at the size found, and a stream over the budget costs
		// no memory at all.
		n, err := inflatedSize(zr, limit)
		if err != nil {
			return nil, err
		}
		if n > limit {
			be := &BudgetError{What: "profile", Budget: "inflated", Limit: c.b.Inflated, Seen: n, AtLeast: true}
			if trailer > limit {
				be.Note = "its gzip trailer says " + measurement.Bytes(float64(trailer))
			}
			return nil, be
		}
		size = n
		if zr, err = gzip.NewReader(bytes.NewReader(data)); err != nil {
			return nil, err
		}
	}
	size = min(size, limit)
	cw := capWriter{buf: make([]byte, 0, size), limit: limit}
	if _, err := zr.WriteTo(&cw); cw.over {
		return nil, &BudgetError{What: "profile", Budget: "inflated", Limit: c.b.Inflated, Seen: cw.n, AtLeast: true}
	} else if err != nil {
		return nil, err
	}
	return cw.buf, nil
}

func inflatedSize(zr *gzip.Reader, limit int64) (int64, error) {
	cw := capWriter{limit: limit, discard: true}
	n, err := zr.WriteTo(&cw)
	if cw.over {
		return cw.n, nil
	}
	return n, err
}

// errCapped ends an inflate that went over its limit.
var errCapped = errors.New("over the inflated budget")

// capWriter keeps (or, with discard, only counts) what the inflater
// writes, up to limit bytes. The inflater writes it straight from its
// window (gzip.Reader.WriteTo), with no copy through a read buffer.
type capWriter struct {
	buf     []byte
	n       int64 // bytes written, with the write that went over
	limit   int64
	discard bool
	over    bool
}

func (w *capWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	if w.n > w.limit {
		w.over = true
		return 0, errCapped
	}
	if !w.discard {
		w.buf = append(w.buf, p...)
	}
	return len(p), nil
}

// errNeedsFallback marks valid-looking input the lean decoder does not
// handle (location IDs beyond 32 bits); the google/pprof parser takes it.
var errNeedsFallback = errors.New("needs the full pprof decoder")

type rawLabel struct {
	sample   uint32
	key, str int64
}

type rawLocation struct {
	id, mappingID, address uint64
	lines                  []rawLine
}

type rawLine struct{ functionID, line uint64 }

type rawFunction struct {
	id                                uint64
	name, systemName, filename, start int64
}

type rawMapping struct {
	id                                                          uint64
	start, limit, offset                                        uint64
	filename, buildID                                           int64
	hasFunctions, hasFilenames, hasLineNumbers, hasInlineFrames bool
}

// decoder holds string-table indices until the table (which Go writes last)
// has been read.
type decoder struct {
	p           *Profile
	nvals       int // values per sample, from the first sample
	sampleTypes [][2]int64
	periodType  [2]int64
	defaultType int64
	comments    []int64
	locs        rows[rawLocation]
	funcs       rows[rawFunction]
	maps        []rawMapping
	strs        []string
	labels      []rawLabel
	lines       rows[rawLine] // every location's lines, each location's contiguous

	c *check
	// fixed is the decoded bytes of every record but the sample arrays
	// (decodedBytes adds theirs); strBytes the string table's bytes.
	fixed, strBytes int64
}

// decodedBytes is what the decode holds so far, for the Decoded budget.
func (d *decoder) decodedBytes() int64 {
	p := d.p
	return d.fixed + costSample*int64(cap(p.stackOff)) + costLocID*int64(cap(p.stack)) + costValue*int64(cap(p.values))
}

// sampleCounts sizes the sample arrays.
type sampleCounts struct {
	samples, locs, values int
	// The location, function and string records (top-level fields 4, 5
	// and 6), which size their tables.
	locations, functions, strings int
}

// decodeFields decodes a profile.proto message within c's budget.
// counts sizes the sample arrays; the caller has checked them against
// the budget (exactCounts, or clamped an estimate).
func decodeFields(fr fieldReader, counts sampleCounts, c *check) (*Profile, error) {
	d := &decoder{p: &Profile{stackOff: []uint32{0}}, c: c}
	// Size the sample arrays exactly: growing them by doubling would touch
	// (and page-fault) about twice the memory on a big profile.
	if counts.samples > 0 {
		d.p.stackOff = make([]uint32, 1, counts.samples+1)
		d.p.stack = make([]uint32, 0, counts.locs)
		d.p.values = make([]int64, 0, counts.values)
	}
	d.presize(counts)
	for {
		field, typ, v, msg, err := fr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if typ == 2 && field <= 6 || field == 11 {
			if typ != 2 {
				return nil, fmt.Errorf("field %d: wire type %d, want 2", field, typ)
			}
			switch field {
			case 1:
				vt, err := decodeValueType(msg)
				if err != nil {
					return nil, err
				}
				d.sampleTypes = append(d.sampleTypes, vt)
			case 2:
				err = d.sample(msg)
			case 3:
				err = d.mapping(msg)
			case 4:
				err = d.location(msg)
			case 5:
				err = d.function(msg)
			case 6:
				err = d.str6(msg)
			case 11:
				d.periodType, err = decodeValueType(msg)
			}
			if err != nil {
				return nil, err
			}
			continue
		}
		switch field {
		case 7, 8, 9, 10, 12, 14:
			if typ != 0 {
				return nil, fmt.Errorf("field %d: wire type %d, want 0", field, typ)
			}
			switch field {
			case 9:
				d.p.TimeNanos = int64(v)
			case 10:
				d.p.DurationNanos = int64(v)
			case 12:
				d.p.Period = int64(v)
			case 14:
				d.defaultType = int64(v)
			case 7, 8:
				// drop_frames / keep_frames: Go never writes them; the
				// full decoder applies them.
				if v != 0 {
					return nil, errNeedsFallback
				}
			}
		case 13:
			if typ == 0 {
				d.comments = append(d.comments, int64(v))
			} else if typ == 2 {
				w := wire{b: msg}
				if err := w.repeatedVarint(2, func(c uint64) { d.comments = append(d.comments, int64(c)) }); err != nil {
					return nil, err
				}
			}
		}
	}
	p, err := d.finish()
	if err != nil {
		return nil, err
	}
	p.footprint = footprint(p)
	return p, nil
}

// presize sizes the location, function and string tables (and the line
// blocks, at a line per location) from the records counted, so that each
// is one block rather than grown: on a 10k-sample profile of 5,000
// locations append's growth was 40 % of what a decode allocated. Counts over their
// budget, or tables that would not fit the decoded budget, are not
// presized: the decode fails at the budget as it reaches it.
func (d *decoder) presize(n sampleCounts) {
	b := &d.c.b
	if n.locations <= 0 || over(n.locations, b.Locations) || over(n.functions, b.Functions) || over(n.strings, b.Strings) {
		return
	}
	need := int64(n.locations)*int64(unsafe.Sizeof(rawLocation{})+unsafe.Sizeof(rawLine{})) +
		int64(n.functions)*int64(unsafe.Sizeof(rawFunction{})) + int64(n.strings)*int64(unsafe.Sizeof(""))
	if d.c.decoded(d.decodedBytes()+need) != nil {
		return
	}
	d.locs.reserve(n.locations)
	d.lines.reserve(n.locations)
	d.funcs.reserve(n.functions)
	d.strs = make([]string, 0, n.strings)
}

// over says whether a count is beyond its budget (0: none).
func over(n int, limit int64) bool { return limit > 0 && int64(n) > limit }

// str6 appends a string-table entry.
func (d *decoder) str6(msg []byte) error {
	d.strBytes += int64(len(msg))
	d.fixed += costString + int64(len(msg))
	b := &d.c.b
	if err := d.c.over("strings", int64(len(d.strs))+1, b.Strings, true); err != nil {
		return err
	}
	if err := d.c.over("string-bytes", d.strBytes, b.StringBytes, true); err != nil {
		return err
	}
	if err := d.c.decoded(d.decodedBytes()); err != nil {
		return err
	}
	if len(d.strs) == cap(d.strs) {
		// Double: append grows by a quarter past 256 entries, copying
		// (and faulting in) the table several times over.
		d.strs = append(make([]string, 0, max(minBlock, 2*len(d.strs))), d.strs...)
	}
	d.strs = append(d.strs, string(msg))
	return nil
}

// countSamples counts samples, location IDs and values by scanning the
// samples' packed fields without decoding them. Errors end the count early;
// the decoder reports them.
func countSamples(fr fieldReader) (c sampleCounts) {
	for {
		field, typ, _, msg, err := fr.next()
		if err != nil {
			return c
		}
		if typ == 2 {
			switch field {
			case 4:
				c.locations++
			case 5:
				c.functions++
			case 6:
				c.strings++
			}
		}
		if field != 2 || typ != 2 {
			continue
		}
		c.samples++
		sw := wire{b: msg}
		for sw.pos < len(msg) {
			f, t, err := sw.key()
			if err != nil {
				return c
			}
			if (f == 1 || f == 2) && t == 2 {
				packed, err := sw.bytes()
				if err != nil {
					return c
				}
				n := countVarints(packed)
				if f == 1 {
					c.locs += n
				} else {
					c.values += n
				}
				continue
			}
			if (f == 1 || f == 2) && t == 0 {
				if f == 1 {
					c.locs++
				} else {
					c.values++
				}
			}
			if sw.skip(t) != nil {
				return c
			}
		}
	}
}

func decodeValueType(b []byte) ([2]int64, error) {
	var vt [2]int64
	err := varintFields(b, func(field int, v uint64) {
		if field == 1 || field == 2 {
			vt[field-1] = int64(v)
		}
	})
	return vt, err
}

func (d *decoder) sample(b []byte) error {
	p := d.p
	idx := uint32(len(p.stackOff) - 1)
	nv := 0
	w := wire{b: b}
	var err error
	for w.pos < len(b) {
		field, typ, kerr := w.key()
		if kerr != nil {
			return kerr
		}
		switch field {
		case 1:
			wide := false
			if typ == 2 {
				var packed []byte
				if packed, err = w.bytes(); err == nil {
					p.stack, wide, err = appendPacked32(p.stack, packed)
				}
			} else {
				err = w.repeatedVarint(typ, func(v uint64) {
					if v > math.MaxUint32 {
						wide = true
					}
					p.stack = append(p.stack, uint32(v))
				})
			}
			if err == nil && wide {
				err = errNeedsFallback
			}
		case 2:
			if typ == 2 {
				var packed []byte
				if packed, err = w.bytes(); err == nil {
					var n int
					p.values, n, err = appendPacked64(p.values, packed)
					nv += n
				}
			} else {
				err = w.repeatedVarint(typ, func(v uint64) {
					p.values = append(p.values, int64(v))
					nv++
				})
			}
		case 3:
			if typ != 2 {
				return fmt.Errorf("sample label: wire type %d", typ)
			}
			var lb []byte
			lb, err = w.bytes()
			if err == nil {
				err = d.label(idx, lb)
			}
		default:
			err = w.skip(typ)
		}
		if err != nil {
			return err
		}
	}
	if len(p.stackOff) == 1 {
		if err := d.c.over("values", int64(nv), d.c.b.Values, false); err != nil {
			return err
		}
		d.nvals = nv
	} else if nv != d.nvals {
		return fmt.Errorf("sample %d has %d values, sample 0 has %d", idx, nv, d.nvals)
	}
	if len(p.stack) > math.MaxUint32 {
		return errors.New("too many locations in samples")
	}
	p.stackOff = append(p.stackOff, uint32(len(p.stack)))
	if n := int64(len(p.stackOff) - 1); n > d.c.b.Samples && d.c.b.Samples > 0 {
		return d.c.over("samples", n, d.c.b.Samples, true)
	}
	return d.c.decoded(d.decodedBytes())
}

func (d *decoder) label(sample uint32, b []byte) error {
	l := rawLabel{sample: sample}
	hasNum := false
	err := varintFields(b, func(field int, v uint64) {
		switch field {
		case 1:
			l.key = int64(v)
		case 2:
			l.str = int64(v)
		case 3, 4:
			hasNum = true
		}
	})
	if err != nil {
		return err
	}
	// Numeric labels (the heap profile's "bytes") are not kept: no view
	// uses them, and they would cost 16 bytes per sample.
	if l.str != 0 || !hasNum {
		if err := d.c.over("labels", int64(len(d.labels))+1, d.c.b.Labels, true); err != nil {
			return err
		}
		d.fixed += costLabel
		d.labels = append(d.labels, l)
	}
	return nil
}

func (d *decoder) mapping(b []byte) error {
	var m rawMapping
	err := varintFields(b, func(field int, v uint64) {
		switch field {
		case 1:
			m.id = v
		case 2:
			m.start = v
		case 3:
			m.limit = v
		case 4:
			m.offset = v
		case 5:
			m.filename = int64(v)
		case 6:
			m.buildID = int64(v)
		case 7:
			m.hasFunctions = v != 0
		case 8:
			m.hasFilenames = v != 0
		case 9:
			m.hasLineNumbers = v != 0
		case 10:
			m.hasInlineFrames = v != 0
		}
	})
	if err != nil {
		return err
	}
	if err := d.c.over("mappings", int64(len(d.maps))+1, d.c.b.Mappings, true); err != nil {
		return err
	}
	d.fixed += costMapping
	d.maps = append(d.maps, m)
	return d.c.decoded(d.decodedBytes())
}

func (d *decoder) location(b []byte) error {
	var l rawLocation
	start := d.lines.last()
	w := wire{b: b}
	for w.pos < len(b) {
		field, typ, err := w.key()
		if err != nil {
			return err
		}
		if field == 4 && typ == 2 {
			lb, err := w.bytes()
			if err != nil {
				return err
			}
			var ln rawLine
			err = varintFields(lb, func(field int, v uint64) {
				switch field {
				case 1:
					ln.functionID = v
				case 2:
					ln.line = v
				}
			})
			if err != nil {
				return err
			}
			start = d.lines.addRun(start, ln)
			continue
		}
		if typ != 0 {
			if err := w.skip(typ); err != nil {
				return err
			}
			continue
		}
		v, err := w.varint()
		if err != nil {
			return err
		}
		switch field {
		case 1:
			l.id = v
		case 2:
			l.mappingID = v
		case 3:
			l.address = v
		}
	}
	// Lines live in shared blocks; finish copies them out.
	l.lines = d.lines.run(start)
	if err := d.c.over("locations", int64(d.locs.len())+1, d.c.b.Locations, true); err != nil {
		return err
	}
	d.fixed += costLocation + costLine*int64(len(l.lines))
	d.locs.add(l)
	return d.c.decoded(d.decodedBytes())
}

func (d *decoder) function(b []byte) error {
	var f rawFunction
	err := varintFields(b, func(field int, v uint64) {
		switch field {
		case 1:
			f.id = v
		case 2:
			f.name = int64(v)
		case 3:
			f.systemName = int64(v)
		case 4:
			f.filename = int64(v)
		case 5:
			f.start = int64(v)
		}
	})
	if err != nil {
		return err
	}
	if err := d.c.over("functions", int64(d.funcs.len())+1, d.c.b.Functions, true); err != nil {
		return err
	}
	d.fixed += costFunction
	d.funcs.add(f)
	return d.c.decoded(d.decodedBytes())
}

func (d *decoder) str(i int64) (string, error) {
	if i < 0 || i >= int64(len(d.strs)) {
		return "", fmt.Errorf("string index %d out of range [0..%d)", i, len(d.strs))
	}
	return d.strs[i], nil
}

// countVarints counts the varints of a packed field: the bytes with the
// high bit clear, eight at a time.
func countVarints(b []byte) int {
	n := 0
	for len(b) >= 8 {
		n += 8 - bits.OnesCount64(binary.LittleEndian.Uint64(b)&0x8080808080808080)
		b = b[8:]
	}
	for _, c := range b {
		if c < 0x80 {
			n++
		}
	}
	return n
}
