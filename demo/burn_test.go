package demo

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/gotune/gotune/internal/testproc"
)

// processCPU is this process's user+system CPU seconds.
func processCPU() float64 { return testproc.CPUNow().Seconds() }

func TestBurnCPU(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	// A longer period than the workload's: on a busy machine each wake-up
	// from the idle part comes late, and that delay counts as running time;
	// over 50 ms it weighs less than over 10 ms.
	wg.Go(func() { burnCPU(ctx, 0.5, 50*time.Millisecond) })
	defer func() {
		cancel()
		wg.Wait()
	}()
	// The runtime's user CPU class is wall time Ps spend running goroutines:
	// unlike OS CPU time it does not shrink when other processes starve
	// this one. It moves only at the end of a GC cycle, so bracket the
	// window with forced cycles.
	const user = "/cpu/classes/user:cpu-seconds"
	time.Sleep(100 * time.Millisecond)
	runtime.GC()
	a, t0, os0 := readMetrics(user)[user], time.Now(), processCPU()
	time.Sleep(2 * time.Second)
	runtime.GC()
	b, t1, os1 := readMetrics(user)[user], time.Now(), processCPU()
	wall := t1.Sub(t0).Seconds()
	cores := (b - a) / wall
	osCores := (os1 - os0) / wall
	t.Logf("burnCPU(0.5): %.2f cores of goroutine time, %.2f cores of OS CPU", cores, osCores)
	// Two bounds that a busy machine cannot break: goroutine (P) time
	// only grows when other processes delay this one, so it is at least
	// the burn; the CPU the OS gave only shrinks, so it stays under a
	// burner that never idles (1 core) by a margin.
	if cores < 0.3 {
		t.Errorf("burnCPU(0.5) ran goroutines for %.2f cores, want at least about 0.5", cores)
	}
	if osCores > 0.8 {
		t.Errorf("burnCPU(0.5) used %.2f cores of OS CPU: it does not idle", osCores)
	}
}
