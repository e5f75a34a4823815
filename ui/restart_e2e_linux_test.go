package ui_test

import (
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/internal/testproc"
)

// startPprofOn starts the pprof-only target on addr once the port is free
// again (the kernel frees a killed process's port asynchronously).
func startPprofOn(t *testing.T, addr string) *testproc.Proc {
	t.Helper()
	deadline := time.Now().Add(testproc.MinWait)
	for {
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			ln.Close()
			return testproc.StartWith(t, testproc.BuildInto(t, testproc.PprofServer, ""), testproc.Options{WaitReady: true}, addr)
		}
		if time.Now().After(deadline) {
			t.Fatalf("port %s never became free: %v", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The dashboard attached by URL while the target restarts on its port:
// the header names the new process (its PID), the status line says the
// restart with both PIDs, and the overview's charts mark it. A real
// process, killed and started again on the same port.
func TestRestartEndToEnd(t *testing.T) {
	needTmux(t)
	bin := testproc.Build(t, ".")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p1 := startPprofOn(t, addr)
	tm := startTmux(t, 120, 40, bin+" attach http://"+addr+" --interval 250ms 2>/dev/null; echo gotune exited $?; exec sleep 600")
	const d = 60 * time.Second
	pidRe := func(pid int) *regexp.Regexp { return regexp.MustCompile(`pid ` + strconv.Itoa(pid) + `\b`) }
	header := func(s string) string { l, _, _ := strings.Cut(s, "\n"); return l }
	s := tm.waitFor(d, "the header naming pid "+strconv.Itoa(p1.PID), func(s string) bool {
		return pidRe(p1.PID).MatchString(header(s)) && strings.Contains(s, "metrics via pprof")
	})
	if strings.Contains(s, "┊") || strings.Contains(s, "restarted") {
		t.Fatalf("a restart shown before any:\n%s", s)
	}
	p1.Kill()
	p2 := startPprofOn(t, addr)
	marker := "(PID " + strconv.Itoa(p1.PID) + " → " + strconv.Itoa(p2.PID) + ")"
	s = tm.waitFor(d, "the restart to pid "+strconv.Itoa(p2.PID), func(s string) bool {
		return strings.Contains(s, "target restarted at") && strings.Contains(s, marker) && pidRe(p2.PID).MatchString(header(s))
	})
	if pidRe(p1.PID).MatchString(header(s)) {
		t.Errorf("the header still names the old process:\n%s", s)
	}
	if n := strings.Count(s, "┊"); n < 9 {
		t.Errorf("%d restart mark cells on the overview, want one per chart at least:\n%s", n, s)
	}
	tm.send("q")
	tm.waitText(20*time.Second, "gotune exited 0")
}
