package profile

import (
	"fmt"
	"io"
)

// floorWalk is the floor a profile reader is measured against: one
// inflate of the gzipped file and a bare walk of the protobuf, every varint
// of every message decoded and nothing kept. It returns a checksum so the
// walk cannot be optimized away.
func floorWalk(data []byte) (uint64, error) {
	raw, err := gunzip(data)
	if err != nil {
		return 0, err
	}
	var sum uint64
	fr := &bytesFields{w: wire{b: raw}}
	for {
		field, typ, v, msg, err := fr.next()
		if err == io.EOF {
			return sum, nil
		}
		if err != nil {
			return 0, err
		}
		if typ != 2 {
			sum += v
			continue
		}
		switch field {
		case 2, 3, 4, 5, 11:
			// Samples (packed IDs and values, labels), mappings,
			// locations (with lines), functions, the period type.
			if err := walkMessage(msg, field == 2 || field == 4, &sum); err != nil {
				return 0, err
			}
		default:
			sum += uint64(len(msg)) // strings: nothing to decode
		}
	}
}

// walkMessage decodes every varint of message b; its length-delimited
// fields are packed varints (samples) or submessages (lines, labels) when
// nested is set.
func walkMessage(b []byte, nested bool, sum *uint64) error {
	w := wire{b: b}
	for w.pos < len(b) {
		field, typ, err := w.key()
		if err != nil {
			return err
		}
		switch typ {
		case 0:
			v, err := w.varint()
			if err != nil {
				return err
			}
			*sum += v
		case 2:
			inner, err := w.bytes()
			if err != nil {
				return err
			}
			if !nested {
				continue
			}
			if field == 1 || field == 2 {
				for p := (wire{b: inner}); p.pos < len(inner); {
					v, err := p.varint()
					if err != nil {
						return err
					}
					*sum += v
				}
				continue
			}
			if err := walkMessage(inner, false, sum); err != nil {
				return err
			}
		default:
			if err := w.skip(typ); err != nil {
				return fmt.Errorf("skip: %w", err)
			}
		}
	}
	return nil
}
