// Command exporttarget is a test target for gotune's export package: a Go
// program serving net/http/pprof and the gotune agent on one random
// loopback port while it allocates and burns CPU under pprof labels, so
// its profiles have samples, labels and several sample types. It prints
// "ready <pid> <addr>" and serves until killed.
package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"runtime/pprof"
	"strconv"
	"time"

	_ "github.com/gotune/gotune/agent"
)

var sink [][]byte

func work(n int) {
	buf := make([][]byte, 0, 256)
	for i := range n {
		buf = append(buf, make([]byte, 512+i%4096))
		if len(buf) == cap(buf) {
			buf = buf[:0]
		}
	}
	sink = buf
}

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "exporttarget:", err)
		os.Exit(1)
	}
	for w := range 2 {
		go pprof.Do(context.Background(), pprof.Labels("worker", strconv.Itoa(w)), func(context.Context) {
			for {
				work(20000 * (w + 1))
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	fmt.Printf("ready %d %s\n", os.Getpid(), ln.Addr())
	_ = http.Serve(ln, nil)
}
