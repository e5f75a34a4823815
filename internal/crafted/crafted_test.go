package crafted

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"hash/crc32"
	"io"
	"testing"
)

// A deflater's Repeat inflates to the chunk repeated, for sizes around
// whole copies, with the CRC of the copies, and is far smaller than them.
func TestDeflaterRepeat(t *testing.T) {
	chunk := bytes.Repeat([]byte("gotune\x00"), (64<<10)/7) // 64 KiB less a few bytes: copies do not align with the window
	for _, size := range []int64{0, 1, int64(len(chunk)) - 1, int64(len(chunk)), int64(len(chunk)) + 1, 2 * int64(len(chunk)), 2*int64(len(chunk)) + 5, 37*int64(len(chunk)) + 1000} {
		var raw bytesBuffer
		d, _ := newDeflater(&raw, flate.BestCompression)
		d.Repeat(chunk, int(size/int64(len(chunk))))
		d.Write(chunk[:size%int64(len(chunk))])
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(flate.NewReader(bytes.NewReader(raw)))
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		var want []byte
		for int64(len(want)) < size {
			want = append(want, chunk[:min(int64(len(chunk)), size-int64(len(want)))]...)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("size %d: inflated %d bytes, not the chunk repeated to %d", size, len(got), len(want))
		}
		if d.crc != crc32.ChecksumIEEE(want) || d.n != size {
			t.Errorf("size %d: CRC %08x and size %d, want %08x and %d", size, d.crc, d.n, crc32.ChecksumIEEE(want), size)
		}
		if size > 4*int64(len(chunk)) && int64(len(raw)) > size/100 {
			t.Errorf("size %d deflated to %d bytes", size, len(raw))
		}
	}
}

// A profile written through gzipRepeat inflates to the bytes the plain
// writer gives (RawSize counts them), with samples and strings repeated.
func TestProfileRepeatsInflate(t *testing.T) {
	for _, p := range []Profile{
		{Samples: 10},
		{Samples: sampleBlock},
		{Samples: 3*sampleBlock + 17, Labels: 1, Seed: 4},
		{Samples: 10, StringBytes: 5<<20 + 3, StringSize: 64 << 10},
	} {
		data := p.Bytes()
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(zr) // checks the CRC and the size
		if err != nil {
			t.Fatalf("%+v: %v", p, err)
		}
		var plain bytes.Buffer
		pw := &protoWriter{w: bufio.NewWriter(&plain)}
		p.withDefaults().write(pw)
		pw.w.Flush()
		if !bytes.Equal(raw, plain.Bytes()) || int64(len(raw)) != p.RawSize() {
			t.Errorf("%+v: inflated %d bytes, the plain writer wrote %d", p, len(raw), plain.Len())
		}
	}
}
