// Command gopsagent is a test target for gotune: a Go program running the
// gops agent (github.com/google/gops/agent) on a random loopback port. It
// writes its port file to $GOPS_CONFIG_DIR (else ~/.config/gops), prints
// "ready <pid> <port>" and then idles, allocating a little so memstats move.
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/google/gops/agent"
)

var keep [][]byte

func main() {
	if err := agent.Listen(agent.Options{Addr: "127.0.0.1:0"}); err != nil {
		fmt.Fprintln(os.Stderr, "gopsagent:", err)
		os.Exit(1)
	}
	keep = append(keep, make([]byte, 1<<20))
	port := readPort()
	fmt.Printf("ready %d %s\n", os.Getpid(), port)
	for {
		time.Sleep(100 * time.Millisecond)
		keep = append(keep[len(keep)-min(len(keep), 8):], make([]byte, 64<<10))
	}
}

// readPort returns the port the agent wrote to its port file, or "?".
func readPort() string {
	dir := os.Getenv("GOPS_CONFIG_DIR")
	if dir == "" {
		if d, err := os.UserConfigDir(); err == nil {
			dir = d + "/gops"
		}
	}
	b, err := os.ReadFile(fmt.Sprintf("%s/%d", dir, os.Getpid()))
	if err != nil {
		return "?"
	}
	return string(b)
}
