package ui_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/internal/testproc"
)

// TestHostOverviewEndToEnd drives the real binary in tmux against two
// real targets: the host overview lists both with their figures, sorts
// and filters, Enter attaches, 0 returns to the overview with the session
// kept (the dashboard still on the screen it was left on), a second
// dashboard opens beside it, x closes a session, q quits.
func TestHostOverviewEndToEnd(t *testing.T) {
	needTmux(t)
	bin := testproc.Build(t, ".")
	target := testproc.Build(t, testproc.Target("episodes"))
	a := testproc.StartWith(t, target, testproc.Options{WaitReady: true})
	b := testproc.StartWith(t, target, testproc.Options{WaitReady: true}, "-leak-rate", "30")
	pa, pb := strconv.Itoa(a.PID), strconv.Itoa(b.PID)
	tm := startTmux(t, 200, 50, bin+" 2>/dev/null; echo gotune exited $?; exec sleep 600")
	const d = 30 * time.Second

	// Both listed, with the agent's figures (heap goal, goroutines; the
	// live heap reads 0 B until the idle target's first GC).
	row := func(s, pid string) string {
		for _, l := range strings.Split(s, "\n") {
			if strings.HasPrefix(l, pid+" ") || strings.HasPrefix(l, pid+"●") || strings.HasPrefix(l, pid+"×") {
				return l
			}
		}
		return ""
	}
	figures := regexp.MustCompile(`\d+(\.\d)?MiB\s+-\s+\S+\s+\S+\s+\d+\s`)
	tm.waitFor(d, "both targets with figures", func(s string) bool {
		return strings.Contains(row(s, pa), "agent+pprof") && figures.MatchString(row(s, pa)) && figures.MatchString(row(s, pb))
	})
	s := tm.waitText(d, "Go processes · refresh")
	if m := regexp.MustCompile(`refresh (\S+) every 2s`).FindStringSubmatch(s); m == nil {
		t.Errorf("the status line does not give the refresh's cost:\n%s", s)
	} else {
		t.Logf("refresh: %s", m[1])
	}
	tm.send("s")
	tm.waitText(d, "sort rss", "RSS▼")

	// Filter to a, attach, leave the dashboard on Goroutines.
	tm.send("/")
	tm.typeText(pa)
	tm.waitFor(d, "only a", func(s string) bool { return row(s, pa) != "" && row(s, pb) == "" })
	tm.send("Enter")
	tm.waitText(d, "1 Overview", "metrics via agent", "0 processes")
	tm.send("4")
	tm.waitText(d, "goroutines in")
	tm.send("0")
	s = tm.waitText(d, "every Go process", "1 attached")
	if !strings.Contains(row(s, pa), pa+"●") {
		t.Errorf("a's row is not marked attached:\n%s", s)
	}

	// Clear the filter, open b beside it.
	tm.send("/")
	tm.send("C-u")
	tm.typeText(pb)
	tm.waitFor(d, "only b", func(s string) bool { return row(s, pb) != "" && row(s, pa) == "" })
	tm.send("Enter")
	tm.waitText(d, "1 Overview", "pid "+pb, "0 processes")
	tm.send("0")
	tm.waitText(d, "2 attached")

	// Back into a: the same session, still on Goroutines.
	tm.send("/")
	tm.send("C-u")
	tm.typeText(pa)
	tm.waitFor(d, "only a", func(s string) bool { return row(s, pa) != "" && row(s, pb) == "" })
	tm.send("Enter")
	tm.waitText(d, "goroutines in", "pid "+pa)

	// x closes a's session; b stays.
	tm.send("0")
	tm.waitText(d, "2 attached")
	tm.send("x")
	tm.waitText(d, "pid "+pa+": session closed")
	tm.send("r")
	s = tm.waitText(d, "1 attached")
	if strings.Contains(row(s, pa), pa+"●") {
		t.Errorf("a is still marked attached:\n%s", s)
	}
	tm.send("q")
	tm.waitText(d, "gotune exited 0")
}
