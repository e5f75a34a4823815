package profile

// The protobuf wire format under the decoder: a cursor over bytes, and the
// top-level field readers over bytes or a stream.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

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
		return nil, fmt.Errorf("%w: length %d runs past the end of the message", errTruncated, n)
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

// fieldReader yields the top-level fields of a profile message, from bytes
// in memory or from a stream being inflated (pipeFields). msg is only valid until the next call; io.EOF ends.
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

// appendPacked32 appends the varints of a packed field to dst. wide is set
// when a value does not fit 32 bits (it is then truncated in dst). It is
// the decoder's hottest loop (every location ID of every sample), so it
// decodes one- to three-byte varints inline instead of calling back.
func appendPacked32(dst []uint32, b []byte) (_ []uint32, wide bool, err error) {
	// At most one value per byte: with room for that, store by index;
	// otherwise (the exactly sized stack array's last samples) append.
	n := len(dst)
	if cap(dst)-n < len(b) {
		return appendPacked32Slow(dst, b)
	}
	out := dst[n : n+len(b)]
	k := 0
	for i := 0; i < len(b); {
		c := b[i]
		if c < 0x80 {
			out[k] = uint32(c)
			k++
			i++
			continue
		}
		if i+2 < len(b) {
			c1, c2 := b[i+1], b[i+2]
			if c1 < 0x80 {
				out[k] = uint32(c&0x7f) | uint32(c1)<<7
				k++
				i += 2
				continue
			}
			if c2 < 0x80 {
				out[k] = uint32(c&0x7f) | uint32(c1&0x7f)<<7 | uint32(c2)<<14
				k++
				i += 3
				continue
			}
		}
		v, m := binary.Uvarint(b[i:])
		if m == 0 {
			return dst[:n+k], wide, errTruncated
		}
		if m < 0 {
			return dst[:n+k], wide, errors.New("varint overflows 64 bits")
		}
		if v > math.MaxUint32 {
			wide = true
		}
		out[k] = uint32(v)
		k++
		i += m
	}
	return dst[:n+k], wide, nil
}

func appendPacked32Slow(dst []uint32, b []byte) (_ []uint32, wide bool, err error) {
	for w := (wire{b: b}); w.pos < len(b); {
		v, err := w.varint()
		if err != nil {
			return dst, wide, err
		}
		if v > math.MaxUint32 {
			wide = true
		}
		dst = append(dst, uint32(v))
	}
	return dst, wide, nil
}

// appendPacked64 appends the varints of a packed field to dst as int64 (the
// two's complement reading protobuf uses for int64 fields) and returns how
// many it appended.
func appendPacked64(dst []int64, b []byte) (_ []int64, n int, err error) {
	for i := 0; i < len(b); {
		if c := b[i]; c < 0x80 {
			dst = append(dst, int64(c))
			i++
			n++
			continue
		}
		v, k := binary.Uvarint(b[i:])
		if k == 0 {
			return dst, n, errTruncated
		}
		if k < 0 {
			return dst, n, errors.New("varint overflows 64 bits")
		}
		dst = append(dst, int64(v))
		i += k
		n++
	}
	return dst, n, nil
}
