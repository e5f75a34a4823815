//go:build unix

package cli

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/capture"
	"github.com/gotune/gotune/collectors"
	"github.com/gotune/gotune/collectors/discover"
	"github.com/gotune/gotune/internal/testproc"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/redact"
	"github.com/gotune/gotune/snapshot"
)

// Capture from the real demo, write, read back: every part equals what was
// captured, and the extracted profiles open in go tool pprof.
func TestSnapshotRoundTripFromDemo(t *testing.T) {
	bin := testproc.Build(t, ".")
	demo := testproc.Start(t, bin, nil, "demo", "--serve", "127.0.0.1:0", "--alloc-rate", "20MiB", "--cache", "16MiB")
	target, err := collectors.Open(t.Context(), demo.FirstLine, discover.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	captured, err := captureSnapshot(t.Context(), target, capture.WindowOptions{Length: 3 * time.Second, CPU: time.Second, Dump: true}, "before")
	if err != nil {
		t.Fatal(err)
	}
	if len(captured.Series.Points) < 2 || len(captured.Profiles) != 6 || len(captured.GoroutineDump) == 0 || len(captured.Goroutines) == 0 {
		t.Fatalf("captured %d points, profiles %v, dump %d bytes, groups %d bytes; notes %v",
			len(captured.Series.Points), captured.Kinds(), len(captured.GoroutineDump), len(captured.Goroutines), captured.Manifest.Notes)
	}
	path := filepath.Join(t.TempDir(), "demo.gotune")
	if err := snapshot.Write(path, captured); err != nil {
		t.Fatal(err)
	}
	back, err := snapshot.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	back.Manifest.Files, back.Manifest.Format, back.Manifest.FormatVersion = nil, "", 0
	if !reflect.DeepEqual(back.Manifest, captured.Manifest) {
		t.Errorf("manifest changed in the round trip:\n got %+v\nwant %+v", back.Manifest, captured.Manifest)
	}
	if !reflect.DeepEqual(back.Series, captured.Series) {
		t.Error("series changed in the round trip")
	}
	for k, v := range captured.Profiles {
		b := back.Profile(k)
		if b == nil || !bytes.Equal(b.Raw, v.Raw) || b.Scope != v.Scope || b.Profile == nil {
			t.Errorf("profile %s changed", k)
		}
	}
	// allocs, mutex and block cover the window (the difference of a capture
	// at its start and one at its end).
	for _, k := range []profile.Kind{profile.KindAllocs, profile.KindMutex, profile.KindBlock} {
		if c := back.Profile(k); c == nil || c.Scope != profile.ScopeWindow || c.Seconds() <= 0 {
			t.Errorf("%s profile does not cover the window: %+v", k, c)
		}
	}
	if !bytes.Equal(back.GoroutineDump, captured.GoroutineDump) || !reflect.DeepEqual(back.Goroutines, captured.Goroutines) {
		t.Error("goroutines changed")
	}
	bj, _ := json.Marshal(back.Advice)
	cj, _ := json.Marshal(captured.Advice)
	if back.Advice == nil || back.Advice.Samples < 2 || !bytes.Equal(bj, cj) {
		t.Errorf("advisor report in the snapshot: %+v", back.Advice)
	}
	if back.Manifest.Target.MetricsVia != "agent" || back.Manifest.Target.URL != demo.FirstLine {
		t.Errorf("target %+v", back.Manifest.Target)
	}
	out, _, err := runGotune(t, t.Context(), "snapshot", "extract", path, filepath.Join(t.TempDir(), "x"))
	if err != nil {
		t.Fatal(err)
	}
	files := strings.Fields(out)
	if len(files) != 7 {
		t.Fatalf("extracted %v", files)
	}
	for _, f := range files {
		if !strings.HasSuffix(f, ".pb.gz") {
			continue
		}
		b, err := exec.Command("go", "tool", "pprof", "-top", f).CombinedOutput()
		if err != nil || !strings.Contains(string(b), "Showing nodes accounting for") {
			t.Errorf("go tool pprof -top %s: %v\n%s", filepath.Base(f), err, b)
		}
	}
}

// Secrets planted in the environment, the command line and the URL never
// reach the file.
func TestSnapshotRedactsSecrets(t *testing.T) {
	bin := testproc.Build(t, "./testdata/targets/metricsserver")
	p := testproc.Start(t, bin, []string{"DB_PASSWORD=env-s3cret", "AWS_SECRET_ACCESS_KEY=env-k3y", "GOGC=150"},
		"-mode", "agent", "-live", "4", "--password=cmd-hunter2", "--api-token", "cmd-t0ken")
	url := strings.Replace(p.FirstLine, "http://", "http://admin:url-pw@", 1)
	path := filepath.Join(t.TempDir(), "s.gotune")
	// By PID, so the environment and command line are read; --url with
	// credentials in it.
	_, _, err := runGotune(t, t.Context(), "snapshot", strconv.Itoa(p.PID), "--url", url, "-o", path, "--window", "2s")
	if err != nil {
		t.Fatal(err)
	}
	s, err := snapshot.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Manifest.Env["GOGC"] != "150" {
		t.Errorf("GO* variables lost: %v", s.Manifest.Env)
	}
	if !strings.Contains(s.Manifest.Target.Command, "--password="+redact.Mask) {
		t.Errorf("command %q: the flag name should stay, its value masked", s.Manifest.Target.Command)
	}
	all := archiveText(t, path)
	for _, secret := range []string{"env-s3cret", "env-k3y", "DB_PASSWORD", "cmd-hunter2", "cmd-t0ken", "url-pw"} {
		if strings.Contains(all, secret) {
			t.Errorf("secret %q is in the snapshot file", secret)
		}
	}
}

// archiveText returns every entry of a snapshot, decompressed, as one string.
func archiveText(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, f := range zr.File {
		rc, _ := f.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		all.Write(b)
	}
	return all.String()
}

// Two real snapshots of the demo, at GOGC=100 and GOGC=400: gotune diff
// reports GC CPU and the GC rate down and the heap goal up, each beyond the
// windows' noise (the advisor's predictions themselves are checked by the
// advisor's experiments).
func TestDiffOfRealDemoSnapshots(t *testing.T) {
	bin := testproc.Build(t, ".")
	dir := t.TempDir()
	capture := func(gogc string) string {
		demo := testproc.Start(t, bin, []string{"GOGC=" + gogc}, "demo", "--serve", "127.0.0.1:0", "--alloc-rate", "100MiB", "--cache", "32MiB")
		path := filepath.Join(dir, "gogc"+gogc+".gotune")
		if _, _, err := runGotune(t, t.Context(), "snapshot", demo.FirstLine, "-o", path, "--window", "10s", "--name", "GOGC="+gogc); err != nil {
			t.Fatal(err)
		}
		demo.Kill()
		return path
	}
	before, after := capture("100"), capture("400")
	out, _, err := runGotune(t, t.Context(), "diff", before, after, "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Metrics []struct {
			Name   string  `json:"name"`
			Delta  float64 `json:"delta"`
			Beyond bool    `json:"beyond_noise"`
		} `json:"metrics"`
		Settings []struct{ Name, Before, After string } `json:"settings"`
	}
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"GC CPU": -1, "GC cycles/s": -1, "heap goal": +1}
	for _, m := range c.Metrics {
		dir, ok := want[m.Name]
		if !ok {
			continue
		}
		delete(want, m.Name)
		if !m.Beyond || m.Delta*float64(dir) <= 0 {
			t.Errorf("%s: delta %g beyond noise %v, want a change of sign %d beyond noise", m.Name, m.Delta, m.Beyond, dir)
		}
	}
	if len(want) > 0 {
		t.Errorf("metrics missing from the comparison: %v", want)
	}
	gogc := false
	for _, s := range c.Settings {
		gogc = gogc || s.Name == "GOGC" && s.Before == "100" && s.After == "400"
	}
	if !gogc {
		t.Errorf("settings %+v lack GOGC 100 → 400", c.Settings)
	}
	text, _, err := runGotune(t, t.Context(), "diff", before, after)
	if err != nil || !strings.Contains(text, "GOGC         100 → 400") {
		t.Errorf("text diff: %v\n%s", err, text)
	}
}
