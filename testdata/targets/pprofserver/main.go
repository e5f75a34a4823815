// Command pprofserver is a test target for gotune: a Go program serving
// net/http/pprof on a loopback port (a random one, or the address given as
// its one argument, so a test can restart it on the same port). It prints
// "ready <pid> <addr>" and serves until killed.
package main

import (
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
)

func main() {
	addr := "127.0.0.1:0"
	if len(os.Args) > 1 {
		addr = os.Args[1]
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pprofserver:", err)
		os.Exit(1)
	}
	fmt.Printf("ready %d %s\n", os.Getpid(), ln.Addr())
	_ = http.Serve(ln, nil)
}
