// Command demochild is a stand-in for `gotune demo --serve ADDR` in the demo
// package's tests: it accepts the same arguments, so tests do not depend on
// the CLI. It prints the base URL as the first line of stdout and exits
// cleanly on SIGINT, SIGTERM or when its parent goes away.
//
//	demochild demo --serve 127.0.0.1:0 [workload flags]
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/gotune/gotune/demo"
	"github.com/spf13/pflag"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx = demo.WatchParent(ctx)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demochild:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "demo" {
		return fmt.Errorf("usage: demochild demo --serve ADDR [flags], got %q", args)
	}
	fs := pflag.NewFlagSet("demo", pflag.ContinueOnError)
	cfg := demo.DefaultConfig()
	cfg.AddFlags(fs)
	addr := fs.String("serve", "127.0.0.1:0", "address to serve pprof and the agent on")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	return demo.Serve(ctx, *addr, cfg, func(url string) {
		fmt.Println(url)
	})
}
