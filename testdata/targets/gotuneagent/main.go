// Command gotuneagent is a test target for gotune: a Go program serving the
// gotune agent (github.com/gotune/gotune/agent) on a random loopback port. It
// prints "ready <pid> <addr>" and serves until killed.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"

	_ "github.com/gotune/gotune/agent"
)

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "gotuneagent:", err)
		os.Exit(1)
	}
	fmt.Printf("ready %d %s\n", os.Getpid(), ln.Addr())
	_ = http.Serve(ln, nil)
}
