// Command episodes is a test target for gotune's triggers: a Go program
// that is quiet until told to misbehave, then leaks goroutines or
// allocates hard, in episodes a test starts and ends. It serves
// net/http/pprof and the gotune agent on one random loopback port, prints
// "ready <pid> <addr>" and serves until killed; -flight enables the
// agent's flight recorder.
//
// Episodes are switched by
//
//	GET /control?leak=on|off&alloc=on|off   (answers the state as JSON)
//	SIGUSR1 toggles the leak, SIGUSR2 the allocation
//
// or run on their own with -leak-cycle / -alloc-cycle ON,OFF (e.g.
// 30s,90s: on for 30 s every two minutes), for long experiments.
//
// A leak starts -leak-rate goroutines per second, each parked on a channel
// forever; -release frees them when the episode ends, so a long run stays
// bounded. Hard allocation runs -alloc-workers goroutines allocating and
// dropping small objects in a loop over a small live heap, which keeps
// the GC busy (GC CPU far above a few percent at GOGC=100).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gotune/gotune/agent"
)

type state struct {
	mu      sync.Mutex
	leak    bool
	alloc   bool
	leaked  int
	release chan struct{} // closed to free the leaked goroutines
	stop    chan struct{} // closed to end the allocation
}

var (
	leakRate     = flag.Int("leak-rate", 50, "goroutines leaked per second while leaking")
	allocWorkers = flag.Int("alloc-workers", 2, "goroutines allocating while allocating hard")
	releaseFlag  = flag.Bool("release", false, "free the leaked goroutines when a leak episode ends")
	flight       = flag.Bool("flight", false, "enable the gotune agent's flight recorder (the last 10 s, at most 8 MiB)")
	leakCycle    = flag.String("leak-cycle", "", "ON,OFF: leak for ON every ON+OFF (e.g. 30s,90s)")
	allocCycle   = flag.String("alloc-cycle", "", "ON,OFF: allocate hard for ON every ON+OFF")
	sink         []byte
	sinkMu       sync.Mutex
)

func (s *state) setLeak(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if on == s.leak {
		return
	}
	s.leak = on
	if on {
		s.release = make(chan struct{})
		go s.leaking(s.release)
		return
	}
	if *releaseFlag {
		close(s.release)
		s.leaked = 0
	}
	s.release = nil
}

// leaking parks leakRate goroutines per second until the episode ends,
// catching up after a late tick (a loaded machine), so the rate holds.
func (s *state) leaking(release chan struct{}) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	start, n := time.Now(), 0
	for range tick.C {
		want := int(time.Since(start).Seconds() * float64(*leakRate))
		s.mu.Lock()
		on := s.leak && s.release == release
		if on {
			s.leaked += want - n
		}
		s.mu.Unlock()
		if !on {
			return
		}
		for ; n < want; n++ {
			go leakedWorker(release)
		}
	}
}

// leakedWorker waits for a message that never comes.
func leakedWorker(release chan struct{}) {
	never := make(chan int)
	select {
	case <-never:
	case <-release:
	}
}

func (s *state) setAlloc(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if on == s.alloc {
		return
	}
	s.alloc = on
	if on {
		s.stop = make(chan struct{})
		for range max(1, *allocWorkers) {
			go allocating(s.stop)
		}
		return
	}
	close(s.stop)
}

// allocating allocates and drops small objects as fast as it can.
func allocating(stop chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		var keep [][]byte
		for i := range 1000 {
			keep = append(keep, make([]byte, 64+i%512))
		}
		sinkMu.Lock()
		sink = keep[len(keep)-1]
		sinkMu.Unlock()
	}
}

func (s *state) json() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, _ := json.Marshal(map[string]any{"leak": s.leak, "alloc": s.alloc, "leaked": s.leaked})
	return b
}

// cycle runs set(true) for on, then set(false) for off, forever.
func cycle(spec string, set func(bool)) {
	if spec == "" {
		return
	}
	a, b, ok := strings.Cut(spec, ",")
	on, err1 := time.ParseDuration(a)
	off, err2 := time.ParseDuration(b)
	if !ok || err1 != nil || err2 != nil || on <= 0 || off <= 0 {
		fmt.Fprintf(os.Stderr, "episodes: cycle %q: want ON,OFF durations\n", spec)
		os.Exit(2)
	}
	go func() {
		for {
			set(true)
			time.Sleep(on)
			set(false)
			time.Sleep(off)
		}
	}()
}

func main() {
	flag.Parse()
	if *flight {
		if err := agent.EnableFlightRecorder(agent.FlightRecorderOptions{MinAge: 10 * time.Second, MaxBytes: 8 << 20}); err != nil {
			fmt.Fprintln(os.Stderr, "episodes:", err)
			os.Exit(1)
		}
	}
	s := &state{}
	http.HandleFunc("/control", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		for name, set := range map[string]func(bool){"leak": s.setLeak, "alloc": s.setAlloc} {
			switch q.Get(name) {
			case "on":
				set(true)
			case "off":
				set(false)
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(s.json())
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "episodes:", err)
		os.Exit(1)
	}
	cycle(*leakCycle, s.setLeak)
	cycle(*allocCycle, s.setAlloc)
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGUSR2)
	go func() {
		for sig := range sigs {
			s.mu.Lock()
			leak, alloc := s.leak, s.alloc
			s.mu.Unlock()
			if sig == syscall.SIGUSR1 {
				s.setLeak(!leak)
			} else {
				s.setAlloc(!alloc)
			}
		}
	}()
	fmt.Printf("ready %d %s\n", os.Getpid(), ln.Addr())
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() { _ = srv.Serve(ln) }()
	<-ctx.Done()
}
