package profile

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// withPipeline runs f, whose ParseBytes calls of gzipped input go through
// the pipelined reader whatever their size.
func withPipeline(t *testing.T, f func(parse func([]byte) (*Profile, error))) {
	t.Helper()
	f(func(data []byte) (*Profile, error) {
		if len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
			if p, ok, err := parseWhileInflating(data); ok {
				return p, err
			}
		}
		return ParseBytes(data)
	})
}

// TestPipelinedParseMatches: decoding while inflating gives the profile
// the plain path gives, on every fixture and on a generated deep profile.
func TestPipelinedParseMatches(t *testing.T) {
	files, _ := filepath.Glob(fixtures + "/*.pb.gz")
	if !testing.Short() {
		files = append(files, deepHeap(t, 20000))
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := gunzip(data)
		if err != nil {
			t.Fatal(err)
		}
		want, err := ParseBytes(raw)
		if err != nil {
			t.Fatal(err)
		}
		var got *Profile
		withPipeline(t, func(func([]byte) (*Profile, error)) {
			var ok bool
			got, ok, err = parseWhileInflating(data)
			if !ok || err != nil {
				t.Fatalf("%s: pipelined parse: ok %v, %v", file, ok, err)
			}
		})
		if got.NumSamples() != want.NumSamples() || !reflect.DeepEqual(got.Locations, want.Locations) || !reflect.DeepEqual(got.Functions, want.Functions) {
			t.Fatalf("%s: pipelined profile differs", file)
		}
		for i := range got.NumSamples() {
			if !reflect.DeepEqual(got.Stack(i), want.Stack(i)) || !reflect.DeepEqual(got.Values(i), want.Values(i)) || !reflect.DeepEqual(got.Labels(i), want.Labels(i)) {
				t.Fatalf("%s: sample %d differs", file, i)
			}
		}
	}
}

// TestPipelinedParseErrors: broken streams fail as on the plain path, and
// streams the pipeline cannot size (several members) still parse.
func TestPipelinedParseErrors(t *testing.T) {
	data, err := os.ReadFile(fixtures + "/heap.pb.gz")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := gunzip(data)
	corrupt := bytes.Clone(data)
	corrupt[len(corrupt)-8] ^= 0xff // CRC
	// Two members: the trailer holds the second's size only.
	var two bytes.Buffer
	for _, part := range [][]byte{raw[:len(raw)/2], raw[len(raw)/2:]} {
		zw := gzip.NewWriter(&two)
		zw.Write(part)
		zw.Close()
	}
	withPipeline(t, func(parse func([]byte) (*Profile, error)) {
		for _, c := range []struct {
			name string
			in   []byte
			want string
		}{
			{"truncated", data[:len(data)/2], "not a pprof profile: gzip: "},
			{"bad crc", corrupt, "not a pprof profile: gzip: "},
			{"garbage", append(bytes.Clone(data[:20]), bytes.Repeat([]byte{0x55}, 4000)...), "not a pprof profile"},
		} {
			_, err := parse(c.in)
			if err == nil || !errors.Is(err, ErrNotProfile) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: %v, want %q", c.name, err, c.want)
			}
		}
		p, err := parse(two.Bytes())
		if err != nil || p.NumSamples() != mustParseBytes(t, raw).NumSamples() {
			t.Errorf("two members: %v", err)
		}
	})
}
