// Command oldgomod is a test target for gotune: a plain sleeping Go program
// built with the GODEBUG defaults of a go.mod older than Go 1.25, so its
// build info's DefaultGODEBUG holds containermaxprocs=0 and updatemaxprocs=0
// and its GOMAXPROCS ignores cgroup CPU quotas.
//
//go:debug containermaxprocs=0
//go:debug updatemaxprocs=0
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
