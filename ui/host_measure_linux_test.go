//go:build experiment

package ui_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/internal/testproc"
)

// TestHostOverviewCost measures what the host overview costs on a box
// with 100 Go processes — 90 reachable through the OS only (the
// plainsleep target, as collectors/discover's scan benchmarks start) and
// 10 serving the gotune agent and pprof (the episodes target, one
// runtime-metrics request each per refresh) — in the real binary in tmux:
// gotune's own CPU from /proc over GOTUNE_HOST_SECONDS (default 60), the
// refreshes in that time, and the wall time per refresh that the status
// line shows (the overview's own measure of Refresh). A measurement, so an
// explicit command:
//
//	go test -tags experiment -run TestHostOverviewCost -v -timeout 20m ./ui/
func TestHostOverviewCost(t *testing.T) {
	needTmux(t)
	secs := 60
	if v, err := strconv.Atoi(os.Getenv("GOTUNE_HOST_SECONDS")); err == nil && v > 0 {
		secs = v
	}
	bin := testproc.Build(t, ".")
	sleepers := testproc.StartMany(t, testproc.BuildInto(t, testproc.PlainSleep, ""), 90, testproc.Options{})
	agents := testproc.StartMany(t, testproc.Build(t, testproc.Target("episodes")), 10, testproc.Options{})
	t.Logf("started %d OS-only and %d agent targets", len(sleepers), len(agents))

	tm := startTmux(t, 200, 60, "exec "+bin+" 2>/dev/null")
	count := regexp.MustCompile(`(\d+) Go processes · refresh (\S+) every`)
	s := tm.waitFor(60*time.Second, "100 targets listed", func(s string) bool {
		m := count.FindStringSubmatch(s)
		n, _ := strconv.Atoi(m2(m, 1))
		return n >= 100
	})
	pid, err := strconv.Atoi(tm.display("#{pane_pid}"))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Second) // past the first scan and probes
	c0, w0 := cpuTicks(t, pid), time.Now()
	var refresh []float64 // ms, as the status line shows them
	seenAt := ""
	at := regexp.MustCompile(`at (\d\d:\d\d:\d\d)`)
	for time.Since(w0) < time.Duration(secs)*time.Second {
		time.Sleep(250 * time.Millisecond)
		s = tm.screen()
		m := count.FindStringSubmatch(s)
		a := at.FindStringSubmatch(lineWith(s, "Go processes · refresh"))
		if m == nil || a == nil || a[1] == seenAt {
			continue
		}
		seenAt = a[1]
		if ms, ok := millis(m[2]); ok {
			refresh = append(refresh, ms)
		}
	}
	c1, w1 := cpuTicks(t, pid), time.Now()
	wall := w1.Sub(w0).Seconds()
	cpu := c1 - c0
	n, _ := strconv.Atoi(m2(count.FindStringSubmatch(s), 1))
	slices.Sort(refresh)
	if len(refresh) == 0 {
		t.Fatalf("no refresh read from the status line:\n%s", s)
	}
	t.Logf("host overview, %d Go processes on the box (%d started here), 2 s refresh, %.0f s:", n, len(sleepers)+len(agents), wall)
	t.Logf("  gotune CPU: %.2f s = %.2f%% of one core; %.1f ms of CPU per refresh over %d refreshes seen",
		cpu, 100*cpu/wall, 1000*cpu/float64(len(refresh)), len(refresh))
	t.Logf("  refresh wall time (status line): min %.1f ms, median %.1f ms, max %.1f ms",
		refresh[0], refresh[len(refresh)/2], refresh[len(refresh)-1])
	fmt.Fprintf(os.Stderr, "| %d | %.0f s | %.2f%% | %.1f ms | %.1f / %.1f / %.1f ms |\n", n, wall, 100*cpu/wall,
		1000*cpu/float64(len(refresh)), refresh[0], refresh[len(refresh)/2], refresh[len(refresh)-1])
	tm.send("q")

	// The same refresh headless (gotune ps --watch --json), without the
	// terminal's rendering: its CPU over the same time, and the refresh
	// times it reports.
	cmd := exec.Command(bin, "ps", "--watch", "--json", "--interval", "2s")
	stdout, err := cmd.StdoutPipe()
	testproc.Must(t, err, "pipe")
	testproc.Must(t, cmd.Start(), "start ps --watch")
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	var took []float64
	dec := json.NewDecoder(stdout)
	var c2 float64
	var w2 time.Time
	for {
		var v struct {
			Took float64 `json:"refresh_ms"`
			Rows []any   `json:"rows"`
		}
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("ps --watch --json: %v", err)
		}
		switch {
		case w2.IsZero() && len(took) == 0:
			took = append(took, -1) // the first refresh (full scan with probes) is not counted
		case w2.IsZero():
			c2, w2 = cpuTicks(t, cmd.Process.Pid), time.Now()
			took = took[:0]
		default:
			took = append(took, v.Took)
		}
		if !w2.IsZero() && time.Since(w2) >= time.Duration(secs)*time.Second {
			break
		}
	}
	c3, w3 := cpuTicks(t, cmd.Process.Pid), time.Now()
	slices.Sort(took)
	wall = w3.Sub(w2).Seconds()
	t.Logf("ps --watch --json, same box, %.0f s: gotune CPU %.2f s = %.2f%% of one core; %.1f ms of CPU per refresh over %d refreshes; refresh wall time min %.1f, median %.1f, max %.1f ms",
		wall, c3-c2, 100*(c3-c2)/wall, 1000*(c3-c2)/float64(len(took)), len(took), took[0], took[len(took)/2], took[len(took)-1])
}

func m2(m []string, i int) string {
	if len(m) <= i {
		return ""
	}
	return m[i]
}

// millis reads measurement.Seconds output ("38.2ms", "850µs", "1.20s").
func millis(s string) (float64, bool) {
	for _, u := range []struct {
		suffix string
		ms     float64
	}{{"ms", 1}, {"µs", 1e-3}, {"ns", 1e-6}, {"s", 1000}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f * u.ms, err == nil
		}
	}
	return 0, false
}
