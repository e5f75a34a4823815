package proc

import (
	"context"
	"errors"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"
)

const hostDir = "../../testdata/host"

// TestHostSelf reads the test process itself through the live OS: the
// same assertions hold on every OS gotune builds for.
func TestHostSelf(t *testing.T) {
	ctx := context.Background()
	pid := os.Getpid()
	pids, err := Host.PIDs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(pids, pid) {
		t.Errorf("PIDs (%d of them) lacks our own %d", len(pids), pid)
	}
	p, err := Host.Process(ctx, pid)
	if err != nil {
		t.Fatal(err)
	}
	if p.PID != pid || p.PPID != os.Getppid() || p.RSS == 0 || p.NumThreads < 1 || p.User == "" {
		t.Errorf("Process(self) = %+v (want ppid %d)", p, os.Getppid())
	}
	if age := time.Since(p.StartTime); age < 0 || age > time.Hour {
		t.Errorf("start time %v is %v ago", p.StartTime, age)
	}
	if len(p.Cmdline) == 0 || p.Cmdline[0] != os.Args[0] {
		t.Errorf("cmdline = %q, want %q first", p.Cmdline, os.Args[0])
	}
	if exe, err := Host.Exe(ctx, pid); err != nil || exe == "" {
		t.Errorf("Exe = %q, %v", exe, err)
	}
	for _, m := range p.Missing {
		t.Errorf("missing %v", m)
	}
	cur, err := Host.CPUReading(ctx, pid)
	if err != nil {
		t.Fatal(err)
	}
	if !cur.StartTime.Equal(p.StartTime) || cur.CPUSeconds < p.CPUSeconds {
		t.Errorf("CPUReading = start %v cpu %v; summary had start %v cpu %v", cur.StartTime, cur.CPUSeconds, p.StartTime, p.CPUSeconds)
	}
	if _, ok := CPUPercent(p, cur); !ok {
		t.Errorf("CPUPercent(summary, CPUReading) not ok")
	}
	env, err := Host.Environ(ctx, pid)
	switch {
	case runtime.GOOS == "freebsd":
		if !errors.Is(err, ErrNotAvailable) {
			t.Errorf("Environ on FreeBSD = %v, want ErrNotAvailable", err)
		}
	case err != nil:
		t.Errorf("Environ(self): %v", err)
	default:
		for k := range env {
			if len(k) < 2 || k[:2] != "GO" {
				t.Errorf("Environ holds %q", k)
			}
		}
	}
}

func TestHostNoProcess(t *testing.T) {
	// PIDs are below 2^22 on Linux (pid_max), below 99999 on macOS and
	// FreeBSD, multiples of 4 on Windows: this one exists nowhere.
	const gone = 1<<30 + 2
	if _, err := Host.ProcessSummary(context.Background(), gone); !errors.Is(err, ErrNoProcess) {
		t.Errorf("ProcessSummary(%d) err = %v, want ErrNoProcess", gone, err)
	}
}

// Off Linux there are no files to redirect: a fake root is refused, not
// silently read from the live system.
func TestFakeRootOffLinux(t *testing.T) {
	_, err := FS{Root: hostDir + "/cgroupv2"}.ProcessSummary(context.Background(), 4242)
	if runtime.GOOS == "linux" {
		if err != nil {
			t.Errorf("fixture on Linux: %v", err)
		}
		return
	}
	if !errors.Is(err, ErrNotAvailable) {
		t.Errorf("fake root on %s: err = %v, want ErrNotAvailable", runtime.GOOS, err)
	}
}
