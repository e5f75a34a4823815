package discover

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net/netip"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/collectors/proc"
	"github.com/gotune/gotune/internal/testproc"
	"github.com/shirou/gopsutil/v4/process"
)

// kernelReading is what the kernel says about a process, read from /proc
// without gopsutil: stat fields 14+15 (ticks of 10 ms, USER_HZ), status
// VmRSS, the entries of task/ and fd/.
type kernelReading struct {
	cpuSeconds float64
	rss        uint64
	threads    int
	fds        int
}

func readKernel(t *testing.T, pid int) kernelReading {
	t.Helper()
	dir := filepath.Join("/proc", strconv.Itoa(pid))
	var k kernelReading
	b, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:])) // f[0] is field 3
	ut, err1 := strconv.ParseUint(f[14-3], 10, 64)
	st, err2 := strconv.ParseUint(f[15-3], 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("stat %q: %v %v", b, err1, err2)
	}
	k.cpuSeconds = float64(ut+st) / proc.ClockTicks
	b, err = os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmRSS %q: %v", v, err)
			}
			k.rss = kb * 1024
		}
	}
	tasks, err := readDirNames(filepath.Join(dir, "task"))
	if err != nil {
		t.Fatal(err)
	}
	fds, err := readDirNames(filepath.Join(dir, "fd"))
	if err != nil {
		t.Fatal(err)
	}
	k.threads, k.fds = len(tasks), len(fds)
	return k
}

// settle calls read between two kernel readings of pid, again every pause
// until steady says the two agree or testproc.MinWait passes, and returns
// the last two: the figures a reading lies between however long a loaded
// machine keeps the test off the CPU.
func settle(t *testing.T, pid int, pause time.Duration, read func(), steady func(before, after kernelReading) bool) (before, after kernelReading) {
	t.Helper()
	for deadline := time.Now().Add(testproc.MinWait); ; time.Sleep(pause) {
		before = readKernel(t, pid)
		read()
		after = readKernel(t, pid)
		if steady(before, after) || time.Now().After(deadline) {
			return before, after
		}
	}
}

// rssTolerance is TestHostFiguresAgreeWithKernel's: gopsutil reads statm,
// the kernel reading is status's VmRSS a moment later (the same counter,
// get_mm_rss); the target's runtime may fault in a few pages in between.
const rssTolerance = 2 << 20

// TestHostFiguresAgreeWithKernel compares what gotune reads through
// gopsutil (CPU seconds and CPU %, RSS, threads, fds, listening ports,
// parent, executable, user, start time) with what the kernel says, on a
// real target whose figures are known (testdata/targets/hostfigures).
// Counters are bracketed: a kernel reading before and after each gopsutil
// one.
func TestHostFiguresAgreeWithKernel(t *testing.T) {
	ctx := context.Background()
	bin := testproc.BuildInto(t, testproc.HostFigures, "")
	tp := testproc.StartWith(t, bin, testproc.Options{WaitReady: true})
	pid := tp.PID
	if len(tp.Ready) != 3 {
		t.Fatalf("ready line %v, want pid and two ports", tp.Ready)
	}

	// Thread and fd counts move while the runtime starts its helpers:
	// compare once two kernel readings around gopsutil's agree.
	var g proc.ProcessStat
	before, after := settle(t, pid, 50*time.Millisecond, func() {
		var err error
		if g, err = proc.Host.Process(ctx, pid); err != nil {
			t.Fatal(err)
		}
	}, func(before, after kernelReading) bool {
		return before.threads == after.threads && before.fds == after.fds
	})
	t.Logf("gopsutil: cpu %.2fs rss %d threads %d fds %d; kernel: cpu %.2f..%.2fs rss %d..%d threads %d fds %d",
		g.CPUSeconds, g.RSS, g.NumThreads, g.FDs, before.cpuSeconds, after.cpuSeconds, before.rss, after.rss, after.threads, after.fds)
	if len(g.Missing) != 0 {
		t.Errorf("missing: %v", g.Missing)
	}
	if g.CPUSeconds < before.cpuSeconds-1e-9 || g.CPUSeconds > after.cpuSeconds+1e-9 {
		t.Errorf("CPU seconds %.3f outside the kernel's %.3f..%.3f", g.CPUSeconds, before.cpuSeconds, after.cpuSeconds)
	}
	if lo, hi := min(before.rss, after.rss), max(before.rss, after.rss); g.RSS+rssTolerance < lo || g.RSS > hi+rssTolerance {
		t.Errorf("RSS %d outside the kernel's %d..%d ± %d", g.RSS, lo, hi, rssTolerance)
	}
	if g.RSS < 64<<20 {
		t.Errorf("RSS %d, below the 64 MiB the target keeps resident", g.RSS)
	}
	if g.NumThreads != after.threads || g.NumThreads < 5 {
		t.Errorf("threads %d, kernel %d (want ≥ 5: main and 4 locked)", g.NumThreads, after.threads)
	}
	if g.FDs != after.fds {
		t.Errorf("fds %d, kernel %d", g.FDs, after.fds)
	}

	// gopsutil's own thread count and parent (what macOS, FreeBSD and
	// Windows use; on Linux gotune takes them from the stat line it reads).
	// The runtime may start a thread at any moment (it did in CI after
	// the loop above), so this read is bracketed by kernel counts too and
	// retried until the two agree.
	ps := &process.Process{Pid: int32(pid)}
	var n int32
	k1, k2 := settle(t, pid, 50*time.Millisecond, func() {
		var err error
		if n, err = ps.NumThreads(); err != nil {
			t.Fatalf("gopsutil NumThreads: %v", err)
		}
	}, func(before, after kernelReading) bool { return before.threads == after.threads })
	if int(n) != k2.threads {
		t.Errorf("gopsutil NumThreads = %d; kernel %d..%d", n, k1.threads, k2.threads)
	}
	if pp, err := ps.Ppid(); err != nil || int(pp) != os.Getpid() {
		t.Errorf("gopsutil Ppid = %d, %v; want the test's %d", pp, err, os.Getpid())
	}

	// Parent, executable, command line, user, start time.
	if g.PPID != os.Getpid() {
		t.Errorf("PPID %d, want the test's %d", g.PPID, os.Getpid())
	}
	if exe, err := proc.Host.Exe(ctx, pid); err != nil || exe != bin {
		t.Errorf("Exe = %q, %v; want %s", exe, err, bin)
	}
	if len(g.Cmdline) != 1 || g.Cmdline[0] != bin {
		t.Errorf("cmdline %q, want [%s]", g.Cmdline, bin)
	}
	if u, err := user.Current(); err == nil && g.User != u.Username {
		t.Errorf("user %q, want %q", g.User, u.Username)
	}
	if age := time.Since(g.StartTime); age < 0 || age > time.Minute {
		t.Errorf("start time %v is %v ago", g.StartTime, age)
	}
	// gotune's Linux start time is btime + start ticks (see proc's
	// startTime); gopsutil's own CreateTime must say the same where its
	// boot time comes from btime too, as here.
	if ct, err := (&process.Process{Pid: int32(pid)}).CreateTime(); err != nil {
		t.Errorf("gopsutil CreateTime: %v", err)
	} else if d := time.UnixMilli(ct).Sub(g.StartTime); d.Abs() > time.Second {
		t.Errorf("gopsutil CreateTime %v, gotune %v: %v apart", time.UnixMilli(ct), g.StartTime, d)
	} else {
		t.Logf("start time: gopsutil CreateTime − gotune = %v", d)
	}

	// CPU %: gopsutil's Times deltas against the kernel's over one window.
	// Each gopsutil reading is bracketed by kernel readings, so its delta
	// lies between the inner and the outer kernel deltas however long the
	// loaded machine keeps this test off the CPU between two reads; read
	// again until the target's CPU time has moved inside the window.
	var c proc.ProcessStat
	read := func() {
		var err error
		if c, err = proc.Host.CPUReading(ctx, pid); err != nil {
			t.Fatal(err)
		}
	}
	b1, a1 := settle(t, pid, 0, read, func(kernelReading, kernelReading) bool { return true })
	c1 := c
	time.Sleep(500 * time.Millisecond)
	b2, a2 := settle(t, pid, 500*time.Millisecond, read, func(b, _ kernelReading) bool { return b.cpuSeconds > a1.cpuSeconds })
	c2 := c
	k1b, k1a, k2b, k2a := b1.cpuSeconds, a1.cpuSeconds, b2.cpuSeconds, a2.cpuSeconds
	pct, ok := proc.CPUPercent(c1, c2)
	gd := c2.CPUSeconds - c1.CPUSeconds
	t.Logf("CPU over %v: gopsutil %.2fs (%.0f%%), kernel %.2f..%.2fs", c2.ReadAt.Sub(c1.ReadAt), gd, pct, k2b-k1a, k2a-k1b)
	if !ok || gd < k2b-k1a-1e-9 || gd > k2a-k1b+1e-9 || k2b <= k1a {
		t.Errorf("CPU delta: gopsutil %.3fs (ok %v), kernel %.3f..%.3fs; want within and > 0", gd, ok, k2b-k1a, k2a-k1b)
	}
	if want := 100 * gd / c2.ReadAt.Sub(c1.ReadAt).Seconds(); math.Abs(pct-want) > 1e-6 {
		t.Errorf("CPUPercent %v, want %v", pct, want)
	}

	// Listening ports: gopsutil's against gotune's reader of
	// /proc/net/tcp{,6} joined with the fds (what Linux scans use), and
	// both against what the target says it bound.
	got, err := gopsutilListening(pid)
	if err != nil {
		t.Fatal(err)
	}
	kernel, err := kernelListening(pid)
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.AddrPort{
		netip.MustParseAddrPort("127.0.0.1:" + tp.Ready[1]),
		netip.MustParseAddrPort("[::]:" + tp.Ready[2]),
	}
	if !slices.Equal(got, kernel) || !slices.Equal(got, want) {
		t.Errorf("listening: gopsutil %v, kernel %v, target says %v", got, kernel, want)
	}
	t.Logf("listening: %v", fmt.Sprint(got))
}
