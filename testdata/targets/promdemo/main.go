// Command promdemo is a test target: the demo workload (package demo, the
// same flags as `gotune demo --serve`) behind client_golang's default
// registry on /metrics and nothing else, as most services expose
// themselves: MemStats-style gauges, the GC count and the process's CPU,
// but no /cpu/classes, no live heap, no pprof. It prints its base URL as
// the first line of stdout and exits on SIGINT, SIGTERM or when its parent
// goes away. The advisor's GOGC experiment runs it beside the agent demo
// (advisor/experiment_run_test.go).
//
//	promdemo demo --serve 127.0.0.1:0 [workload flags]
//	promdemo demo --registry runtime ...   # client_golang with every runtime/metrics series
package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/pflag"

	"github.com/gotune/gotune/demo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx = demo.WatchParent(ctx)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "promdemo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "demo" {
		return fmt.Errorf("usage: promdemo demo --serve ADDR [flags], got %q", args)
	}
	fs := pflag.NewFlagSet("demo", pflag.ContinueOnError)
	cfg := demo.DefaultConfig()
	cfg.AddFlags(fs)
	addr := fs.String("serve", "127.0.0.1:0", "address to serve /metrics on")
	registry := fs.String("registry", "default", "default: client_golang's default registry; runtime: its Go collector with every runtime/metrics series")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	mux := http.NewServeMux()
	switch *registry {
	case "default":
		mux.Handle("/metrics", promhttp.Handler())
	case "runtime":
		reg := prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(collectors.MetricsAll)))
		reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	default:
		return fmt.Errorf("--registry %q: want default or runtime", *registry)
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	fmt.Println(demo.BaseURL(ln.Addr()))
	runErr := demo.Run(ctx, cfg)
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdown)
	return runErr
}
