package profile

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	pprof "github.com/google/pprof/profile"
)

// FuzzParseGoroutineDump feeds the debug=2 parser arbitrary text: it must
// never panic, and grouping must account for every goroutine.
func FuzzParseGoroutineDump(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/dumps/*.txt")
	seeds = append(seeds, fixtures+"/goroutine.txt")
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		f.Add(data[:len(data)/3])
	}
	f.Add([]byte("goroutine 1 [running]:\nmain.main()\n\t/x.go:1 +0x1\n...additional frames elided...\ncreated by x in goroutine 9999999999999999999999\n"))
	f.Add([]byte("goroutine 18446744073709551615 [, , 99999999999999999999 minutes, locked to thread]:\n)\n(\n\t:\n"))
	addCorpus(f, "FuzzParseGoroutineDump")
	f.Fuzz(func(t *testing.T, data []byte) {
		gs, err := ParseGoroutineDumpBytes(data)
		if err != nil {
			if len(gs) != 0 {
				t.Fatalf("error %v with %d goroutines", err, len(gs))
			}
			return
		}
		for _, o := range []GroupOptions{{}, {ExactArgs: true}} {
			total := 0
			for _, g := range GroupGoroutines(gs, o) {
				if g.Count <= 0 || g.MinWait > g.MaxWait || len(g.IDs) == 0 || len(g.IDs) > MaxGroupIDs {
					t.Fatalf("bad group %+v", g)
				}
				total += g.Count
			}
			if total != len(gs) {
				t.Fatalf("groups hold %d goroutines, parsed %d", total, len(gs))
			}
		}
	})
}

// FuzzParseProfile feeds the profile reader arbitrary bytes, raw and
// gzipped: it must never panic, both decoding paths (in-memory and
// streaming) must agree, a profile it accepts must aggregate without
// panicking with consistent totals, and where google/pprof also accepts a
// proto the sample counts and totals must match.
func FuzzParseProfile(f *testing.F) {
	seeds, _ := filepath.Glob(fixtures + "/*.pb.gz")
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		raw, err := gunzip(data)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
		f.Add(raw[:len(raw)/2])
	}
	f.Add([]byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})       // huge length varint
	f.Add([]byte{0x12, 0x0b, 0x0a, 0x09, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}) // sample with a truncated huge location ID
	f.Add([]byte{0x1f, 0x8b, 0x08, 0x00, 0x00})                                           // truncated gzip header
	f.Add([]byte("heap profile: 1: 2 [3: 4] @ heap/1048576\n1: 2 [3: 4] @ 0x1 0x2\n"))
	addCorpus(f, "FuzzParseProfile")
	f.Fuzz(fuzzOne)
}

// fuzzOne is FuzzParseProfile on one input.
func fuzzOne(t *testing.T, data []byte) {
	p, err := ParseBytes(data)
	if len(data) > 0 && data[0] != 0x1f {
		var z bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&z, gzip.BestSpeed)
		zw.Write(data)
		zw.Close()
		pz, errz := ParseBytes(z.Bytes())
		if (err == nil) != (errz == nil) {
			t.Fatalf("raw: %v; gzipped: %v", err, errz)
		}
		if err == nil && pz.NumSamples() != p.NumSamples() {
			t.Fatalf("raw: %d samples; gzipped: %d", p.NumSamples(), pz.NumSamples())
		}
		// The pipelined reader (used for big files) must agree too.
		if pp, ok, errp := parseWhileInflating(z.Bytes()); ok {
			if (err == nil) != (errp == nil) || err == nil && (pp.NumSamples() != p.NumSamples() || len(pp.Locations) != len(p.Locations)) {
				t.Fatalf("raw: %v; pipelined: %v", err, errp)
			}
		}
	}
	if err != nil {
		return
	}
	for i, st := range p.SampleTypes {
		o := Options{SampleIndex: st.Type}
		if _, err := p.SampleIndex(st.Type); err != nil {
			continue
		}
		top, err := NewTop(p, TopOptions{Options: o})
		if err != nil {
			t.Fatal(err)
		}
		tree, err := NewFlameTree(p, o)
		if err != nil {
			t.Fatal(err)
		}
		var flat int64
		for _, r := range top.Rows {
			flat += r.Flat
		}
		if vi, _ := p.SampleIndex(st.Type); vi == i && flat != tree.Root.Total {
			t.Fatalf("%s: top flat sum %d, flame root %d", st.Type, flat, tree.Root.Total)
		}
		tree.Trim(0.01)
		WriteFolded(io.Discard, p, o)
		NewDiff(p, p, DiffOptions{Options: o, Normalize: true})
		// The trimmed, inverted and refined views must hold together.
		for _, to := range []TreeOptions{
			{Options: o, MinFraction: 0.05},
			{Options: o, Inverted: true, MinFraction: 0.01},
			{Options: Options{SampleIndex: st.Type, Hide: "a", ShowFrom: "[b-m]", Granularity: Lines}, MinFraction: 0.01},
			{Options: Options{SampleIndex: st.Type, Show: "[n-z]", Granularity: Addresses}},
		} {
			tr, err := NewTree(p, to)
			if err != nil {
				t.Fatal(err)
			}
			if tr.Value(Root) != tr.Expand(Root, 0).Value(Root) {
				t.Fatal("expanding changed the root value")
			}
			if to.Options == o && tr.Value(Root) != tree.Root.Total {
				t.Fatalf("%+v: root %d, flame tree root %d", to, tr.Value(Root), tree.Root.Total)
			}
			var b strings.Builder
			if err := WriteFolded(&b, p, to.Options); err != nil {
				t.Fatal(err)
			}
			if got := foldedSum(t, b.String()); got != tr.Value(Root) {
				t.Fatalf("%+v: folded lines sum to %d, tree root %d", to, got, tr.Value(Root))
			}
			for _, c := range tr.Children(Root) {
				tr.Peek(c)
			}
			NewPeek(p, PeekOptions{Options: to.Options, Match: "."})
			NewListing(p, ListOptions{Options: to.Options, Match: "."}, nil)
		}
	}
	if len(data) > 0 && data[0] != 0x1f && !looksLikeText(data) {
		pp, err := pprof.ParseData(data)
		if err != nil || len(pp.Sample) != p.NumSamples() || len(pp.SampleType) != len(p.SampleTypes) {
			return
		}
		for i := range pp.SampleType {
			var want int64
			for _, s := range pp.Sample {
				want += abs(s.Value[i])
			}
			if got := total(p, i, weigher{ratio: 1}); got != want {
				t.Fatalf("sample type %d: total %d, google/pprof %d", i, got, want)
			}
		}
	}
}

// addCorpus adds the regression inputs kept under testdata/regressions.
func addCorpus(f *testing.F, name string) {
	files, _ := filepath.Glob(filepath.Join("testdata", "regressions", name, "*"))
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

// foldedSum adds the values of folded lines.
func foldedSum(t *testing.T, folded string) int64 {
	var sum int64
	for _, l := range strings.Split(strings.TrimSuffix(folded, "\n"), "\n") {
		if l == "" {
			continue
		}
		i := strings.LastIndexByte(l, ' ')
		v, err := strconv.ParseInt(l[i+1:], 10, 64)
		if err != nil {
			t.Fatalf("folded line %q: %v", l, err)
		}
		sum += v
	}
	return sum
}
