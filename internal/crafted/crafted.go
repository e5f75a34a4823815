// Package crafted crafts the oversized inputs gotune's memory budgets are
// tested with: pprof profiles with millions of samples or a huge string
// table, goroutine dumps, and .gotune files whose entries inflate far
// beyond their size on disk. Everything is generated as a stream, so a
// test can write a 500 MiB input without holding it, and everything is
// deterministic (seeded).
//
// It imports nothing of gotune: profile and snapshot tests use it, and so
// does the experiment that runs the real gotune binary on its output.
package crafted

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"strconv"
)

// Profile describes a crafted pprof profile. The zero value of a field
// takes the default in its comment.
type Profile struct {
	Samples int // samples (default 1000)
	Depth   int // location IDs per sample (default 8)
	// Locations is the number of distinct locations, each with one line
	// of its own function (default 1000).
	Locations int
	// Stacks is the number of distinct stacks samples draw from (default
	// 64): few stacks compress well, as real profiles' shared prefixes do.
	Stacks int
	Values int // values per sample, one per sample type (default 2)
	// Types names the sample types (then Values is len(Types)); the
	// default is value0, value1, ...
	Types []string
	// Labels is the number of string labels on each sample.
	Labels int
	// StringBytes adds strings of StringSize bytes (default 1 MiB) to the
	// string table until it holds this many more bytes.
	StringBytes int64
	StringSize  int
	// ValueRange bounds sample values to [1, ValueRange] (default 1000):
	// fewer distinct values compress better.
	ValueRange int
	Seed       uint64
	// Level is the gzip level (default gzip.BestSpeed, as net/http/pprof
	// writes profiles).
	Level int
}

func (p Profile) withDefaults() Profile {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	if len(p.Types) > 0 {
		p.Values = len(p.Types)
	}
	def(&p.Samples, 1000)
	def(&p.Depth, 8)
	def(&p.Locations, 1000)
	def(&p.Stacks, 64)
	def(&p.Values, 2)
	def(&p.StringSize, 1<<20)
	def(&p.ValueRange, 1000)
	if p.Level == 0 {
		p.Level = gzip.BestSpeed
	}
	return p
}

// sampleBlock is how many samples a crafted profile draws before its
// samples repeat.
const sampleBlock = 16384

// protoWriter writes protobuf wire format.
type protoWriter struct {
	w   *bufio.Writer
	rep *deflater // nil: write copies
	buf []byte
	err error
}

// repeat writes block times over.
func (pw *protoWriter) repeat(block []byte, times int) {
	if pw.rep == nil {
		for range times {
			pw.raw(block)
		}
		return
	}
	if pw.err == nil {
		pw.err = pw.w.Flush()
	}
	if pw.err == nil {
		pw.err = pw.rep.Repeat(block, times)
	}
}

func (pw *protoWriter) raw(b []byte) {
	if pw.err == nil {
		_, pw.err = pw.w.Write(b)
	}
}

func (pw *protoWriter) varint(v uint64) {
	pw.buf = binary.AppendUvarint(pw.buf[:0], v)
	pw.raw(pw.buf)
}

// bytesField writes field f (wire type 2) holding b.
func (pw *protoWriter) bytesField(f int, b []byte) {
	pw.varint(uint64(f)<<3 | 2)
	pw.varint(uint64(len(b)))
	pw.raw(b)
}

// msg encodes a submessage into a scratch buffer.
type msg []byte

func (m msg) varint(f int, v uint64) msg {
	m = binary.AppendUvarint(m, uint64(f)<<3)
	return binary.AppendUvarint(m, v)
}

func (m msg) packed(f int, vs []uint64) msg {
	var inner []byte
	for _, v := range vs {
		inner = binary.AppendUvarint(inner, v)
	}
	m = binary.AppendUvarint(m, uint64(f)<<3|2)
	m = binary.AppendUvarint(m, uint64(len(inner)))
	return append(m, inner...)
}

func (m msg) bytes(f int, b []byte) msg {
	m = binary.AppendUvarint(m, uint64(f)<<3|2)
	m = binary.AppendUvarint(m, uint64(len(b)))
	return append(m, b...)
}

// WriteTo writes the profile, gzipped, to w and returns the bytes
// written (gzipped).
func (p Profile) WriteTo(w io.Writer) (int64, error) {
	p = p.withDefaults()
	cw := &countWriter{w: w}
	// ID, deflate, no flags, no time, no extra flags, unknown OS.
	if _, err := cw.Write([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255}); err != nil {
		return cw.n, err
	}
	d, err := newDeflater(cw, p.Level)
	if err != nil {
		return cw.n, err
	}
	pw := &protoWriter{w: bufio.NewWriterSize(d, 256<<10), rep: d}
	p.write(pw)
	if pw.err == nil {
		pw.err = pw.w.Flush()
	}
	if pw.err == nil {
		pw.err = d.Close()
	}
	if pw.err != nil {
		return cw.n, pw.err
	}
	_, err = cw.Write(binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, d.crc), uint32(d.n)))
	return cw.n, err
}

// deflater deflates to out, keeping the CRC-32 and size of its input, and
// deflates a run of repeated input (Repeat) once or twice, not once per
// copy. Crafting six 511 MiB entries or 3 M samples copy by copy took
// minutes under -race.
type deflater struct {
	out io.Writer
	fw  *flate.Writer
	buf bytesBuffer // deflated, not yet written to out
	crc uint32
	n   int64
	err error
}

func newDeflater(out io.Writer, level int) (*deflater, error) {
	d := &deflater{out: out}
	fw, err := flate.NewWriter(&d.buf, level)
	if err != nil {
		return nil, err
	}
	d.fw = fw
	return d, nil
}

func (d *deflater) Write(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	d.fw.Write(p) // into d.buf: cannot fail
	d.crc = crc32.Update(d.crc, crc32.IEEETable, p)
	d.n += int64(len(p))
	if len(d.buf) >= 256<<10 {
		d.drain()
	}
	return len(p), d.err
}

func (d *deflater) drain() {
	if d.err == nil && len(d.buf) > 0 {
		_, d.err = d.out.Write(d.buf)
	}
	d.buf = d.buf[:0]
}

// Repeat writes block times over. Deflate encodes the second copy as
// back-references into the first (it looks 32 KiB back, so block must be
// at least that long), and a sync flush ends those blocks on a byte
// boundary: they are valid after any whole copy, and stand for every
// later one. The writer's window then ends with a whole copy, as the
// stream does.
func (d *deflater) Repeat(block []byte, times int) error {
	if times < 3 || len(block) < 32<<10 {
		for range times {
			d.Write(block)
		}
		return d.err
	}
	d.fw.Write(block)
	d.fw.Flush()
	d.drain()
	d.fw.Write(block)
	d.fw.Flush()
	seg := append([]byte(nil), d.buf...)
	d.drain()
	for range times - 2 {
		d.buf = append(d.buf, seg...)
		d.drain()
	}
	for range times {
		d.crc = crc32.Update(d.crc, crc32.IEEETable, block)
	}
	d.n += int64(len(block)) * int64(times)
	return d.err
}

// Close ends the deflate stream.
func (d *deflater) Close() error {
	if d.err == nil {
		d.err = d.fw.Close()
	}
	d.drain()
	return d.err
}

// Bytes returns the gzipped profile.
func (p Profile) Bytes() []byte {
	var b bytesBuffer
	if _, err := p.WriteTo(&b); err != nil {
		panic(err) // writing to memory does not fail
	}
	return b
}

// RawSize is the size of the profile inflated, in bytes.
func (p Profile) RawSize() int64 {
	p = p.withDefaults()
	cw := &countWriter{w: io.Discard}
	pw := &protoWriter{w: bufio.NewWriterSize(cw, 64<<10)}
	p.write(pw)
	pw.w.Flush()
	return cw.n
}

// The string table: "", sample type names, unit, function names,
// label keys and values, then the padding strings.
func (p Profile) write(pw *protoWriter) {
	r := rand.New(rand.NewPCG(p.Seed, 0x9e3779b97f4a7c15))
	var strs [][]byte
	str := func(s string) uint64 {
		strs = append(strs, []byte(s))
		return uint64(len(strs) - 1)
	}
	str("")
	unit := str("count")
	for i := range p.Values {
		name := fmt.Sprintf("value%d", i)
		if i < len(p.Types) {
			name = p.Types[i]
		}
		t := str(name)
		pw.bytesField(1, msg(nil).varint(1, t).varint(2, unit))
	}
	labelKey := str("request")
	labelVals := make([]uint64, 16)
	for i := range labelVals {
		labelVals[i] = str(fmt.Sprintf("req-%d", i))
	}
	stacks := make([][]uint64, p.Stacks)
	for i := range stacks {
		stacks[i] = make([]uint64, p.Depth)
		for j := range stacks[i] {
			stacks[i][j] = 1 + uint64(r.IntN(p.Locations))
		}
	}
	// Samples repeat in blocks of sampleBlock, so that a writer can
	// deflate a block once for all its copies.
	vals := make([]uint64, p.Values)
	var m msg
	var block []byte
	ends := []int{0} // where each sample of the block ends
	for range min(p.Samples, sampleBlock) {
		for j := range vals {
			vals[j] = uint64(1 + r.IntN(p.ValueRange))
		}
		m = m[:0].packed(1, stacks[r.IntN(len(stacks))]).packed(2, vals)
		for range p.Labels {
			m = m.bytes(3, msg(nil).varint(1, labelKey).varint(2, labelVals[r.IntN(len(labelVals))]))
		}
		block = binary.AppendUvarint(block, 2<<3|2)
		block = binary.AppendUvarint(block, uint64(len(m)))
		block = append(block, m...)
		ends = append(ends, len(block))
	}
	pw.repeat(block, p.Samples/sampleBlock)
	pw.raw(block[:ends[p.Samples%sampleBlock]])
	file := str("/crafted/main.go")
	pw.bytesField(3, msg(nil).varint(1, 1).varint(2, 0x400000).varint(3, 0x8000000).varint(5, str("/crafted/bin")))
	for i := 1; i <= p.Locations; i++ {
		line := msg(nil).varint(1, uint64(i)).varint(2, uint64(10+i%90))
		pw.bytesField(4, msg(nil).varint(1, uint64(i)).varint(2, 1).varint(3, uint64(0x400000+16*i)).bytes(4, line))
	}
	for i := 1; i <= p.Locations; i++ {
		name := str(fmt.Sprintf("crafted/pkg%d.Func%d", i%50, i))
		pw.bytesField(5, msg(nil).varint(1, uint64(i)).varint(2, name).varint(3, name).varint(4, file))
	}
	for _, s := range strs {
		pw.bytesField(6, s)
	}
	if p.StringBytes > 0 {
		pad := make([]byte, p.StringSize)
		for i := range pad {
			pad[i] = 'a' + byte(i%26)
		}
		field := append(binary.AppendUvarint(binary.AppendUvarint(nil, 6<<3|2), uint64(len(pad))), pad...)
		pw.repeat(field, int(p.StringBytes/int64(len(pad))))
		if rest := p.StringBytes % int64(len(pad)); rest > 0 {
			pw.bytesField(6, pad[:rest])
		}
	}
	// period_type (11) and period (12).
	pw.bytesField(11, msg(nil).varint(1, 1).varint(2, unit))
	pw.varint(12<<3 | 0)
	pw.varint(1)
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

type bytesBuffer []byte

func (b *bytesBuffer) Write(p []byte) (int, error) {
	*b = append(*b, p...)
	return len(p), nil
}

// GoroutineDump writes a debug=2 goroutine dump of n goroutines, each
// with depth frames and a "created by" line, as the runtime prints them.
func GoroutineDump(w io.Writer, n, depth int) (int64, error) {
	cw := &countWriter{w: w}
	bw := bufio.NewWriterSize(cw, 256<<10)
	for i := range n {
		fmt.Fprintf(bw, "goroutine %d [chan receive, %d minutes]:\n", i+1, i%7)
		for j := range depth {
			fmt.Fprintf(bw, "crafted/pkg%d.Func%d(0x%x, 0x%x)\n\t/crafted/pkg%d/f%d.go:%d +0x%x\n", j%50, (i+j)%1000, 0xc000010000+i, j, j%50, j, 10+j, 0x20+j)
		}
		fmt.Fprintf(bw, "created by crafted/main.spawn in goroutine 1\n\t/crafted/main.go:42 +0x55\n\n")
	}
	if err := bw.Flush(); err != nil {
		return cw.n, err
	}
	return cw.n, nil
}

// SnapshotEntry is one member of a crafted .gotune file.
type SnapshotEntry struct {
	Name    string // "profiles/heap.pb.gz", "series.json"
	Kind    string // the manifest's kind: "profile", "series", ...
	Profile string // the profile kind, for Kind "profile"
	// Data is written as it is when Size is 0; else Pattern (one zero
	// byte by default) is repeated to Size bytes and deflated, as a zip
	// bomb is.
	Data    []byte
	Size    int64
	Pattern []byte
	// Listed is the size the manifest gives (a lie when it differs);
	// 0 is the true size.
	Listed int64
	// Store writes the entry uncompressed (profiles are gzipped already).
	Store bool
}

// Snapshot describes a crafted .gotune archive: a manifest of Format and
// Version (snapshot.Format and snapshot.FormatVersion: this package
// imports nothing of gotune) listing its entries with their checksums.
type Snapshot struct {
	Format  string
	Version int
	Entries []SnapshotEntry
}

// WriteTo writes the archive to w. Entries of one pattern and size are
// deflated once and their compressed bytes reused, so six 511 MiB
// entries cost one deflate of 511 MiB.
func (s Snapshot) WriteTo(w io.Writer) (int64, error) {
	type member struct {
		raw      []byte // deflated, or stored
		crc      uint32
		size     uint64
		sum      string
		deflated bool
	}
	cache := map[string]member{}
	members := make([]member, len(s.Entries))
	type file struct {
		Name    string `json:"name"`
		Kind    string `json:"kind"`
		Profile string `json:"profile,omitempty"`
		Size    int64  `json:"size"`
		SHA256  string `json:"sha256"`
	}
	var files []file
	for i, e := range s.Entries {
		var m member
		if e.Size == 0 {
			m = member{raw: e.Data, crc: crc32.ChecksumIEEE(e.Data), size: uint64(len(e.Data))}
			sum := sha256.Sum256(e.Data)
			m.sum = hex.EncodeToString(sum[:])
			if !e.Store {
				var b bytesBuffer
				fw, _ := flate.NewWriter(&b, flate.BestSpeed)
				fw.Write(e.Data)
				fw.Close()
				m.raw, m.deflated = b, true
			}
		} else {
			pat := e.Pattern
			if len(pat) == 0 {
				pat = []byte{0}
			}
			key := fmt.Sprintf("%d/%x", e.Size, pat)
			var ok bool
			if m, ok = cache[key]; !ok {
				h := sha256.New()
				chunk := bytes.Repeat(pat, max(1, (1<<20)/len(pat)))
				for left := e.Size; left > 0; left -= int64(len(chunk)) {
					h.Write(chunk[:min(int64(len(chunk)), left)])
				}
				var b bytesBuffer
				d, _ := newDeflater(&b, flate.BestCompression)
				d.Repeat(chunk, int(e.Size/int64(len(chunk))))
				d.Write(chunk[:e.Size%int64(len(chunk))])
				d.Close()
				m = member{raw: b, crc: d.crc, size: uint64(e.Size), sum: hex.EncodeToString(h.Sum(nil)), deflated: true}
				cache[key] = m
			}
		}
		members[i] = m
		listed := int64(m.size)
		if e.Listed != 0 {
			listed = e.Listed
		}
		files = append(files, file{Name: e.Name, Kind: e.Kind, Profile: e.Profile, Size: listed, SHA256: m.sum})
	}
	cw := &countWriter{w: w}
	zw := zip.NewWriter(cw)
	mw, err := zw.Create("manifest.json")
	if err != nil {
		return cw.n, err
	}
	if err := json.NewEncoder(mw).Encode(map[string]any{"format": s.Format, "format_version": s.Version, "files": files}); err != nil {
		return cw.n, err
	}
	for i, e := range s.Entries {
		m := members[i]
		h := &zip.FileHeader{Name: e.Name, Method: zip.Store, CRC32: m.crc, CompressedSize64: uint64(len(m.raw)), UncompressedSize64: m.size}
		if m.deflated {
			h.Method = zip.Deflate
		}
		fw, err := zw.CreateRaw(h)
		if err != nil {
			return cw.n, err
		}
		if _, err := fw.Write(m.raw); err != nil {
			return cw.n, err
		}
	}
	err = zw.Close()
	return cw.n, err
}

// SeriesJSON returns a snapshot series of n points, each with keys
// values (short names, the costliest to decode), as snapshot writes it.
func SeriesJSON(n, keys int) []byte {
	b := []byte(`{"points":[`)
	two := func(b []byte, v int) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"time":"2026-01-01T00:`...)
		b = append(two(append(two(b, i/60%60), ':'), i%60), `Z","source":"crafted","values":{`...)
		for k := range keys {
			if k > 0 {
				b = append(b, ',')
			}
			b = append(strconv.AppendInt(append(b, `"k`...), int64(k), 10), `":`...)
			b = strconv.AppendInt(b, int64((i+k)%10), 10)
		}
		b = append(b, "}}"...)
	}
	return append(b, "]}"...)
}
