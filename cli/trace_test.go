//go:build unix

package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/gotune/gotune/advisor"
	"github.com/gotune/gotune/collectors"
	"github.com/gotune/gotune/internal/testproc"
	"github.com/gotune/gotune/measurement"
	"github.com/gotune/gotune/trace"
)

const traces = "../testdata/traces/"

func decodeTraceOutput(t *testing.T, out string) traceOutput {
	t.Helper()
	var o traceOutput
	if err := json.Unmarshal([]byte(out), &o); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	return o
}

// gotune trace FILE: the summary and the trace rules' findings, printed as
// gotune advise prints findings.
func TestTraceFileGolden(t *testing.T) {
	out := runCLI(t, "trace", traces+"stw.trace")
	golden.RequireEqual(t, []byte(out))
	for _, want := range []string{"# gotune trace ../testdata/traces/stw.trace · from a trace file", "Stop-the-world pauses: 7, total 281ms",
		"CRIT  trace-long-pause — A 102ms pause", "      evidence  longest pause", "      action      [code]"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	o := decodeTraceOutput(t, runCLI(t, "trace", "--json", traces+"stw.trace"))
	s := o.Trace.Summary
	if o.Trace.Source != trace.SourceFile || s == nil || s.Pauses.Count != 7 || s.GOMAXPROCS != 2 || findingIDs(advisor.Report{Findings: o.Findings}) != "trace-long-pause" {
		t.Errorf("JSON: source %s, summary %v, findings %s", o.Trace.Source, s != nil, findingIDs(advisor.Report{Findings: o.Findings}))
	}
}

// Several files are ranked by their worst pause (golang/go#62461).
func TestTraceRanksFiles(t *testing.T) {
	out := runCLI(t, "trace", traces+"lock.trace", traces+"stw.trace")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "1  102ms") || !strings.HasSuffix(lines[1], "stw.trace") || !strings.HasSuffix(lines[2], "lock.trace") {
		t.Fatalf("ranking:\n%s", out)
	}
	var rs []trace.Ranked
	if err := json.Unmarshal([]byte(runCLI(t, "trace", "--json", traces+"lock.trace", traces+"stw.trace")), &rs); err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || !strings.HasSuffix(rs[0].Name, "stw.trace") || rs[0].Worst.Reason != "GC sweep termination" || rs[1].Worst.Reason != "start trace" {
		t.Errorf("JSON ranking %+v", rs)
	}
}

// Bad input: each a clear error; a truncated trace still prints what was
// read.
func TestTraceBadInput(t *testing.T) {
	raw, err := os.ReadFile(traces + "stw.trace")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	garbage := write("garbage.trace", []byte("<html>not a trace</html>"))
	newer := write("newer.trace", append([]byte("go 1.99 trace\x00\x00\x00"), raw[16:]...))
	cut := write("cut.trace", raw[:len(raw)/2])
	huge := filepath.Join(dir, "huge.trace")
	f, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(raw[:16])
	if err := f.Truncate(5 << 30); err != nil { // sparse: nothing is written
		t.Fatal(err)
	}
	f.Close()
	for _, c := range []struct{ file, want string }{
		{garbage, "not a Go execution trace"},
		{newer, "written by Go 1.99, newer than this gotune can read"},
		{huge, "is 5.0 GiB: trace is larger than the limit of 4.0 GiB"},
		{filepath.Join(dir, "missing.trace"), "no such file, and not a PID or URL"},
	} {
		read := bytesRead(t)
		if msg := runCLIError(t, "trace", c.file); !strings.Contains(msg, c.want) {
			t.Errorf("%s: %q, want %q", filepath.Base(c.file), msg, c.want)
		}
		// What this process read meanwhile, not how long it took (other
		// tests read at the same time, but nowhere near a GiB).
		if n := bytesRead(t) - read; c.file == huge && read >= 0 && n > 1<<30 {
			t.Errorf("refusing a 5 GiB file read %d bytes: it was read", n)
		}
	}
	stdout, _, err := runGotune(t, t.Context(), "trace", cut)
	if !errors.Is(err, trace.ErrTruncated) || !strings.Contains(stdout, "The trace is truncated: the figures cover what was read.") || !strings.Contains(stdout, "Stop-the-world pauses:") {
		t.Errorf("a truncated trace: %v\n%s", err, stdout)
	}
	stdout, _, err = runGotune(t, t.Context(), "trace", garbage, traces+"stw.trace")
	if err == nil || !strings.Contains(err.Error(), "1 of 2 traces could not be read") || !strings.Contains(stdout, "garbage.trace: ") || !strings.HasPrefix(strings.Split(stdout, "\n")[1], "1  102ms") {
		t.Errorf("ranking with a bad file: %v\n%s", err, stdout)
	}

	// A target without /debug/pprof/trace.
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	if msg := runCLIError(t, "trace", srv.URL, "--seconds", "1"); !strings.Contains(msg, "net/http/pprof") || !strings.Contains(msg, "/debug/pprof/trace") {
		t.Errorf("a target without /debug/pprof/trace: %q", msg)
	}
	if msg := runCLIError(t, "trace", srv.URL, "--seconds", "61"); !strings.Contains(msg, "want 1 to 60") {
		t.Errorf("--seconds 61: %q", msg)
	}
	if msg := runCLIError(t, "trace", traces+"stw.trace", "-o", "x"); !strings.Contains(msg, "go with a TARGET") {
		t.Errorf("-o with a file: %q", msg)
	}
	if msg := runCLIError(t, "trace", "../testdata/snapshots/before.gotune"); !strings.Contains(msg, "holds no execution trace") {
		t.Errorf("a snapshot without a trace: %q", msg)
	}
}

// A real target: /debug/pprof/trace kept with -o (a file go tool trace
// reads), and the flight recorder as JSON.
func TestTraceCaptureFromRealTarget(t *testing.T) {
	bin := testproc.Build(t, testproc.Target("trace-cases"))
	p := testproc.StartWith(t, bin, testproc.Options{WaitReady: true}, "-case", "stw", "-serve", "127.0.0.1:0", "-flightrecorder")
	url := "http://" + p.Addr()
	out := filepath.Join(t.TempDir(), "stw.trace")
	stdout, stderr, err := runGotune(t, t.Context(), "trace", url, "--seconds", "1", "-o", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "from /debug/pprof/trace?seconds=1") || !strings.Contains(stdout, "Stop-the-world pauses:") || !strings.Contains(stdout, "trace-long-pause") {
		t.Errorf("capture output:\n%s", stdout)
	}
	if !strings.Contains(stderr, "trace written to "+out) {
		t.Errorf("stderr %q", stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil || !bytes.HasPrefix(b, []byte("go 1.26 trace")) {
		t.Fatalf("-o file: %v, %q", err, b[:min(len(b), 16)])
	}
	if parsed, err := exec.Command("go", "tool", "trace", "-d=parsed", out).Output(); err != nil || !bytes.Contains(parsed, []byte("stop-the-world (GC sweep termination)")) {
		t.Errorf("go tool trace -d=parsed on the kept trace: %v", err)
	}
	// The kept file reads back with the same worst pause.
	back := decodeTraceOutput(t, runCLI(t, "trace", "--json", out))
	if w, _ := back.Trace.Summary.Pauses.Worst(); !strings.Contains(stdout, measurementSeconds(w.Duration)) {
		t.Errorf("the kept trace's worst pause %s is not the one printed:\n%s", w.Duration, stdout)
	}

	fr := decodeTraceOutput(t, runCLI(t, "trace", url, "--flight", "--json"))
	if fr.Trace.Source != trace.SourceFlightRecorder || fr.Trace.Summary == nil || fr.Trace.Summary.Duration <= 0 || fr.Trace.Summary.Pauses.Count == 0 {
		t.Errorf("flight recorder: %+v", fr.Trace)
	}
}

func measurementSeconds(d time.Duration) string { return measurement.Seconds(d.Seconds()) }

// gotune snapshot --trace takes a trace inside the window of the real
// demo; extract writes it out, gotune trace and gotune report read it.
func TestSnapshotTraceFromDemo(t *testing.T) {
	bin := testproc.Build(t, ".")
	demo := testproc.Start(t, bin, nil, "demo", "--serve", "127.0.0.1:0", "--alloc-rate", "20MiB", "--cache", "16MiB")
	dir := t.TempDir()
	snap := filepath.Join(dir, "demo.gotune")
	if msg := runCLIError(t, "snapshot", demo.FirstLine, "-o", snap, "--window", "3s", "--trace", "5s"); !strings.Contains(msg, "--trace 5s must lie between 1s and the window") {
		t.Errorf("--trace longer than the window: %q", msg)
	}
	out := runCLI(t, "snapshot", demo.FirstLine, "-o", snap, "--window", "4s", "--trace", "1s")
	if !strings.Contains(out, ", an execution trace") {
		t.Fatalf("snapshot output %q", out)
	}
	extracted := runCLI(t, "snapshot", "extract", snap, filepath.Join(dir, "x"))
	tracePath := filepath.Join(dir, "x", "trace.out")
	if !strings.Contains(extracted, tracePath) {
		t.Fatalf("extract wrote:\n%s", extracted)
	}
	if b, err := os.ReadFile(tracePath); err != nil || !bytes.HasPrefix(b, []byte("go 1.26 trace")) {
		t.Fatalf("extracted trace: %v", err)
	}
	o := decodeTraceOutput(t, runCLI(t, "trace", "--json", snap))
	if o.Trace.Source != trace.SourcePprof || o.Trace.Seconds != 1 || o.Trace.Summary == nil || o.Trace.Summary.Duration < 900*time.Millisecond {
		t.Errorf("the snapshot's trace: %+v", o.Trace)
	}
	direct := decodeTraceOutput(t, runCLI(t, "trace", "--json", tracePath))
	if direct.Trace.Summary.Events != o.Trace.Summary.Events || direct.Trace.Summary.Pauses.Count != o.Trace.Summary.Pauses.Count {
		t.Errorf("the extracted file reads %d events, %d pauses; the snapshot's summary %d, %d", direct.Trace.Summary.Events,
			direct.Trace.Summary.Pauses.Count, o.Trace.Summary.Events, o.Trace.Summary.Pauses.Count)
	}
	md := filepath.Join(dir, "r.md")
	runCLI(t, "report", snap, "-o", md)
	if b, _ := os.ReadFile(md); !bytes.Contains(b, []byte("## Execution trace")) || !bytes.Contains(b, []byte("From /debug/pprof/trace?seconds=1")) {
		t.Errorf("the report has no trace section")
	}
}

// The progress line a terminal sees while a capture runs.
func TestTraceProgressLine(t *testing.T) {
	for _, c := range []struct {
		p    collectors.TraceProgress
		want string
	}{
		{collectors.TraceProgress{Bytes: 3 << 20, Elapsed: 2500 * time.Millisecond, Seconds: 5}, "tracing 2/5s… 3.0 MiB (Ctrl-C cancels)"},
		{collectors.TraceProgress{Bytes: 3 << 20, Elapsed: 7 * time.Second, Seconds: 5}, "tracing 5/5s… 3.0 MiB (Ctrl-C cancels)"},
		{collectors.TraceProgress{Bytes: 1 << 20}, "reading the flight recorder… 1.0 MiB"},
		{collectors.TraceProgress{Bytes: 5 << 20, Elapsed: 5230 * time.Millisecond, Seconds: 5, Done: true}, "trace captured: 5.0 MiB in 5.2s"},
	} {
		if got := traceProgressLine(c.p); got != c.want {
			t.Errorf("%+v: %q, want %q", c.p, got, c.want)
		}
	}
}

// bytesRead is what this process has read through read(2) and its kin
// (rchar in /proc/self/io), or -1 where there is no such file.
func bytesRead(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return -1
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "rchar: "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				t.Fatalf("/proc/self/io: %v", err)
			}
			return n
		}
	}
	t.Fatalf("/proc/self/io has no rchar:\n%s", b)
	return -1
}
