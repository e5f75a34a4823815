package snapshot

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/trace"
)

func traceFixture(t *testing.T) *trace.Captured {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "testdata", "traces", "stw.trace"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := trace.Analyze(context.Background(), bytes.NewReader(raw), trace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := &trace.Captured{Raw: raw, Source: trace.SourcePprof, Seconds: 1, Summary: s}
	c.SetSpan(s.WallStart.Add(2 * time.Second))
	return c
}

// A snapshot keeps the trace as the target wrote it (trace/trace.out, a
// file go tool trace opens) and its summary; extract writes it out.
func TestTraceRoundTripAndExtract(t *testing.T) {
	want := sample(1 << 10)
	want.Trace = traceFixture(t)
	path := filepath.Join(t.TempDir(), "t.gotune")
	if err := Write(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, f := range got.Manifest.Files {
		kinds = append(kinds, f.Kind)
		if f.Name == TraceEntry && (f.Kind != "trace" || !f.From.Equal(want.Trace.From) || !f.To.Equal(want.Trace.To) || f.Size != int64(len(want.Trace.Raw))) {
			t.Errorf("manifest entry %+v", f)
		}
	}
	if !strings.Contains(strings.Join(kinds, ","), "trace,trace-summary") {
		t.Errorf("entries %v", kinds)
	}
	g := got.Trace
	if g == nil || !bytes.Equal(g.Raw, want.Trace.Raw) || g.Summary == nil || g.Source != trace.SourcePprof || g.Seconds != 1 ||
		!g.From.Equal(want.Trace.From) || !g.FetchedAt.Equal(want.Trace.FetchedAt) || !g.FromTrace {
		t.Fatalf("trace after a round trip: %+v", g)
	}
	if g.Summary.Pauses.Count != want.Trace.Summary.Pauses.Count || g.Summary.Pauses.List[0].Duration != want.Trace.Summary.Pauses.List[0].Duration ||
		len(g.Summary.MMU) != len(want.Trace.Summary.MMU) || g.Summary.Sched.P99 != want.Trace.Summary.Sched.P99 {
		t.Errorf("summary differs after a round trip")
	}

	dir := filepath.Join(t.TempDir(), "out")
	paths, err := Extract(got, dir)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "trace.out")
	if !strings.Contains(strings.Join(paths, " "), out) {
		t.Fatalf("extract wrote %v, not %s", paths, out)
	}
	b, err := os.ReadFile(out)
	if err != nil || !bytes.Equal(b, want.Trace.Raw) {
		t.Fatalf("extracted trace differs (%v)", err)
	}
	// Go's own tool reads the extracted file.
	cmd := exec.Command("go", "tool", "trace", "-d=parsed", out)
	parsed, err := cmd.Output()
	if err != nil {
		t.Fatalf("go tool trace -d=parsed %s: %v", out, err)
	}
	if n := bytes.Count(parsed, []byte("StateTransition")); n < 1000 {
		t.Errorf("go tool trace printed %d state transitions", n)
	}
}

// archiveOf writes a snapshot archive of the given entries (name → kind,
// data) with a manifest whose sizes and sums match.
func archiveOf(t *testing.T, entries [][3]string) []byte {
	t.Helper()
	var files []File
	for _, e := range entries {
		sum := sha256.Sum256([]byte(e[2]))
		files = append(files, File{Name: e[0], Kind: e[1], Size: int64(len(e[2])), SHA256: hex.EncodeToString(sum[:])})
	}
	m := Manifest{Format: Format, FormatVersion: FormatVersion, Files: files}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create(ManifestEntry)
	json.NewEncoder(w).Encode(m)
	for _, e := range entries {
		w, _ := zw.Create(e[0])
		w.Write([]byte(e[2]))
	}
	zw.Close()
	return buf.Bytes()
}

// A summary that does not decode is named; the trace bytes stay.
func TestTraceSummaryUnreadable(t *testing.T) {
	b := archiveOf(t, [][3]string{{SeriesEntry, "series", `{"points":[]}`}, {TraceEntry, "trace", "go 1.26 trace\x00\x00\x00xyz"}, {TraceSummaryEntry, "trace-summary", "{not json"}})
	s, err := Decode(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if s.Trace == nil || string(s.Trace.Raw[:13]) != "go 1.26 trace" || s.Trace.Summary != nil {
		t.Fatalf("trace %+v", s.Trace)
	}
	if len(s.Problems) != 1 || !strings.Contains(s.Problems[0], "execution trace summary") || !strings.Contains(s.Problems[0], "extract") {
		t.Errorf("problems %q", s.Problems)
	}
}

// A trace entry has its own budget, checked from the manifest before
// anything is read.
func TestTraceBudget(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	m := map[string]any{"format": Format, "format_version": FormatVersion,
		"files": []map[string]any{{"name": TraceEntry, "kind": "trace", "size": 300 << 20, "sha256": "00"}}}
	mw, _ := zw.Create(ManifestEntry)
	json.NewEncoder(mw).Encode(m)
	w, _ := zw.Create(TraceEntry)
	w.Write([]byte("go 1.26 trace"))
	zw.Close()
	_, err := Decode(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err == nil || !strings.Contains(err.Error(), "over the 256 MiB") || !strings.Contains(err.Error(), TraceEntry) {
		t.Fatalf("error %v", err)
	}
}
