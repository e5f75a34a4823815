package discover_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/collectors/discover"
	"github.com/gotune/gotune/internal/testproc"
)

// targets are one of each kind of process `gotune ps` must tell apart.
type targets struct {
	pprof, agent, gops, plain, notGo *testproc.Proc
	gopsDir                          string
}

func startTargets(t *testing.T) targets {
	t.Helper()
	dir := t.TempDir()
	var ts targets
	ts.gopsDir = t.TempDir()
	ts.pprof = testproc.StartWith(t, testproc.BuildInto(t, testproc.PprofServer, dir), testproc.Options{WaitReady: true})
	ts.agent = testproc.StartWith(t, testproc.BuildInto(t, testproc.GotuneAgent, dir), testproc.Options{WaitReady: true})
	ts.gops = testproc.StartWith(t, testproc.BuildInto(t, testproc.GopsAgent, dir), testproc.Options{WaitReady: true, Env: []string{"GOPS_CONFIG_DIR=" + ts.gopsDir}})
	ts.plain = testproc.StartWith(t, testproc.BuildInto(t, testproc.PlainSleep, dir), testproc.Options{WaitReady: true})
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	ts.notGo = testproc.StartWith(t, sleep, testproc.Options{}, "60")
	return ts
}

// checkReach asserts the reachability of each target, as Scan or Resolve
// found it.
func checkReach(t *testing.T, ts targets, byPID map[int]discover.Process) {
	t.Helper()
	get := func(name string, p *testproc.Proc) discover.Process {
		t.Helper()
		row, ok := byPID[p.PID]
		if !ok {
			t.Fatalf("%s (PID %d) not listed", name, p.PID)
		}
		if row.GoVersion != runtime.Version() || row.Build == nil || row.Partial {
			t.Errorf("%s: go %q, build %+v, partial %v %v; want %s, readable", name, row.GoVersion, row.Build, row.Partial, row.Reasons, runtime.Version())
		}
		if row.RSSBytes == 0 || row.Threads == 0 || row.StartTime.IsZero() || row.User == "" {
			t.Errorf("%s: OS figures missing: %+v", name, row)
		}
		return row
	}

	r := get("pprof target", ts.pprof).Reach
	base := "http://" + ts.pprof.Addr()
	if r.PprofURL != base+"/debug/pprof/" || r.AgentURL != "" || r.GopsAddr != "" || r.OSOnly || r.BaseURL != base || r.Metrics() != "os" {
		t.Errorf("pprof target reach = %+v", r)
	}
	if !slices.Contains(r.Listening, ts.pprof.Addr()) {
		t.Errorf("pprof target listening = %v, want %s", r.Listening, ts.pprof.Addr())
	}

	r = get("agent target", ts.agent).Reach
	base = "http://" + ts.agent.Addr()
	if r.AgentURL != base+"/debug/gotune/metrics" || r.PprofURL != "" || r.GopsAddr != "" || r.OSOnly || r.Metrics() != "agent" || r.BaseURL != base {
		t.Errorf("agent target reach = %+v", r)
	}

	r = get("gops target", ts.gops).Reach
	if r.GopsAddr != "127.0.0.1:"+ts.gops.Addr() || r.GopsPortFile != filepath.Join(ts.gopsDir, strconv.Itoa(ts.gops.PID)) || r.BaseURL != "" || r.OSOnly || r.Metrics() != "gops" {
		t.Errorf("gops target reach = %+v", r)
	}

	r = get("plain target", ts.plain).Reach
	if !r.OSOnly || r.Hint != discover.EnableHint || r.BaseURL != "" || r.GopsAddr != "" || len(r.Listening) != 0 || r.String() != "OS only" {
		t.Errorf("plain target reach = %+v", r)
	}
}

func TestScanRealProcesses(t *testing.T) {
	ts := startTargets(t)
	start := time.Now()
	procs, err := discover.Scan(context.Background(), discover.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Scan listed %d Go processes in %v", len(procs), time.Since(start))
	byPID := map[int]discover.Process{}
	for _, p := range procs {
		byPID[p.PID] = p
	}
	checkReach(t, ts, byPID)
	if _, ok := byPID[ts.notGo.PID]; ok {
		t.Errorf("sleep(1) (PID %d) is listed: %+v", ts.notGo.PID, byPID[ts.notGo.PID])
	}
	if _, ok := byPID[os.Getpid()]; ok {
		t.Errorf("Scan lists itself")
	}
	for _, p := range []*testproc.Proc{ts.pprof, ts.plain} {
		row := byPID[p.PID]
		if row.CPUPercent == nil || *row.CPUPercent < 0 || *row.CPUPercent > 100*float64(runtime.NumCPU()) {
			t.Errorf("PID %d CPU %% = %v", p.PID, row.CPUPercent)
		}
	}
	if !slices.IsSortedFunc(procs, func(a, b discover.Process) int { return a.PID - b.PID }) {
		t.Error("not sorted by PID")
	}
}

func TestResolveRealProcesses(t *testing.T) {
	ts := startTargets(t)
	ctx := context.Background()
	byPID := map[int]discover.Process{}
	for _, p := range []*testproc.Proc{ts.pprof, ts.agent, ts.gops, ts.plain} {
		row, err := discover.Resolve(ctx, p.PID, discover.Overrides{}, discover.Options{})
		if err != nil {
			t.Fatal(err)
		}
		byPID[p.PID] = row
	}
	checkReach(t, ts, byPID)
	if env := byPID[ts.gops.PID].Env(); env["GOPS_CONFIG_DIR"] != ts.gopsDir {
		t.Errorf("gops target GO* env = %v", env)
	}
	for k := range byPID[ts.gops.PID].Env() {
		if !strings.HasPrefix(k, "GO") {
			t.Errorf("Env holds %q, which is not a GO* variable", k)
		}
	}

	_, err := discover.Resolve(ctx, ts.notGo.PID, discover.Overrides{}, discover.Options{})
	if !errors.Is(err, discover.ErrNotGo) {
		t.Errorf("Resolve(sleep) = %v, want ErrNotGo", err)
	}

	// --url and --gops-port replace detection: the plain binary, told to
	// use the pprof target's server and the gops target's agent, takes them.
	row, err := discover.Resolve(ctx, ts.plain.PID, discover.Overrides{URL: "http://" + ts.pprof.Addr() + "/", GopsPort: mustAtoi(t, ts.gops.Addr())}, discover.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r := row.Reach; r.PprofURL != "http://"+ts.pprof.Addr()+"/debug/pprof/" || r.GopsAddr != "127.0.0.1:"+ts.gops.Addr() || r.OSOnly {
		t.Errorf("with overrides: %+v", r)
	}
	if _, err := discover.Resolve(ctx, ts.plain.PID, discover.Overrides{URL: "http://" + ts.agent.Addr() + "/nothing-here"}, discover.Options{}); err == nil {
		t.Error("--url where nothing answers: no error")
	}
}

// A gops port file left by an earlier process with the same PID (older than
// the process) or naming a port the process does not listen on is ignored.
func TestStaleGopsPortFileIgnored(t *testing.T) {
	bin := testproc.BuildInto(t, testproc.PlainSleep, "")
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		age   time.Duration
		port  string
		wantR string
	}{
		{"older than the process", time.Hour, "1", ""},
		{"port not listened on", 0, "1", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := testproc.StartWith(t, bin, testproc.Options{WaitReady: true, Env: []string{"GOPS_CONFIG_DIR=" + dir}})
			path := filepath.Join(dir, strconv.Itoa(p.PID))
			if err := os.WriteFile(path, []byte(tc.port), 0o644); err != nil {
				t.Fatal(err)
			}
			mt := time.Now().Add(-tc.age)
			if err := os.Chtimes(path, mt, mt); err != nil {
				t.Fatal(err)
			}
			row, err := discover.Resolve(ctx, p.PID, discover.Overrides{}, discover.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if row.Reach.GopsAddr != "" || !row.Reach.OSOnly {
				t.Errorf("stale port file used: %+v", row.Reach)
			}
		})
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
