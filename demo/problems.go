package demo

import (
	"context"
	"sync"
	"time"
)

// leakedSessionBytes is what each leaked goroutine keeps alive, so the leak
// also shows, slowly, in the heap profile under leakyWorker.
const leakedSessionBytes = 4096

type leakedSession struct {
	id    int
	state []byte
}

// leakLoop starts one leakyWorker per interval. The leaked goroutines end
// when ctx does, so Run returns with nothing left behind; to the process
// being watched they are a leak: their number only grows.
func leakLoop(ctx context.Context, every time.Duration) {
	var wg sync.WaitGroup
	defer wg.Wait()
	t := time.NewTicker(every)
	defer t.Stop()
	for id := 0; ; id++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			wg.Go(func() { leakyWorker(ctx, id) })
		}
	}
}

// leakyWorker is the classic leak: it waits for a reply on a channel whose
// sender gave up long ago (think of a caller that timed out and returned).
// It blocks forever, holding its session, in state "chan receive".
//
//go:noinline
func leakyWorker(ctx context.Context, id int) {
	// The session is parked in a buffered channel, as a handler would
	// register it for the reply; that also keeps it on the heap.
	pending := make(chan *leakedSession, 1)
	pending <- &leakedSession{id: id, state: make([]byte, leakedSessionBytes)}
	reply := make(chan struct{})
	select {
	case <-reply: // never sent: the caller is gone
	case <-ctx.Done():
	}
	<-pending
}

// counterTable is shared state behind one mutex, the contended resource.
type counterTable struct {
	mu     sync.Mutex
	counts map[int]uint64
	n      uint64
}

func newCounterTable() *counterTable {
	return &counterTable{counts: make(map[int]uint64)}
}

// slowCallUnderLock is how long a contendedCounter holds the lock: a stand-in
// for I/O done while holding a mutex (a flush, a log write). Holding the lock
// across a sleep makes contention that costs no CPU, so it does not disturb
// the GC measurements. Go timers round short sleeps up to about 1 ms on an
// idle Linux P; either way the lock is busy nearly all the time.
const slowCallUnderLock = 500 * time.Microsecond

// contendedCounter increments a shared counter table under one mutex and
// holds it across a slow call: every other contendedCounter waits. The
// mutex profile attributes the waiting to this function (sync.Mutex records
// contention at Unlock, in the stack of the holder).
//
//go:noinline
func contendedCounter(ctx context.Context, t *counterTable) {
	for ctx.Err() == nil {
		t.mu.Lock()
		t.n++
		t.counts[int(t.n%64)]++
		time.Sleep(slowCallUnderLock)
		t.mu.Unlock()
	}
}

// burnPeriod is the duty-cycle period of burnCPU: busy for share×period,
// then idle for the rest. 10 ms is well below the CFS period (100 ms), so
// throttling under a cgroup quota shows as it does for a real service.
const burnPeriod = 10 * time.Millisecond

// burnCPU keeps share of one CPU busy (0 < share <= 1) computing checksums,
// busy for share×period then idle for the rest of each period.
//
//go:noinline
func burnCPU(ctx context.Context, share float64, period time.Duration) {
	buf := make([]byte, 4096)
	for i := range buf {
		buf[i] = byte(i)
	}
	busy := time.Duration(share * float64(period))
	var sum uint64
	for ctx.Err() == nil {
		start := time.Now()
		for time.Since(start) < busy {
			sum = checksum(buf, sum)
		}
		if idle := period - time.Since(start); idle > 0 {
			time.Sleep(idle)
		}
	}
	_ = sum
}

// checksum is the CPU-bound work of burnCPU (FNV-1a over buf).
//
//go:noinline
func checksum(buf []byte, sum uint64) uint64 {
	if sum == 0 {
		sum = 14695981039346656037
	}
	for _, b := range buf {
		sum ^= uint64(b)
		sum *= 1099511628211
	}
	return sum
}
