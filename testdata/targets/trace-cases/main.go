// Command trace-cases is a test target for gotune's execution-trace
// analysis: each -case runs a workload built to show one thing in a trace,
// and either writes a runtime/trace of it (-o) or serves net/http/pprof
// while it runs (-serve) so /debug/pprof/trace can capture it.
//
//	trace-cases -case stw -d 1s -o stw.trace
//	trace-cases -case lock -serve 127.0.0.1:0     # prints "ready <pid> <addr>"
//
// Cases:
//
//	stw      long stop-the-world pauses: a goroutine in a call-free loop with
//	         asynchronous preemption off (GODEBUG=asyncpreemptoff=1, set by
//	         re-executing itself) delays every runtime.GC's stop
//	assist   heavy GC mark assists: a large pointer-rich live heap, GOGC=25,
//	         goroutines allocating as fast as they can
//	lock     lock and channel contention: workers hold one sync.Mutex while
//	         they sleep, producers block on an unbuffered channel, a select waits
//	syscall  blocking syscalls: nanosleep(2) and read(2) on a blocking pipe
//	net      network waits: HTTP requests to a slow loopback handler
//	idleps   scheduler latency with idle Ps: GOMAXPROCS 4 pinned to one CPU
//	         (sched_setaffinity on every thread), CPU spinners handing work
//	         to consumers over a channel
//	mix      all of the above at once, plus a channel ping-pong
//	big      many events fast, for big traces: channel ping-pongs with the
//	         lock, syscall and net cases (and GC from their garbage)
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/trace"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	which := flag.String("case", "mix", "stw, assist, lock, syscall, net, idleps, mix or big")
	dur := flag.Duration("d", time.Second, "how long to trace (with -o)")
	out := flag.String("o", "", "write an execution trace of the workload to this file")
	serve := flag.String("serve", "", "serve net/http/pprof on this address while the workload runs")
	procs := flag.Int("procs", 2, "GOMAXPROCS (idleps uses 4)")
	flight := flag.Bool("flightrecorder", false, "with -serve: also run a flight recorder and serve its snapshot at /debug/gotune/flightrecorder, as gotune's agent does")
	flag.Parse()

	if *which == "stw" || *which == "mix" {
		reexecWith("asyncpreemptoff=1")
	}
	runtime.GOMAXPROCS(*procs)
	if *which == "idleps" {
		runtime.GOMAXPROCS(4)
		pinToOneCPU()
	}
	if *which == "assist" || *which == "mix" {
		buildLiveHeap() // before the trace starts: the trace shows the steady state
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	start := func(f func(stop <-chan struct{})) {
		wg.Add(1)
		go func() { defer wg.Done(); f(stop) }()
	}
	switch *which {
	case "stw":
		start(stwCase)
	case "assist":
		start(assistCase)
	case "lock":
		start(lockCase)
	case "syscall":
		start(syscallCase)
	case "net":
		start(netCase)
	case "idleps":
		start(idlePsCase)
	case "big":
		for _, f := range []func(<-chan struct{}){pingPong, pingPong, lockCase, syscallCase, netCase} {
			start(f)
		}
	case "mix":
		for _, f := range []func(<-chan struct{}){stwCase, assistCase, lockCase, syscallCase, netCase, pingPong} {
			start(f)
		}
	default:
		fail(fmt.Errorf("unknown case %q", *which))
	}

	if *serve != "" {
		ln, err := net.Listen("tcp", *serve)
		if err != nil {
			fail(err)
		}
		if *flight {
			serveFlightRecorder()
		}
		fmt.Printf("ready %d %s\n", os.Getpid(), ln.Addr())
		fail(http.Serve(ln, nil))
	}
	if *out == "" {
		fail(fmt.Errorf("give -o FILE or -serve ADDR"))
	}
	f, err := os.Create(*out)
	if err != nil {
		fail(err)
	}
	time.Sleep(20 * time.Millisecond) // let the workload start
	if err := trace.Start(f); err != nil {
		fail(err)
	}
	time.Sleep(*dur)
	if *which == "assist" {
		// At least one whole GC cycle lies inside the trace, however busy
		// the machine: a cycle the trace only saw start is not counted.
		runtime.GC()
	}
	trace.Stop()
	close(stop)
	wg.Wait()
	if err := f.Close(); err != nil {
		fail(err)
	}
}

// serveFlightRecorder keeps the last seconds of execution trace in memory
// and writes a snapshot on request (runtime/trace.FlightRecorder, Go ≥1.25).
func serveFlightRecorder() {
	fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{MinAge: 2 * time.Second, MaxBytes: 16 << 20})
	if err := fr.Start(); err != nil {
		fail(err)
	}
	var mu sync.Mutex // one snapshot at a time: WriteTo refuses concurrent calls
	http.HandleFunc("/debug/gotune/flightrecorder", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/octet-stream")
		if _, err := fr.WriteTo(w); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "trace-cases:", err)
	os.Exit(1)
}

// reexecWith restarts the program with setting added to GODEBUG: the
// runtime reads asyncpreemptoff once, at start.
func reexecWith(setting string) {
	if strings.Contains(os.Getenv("GODEBUG"), setting) {
		return
	}
	exe, err := os.Executable()
	if err != nil {
		fail(err)
	}
	env := append(os.Environ(), "GODEBUG="+strings.Trim(os.Getenv("GODEBUG")+","+setting, ","))
	fail(syscall.Exec(exe, os.Args, env))
}

// stopped reports whether stop is closed.
func stopped(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

// --- stw ---

var sink uint64

// spinNoCalls runs n iterations of arithmetic with no function call, so
// without asynchronous preemption nothing can stop it.
//
//go:noinline
func spinNoCalls(n int) uint64 {
	x := uint64(n)
	for i := 0; i < n; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

func stwCase(stop <-chan struct{}) {
	// About 40 ms of spinning on a typical core.
	const n = 40_000_000
	for !stopped(stop) {
		done := make(chan struct{})
		go func() { sink += spinNoCalls(n); close(done) }()
		time.Sleep(2 * time.Millisecond) // let the spinner take a P
		runtime.GC()                     // its STW waits for the spinner
		<-done
		time.Sleep(20 * time.Millisecond)
	}
}

// --- assist ---

type node struct {
	next  *node
	left  *node
	value [4]uint64
}

var liveHeap []*node

// buildLiveHeap makes a pointer-rich live heap the GC must mark every
// cycle (~56 MB).
func buildLiveHeap() {
	var head *node
	for i := 0; i < 1_000_000; i++ {
		head = &node{next: head, left: head}
	}
	liveHeap = append(liveHeap, head)
}

func assistCase(stop <-chan struct{}) {
	debug.SetGCPercent(25)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			allocate(stop, w)
		}()
	}
	wg.Wait()
}

// allocate allocates small pointerful objects as fast as it can, keeping a
// ring of them alive.
//
//go:noinline
func allocate(stop <-chan struct{}, w int) {
	ring := make([]*node, 4096)
	for i := 0; ; i++ {
		if i%1024 == 0 && stopped(stop) {
			return
		}
		ring[i%len(ring)] = &node{value: [4]uint64{uint64(i), uint64(w)}}
	}
}

// --- lock ---

var mu sync.Mutex

func lockCase(stop <-chan struct{}) {
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() { defer wg.Done(); lockWorker(stop) }()
	}
	ch := make(chan int)
	for range 3 {
		wg.Add(1)
		go func() { defer wg.Done(); chanProducer(stop, ch) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); slowConsumer(stop, ch) }()
	ticks := make(chan int)
	wg.Add(1)
	go func() { defer wg.Done(); tickProducer(stop, ticks) }()
	wg.Add(1)
	go func() { defer wg.Done(); chanConsumer(ticks) }()
	wg.Add(1)
	go func() { defer wg.Done(); selectWaiter(stop) }()
	wg.Wait()
}

// lockWorker holds mu for 300 µs at a time, so the others queue on it.
//
//go:noinline
func lockWorker(stop <-chan struct{}) {
	for !stopped(stop) {
		mu.Lock()
		time.Sleep(300 * time.Microsecond)
		mu.Unlock()
	}
}

//go:noinline
func chanProducer(stop <-chan struct{}, ch chan<- int) {
	for i := 0; ; i++ {
		select {
		case ch <- i:
		case <-stop:
			return
		}
	}
}

//go:noinline
func slowConsumer(stop <-chan struct{}, ch <-chan int) {
	for !stopped(stop) {
		<-ch
		time.Sleep(time.Millisecond)
	}
	// Drain so producers can see stop.
	for {
		select {
		case <-ch:
		case <-time.After(50 * time.Millisecond):
			return
		}
	}
}

// tickProducer sends every 2 ms, so chanConsumer waits in "chan receive".
//
//go:noinline
func tickProducer(stop <-chan struct{}, ch chan<- int) {
	for i := 0; !stopped(stop); i++ {
		time.Sleep(2 * time.Millisecond)
		ch <- i
	}
	close(ch)
}

//go:noinline
func chanConsumer(ch <-chan int) {
	for {
		if _, ok := <-ch; !ok {
			return
		}
	}
}

//go:noinline
func selectWaiter(stop <-chan struct{}) {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	never := make(chan int)
	for {
		select {
		case <-t.C:
		case <-never:
		case <-stop:
			return
		}
	}
}

// --- syscall ---

func syscallCase(stop <-chan struct{}) {
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); nanosleeper(stop) }()
	}
	var p [2]int
	if err := syscall.Pipe(p[:]); err != nil { // blocking fds, not in the netpoller
		fail(err)
	}
	wg.Add(1)
	go func() { defer wg.Done(); pipeReader(p[0]) }()
	for !stopped(stop) {
		time.Sleep(3 * time.Millisecond)
		syscall.Write(p[1], []byte{1})
	}
	syscall.Close(p[1])
	wg.Wait()
	syscall.Close(p[0])
}

//go:noinline
func nanosleeper(stop <-chan struct{}) {
	ts := syscall.Timespec{Nsec: 2_000_000}
	for !stopped(stop) {
		syscall.Nanosleep(&ts, nil)
	}
}

//go:noinline
func pipeReader(fd int) {
	buf := make([]byte, 1)
	for {
		n, err := syscall.Read(fd, buf)
		if n <= 0 || err != nil {
			return
		}
	}
}

// --- net ---

func netCase(stop <-chan struct{}) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(2 * time.Millisecond)
		w.Write([]byte("ok"))
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	url := "http://" + ln.Addr().String() + "/slow"
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() { defer wg.Done(); netClient(stop, url) }()
	}
	wg.Wait()
	srv.Close()
}

//go:noinline
func netClient(stop <-chan struct{}, url string) {
	c := &http.Client{Timeout: 5 * time.Second}
	for !stopped(stop) {
		resp, err := c.Get(url)
		if err != nil {
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// --- idleps ---

// pinToOneCPU restricts every thread of the process to the first CPU it
// may use; threads created later inherit the mask.
func pinToOneCPU() {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		fail(err)
	}
	first := -1
	for i := 0; i < 1024; i++ {
		if set.IsSet(i) {
			first = i
			break
		}
	}
	set.Zero()
	set.Set(first)
	tasks, _ := filepath.Glob("/proc/self/task/*")
	for _, t := range tasks {
		tid, err := strconv.Atoi(filepath.Base(t))
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, &set); err != nil {
			fail(err)
		}
	}
}

func idlePsCase(stop <-chan struct{}) {
	var wg sync.WaitGroup
	work := make(chan int, 64)
	for range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); spinner(stop, work) }()
	}
	var cw sync.WaitGroup
	for range 4 {
		cw.Add(1)
		go func() { defer cw.Done(); consumer(work) }()
	}
	wg.Wait()
	close(work)
	cw.Wait()
}

//go:noinline
func work(n int) uint64 {
	x := uint64(n)
	for i := 0; i < n; i++ {
		x ^= x<<13 ^ x>>7
	}
	return x
}

// spinner computes and hands out work as it goes: each send readies a
// consumer on the spinner's own P, and an idle P can take it only once the
// OS runs the thread woken for it — on one CPU, after the spinners' threads.
//
//go:noinline
func spinner(stop <-chan struct{}, out chan<- int) {
	for i := 0; !stopped(stop); i++ {
		sink += work(20_000)
		select {
		case out <- i:
		default:
		}
	}
}

//go:noinline
func consumer(in <-chan int) {
	for range in {
		sink += work(2000)
	}
}

// --- mix: many events ---

//go:noinline
func pingPong(stop <-chan struct{}) {
	var wg sync.WaitGroup
	for range 2 {
		a, b := make(chan int), make(chan int)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for v := range a {
				b <- v + 1
			}
			close(b)
		}()
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf bytes.Buffer
			for i := 0; !stopped(stop); i++ {
				a <- i
				<-b
				if i%4096 == 0 {
					buf.Reset()
				}
			}
			close(a)
			for range b {
			}
		}()
	}
	wg.Wait()
}
