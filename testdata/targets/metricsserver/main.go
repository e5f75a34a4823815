// Command metricsserver is a test target: a Go service that exposes its
// runtime metrics one way (-mode), holds a fixed live heap and allocates
// steadily, and prints where it listens as the first line of stdout.
//
//	-mode agent        net/http/pprof + the gotune agent
//	-mode promdefault  client_golang's default registry on /metrics
//	-mode promall      client_golang with every runtime/metrics series
//	-mode expvar       expvar /debug/vars only
//	-mode pprof        net/http/pprof only
//	-mode split        net/http/pprof on one port, client_golang's default
//	                   registry on /metrics on another
//	-mode gops         a gops agent only (port file in $GOPS_CONFIG_DIR)
//	-mode all          every one of the above on one port, and a gops agent
//
// The first line is the base URL of the main server for the single-port
// modes; for split, gops and all it is "KEY=VALUE" fields: main= (pprof,
// or the one port of all), metrics= (split), gops= (the gops agent's
// address), self= (always).
//
// GET /self answers with the target's own readings of itself
// (runtime/metrics and runtime.ReadMemStats), so tests can compare what
// gotune collected with what the process itself saw. It is on the main
// server, and for split and gops modes on a control listener of its own
// that serves nothing else (no endpoint gotune reads).
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
	"strings"
	"time"

	"github.com/google/gops/agent"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	gotuneagent "github.com/gotune/gotune/agent"
)

var retained [][]byte

func main() {
	mode := flag.String("mode", "agent", "agent | promdefault | promall | expvar | pprof | split | gops | all")
	liveMiB := flag.Int("live", 32, "MiB of live heap to hold")
	doChurn := flag.Bool("churn", true, "allocate steadily (-rate)")
	rateMiB := flag.Int("rate", 20, "MiB/s allocated when churning")
	ptrMiB := flag.Int("ptrs", 0, "MiB of live heap made of small pointer-holding nodes (costly to mark, unlike -live)")
	sites := flag.Int("sites", 0, "allocation sites (distinct stacks) recorded in the heap profile, every allocation sampled: makes heap?debug=1 large")
	// Ignored: secrets planted on the command line for redaction tests.
	flag.String("password", "", "ignored")
	flag.String("api-token", "", "ignored")
	flag.Parse()

	for i := 0; i < *liveMiB; i++ {
		retained = append(retained, make([]byte, 1<<20))
	}
	for i := 0; i < *ptrMiB<<20/64; i++ {
		nodes = &node{next: nodes}
	}
	if *sites > 0 {
		runtime.MemProfileRate = 1
		for k := 0; k < *sites; k++ {
			recurse(k/len(leaves)+1, k%len(leaves))
		}
		runtime.GC() // publish the records to the heap profile
	}
	mux := http.NewServeMux()
	var fields []string
	switch *mode {
	case "agent":
		registerPprof(mux)
		mux.Handle(gotuneagent.Path, gotuneagent.Handler())
	case "promdefault":
		mux.Handle("/metrics", promhttp.Handler()) // default registry: Go + process collectors
	case "promall":
		mux.Handle("/metrics", promAll())
	case "expvar":
		mux.Handle("/debug/vars", expvar.Handler())
	case "pprof":
		registerPprof(mux)
	case "split":
		registerPprof(mux)
		m2 := http.NewServeMux()
		m2.Handle("/metrics", promhttp.Handler())
		fields = append(fields, "metrics="+serve(m2))
	case "gops":
		fields = append(fields, "gops="+startGops())
	case "all":
		registerPprof(mux)
		mux.Handle(gotuneagent.Path, gotuneagent.Handler())
		mux.Handle("/metrics", promAll())
		mux.Handle("/debug/vars", expvar.Handler())
		fields = append(fields, "gops="+startGops())
	default:
		fmt.Fprintln(os.Stderr, "unknown -mode", *mode)
		os.Exit(2)
	}
	mux.HandleFunc("/self", self)
	if *doChurn {
		go churn(*rateMiB)
	}
	switch *mode {
	case "split", "all":
		base := serve(mux)
		fmt.Println(strings.Join(append([]string{"main=" + base, "self=" + base}, fields...), " "))
	case "gops":
		control := http.NewServeMux()
		control.HandleFunc("/self", self)
		fmt.Println(strings.Join(append([]string{"self=" + serve(control)}, fields...), " "))
	default:
		fmt.Println(serve(mux))
	}
	select {}
}

// serve serves mux on a new loopback port and returns its base URL.
func serve(mux *http.ServeMux) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	go http.Serve(ln, mux)
	return "http://" + ln.Addr().String()
}

func startGops() string {
	if err := agent.Listen(agent.Options{Addr: "127.0.0.1:0"}); err != nil {
		fmt.Fprintln(os.Stderr, "gops:", err)
		os.Exit(1)
	}
	dir := os.Getenv("GOPS_CONFIG_DIR")
	if dir == "" {
		if d, err := os.UserConfigDir(); err == nil {
			dir = d + "/gops"
		}
	}
	b, err := os.ReadFile(fmt.Sprintf("%s/%d", dir, os.Getpid()))
	if err != nil {
		fmt.Fprintln(os.Stderr, "gops port file:", err)
		os.Exit(1)
	}
	return "127.0.0.1:" + strings.TrimSpace(string(b))
}

func promAll() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(
		collectors.GoRuntimeMetricsRule{Matcher: regexp.MustCompile("/.*")})))
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

// selfNames are the runtime/metrics /self reports, by their JSON key.
var selfNames = map[string]string{
	"heap_live":   "/gc/heap/live:bytes",
	"heap_alloc":  "/memory/classes/heap/objects:bytes",
	"goroutines":  "/sched/goroutines:goroutines",
	"heap_allocs": "/gc/heap/allocs:bytes",
	"heap_goal":   "/gc/heap/goal:bytes",
	"gc_cycles":   "/gc/cycles/total:gc-cycles",
	"gogc":        "/gc/gogc:percent",
	"gomaxprocs":  "/sched/gomaxprocs:threads",
	"cpu_total":   "/cpu/classes/total:cpu-seconds",
	"cpu_gc":      "/cpu/classes/gc/total:cpu-seconds",
	"cpu_gc_idle": "/cpu/classes/gc/mark/idle:cpu-seconds",
}

// self reports the target's own readings: runtime/metrics, then
// runtime.ReadMemStats (the same cycle unless one ended in between: the
// reply says both cycle counts).
func self(w http.ResponseWriter, r *http.Request) {
	out := map[string]float64{}
	var s []metrics.Sample
	var keys []string
	for k, name := range selfNames {
		keys = append(keys, k)
		s = append(s, metrics.Sample{Name: name})
	}
	metrics.Read(s)
	for i, k := range keys {
		switch s[i].Value.Kind() {
		case metrics.KindUint64:
			out[k] = float64(s[i].Value.Uint64())
		case metrics.KindFloat64:
			out[k] = s[i].Value.Float64()
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	out["memstats_heap_alloc"] = float64(ms.HeapAlloc)
	out["memstats_next_gc"] = float64(ms.NextGC)
	out["memstats_num_gc"] = float64(ms.NumGC)
	out["memstats_last_gc"] = float64(ms.LastGC) / 1e9
	out["memstats_gc_cpu_fraction"] = ms.GCCPUFraction
	out["num_goroutine"] = float64(runtime.NumGoroutine())
	json.NewEncoder(w).Encode(out)
}

func registerPprof(mux *http.ServeMux) {
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
}

var sink []byte

// node is 64 bytes with pointers: the GC must mark every one.
type node struct {
	next *node
	pad  [7]*int
}

var nodes *node

// recurse allocates through leaf at the given depth: each (depth, leaf)
// is a distinct stack in the heap profile.
func recurse(depth, leaf int) {
	if depth > 0 {
		recurse(depth-1, leaf)
		return
	}
	leaves[leaf]()
}

var kept [][]byte

var leaves = []func(){
	func() { kept = append(kept, make([]byte, 64)) },
	func() { kept = append(kept, make([]byte, 96)) },
	func() { kept = append(kept, make([]byte, 128)) },
	func() { kept = append(kept, make([]byte, 160)) },
	func() { kept = append(kept, make([]byte, 192)) },
	func() { kept = append(kept, make([]byte, 224)) },
	func() { kept = append(kept, make([]byte, 256)) },
	func() { kept = append(kept, make([]byte, 288)) },
}

// churn allocates about rate MiB/s in 64 KiB pieces so the GC runs.
func churn(rateMiB int) {
	per := max(1, rateMiB*16/100) // 64 KiB pieces per 10 ms tick
	t := time.NewTicker(10 * time.Millisecond)
	for range t.C {
		for i := 0; i < per; i++ {
			sink = make([]byte, 64<<10)
		}
		if nodes != nil {
			// A little pointer garbage too, so the heap is not all noscan.
			for i := 0; i < per*16; i++ {
				_ = &node{next: nodes}
			}
		}
		runtime.Gosched()
	}
}
