//go:build experiment

package advisor_test

// Validation experiments: the advisor's advice applied to the real demo
// workload and measured. They run real processes for about four minutes in
// all, one at a time (the machines have 2 cores), and their figures depend
// on how busy the machine is, so they are not part of the default suite:
//
//	go test -tags experiment -run Experiment -v -timeout 20m ./advisor/
//
// Each run is recorded as a .gotune snapshot under testdata/experiments
// (the throttling runs also record cpu.stat and request latencies in
// throttling.json), the predicted-versus-measured tables are written to
// testdata/experiments/results.md, and docs/advice.md quotes them. The
// default suite (recorded_test.go) replays those recordings and checks the
// same predictions deterministically.

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/internal/testproc"
	"github.com/gotune/gotune/measurement"
	"github.com/gotune/gotune/snapshot"
)

// snapshotRun records target's window with gotune snapshot (no profiles:
// a profile would add its own cost to the GC CPU being measured) into the
// experiments directory and reads it back.
func snapshotRun(t *testing.T, bin, target, name string, window time.Duration) *snapshot.Snapshot {
	t.Helper()
	path := filepath.Join(recordings, name+".gotune")
	cmd := exec.CommandContext(t.Context(), bin, "snapshot", target, "-o", path, "--window", window.String(), "--no-profiles", "--name", name)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gotune snapshot %s: %v\n%s", target, err, out)
	}
	s, err := snapshot.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// writeResult appends a section to testdata/experiments/results.md.
func writeResult(t *testing.T, title, body string) {
	t.Helper()
	path := filepath.Join(recordings, "results.md")
	old, _ := os.ReadFile(path)
	// Replace this experiment's section; keep the other's.
	sections := strings.Split(string(old), "\n## ")
	var keep []string
	for _, sec := range sections {
		sec = strings.TrimPrefix(sec, "## ")
		if strings.TrimSpace(sec) == "" || strings.HasPrefix(sec, title) || strings.HasPrefix(sec, "# ") {
			continue
		}
		keep = append(keep, "## "+sec)
	}
	text := "# Advisor validation experiments (recorded)\n\nWritten by `go test -tags experiment -run Experiment -v ./advisor/`; see docs/advice.md.\n\n" +
		strings.Join(append(keep, "## "+title+"\n\n"+body+"\n"), "\n")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// settle lets a freshly started demo build its cache and reach its steady
// state before a window starts.
const settle = 4 * time.Second

// Experiment (a): GOGC. The demo runs at GOGC=100; the advisor fits the GC
// model on a 25 s window and predicts GC CPU, GC rate and peak heap for other
// GOGC values; the demo is rerun at each of them (the recommended one
// included) and measured over the same length of window. Every measurement
// must fall inside its predicted range. It runs once per gogcSets entry:
// the demo with the gotune agent, and the same workload behind
// client_golang's default registry only (testdata/targets/promdemo), where
// there is no GC CPU to predict, only heap goals and GC rates from an
// estimated live heap. GOTUNE_EXPERIMENT_SETS=agent (or prometheus) runs one.
func TestExperimentGOGCPrediction(t *testing.T) {
	gotune := testproc.Build(t, ".")
	targets := map[string]string{"agent": gotune, "prometheus": testproc.Build(t, "./testdata/targets/promdemo")}
	only := os.Getenv("GOTUNE_EXPERIMENT_SETS")
	demoArgs := []string{"demo", "--serve", "127.0.0.1:0", "--leak-every", "0", "--mutex-workers", "0"}
	const window = 25 * time.Second
	for _, set := range gogcSets {
		if only != "" && !slices.Contains(strings.Split(only, ","), set.Name) {
			continue
		}
		t.Run(set.Name, func(t *testing.T) {
			record := func(gogc int) *snapshot.Snapshot {
				p := testproc.Start(t, targets[set.Name], []string{"GOGC=" + strconv.Itoa(gogc)}, demoArgs...)
				defer p.Kill()
				time.Sleep(settle)
				return snapshotRun(t, gotune, p.FirstLine, set.Prefix+strconv.Itoa(gogc), window)
			}
			base := record(100)
			runs := map[int]*snapshot.Snapshot{}
			for _, g := range gogcValues(recommendedGOGC(t, base)) {
				runs[g] = record(g)
			}
			table, failed := checkGOGC(t, base, runs)
			writeResult(t, "GOGC predictions ("+set.Name+": "+set.Target+")", table)
			t.Log(table)
			if failed > 0 {
				t.Errorf("%d measurement(s) fell outside the predicted range", failed)
			}
		})
	}
}

// cgroupDir is a CPU cgroup made for one experiment.
type cgroupDir struct {
	dir     string
	version int
	parent  string // where processes go back to
}

// makeCPUCgroup creates a cgroup with a CPU quota of quota CPUs (period
// 100 ms) under the v1 cpu hierarchy or the v2 root.
func makeCPUCgroup(t *testing.T, quota float64) (*cgroupDir, error) {
	name := fmt.Sprintf("gotune-experiment-%d", os.Getpid())
	const period = 100000
	q := strconv.Itoa(int(quota * period))
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		// v2: the cpu controller must be enabled for the root's children.
		root := "/sys/fs/cgroup"
		sub, _ := os.ReadFile(filepath.Join(root, "cgroup.subtree_control"))
		if !strings.Contains(string(sub), "cpu") {
			if err := os.WriteFile(filepath.Join(root, "cgroup.subtree_control"), []byte("+cpu"), 0); err != nil {
				return nil, fmt.Errorf("enable the cpu controller: %w", err)
			}
		}
		dir := filepath.Join(root, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			return nil, err
		}
		cg := &cgroupDir{dir: dir, version: 2, parent: root}
		t.Cleanup(cg.remove)
		if err := os.WriteFile(filepath.Join(dir, "cpu.max"), []byte(q+" "+strconv.Itoa(period)), 0); err != nil {
			return nil, fmt.Errorf("write cpu.max: %w", err)
		}
		return cg, nil
	}
	for _, root := range []string{"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"} {
		if _, err := os.Stat(filepath.Join(root, "cpu.cfs_quota_us")); err != nil {
			continue
		}
		dir := filepath.Join(root, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			return nil, err
		}
		cg := &cgroupDir{dir: dir, version: 1, parent: root}
		t.Cleanup(cg.remove)
		if err := os.WriteFile(filepath.Join(dir, "cpu.cfs_period_us"), []byte(strconv.Itoa(period)), 0); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, "cpu.cfs_quota_us"), []byte(q), 0); err != nil {
			return nil, err
		}
		return cg, nil
	}
	return nil, errors.New("no cgroup v2 root and no v1 cpu hierarchy under /sys/fs/cgroup")
}

// remove moves any process left back to the parent and removes the cgroup.
func (c *cgroupDir) remove() {
	if b, err := os.ReadFile(filepath.Join(c.dir, "cgroup.procs")); err == nil {
		for _, pid := range strings.Fields(string(b)) {
			_ = os.WriteFile(filepath.Join(c.parent, "cgroup.procs"), []byte(pid), 0)
		}
	}
	for range 50 {
		if err := os.Remove(c.dir); err == nil || errors.Is(err, os.ErrNotExist) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// throttling reads cpu.stat: periods, throttled periods, throttled seconds.
func (c *cgroupDir) throttling(t *testing.T) (periods, throttled, secs float64) {
	b, err := os.ReadFile(filepath.Join(c.dir, "cpu.stat"))
	if err != nil {
		t.Fatalf("read cpu.stat: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		v, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "nr_periods":
			periods = v
		case "nr_throttled":
			throttled = v
		case "throttled_time": // v1, ns
			secs = v / 1e9
		case "throttled_usec": // v2, µs
			secs = v / 1e6
		}
	}
	return
}

// latencies GETs url every 50 ms until stop is closed and returns the round
// trip times in seconds.
func latencies(url string, stop <-chan struct{}) <-chan []float64 {
	out := make(chan []float64, 1)
	go func() {
		var ds []float64
		client := &http.Client{Timeout: 5 * time.Second}
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				out <- ds
				return
			case <-tick.C:
			}
			start := time.Now()
			resp, err := client.Get(url)
			if err != nil {
				continue
			}
			resp.Body.Close()
			ds = append(ds, time.Since(start).Seconds())
		}
	}()
	return out
}

func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[min(len(s)-1, int(math.Ceil(q*float64(len(s))))-1)]
}

// Experiment (b): GOMAXPROCS under a CPU quota. A CPU-bound demo (1.6 CPUs
// of work) runs in a cgroup limited to half a CPU on a 2-CPU machine (half,
// so that it is throttled even when other work shares the machine), so Go ≥1.25
// picks GOMAXPROCS=2 (it never goes below 2 for a quota). The advisor must report
// the throttling and suggest a GOMAXPROCS; the demo is rerun with it, and
// throttling (cpu.stat) and request latency (HTTP round trips to the demo)
// are measured before and after.
func TestExperimentCgroupThrottling(t *testing.T) {
	cg, err := makeCPUCgroup(t, 0.5)
	if err != nil {
		t.Fatalf("cannot create a CPU cgroup (run as root with cgroups writable): %v", err)
	}
	t.Logf("cgroup v%d at %s, quota 0.5 CPU per 100 ms period", cg.version, cg.dir)
	bin := testproc.Build(t, ".")
	const window = 20 * time.Second
	demo := fmt.Sprintf("echo $$ > %s/cgroup.procs && exec %s demo --serve 127.0.0.1:0 --cpu-burn 1.6 --alloc-rate 20MiB --cache 16MiB --leak-every 0 --mutex-workers 0", cg.dir, bin)

	run := func(env []string, label, name string) (throttleRun, *snapshot.Snapshot) {
		p := testproc.Start(t, "/bin/sh", env, "-c", demo)
		defer p.Kill()
		time.Sleep(settle)
		stop := make(chan struct{})
		lat := latencies(p.FirstLine+"/debug/pprof/cmdline", stop)
		p0, th0, s0 := cg.throttling(t)
		snap := snapshotRun(t, bin, strconv.Itoa(p.PID), name, window)
		p1, th1, s1 := cg.throttling(t)
		close(stop)
		ds := <-lat
		r := throttleRun{GOMAXPROCS: label, Requests: len(ds),
			P50: quantile(ds, 0.5), P99: quantile(ds, 0.99), Max: slices.Max(append(ds, 0))}
		if p1 > p0 {
			r.ThrottledFraction = (th1 - th0) / (p1 - p0)
		}
		r.ThrottledSeconds = (s1 - s0) / window.Seconds()
		return r, snap
	}

	var rec throttleRecord
	var before *snapshot.Snapshot
	rec.Before, before = run(nil, "Go default", "throttled-before")
	f, ok := throttleFinding(t, before)
	if !ok {
		t.Fatalf("no throttling finding at %s throttled periods (cpu.stat)", measurement.Percent(rec.Before.ThrottledFraction))
	}
	rec.Action = f.Action.Text
	rec.After, _ = run([]string{f.Action.Text}, f.Action.Text, "throttled-after")
	b, _ := json.MarshalIndent(rec, "", "  ")
	if err := os.WriteFile(filepath.Join(recordings, "throttling.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	table, problems := checkThrottling(t, rec)
	writeResult(t, "GOMAXPROCS under a CPU quota", table)
	t.Log(table)
	for _, p := range problems {
		t.Error(p)
	}
}
