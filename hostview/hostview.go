// Package hostview is the host overview: every Go process of this host in
// one live table, like htop for Go (the dashboard's first screen and
// `gotune ps --watch`). It owns the refresh of all those processes and the
// rows front ends render, sorted and filtered.
//
// It is cheap by construction. The processes come from discovery
// (collectors/discover: a full Scan with probes once, then OS-only rescans,
// probing only processes that are new); each refresh reads each process
// once through collectors.PIDTarget.CollectMetrics — the same read as
// `gotune attach PID`, without its runners, its host facts or any profile:
// one runtime-metrics request (agent, Prometheus, expvar or gops, whichever
// discovery found) and one /proc summary — into a short history of its own
// (History points, only the histograms the figures need). Cgroup limits
// and throttling are read every CgroupEvery refreshes, and the advisor's
// rules run over each history every AdviseEvery, for the findings count.
// A process being watched in full (an attached capture.Session, see Use)
// is not read twice: its row comes from that session's store.
//
// Why not a capture.Session per process: each one runs two runners with
// their own goroutines and tickers at 1 s, reads NUMA placement (numa_maps
// walks the page tables) and keeps 900 points with every histogram; a
// hundred of them would cost more than the overview is worth.
package hostview

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gotune/gotune/advisor"
	"github.com/gotune/gotune/collectors"
	"github.com/gotune/gotune/collectors/discover"
	"github.com/gotune/gotune/session"
)

// Defaults of Options.
const (
	DefaultInterval = 2 * time.Second
	DefaultRescan   = 10 * time.Second
	DefaultReprobe  = time.Minute
	// DefaultCgroupEvery reads limits and throttling every 15th refresh
	// (30 s at 2 s): a cgroup read is a dozen files per level, a fifth of
	// a refresh's CPU when done every fifth time (BenchmarkRefresh100).
	DefaultCgroupEvery = 15
	DefaultAdviseEvery = 10 * time.Second
	// DefaultHistory points per process: the advisor's GC and trend rules
	// want 10 samples (advisor.MinSamplesGC, MinSamplesTrend); 30 at 2 s
	// is a minute of history, enough for goroutine growth per minute.
	DefaultHistory     = 30
	DefaultReadTimeout = time.Second
	DefaultWorkers     = 16
	// DefaultLinger keeps the row of a process that exited on screen for
	// this long, marked, so it does not vanish between two looks.
	DefaultLinger = 30 * time.Second
)

// Options tune a Host. The zero value watches the live host.
type Options struct {
	// Interval is the refresh cadence front ends use; Refresh itself reads
	// whenever it is called.
	Interval time.Duration
	// Rescan is how often the process list is read again (OS only; new
	// processes are probed one by one).
	Rescan time.Duration
	// Reprobe is how often a process reachable only through the OS is
	// probed again (it may have started serving its endpoints since).
	Reprobe time.Duration
	// CgroupEvery reads cgroups every this many refreshes of a process.
	CgroupEvery int
	// AdviseEvery runs the advisor's rules over a process's history.
	AdviseEvery time.Duration
	// History is how many points each process keeps.
	History int
	// ReadTimeout bounds one process's read in a refresh; a read still
	// running at the next refresh is not started again.
	ReadTimeout time.Duration
	// Workers bounds the reads in flight.
	Workers int
	// Linger keeps exited processes' rows.
	Linger time.Duration
	// Discover is passed to discovery.
	Discover discover.Options
	// Advisor configures the findings count; zero is the defaults.
	Advisor advisor.Config
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.Rescan <= 0 {
		o.Rescan = DefaultRescan
	}
	if o.Reprobe <= 0 {
		o.Reprobe = DefaultReprobe
	}
	if o.CgroupEvery <= 0 {
		o.CgroupEvery = DefaultCgroupEvery
	}
	if o.AdviseEvery <= 0 {
		o.AdviseEvery = DefaultAdviseEvery
	}
	if o.History < 2 {
		o.History = DefaultHistory
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = DefaultReadTimeout
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.Linger <= 0 {
		o.Linger = DefaultLinger
	}
	if o.Advisor == (advisor.Config{}) {
		o.Advisor = advisor.DefaultConfig()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Host watches the Go processes of this host. Refresh is called by one
// goroutine at a time; Use and Release may be called from any.
type Host struct {
	opts Options

	mu       sync.Mutex
	procs    map[key]*proc
	scanned  time.Time // last scan
	scanErr  error
	firstRun bool
	refresh  int // refreshes done
}

// key identifies a process across PID reuse.
type key struct {
	pid   int
	start int64 // start time, Unix ns; 0 when unknown
}

func keyOf(p discover.Process) key {
	k := key{pid: p.PID}
	if !p.StartTime.IsZero() {
		k.start = p.StartTime.UnixNano()
	}
	return k
}

// proc is one watched process.
type proc struct {
	p        discover.Process
	target   *collectors.PIDTarget // nil for a row not known to be Go
	store    *session.Store        // the light history
	reads    int
	busy     bool // a read is in flight
	probedAt time.Time
	lastErr  string
	gone     time.Time // when it was found gone; zero while alive

	ext *session.Store // an attached session's store (Use); nil otherwise

	report    *advisor.Report
	advisedAt time.Time
	advisedN  int // points the report was computed over
}

// New returns a Host; nothing is read until Refresh.
func New(o Options) *Host {
	return &Host{opts: o.withDefaults(), procs: map[key]*proc{}, firstRun: true}
}

// Interval is the refresh cadence front ends should use.
func (h *Host) Interval() time.Duration { return h.opts.Interval }

// View is one refresh: the rows and what it cost.
type View struct {
	Rows []Row
	// At is when the refresh ended.
	At time.Time
	// Took is the refresh's wall time (scan included when one ran).
	Took time.Duration
	// Scanned is when the process list was last read; ScanErr its error.
	Scanned time.Time
	ScanErr error
	// Reads is how many processes were read in this refresh; Skipped how
	// many were not because their previous read was still running.
	Reads, Skipped int
}

// Refresh rescans when due, reads every live process once (in parallel,
// each within ReadTimeout), runs the advisor where due, and returns the
// rows, sorted by PID. It fails only when ctx ends or the very first scan
// fails.
func (h *Host) Refresh(ctx context.Context) (*View, error) {
	start := h.opts.Now()
	if err := h.maybeScan(ctx, start); err != nil {
		return nil, err
	}
	h.mu.Lock()
	var todo []*proc
	skipped := 0
	for _, p := range h.procs {
		switch {
		case p.target == nil || !p.gone.IsZero() || p.ext != nil:
		case p.busy:
			skipped++
		default:
			p.busy = true
			todo = append(todo, p)
		}
	}
	h.refresh++
	h.mu.Unlock()

	var wg sync.WaitGroup
	sem := make(chan struct{}, h.opts.Workers)
	for _, p := range todo {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			h.mu.Lock()
			p.busy = false
			h.mu.Unlock()
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			h.read(ctx, p)
		})
	}
	// Reads end within ReadTimeout; a read that does not (a stuck source)
	// keeps its busy mark and is skipped next time, so one slow process
	// never holds the refresh for long.
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(h.opts.ReadTimeout + 500*time.Millisecond):
	case <-ctx.Done():
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := h.opts.Now()
	h.advise(now)
	v := &View{At: now, Took: now.Sub(start), Reads: len(todo), Skipped: skipped}
	h.mu.Lock()
	v.Scanned, v.ScanErr = h.scanned, h.scanErr
	for k, p := range h.procs {
		if !p.gone.IsZero() && p.ext == nil && now.Sub(p.gone) > h.opts.Linger {
			delete(h.procs, k)
			continue
		}
		v.Rows = append(v.Rows, p.row(now))
	}
	h.mu.Unlock()
	slices.SortFunc(v.Rows, func(a, b Row) int { return a.PID - b.PID })
	return v, nil
}

// read reads one process once.
func (h *Host) read(ctx context.Context, p *proc) {
	rctx, cancel := context.WithTimeout(ctx, h.opts.ReadTimeout)
	defer cancel()
	_, err := p.target.CollectMetrics(p.store)(rctx)
	h.mu.Lock()
	p.reads++
	cg := p.reads%h.opts.CgroupEvery == 1 || h.opts.CgroupEvery == 1
	h.mu.Unlock()
	if cg && err == nil {
		_, _ = p.target.CollectCgroup(p.store)(rctx) // a row without limits is still a row
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	p.busy = false
	switch {
	case err == nil:
		p.lastErr = ""
	case errors.Is(err, collectors.ErrProcessGone):
		p.gone = h.opts.Now()
		p.lastErr = "exited"
	default:
		p.lastErr = err.Error()
	}
}

// advise runs the advisor over the histories where due. It runs after the
// reads, on the refreshing goroutine: the rules are pure and take
// microseconds to a millisecond per process.
func (h *Host) advise(now time.Time) {
	h.mu.Lock()
	var due []*proc
	for _, p := range h.procs {
		if p.target != nil && (p.report == nil || now.Sub(p.advisedAt) >= h.opts.AdviseEvery) {
			due = append(due, p)
		}
	}
	h.mu.Unlock()
	for _, p := range due {
		snap := p.source().Snapshot()
		pts := snap.Points
		if len(pts) > h.opts.History {
			pts = pts[len(pts)-h.opts.History:]
		}
		if len(pts) == 0 {
			continue
		}
		r := advisor.Advise(advisor.Input{Points: pts, Facts: snap.Facts}, h.opts.Advisor)
		h.mu.Lock()
		p.report, p.advisedAt, p.advisedN = &r, now, len(pts)
		h.mu.Unlock()
	}
}

// source is the store a row reads: the attached session's, else the
// light history.
func (p *proc) source() *session.Store {
	if p.ext != nil {
		return p.ext
	}
	return p.store
}

// maybeScan reads the process list when due: the first time a full Scan
// (probes included), then OS-only scans, resolving new processes and
// re-probing OS-only ones now and then.
func (h *Host) maybeScan(ctx context.Context, now time.Time) error {
	h.mu.Lock()
	due := h.firstRun || now.Sub(h.scanned) >= h.opts.Rescan
	first := h.firstRun
	h.mu.Unlock()
	if !due {
		return nil
	}
	o := h.opts.Discover
	o.CPUWindow = -1 // CPU % comes from the reads' deltas
	if !first {
		o.NoProbe = true
	}
	found, err := discover.Scan(ctx, o)
	if err != nil {
		if first {
			return fmt.Errorf("list the Go processes: %w", err)
		}
		h.mu.Lock()
		h.scanned, h.scanErr = now, err
		h.mu.Unlock()
		return nil
	}
	h.mu.Lock()
	seen := map[key]bool{}
	var resolve []*proc
	for _, dp := range found {
		k := keyOf(dp)
		seen[k] = true
		p, ok := h.procs[k]
		switch {
		case ok:
			if !p.gone.IsZero() && p.ext == nil {
				p.gone = time.Time{} // listed again (a stale "gone" from a failed read)
			}
			if p.target != nil && p.p.Reach.OSOnly && !first && now.Sub(p.probedAt) >= h.opts.Reprobe {
				resolve = append(resolve, p)
			}
			continue
		case dp.GoVersion == "":
			h.procs[k] = &proc{p: dp, probedAt: now}
			continue
		}
		p = &proc{p: dp, probedAt: now, store: session.NewStore(h.opts.History)}
		h.procs[k] = p
		if first {
			p.setTarget(h.opts.Discover)
		} else {
			resolve = append(resolve, p)
		}
	}
	for k, p := range h.procs {
		if !seen[k] && p.gone.IsZero() {
			p.gone = now
			if p.lastErr == "" {
				p.lastErr = "exited"
			}
		}
	}
	h.scanned, h.scanErr, h.firstRun = now, nil, false
	h.mu.Unlock()

	// New processes (and OS-only ones, now and then) are probed one by
	// one: Resolve reads their sockets and asks each what it serves.
	var wg sync.WaitGroup
	sem := make(chan struct{}, h.opts.Workers)
	for _, p := range resolve {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			rp, err := discover.Resolve(ctx, p.p.PID, discover.Overrides{}, h.opts.Discover)
			h.mu.Lock()
			defer h.mu.Unlock()
			if err == nil && keyOf(rp) == keyOf(p.p) {
				p.p = rp
			}
			p.probedAt = now
			if p.target == nil || err == nil {
				p.setTarget(h.opts.Discover)
			}
		})
	}
	wg.Wait()
	return ctx.Err()
}

func (p *proc) setTarget(o discover.Options) {
	t := collectors.PIDTargetOf(p.p, o)
	t.KeepHistograms = collectors.KeyHistograms
	t.Describe(p.store)
	p.target = t
}

// Use makes the row of pid read the store of a session that watches it in
// full (the dashboard attached to it), instead of a light read of its own;
// the row is kept, marked attached, until Release, even after the process
// exits. It returns false when no row has that PID yet (the row appears at
// the next scan and takes the store then: call Use again).
func (h *Host) Use(pid int, store *session.Store) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, p := range h.procs {
		if p.p.PID == pid && p.target != nil {
			p.ext = store
			p.report = nil
			return true
		}
	}
	return false
}

// Release gives pid its light reads back.
func (h *Host) Release(pid int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, p := range h.procs {
		if p.p.PID == pid {
			p.ext = nil
			p.report = nil
		}
	}
}

// Process returns what discovery found for pid, for attaching to it.
func (h *Host) Process(pid int) (discover.Process, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, p := range h.procs {
		if p.p.PID == pid && p.gone.IsZero() {
			return p.p, true
		}
	}
	return discover.Process{}, false
}

// nameOf is a short name for a process: the executable's base name, else
// argv[0]'s.
func nameOf(p discover.Process) string {
	if p.Exe != "" {
		return filepath.Base(strings.TrimSuffix(p.Exe, " (deleted)"))
	}
	if a := p.Args(); len(a) > 0 {
		return filepath.Base(a[0])
	}
	return strings.Trim(p.Command, "[]")
}
