// Command craftedpprof is a test target for gotune's memory budgets: a Go
// program on a random loopback port whose net/http/pprof endpoints serve
// crafted profiles (internal/crafted) instead of its own: every profile
// endpoint (heap, allocs, goroutine, mutex, block, threadcreate, and
// profile for CPU) answers with a profile of -samples samples shaped like
// that kind (its sample types), gzipped as net/http/pprof sends them. The
// text pages (?debug=1, the goroutine dump) and expvar are the real ones,
// so gotune finds metrics as on any pprof server.
//
// It builds every profile before it prints "ready <pid> <addr>", then
// serves until killed.
//
//	craftedpprof -samples 3000000 [-depth 8] [-stacks 64] [-string-bytes N]
//	craftedpprof -dir DIR   (profiles written before, one per kind)
package main

import (
	"expvar"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"strings"

	"github.com/gotune/gotune/internal/crafted"
)

// kindTypes are each endpoint's sample types, as the runtime writes them
// (crafted.KindTypes).
var kindTypes = map[string][]string{
	"heap":         {"alloc_objects", "alloc_space", "inuse_objects", "inuse_space"},
	"allocs":       {"alloc_objects", "alloc_space", "inuse_objects", "inuse_space"},
	"goroutine":    {"goroutine"},
	"threadcreate": {"threadcreate"},
	"mutex":        {"contentions", "delay"},
	"block":        {"contentions", "delay"},
	"profile":      {"samples", "cpu"},
}

func main() {
	var spec crafted.Profile
	flag.IntVar(&spec.Samples, "samples", 3_000_000, "samples per profile")
	flag.IntVar(&spec.Depth, "depth", 8, "locations per sample")
	flag.IntVar(&spec.Stacks, "stacks", 64, "distinct stacks")
	flag.IntVar(&spec.Locations, "locations", 1000, "distinct locations")
	flag.IntVar(&spec.Labels, "labels", 0, "string labels per sample")
	flag.IntVar(&spec.ValueRange, "value-range", 128, "sample values are in [1, value-range]")
	flag.Int64Var(&spec.StringBytes, "string-bytes", 0, "extra string-table bytes per profile")
	flag.IntVar(&spec.Level, "level", 6, "gzip level")
	dir := flag.String("dir", "", "serve DIR/<kind>.pb.gz (KindTypes' kinds) instead of building the profiles")
	flag.Parse()

	bodies := map[string][]byte{}
	shapes := map[string][]byte{} // one body per set of sample types
	for kind := range kindTypes {
		if *dir == "" {
			break
		}
		b, err := os.ReadFile(filepath.Join(*dir, kind+".pb.gz"))
		if err != nil {
			fmt.Fprintln(os.Stderr, "craftedpprof:", err)
			os.Exit(1)
		}
		bodies[kind] = b
	}
	for kind, types := range kindTypes {
		if *dir != "" {
			break
		}
		key := strings.Join(types, ",")
		if b, ok := shapes[key]; ok && kind != "heap" && kind != "allocs" {
			bodies[kind] = b
			continue
		}
		s := spec
		s.Types = types
		s.Seed = uint64(len(bodies))
		bodies[kind] = s.Bytes()
		shapes[key] = bodies[kind]
	}

	mux := http.NewServeMux()
	mux.Handle("/debug/vars", expvar.Handler())
	mux.HandleFunc("/debug/pprof/", func(w http.ResponseWriter, r *http.Request) {
		kind := strings.TrimPrefix(r.URL.Path, "/debug/pprof/")
		body, ok := bodies[kind]
		if !ok || r.URL.Query().Get("debug") != "" && r.URL.Query().Get("debug") != "0" {
			pprof.Index(w, r) // the index, the text pages and the dump
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, kind))
		w.Write(body)
	})
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "craftedpprof:", err)
		os.Exit(1)
	}
	fmt.Printf("ready %d %s %d\n", os.Getpid(), ln.Addr(), len(bodies["heap"]))
	_ = http.Serve(ln, mux)
}
