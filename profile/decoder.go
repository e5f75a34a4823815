package profile

// The lean decoder: profile.proto messages into raw records holding
// string-table indices (convert.go turns them into the model).

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"

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
	switch {
	case len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b:
		// Inflate once, into a buffer sized from the gzip trailer:
		// inflating is about half the cost of reading a big profile, so
		// it is not done twice, and on a big one it runs on a goroutine
		// of its own while the decoder follows (pipeline.go).
		if p, ok, err := parsePipelined(data); ok {
			return p, err
		}
		raw, gzerr := gunzip(data)
		if gzerr != nil {
			return nil, fmt.Errorf("%w: gzip: %v", ErrNotProfile, gzerr)
		}
		data = raw
	case data[0] == 0x1f:
		// Looks like a damaged gzip header; say so rather than trying proto.
		return nil, fmt.Errorf("%w: gzip: invalid header", ErrNotProfile)
	}
	p, err := decodeFields(&bytesFields{w: wire{b: data}}, countSamples(&bytesFields{w: wire{b: data}}))
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
