package ui_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/collectors"
	"github.com/gotune/gotune/internal/testproc"
	"github.com/gotune/gotune/session"
)

// demoGOGC is the GOGC writableDemo starts the demo with.
const demoGOGC = 20

// writableDemo runs the demo with the agent's writes on, at GOGC=20 so
// the GC costs well over the advisor's 10 % target and the gc-cpu-high
// finding (a GOGC action) shows with room to spare. At GOGC=50 (about 8 GC
// cycles a second) it measured 7.6 % once, beside a second copy of the
// suite, and no finding came; GOGC=20 runs about 2.5 times as many cycles.
// It returns the demo with a reader of its live GOGC.
func writableDemo(t *testing.T, bin string) (*testproc.Proc, func() float64) {
	t.Helper()
	demo := testproc.Start(t, bin, []string{"GOGC=" + strconv.Itoa(demoGOGC)}, "demo", "--serve", "127.0.0.1:0", "--writes", "--leak-every", "0", "--mutex-workers", "0")
	src := collectors.NewAgentSource(demo.FirstLine, collectors.HTTPSourceOptions{})
	return demo, func() float64 {
		s, err := src.Read(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return s.Values[session.GOGC]
	}
}

// applyHead is the confirmation of a finding's GOGC action (gc-cpu-high
// or gc-assist-high, whichever the advisor ranks first).
var applyHead = regexp.MustCompile(`Apply GOGC=(\d+) live\?\s+\(finding (gc-[a-z-]+)\)`)

// openFinding attaches to the demo, waits for the gc-cpu-high finding on
// the Advice screen (or gc-assist-high: both have a GOGC action) and opens
// its confirmation; it returns the GOGC the
// finding proposes.
func openFinding(t *testing.T, tm *tmuxTerm) int {
	t.Helper()
	tm.waitText(20*time.Second, "metrics via agent", "ok")
	tm.send("5")
	tm.waitText(90*time.Second, "a: apply a finding's setting live") // gc-cpu-high or gc-assist-high
	tm.send("a")
	s := tm.waitText(20*time.Second, "via      gotune agent", "enter apply")
	m := applyHead.FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no confirmation for the finding:\n%s", s)
	}
	if !strings.Contains(s, "PREDICTED") || !strings.Contains(s, "GC CPU") || !strings.Contains(s, "30s lease") {
		t.Fatalf("the confirmation lacks the prediction or the lease:\n%s", s)
	}
	t.Logf("finding %s proposes GOGC=%s", m[2], m[1])
	g, _ := strconv.Atoi(m[1])
	return g
}

// TestApplyKeptEndToEnd: from the finding to kept, in a real terminal
// against the real demo with writes on; the kept value outlives gotune.
func TestApplyKeptEndToEnd(t *testing.T) {
	needTmux(t)
	bin := testproc.Build(t, ".")
	demo, gogc := writableDemo(t, bin)
	tm := startTmux(t, 120, 40, bin+" attach "+demo.FirstLine+" 2>/dev/null; echo gotune exited $?; exec sleep 600")
	g := openFinding(t, tm)
	tm.send("Enter")
	tm.waitFor(20*time.Second, "the countdown", func(s string) bool {
		return strings.Contains(s, "settling:") || strings.Contains(s, "verifying:")
	})
	if got := gogc(); got != float64(g) {
		t.Fatalf("GOGC %v while verifying, want %d", got, g)
	}
	s := tm.waitText(90*time.Second, "verdict", "MEASURED", "k keep it")
	t.Logf("result:\n%s", s)
	tm.send("k")
	s = tm.waitText(20*time.Second, "applied changes", "applied GOGC="+strconv.Itoa(g), ", kept")
	if got := gogc(); got != float64(g) {
		t.Fatalf("GOGC %v after k, want %d", got, g)
	}
	tm.send("q")
	tm.waitText(20*time.Second, "gotune exited 0")
	if got := gogc(); got != float64(g) {
		t.Fatalf("GOGC %v after quitting, want the kept %d", got, g)
	}
}

// TestApplyRevertedEndToEnd: from the finding to reverted with r; then a
// second change that quitting reverts while it is being verified.
func TestApplyRevertedEndToEnd(t *testing.T) {
	needTmux(t)
	bin := testproc.Build(t, ".")
	demo, gogc := writableDemo(t, bin)
	tm := startTmux(t, 120, 40, bin+" attach "+demo.FirstLine+" 2>/dev/null; echo gotune exited $?; exec sleep 600")
	g := openFinding(t, tm)
	tm.send("Enter")
	tm.waitText(90*time.Second, "verdict", "r revert")
	if got := gogc(); got != float64(g) {
		t.Fatalf("GOGC %v in the result, want %d", got, g)
	}
	tm.send("r")
	tm.waitText(20*time.Second, "applied changes", ", reverted")
	if got := gogc(); got != demoGOGC {
		t.Fatalf("GOGC %v after r, want %d back", got, demoGOGC)
	}
	// Again, and quit while verifying: gotune reverts before it exits.
	tm.send("a")
	s := tm.waitFor(20*time.Second, "a confirmation or the typed setting", func(s string) bool {
		return strings.Contains(s, "enter apply") || strings.Contains(s, "Try a setting live")
	})
	if strings.Contains(s, "Try a setting live") {
		// The report over the window since attach (demoGOGC, then g,
		// then demoGOGC) may no longer hold the finding: type the setting.
		tm.typeText("300")
		tm.send("Enter")
		tm.waitText(20*time.Second, "enter apply")
	}
	tm.send("Enter")
	tm.waitText(20*time.Second, "r revert now")
	if got := gogc(); got == demoGOGC {
		t.Fatal("the second change was not applied")
	}
	tm.send("q")
	tm.waitText(20*time.Second, "gotune exited 0")
	if got := gogc(); got != demoGOGC {
		t.Fatalf("GOGC %v after quitting mid-verification, want %d back", got, demoGOGC)
	}
}
