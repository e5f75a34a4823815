// Command demoparent starts a demo workload child with demo.StartChild,
// prints "PID URL" of the child on one line and then waits to be killed.
// The demo package's tests SIGKILL it and check that the child goes too.
//
//	demoparent [--no-death-signal] CHILD-EXE [child workload flags]
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/gotune/gotune/demo"
)

func main() {
	args := os.Args[1:]
	spec := demo.ChildSpec{}
	if len(args) > 0 && args[0] == "--no-death-signal" {
		spec.NoDeathSignal = true
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: demoparent [--no-death-signal] CHILD-EXE [flags]")
		os.Exit(2)
	}
	spec.Exe, spec.Args = args[0], args[1:]
	c, err := spec.Start(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "demoparent:", err)
		os.Exit(1)
	}
	fmt.Printf("%d %s\n", c.PID, c.URL)
	err = c.Wait()
	fmt.Fprintln(os.Stderr, "demoparent: child exited:", err)
	os.Exit(1)
}
