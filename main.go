// Command gotune is a terminal profiling and tuning dashboard for Go processes.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/gotune/gotune/cli"
	"github.com/gotune/gotune/internal/gcstart"
)

func main() {
	gcstart.Defer() // a short command ends before its first collection
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(cli.ExitCode(err, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if err := cli.Run(ctx, args, stdout, stderr); err != nil {
		return fmt.Errorf("gotune: %w", err)
	}
	return nil
}
