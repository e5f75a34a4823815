package trace

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkAnalyze is the analysis alone, in process, on a small trace of
// this test binary.
func BenchmarkAnalyze(b *testing.B) {
	data := ownTrace(b)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Analyze(context.Background(), bytes.NewReader(data), Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAnalyzeVersusGoToolTrace writes a large trace with
// trace-cases -case big (GOTUNE_TRACE_SECONDS, default 12 s: about 130 MB
// here) and runs gotune's analysis (testdata/targets/trace-analyze, its own
// process) and `go tool trace -pprof=sched` on it, reporting wall time,
// CPU time and peak RSS of each. It takes a minute, so it is a benchmark:
//
//	go test -run XXX -bench AnalyzeVersusGoToolTrace -benchtime 1x ./trace/
func BenchmarkAnalyzeVersusGoToolTrace(b *testing.B) {
	secs := 12
	if s := os.Getenv("GOTUNE_TRACE_SECONDS"); s != "" {
		secs, _ = strconv.Atoi(s)
	}
	dir := b.TempDir()
	file := filepath.Join(dir, "big.trace")
	if out, err := exec.Command(casesBinary(b), "-case", "big", "-d", strconv.Itoa(secs)+"s", "-o", file).CombinedOutput(); err != nil {
		b.Fatalf("trace-cases: %v\n%s", err, out)
	}
	analyze := filepath.Join(dir, "trace-analyze")
	if out, err := exec.Command("go", "build", "-o", analyze, "../testdata/targets/trace-analyze").CombinedOutput(); err != nil {
		b.Fatalf("build trace-analyze: %v\n%s", err, out)
	}
	tool, err := exec.Command("go", "tool", "-n", "trace").Output()
	if err != nil {
		b.Fatalf("locate go tool trace: %v", err)
	}
	toolPath := strings.TrimSpace(string(tool))
	st, err := os.Stat(file)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("trace: %.1f MB, %d s of trace-cases -case big", float64(st.Size())/1e6, secs)
	for b.Loop() {
		g := measure(b, analyze, file)
		p := measure(b, toolPath, "-pprof=sched", file)
		b.Logf("gotune (trace-analyze):      wall %6.2fs  cpu %6.2fs  max RSS %7.1f MB", g.wall.Seconds(), g.cpu.Seconds(), g.rssMB)
		b.Logf("go tool trace -pprof=sched:  wall %6.2fs  cpu %6.2fs  max RSS %7.1f MB", p.wall.Seconds(), p.cpu.Seconds(), p.rssMB)
		b.Logf("ratios gotune/go tool trace: wall %.3f  cpu %.3f  RSS %.3f", g.wall.Seconds()/p.wall.Seconds(), g.cpu.Seconds()/p.cpu.Seconds(), g.rssMB/p.rssMB)
		b.ReportMetric(float64(st.Size())/1e6, "trace-MB")
		b.ReportMetric(g.wall.Seconds(), "gotune-wall-s")
		b.ReportMetric(p.wall.Seconds(), "gotooltrace-wall-s")
		b.ReportMetric(g.rssMB, "gotune-rss-MB")
		b.ReportMetric(p.rssMB, "gotooltrace-rss-MB")
		b.ReportMetric(g.wall.Seconds()/p.wall.Seconds(), "wall-ratio")
		b.ReportMetric(g.rssMB/p.rssMB, "rss-ratio")
	}
}

type usage struct {
	wall, cpu time.Duration
	rssMB     float64
}

func measure(b *testing.B, bin string, args ...string) usage {
	b.Helper()
	cmd := exec.Command(bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s %v: %v\n%s", bin, args, err, stderr.Bytes())
	}
	wall := time.Since(start)
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return usage{wall: wall, cpu: cpu, rssMB: float64(ru.Maxrss) / 1024}
}
