// Command metricsserver is a test target: a Go service that exposes its
// runtime metrics one way (-mode), holds a fixed live heap and allocates
// steadily, and prints its base URL as the first line of stdout.
//
//	-mode agent        net/http/pprof + the gotune agent
//	-mode promdefault  client_golang's default registry on /metrics
//	-mode promall      client_golang with every runtime/metrics series
//	-mode expvar       expvar /debug/vars only
//	-mode pprof        net/http/pprof only
//
// GET /self answers with the target's own reading of its live heap, so tests
// can compare what gotune collected with what the process itself saw.
package main

import (
	"encoding/json"
	"expvar"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"regexp"
	"runtime"
	"runtime/metrics"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gotune/gotune/agent"
)

var retained [][]byte

func main() {
	mode := flag.String("mode", "agent", "agent | promdefault | promall | expvar | pprof")
	liveMiB := flag.Int("live", 32, "MiB of live heap to hold")
	doChurn := flag.Bool("churn", true, "allocate about 20 MiB/s")
	// Ignored: secrets planted on the command line for redaction tests.
	flag.String("password", "", "ignored")
	flag.String("api-token", "", "ignored")
	flag.Parse()

	for i := 0; i < *liveMiB; i++ {
		retained = append(retained, make([]byte, 1<<20))
	}
	mux := http.NewServeMux()
	switch *mode {
	case "agent":
		registerPprof(mux)
		mux.Handle(agent.Path, agent.Handler())
	case "promdefault":
		mux.Handle("/metrics", promhttp.Handler()) // default registry: Go + process collectors
	case "promall":
		reg := prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(
			collectors.GoRuntimeMetricsRule{Matcher: regexp.MustCompile("/.*")})))
		reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	case "expvar":
		mux.Handle("/debug/vars", expvar.Handler())
	case "pprof":
		registerPprof(mux)
	default:
		fmt.Fprintln(os.Stderr, "unknown -mode", *mode)
		os.Exit(2)
	}
	mux.HandleFunc("/self", func(w http.ResponseWriter, r *http.Request) {
		s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}, {Name: "/sched/goroutines:goroutines"}, {Name: "/gc/heap/allocs:bytes"}}
		metrics.Read(s)
		json.NewEncoder(w).Encode(map[string]uint64{"heap_live": s[0].Value.Uint64(), "heap_alloc": s[1].Value.Uint64(),
			"goroutines": s[2].Value.Uint64(), "heap_allocs": s[3].Value.Uint64()})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("http://%s\n", ln.Addr())
	if *doChurn {
		go churn()
	}
	http.Serve(ln, mux)
}

func registerPprof(mux *http.ServeMux) {
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
}

var sink []byte

// churn allocates about 20 MiB/s in 64 KiB pieces so the GC runs.
func churn() {
	t := time.NewTicker(10 * time.Millisecond)
	for range t.C {
		for i := 0; i < 3; i++ {
			sink = make([]byte, 64<<10)
		}
		runtime.Gosched()
	}
}
