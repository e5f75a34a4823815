// Package demo is gotune's built-in workload: a Go process with real tuning
// problems a user can see and fix, run by `gotune demo` as a child process.
//
// The workload is steady on purpose, so that measured experiments (GC CPU and
// GC rate under other GOGC values, CPU throttling under a cgroup quota) land
// where the Go GC guide predicts:
//
//   - a request loop allocates at a fixed, paced rate (Config.AllocRate), so
//     GC frequency is AllocRate / heap growth allowed by GOGC;
//   - a cache holds a fixed live heap (Config.CacheBytes), part of it
//     pointer-rich so marking it costs real CPU;
//   - a slow goroutine leak (Config.LeakEvery), one blocked goroutine per
//     interval, each retaining a little memory;
//   - a contended mutex held across a slow call (Config.MutexWorkers), with
//     mutex profiling on;
//   - optional CPU-bound work (Config.CPUBurn cores) for throttling
//     experiments.
//
// GOGC, GOMEMLIMIT and GOMAXPROCS are never set by this package: the runtime
// reads them from the environment, so a user tunes the demo exactly as they
// would tune a service.
//
// Serve runs the workload behind net/http/pprof and the gotune agent;
// StartChild runs `gotune demo --serve` as a child that never outlives its
// parent (Pdeathsig on Linux plus a pipe the child watches, see WatchParent).
package demo

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"
)

// Config sets the intensity of each problem. The zero value of a field turns
// its problem off; DefaultConfig is the demo users see.
type Config struct {
	// AllocRate is the target number of bytes per second the request loop
	// allocates. 0 turns the request loop off; a negative value runs it
	// unpaced, as fast as the CPUs allow.
	AllocRate int64
	// Workers is the number of request-loop goroutines sharing AllocRate.
	Workers int
	// CacheBytes is the live heap the cache holds for the whole run.
	CacheBytes int64
	// LeakEvery leaks one goroutine per interval (0 = no leak).
	LeakEvery time.Duration
	// MutexWorkers is the number of goroutines contending on one mutex that
	// is held across a slow call (0 = no contention).
	MutexWorkers int
	// CPUBurn is extra CPU-bound work, in cores (1.5 keeps one and a half
	// CPUs busy), for the cgroup throttling experiment (0 = none).
	CPUBurn float64
	// MutexProfileFraction is passed to runtime.SetMutexProfileFraction when
	// positive (1 in N contention events is sampled).
	MutexProfileFraction int
	// BlockProfileRate is passed to runtime.SetBlockProfileRate when
	// positive (one sample per N nanoseconds blocked).
	BlockProfileRate int
	// Quiet turns every problem off: no leak, no contention, no CPU burn, one
	// request worker paced at no more than HealthyAllocRate. The process is
	// idle and healthy, and no advisor rule should fire on it.
	Quiet bool
	// Writes turns on the gotune agent's live changes (agent.EnableWrites:
	// GOGC, GOMEMLIMIT, GOMAXPROCS and the profile rates, behind a token
	// file only this user can read, each change under a lease), so gotune
	// apply and the dashboard's Advice screen can try a setting on the
	// running demo. Off by default, as in any program.
	Writes bool
}

// Defaults of DefaultConfig, also the flag defaults.
const (
	DefaultAllocRate    = 200 << 20 // bytes/s: with a 64 MiB live heap, ~3 GC cycles/s at GOGC=100
	DefaultWorkers      = 4
	DefaultCacheBytes   = 64 << 20
	DefaultLeakEvery    = time.Second
	DefaultMutexWorkers = 4
	// DefaultMutexProfileFraction samples 1 in 5 contention events, enough
	// samples within seconds at the demo's contention rate and negligible cost.
	DefaultMutexProfileFraction = 5

	// HealthyAllocRate caps the request loop in Quiet mode: at 1 MiB/s even a
	// small heap sees a GC cycle every few seconds at most, far below any
	// GC CPU concern.
	HealthyAllocRate = 1 << 20
)

// DefaultConfig returns the demo's default workload: every problem on.
func DefaultConfig() Config {
	return Config{
		AllocRate:            DefaultAllocRate,
		Workers:              DefaultWorkers,
		CacheBytes:           DefaultCacheBytes,
		LeakEvery:            DefaultLeakEvery,
		MutexWorkers:         DefaultMutexWorkers,
		MutexProfileFraction: DefaultMutexProfileFraction,
	}
}

// Validate reports a configuration Run would refuse.
func (c Config) Validate() error {
	var errs []error
	if c.AllocRate != 0 && c.Workers < 1 {
		errs = append(errs, fmt.Errorf("workers must be at least 1 when the request loop runs (alloc rate %d bytes/s), got %d", c.AllocRate, c.Workers))
	}
	if c.CacheBytes < 0 {
		errs = append(errs, fmt.Errorf("cache size must not be negative, got %d", c.CacheBytes))
	}
	if c.LeakEvery < 0 {
		errs = append(errs, fmt.Errorf("leak interval must not be negative, got %s", c.LeakEvery))
	}
	if c.MutexWorkers < 0 {
		errs = append(errs, fmt.Errorf("mutex workers must not be negative, got %d", c.MutexWorkers))
	}
	if c.CPUBurn < 0 || c.CPUBurn > 1024 {
		errs = append(errs, fmt.Errorf("cpu burn must be between 0 and 1024 cores, got %g", c.CPUBurn))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("demo config: %w", err)
	}
	return nil
}

// effective returns the configuration Run actually uses: Quiet switches the
// problems off.
func (c Config) effective() Config {
	if !c.Quiet {
		return c
	}
	c.LeakEvery = 0
	c.MutexWorkers = 0
	c.CPUBurn = 0
	if c.AllocRate < 0 || c.AllocRate > HealthyAllocRate {
		c.AllocRate = HealthyAllocRate
	}
	c.Workers = 1
	return c
}

// Run builds the cache and runs the workload until ctx is done. It returns
// nil when ctx ends the run, after every goroutine it started has returned.
func Run(ctx context.Context, cfg Config) error {
	w, err := newWorkload(cfg)
	if err != nil {
		return err
	}
	w.run(ctx)
	return nil
}

// workload is one run of the demo: the cache is built and the cost of one
// request is measured before any goroutine starts.
type workload struct {
	cfg          Config
	cache        *Cache
	requestBytes float64 // heap bytes one handleRequest allocates, measured
}

func newWorkload(cfg Config) (*workload, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.effective()
	w := &workload{cfg: cfg, cache: NewCache(cfg.CacheBytes)}
	if cfg.AllocRate != 0 {
		w.requestBytes = measureRequestBytes(w.cache)
	}
	return w, nil
}

// run starts every problem's goroutines and waits for them after ctx is done.
func (w *workload) run(ctx context.Context) {
	cfg := w.cfg
	if cfg.MutexProfileFraction > 0 {
		prev := runtime.SetMutexProfileFraction(cfg.MutexProfileFraction)
		defer runtime.SetMutexProfileFraction(prev)
	}
	if cfg.BlockProfileRate > 0 {
		runtime.SetBlockProfileRate(cfg.BlockProfileRate)
		defer runtime.SetBlockProfileRate(0) // no getter: 0 is the runtime default
	}

	var wg sync.WaitGroup
	if cfg.AllocRate != 0 {
		for i := range cfg.Workers {
			wg.Go(func() { w.requestLoop(ctx, i) })
		}
	}
	if cfg.LeakEvery > 0 {
		wg.Go(func() { leakLoop(ctx, cfg.LeakEvery) })
	}
	if cfg.MutexWorkers > 0 {
		t := newCounterTable()
		for range cfg.MutexWorkers {
			wg.Go(func() { contendedCounter(ctx, t) })
		}
	}
	if cfg.CPUBurn > 0 {
		n := int(cfg.CPUBurn)
		if float64(n) < cfg.CPUBurn {
			n++
		}
		share := cfg.CPUBurn / float64(n)
		for range n {
			wg.Go(func() { burnCPU(ctx, share, burnPeriod) })
		}
	}
	<-ctx.Done()
	wg.Wait()
	runtime.KeepAlive(w.cache)
}
