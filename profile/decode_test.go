package profile

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"

	pprof "github.com/google/pprof/profile"
)

// TestParseMatchesGooglePprof cross-checks the lean decoder against
// google/pprof's parser on every fixture: same sample types, sample count,
// per-sample values and leaf function names.
func TestParseMatchesGooglePprof(t *testing.T) {
	for _, name := range []string{"cpu", "cpu_base", "heap", "heap_base", "allocs", "goroutine", "mutex", "block", "threadcreate"} {
		path := fixtures + "/" + name + ".pb.gz"
		p := mustParseFile(t, path)
		data := mustReadGz(t, path)
		pp, err := pprof.ParseData(data)
		if err != nil {
			t.Fatal(err)
		}
		if p.NumSamples() != len(pp.Sample) || len(p.SampleTypes) != len(pp.SampleType) || len(p.Locations) != len(pp.Location) {
			t.Fatalf("%s: %d samples, %d types, %d locations; google/pprof %d, %d, %d", name, p.NumSamples(), len(p.SampleTypes), len(p.Locations), len(pp.Sample), len(pp.SampleType), len(pp.Location))
		}
		conv := FromPprof(pp)
		for i := range p.NumSamples() {
			if !equalInts(p.Values(i), conv.Values(i)) || len(p.Stack(i)) != len(conv.Stack(i)) {
				t.Fatalf("%s: sample %d differs: %v vs %v", name, i, p.Values(i), conv.Values(i))
			}
			for j, l := range p.Stack(i) {
				a, b := p.Locations[l], conv.Locations[conv.Stack(i)[j]]
				if a.Address != b.Address || len(a.Lines) != len(b.Lines) {
					t.Fatalf("%s: sample %d frame %d differs", name, i, j)
				}
			}
			if !equalLabels(p.Labels(i), conv.Labels(i)) {
				t.Fatalf("%s: sample %d labels %v vs %v", name, i, p.Labels(i), conv.Labels(i))
			}
		}
		if p.Kind() == "" {
			t.Errorf("%s: unknown kind", name)
		}
	}
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func equalLabels(a, b []Label) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func mustReadGz(t *testing.T, path string) []byte {
	t.Helper()
	p := mustParseFile(t, path) // ensure it parses
	_ = p
	data, err := readFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func gz(b []byte) []byte {
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(b)
	zw.Close()
	return z.Bytes()
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "not a pprof profile: empty input"},
		{"bad gzip", []byte("\x1f\x8b\x00garbage"), "not a pprof profile: gzip: "},
		{"damaged gzip magic", []byte("\x1f\x00abc"), "not a pprof profile: gzip: invalid header"},
		{"truncated gzip", gz(bytes.Repeat([]byte{0x32, 0x00}, 1000))[:30], "not a pprof profile: gzip: unexpected EOF"},
		{"garbage", []byte{0xff, 0xff, 0xff}, "not a pprof profile"},
		{"huge varint", []byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, "not a pprof profile"},
		{"huge varint gzipped", gz([]byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}), "not a pprof profile"},
		{"no string table", []byte{0x08, 0x01}, "string table"},
		{"text", []byte("hello world\n"), "not a pprof profile: parsing profile: unrecognized profile format"},
	} {
		_, err := ParseBytes(c.in)
		if err == nil || !errors.Is(err, ErrNotProfile) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
}

// TestParseLyingLength: a gzipped stream whose first field claims 512 MB
// must fail as truncated without allocating anything like that.
func TestParseLyingLength(t *testing.T) {
	in := gz([]byte{0x12, 0x80, 0x80, 0x80, 0x80, 0x02, 1, 2, 3})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := ParseBytes(in)
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("error %v, want truncated", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
		t.Errorf("allocated %d MB for a 9-byte stream", grew>>20)
	}
}

// TestParseLegacyText: the legacy text formats go through google/pprof.
func TestParseLegacyText(t *testing.T) {
	p, err := ParseBytes([]byte("heap profile: 1: 2048 [3: 4096] @ heap/1048576\n1: 2048 [3: 4096] @ 0x1 0x2\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p.NumSamples() != 1 || p.Kind() != "heap" {
		t.Errorf("%d samples, kind %q", p.NumSamples(), p.Kind())
	}
}

func readFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return gunzip(data)
}

// The tables are sized from the records the counting pass saw (a
// location, function and string count each), so the decode does not grow
// them by doubling; counts over their budget, or tables over the decoded
// budget, are not presized.
func TestPresizeTables(t *testing.T) {
	raw := mustReadGz(t, "../testdata/profiles/caddy-cpu-10k.pb.gz")
	n := countSamples(&bytesFields{w: wire{b: raw}})
	pp, err := pprof.ParseData(raw)
	if err != nil {
		t.Fatal(err)
	}
	if n.samples != len(pp.Sample) || n.locations != len(pp.Location) || n.functions != len(pp.Function) || n.strings < len(pp.Function) {
		t.Fatalf("counted %+v; google/pprof: %d samples, %d locations, %d functions", n, len(pp.Sample), len(pp.Location), len(pp.Function))
	}
	for _, c := range []struct {
		name    string
		b       Budget
		presize bool
	}{
		{"default", DefaultBudget(), true},
		{"locations over budget", Budget{Locations: int64(n.locations) - 1}, false},
		{"strings over budget", Budget{Strings: int64(n.strings) - 1}, false},
		{"tables over the decoded budget", Budget{Decoded: 64 << 10}, false},
	} {
		chk := newCheck(c.b, "profile", int64(len(raw)))
		d := &decoder{p: &Profile{}, c: &chk}
		d.presize(n)
		locs, funcs, lines := rowsCap(&d.locs), rowsCap(&d.funcs), rowsCap(&d.lines)
		got := locs == n.locations && funcs == n.functions && cap(d.strs) == n.strings && lines == n.locations
		if none := locs+funcs+cap(d.strs)+lines == 0; got != c.presize || !got && !none {
			t.Errorf("%s: tables of %d locations, %d functions, %d strings, %d lines; counted %+v", c.name, locs, funcs, cap(d.strs), lines, n)
		}
		if c.presize {
			p, err := decodeFields(&bytesFields{w: wire{b: raw}}, n, &chk)
			if err != nil || len(p.Locations) != n.locations || len(p.Functions) != n.functions {
				t.Errorf("%s: decoded %d locations, %d functions, %v", c.name, len(p.Locations), len(p.Functions), err)
			}
		}
	}
}

func rowsCap[T any](r *rows[T]) int {
	n := 0
	for _, b := range r.blocks {
		n += cap(b)
	}
	return n
}

// Rows never move a record once added, and a run of lines stays
// contiguous when it crosses a block's end.
func TestRows(t *testing.T) {
	var r rows[int]
	var ptrs []*int
	for i := range 3000 {
		r.add(i)
		ptrs = append(ptrs, &r.blocks[len(r.blocks)-1][len(r.blocks[len(r.blocks)-1])-1])
	}
	for i, p := range ptrs {
		if *p != i {
			t.Fatalf("record %d moved: %d", i, *p)
		}
	}
	n := 0
	for i, v := range r.all() {
		if *v != i || i != n {
			t.Fatalf("all: %d at %d", *v, i)
		}
		n++
	}
	if n != 3000 || r.len() != 3000 || len(r.blocks) > 5 {
		t.Errorf("%d records in %d blocks, len %d", n, len(r.blocks), r.len())
	}
	// Runs of 1..7 records, as locations' lines: each reads back whole.
	var lines rows[int]
	var runs [][]int
	v := 0
	for k := 0; lines.len() < 5000; k++ {
		start := lines.last()
		for range k%7 + 1 {
			start = lines.addRun(start, v)
			v++
		}
		runs = append(runs, lines.run(start))
	}
	v = 0
	for i, run := range runs {
		if len(run) != i%7+1 {
			t.Fatalf("run %d has %d records, want %d", i, len(run), i%7+1)
		}
		for _, x := range run {
			if x != v {
				t.Fatalf("run %d: record %d, want %d", i, x, v)
			}
			v++
		}
	}
	if lines.len() != v || len(lines.blocks) < 2 {
		t.Errorf("lines: len %d, want %d, in %d blocks", lines.len(), v, len(lines.blocks))
	}
}
