package profile

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// BenchmarkTopVersusPprof runs `gotune top FILE` and `go tool pprof -top
// FILE` side by side on one generated heap profile and reports wall time,
// CPU time and peak RSS of each, and their ratios. It is a benchmark, not a
// test, because it takes minutes (go tool pprof is slow on big profiles):
//
//	go test -run XXX -bench TopVersusPprof -benchtime 1x ./profile/
//
// GOTUNE_SPEED_SAMPLES sets the sample count (default 600,000).
func BenchmarkTopVersusPprof(b *testing.B) {
	n := 600000
	if s := os.Getenv("GOTUNE_SPEED_SAMPLES"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	dir := b.TempDir()
	prof := filepath.Join(dir, "big.pb.gz")
	buildAndRun(b, "../testdata/targets/bigheap", "-samples", strconv.Itoa(n), "-o", prof)
	gotune := filepath.Join(dir, "gotune")
	if out, err := exec.Command("go", "build", "-o", gotune, "..").CombinedOutput(); err != nil {
		b.Fatalf("build gotune: %v\n%s", err, out)
	}
	// Warm the go tool pprof build cache so its first run is not compile
	// time.
	exec.Command("go", "tool", "-n", "pprof").Run()
	pprofBin, err := exec.Command("go", "tool", "-n", "pprof").Output()
	if err != nil {
		b.Fatalf("locate go tool pprof: %v", err)
	}
	pprofPath := string(pprofBin[:len(pprofBin)-1])
	st, _ := os.Stat(prof)
	b.Logf("profile: %d samples, %.1f MB gzipped", n, float64(st.Size())/1e6)
	for b.Loop() {
		g := measure(b, gotune, "top", prof)
		p := measure(b, pprofPath, "-top", prof)
		b.Logf("gotune top:         wall %6.2fs  cpu %6.2fs  max RSS %7.1f MB", g.wall.Seconds(), g.cpu.Seconds(), g.rssMB)
		b.Logf("go tool pprof -top: wall %6.2fs  cpu %6.2fs  max RSS %7.1f MB", p.wall.Seconds(), p.cpu.Seconds(), p.rssMB)
		b.Logf("ratios gotune/pprof: wall %.3f  cpu %.3f  RSS %.3f", g.wall.Seconds()/p.wall.Seconds(), g.cpu.Seconds()/p.cpu.Seconds(), g.rssMB/p.rssMB)
		b.ReportMetric(g.wall.Seconds(), "gotune-wall-s")
		b.ReportMetric(p.wall.Seconds(), "pprof-wall-s")
		b.ReportMetric(g.rssMB, "gotune-rss-MB")
		b.ReportMetric(p.rssMB, "pprof-rss-MB")
		b.ReportMetric(g.wall.Seconds()/p.wall.Seconds(), "wall-ratio")
		b.ReportMetric(g.cpu.Seconds()/p.cpu.Seconds(), "cpu-ratio")
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
	cmd.Env = append(os.Environ(), "PPROF_TMPDIR="+b.TempDir())
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("%s: %v\n%s", bin, err, out)
	}
	wall := time.Since(start)
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return usage{
		wall:  wall,
		cpu:   time.Duration(ru.Utime.Nano() + ru.Stime.Nano()),
		rssMB: float64(ru.Maxrss) / 1024, // KB on Linux
	}
}
