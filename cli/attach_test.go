//go:build unix

package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gotune/gotune/internal/testproc"
	"github.com/gotune/gotune/session"
)

func runGotune(t *testing.T, ctx context.Context, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	err = Run(ctx, args, &out, &errb)
	return out.String(), errb.String(), err
}

func decodeRecords(t *testing.T, out string) []Record {
	t.Helper()
	var recs []Record
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line is not JSON: %v\n%s", err, sc.Text())
		}
		recs = append(recs, r)
	}
	return recs
}

// attachUntil runs gotune attach ARGS --json until want fresh records
// have been printed and at least atLeast has passed, and returns its
// output. It stops on the count, not a duration alone: on a busy machine
// a read of a -race target took 1.9 s, so how many came in 3 s depended
// on the load. MinWait guards against a hang; the caller's checks say
// what is missing.
func attachUntil(t *testing.T, want int, atLeast time.Duration, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), testproc.MinWait)
	defer cancel()
	w := &freshCounter{want: want, after: time.Now().Add(atLeast), enough: cancel}
	var errb bytes.Buffer
	err := Run(ctx, append(append([]string{"attach"}, args...), "--json"), w, &errb)
	if err != nil && ctx.Err() == nil {
		t.Fatalf("attach: %v\n%s", err, errb.String())
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.out.String()
}

// freshCounter keeps attach's JSON lines and calls enough once want of
// them are fresh records, after the time given.
type freshCounter struct {
	mu     sync.Mutex
	out    bytes.Buffer
	fresh  int
	want   int
	after  time.Time
	enough func()
}

func (w *freshCounter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.out.Write(p)
	w.fresh += bytes.Count(p, []byte(`"fresh":true`))
	if w.fresh >= w.want && time.Now().After(w.after) {
		w.enough()
	}
	return len(p), nil
}

// gotune attach URL --json against real targets exposing metrics in each
// supported way, until three fresh records (rates need two).
func TestAttachJSONAgainstRealTargets(t *testing.T) {
	bin := testproc.Build(t, "./testdata/targets/metricsserver")
	for _, c := range []struct{ mode, via string }{
		{"agent", "agent"}, {"promdefault", "prometheus"}, {"promall", "prometheus"}, {"expvar", "expvar"},
	} {
		t.Run(c.mode, func(t *testing.T) {
			t.Parallel()
			p := testproc.Start(t, bin, []string{"GOGC=100"}, "-mode", c.mode, "-live", "32")
			out := attachUntil(t, 3, 0, p.FirstLine, "--interval", "500ms")
			recs := decodeRecords(t, out)
			fresh := 0
			for _, r := range recs {
				if !r.Fresh {
					continue
				}
				fresh++
				if r.Source.Via != c.via || !r.Source.OK || r.Target != p.FirstLine {
					t.Errorf("record source %+v target %q", r.Source, r.Target)
				}
				live, ok := r.Metrics[session.HeapLive]
				if !ok {
					live = r.Metrics[session.HeapObjects]
				}
				// The target holds 32 MiB; "live" is as of the last GC, which
				// may have run while it was still building that heap.
				if live < 24<<20 || live > 200<<20 {
					t.Errorf("heap live %.0f, want about the 32 MiB the target holds", live)
				}
			}
			if fresh < 3 {
				t.Fatalf("%d fresh records, want 3:\n%s", fresh, out)
			}
			last := recs[len(recs)-1]
			// The target allocates up to 20 MiB/s, less when the machine is busy.
			if r, ok := last.Derived[session.AllocRate]; !ok || r <= 0 || r > 80<<20 {
				t.Errorf("alloc rate %v (present %v), want > 0 and ≤ about 20 MiB/s", r, ok)
			}
			if c.mode == "agent" && (last.PID != p.PID) {
				t.Errorf("pid %d, want %d", last.PID, p.PID)
			}
		})
	}
}

func TestAttachRefusedFailsClearly(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	out, _, err := runGotune(t, t.Context(), "attach", addr, "--json", "--duration", "1500ms", "--interval", "500ms")
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("error %v, want connection refused", err)
	}
	recs := decodeRecords(t, out)
	if len(recs) == 0 || recs[0].Fresh || !strings.Contains(recs[0].Source.Error, "connection refused") {
		t.Fatalf("want status records saying connection refused, got:\n%s", out)
	}
}

func TestAttachBadArguments(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"attach", "ftp://x"}, "only http and https"},
		{[]string{"attach", "http://x", "--interval", "1ms"}, "too short"},
		{[]string{"attach"}, "accepts 1 arg"},
		{[]string{"attach", "http://x", "--json", "--plain"}, "exclude each other"},
	} {
		_, _, err := runGotune(t, t.Context(), c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.args, err, c.want)
		}
	}
}

// The plain mode prints a header and aligned lines with live figures.
func TestAttachPlainLines(t *testing.T) {
	bin := testproc.Build(t, "./testdata/targets/metricsserver")
	p := testproc.Start(t, bin, nil, "-mode", "agent", "-live", "16")
	out, _, err := runGotune(t, t.Context(), "attach", p.FirstLine, "--plain", "--duration", "2200ms", "--interval", "500ms")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	header := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "TIME") {
			header = i
			break
		}
	}
	if len(lines) < 5 || !strings.Contains(lines[0], "metrics via agent") || header < 1 || !strings.Contains(out, "\n# GOGC ") {
		t.Fatalf("unexpected output:\n%s", out)
	}
	for _, l := range lines[2:] {
		if strings.HasPrefix(l, "#") || strings.HasPrefix(l, "TIME") {
			continue // the settings and a repeated header
		}
		if !strings.Contains(l, "MiB /") {
			t.Errorf("line without heap figures: %q", l)
		}
	}
	// Rates appear from the second sample on: no "-" in the CPU column,
	// the third field from the end (CPU, then RSS as "25.9 MiB"). PAUSE
	// p99 may be "-": an idle target need not collect in an interval.
	if f := strings.Fields(lines[len(lines)-1]); len(f) < 3 || f[len(f)-3] == "-" {
		t.Errorf("no CPU figure on the last line: %q", lines[len(lines)-1])
	}
}

// gotune demo --serve prints its URL first, serves pprof and the agent, and
// exits 0 on SIGTERM.
func TestDemoServe(t *testing.T) {
	bin := testproc.Build(t, ".")
	p := testproc.Start(t, bin, nil, "demo", "--serve", "127.0.0.1:0", "--alloc-rate", "20MiB", "--cache", "16MiB")
	if !strings.HasPrefix(p.FirstLine, "http://127.0.0.1:") {
		t.Fatalf("first line %q is not a base URL", p.FirstLine)
	}
	for _, path := range []string{"/debug/pprof/", "/debug/gotune/metrics"} {
		resp, err := http.Get(p.FirstLine + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: status %d", path, resp.StatusCode)
		}
	}
	p.Cmd.Process.Signal(syscall.SIGTERM)
	if !p.Wait(10 * time.Second) {
		t.Fatal("demo --serve did not exit after SIGTERM")
	}
	if code := p.Cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0; stderr:\n%s", code, p.Stderr.String())
	}
}

// gotune demo shows changing live figures within 2 s, and its workload child
// goes away with it.
func TestDemoShowsLiveFigures(t *testing.T) {
	bin := testproc.Build(t, ".")
	// Read records until three are fresh, then interrupt: how long the
	// child takes to start on a loaded machine decides nothing.
	cmd := exec.Command(bin, "demo", "--json", "--interval", "500ms", "--alloc-rate", "20MiB", "--cache", "16MiB")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("demo: %v", err)
	}
	deadline := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() })
	defer deadline.Stop()
	var allocs []float64
	var out strings.Builder
	pid := 0
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for len(allocs) < 3 && sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		for _, r := range decodeRecords(t, sc.Text()) {
			if r.Fresh {
				allocs = append(allocs, r.Metrics[session.HeapAllocsBytes])
				pid = r.PID
			}
		}
	}
	cmd.Process.Signal(os.Interrupt)
	go io.Copy(io.Discard, stdout)
	if err := cmd.Wait(); err != nil && len(allocs) < 3 {
		t.Fatalf("demo: %v", err)
	}
	if len(allocs) < 3 {
		t.Fatalf("%d fresh records, want ≥ 3:\n%s", len(allocs), out.String())
	}
	if allocs[len(allocs)-1] <= allocs[0] {
		t.Errorf("allocated bytes did not grow: %v", allocs)
	}
	testproc.Eventually(t, 10*time.Second, func() bool { return syscall.Kill(pid, 0) != nil }, "workload child %d outlived gotune demo", pid)
}
