//go:build unix

package demo

import (
	"context"
	"sync"
	"syscall"
	"testing"
	"time"
)

// processCPU returns the user+system CPU seconds of this process.
func processCPU() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

func TestBurnCPU(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cpu0 := processCPU()
	start := time.Now()
	var wg sync.WaitGroup
	wg.Go(func() { burnCPU(ctx, 0.5) })
	time.Sleep(time.Second)
	cancel()
	wg.Wait()
	cores := (processCPU() - cpu0) / time.Since(start).Seconds()
	// Half a core plus whatever else the test process does. It idles half
	// of every period, so it never takes a whole core; the lower bound is
	// loose because other processes on a busy machine can starve it.
	if cores < 0.1 || cores > 0.8 {
		t.Errorf("burnCPU(0.5) used %.2f cores, want about 0.5", cores)
	}
}
