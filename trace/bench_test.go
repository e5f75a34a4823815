package trace

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gotune/gotune/internal/testproc"
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
		b.Logf("gotune (trace-analyze):      wall %6.2fs  cpu %6.2fs  max RSS %7.1f MB", g.Wall.Seconds(), g.CPU.Seconds(), g.RSSMB)
		b.Logf("go tool trace -pprof=sched:  wall %6.2fs  cpu %6.2fs  max RSS %7.1f MB", p.Wall.Seconds(), p.CPU.Seconds(), p.RSSMB)
		b.Logf("ratios gotune/go tool trace: wall %.3f  cpu %.3f  RSS %.3f", g.Wall.Seconds()/p.Wall.Seconds(), g.CPU.Seconds()/p.CPU.Seconds(), g.RSSMB/p.RSSMB)
		b.ReportMetric(float64(st.Size())/1e6, "trace-MB")
		b.ReportMetric(g.Wall.Seconds(), "gotune-wall-s")
		b.ReportMetric(p.Wall.Seconds(), "gotooltrace-wall-s")
		b.ReportMetric(g.RSSMB, "gotune-rss-MB")
		b.ReportMetric(p.RSSMB, "gotooltrace-rss-MB")
		b.ReportMetric(g.Wall.Seconds()/p.Wall.Seconds(), "wall-ratio")
		b.ReportMetric(g.RSSMB/p.RSSMB, "rss-ratio")
	}
}

func measure(b *testing.B, bin string, args ...string) testproc.Usage {
	b.Helper()
	return testproc.Measure(b, nil, bin, args...)
}
