package ui_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/internal/testproc"
)

// TestTraceEndToEnd drives the real binary against the real demo in tmux:
// the Trace screen captures a 2 s execution trace from /debug/pprof/trace
// (progress in the tab line), lists its pauses, drills into the worst one
// and into a blocking reason, says why the flight recorder cannot be read
// (the demo does not enable it) and keeps running.
func TestTraceEndToEnd(t *testing.T) {
	needTmux(t)
	bin := testproc.Build(t, ".")
	demo := testproc.Start(t, bin, nil, "demo", "--serve", "127.0.0.1:0")
	tm := startTmux(t, 120, 40, bin+" attach "+demo.FirstLine+" 2>/dev/null; echo gotune exited $?; exec sleep 600")
	const d = 20 * time.Second
	tm.waitText(d, "Heap", "metrics via agent", "ok")

	tm.send("6")
	tm.waitText(d, "6 Trace", "press c to capture 5 s of /debug/pprof/trace", "flight recorder holds (when the program enabled it)")
	tm.send("-", "-")
	tm.waitText(d, "c trace 2s (+/-)")
	tm.send("c")
	tm.waitFor(d, "the capture's progress in the tab line", func(s string) bool {
		return strings.Contains(lineWith(s, "6 Trace"), "tracing ") && strings.Contains(lineWith(s, "6 Trace"), "/2s")
	})
	s := tm.waitText(30*time.Second, "Trace from /debug/pprof/trace?seconds=2", "Pauses ", "MMU 1ms", "Sched latency", "Blocked, by reason")
	m := regexp.MustCompile(`Pauses (\d+), total`).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no pause count:\n%s", s)
	}
	if n, _ := strconv.Atoi(m[1]); n < 1 {
		t.Fatalf("a 2 s trace of the demo with %d pauses (the tracer's own start is one):\n%s", n, s)
	}
	if !strings.Contains(lineWith(s, "▸"), "ms") && !strings.Contains(lineWith(s, "▸"), "µs") {
		t.Errorf("the cursor is not on a pause row:\n%s", s)
	}

	// Enter drills into the worst pause: who stopped the world, where.
	tm.send("Enter")
	s = tm.waitText(d, "Pause 1 of ", "Stopped by G", "esc back")
	if !regexp.MustCompile(`\.go:\d+`).MatchString(s) {
		t.Errorf("the pause's stacks show no file:line:\n%s", s)
	}
	tm.send("Escape")
	tm.waitText(d, "Pauses ", "Blocked, by reason")

	// The last row is a blocking reason: its stacks.
	tm.send("G")
	tm.send("Enter")
	s = tm.waitText(d, "Blocked: ", "stack(s)", "esc back")
	if !regexp.MustCompile(`\.go:\d+`).MatchString(s) && !strings.Contains(s, "no stack kept") {
		t.Errorf("the reason's stacks:\n%s", s)
	}
	tm.send("Escape")
	// Wait: an Escape followed at once by a key reads as Alt+key.
	tm.waitText(d, "Pauses ", "Blocked, by reason")

	// The demo does not enable the flight recorder: f says so, clearly,
	// and the dashboard goes on.
	tm.send("f")
	tm.waitText(d, "flight recorder snapshot", "did not enable the flight recorder")
	tm.send("1")
	tm.waitText(d, "Heap", "window 1m")
	tm.send("6")
	tm.waitText(d, "Trace from /debug/pprof/trace?seconds=2")

	tm.send("q")
	tm.waitText(d, "gotune exited 0")
}

// TestTraceFlightRecorderEndToEnd: a program with the agent's flight
// recorder on and no net/http/pprof. f reads what the recorder holds and
// Enter drills into it; c, which needs /debug/pprof/trace, says the target
// does not serve it, and the dashboard keeps running.
func TestTraceFlightRecorderEndToEnd(t *testing.T) {
	needTmux(t)
	bin := testproc.Build(t, ".")
	agentBin := testproc.Build(t, testproc.Target(testproc.GotuneAgent))
	target := testproc.StartWith(t, agentBin, testproc.Options{WaitReady: true}, "-flight", "-flight-min-age", "2s", "-churn", "20")
	tm := startTmux(t, 120, 40, bin+" attach http://"+target.Addr()+" 2>/dev/null; echo gotune exited $?; exec sleep 600")
	const d = 20 * time.Second
	tm.waitText(d, "metrics via agent", "ok")
	time.Sleep(time.Second) // let the recorder hold a few GC cycles of the churn
	tm.send("6")
	tm.waitText(d, "f flight recorder")
	tm.send("f")
	s := tm.waitText(30*time.Second, "Trace from the agent's flight recorder", "Pauses ", "Blocked, by reason")
	if !strings.Contains(s, "GC ") {
		t.Errorf("a flight-recorder snapshot of a churning program shows no GC:\n%s", s)
	}
	tm.send("Enter")
	tm.waitText(d, "Pause 1 of ", "Stopped by G", "esc back")
	tm.send("Escape")
	tm.waitText(d, "Pauses ")
	tm.send("c")
	tm.waitText(d, "404 from /debug/pprof/trace", "register net/http/pprof")
	tm.send("1")
	tm.waitText(d, "Heap")
	tm.send("q")
	tm.waitText(d, "gotune exited 0")
}
