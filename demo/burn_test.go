package demo

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"
)

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
	a, t0 := readMetrics(user)[user], time.Now()
	time.Sleep(2 * time.Second)
	runtime.GC()
	b, t1 := readMetrics(user)[user], time.Now()
	cores := (b - a) / t1.Sub(t0).Seconds()
	t.Logf("burnCPU(0.5): %.2f cores of goroutine time", cores)
	// Half a core, plus late wake-ups on a busy machine; a burner that
	// never idles would show 1.
	if cores < 0.4 || cores > 0.8 {
		t.Errorf("burnCPU(0.5) ran goroutines for %.2f cores, want about 0.5", cores)
	}
}
