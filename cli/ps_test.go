//go:build unix

package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/collectors/discover"
	"github.com/gotune/gotune/internal/testproc"
)

// TestPsRealProcesses starts one process of each kind and runs `gotune ps`
// and `gotune ps --json`: exactly the Go ones appear, each reached the
// right way, and sleep(1) does not.
func TestPsRealProcesses(t *testing.T) {
	dir := t.TempDir()
	start := func(name string, env ...string) *testproc.Proc {
		return testproc.StartWith(t, testproc.BuildInto(t, name, dir), testproc.Options{WaitReady: true, Env: env})
	}
	pprofT := start(testproc.PprofServer)
	agentT := start(testproc.GotuneAgent)
	gopsT := start(testproc.GopsAgent, "GOPS_CONFIG_DIR="+t.TempDir())
	plainT := start(testproc.PlainSleep)
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	notGo := testproc.StartWith(t, sleep, testproc.Options{}, "60")

	want := map[int]struct{ reach, metrics string }{
		pprofT.PID: {"pprof " + pprofT.Addr(), "os"},
		agentT.PID: {"agent " + agentT.Addr(), "agent"},
		gopsT.PID:  {"gops 127.0.0.1:" + gopsT.Addr(), "gops"},
		plainT.PID: {"OS only", "os"},
	}

	t.Run("json", func(t *testing.T) {
		var out, errb bytes.Buffer
		if err := Run(context.Background(), []string{"ps", "--json"}, &out, &errb); err != nil {
			t.Fatalf("ps --json: %v\n%s", err, errb.String())
		}
		var rows []discover.Process
		if err := json.Unmarshal(out.Bytes(), &rows); err != nil {
			t.Fatalf("ps --json output is not a JSON array: %v\n%s", err, out.String())
		}
		// Also as plain objects: the field names are the format.
		var raw []map[string]any
		if err := json.Unmarshal(out.Bytes(), &raw); err != nil {
			t.Fatal(err)
		}
		seen := map[int]bool{}
		for i, r := range rows {
			if r.PID == notGo.PID {
				t.Errorf("sleep(1) listed: %+v", r)
			}
			w, ok := want[r.PID]
			if !ok {
				continue // other Go processes on the box
			}
			seen[r.PID] = true
			if r.Reach.String() != w.reach || r.Reach.Metrics() != w.metrics || r.GoVersion != runtime.Version() || r.Partial {
				t.Errorf("PID %d: reach %q (metrics %s), go %s, partial %v; want %q (metrics %s)", r.PID, r.Reach, r.Reach.Metrics(), r.GoVersion, r.Partial, w.reach, w.metrics)
			}
			for _, k := range []string{"pid", "user", "command", "go_version", "start_time", "rss_bytes", "threads", "reach", "cpu_percent", "uptime_seconds"} {
				if _, ok := raw[i][k]; !ok && !(k == "uptime_seconds" && r.UptimeSeconds == 0) {
					t.Errorf("PID %d: JSON lacks %q: %v", r.PID, k, raw[i])
				}
			}
		}
		if len(seen) != len(want) {
			t.Errorf("listed %d of the %d Go targets:\n%s", len(seen), len(want), out.String())
		}
		if hint := rows[indexOf(rows, plainT.PID)].Reach.Hint; !strings.Contains(hint, `import _ "net/http/pprof"`) || !strings.Contains(hint, `import _ "github.com/gotune/gotune/agent"`) || !strings.Contains(hint, `http.ListenAndServe("localhost:6060", nil)`) {
			t.Errorf("OS-only hint = %q", hint)
		}
	})

	t.Run("table", func(t *testing.T) {
		var out, errb bytes.Buffer
		start := time.Now()
		if err := Run(context.Background(), []string{"ps"}, &out, &errb); err != nil {
			t.Fatalf("ps: %v\n%s", err, errb.String())
		}
		t.Logf("gotune ps took %v", time.Since(start))
		lines := strings.Split(out.String(), "\n")
		header := lines[0]
		for _, col := range []string{"PID", "USER", "GO", "UPTIME", "CPU%", "RSS", "THR", "REACH", "COMMAND"} {
			if !strings.Contains(header, col) {
				t.Fatalf("header %q lacks %s", header, col)
			}
		}
		reachCol := strings.Index(header, "REACH")
		cmdCol := strings.Index(header, "COMMAND")
		for pid, w := range want {
			line := lineOf(lines, pid)
			if line == "" {
				t.Errorf("PID %d not in the table:\n%s", pid, out.String())
				continue
			}
			if got := strings.TrimSpace(line[reachCol:cmdCol]); got != w.reach {
				t.Errorf("PID %d REACH column = %q, want %q (columns misaligned?)\n%s", pid, got, w.reach, out.String())
			}
			if !strings.Contains(line, strings.TrimPrefix(runtime.Version(), "go")) {
				t.Errorf("PID %d line lacks the Go version: %q", pid, line)
			}
		}
		if lineOf(lines, notGo.PID) != "" {
			t.Errorf("sleep(1) in the table:\n%s", out.String())
		}
		if !strings.Contains(out.String(), "OS only: no profiles: add import _ \"net/http/pprof\"") {
			t.Errorf("no OS-only hint:\n%s", out.String())
		}
	})
}

func indexOf(rows []discover.Process, pid int) int {
	for i, r := range rows {
		if r.PID == pid {
			return i
		}
	}
	return -1
}

func lineOf(lines []string, pid int) string {
	p := strconv.Itoa(pid)
	for _, l := range lines {
		if f := strings.Fields(l); len(f) > 0 && f[0] == p {
			return l
		}
	}
	return ""
}

// The table of partial rows (as a non-root user sees other users'
// processes): Go rows keep what was read and get a footnote with the
// reason; processes that could not be checked at all are listed apart.
func TestPsTablePartialRows(t *testing.T) {
	cpu := 12.5
	procs := []discover.Process{
		{PID: 10, User: "alice", Command: "/srv/api --port 8080", GoVersion: "go1.26.1", StartTime: time.Unix(1, 0), UptimeSeconds: 93784,
			CPUPercent: &cpu, RSSBytes: 150 << 20, Threads: 12,
			Reach: discover.Reach{BaseURL: "http://127.0.0.1:8080", PprofURL: "http://127.0.0.1:8080/debug/pprof/", AgentURL: "http://127.0.0.1:8080/debug/gotune/metrics"}},
		{PID: 20, User: "root", Command: "/usr/bin/dockerd", GoVersion: "go1.24.3", StartTime: time.Unix(1, 0), UptimeSeconds: 59, RSSBytes: 80 << 20, Threads: 30,
			Partial: true, Reasons: []string{"environment: permission denied (run gotune as root)"},
			Reach: discover.Reach{Unknown: "its sockets: permission denied (run gotune as root)"}},
		{PID: 30, User: "root", Command: "/opt/x", Partial: true, RSSBytes: 4 << 20, Threads: 3,
			Reasons: []string{"cannot tell whether it is a Go program: /proc/30/exe: permission denied (run gotune as root)"}},
		{PID: 40, User: "bob", Command: "./worker", GoVersion: "go1.26.1", StartTime: time.Unix(1, 0), UptimeSeconds: 3700, RSSBytes: 10 << 20, Threads: 5,
			Reach: discover.Reach{OSOnly: true, Hint: discover.EnableHint}},
	}
	var b bytes.Buffer
	if err := writePsTable(&b, procs); err != nil {
		t.Fatal(err)
	}
	want := `PID  USER   GO      UPTIME  CPU%  RSS     THR  REACH                       COMMAND
10   alice  1.26.1  1d02h   12.5  150.0M  12   agent+pprof 127.0.0.1:8080  /srv/api --port 8080
20   root   1.24.3  59s     -     80.0M   30   unknown *                   /usr/bin/dockerd
40   bob    1.26.1  1h01m   -     10.0M   5    OS only                     ./worker

1 more process could not be checked for Go (their executables are not readable ` + readableBy() + `):
  PID  USER  RSS   THR  COMMAND
  30   root  4.0M  3    /opt/x

* 20: environment: permission denied (run gotune as root); its sockets: permission denied (run gotune as root)

OS only: ` + discover.EnableHint + "\n"
	if b.String() != want {
		t.Errorf("table =\n%s\nwant\n%s", b.String(), want)
	}

	b.Reset()
	if err := writePsTable(&b, nil); err != nil || b.String() != "no Go processes found\n" {
		t.Errorf("empty table = %q, %v", b.String(), err)
	}
	b.Reset()
	if err := writePsJSON(&b, nil); err != nil || b.String() != "[]\n" {
		t.Errorf("empty JSON = %q, %v", b.String(), err)
	}
}

func readableBy() string {
	if os.Geteuid() == 0 {
		return "even by root: non-dumpable processes, or another user namespace"
	}
	return "by this user; run gotune as root"
}
