//go:build linux

package demo

import (
	"context"
	"strconv"
	"strings"
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
	var wg sync.WaitGroup
	wg.Go(func() { burnCPU(ctx, 0.5) })
	defer func() {
		cancel()
		wg.Wait()
	}()
	// Half a core plus a little for the rest of the test process. Other
	// processes can starve this one for a while, which only lowers the
	// figure: measure up to five 1-second windows, pass on the first in
	// range, fail at once on too much.
	var seen []string
	for range 5 {
		c0, t0 := processCPU(), time.Now()
		time.Sleep(time.Second)
		cores := (processCPU() - c0) / time.Since(t0).Seconds()
		seen = append(seen, strconv.FormatFloat(cores, 'f', 2, 64))
		if cores > 0.8 {
			t.Fatalf("burnCPU(0.5) used %.2f cores, want about 0.5: it must idle half of every period", cores)
		}
		if cores >= 0.35 {
			return
		}
	}
	t.Errorf("burnCPU(0.5) used %s cores in 1-second windows, want about 0.5", strings.Join(seen, ", "))
}
