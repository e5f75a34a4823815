// Command pprofserver is a test target for gotune: a Go program serving
// net/http/pprof on a random loopback port. It prints "ready <pid> <addr>"
// and serves until killed.
package main

import (
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
)

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "pprofserver:", err)
		os.Exit(1)
	}
	fmt.Printf("ready %d %s\n", os.Getpid(), ln.Addr())
	_ = http.Serve(ln, nil)
}
