//go:build experiment && linux

package cli

// The verification experiment of gotune apply: the advisor's predictions
// applied live to the real demo workload and measured by the same loop a
// user runs. It runs real processes for about six minutes, one at a time
// (the machines have 2 cores), and its figures depend on how busy the
// machine is, so it is not part of the default suite:
//
//	go test -tags experiment -run ApplyExperiment -v -timeout 20m ./cli/
//
// It writes testdata/apply-experiment.md (quoted by docs/apply.md): for
// GOGC=50, 200 and 400 and a GOMEMLIMIT, each on a fresh demo at GOGC=100,
// the predicted and measured GC CPU, GC cycles/s and peak heap with the
// verdict; for GOMAXPROCS, the demo inside a cgroup with a 0.5-CPU quota,
// predicted and measured throttling, scheduling latency and HTTP request
// latency. The machine's load average (uptime) is written next to each
// run. GOMAXPROCS needs root (it makes a cgroup).

import (
	"encoding/json"
	"errors"
	"fmt"
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

const experimentOut = "testdata/apply-experiment.md"

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:3], " ")
}

// runApply runs gotune apply with args and returns its JSON result.
func runApplyBinary(t *testing.T, bin string, args ...string) applyOutput {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), bin, append([]string{"apply"}, append(args, "--json")...)...)
	out, err := cmd.Output()
	var o applyOutput
	if jerr := json.Unmarshal(out, &o); jerr != nil {
		var ee *exec.ExitError
		stderr := ""
		if errors.As(err, &ee) {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("gotune apply %s: %v\n%s\n%s", strings.Join(args, " "), err, out, stderr)
	}
	return o
}

func check(c *snapshot.Change, metric string) snapshot.Check {
	for _, k := range c.Checks {
		if k.Metric == metric {
			return k
		}
	}
	return snapshot.Check{}
}

func cell(k snapshot.Check) (pred, got string) {
	if k.Metric == "" {
		return "—", "—"
	}
	got = k.MeasuredText()
	switch k.Result {
	case snapshot.ResultOutOfRange:
		got += " **out**"
	case snapshot.ResultInRange:
		got += " ok"
	}
	return k.PredictedText(), got
}

const (
	expBaseline = 25 * time.Second
	expVerify   = 25 * time.Second
	expSettle   = 5 * time.Second
	warmup      = 4 * time.Second
)

func TestApplyExperiment(t *testing.T) {
	bin := testproc.Build(t, ".")
	var b strings.Builder
	fmt.Fprintf(&b, "# gotune apply: predicted versus measured on the demo (recorded)\n\n")
	fmt.Fprintf(&b, "Written by `go test -tags experiment -run ApplyExperiment -v -timeout 20m ./cli/` on %s; see docs/apply.md.\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "Each run: a fresh `gotune demo --serve --writes` at GOGC=100 (%s warm-up), then `gotune apply URL SETTING --baseline %s --settle %s --verify %s` (reverted at the end). ", warmup, expBaseline, expSettle, expVerify)
	fmt.Fprintf(&b, "The machine has 2 cores shared with other jobs: the load average (1, 5, 15 min, /proc/loadavg) at each run's start and end is in the last column.\n\n")
	fmt.Fprintf(&b, "## GOGC and GOMEMLIMIT\n\n")
	fmt.Fprintf(&b, "| setting | GC CPU predicted | measured | GC/s predicted | measured | peak heap predicted | measured | verdict | load |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, setting := range []string{"GOGC=50", "GOGC=200", "GOGC=400", "GOMEMLIMIT=128MiB"} {
		demo := testproc.Start(t, bin, []string{"GOGC=100"}, "demo", "--serve", "127.0.0.1:0", "--writes", "--leak-every", "0", "--mutex-workers", "0")
		time.Sleep(warmup)
		l0 := loadAvg()
		o := runApplyBinary(t, bin, demo.FirstLine, setting, "--baseline", expBaseline.String(), "--settle", expSettle.String(), "--verify", expVerify.String())
		l1 := loadAvg()
		demo.Kill()
		c := o.Change
		if c == nil {
			fmt.Fprintf(&b, "| %s | not applied: %s %s | | | | | | | %s → %s |\n", setting, o.ReadOnly, o.Refused, l0, l1)
			t.Errorf("%s not applied: %+v", setting, o)
			continue
		}
		cp, cg := cell(check(c, "gc-cpu"))
		rp, rg := cell(check(c, "gc-cycles"))
		pp, pg := cell(check(c, "peak-heap"))
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s → %s |\n", setting, cp, cg, rp, rg, pp, pg, c.Verdict, l0, l1)
		t.Logf("%s: %s (%s)", setting, c.Sentence(nil), c.Reason)
		for _, k := range c.Checks {
			if k.Before != nil {
				t.Logf("  %s before %s", k.Name, k.BeforeText())
			}
		}
	}
	fmt.Fprintf(&b, "\nBefore each change (the baseline window the prediction is fitted on) the demo measured GC CPU, GC cycles/s and peak heap at GOGC=100; `gotune apply --json` has them as each check's `before`.\n\n")

	fmt.Fprintf(&b, "## GOMAXPROCS under a CPU quota\n\n")
	if err := gomaxprocsRun(t, bin, &b); err != nil {
		fmt.Fprintf(&b, "Not run: %v\n", err)
		t.Error(err)
	}
	if err := os.WriteFile(experimentOut, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + b.String())
}

// gomaxprocsRun applies GOMAXPROCS=1 to a CPU-bound demo inside a cgroup
// with a 0.5-CPU quota (so Go ≥1.25 picks GOMAXPROCS=2), by PID so the
// cgroup is read, while HTTP requests measure latency before and after.
func gomaxprocsRun(t *testing.T, bin string, b *strings.Builder) error {
	dir, err := makeQuotaCgroup(t, 0.5)
	if err != nil {
		return fmt.Errorf("cannot create a CPU cgroup (run as root with cgroups writable): %w", err)
	}
	sh := fmt.Sprintf("echo $$ > %s/cgroup.procs && exec %s demo --serve 127.0.0.1:0 --writes --cpu-burn 1.6 --alloc-rate 20MiB --cache 16MiB --leak-every 0 --mutex-workers 0", dir, bin)
	demo := testproc.Start(t, "/bin/sh", nil, "-c", sh)
	defer demo.Kill()
	time.Sleep(warmup)
	stop := make(chan struct{})
	lat := timedLatencies(demo.FirstLine+"/debug/pprof/cmdline", stop)
	l0 := loadAvg()
	o := runApplyBinary(t, bin, strconv.Itoa(demo.PID), "GOMAXPROCS=1", "--baseline", "20s", "--settle", expSettle.String(), "--verify", "20s")
	l1 := loadAvg()
	close(stop)
	rs := <-lat
	c := o.Change
	if c == nil {
		return fmt.Errorf("GOMAXPROCS=1 not applied: %+v", o)
	}
	before := latencyIn(rs, c.AppliedAt.Add(-20*time.Second), c.AppliedAt)
	after := latencyIn(rs, c.Verify.Start, c.Verify.End)
	from := "typed"
	if c.FindingID != "" {
		from = "finding `" + c.FindingID + "`"
	}
	fmt.Fprintf(b, "`gotune apply PID GOMAXPROCS=1 --baseline 20s --settle %s --verify 20s` on `gotune demo --writes --cpu-burn 1.6 --alloc-rate 20MiB --cache 16MiB` in a cgroup with cpu.max 50000 100000 (0.5 CPU); %s; load %s → %s.\n\n", expSettle, from, l0, l1)
	fmt.Fprintf(b, "| figure | before | predicted | measured | result |\n|---|---|---|---|---|\n")
	for _, k := range c.Checks {
		res := k.Result
		if res == "" {
			res = "shown (not predicted)"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", k.Name, k.BeforeText(), k.PredictedText(), k.MeasuredText(), res)
	}
	fmt.Fprintf(b, "| HTTP request p50 (measured outside gotune) | %s | — | %s | shown |\n", measurement.Seconds(quantileOf(before, 0.5)), measurement.Seconds(quantileOf(after, 0.5)))
	fmt.Fprintf(b, "| HTTP request p99 | %s | — | %s | shown |\n", measurement.Seconds(quantileOf(before, 0.99)), measurement.Seconds(quantileOf(after, 0.99)))
	fmt.Fprintf(b, "| HTTP requests | %d | — | %d | |\n\n", len(before), len(after))
	fmt.Fprintf(b, "Verdict: **%s** (%s).\n", c.Verdict, c.Reason)
	for _, w := range c.Warnings {
		fmt.Fprintf(b, "- warning: %s\n", w)
	}
	t.Logf("GOMAXPROCS=1: %s (%s)", c.Sentence(nil), c.Reason)
	return nil
}

// makeQuotaCgroup creates a cgroup with a CPU quota of quota CPUs (period
// 100 ms) under the v2 root or the v1 cpu hierarchy, removed at cleanup
// (as advisor/experiment_run_test.go's makeCPUCgroup).
func makeQuotaCgroup(t *testing.T, quota float64) (string, error) {
	name := fmt.Sprintf("gotune-apply-experiment-%d", os.Getpid())
	const period = 100000
	q := strconv.Itoa(int(quota * period))
	var dir, parent, file, content string
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		parent = "/sys/fs/cgroup"
		sub, _ := os.ReadFile(filepath.Join(parent, "cgroup.subtree_control"))
		if !strings.Contains(string(sub), "cpu") {
			if err := os.WriteFile(filepath.Join(parent, "cgroup.subtree_control"), []byte("+cpu"), 0); err != nil {
				return "", fmt.Errorf("enable the cpu controller: %w", err)
			}
		}
		file, content = "cpu.max", q+" "+strconv.Itoa(period)
	} else {
		for _, root := range []string{"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"} {
			if _, err := os.Stat(filepath.Join(root, "cpu.cfs_quota_us")); err == nil {
				parent, file, content = root, "cpu.cfs_quota_us", q
				break
			}
		}
		if parent == "" {
			return "", errors.New("no cgroup v2 root and no v1 cpu hierarchy under /sys/fs/cgroup")
		}
	}
	dir = filepath.Join(parent, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", err
	}
	t.Cleanup(func() {
		if b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs")); err == nil {
			for _, pid := range strings.Fields(string(b)) {
				_ = os.WriteFile(filepath.Join(parent, "cgroup.procs"), []byte(pid), 0)
			}
		}
		for range 50 {
			if err := os.Remove(dir); err == nil || errors.Is(err, os.ErrNotExist) {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	if file == "cpu.cfs_quota_us" {
		if err := os.WriteFile(filepath.Join(dir, "cpu.cfs_period_us"), []byte(strconv.Itoa(period)), 0); err != nil {
			return "", err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0); err != nil {
		return "", fmt.Errorf("write %s: %w", file, err)
	}
	return dir, nil
}

type timedRT struct {
	at  time.Time
	sec float64
}

// timedLatencies GETs url every 50 ms until stop is closed and returns the
// round trips with their start times.
func timedLatencies(url string, stop <-chan struct{}) <-chan []timedRT {
	out := make(chan []timedRT, 1)
	go func() {
		var rs []timedRT
		client := &http.Client{Timeout: 5 * time.Second}
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				out <- rs
				return
			case <-tick.C:
			}
			start := time.Now()
			resp, err := client.Get(url)
			if err != nil {
				continue
			}
			resp.Body.Close()
			rs = append(rs, timedRT{start, time.Since(start).Seconds()})
		}
	}()
	return out
}

func latencyIn(rs []timedRT, from, to time.Time) []float64 {
	var out []float64
	for _, r := range rs {
		if !r.at.Before(from) && r.at.Before(to) {
			out = append(out, r.sec)
		}
	}
	return out
}

func quantileOf(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*q))]
}
