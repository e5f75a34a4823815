package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gotune/gotune/collectors"
	"github.com/gotune/gotune/collectors/discover"
	"github.com/gotune/gotune/demo"
	"github.com/gotune/gotune/internal/gcstart"
)

func demoCmd(e *env) *cobra.Command {
	var w watchFlags
	var serve string
	cfg := demo.DefaultConfig()
	workload := pflag.NewFlagSet("workload", pflag.ContinueOnError)
	cfg.AddFlags(workload)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the built-in demo workload and watch it live",
		Long: `Run the built-in demo workload, a Go service with real tuning problems
(an allocation-heavy request loop that keeps the GC busy, a large cache, a
slow goroutine leak and a contended mutex), and watch it live in the
dashboard (or, with --plain or --json or when stdout is not a terminal, as
one line per interval).

The workload runs as a child process (the same binary) serving
net/http/pprof and the gotune agent on loopback; it never outlives gotune.
GOGC, GOMEMLIMIT and GOMAXPROCS from the environment reach the workload, so
you can try a setting and watch its effect.

With --serve ADDR gotune runs only the workload, serving on ADDR, prints its
base URL as the first line of output and runs until SIGINT or SIGTERM.`,
		Example: `  gotune demo
  gotune demo --theme high-contrast
  GOGC=400 gotune demo --plain --duration 30s
  gotune demo --serve 127.0.0.1:6060 --alloc-rate 100MiB --leak-every 500ms
  gotune demo --healthy --json --duration 10s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cfg.Validate(); err != nil {
				return err
			}
			if cmd.Flags().Changed("serve") {
				return serveDemo(e, serve, cfg)
			}
			if err := w.validate(); err != nil {
				return err
			}
			return runDemo(e, w, workloadArgs(workload))
		},
	}
	w.add(cmd)
	cmd.Flags().StringVar(&serve, "serve", "127.0.0.1:0", "run only the workload, serving pprof and the agent on this address")
	cmd.Flags().AddFlagSet(workload)
	return cmd
}

// workloadArgs passes the workload flags the user set on to the child.
func workloadArgs(fs *pflag.FlagSet) []string {
	var args []string
	fs.Visit(func(f *pflag.Flag) {
		args = append(args, "--"+f.Name+"="+f.Value.String())
	})
	return args
}

func serveDemo(e *env, addr string, cfg demo.Config) error {
	// The workload is what people measure: its collector runs as the
	// runtime's, never with gotune's deferred first collection.
	gcstart.Restore()
	ctx := demo.WatchParent(e.ctx)
	err := demo.Serve(ctx, addr, cfg, func(baseURL string) {
		fmt.Fprintln(e.stdout, baseURL)
	})
	if ctx.Err() != nil {
		return nil // SIGINT, SIGTERM or the parent went away: a clean stop
	}
	return err
}

func runDemo(e *env, w watchFlags, args []string) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find gotune's own binary to start the workload: %w", err)
	}
	child, err := demo.StartChild(e.ctx, exe, args, nil)
	if err != nil {
		return fmt.Errorf("start the demo workload: %w", err)
	}
	defer child.Stop()
	// Attach by PID with the child's URL: metrics and profiles over HTTP,
	// plus what the OS knows and the effective settings explained.
	var t collectors.Target
	t, err = collectors.NewPIDTarget(e.ctx, child.PID, discover.Overrides{URL: child.URL}, discover.Options{CPUWindow: -1})
	if err != nil {
		if t, err = collectors.NewURLTarget(child.URL, collectors.HTTPSourceOptions{}); err != nil {
			return err
		}
	}
	name := fmt.Sprintf("demo (pid %d) %s", child.PID, child.URL)
	if w.wantDashboard(e) {
		return dashboard(e, w, t, name)
	}
	if !w.json {
		fmt.Fprintf(e.stderr, "demo workload: pid %d, serving %s (pprof and the gotune agent)\n", child.PID, child.URL)
	}
	return watch(e, w, t, name)
}
