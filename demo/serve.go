package demo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"time"

	"github.com/gotune/gotune/agent"
)

// shutdownGrace bounds a clean shutdown: in-flight requests (a CPU profile
// can take 30 s) get this long before their connections are closed.
const shutdownGrace = 3 * time.Second

// Handler returns the mux Serve uses: net/http/pprof under /debug/pprof/ and
// the gotune agent at agent.Path (with its settings and journal, refused
// unless Config.Writes). It is its own mux: the demo does not rely
// on what other packages registered on http.DefaultServeMux.
func Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.Handle(agent.Path, agent.Handler())
	// Refused (403 writes_disabled) unless Config.Writes enabled them.
	mux.Handle(agent.SettingsPath, agent.SettingsHandler())
	mux.Handle(agent.JournalPath, agent.JournalHandler())
	return mux
}

// Serve listens on addr (for example "127.0.0.1:0"), serves Handler() there,
// builds the workload and runs it. Once listening and with the cache built
// it calls ready (if not nil) with the base URL, for example
// "http://127.0.0.1:40123". When ctx is done it stops the workload, shuts
// the server down (waiting up to a few seconds for requests in flight) and
// returns nil. It returns an error if addr cannot be listened on or the
// server fails.
func Serve(ctx context.Context, addr string, cfg Config, ready func(baseURL string)) error {
	w, err := newWorkload(cfg)
	if err != nil {
		return err
	}
	if cfg.Writes {
		if _, err := agent.EnableWrites(agent.WriteOptions{}); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		// Reverts what is still leased and removes the token file.
		defer agent.DisableWrites()
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("demo: listen on %s: %w", addr, err)
	}
	srv := &http.Server{
		Handler:           Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		// No WriteTimeout: /debug/pprof/profile?seconds=N refuses N beyond it.
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	runCtx, stopRun := context.WithCancel(ctx)
	runDone := make(chan struct{})
	go func() {
		defer close(runDone)
		w.run(runCtx)
	}()

	if ready != nil {
		ready(BaseURL(ln.Addr()))
	}

	var result error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		result = fmt.Errorf("demo: serve on %s: %w", ln.Addr(), err)
	}
	stopRun()
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close() // a long profile request is still running: cut it
	}
	<-runDone
	if result == nil {
		if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
			result = fmt.Errorf("demo: serve on %s: %w", ln.Addr(), err)
		}
	}
	return result
}

// BaseURL returns the URL a client on this host uses to reach a listener at
// a: an unspecified address (":0", "0.0.0.0", "::") becomes 127.0.0.1.
func BaseURL(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return "http://" + a.String()
	}
	ip := tcp.IP
	if ip == nil || ip.IsUnspecified() {
		// Go listens dual-stack on an unspecified address: IPv4 loopback
		// reaches it either way.
		ip = net.IPv4(127, 0, 0, 1)
	}
	return "http://" + net.JoinHostPort(ip.String(), strconv.Itoa(tcp.Port))
}
