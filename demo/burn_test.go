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
	wg.Go(func() { burnCPU(ctx, 0.5) })
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
	// Half a core, plus a little for the rest of the test process.
	if cores < 0.4 || cores > 0.7 {
		t.Errorf("burnCPU(0.5) ran goroutines for %.2f cores, want about 0.5", cores)
	}
}
