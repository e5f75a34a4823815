package snapshot

import (
	"bytes"
	"testing"
)

// FuzzDecode: any bytes given as a .gotune file are refused with an error
// or read into a snapshot that encodes again; decoding never panics.
func FuzzDecode(f *testing.F) {
	var buf bytes.Buffer
	if err := Encode(&buf, sample(256)); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte("PK\x03\x04"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Decode(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := Encode(&out, s); err != nil {
			// Names from a hostile manifest may be refused on the way out.
			return
		}
		if _, err := Decode(bytes.NewReader(out.Bytes()), int64(out.Len())); err != nil {
			t.Fatalf("a decoded snapshot does not read back: %v", err)
		}
	})
}
