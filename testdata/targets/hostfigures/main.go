// Command hostfigures is a test target whose OS figures are known, for the
// test that checks gopsutil's readings against the kernel's: it keeps
// 64 MiB resident, parks 4 goroutines on OS threads of their own, uses CPU
// (20 ms of every 50 ms) and listens on 127.0.0.1:0 and on [::]:0. It
// prints "ready <pid> <ipv4 port> <dual-stack port>" and runs until killed.
package main

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"time"
)

// resident is touched page by page, so all of it counts in RSS.
var resident []byte

func main() {
	resident = make([]byte, 64<<20)
	for i := 0; i < len(resident); i += 4096 {
		resident[i] = 1
	}
	ln4, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ln6, err := net.Listen("tcp", ":0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, ln := range []net.Listener{ln4, ln6} {
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
	}
	var locked sync.WaitGroup
	for range 4 {
		locked.Add(1)
		go func() {
			runtime.LockOSThread()
			locked.Done()
			select {}
		}()
	}
	locked.Wait()
	go func() {
		for {
			for end := time.Now().Add(20 * time.Millisecond); time.Now().Before(end); {
			}
			time.Sleep(30 * time.Millisecond)
		}
	}()
	fmt.Printf("ready %d %d %d\n", os.Getpid(), ln4.Addr().(*net.TCPAddr).Port, ln6.Addr().(*net.TCPAddr).Port)
	select {}
}
