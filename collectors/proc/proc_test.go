//go:build linux

package proc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gotune/gotune/collectors/cpulist"
	"github.com/gotune/gotune/internal/testproc"
)

func fixture(name string) FS { return FS{Root: filepath.Join(hostDir, name)} }

func TestProcessFixture(t *testing.T) {
	p, err := fixture("cgroupv2").Process(context.Background(), 4242)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Missing) != 0 {
		t.Errorf("Missing = %v, want none", p.Missing)
	}
	want := ProcessStat{
		PID: 4242, PPID: 1, Comm: "gotune-demo", State: "S",
		Cmdline:       []string{"/usr/local/bin/gotune-demo", "-listen", "127.0.0.1:6060"},
		UID:           1000,
		User:          "svc",
		StartTime:     time.Unix(1767225600+123456, 0),
		UserSeconds:   26.05,
		SystemSeconds: 3.91,
		CPUSeconds:    29.96,
		RSS:           45853 * uint64(os.Getpagesize()), // statm, as gopsutil reads it
		PeakRSS:       241876 * 1024,
		NumThreads:    3,
		FDs:           7,
		// Summed over task/*/status: 1200+8812+77 and 31+412+3. The
		// main thread's status alone says 1200 and 31.
		VoluntaryCtxSwitches:   10089,
		InvoluntaryCtxSwitches: 446,
		CPUsAllowed:            []int{0, 1, 2, 3, 4, 5, 6, 7},
		MemsAllowed:            []int{0},
	}
	got := p
	got.Threads, got.ReadAt, got.Missing = nil, time.Time{}, nil
	// CPU seconds come from gopsutil as user/100 + system/100 in floating
	// point: compare them to the nanosecond, the rest exactly.
	if !approx(got.UserSeconds, want.UserSeconds) || !approx(got.SystemSeconds, want.SystemSeconds) || !approx(got.CPUSeconds, want.CPUSeconds) {
		t.Errorf("CPU seconds = %v + %v = %v, want %v + %v = %v", got.UserSeconds, got.SystemSeconds, got.CPUSeconds, want.UserSeconds, want.SystemSeconds, want.CPUSeconds)
	}
	got.UserSeconds, got.SystemSeconds, got.CPUSeconds = want.UserSeconds, want.SystemSeconds, want.CPUSeconds
	if diff := compare(got, want); diff != "" {
		t.Error(diff)
	}
	wantThreads := []ThreadStat{
		{TID: 4242, Name: "gotune-demo", State: "S", LastCPU: 3, CPUSeconds: 18, VoluntaryCtxSwitches: 1200, InvoluntaryCtxSwitches: 31},
		{TID: 4243, Name: "gotune-demo", State: "S", LastCPU: 5, CPUSeconds: 11.9, VoluntaryCtxSwitches: 8812, InvoluntaryCtxSwitches: 412},
		{TID: 4244, Name: "gotune-demo", State: "S", LastCPU: 2, CPUSeconds: 0.06, VoluntaryCtxSwitches: 77, InvoluntaryCtxSwitches: 3},
	}
	if !slices.EqualFunc(p.Threads, wantThreads, func(a, b ThreadStat) bool {
		return a.TID == b.TID && a.Name == b.Name && a.State == b.State && a.LastCPU == b.LastCPU &&
			approx(a.CPUSeconds, b.CPUSeconds) && a.VoluntaryCtxSwitches == b.VoluntaryCtxSwitches &&
			a.InvoluntaryCtxSwitches == b.InvoluntaryCtxSwitches
	}) {
		t.Errorf("Threads = %+v\nwant %+v", p.Threads, wantThreads)
	}
	if p.ReadAt.IsZero() {
		t.Error("ReadAt not set")
	}
}

func TestProcessSummaryReadsNoThreads(t *testing.T) {
	p, err := fixture("numa-2node").ProcessSummary(context.Background(), 4242)
	if err != nil {
		t.Fatal(err)
	}
	if p.Threads != nil || p.FDs != -1 {
		t.Errorf("summary read threads %v or fds %d", p.Threads, p.FDs)
	}
	// Without threads, the main thread's counters are all there is.
	if p.VoluntaryCtxSwitches != 1200 || p.InvoluntaryCtxSwitches != 31 {
		t.Errorf("ctx switches = %d/%d, want the main thread's 1200/31", p.VoluntaryCtxSwitches, p.InvoluntaryCtxSwitches)
	}
	if !slices.Equal(p.MemsAllowed, []int{0, 1}) || len(p.CPUsAllowed) != 64 {
		t.Errorf("affinity = %v / %v", p.CPUsAllowed, p.MemsAllowed)
	}
}

func TestThreadLastCPU(t *testing.T) {
	threads, err := fixture("numa-4node").Threads(context.Background(), 4242)
	if err != nil {
		t.Fatal(err)
	}
	var cpus []int
	for _, th := range threads {
		cpus = append(cpus, th.LastCPU)
	}
	if want := []int{1, 17, 18, 30, 5}; !slices.Equal(cpus, want) {
		t.Errorf("last CPUs = %v, want %v", cpus, want)
	}
}

func TestNoProcess(t *testing.T) {
	_, err := fixture("cgroupv2").Process(context.Background(), 999999)
	if !errors.Is(err, ErrNoProcess) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want ErrNoProcess", err)
	}
	if _, err := fixture("cgroupv2").Process(context.Background(), -1); !errors.Is(err, ErrNoProcess) {
		t.Errorf("negative PID: err = %v", err)
	}
}

func TestCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := fixture("cgroupv2").Process(ctx, 4242); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// TestPermissionDenied plays another user's process read by a non-root
// gotune: stat and status are world-readable, fd/, cmdline and environ are
// not. A copy of the fixture with those modes is read by a child test
// process running as nobody (root reads anything), or directly when the
// test is not root.
func TestPermissionDenied(t *testing.T) {
	root := copyTree(t, filepath.Join(hostDir, "cgroupv2"))
	for _, name := range []string{"fd", "cmdline", "environ"} {
		if err := os.Chmod(filepath.Join(root, "proc", "4242", name), 0); err != nil {
			t.Fatal(err)
		}
	}
	var r deniedReading
	if os.Geteuid() == 0 {
		r = readAsNobody(t, root)
	} else {
		r = readDenied(FS{Root: root})
	}
	p := r.Stat
	if p.FDs != -1 || p.Cmdline != nil {
		t.Errorf("FDs = %d, Cmdline = %v; want -1 and nil", p.FDs, p.Cmdline)
	}
	if p.RSS != 45853*uint64(os.Getpagesize()) || p.VoluntaryCtxSwitches != 10089 || p.NumThreads != 3 || p.User != "svc" {
		t.Errorf("readable facts lost: RSS %d, ctx %d, threads %d, user %q", p.RSS, p.VoluntaryCtxSwitches, p.NumThreads, p.User)
	}
	var whats []string
	for i, m := range p.Missing {
		if !r.Denied[i] {
			t.Errorf("%v: PermissionDenied() = false", m)
		}
		whats = append(whats, m.What)
	}
	if want := []string{"cmdline", "fd"}; !slices.Equal(whats, want) {
		t.Errorf("Missing = %v, want %v", whats, want)
	}
	if !r.EnvironDenied {
		t.Errorf("Environ err = %q, want permission denied", r.EnvironErr)
	}
}

// deniedReading is what the reader saw, with the error kinds kept (JSON
// keeps only their text).
type deniedReading struct {
	Stat          ProcessStat
	Denied        []bool // PermissionDenied() of each Stat.Missing
	EnvironErr    string
	EnvironDenied bool
}

func readDenied(fsys FS) deniedReading {
	var r deniedReading
	p, err := fsys.Process(context.Background(), 4242)
	if err != nil {
		r.EnvironErr = "Process: " + err.Error()
		return r
	}
	r.Stat = p
	for _, m := range p.Missing {
		r.Denied = append(r.Denied, m.PermissionDenied())
	}
	_, err = fsys.Environ(context.Background(), 4242)
	if err != nil {
		r.EnvironErr = err.Error()
	}
	r.EnvironDenied = errors.Is(err, fs.ErrPermission)
	return r
}

const deniedHelperEnv = "GOTUNE_PROC_DENIED_HELPER"

func TestHelperReadDenied(t *testing.T) {
	root := os.Getenv(deniedHelperEnv)
	if root == "" {
		return // only as the child of TestPermissionDenied
	}
	json.NewEncoder(os.Stdout).Encode(readDenied(FS{Root: root}))
	os.Exit(0)
}

func readAsNobody(t *testing.T, root string) deniedReading {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(root)
	helper := filepath.Join(dir, "proc.test")
	copyFile(t, self, helper, 0o755)
	testproc.ShareDir(t, dir)
	cmd := exec.Command(helper, "-test.run=^TestHelperReadDenied$")
	cmd.Env = append(os.Environ(), deniedHelperEnv+"="+root)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("read as nobody: %v\n%s", err, out)
	}
	var r deniedReading
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return r
}

// copyTree copies a fixture tree into a temporary directory.
func copyTree(t *testing.T, from string) string {
	t.Helper()
	to := filepath.Join(t.TempDir(), "root")
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		dst := filepath.Join(to, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(dst, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, dst)
		}
		copyFile(t, path, dst, 0o644)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return to
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestLiveOtherProcess reads PID 1. Where its environ is closed to us (any
// non-root user; in sandboxes even root, for lack of ptrace rights over a
// more privileged PID 1), Process must still succeed and Environ must say
// "permission denied".
func TestLiveOtherProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads the live /proc")
	}
	p, err := Host.Process(context.Background(), 1)
	if err != nil {
		t.Fatalf("Process(1): %v", err)
	}
	if p.PID != 1 || p.NumThreads < 1 || p.StartTime.IsZero() {
		t.Errorf("Process(1) = %+v", p)
	}
	_, direct := os.ReadFile("/proc/1/environ")
	_, err = Host.Environ(context.Background(), 1)
	if errors.Is(direct, fs.ErrPermission) != errors.Is(err, fs.ErrPermission) {
		t.Errorf("Environ(1) err = %v, direct read err = %v", err, direct)
	}
	for _, m := range p.Missing {
		if !m.PermissionDenied() {
			t.Errorf("unexpected missing fact %v", m)
		}
	}
}

func TestEnvironOnlyGO(t *testing.T) {
	env, err := fixture("cgroupv2").Environ(context.Background(), 4242)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"GOGC":       "50",
		"GOMEMLIMIT": "400MiB",
		"GODEBUG":    "gctrace=1,madvdontneed=1",
		"GOMAXPROCS": "4",
		"GOPATH_NOT": "x", // the rule is the name prefix, nothing smarter
	}
	if !maps.Equal(env, want) {
		t.Errorf("Environ = %v, want %v", env, want)
	}
}

func TestCPUPercent(t *testing.T) {
	start := time.Unix(1767349056, 0)
	t0 := time.Unix(1767400000, 0)
	prev := ProcessStat{PID: 7, StartTime: start, CPUSeconds: 10, ReadAt: t0}
	tests := []struct {
		name   string
		cur    ProcessStat
		want   float64
		wantOK bool
	}{
		{"one core", ProcessStat{PID: 7, StartTime: start, CPUSeconds: 12, ReadAt: t0.Add(2 * time.Second)}, 100, true},
		{"two and a half cores", ProcessStat{PID: 7, StartTime: start, CPUSeconds: 15, ReadAt: t0.Add(2 * time.Second)}, 250, true},
		{"idle", ProcessStat{PID: 7, StartTime: start, CPUSeconds: 10, ReadAt: t0.Add(time.Second)}, 0, true},
		{"pid reused", ProcessStat{PID: 7, StartTime: start.Add(time.Hour), CPUSeconds: 1, ReadAt: t0.Add(time.Second)}, 0, false},
		{"other pid", ProcessStat{PID: 8, StartTime: start, CPUSeconds: 11, ReadAt: t0.Add(time.Second)}, 0, false},
		{"no time passed", ProcessStat{PID: 7, StartTime: start, CPUSeconds: 11, ReadAt: t0}, 0, false},
		{"went backwards", ProcessStat{PID: 7, StartTime: start, CPUSeconds: 9, ReadAt: t0.Add(time.Second)}, 0, false},
	}
	for _, tt := range tests {
		got, ok := CPUPercent(prev, tt.cur)
		if ok != tt.wantOK || !approx(got, tt.want) {
			t.Errorf("%s: CPUPercent = %v, %v; want %v, %v", tt.name, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestPIDs(t *testing.T) {
	pids, err := fixture("numa-2node").PIDs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(pids, []int{4242}) { // "self" and "sys" are skipped
		t.Errorf("PIDs = %v", pids)
	}
}

// TestLiveSelf reads the test process itself from the real /proc.
func TestLiveSelf(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads the live /proc")
	}
	done := make(chan struct{})
	defer close(done)
	go func() { // a busy thread, so CPU time advances
		for {
			select {
			case <-done:
				return
			default:
			}
		}
	}()
	ctx := context.Background()
	pid := os.Getpid()
	p1, err := Host.Process(ctx, pid)
	if err != nil {
		t.Fatal(err)
	}
	if len(p1.Missing) != 0 {
		t.Errorf("Missing = %v", p1.Missing)
	}
	exe, _ := os.Executable()
	if p1.PPID != os.Getppid() || p1.UID != os.Geteuid() || !strings.HasPrefix(filepath.Base(exe), p1.Comm) {
		t.Errorf("identity: %+v (want ppid %d, uid %d, exe %s)", p1, os.Getppid(), os.Geteuid(), exe)
	}
	if p1.NumThreads < 1 || len(p1.Threads) != p1.NumThreads && len(p1.Threads) < 1 {
		t.Errorf("threads = %d, listed %d", p1.NumThreads, len(p1.Threads))
	}
	if p1.RSS == 0 || p1.PeakRSS < p1.RSS || p1.FDs < 3 {
		t.Errorf("RSS %d, peak %d, fds %d", p1.RSS, p1.PeakRSS, p1.FDs)
	}
	if age := time.Since(p1.StartTime); age < 0 || age > time.Hour {
		t.Errorf("start time %v is %v ago", p1.StartTime, age)
	}
	if len(p1.Cmdline) == 0 || p1.Cmdline[0] != os.Args[0] {
		t.Errorf("cmdline = %q, want %q first", p1.Cmdline, os.Args[0])
	}
	live, err := SchedAffinity(pid)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(live, p1.CPUsAllowed) {
		t.Errorf("sched_getaffinity %v != Cpus_allowed_list %v", live, p1.CPUsAllowed)
	}
	for _, th := range p1.Threads {
		if !cpulist.Contains(p1.CPUsAllowed, th.LastCPU) {
			t.Errorf("thread %d last ran on CPU %d, outside %v", th.TID, th.LastCPU, p1.CPUsAllowed)
		}
	}
	// On a loaded machine the busy thread may get little of a core: read
	// again until its CPU time has moved, then check the percentage is
	// that CPU time over the wall time between the reads.
	var p2 ProcessStat
	for deadline := time.Now().Add(testproc.MinWait); ; {
		time.Sleep(300 * time.Millisecond)
		if p2, err = Host.Process(ctx, pid); err != nil {
			t.Fatal(err)
		}
		if p2.CPUSeconds > p1.CPUSeconds || time.Now().After(deadline) {
			break
		}
	}
	pct, ok := CPUPercent(p1, p2)
	want := 100 * (p2.CPUSeconds - p1.CPUSeconds) / p2.ReadAt.Sub(p1.ReadAt).Seconds()
	if !ok || pct <= 0 || math.Abs(pct-want) > 1e-9 || pct > 100*float64(runtime.NumCPU())+20 {
		t.Errorf("CPUPercent with a busy goroutine = %v, %v; want %v from the CPU seconds %v → %v", pct, ok, want, p1.CPUSeconds, p2.CPUSeconds)
	}
	if p2.VoluntaryCtxSwitches+p2.InvoluntaryCtxSwitches == 0 {
		t.Error("no context switches after a sleep")
	}
}

func approx(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

// compare reports the first differing field of two ProcessStats.
func compare(got, want ProcessStat) string {
	g, w := fmt.Sprintf("%+v", got), fmt.Sprintf("%+v", want)
	if g == w {
		return ""
	}
	return fmt.Sprintf("got  %s\nwant %s", g, w)
}
