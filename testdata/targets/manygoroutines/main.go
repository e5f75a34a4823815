// Command manygoroutines is a test target for gotune's cost on the target:
// it parks -n goroutines (default 200,000) and serves net/http/pprof and
// the gotune agent on a random loopback port. A heartbeat goroutine wakes
// every millisecond and records how late it woke (its longest scheduling
// gap: a stop-the-world pause shows up here); GET /heartbeat returns the
// longest gap and the process CPU seconds so far as JSON, and
// GET /heartbeat?reset=1 starts a new measurement. It prints
// "ready <pid> <url>" and serves until killed.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"sync"
	"syscall"
	"time"

	_ "github.com/gotune/gotune/agent"
)

var (
	mu     sync.Mutex
	maxGap time.Duration
	since  = time.Now()
)

func heartbeat() {
	const tick = time.Millisecond
	last := time.Now()
	for {
		time.Sleep(tick)
		now := time.Now()
		gap := now.Sub(last) - tick
		last = now
		mu.Lock()
		maxGap = max(maxGap, gap)
		mu.Unlock()
	}
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

func main() {
	n := flag.Int("n", 200000, "goroutines to park")
	flag.Parse()
	block := make(chan struct{})
	var wg sync.WaitGroup
	for range *n {
		wg.Add(1)
		go func() {
			wg.Done()
			<-block
		}()
	}
	wg.Wait()
	go heartbeat()
	http.HandleFunc("/heartbeat", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if r.URL.Query().Get("reset") != "" {
			maxGap, since = 0, time.Now()
		}
		out := map[string]float64{"max_gap_seconds": maxGap.Seconds(), "cpu_seconds": cpuSeconds(), "seconds": time.Since(since).Seconds()}
		mu.Unlock()
		json.NewEncoder(w).Encode(out)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("ready %d http://%s\n", os.Getpid(), ln.Addr())
	_ = http.Serve(ln, nil)
}
