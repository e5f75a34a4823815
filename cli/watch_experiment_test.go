//go:build experiment && linux

package cli

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/bundle"
	"github.com/gotune/gotune/export/exporttest"
	"github.com/gotune/gotune/internal/testproc"
)

// TestWatchFlatMemory runs the real gotune binary's watch on three targets
// that misbehave in cycles — one leaking goroutines 30 s in every 2 min
// (freed after each episode), one allocating hard 20 s in every 2 min, one
// doing both on other cycles — with a growth and a GC CPU trigger, a 2 min
// cool-down, and --export to a Pyroscope and a remote-write receiver, for
// GOTUNE_WATCH_MINUTES (default 10). It records gotune's RSS every 10 s
// from /proc. Each target's store fills its ring of bundle.DefaultCapacity
// points (5 min at 1 s) first, so memory grows for five minutes; after
// that each round of bundles (every 2 min, the cool-down) adds a transient
// peak while its profiles are parsed, written and exported. The check, once
// the rings are full: the median RSS of the last third of the run is within
// 10 % of the median of the minute after the rings filled, and its peak
// within 25 % of that minute's peak.
//
//	go test -tags experiment -run TestWatchFlatMemory -v -timeout 30m ./cli/
func TestWatchFlatMemory(t *testing.T) {
	minutes := 10
	if v, err := strconv.Atoi(os.Getenv("GOTUNE_WATCH_MINUTES")); err == nil && v > 0 {
		minutes = v
	}
	bin := testproc.Build(t, ".")
	target := testproc.Build(t, testproc.Target("episodes"))
	var pids []string
	for _, args := range [][]string{
		{"-leak-cycle", "30s,90s", "-release", "-leak-rate", "50"},
		{"-alloc-cycle", "20s,100s"},
		{"-leak-cycle", "20s,70s", "-release", "-alloc-cycle", "15s,45s"},
	} {
		p := testproc.StartWith(t, target, testproc.Options{WaitReady: true, Env: []string{"GOMAXPROCS=1"}}, args...)
		pids = append(pids, strconv.Itoa(p.PID))
	}
	pyro := &exporttest.PyroscopeReceiver{}
	psrv := exporttest.NewFaultServer(t, pyro)
	psrv.Up()
	rw, h := exporttest.NewRemoteWriteReceiver()
	rsrv := exporttest.NewFaultServer(t, h)
	rsrv.Up()

	dir := t.TempDir()
	args := append([]string{"watch"}, pids...)
	args = append(args, "--trigger", "goroutine-growth>300/min:10s", "--trigger", "gc-cpu>5%:5s", "--cooldown", "2m",
		"--cpu", "5s", "--out", dir, "--duration", fmt.Sprintf("%dm", minutes),
		"--export", "pyroscope+"+psrv.URL(), "--export", "remote-write+"+rsrv.URL()+"/api/v1/write")
	cmd := exec.Command(bin, args...)
	logPath := filepath.Join(dir, "watch.log")
	logf, err := os.Create(logPath)
	testproc.Must(t, err, "log")
	cmd.Stdout, cmd.Stderr = logf, logf
	testproc.Must(t, cmd.Start(), "start gotune watch")
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-done
		}
	}()

	type sample struct {
		at  time.Duration
		rss int64
	}
	var curve []sample
	start := time.Now()
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	var werr error
loop:
	for {
		select {
		case werr = <-done:
			break loop
		case <-tick.C:
			if rss, ok := vmRSS(cmd.Process.Pid); ok {
				curve = append(curve, sample{time.Since(start).Round(time.Second), rss})
			}
		}
	}
	logb, _ := os.ReadFile(logPath)
	if werr != nil {
		t.Fatalf("gotune watch: %v\n%s", werr, logb)
	}
	var b strings.Builder
	b.WriteString("\n| t | RSS |\n|---|---|\n")
	var peakFull, peakLast, first int64
	var inFull, inLast []int64
	full := time.Duration(bundle.DefaultCapacity) * time.Second // the rings are full
	for _, s := range curve {
		fmt.Fprintf(&b, "| %s | %.1f MiB |\n", s.at, float64(s.rss)/(1<<20))
		if first == 0 {
			first = s.rss
		}
		if s.at > full && s.at <= full+time.Minute {
			peakFull = max(peakFull, s.rss)
			inFull = append(inFull, s.rss)
		}
		if s.at >= time.Duration(minutes)*time.Minute*2/3 {
			peakLast = max(peakLast, s.rss)
			inLast = append(inLast, s.rss)
		}
	}
	median := func(v []int64) int64 {
		if len(v) == 0 {
			return 0
		}
		v = slices.Clone(v)
		slices.Sort(v)
		return v[len(v)/2]
	}
	medFull, medLast := median(inFull), median(inLast)
	idx, _ := bundle.ReadIndex(dir)
	count := map[string]int{}
	for _, e := range idx {
		count[e.Event]++
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.gotune"))
	t.Logf("gotune watch, 3 targets, %d min: RSS at 10 s %.1f MiB, the minute after the rings are full (%s): median %.1f MiB, peak %.1f MiB; the last third: median %.1f MiB, peak %.1f MiB; events %v; %d bundles; export: %d profiles at Pyroscope, %d samples at remote-write%s",
		minutes, float64(first)/(1<<20), full, float64(medFull)/(1<<20), float64(peakFull)/(1<<20), float64(medLast)/(1<<20), float64(peakLast)/(1<<20), count, len(files), len(pyro.Ingests()), len(rw.All()), b.String())
	t.Logf("gotune watch's own output:\n%s", logb)
	if peakFull == 0 || time.Duration(minutes)*time.Minute*2/3 <= full+time.Minute {
		t.Fatalf("too short a run to judge: the rings are full after %s (%d samples)", full, len(curve))
	}
	if float64(medLast) > 1.10*float64(medFull) || float64(peakLast) > 1.25*float64(peakFull) {
		t.Errorf("RSS grew after the rings were full: median %.1f → %.1f MiB, peak %.1f → %.1f MiB",
			float64(medFull)/(1<<20), float64(medLast)/(1<<20), float64(peakFull)/(1<<20), float64(peakLast)/(1<<20))
	}
	if count["written"] < 3 {
		t.Errorf("only %d bundles in %d minutes: the targets' episodes did not fire", count["written"], minutes)
	}
}

// vmRSS reads VmRSS of pid in bytes.
func vmRSS(pid int) (int64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				n, err := strconv.ParseInt(f[0], 10, 64)
				return n << 10, err == nil
			}
		}
	}
	return 0, false
}
