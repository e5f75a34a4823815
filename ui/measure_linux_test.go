//go:build experiment

package ui_test

import (
	"encoding/json"
	"fmt"
	"net/http"
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

// heartbeat reads the manygoroutines target's longest scheduling gap and
// CPU seconds since its last reset.
func heartbeat(t *testing.T, url string, reset bool) (gap, cpu, secs float64) {
	t.Helper()
	u := url + "/heartbeat"
	if reset {
		u += "?reset=1"
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]float64
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v["max_gap_seconds"], v["cpu_seconds"], v["seconds"]
}

// TestTargetCostOfDashboard measures what the dashboard costs a target
// with 200k goroutines: its longest scheduling gap (a heartbeat goroutine
// inside it) and its added CPU, with nothing attached, with the dashboard
// on the Overview (the default) and on the Goroutines screen, 60 s each
// (GOTUNE_COST_SECONDS); the Goroutines screen's first read, which the key
// press asks for, is measured apart from its refreshes. GOTUNE_BEFORE_BIN names an older gotune binary to
// measure beside this one. A measurement, so an explicit command:
//
//	go test -tags experiment -run TestTargetCostOfDashboard -v -timeout 30m ./ui/
func TestTargetCostOfDashboard(t *testing.T) {
	needTmux(t)
	secs := 60
	if v, err := strconv.Atoi(os.Getenv("GOTUNE_COST_SECONDS")); err == nil && v > 0 {
		secs = v
	}
	target := testproc.Build(t, "./testdata/targets/manygoroutines")
	bins := map[string]string{"this gotune": testproc.Build(t, ".")}
	if b := os.Getenv("GOTUNE_BEFORE_BIN"); b != "" {
		bins["before"] = b
	}
	var table strings.Builder
	fmt.Fprintf(&table, "\n| gotune | screen | longest gap | target CPU | added CPU |\n|---|---|---|---|---|\n")
	var firsts strings.Builder
	var first string
	measure := func(name, bin, screen string) costRow {
		defer func() { firsts.WriteString(first); first = "" }()
		p := testproc.Start(t, target, nil)
		url := strings.Fields(p.FirstLine)[2]
		defer p.Kill()
		time.Sleep(2 * time.Second)
		if bin != "" {
			tm := startTmux(t, 120, 40, "exec "+bin+" attach "+url+" --interval 1s 2>/dev/null")
			tm.waitText(60*time.Second, "Heap")
			defer tm.send("q")
			if screen == "goroutines" {
				// The first read is the key press's: measured apart, then
				// the screen's own refreshes for the window.
				heartbeat(t, url, true)
				_, c0, _ := heartbeat(t, url, false)
				tm.send("4")
				tm.waitText(120*time.Second, "goroutines in")
				gap, c1, _ := heartbeat(t, url, false)
				first = fmt.Sprintf("%s: the first read (key 4) cost the target %.2f s of CPU, longest gap %.1f ms\n", name, c1-c0, gap*1000)
			}
		}
		heartbeat(t, url, true)
		_, c0, _ := heartbeat(t, url, false)
		time.Sleep(time.Duration(secs) * time.Second)
		gap, c1, el := heartbeat(t, url, false)
		return costRow{name, screen, gap, (c1 - c0) / el}
	}
	rows := []costRow{measure("none attached", "", "-")}
	for _, name := range []string{"before", "this gotune"} {
		if bin, ok := bins[name]; ok {
			for _, screen := range []string{"overview", "goroutines"} {
				rows = append(rows, measure(name, bin, screen))
			}
		}
	}
	for _, r := range rows {
		fmt.Fprintf(&table, "| %s | %s | %.1f ms | %.2f%% of a core | %+.2f%% |\n", r.name, r.screen, r.gap*1000, r.cpu*100, (r.cpu-rows[0].cpu)*100)
	}
	t.Log(table.String() + "\nGoroutines screen rows start after its first read:\n" + firsts.String())
}

// costRow is one measurement of TestTargetCostOfDashboard.
type costRow struct {
	name, screen string
	gap, cpu     float64
}
