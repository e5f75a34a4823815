// Command slowpprof is a test target for gotune: net/http/pprof on a
// loopback port whose profile fetches are slow or never answered, for the
// bounds of a snapshot window. Metrics pages (a ?debug=1 page) answer at
// once unless -hang is given.
//
//	slowpprof [-addr 127.0.0.1:0] [-slow 8s] [-hang]
//
// -slow delays every profile fetch (a /debug/pprof/ request without
// ?debug=) by that long; -hang accepts every connection and never answers
// any request. It prints "ready <pid> <addr>" and serves until killed.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"strings"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	slow := flag.Duration("slow", 0, "delay of every profile fetch")
	hang := flag.Bool("hang", false, "never answer any request")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "slowpprof:", err)
		os.Exit(1)
	}
	fmt.Printf("ready %d %s\n", os.Getpid(), ln.Addr())
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if *hang {
			<-r.Context().Done()
			return
		}
		if strings.HasPrefix(r.URL.Path, "/debug/pprof/") && r.URL.Query().Get("debug") == "" && *slow > 0 {
			select {
			case <-time.After(*slow):
			case <-r.Context().Done():
				return
			}
		}
		switch {
		case r.URL.Path == "/debug/pprof/profile":
			pprof.Profile(w, r)
		case r.URL.Path == "/debug/pprof/trace":
			pprof.Trace(w, r)
		case strings.HasPrefix(r.URL.Path, "/debug/pprof/"):
			pprof.Index(w, r)
		default:
			http.NotFound(w, r)
		}
	})
	_ = http.Serve(ln, h)
}
