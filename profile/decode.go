package profile

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	pprof "github.com/google/pprof/profile"
)

// MaxDecompressed bounds the decompressed size of a profile, so a gzip bomb
// fails with an error instead of exhausting memory. The largest real heap
// profiles we have seen are well under 200 MB raw.
const MaxDecompressed = 1 << 30

// ErrNotProfile is wrapped by Parse errors for input that is neither a pprof
// protobuf nor a legacy text profile.
var ErrNotProfile = errors.New("not a pprof profile")

// Parse reads a profile: gzipped or raw pprof protobuf, or one of the legacy
// text formats google/pprof understands.
func Parse(r io.Reader) (*Profile, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return ParseBytes(data)
}

// ParseBytes is Parse on a byte slice. It does not retain data.
func ParseBytes(data []byte) (*Profile, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty input", ErrNotProfile)
	}
	var p *Profile
	var err error
	switch {
	case len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b:
		// Inflate twice, streaming, rather than holding the inflated
		// bytes: the first pass sizes the sample arrays. On a big profile
		// this halves the memory touched, which costs more than inflating.
		var counts sampleCounts
		if zr, zerr := gzip.NewReader(bytes.NewReader(data)); zerr == nil {
			counts = countSamples(newStreamFields(zr))
		}
		zr, zerr := gzip.NewReader(bytes.NewReader(data))
		if zerr != nil {
			return nil, fmt.Errorf("%w: gzip: %v", ErrNotProfile, zerr)
		}
		p, err = decodeFields(newStreamFields(zr), counts)
		if err == nil {
			return p, nil
		}
		var gerr gzipError
		if errors.As(err, &gerr) {
			return nil, fmt.Errorf("%w: %v", ErrNotProfile, err)
		}
		raw, gzerr := gunzip(data)
		if gzerr != nil {
			return nil, fmt.Errorf("%w: gzip: %v", ErrNotProfile, gzerr)
		}
		return fallback(raw, err)
	case data[0] == 0x1f:
		// Looks like a damaged gzip header; say so rather than trying proto.
		return nil, fmt.Errorf("%w: gzip: invalid header", ErrNotProfile)
	}
	p, err = decodeFields(&bytesFields{w: wire{b: data}}, countSamples(&bytesFields{w: wire{b: data}}))
	if err == nil {
		return p, nil
	}
	return fallback(data, err)
}

// fallback hands raw to google/pprof's parser when the lean decoder could
// not take it: legacy text formats, or protos it does not support.
func fallback(raw []byte, err error) (*Profile, error) {
	if errors.Is(err, errNeedsFallback) || looksLikeText(raw) {
		pp, perr := pprof.ParseData(raw)
		if perr != nil {
			return nil, fmt.Errorf("%w: %v", ErrNotProfile, perr)
		}
		return FromPprof(pp), nil
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

func gunzip(data []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	// The gzip trailer holds the uncompressed size (mod 2^32) of the last
	// member: use it to allocate once instead of growing by doubling.
	size := 0
	if len(data) >= 4 {
		size = int(binary.LittleEndian.Uint32(data[len(data)-4:]))
	}
	size = min(size, len(data)*64, MaxDecompressed)
	buf := bytes.NewBuffer(make([]byte, 0, size+bytes.MinRead))
	n, err := buf.ReadFrom(io.LimitReader(zr, MaxDecompressed+1))
	if err != nil {
		return nil, err
	}
	if n > MaxDecompressed {
		return nil, fmt.Errorf("decompressed profile exceeds %d bytes", MaxDecompressed)
	}
	return buf.Bytes(), nil
}

// errNeedsFallback marks valid-looking input the lean decoder does not
// handle (location IDs beyond 32 bits); the google/pprof parser takes it.
var errNeedsFallback = errors.New("needs the full pprof decoder")

// wire is a cursor over protobuf wire-format bytes.
type wire struct {
	b   []byte
	pos int
}

var errTruncated = errors.New("truncated protobuf")

func (w *wire) varint() (uint64, error) {
	// Fast path for one-byte varints, the common case for IDs and lines.
	if w.pos < len(w.b) && w.b[w.pos] < 0x80 {
		v := uint64(w.b[w.pos])
		w.pos++
		return v, nil
	}
	v, n := binary.Uvarint(w.b[w.pos:])
	if n == 0 {
		return 0, errTruncated
	}
	if n < 0 {
		return 0, errors.New("varint overflows 64 bits")
	}
	w.pos += n
	return v, nil
}

// key returns the next field number and wire type.
func (w *wire) key() (field int, typ int, err error) {
	v, err := w.varint()
	if err != nil {
		return 0, 0, err
	}
	if v>>3 == 0 || v>>3 > math.MaxInt32 {
		return 0, 0, fmt.Errorf("invalid field number %d", v>>3)
	}
	return int(v >> 3), int(v & 7), nil
}

func (w *wire) bytes() ([]byte, error) {
	n, err := w.varint()
	if err != nil {
		return nil, err
	}
	if n > uint64(len(w.b)-w.pos) {
		return nil, fmt.Errorf("length %d runs past the end of the message", n)
	}
	b := w.b[w.pos : w.pos+int(n)]
	w.pos += int(n)
	return b, nil
}

func (w *wire) skip(typ int) error {
	switch typ {
	case 0:
		_, err := w.varint()
		return err
	case 1:
		if len(w.b)-w.pos < 8 {
			return errTruncated
		}
		w.pos += 8
	case 2:
		_, err := w.bytes()
		return err
	case 5:
		if len(w.b)-w.pos < 4 {
			return errTruncated
		}
		w.pos += 4
	default:
		return fmt.Errorf("unsupported wire type %d", typ)
	}
	return nil
}

// repeatedVarint calls f for a repeated varint field, packed (typ 2) or not.
func (w *wire) repeatedVarint(typ int, f func(uint64)) error {
	switch typ {
	case 0:
		v, err := w.varint()
		if err != nil {
			return err
		}
		f(v)
		return nil
	case 2:
		b, err := w.bytes()
		if err != nil {
			return err
		}
		inner := wire{b: b}
		for inner.pos < len(b) {
			v, err := inner.varint()
			if err != nil {
				return err
			}
			f(v)
		}
		return nil
	}
	return fmt.Errorf("wire type %d for a varint field", typ)
}

func (w *wire) int(typ int) (uint64, error) {
	if typ != 0 {
		return 0, fmt.Errorf("wire type %d for a varint field", typ)
	}
	return w.varint()
}

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
	id                uint64
	filename, buildID int64
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
	locs        []rawLocation
	funcs       []rawFunction
	maps        []rawMapping
	strs        []string
	labels      []rawLabel
	lineBuf     []rawLine
}

// fieldReader yields the top-level fields of a profile message, from bytes
// or from a stream. msg is only valid until the next call; io.EOF ends.
type fieldReader interface {
	next() (field, typ int, v uint64, msg []byte, err error)
}

type bytesFields struct{ w wire }

func (f *bytesFields) next() (int, int, uint64, []byte, error) {
	if f.w.pos >= len(f.w.b) {
		return 0, 0, 0, nil, io.EOF
	}
	field, typ, err := f.w.key()
	if err != nil {
		return 0, 0, 0, nil, err
	}
	switch typ {
	case 0:
		v, err := f.w.varint()
		return field, typ, v, nil, err
	case 2:
		msg, err := f.w.bytes()
		return field, typ, 0, msg, err
	}
	return field, typ, 0, nil, f.w.skip(typ)
}

// gzipError marks errors of the decompressor under a stream.
type gzipError struct{ err error }

func (e gzipError) Error() string { return "gzip: " + e.err.Error() }
func (e gzipError) Unwrap() error { return e.err }

type streamFields struct {
	r    *bufio.Reader
	buf  []byte
	read int64
}

func newStreamFields(r io.Reader) *streamFields {
	return &streamFields{r: bufio.NewReaderSize(r, 64<<10)}
}

func (f *streamFields) varint(first bool) (uint64, error) {
	var v uint64
	for shift := uint(0); ; shift += 7 {
		c, err := f.r.ReadByte()
		if err != nil {
			if err == io.EOF && first && shift == 0 {
				return 0, io.EOF
			}
			if err == io.EOF {
				return 0, errTruncated
			}
			return 0, gzipError{err}
		}
		f.read++
		if shift == 63 && c > 1 {
			return 0, errors.New("varint overflows 64 bits")
		}
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v, nil
		}
	}
}

func (f *streamFields) next() (int, int, uint64, []byte, error) {
	k, err := f.varint(true)
	if err != nil {
		return 0, 0, 0, nil, err
	}
	if k>>3 == 0 || k>>3 > math.MaxInt32 {
		return 0, 0, 0, nil, fmt.Errorf("invalid field number %d", k>>3)
	}
	field, typ := int(k>>3), int(k&7)
	var n uint64
	switch typ {
	case 0:
		v, err := f.varint(false)
		return field, typ, v, nil, err
	case 1:
		n = 8
	case 5:
		n = 4
	case 2:
		if n, err = f.varint(false); err != nil {
			return 0, 0, 0, nil, err
		}
	default:
		return 0, 0, 0, nil, fmt.Errorf("unsupported wire type %d", typ)
	}
	if n > uint64(MaxDecompressed-f.read) {
		return 0, 0, 0, nil, fmt.Errorf("field of %d bytes exceeds the %d-byte limit", n, MaxDecompressed)
	}
	if n > 1<<20 && uint64(cap(f.buf)) < n {
		// A large claimed length: let the buffer grow with the bytes
		// that really arrive, so a lying length cannot make us allocate
		// up to MaxDecompressed for a short stream.
		var b bytes.Buffer
		got, err := io.CopyN(&b, f.r, int64(n))
		if err != nil {
			if err == io.EOF && got < int64(n) {
				return 0, 0, 0, nil, errTruncated
			}
			return 0, 0, 0, nil, gzipError{err}
		}
		f.buf = b.Bytes()
	} else {
		if uint64(cap(f.buf)) < n {
			f.buf = make([]byte, 0, max(n, uint64(2*cap(f.buf))))
		}
		f.buf = f.buf[:n]
		if _, err := io.ReadFull(f.r, f.buf); err != nil {
			if err == io.ErrUnexpectedEOF || err == io.EOF {
				return 0, 0, 0, nil, errTruncated
			}
			return 0, 0, 0, nil, gzipError{err}
		}
	}
	f.read += int64(n)
	return field, typ, 0, f.buf, nil
}

// sampleCounts sizes the sample arrays.
type sampleCounts struct{ samples, locs, values int }

// decodeFields decodes a profile.proto message.
func decodeFields(fr fieldReader, counts sampleCounts) (*Profile, error) {
	d := &decoder{p: &Profile{stackOff: []uint32{0}}}
	// Size the sample arrays exactly: growing them by doubling would touch
	// (and page-fault) about twice the memory on a big profile.
	if counts.samples > 0 {
		d.p.stackOff = make([]uint32, 1, counts.samples+1)
		d.p.stack = make([]uint32, 0, counts.locs)
		d.p.values = make([]int64, 0, counts.values)
	}
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
				d.strs = append(d.strs, string(msg))
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
	return d.finish()
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
				n := 0
				for _, b := range packed {
					if b < 0x80 {
						n++
					}
				}
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

// varintFields calls f with each varint field of the message b, skipping
// fields of other wire types. Messages whose submessages matter (samples,
// locations) walk their own fields.
func varintFields(b []byte, f func(field int, v uint64)) error {
	w := wire{b: b}
	for w.pos < len(b) {
		field, typ, err := w.key()
		if err != nil {
			return err
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
		f(field, v)
	}
	return nil
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
			err = w.repeatedVarint(typ, func(v uint64) {
				if v > math.MaxUint32 {
					wide = true
				}
				p.stack = append(p.stack, uint32(v))
			})
			if err == nil && wide {
				err = errNeedsFallback
			}
		case 2:
			err = w.repeatedVarint(typ, func(v uint64) {
				p.values = append(p.values, int64(v))
				nv++
			})
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
		d.nvals = nv
	} else if nv != d.nvals {
		return fmt.Errorf("sample %d has %d values, sample 0 has %d", idx, nv, d.nvals)
	}
	if len(p.stack) > math.MaxUint32 {
		return errors.New("too many locations in samples")
	}
	p.stackOff = append(p.stackOff, uint32(len(p.stack)))
	return nil
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
		case 5:
			m.filename = int64(v)
		case 6:
			m.buildID = int64(v)
		}
	})
	if err != nil {
		return err
	}
	d.maps = append(d.maps, m)
	return nil
}

func (d *decoder) location(b []byte) error {
	var l rawLocation
	start := len(d.lineBuf)
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
			d.lineBuf = append(d.lineBuf, ln)
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
	// Lines live in one shared buffer; finish slices them out.
	l.lines = d.lineBuf[start:len(d.lineBuf):len(d.lineBuf)]
	d.locs = append(d.locs, l)
	return nil
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
	d.funcs = append(d.funcs, f)
	return nil
}

func (d *decoder) str(i int64) (string, error) {
	if i < 0 || i >= int64(len(d.strs)) {
		return "", fmt.Errorf("string index %d out of range [0..%d)", i, len(d.strs))
	}
	return d.strs[i], nil
}

// idIndex maps pprof IDs (usually 1..n) to slice indices.
type idIndex struct {
	dense  []int32
	sparse map[uint64]int32
}

func newIDIndex(n int, id func(int) uint64) (idIndex, error) {
	var x idIndex
	dense := true
	for i := range n {
		if v := id(i); v == 0 || v > uint64(4*n+16) {
			dense = false
			break
		}
	}
	if dense {
		x.dense = make([]int32, 4*n+17)
		for i := range x.dense {
			x.dense[i] = -1
		}
		for i := range n {
			if x.dense[id(i)] >= 0 {
				return x, fmt.Errorf("duplicate ID %d", id(i))
			}
			x.dense[id(i)] = int32(i)
		}
		return x, nil
	}
	x.sparse = make(map[uint64]int32, n)
	for i := range n {
		v := id(i)
		if v == 0 {
			return x, errors.New("ID 0 is reserved")
		}
		if _, dup := x.sparse[v]; dup {
			return x, fmt.Errorf("duplicate ID %d", v)
		}
		x.sparse[v] = int32(i)
	}
	return x, nil
}

func (x idIndex) get(id uint64) int32 {
	if x.dense != nil {
		if id < uint64(len(x.dense)) {
			return x.dense[id]
		}
		return -1
	}
	if i, ok := x.sparse[id]; ok {
		return i
	}
	return -1
}

func (d *decoder) finish() (*Profile, error) {
	p := d.p
	if len(d.strs) == 0 || d.strs[0] != "" {
		return nil, errors.New("string table is missing or does not start with the empty string")
	}
	var err error
	vt := func(v [2]int64) (ValueType, error) {
		t, err := d.str(v[0])
		if err != nil {
			return ValueType{}, err
		}
		u, err := d.str(v[1])
		return ValueType{Type: t, Unit: u}, err
	}
	for _, st := range d.sampleTypes {
		t, err := vt(st)
		if err != nil {
			return nil, err
		}
		p.SampleTypes = append(p.SampleTypes, t)
	}
	if p.PeriodType, err = vt(d.periodType); err != nil {
		return nil, err
	}
	if p.DefaultSampleType, err = d.str(d.defaultType); err != nil {
		return nil, err
	}
	for _, c := range d.comments {
		s, err := d.str(c)
		if err != nil {
			return nil, err
		}
		p.Comments = append(p.Comments, s)
	}
	if n := p.NumSamples(); n > 0 && d.nvals != len(p.SampleTypes) {
		return nil, fmt.Errorf("samples have %d values, profile has %d sample types", d.nvals, len(p.SampleTypes))
	}

	mapIdx, err := newIDIndex(len(d.maps), func(i int) uint64 { return d.maps[i].id })
	if err != nil {
		return nil, fmt.Errorf("mapping: %w", err)
	}
	p.Mappings = make([]Mapping, len(d.maps))
	for i, m := range d.maps {
		if p.Mappings[i].File, err = d.str(m.filename); err != nil {
			return nil, err
		}
		if p.Mappings[i].BuildID, err = d.str(m.buildID); err != nil {
			return nil, err
		}
	}

	funcIdx, err := newIDIndex(len(d.funcs), func(i int) uint64 { return d.funcs[i].id })
	if err != nil {
		return nil, fmt.Errorf("function: %w", err)
	}
	p.Functions = make([]Function, len(d.funcs))
	for i, f := range d.funcs {
		fn := &p.Functions[i]
		if fn.Name, err = d.str(f.name); err != nil {
			return nil, err
		}
		if fn.SystemName, err = d.str(f.systemName); err != nil {
			return nil, err
		}
		if fn.Filename, err = d.str(f.filename); err != nil {
			return nil, err
		}
		fn.StartLine = f.start
	}

	locIdx, err := newIDIndex(len(d.locs), func(i int) uint64 { return d.locs[i].id })
	if err != nil {
		return nil, fmt.Errorf("location: %w", err)
	}
	lines := make([]Line, len(d.lineBuf))
	p.Locations = make([]Location, len(d.locs))
	off := 0
	for i, l := range d.locs {
		loc := &p.Locations[i]
		loc.Address = l.address
		loc.Mapping = -1
		if l.mappingID != 0 {
			if loc.Mapping = mapIdx.get(l.mappingID); loc.Mapping < 0 {
				return nil, fmt.Errorf("location %d refers to unknown mapping %d", l.id, l.mappingID)
			}
		}
		loc.Lines = lines[off : off+len(l.lines) : off+len(l.lines)]
		for j, ln := range l.lines {
			loc.Lines[j] = Line{Function: -1, Line: int64(ln.line)}
			if ln.functionID != 0 {
				if loc.Lines[j].Function = funcIdx.get(ln.functionID); loc.Lines[j].Function < 0 {
					return nil, fmt.Errorf("location %d refers to unknown function %d", l.id, ln.functionID)
				}
			}
		}
		off += len(l.lines)
	}

	for i, id := range p.stack {
		x := locIdx.get(uint64(id))
		if x < 0 {
			return nil, fmt.Errorf("sample refers to unknown location %d", id)
		}
		p.stack[i] = uint32(x)
	}

	if len(d.labels) > 0 {
		n := p.NumSamples()
		p.labelOff = make([]uint32, n+1)
		p.labels = make([]Label, 0, len(d.labels))
		j := 0
		for s := range n {
			p.labelOff[s] = uint32(len(p.labels))
			for ; j < len(d.labels) && d.labels[j].sample == uint32(s); j++ {
				k, err := d.str(d.labels[j].key)
				if err != nil {
					return nil, err
				}
				v, err := d.str(d.labels[j].str)
				if err != nil {
					return nil, err
				}
				p.labels = append(p.labels, Label{Key: k, Value: v})
			}
		}
		p.labelOff[n] = uint32(len(p.labels))
	}
	if len(p.SampleTypes) == 0 {
		return nil, errors.New("profile has no sample types")
	}
	return p, nil
}

// FromPprof converts a google/pprof profile (for example one built by
// profile.Merge, or parsed from a legacy text format).
func FromPprof(pp *pprof.Profile) *Profile {
	p := &Profile{
		DefaultSampleType: pp.DefaultSampleType,
		Period:            pp.Period,
		TimeNanos:         pp.TimeNanos,
		DurationNanos:     pp.DurationNanos,
		Comments:          append([]string(nil), pp.Comments...),
		stackOff:          []uint32{0},
	}
	for _, st := range pp.SampleType {
		p.SampleTypes = append(p.SampleTypes, ValueType{st.Type, st.Unit})
	}
	if pp.PeriodType != nil {
		p.PeriodType = ValueType{pp.PeriodType.Type, pp.PeriodType.Unit}
	}
	mi := map[*pprof.Mapping]int32{}
	for i, m := range pp.Mapping {
		mi[m] = int32(i)
		p.Mappings = append(p.Mappings, Mapping{File: m.File, BuildID: m.BuildID})
	}
	fi := map[*pprof.Function]int32{}
	for i, f := range pp.Function {
		fi[f] = int32(i)
		p.Functions = append(p.Functions, Function{f.Name, f.SystemName, f.Filename, f.StartLine})
	}
	li := map[*pprof.Location]uint32{}
	for i, l := range pp.Location {
		li[l] = uint32(i)
		loc := Location{Address: l.Address, Mapping: -1}
		if l.Mapping != nil {
			loc.Mapping = mi[l.Mapping]
		}
		for _, ln := range l.Line {
			f := int32(-1)
			if ln.Function != nil {
				f = fi[ln.Function]
			}
			loc.Lines = append(loc.Lines, Line{Function: f, Line: ln.Line})
		}
		p.Locations = append(p.Locations, loc)
	}
	hasLabels := false
	for _, s := range pp.Sample {
		if len(s.Label) > 0 {
			hasLabels = true
		}
	}
	if hasLabels {
		p.labelOff = []uint32{0}
	}
	for _, s := range pp.Sample {
		for _, l := range s.Location {
			p.stack = append(p.stack, li[l])
		}
		p.stackOff = append(p.stackOff, uint32(len(p.stack)))
		v := s.Value
		if len(v) != len(p.SampleTypes) {
			v = make([]int64, len(p.SampleTypes))
			copy(v, s.Value)
		}
		p.values = append(p.values, v...)
		if hasLabels {
			for _, k := range sortedKeys(s.Label) {
				for _, val := range s.Label[k] {
					p.labels = append(p.labels, Label{k, val})
				}
			}
			p.labelOff = append(p.labelOff, uint32(len(p.labels)))
		}
	}
	return p
}
