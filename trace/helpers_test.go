package trace

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gotune/gotune/profile"
)

// The helpers here build the test targets, write real traces with them and
// run Go's own tools on the same files.

var (
	casesOnce sync.Once
	casesBin  string
	casesErr  error
	casesDir  string
)

// casesBinary builds testdata/targets/trace-cases once per test binary.
func casesBinary(t testing.TB) string {
	t.Helper()
	casesOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gotune-trace-cases")
		if err != nil {
			casesErr = err
			return
		}
		casesDir = dir
		casesBin = filepath.Join(dir, "trace-cases")
		out, err := exec.Command("go", "build", "-o", casesBin, "../testdata/targets/trace-cases").CombinedOutput()
		if err != nil {
			casesErr = fmt.Errorf("build trace-cases: %v\n%s", err, out)
		}
	})
	if casesErr != nil {
		t.Fatal(casesErr)
	}
	return casesBin
}

var (
	tracesMu sync.Mutex
	traces   = map[string]string{}
)

// caseTrace writes (once per test binary) a trace of one workload case.
func caseTrace(t testing.TB, name string, d time.Duration) string {
	t.Helper()
	bin := casesBinary(t)
	key := name + "/" + d.String()
	tracesMu.Lock()
	defer tracesMu.Unlock()
	if p, ok := traces[key]; ok {
		return p
	}
	out := filepath.Join(casesDir, name+"-"+d.String()+".trace")
	cmd := exec.Command(bin, "-case", name, "-d", d.String(), "-o", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("trace-cases -case %s: %v\n%s", name, err, b)
	}
	traces[key] = out
	return out
}

func analyzeFile(t testing.TB, path string) *Summary {
	t.Helper()
	return analyzeFileWith(t, path, Options{})
}

// analyzeFileWith analyses path keeping every pause, group and cycle.
func analyzeFileWith(t testing.TB, path string, o Options) *Summary {
	t.Helper()
	o.MaxGroups, o.MaxPauses, o.MaxCycles = 1<<30, 1<<30, 1<<30
	s, err := AnalyzeFile(context.Background(), path, o)
	if err != nil {
		t.Fatalf("analyze %s: %v", path, err)
	}
	return s
}

// pprofTotals is a `go tool trace -pprof=MODE` profile by stack (function,
// file and line of each frame, innermost first), with its totals.
type pprofTotals struct {
	count, total int64
	byStack      map[string][2]int64 // count, delay ns
}

func goToolTracePprof(t testing.TB, mode, file string) pprofTotals {
	t.Helper()
	cmd := exec.Command("go", "tool", "trace", "-pprof="+mode, file)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go tool trace -pprof=%s: %v\n%s", mode, err, stderr.Bytes())
	}
	p, err := profile.ParseBytes(out)
	if err != nil {
		t.Fatalf("parse -pprof=%s output: %v", mode, err)
	}
	ci, di := -1, -1
	for i, st := range p.SampleTypes {
		switch st.Type {
		case "contentions":
			ci = i
		case "delay":
			di = i
		}
	}
	if ci < 0 || di < 0 {
		t.Fatalf("-pprof=%s: sample types %v", mode, p.SampleTypes)
	}
	res := pprofTotals{byStack: map[string][2]int64{}}
	for i := range p.NumSamples() {
		v := p.Values(i)
		var fr []profile.Frame
		for _, l := range p.Stack(i) {
			for _, ln := range p.Locations[l].Lines {
				f := profile.Frame{Line: int(ln.Line)}
				if ln.Function >= 0 {
					f.Func, f.File = p.Functions[ln.Function].Name, p.Functions[ln.Function].Filename
				}
				fr = append(fr, f)
			}
		}
		k := stackKey(fr)
		e := res.byStack[k]
		e[0] += v[ci]
		e[1] += v[di]
		res.byStack[k] = e
		res.count += v[ci]
		res.total += v[di]
	}
	return res
}

func stackKey(fr []profile.Frame) string {
	var b strings.Builder
	for _, f := range fr {
		fmt.Fprintf(&b, "%s %s:%d\n", f.Func, f.File, f.Line)
	}
	return b.String()
}

// parsedSTW is a stop-the-world range as `go tool trace -d=parsed` prints
// it.
type parsedSTW struct {
	reason string
	dur    time.Duration
}

var rangeRE = regexp.MustCompile(`^M=\S+ P=\S+ G=\S+ (RangeBegin|RangeEnd) Time=(\d+) Name="stop-the-world \((.*)\)" Scope=Goroutine\((\d+)\)`)

func goToolTraceSTW(t testing.TB, file string) []parsedSTW {
	t.Helper()
	cmd := exec.Command("go", "tool", "trace", "-d=parsed", file)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	open := map[string]int64{}
	var res []parsedSTW
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := rangeRE.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		ts, _ := strconv.ParseInt(m[2], 10, 64)
		if m[1] == "RangeBegin" {
			open[m[4]] = ts
			continue
		}
		if b, ok := open[m[4]]; ok {
			res = append(res, parsedSTW{m[3], time.Duration(ts - b)})
			delete(open, m[4])
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("go tool trace -d=parsed: %v", err)
	}
	return res
}

// goToolTraceMMU starts `go tool trace -http` on file and returns a
// function asking its MMU page for the minimum mutator utilisation at a
// window (flags stw|background|assist|sweep, not per proc: the page's
// defaults), and a stop function.
func goToolTraceMMU(t testing.TB, file string) (func(time.Duration) float64, func()) {
	t.Helper()
	// Run the tool's binary itself: killing `go tool trace` would leave
	// the server it starts running.
	tool, err := exec.Command("go", "tool", "-n", "trace").Output()
	if err != nil {
		t.Fatalf("go tool -n trace: %v", err)
	}
	cmd := exec.Command(strings.TrimSpace(string(tool)), "-http=127.0.0.1:0", file)
	cmd.Env = append(os.Environ(), "BROWSER=true") // "open" the page with true(1)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stop := func() { cmd.Process.Kill(); cmd.Wait() }
	urlRE := regexp.MustCompile(`listening on (http://\S+)`)
	base := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := urlRE.FindStringSubmatch(sc.Text()); m != nil {
				base <- m[1]
			}
		}
		close(base)
	}()
	var u string
	select {
	case b, ok := <-base:
		if !ok {
			stop()
			t.Fatal("go tool trace -http exited before serving")
		}
		u = b
	case <-time.After(5 * time.Minute):
		stop()
		t.Fatal("go tool trace -http did not start")
	}
	get := func(w time.Duration) float64 {
		resp, err := http.Get(fmt.Sprintf("%s/mmu?mode=details&window=%d&flags=stw|background|assist|sweep", u, int64(w)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var ws []struct {
			Time        int64
			MutatorUtil float64
		}
		if err := json.NewDecoder(resp.Body).Decode(&ws); err != nil {
			t.Fatalf("mmu details: %v", err)
		}
		if len(ws) == 0 {
			t.Fatalf("mmu details for %s: no windows", w)
		}
		m := 1.0
		for _, x := range ws {
			m = min(m, x.MutatorUtil)
		}
		return m
	}
	return get, stop
}
