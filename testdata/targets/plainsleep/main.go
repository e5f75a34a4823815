// Command plainsleep is a test target for gotune: a Go program with no
// agent, no HTTP server and no dependencies. It prints "ready <pid>" and
// sleeps until killed, so gotune can reach it only through the OS.
package main

import (
	"fmt"
	"os"
	"time"
)

func main() {
	fmt.Printf("ready %d\n", os.Getpid())
	for {
		time.Sleep(time.Hour)
	}
}
