// Command profgen is a test target for gotune's profile package: it runs a
// small workload of one kind and writes the matching profile, so tests can
// compare gotune's figures with `go tool pprof` on real runtime profiles.
//
//	profgen -kind cpu|heap|allocs|goroutine|goroutine-text|mutex|block|threadcreate -o FILE [-n N] [-d DURATION] [-labels]
//
// goroutine and goroutine-text park -n goroutines in distinct, known states
// (see parkGoroutines) and write the debug=0 proto or the debug=2 text dump.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync"
	"syscall"
	"time"
)

func main() {
	kind := flag.String("kind", "cpu", "profile kind")
	out := flag.String("o", "", "output file")
	n := flag.Int("n", 100, "goroutines to park (goroutine kinds)")
	d := flag.Duration("d", 1500*time.Millisecond, "CPU workload duration")
	flag.IntVar(&flatAllocs, "allocs", 2000, "allocations made by allocFlat (heap kinds)")
	flag.BoolVar(&cpuLabels, "labels", false, "run each CPU workload under a pprof label phase=fib|spin|hash (cpu kind)")
	flag.Parse()
	if err := run(*kind, *out, *n, *d); err != nil {
		fmt.Fprintln(os.Stderr, "profgen:", err)
		os.Exit(1)
	}
}

func run(kind, out string, n int, d time.Duration) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	switch kind {
	case "cpu":
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		burnCPU(d)
		pprof.StopCPUProfile()
	case "heap", "allocs":
		runtime.MemProfileRate = 4096
		keep := allocTree(6)
		keep2 := allocFlat()
		runtime.GC()
		err = pprof.Lookup(kind).WriteTo(f, 0)
		runtime.KeepAlive(keep)
		runtime.KeepAlive(keep2)
	case "goroutine", "goroutine-text":
		stop := parkGoroutines(n)
		debug := 0
		if kind == "goroutine-text" {
			debug = 2
		}
		err = pprof.Lookup("goroutine").WriteTo(f, debug)
		stop()
	case "mutex":
		runtime.SetMutexProfileFraction(1)
		contend()
		err = pprof.Lookup("mutex").WriteTo(f, 0)
	case "block":
		runtime.SetBlockProfileRate(1)
		contend()
		err = pprof.Lookup("block").WriteTo(f, 0)
	case "threadcreate":
		err = pprof.Lookup("threadcreate").WriteTo(f, 0)
	default:
		return fmt.Errorf("unknown kind %q", kind)
	}
	if err != nil {
		return err
	}
	return f.Close()
}

var (
	sink       int
	flatAllocs int
	cpuLabels  bool
)

//go:noinline
func fib(n int) int {
	if n < 2 {
		return n
	}
	return fib(n-1) + fib(n-2)
}

//go:noinline
func spin(k int) int {
	s := 0
	for i := range k {
		s += i * i % 7
	}
	return s
}

//go:noinline
func hashLoop(k int) int {
	h := uint64(14695981039346656037)
	for i := range k {
		h ^= uint64(i)
		h *= 1099511628211
	}
	return int(h)
}

// burnCPU runs until the process has used d of CPU time (not wall time), so
// a loaded machine still yields a profile with enough samples.
func burnCPU(d time.Duration) {
	start := cpuTime()
	for cpuTime()-start < d {
		if cpuLabels {
			ctx := context.Background()
			pprof.Do(ctx, pprof.Labels("phase", "fib"), func(context.Context) { sink += fib(22) })
			pprof.Do(ctx, pprof.Labels("phase", "spin"), func(context.Context) { sink += spin(200000) })
			pprof.Do(ctx, pprof.Labels("phase", "hash", "kind", "fnv"), func(context.Context) { sink += hashLoop(100000) })
			continue
		}
		sink += fib(22)
		sink += spin(200000)
		sink += hashLoop(100000)
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type node struct {
	buf      []byte
	children []*node
}

// allocTree allocates recursively, so the heap profile has recursive stacks.
//
//go:noinline
func allocTree(depth int) *node {
	n := &node{buf: make([]byte, 1024*depth)}
	if depth > 0 {
		for range 3 {
			n.children = append(n.children, allocTree(depth-1))
		}
	}
	return n
}

//go:noinline
func allocFlat() [][]byte {
	var out [][]byte
	for i := range flatAllocs {
		out = append(out, make([]byte, 512+i%64))
	}
	return out
}

func contend() {
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 2000 {
				mu.Lock()
				sink += spin(200 + g)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	ch := make(chan int)
	go func() {
		for i := range 200 {
			time.Sleep(50 * time.Microsecond)
			ch <- i
		}
		close(ch)
	}()
	for range ch {
	}
}

// parkGoroutines starts n goroutines split over four states: 40% blocked on a
// channel receive, 30% in a select, 20% waiting for a mutex, 10% sleeping.
// Half of the channel receivers carry a pprof label. It returns once all are
// parked.
func parkGoroutines(n int) (stop func()) {
	release := make(chan struct{})
	var mu sync.Mutex
	mu.Lock()
	var started sync.WaitGroup
	counts := split(n)
	fmt.Fprintf(os.Stderr, "chanrecv=%d select=%d mutex=%d sleep=%d\n", counts[0], counts[1], counts[2], counts[3])
	for i := range counts[0] {
		started.Add(1)
		if i%2 == 0 {
			go pprof.Do(context.Background(), pprof.Labels("worker", "labelled"), func(context.Context) {
				started.Done()
				chanWaiter(release)
			})
		} else {
			go func() { started.Done(); chanWaiter(release) }()
		}
	}
	for range counts[1] {
		started.Add(1)
		go func() { started.Done(); selectWaiter(release, nil) }()
	}
	for range counts[2] {
		started.Add(1)
		go func() { started.Done(); mutexWaiter(&mu) }()
	}
	for range counts[3] {
		started.Add(1)
		go func() { started.Done(); sleeper() }()
	}
	started.Wait()
	// Let every goroutine reach its blocking point.
	for runtime.NumGoroutine() < n {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	os.Setenv("PROFGEN_COUNTS", strconv.Itoa(n))
	return func() { close(release); mu.Unlock() }
}

func split(n int) [4]int {
	a, b, c := n*4/10, n*3/10, n*2/10
	return [4]int{a, b, c, n - a - b - c}
}

//go:noinline
func chanWaiter(c chan struct{}) { <-c }

//go:noinline
func selectWaiter(c, d chan struct{}) {
	select {
	case <-c:
	case <-d:
	}
}

//go:noinline
func mutexWaiter(mu *sync.Mutex) { mu.Lock(); mu.Unlock() }

//go:noinline
func sleeper() { time.Sleep(time.Hour) }
