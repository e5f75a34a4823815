// Package capture is the one pipeline between the collectors and every
// front end. A Session owns one target being watched: its session store,
// a typed cache of the profiles fetched from it (raw bytes and parsed, with
// when they were fetched and what span they cover), and the mark of the
// current window's start (the cgroup reading, the goroutine groups and the
// cumulative profiles at that moment). From it every front end asks for the
// same things the same way: a profile of a kind, a Window (the samples, the
// profiles the advisor's rules read, the OS facts at both ends), the
// advisor's report over a window, and a snapshot of it.
//
// gotune advise, gotune snapshot, gotune attach, the dashboard's screens and
// its save all go through a Session; none of them keeps its own copy of
// "watch, fetch profiles, read the OS facts, advise, assemble".
//
// Fetches against the target are bounded: one CPU profile at a time, and
// every other profile one after the other (never several at once: each
// costs the target).
package capture

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/gotune/gotune/collectors"
	"github.com/gotune/gotune/collectors/cgroup"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/session"
	"github.com/gotune/gotune/snapshot"
)

// Fetcher fetches one profile from a target. *collectors.PprofClient and
// *collectors.GopsFetcher implement it. A fetcher whose CPU profile has a
// fixed length (collectors.FixedCPUProfile: gops, 30 s) gets that length
// recorded as the capture's span, whatever was asked.
type Fetcher = collectors.ProfileFetcher

// Options configure a Session.
type Options struct {
	// Interval is the sampling interval; default 1 s.
	Interval time.Duration
	// Name names the target for people; default the target's Name.
	Name string
	// Baselines takes, at the start, what a window compares its end with:
	// the goroutine groups and the cumulative profiles (allocs, mutex,
	// block). Front ends that advise, save or diff want it; a plain
	// metrics watch does not.
	Baselines bool
	// StartBudget bounds the start's fetches (a slow target must not
	// stretch the window); default DefaultStartBudget.
	StartBudget time.Duration
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// TokenFile is the agent's token file (--token-file), for live
	// changes (apply.go); "" finds it by PID.
	TokenFile string
	// Traces fetches execution traces (Session.Trace); Start takes the
	// target's trace client when nil.
	Traces TraceFetcher
	// Capacity is how many points the store keeps; 0 is
	// session.DefaultCapacity (gotune watch keeps less per target).
	Capacity int
}

// DefaultStartBudget bounds the fetches that take a window's start: what
// they have not fetched by then is noted, and the window goes on.
const DefaultStartBudget = 10 * time.Second

// historyLimit bounds how many captures a session keeps besides the
// newest of each kind (parsed profiles can be large).
const historyLimit = 16

// Session is one target being watched. Its methods are safe for
// concurrent use.
type Session struct {
	name    string
	arg     string // the target as a gotune command takes it (a PID or a URL), for actions
	hint    string
	store   *session.Store
	fetcher Fetcher
	now     func() time.Time
	started time.Time

	cpu   sync.Mutex // one CPU profile at a time
	fetch sync.Mutex // every other profile one after the other

	mu      sync.Mutex
	latest  map[profile.Kind]*profile.Captured
	history []*profile.Captured
	deltas  map[*profile.Captured]*profile.Captured // window deltas by their closing capture

	start      *mark
	startReady chan struct{} // closed once start is complete

	dump   *Dump // the last goroutine dump
	replay bool  // a recorded session (Replay): nothing to fetch

	writes  *collectors.WriteTarget // where live changes go (Start); nil: none
	changes []snapshot.Change       // live setting changes, oldest first (apply.go)
	trials  []*Trial                // this session's own, to revert on exit
	tr      traceState              // execution traces (trace.go)
}

// mark is what a window compares its end with.
type mark struct {
	at     time.Time
	cgroup *cgroup.Stats // the first cgroup reading at or after at
	groups []profile.GoroutineGroup
	// base holds the captures taken at the start: the cumulative profiles
	// a window's delta subtracts, and the goroutine profile of groups.
	base  map[profile.Kind]*profile.Captured
	notes []string
}

// Start watches t into a new store until ctx ends and returns its
// session. With Options.Baselines it also takes the start of the window in
// the background.
func Start(ctx context.Context, t collectors.Target, o Options) *Session {
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.Name == "" {
		o.Name = t.Name()
	}
	store := session.NewStore(o.Capacity)
	var f Fetcher
	if pf := t.Profiles(); pf != nil {
		f = pf
	}
	s := New(store, f, o)
	if s.tr.fetcher == nil {
		s.tr.fetcher = traceFetcherFor(t)
	}
	switch t := t.(type) {
	case *collectors.PIDTarget:
		s.hint = t.Process.Reach.Hint
		s.arg = strconv.Itoa(t.PID)
	case *collectors.URLTarget:
		s.arg = collectors.Redact(t.Base)
	}
	if s.fetcher == nil && s.hint == "" {
		s.hint = "the target serves no net/http/pprof endpoint: add import _ \"net/http/pprof\" to see profiles"
	}
	wt := WriteTargetOf(t, o.TokenFile)
	s.writes = &wt
	s.watchCgroup(ctx)
	t.Watch(ctx, store, o.Interval)
	if o.Baselines {
		budget := o.StartBudget
		if budget <= 0 {
			budget = DefaultStartBudget
		}
		go func() {
			bctx, cancel := context.WithTimeout(ctx, budget)
			defer cancel()
			s.takeStart(bctx, budget)
		}()
	} else {
		s.finishStart()
	}
	return s
}

// New returns a session over a store that something else fills (tests,
// recorded sessions). fetcher may be nil: the target serves no profiles.
// Call MarkStart to take the window's start.
func New(store *session.Store, fetcher Fetcher, o Options) *Session {
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Session{name: o.Name, store: store, fetcher: fetcher, now: o.Now,
		latest: map[profile.Kind]*profile.Captured{}, startReady: make(chan struct{})}
	s.tr.fetcher = o.Traces
	s.started = s.now()
	s.start = &mark{at: s.started, base: map[profile.Kind]*profile.Captured{}}
	return s
}

// Name names the target for people.
func (s *Session) Name() string { return s.name }

// Hint says how to get profiles when the target serves none ("" when it
// does).
func (s *Session) Hint() string { return s.hint }

// HasProfiles reports whether the target serves profiles (or, replayed,
// holds some).
func (s *Session) HasProfiles() bool {
	if s.fetcher != nil {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.latest) > 0
}

// Store is the session's store of samples and facts.
func (s *Session) Store() *session.Store { return s.store }

// Snapshot returns the store's latest snapshot.
func (s *Session) Snapshot() *session.Snapshot { return s.store.Snapshot() }

// Changed is the store's change signal (one reader: the front end).
func (s *Session) Changed() <-chan struct{} { return s.store.Changed() }

// Started is when the session began watching.
func (s *Session) Started() time.Time { return s.started }

// watchCgroup records the first cgroup reading at or after the window's
// start, for throttling over the whole window. It subscribes to the store,
// so it never takes the front end's change signal.
func (s *Session) watchCgroup(ctx context.Context) {
	ch, stop := s.store.Subscribe()
	go func() {
		defer stop()
		for {
			if cg := s.store.Snapshot().Facts.Cgroup; cg != nil {
				s.mu.Lock()
				if s.start.cgroup == nil && !cg.ReadAt.Before(s.start.at.Add(-time.Second)) {
					s.start.cgroup = cg
				}
				done := s.start.cgroup != nil
				s.mu.Unlock()
				if done {
					return
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-ch:
			}
		}
	}()
}

// MarkStart takes the start of a window now: the goroutine groups and the
// cumulative profiles, fetched one after the other. Start calls it when
// Options.Baselines is set; sessions made with New call it themselves.
func (s *Session) MarkStart(ctx context.Context) {
	s.takeStart(ctx, 0)
}

// takeStart takes the start; budget, when not 0, is the deadline ctx
// carries, said in the start's notes when it ran out (before the start is
// published: a window reads its notes once).
func (s *Session) takeStart(ctx context.Context, budget time.Duration) {
	defer s.finishStart()
	if s.fetcher == nil {
		return
	}
	m := &mark{at: s.now(), base: map[profile.Kind]*profile.Captured{}}
	if c, err := s.fetchOne(ctx, profile.KindGoroutine, ProfileOptions{}); err == nil {
		m.base[profile.KindGoroutine] = c
		m.groups, err = profile.GoroutineGroupsFromProfile(c.Profile)
		if err != nil {
			m.notes = append(m.notes, "goroutine groups at the start: "+err.Error())
		}
	} else if ctx.Err() == nil {
		m.notes = append(m.notes, "goroutine profile at the start: "+err.Error())
	}
	for _, k := range profile.SnapshotKinds() {
		if !k.Cumulative() || ctx.Err() != nil {
			continue
		}
		c, err := s.fetchOne(ctx, k, ProfileOptions{})
		if err != nil {
			if ctx.Err() == nil {
				m.notes = append(m.notes, fmt.Sprintf("%s profile at the start: %v", k, err))
			}
			continue
		}
		m.base[k] = c
	}
	if budget > 0 && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		m.notes = append(m.notes, fmt.Sprintf("the window's start: the target did not answer every fetch within %s; what is missing counts since the process started", budget))
	}
	s.mu.Lock()
	m.cgroup = s.start.cgroup
	if m.cgroup != nil && m.cgroup.ReadAt.Before(m.at.Add(-time.Second)) {
		m.cgroup = nil
	}
	// The mark's time is when its first fetch began; a window runs from the
	// session's start when the mark was taken at once.
	if m.at.Sub(s.started) < 2*time.Second {
		m.at = s.started
	}
	s.start = m
	s.mu.Unlock()
}

func (s *Session) finishStart() {
	select {
	case <-s.startReady:
	default:
		close(s.startReady)
	}
}

// waitStart waits until the window's start is taken.
func (s *Session) waitStart(ctx context.Context) error {
	select {
	case <-s.startReady:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ProfileOptions say how Profile may answer.
type ProfileOptions struct {
	// Seconds is the length of a timed (CPU) profile; default 10.
	Seconds int
	// MaxAge lets Profile answer with the newest held capture when it was
	// fetched at most this long ago; 0 always fetches.
	MaxAge time.Duration
	// Timeout bounds the fetch (plus Seconds for a timed profile); 0 is
	// the fetcher's own.
	Timeout time.Duration
}

// dumpRequest asks for the debug=2 goroutine dump.
var dumpRequest = collectors.ProfileRequest{Kind: profile.KindGoroutine, Debug: 2}

// ErrNoProfiles says the target serves no profiles.
var ErrNoProfiles = errors.New("the target serves no net/http/pprof endpoint; no profiles")

// Profile returns a capture of kind k as the target serves it: the newest
// held one when it is recent enough (MaxAge), else a new fetch, which
// becomes the newest held one. A CPU profile is captured one at a time.
func (s *Session) Profile(ctx context.Context, k profile.Kind, o ProfileOptions) (*profile.Captured, error) {
	if s.fetcher == nil {
		if c := s.Held(k); c != nil {
			return c, nil // a replay: what was recorded
		}
		return nil, ErrNoProfiles
	}
	if o.MaxAge > 0 {
		if c := s.Held(k); c != nil && s.now().Sub(c.FetchedAt) <= o.MaxAge {
			return c, nil
		}
	}
	c, err := s.fetchOne(ctx, k, o)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Held returns the newest capture of kind k the session holds, or nil.
func (s *Session) Held(k profile.Kind) *profile.Captured {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.latest[k]
}

// History returns the captures fetched in this session, oldest first (at
// most historyLimit, besides the newest of each kind).
func (s *Session) History() []*profile.Captured {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*profile.Captured(nil), s.history...)
}

// fetchOne fetches and parses one profile and records it.
func (s *Session) fetchOne(ctx context.Context, k profile.Kind, o ProfileOptions) (*profile.Captured, error) {
	if s.fetcher == nil {
		return nil, ErrNoProfiles
	}
	if !k.Valid() {
		_, err := profile.ParseKind(string(k))
		return nil, err
	}
	req := collectors.ProfileRequest{Kind: k, Timeout: o.Timeout}
	seconds := o.Seconds
	if k.Timed() {
		if seconds <= 0 {
			seconds = 10
		}
		seconds = s.cpuSeconds(seconds)
		req.Seconds = seconds
		if !s.cpu.TryLock() {
			return nil, collectors.ErrCPUProfileBusy
		}
		defer s.cpu.Unlock()
	} else {
		if err := lockCtx(ctx, &s.fetch); err != nil {
			return nil, err
		}
		defer s.fetch.Unlock()
	}
	f, err := s.fetcher.Fetch(ctx, req)
	if err == nil && f.Profile == nil {
		err = errors.New("the fetcher decoded no profile")
	}
	if err != nil {
		return nil, fmt.Errorf("%s profile: %w", k, err)
	}
	to := s.now()
	c := &profile.Captured{Kind: k, Raw: f.Raw, Profile: f.Profile, FetchedAt: to, From: to, To: to, Scope: profile.ScopeInstant}
	switch {
	case k.Timed():
		// The target profiled for the seconds asked, ending as it answered.
		c.Scope, c.From = profile.ScopeCapture, to.Add(-time.Duration(seconds)*time.Second)
	case k.Cumulative():
		c.Scope, c.From = profile.ScopeSinceStart, s.Snapshot().Target.StartTime
	}
	s.record(c)
	return c, nil
}

func (s *Session) record(c *profile.Captured) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latest[c.Kind] = c
	s.history = append(s.history, c)
	if len(s.history) > historyLimit {
		s.history = append(s.history[:0], s.history[len(s.history)-historyLimit:]...)
	}
}

// cpuSeconds is how long a CPU profile asked for secs will record: secs,
// unless the fetcher records a fixed length (gops: 30 s).
func (s *Session) cpuSeconds(secs int) int {
	if fx, ok := s.fetcher.(collectors.FixedCPUProfile); ok {
		return fx.CPUProfileSeconds()
	}
	return secs
}

// lockCtx takes mu unless ctx ends first.
func lockCtx(ctx context.Context, mu *sync.Mutex) error {
	if mu.TryLock() {
		return nil
	}
	done := make(chan struct{})
	go func() {
		mu.Lock()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		go func() { <-done; mu.Unlock() }()
		return ctx.Err()
	}
}

// Dump is a debug=2 goroutine dump, grouped the one way (GroupDump).
type Dump struct {
	Raw    []byte
	Groups []profile.GoroutineGroup
	Total  int
	At     time.Time
}

// GoroutineDump fetches the debug=2 goroutine dump (states and wait
// times). It stops the world on the target while the runtime writes every
// stack, so it is for explicit requests, never a polling loop.
func (s *Session) GoroutineDump(ctx context.Context) (*Dump, error) {
	if s.fetcher == nil {
		s.mu.Lock()
		d := s.dump
		s.mu.Unlock()
		if d != nil {
			return d, nil // a replay: what was recorded
		}
		return nil, ErrNoProfiles
	}
	if err := lockCtx(ctx, &s.fetch); err != nil {
		return nil, err
	}
	f, err := s.fetcher.Fetch(ctx, dumpRequest)
	s.fetch.Unlock()
	if err != nil {
		return nil, fmt.Errorf("goroutine dump: %w", err)
	}
	b := f.Raw
	gs, err := profile.ParseGoroutineDumpBytes(b)
	if err != nil {
		return nil, fmt.Errorf("read the goroutine dump: %w", err)
	}
	d := &Dump{Raw: b, Groups: GroupDump(gs), Total: len(gs), At: s.now()}
	s.mu.Lock()
	s.dump = d
	s.mu.Unlock()
	return d, nil
}

// StartGroups returns the goroutine groups taken at the window's start
// (from the goroutine profile: stacks, no states), once the start is
// taken; nil before or when they could not be read.
func (s *Session) StartGroups() []profile.GoroutineGroup {
	select {
	case <-s.startReady:
	default:
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.start.groups
}
