package capture

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/gotune/gotune/advisor"
	"github.com/gotune/gotune/collectors/cgroup"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/redact"
	"github.com/gotune/gotune/safetext"
	"github.com/gotune/gotune/session"
	"github.com/gotune/gotune/snapshot"
	"github.com/gotune/gotune/trace"
)

// DefaultDeadline bounds the profile fetches that end a window: a slow
// target must not keep the user waiting long, and what was fetched is kept.
// A window of a set length gets less (closeDeadline).
const DefaultDeadline = 20 * time.Second

// minCloseDeadline is the least a window of a set length gives its closing
// fetches (a heap profile of a big heap takes a few seconds).
const minCloseDeadline = 5 * time.Second

// windowGrace is how long past the window's end a CPU profile or an
// execution trace taken inside it may still answer before the window
// gives up on it: both are timed to end before the closing fetches.
const windowGrace = 2 * time.Second

// closeDeadline bounds a window's closing fetches: o.Deadline when set;
// for a window of a set length half its length, between minCloseDeadline
// and DefaultDeadline, so a slow target stretches a 3 s window to 8 s at
// most, not 23 s; DefaultDeadline for a window that ends now.
func closeDeadline(o WindowOptions) time.Duration {
	switch {
	case o.Deadline > 0:
		return o.Deadline
	case o.Length > 0:
		return min(DefaultDeadline, max(minCloseDeadline, o.Length/2))
	}
	return DefaultDeadline
}

// maxTail is the most a window sets aside at its end for the closing
// profile fetches (they take a few seconds on a big heap).
const maxTail = 5 * time.Second

// WindowOptions say how a window is taken.
type WindowOptions struct {
	// Length is how long the window runs from the session's start; the
	// call returns when it is over. 0 ends the window now (the dashboard:
	// everything since attach).
	Length time.Duration
	// CPU takes a CPU profile this long inside the window, ending before
	// the closing fetches, unless one captured since the window's start is
	// held. 0 takes none (a held one is still used).
	CPU time.Duration
	// Kinds are the profiles the window ends with; nil is every snapshot
	// kind (heap, allocs, goroutine, mutex, block).
	Kinds []profile.Kind
	// HeldOnly fetches nothing: the window uses the profiles the session
	// holds (a target that is gone).
	HeldOnly bool
	// NoProfiles leaves profiles out altogether.
	NoProfiles bool
	// Dump also fetches the debug=2 goroutine dump (states and wait
	// times; it stops the world briefly on the target).
	Dump bool
	// MaxAge reuses a held capture fetched at most this long before the
	// end instead of fetching again; 0 always fetches.
	MaxAge time.Duration
	// Deadline bounds the closing fetches; default closeDeadline's.
	Deadline time.Duration
	// Trace takes an execution trace (/debug/pprof/trace) this long
	// inside the window, ending before the closing fetches, unless one
	// taken since the window's start is held. 0 takes none (a held one
	// is still used).
	Trace time.Duration
}

// Window is what a session holds for one span of time: its samples, the
// OS facts at both ends, the profiles the advisor reads (cumulative ones as
// the difference over the window where a start capture exists) and the
// goroutine groups at both ends. It is the one input of the advisor's
// report and of a snapshot.
type Window struct {
	From, To time.Time
	// Target names what was watched.
	Target string
	// Arg is the target as a gotune command takes it (a PID or a URL),
	// for the commands in the advisor's actions; "" for a recording.
	Arg string
	// Session is the store's snapshot at the window's end.
	Session *session.Snapshot
	// CgroupStart is the first cgroup reading of the window (nil for URL
	// targets).
	CgroupStart *cgroup.Stats
	// GoroutinesStart and GoroutinesEnd are groups from the goroutine
	// profile at both ends, grouped alike, for the leak rule.
	GoroutinesStart, GoroutinesEnd []profile.GoroutineGroup
	// Profiles are the window's profiles by kind.
	Profiles map[profile.Kind]*profile.Captured
	// Dump is the debug=2 goroutine dump when taken.
	Dump []byte
	// Groups are the goroutine groups to show: from the dump when taken
	// (with states and wait times), else GoroutinesEnd.
	Groups []profile.GoroutineGroup
	// Trace is the execution trace taken inside the window, when one
	// was (Session.Trace).
	Trace *trace.Captured
	// Notes say what could not be captured and why.
	Notes []string
	// Changes are the live setting changes gotune applied during the
	// window, with their predictions and outcomes (apply.go).
	Changes []snapshot.Change
	// Restarts are the restarts of the target inside the window, oldest
	// first (each marks its point of the series). The advice, the
	// windowed profiles and the goroutine growth cover the process after
	// the newest one only: nothing is derived across a restart.
	Restarts []session.Restart

	// ends are the closing captures as fetched (before any delta), for a
	// window whose start belongs to a process that restarted since.
	ends map[profile.Kind]*profile.Captured
}

// ErrNoSample says the window holds no sample of the target.
var ErrNoSample = errors.New("no sample read from the target")

// Window takes a window (see WindowOptions) and returns it. It fails only
// when the context ends or no sample at all was read.
func (s *Session) Window(ctx context.Context, o WindowOptions) (*Window, error) {
	if err := s.waitStart(ctx); err != nil {
		return nil, err
	}
	// The start's cgroup reading and notes can still arrive (watchCgroup,
	// the start budget's note): read them under the lock.
	s.mu.Lock()
	start := s.start
	cgStart, notes := start.cgroup, slices.Clone(start.notes)
	s.mu.Unlock()
	w := &Window{From: start.at, Target: s.name, Arg: s.arg, CgroupStart: cgStart, GoroutinesStart: start.groups,
		Profiles: map[profile.Kind]*profile.Captured{}}
	w.Notes = append(w.Notes, notes...)
	// The window holds every point of the session: a store filled before
	// the session began (a recorded one) counts from its first point.
	if pts := s.store.Snapshot().Points; len(pts) > 0 && pts[0].Time.Before(w.From) {
		w.From = pts[0].Time
	}
	fetch := s.fetcher != nil && !o.HeldOnly && !o.NoProfiles
	if s.fetcher == nil && !o.NoProfiles && !s.replay {
		w.Notes = append(w.Notes, "profiles: "+ErrNoProfiles.Error())
	}

	var end time.Time
	if o.Length > 0 {
		end = s.started.Add(o.Length)
		tail := min(o.Length/4, maxTail)
		waitTrace := s.traceInWindow(ctx, o, start.at, end.Add(-tail), end.Add(windowGrace))
		if fetch && o.CPU > 0 && s.heldSince(profile.KindCPU, start.at) == nil {
			secs := s.cpuSeconds(max(1, int(o.CPU/time.Second)))
			if err := sleepUntil(ctx, end.Add(-tail-time.Duration(secs)*time.Second)); err != nil {
				return nil, err
			}
			// Timed to end before the closing fetches: a target that
			// has not answered shortly after the window's end is not
			// waited for.
			cctx, cancel := context.WithDeadline(ctx, end.Add(windowGrace))
			_, err := s.fetchOne(cctx, profile.KindCPU, ProfileOptions{Seconds: secs})
			late := cctx.Err() != nil
			cancel()
			if err != nil && ctx.Err() == nil {
				if late {
					err = fmt.Errorf("cpu profile: not answered by %s after the window's end; left out", windowGrace)
				}
				w.Notes = append(w.Notes, err.Error())
			}
		}
		if err := sleepUntil(ctx, end.Add(-tail)); err != nil {
			return nil, err
		}
		w.Notes = append(w.Notes, waitTrace()...)
	}
	// A target that gave no sample at all gets no closing fetches: say so
	// now rather than after their deadlines.
	if len(s.store.Snapshot().Points) == 0 {
		return nil, s.noSample()
	}
	if !o.NoProfiles {
		// The closing fetches end by their budget after the time
		// set aside for them, however late a CPU profile or trace
		// inside the window made them start.
		by := time.Now().Add(closeDeadline(o))
		if o.Length > 0 {
			by = end.Add(-min(o.Length/4, maxTail)).Add(closeDeadline(o))
		}
		s.closeProfiles(ctx, w, start, o, fetch, by)
	}
	w.Trace = s.windowTrace(o, w.From)
	if o.Length > 0 {
		if err := sleepUntil(ctx, end); err != nil {
			return nil, err
		}
		if over := time.Since(end); over > time.Second {
			w.Notes = append(w.Notes, fmt.Sprintf("the window ran %s longer than the %s asked: the target was slow to answer (a %s window waits at most %s past its end for its fetches)",
				over.Round(100*time.Millisecond), o.Length, o.Length, closeDeadline(o)-min(o.Length/4, maxTail)))
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	w.To = s.now()
	w.Session = s.store.Snapshot()
	if pts := w.Session.Points; len(pts) > 0 {
		if last := pts[len(pts)-1].Time; last.After(w.To) {
			w.To = last
		}
	}
	if len(w.Session.Points) == 0 {
		return nil, s.noSample()
	}
	w.Changes = s.changesIn(w.From, w.To)
	w.splitAtRestart(start.at)
	return w, nil
}

// splitAtRestart makes a window that holds a restart of the target say so
// and derive nothing across it: what was taken from the process before
// the newest restart (the start's goroutine groups and cgroup reading, the
// base of the windowed profiles) is not compared with what the new process
// gave. startAt is when the window's start was taken.
func (w *Window) splitAtRestart(startAt time.Time) {
	for _, p := range w.Session.Points {
		if p.Restart != nil && !p.Time.Before(w.From) && !p.Time.After(w.To) {
			w.Restarts = append(w.Restarts, *p.Restart)
		}
	}
	if len(w.Restarts) == 0 {
		return
	}
	r := w.Restarts[len(w.Restarts)-1]
	at := r.At.UTC().Format(time.RFC3339)
	note := "the target restarted at " + at
	if ps := restartProcesses(r); ps != "" {
		note += " (" + ps + ")"
	}
	if r.Why != "" {
		// A replayed window's restart comes from a file.
		note += ": " + safetext.Line(r.Why)
	}
	if len(w.Restarts) > 1 {
		note += fmt.Sprintf(" (the last of %d restarts in the window)", len(w.Restarts))
	}
	w.Notes = append(w.Notes, note+"; the series holds both processes, marked there, and no figure is derived across it; the advice, the profiles over the window and the goroutine growth cover the new process only")
	for _, k := range slices.Sorted(maps.Keys(w.Profiles)) {
		c := w.Profiles[k]
		switch {
		case c.Scope == profile.ScopeWindow && c.From.Before(r.At):
			if end := w.ends[k]; end != nil && !end.FetchedAt.Before(r.At) {
				w.Profiles[k] = end
				w.Notes = append(w.Notes, fmt.Sprintf("%s profile: counted since the new process started (it restarted at %s), not over the window", k, at))
			} else {
				delete(w.Profiles, k)
				w.Notes = append(w.Notes, fmt.Sprintf("%s profile: left out: its start and end were read from two processes (the target restarted at %s)", k, at))
			}
		case c.FetchedAt.Before(r.At):
			w.Notes = append(w.Notes, fmt.Sprintf("%s profile: read from the process before the restart at %s", k, at))
		}
	}
	if startAt.Before(r.At) {
		if w.GoroutinesStart != nil {
			w.Notes = append(w.Notes, "goroutine growth: not measured, the window's start was read from the process before the restart")
		}
		w.GoroutinesStart = nil
	}
	if w.CgroupStart != nil && w.CgroupStart.ReadAt.Before(r.At) {
		w.CgroupStart = nil
	}
}

// restartProcesses says which processes: "pid 4242 → 4250", else the
// new one's start.
func restartProcesses(r session.Restart) string {
	switch {
	case r.FromPID != 0 && r.ToPID != 0 && r.FromPID != r.ToPID:
		return fmt.Sprintf("pid %d → %d", r.FromPID, r.ToPID)
	case r.ToPID != 0 && !r.ToStart.IsZero():
		return fmt.Sprintf("pid %d, started %s", r.ToPID, r.ToStart.UTC().Format(time.RFC3339))
	case !r.ToStart.IsZero():
		return "started " + r.ToStart.UTC().Format(time.RFC3339)
	}
	return ""
}

// noSample is the error of a window without a sample, with the metrics
// collector's last error.
func (s *Session) noSample() error {
	if st, ok := s.store.Snapshot().StatusOf("metrics"); ok && st.LastErr != "" {
		return fmt.Errorf("%w %s: %s", ErrNoSample, s.name, st.LastErr)
	}
	return fmt.Errorf("%w %s", ErrNoSample, s.name)
}

// closeProfiles fills the window's profiles at its end: held ones recent
// enough, else fetched one after the other until by.
func (s *Session) closeProfiles(ctx context.Context, w *Window, start *mark, o WindowOptions, fetch bool, by time.Time) {
	deadline := closeDeadline(o)
	fctx, cancel := context.WithDeadline(ctx, by)
	defer cancel()
	kinds := o.Kinds
	if kinds == nil {
		kinds = profile.SnapshotKinds()
	}
	get := func(k profile.Kind) *profile.Captured {
		// A held capture serves when it is recent enough and newer than
		// the window's start (the start's own capture would make an empty
		// window).
		c := s.Held(k)
		if base := start.base[k]; c != nil && base != nil && !c.FetchedAt.After(base.FetchedAt) {
			c = nil
		}
		if c != nil && (!fetch || o.MaxAge > 0 && s.now().Sub(c.FetchedAt) <= o.MaxAge) {
			return c
		}
		if !fetch {
			return nil
		}
		c, err := s.fetchOne(fctx, k, ProfileOptions{})
		if err != nil {
			if ctx.Err() == nil {
				if fctx.Err() != nil {
					err = fmt.Errorf("%s profile: not fetched within the %s the window's closing fetches may take; left out", k, deadline)
				}
				w.Notes = append(w.Notes, err.Error())
			}
			return nil
		}
		return c
	}
	for _, k := range kinds {
		if k.Timed() {
			continue
		}
		c := get(k)
		if c == nil {
			continue
		}
		if w.ends == nil {
			w.ends = map[profile.Kind]*profile.Captured{}
		}
		w.ends[k] = c
		if base := start.base[k]; k.Cumulative() && base != nil {
			d, err := s.delta(base, c)
			if err != nil {
				w.Notes = append(w.Notes, fmt.Sprintf("%s profile over the window: %v; kept as counted since the process started", k, err))
			} else {
				c = d
			}
		}
		w.Profiles[k] = c
	}
	// A CPU profile captured inside the window.
	if c := s.heldSince(profile.KindCPU, w.From); c != nil {
		w.Profiles[profile.KindCPU] = c
	}
	if g := w.Profiles[profile.KindGoroutine]; g != nil {
		groups, err := profile.GoroutineGroupsFromProfile(g.Profile)
		if err != nil {
			w.Notes = append(w.Notes, "goroutine groups: "+err.Error())
		}
		w.GoroutinesEnd = groups
	}
	w.Groups = w.GoroutinesEnd
	if o.Dump && (fetch || s.replay) {
		if d, err := s.GoroutineDump(fctx); err != nil {
			if ctx.Err() == nil {
				if fctx.Err() != nil {
					err = fmt.Errorf("goroutine dump: not fetched within the %s the window's closing fetches may take; left out", deadline)
				}
				w.Notes = append(w.Notes, err.Error())
			}
		} else {
			w.Dump, w.Groups = d.Raw, d.Groups
		}
	}
}

// GroupDump groups the goroutines of a debug=2 dump the one way every
// front end shows them (gotune goroutines, the dashboard, snapshots and
// reports): by state, stack and creator, argument values ignored.
func GroupDump(gs []profile.Goroutine) []profile.GoroutineGroup {
	return profile.GroupGoroutines(gs, profile.GroupOptions{})
}

// heldSince returns the newest capture of k whose span starts at or after
// t, or nil.
func (s *Session) heldSince(k profile.Kind, t time.Time) *profile.Captured {
	c := s.Held(k)
	if c == nil || c.From.Before(t.Add(-time.Second)) {
		return nil
	}
	return c
}

// delta returns cur − base as a window capture, computed once per pair.
func (s *Session) delta(base, cur *profile.Captured) (*profile.Captured, error) {
	s.mu.Lock()
	if d, ok := s.deltas[cur]; ok {
		s.mu.Unlock()
		return d, nil
	}
	s.mu.Unlock()
	raw, err := profile.Delta(base.Raw, cur.Raw)
	if err != nil {
		return nil, err
	}
	p, err := profile.ParseBytes(raw)
	if err != nil {
		return nil, err
	}
	d := &profile.Captured{Kind: cur.Kind, Raw: raw, Profile: p, Scope: profile.ScopeWindow, From: base.FetchedAt, To: cur.FetchedAt, FetchedAt: cur.FetchedAt}
	s.mu.Lock()
	if s.deltas == nil || len(s.deltas) > 2*len(profile.Kinds()) {
		s.deltas = map[*profile.Captured]*profile.Captured{}
	}
	s.deltas[cur] = d
	s.mu.Unlock()
	return d, nil
}

// AdvisorInput is the advisor's input for the window: its points, the
// facts, the cgroup reading at its start and its profiles.
func (w *Window) AdvisorInput() advisor.Input {
	in := advisor.Input{Facts: w.Session.Facts, Target: w.Arg}
	// After a restart, the points of the new process only: the rules
	// read counters and histograms from both ends.
	from := w.From.Add(-time.Second)
	if n := len(w.Restarts); n > 0 {
		from = w.Restarts[n-1].At
	}
	for _, p := range w.Session.Points {
		if !p.Time.Before(from) && !p.Time.After(w.To) {
			in.Points = append(in.Points, p)
		}
	}
	if cg := w.Session.Facts.Cgroup; cg != nil && w.CgroupStart != nil && cg.ReadAt.After(w.CgroupStart.ReadAt) {
		in.CgroupStart = w.CgroupStart
	}
	in.Profiles.GoroutinesStart, in.Profiles.GoroutinesEnd = w.GoroutinesStart, w.GoroutinesEnd
	for _, c := range w.Profiles {
		in.Profiles.Set(c)
	}
	if w.Trace != nil {
		in.Trace = w.Trace.Summary
	}
	return in
}

// Advise runs the advisor's rules over the window.
func (w *Window) Advise(cfg advisor.Config) advisor.Report {
	if cfg == (advisor.Config{}) {
		cfg = advisor.DefaultConfig()
	}
	return advisor.Advise(w.AdvisorInput(), cfg)
}

// Kinds lists the window's profile kinds in display order.
func (w *Window) Kinds() []profile.Kind {
	var out []profile.Kind
	for _, ki := range profile.Kinds() {
		if w.Profiles[ki.Kind] != nil {
			out = append(out, ki.Kind)
		}
	}
	return out
}

// SnapshotOptions label a snapshot.
type SnapshotOptions struct {
	Name          string // a label the user chose ("before GOGC=200")
	GotuneVersion string
	Advisor       advisor.Config // zero: the defaults
}

// Snapshot builds the .gotune snapshot of the window: the manifest and
// series (redacted, see snapshot.FromSession), its profiles, the goroutine
// dump and groups, and the advisor's report over the window.
func (w *Window) Snapshot(o SnapshotOptions) *snapshot.Snapshot {
	s := snapshot.FromSession(w.Session, o.Name, o.GotuneVersion, w.From, w.To)
	if w.Target != "" {
		s.Manifest.Target.Name = redact.Command(w.Target)
	}
	for k, c := range w.Profiles {
		if len(c.Raw) > 0 {
			s.Profiles[k] = c
		}
	}
	s.Trace = w.Trace
	s.GoroutineDump = w.Dump
	s.Goroutines = w.Groups
	s.GoroutinesStart = w.GoroutinesStart
	s.Manifest.CgroupStart = w.CgroupStart
	r := w.Advise(o.Advisor)
	s.Advice = &r
	s.Manifest.Notes = slices.Clone(w.Notes)
	s.Manifest.Changes = slices.Clone(w.Changes)
	return s
}

// sleepUntil waits until t or the end of ctx.
func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// StackKey identifies a goroutine stack across the goroutine profile and
// debug=2 dumps, so groups from either can be matched (growth since the
// window's start): the function of every frame outside package runtime —
// dumps hide the runtime's frames (gopark, selectgo, runtime.main), the
// profile keeps them — and not the state or the creator, which only dumps
// have.
func StackKey(g *profile.GoroutineGroup) string {
	var b strings.Builder
	for _, f := range g.Frames {
		if strings.HasPrefix(f.Func, "runtime.") {
			continue
		}
		b.WriteString(f.Func)
		b.WriteByte(0)
	}
	return b.String()
}
