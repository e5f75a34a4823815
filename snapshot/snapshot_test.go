package snapshot

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/advisor"
	"github.com/gotune/gotune/collectors/cgroup"
	"github.com/gotune/gotune/collectors/effective"
	"github.com/gotune/gotune/internal/crafted"
	"github.com/gotune/gotune/profile"
)

func gz(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func sample(profileBytes int) *Snapshot {
	t0 := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	big := make([]byte, profileBytes)
	rand.Read(big)
	return &Snapshot{
		Manifest: Manifest{
			GotuneVersion: "v0.1.0-test", Created: t0.Add(30 * time.Second), Name: "before",
			Window:   Window{Start: t0, End: t0.Add(30 * time.Second)},
			Target:   Target{Name: "pid 42 (/srv/api)", PID: 42, Command: "/srv/api --port=8080", GoVersion: "go1.26.8", MetricsVia: "agent"},
			Settings: &effective.Explanation{GOGC: effective.Setting{Name: "GOGC", Value: "100", Source: effective.GoDefault}},
			Env:      map[string]string{"GOGC": "100"},
			Cgroup:   &cgroup.Stats{PID: 42, Mode: cgroup.ModeV2, Memory: &cgroup.Memory{Limited: true, Limit: 512 << 20}},
		},
		Series: Series{
			Points: []Point{
				{Time: t0, Source: "agent", Values: map[string]float64{"/gc/heap/live:bytes": 1 << 20}},
				{Time: t0.Add(time.Second), Source: "agent", Values: map[string]float64{"/gc/heap/live:bytes": 2 << 20}, Derived: map[string]float64{"gc-cpu:fraction": 0.12}, Missing: []string{"/x:y"}},
			},
			Histograms: map[string]Histogram{"/sched/latencies:seconds": {Buckets: []Float{Float(math.Inf(-1)), 0, 1e-6, Float(math.Inf(1))}, Counts: []uint64{0, 5, 7}}},
		},
		Profiles: map[profile.Kind]*profile.Captured{
			profile.KindHeap: {Kind: profile.KindHeap, Raw: gz([]byte("heap-profile")), Scope: profile.ScopeInstant, From: t0.Add(30 * time.Second), To: t0.Add(30 * time.Second)},
			profile.KindCPU:  {Kind: profile.KindCPU, Raw: big, Scope: profile.ScopeCapture, From: t0.Add(20 * time.Second), To: t0.Add(30 * time.Second)}, // stored as given
		},
		GoroutineDump: []byte("goroutine 1 [running]:\nmain.main()\n"),
		Goroutines:    []profile.GoroutineGroup{{Count: 3, State: "select"}},
		Advice:        &advisor.Report{Samples: 2, Findings: []advisor.Finding{{ID: "gc-cpu-high", Severity: advisor.Warn, Title: "t"}}},
	}
}

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.gotune")
	want := sample(1 << 10)
	if err := Write(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Manifest.Format != Format || got.Manifest.FormatVersion != FormatVersion || len(got.Manifest.Files) != 6 {
		t.Errorf("manifest header: %q v%d, %d files", got.Manifest.Format, got.Manifest.FormatVersion, len(got.Manifest.Files))
	}
	got.Manifest.Files, got.Manifest.Format, got.Manifest.FormatVersion = nil, "", 0
	if !reflect.DeepEqual(got.Manifest, want.Manifest) {
		t.Errorf("manifest:\n got %+v\nwant %+v", got.Manifest, want.Manifest)
	}
	if !reflect.DeepEqual(got.Series.Points, want.Series.Points) {
		t.Errorf("points differ")
	}
	h := got.Series.Histograms["/sched/latencies:seconds"]
	if !math.IsInf(float64(h.Buckets[0]), -1) || !math.IsInf(float64(h.Buckets[3]), 1) || h.Counts[2] != 7 {
		t.Errorf("histogram %+v", h)
	}
	for n, c := range want.Profiles {
		g := got.Profiles[n]
		if g == nil || !bytes.Equal(g.Raw, c.Raw) || g.Scope != c.Scope || !g.From.Equal(c.From) || !g.To.Equal(c.To) {
			t.Errorf("profile %s differs: %+v", n, g)
		}
	}
	// Neither fixture profile is a real pprof: both are named in Problems,
	// their bytes kept.
	if len(got.Problems) != 2 {
		t.Errorf("problems = %q, want the two unparseable fixture profiles", got.Problems)
	}
	if !bytes.Equal(got.GoroutineDump, want.GoroutineDump) || !reflect.DeepEqual(got.Goroutines, want.Goroutines) || !reflect.DeepEqual(got.Advice, want.Advice) {
		t.Error("dump, goroutines or findings differ")
	}
	paths, err := Extract(got, filepath.Join(t.TempDir(), "out"))
	if err != nil || len(paths) != 3 {
		t.Fatalf("extract: %v %v", paths, err)
	}
	b, _ := os.ReadFile(paths[0]) // cpu.pb.gz, sorted
	if !bytes.Equal(b, want.Profiles[profile.KindCPU].Raw) {
		t.Error("extracted cpu profile differs")
	}
}

func TestBadFiles(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.gotune")
	if err := Write(good, sample(64<<10)); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(good)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o644)
		return p
	}
	// A file whose manifest says a newer format.
	newer := sample(10)
	var buf bytes.Buffer
	Encode(&buf, newer)
	future := bytes.Replace(buf.Bytes(), []byte(`"format_version": 1`), []byte(`"format_version": 9`), 1)
	// The manifest is deflated, so patch it through a re-encode instead.
	future = encodeWithManifest(t, newer, func(m map[string]any) { m["format_version"] = 9 })
	corrupt := append([]byte(nil), data...)
	corrupt[len(corrupt)/2] ^= 0xff // inside the stored cpu profile
	cases := []struct {
		name, path, want string
	}{
		{"truncated", write("trunc.gotune", data[:len(data)/2]), "truncated"},
		{"empty", write("empty.gotune", nil), "not a gotune snapshot"},
		{"garbage", write("garbage.gotune", []byte("hello, not a zip")), "not a gotune snapshot"},
		{"corrupt", write("corrupt.gotune", corrupt), "corrupt"},
		{"future", write("future.gotune", future), "newer gotune"},
		{"directory", dir, "is a directory"},
		{"missing", filepath.Join(dir, "nope.gotune"), "no such file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Read(c.path)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
	if _, err := Read(cases[4].path); !errors.Is(err, ErrNewerFormat) {
		t.Errorf("future format error does not wrap ErrNewerFormat: %v", err)
	}
}

// encodeWithManifest writes s with its manifest edited by edit.
func encodeWithManifest(t *testing.T, s *Snapshot, edit func(map[string]any)) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Encode(&buf, s); err != nil {
		t.Fatal(err)
	}
	got, err := Decode(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	mj, _ := json.Marshal(got.Manifest)
	var m map[string]any
	json.Unmarshal(mj, &m)
	edit(m)
	return rawArchive(t, m, buf.Bytes())
}

// The writer is killed with SIGKILL at random moments while it rewrites the
// file over and over: the final path must always hold a complete snapshot,
// the previous one or the new one, never a torn file.
func TestKillDuringSave(t *testing.T) {
	if os.Getenv("GOTUNE_SNAPSHOT_WRITER") != "" {
		return // the child's side runs in TestMain
	}
	path := filepath.Join(t.TempDir(), "s.gotune")
	prev := sample(1 << 10)
	prev.Manifest.Name = "previous"
	if err := Write(path, prev); err != nil {
		t.Fatal(err)
	}
	for i, delay := range []time.Duration{5, 60, 250, 700, 1500, 3000} {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "GOTUNE_SNAPSHOT_WRITER="+path)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
		s, err := Read(path)
		if err != nil {
			t.Fatalf("kill %d after %dms: the file is unreadable: %v\n%s", i, delay, err, stderr.String())
		}
		if n := s.Manifest.Name; n != "previous" && n != "new" {
			t.Fatalf("kill %d: name %q", i, n)
		}
		if n := s.Manifest.Name; n == "new" && (s.Profiles[profile.KindCPU] == nil || len(s.Profiles[profile.KindCPU].Raw) < 8<<20) {
			t.Fatalf("kill %d: new snapshot with a short profile", i)
		}
		t.Logf("kill after %dms: %s snapshot intact", delay, s.Manifest.Name)
	}
	// The kills did land mid-write: torn temporary files were left beside
	// the final path, never under it.
	torn, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".s.gotune.tmp-*"))
	if len(torn) == 0 {
		t.Error("no kill interrupted a write (no temporary file left); the test proved nothing")
	}
}

func TestMain(m *testing.M) {
	if path := os.Getenv("GOTUNE_SNAPSHOT_WRITER"); path != "" {
		s := sample(9 << 20) // big enough that a write takes a while
		s.Manifest.Name = "new"
		for {
			if err := Write(path, s); err != nil {
				os.Stderr.WriteString(err.Error())
				os.Exit(1)
			}
		}
	}
	os.Exit(m.Run())
}

// craft writes a snapshot archive whose manifest lists one series entry of
// size listed, holding n zero bytes deflated.
func craft(t *testing.T, listed int64, n int) []byte {
	t.Helper()
	return craftedFile(t, crafted.SnapshotEntry{Name: SeriesEntry, Kind: "series", Size: int64(n), Listed: listed})
}

// Crafted files are refused by their budget, before or while reading,
// without the memory their inflated size would take.
func TestBudgets(t *testing.T) {
	cases := []struct {
		name   string
		listed int64
		n      int
		want   string
	}{
		{"a series listed at 511 MiB", 511 << 20, 1 << 20, "over the 64.0 MiB"},
		{"a zip bomb", 60 << 20, 60 << 20, "inflates"},
		{"a manifest that lies about the size", 1 << 10, 40 << 20, "larger than its manifest says"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := craft(t, c.listed, c.n)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := Decode(bytes.NewReader(b), int64(len(b)))
			runtime.ReadMemStats(&after)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
				t.Errorf("refusing a %d-byte file allocated %d MiB", len(b), alloc>>20)
			}
		})
	}
}
