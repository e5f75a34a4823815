//go:build experiment

package ui_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/internal/testproc"
)

// TestDashboardOwnCPU measures gotune's CPU while it shows the demo at a
// 1 s interval: under 1% of one core on a quiet machine. It is a
// measurement, so it runs only as an explicit command:
//
//	go test -tags experiment -run TestDashboardOwnCPU -v ./ui/
//
// GOTUNE_CPU_SECONDS sets the length (default 60).
func TestDashboardOwnCPU(t *testing.T) {
	needTmux(t)
	secs := 60
	if v, err := strconv.Atoi(os.Getenv("GOTUNE_CPU_SECONDS")); err == nil && v > 0 {
		secs = v
	}
	bin := testproc.Build(t, ".")
	demo := testproc.Start(t, bin, nil, "demo", "--serve", "127.0.0.1:0")
	tm := startTmux(t, 120, 40, "exec "+bin+" attach "+demo.FirstLine+" --interval 1s 2>/dev/null")
	tm.waitText(20*time.Second, "Heap", "metrics via agent")
	pid, err := strconv.Atoi(tm.display("#{pane_pid}"))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second) // past start-up
	c0, w0 := cpuTicks(t, pid), time.Now()
	time.Sleep(time.Duration(secs) * time.Second)
	c1, w1 := cpuTicks(t, pid), time.Now()
	frac := (c1 - c0) / w1.Sub(w0).Seconds()
	t.Logf("gotune's own CPU while watching the demo at 1 s for %.0fs: %.2f%% of one core", w1.Sub(w0).Seconds(), 100*frac)
	if frac > 0.01 {
		t.Errorf("gotune used %.2f%% of one core, more than 1%%", 100*frac)
	}
	tm.send("q")
}

// cpuTicks reads utime+stime of pid in seconds.
func cpuTicks(t *testing.T, pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ is 100 on Linux
}
