// Package cli is gotune's command line: it parses arguments, wires collectors,
// the session store and the analysis packages together, and prints results.
// Each subcommand lives in its own file and registers itself in commands().
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/gotune/gotune/safetext"
	"github.com/spf13/cobra"
)

// Version is gotune's version, set at build time with
// -ldflags "-X github.com/gotune/gotune/cli.Version=v1.2.3".
var Version = "v0.1.0-dev"

// env carries what every subcommand needs: where to print and the
// process-wide context (cancelled on SIGINT/SIGTERM).
type env struct {
	ctx    context.Context
	stdout io.Writer
	// stderr is for people: everything written to it is made
	// terminal-safe (safetext.NewWriter), whatever outside text a message
	// quotes. term is the same stream unwrapped, for gotune's own
	// progress line on a terminal.
	stderr io.Writer
	term   io.Writer
}

// commands lists every subcommand. Add one line per new command file.
func commands(e *env) []*cobra.Command {
	return []*cobra.Command{
		versionCmd(e),
		attachCmd(e),
		demoCmd(e),
		snapshotCmd(e),
		diffCmd(e),
		topCmd(e),
		foldedCmd(e),
		goroutinesCmd(e),
		psCmd(e),
		adviseCmd(e),
		reportCmd(e),
		applyCmd(e),
		traceCmd(e),
		watchCmd(e),
		exportCmd(e),
	}
}

// Run executes gotune with args (without the program name).
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	e := &env{ctx: ctx, stdout: stdout, stderr: safetext.NewWriter(stderr), term: stderr}
	var theme string
	var exports []string
	root := &cobra.Command{
		Use:   "gotune",
		Short: "Profile and tune Go processes from the terminal",
		Long: `gotune attaches to a running Go process (by URL or PID), streams its
runtime metrics live, fetches pprof profiles on demand, and explains how to
tune GOGC, GOMEMLIMIT and GOMAXPROCS.

With no command, on a terminal, gotune opens the host overview: every Go
process of this host with its heap, GC, goroutines, CPU and findings (gotune
ps --watch prints it headless); type / to filter, s to sort, Enter to attach,
and 0 in a dashboard to come back with its session kept.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !isTerminal(stdout) {
				return cmd.Help()
			}
			if err := validTheme(theme); err != nil {
				return err
			}
			return picker(e, theme, exports)
		},
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(e.stderr)
	root.CompletionOptions.DisableDefaultCmd = true
	root.Flags().StringVar(&theme, "theme", "auto", "picker and dashboard colours: auto, dark, light, high-contrast, mono")
	root.Flags().StringArrayVar(&exports, "export", nil, "the dashboards' e exports to this destination, repeatable (default $"+ExportEnv+")")
	root.AddCommand(commands(e)...)
	return root.ExecuteContext(ctx)
}

// ExitError carries a specific process exit code (for example 3 for
// "advice at or above --fail-on found").
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// ExitCode prints err (if any) to stderr and returns the process exit code:
// 0 on success, 130 when interrupted, the code of an ExitError, else 1.
func ExitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	if errors.Is(err, context.Canceled) {
		return 130
	}
	// Errors quote what targets and files said (HTTP error bodies, names).
	fmt.Fprintln(stderr, safetext.Text(err.Error()))
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return 1
}
