package ui

import (
	"context"
	"errors"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/gotune/gotune/capture"
	"github.com/gotune/gotune/collectors/discover"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/session"
)

// snapshotMsg carries a new snapshot of the store.
type snapshotMsg struct{ snap *session.Snapshot }

// tickMsg re-renders ages ("ok 0.4s ago") and drives periodic refreshes.
type tickMsg time.Time

// waitForSnapshot returns the next snapshot once the store changes. It
// watches ctx too: Bubble Tea never cancels a command, so one blocked on a
// channel must end with the program.
//
// A collector's read publishes in a burst (the settings, the sample, its
// status: three changes within microseconds); waiting snapshotSettle after
// the first takes the burst as one snapshot, so the dashboard draws one
// frame per reading, not three.
func waitForSnapshot(ctx context.Context, sess *capture.Session) tea.Cmd {
	return func() tea.Msg {
		select {
		case <-ctx.Done():
			return nil
		case <-sess.Changed():
		}
		t := time.NewTimer(snapshotSettle)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		select {
		case <-sess.Changed(): // part of the same burst: the snapshot below has it
		default:
		}
		return snapshotMsg{snap: sess.Snapshot()}
	}
}

// snapshotSettle is how long a burst of store changes is waited out.
const snapshotSettle = 25 * time.Millisecond

func tick(d time.Duration) tea.Cmd {
	return tea.Tick(d, func(t time.Time) tea.Msg { return tickMsg(t) })
}

// profileMsg is a fetched and parsed profile with its trees built, or the
// error that stopped it.
type profileMsg struct {
	gen  int // which request it answers; stale answers are dropped
	kind profile.Kind
	data *flameData
	err  error
}

func (m profileMsg) Error() string {
	if m.err == nil {
		return ""
	}
	return m.err.Error()
}

// fetchProfile fetches one profile through the session (which keeps it)
// and aggregates it, off the UI goroutine. The CPU profile runs for
// seconds; ctx cancels it.
func fetchProfile(ctx context.Context, sess *capture.Session, gen int, kind profile.Kind, seconds int, o viewOptions) tea.Cmd {
	return func() tea.Msg {
		c, err := sess.Profile(ctx, kind, capture.ProfileOptions{Seconds: seconds})
		if err != nil {
			if ctx.Err() != nil {
				err = errCaptureCancelled
			}
			return profileMsg{gen: gen, kind: kind, err: err}
		}
		d, err := buildFlameData(safeCaptured(c), o)
		if err != nil {
			return profileMsg{gen: gen, kind: kind, err: err}
		}
		return profileMsg{gen: gen, kind: kind, data: d}
	}
}

var errCaptureCancelled = errors.New("capture cancelled")

// rebuildProfile aggregates an already fetched profile with other view
// options (sample type, refinements, granularity, orientation), or one
// from the session's history.
func rebuildProfile(c *profile.Captured, gen int, o viewOptions) tea.Cmd {
	return func() tea.Msg {
		d, err := buildFlameData(c, o)
		if err != nil {
			return profileMsg{gen: gen, kind: c.Kind, err: err}
		}
		return profileMsg{gen: gen, kind: c.Kind, data: d}
	}
}

// captureTickMsg advances the CPU capture's progress bar.
type captureTickMsg struct{ gen int }

func captureTick(gen int) tea.Cmd {
	return tea.Tick(250*time.Millisecond, func(time.Time) tea.Msg { return captureTickMsg{gen: gen} })
}

// goroutinesMsg is a set of goroutine groups: from the goroutine profile
// (stacks and labels) or, asked for, the debug=2 dump (states and waits).
type goroutinesMsg struct {
	groups []profile.GoroutineGroup
	total  int
	at     time.Time
	took   time.Duration // how long the target took to answer
	dump   bool          // from the debug=2 dump
	err    error
}

// goroutineFetchTimeout bounds one read of the goroutines.
const goroutineFetchTimeout = 10 * time.Second

// fetchGoroutineProfile reads the goroutine profile through the session
// and groups it. The runtime collects it without stopping the world for
// long (goroutineProfileWithLabelsConcurrent), unlike the debug=2 dump.
func fetchGoroutineProfile(ctx context.Context, sess *capture.Session) tea.Cmd {
	return func() tea.Msg {
		cctx, cancel := context.WithTimeout(ctx, goroutineFetchTimeout)
		defer cancel()
		start := time.Now()
		c, err := sess.Profile(cctx, profile.KindGoroutine, capture.ProfileOptions{})
		took := time.Since(start)
		if err != nil {
			return goroutinesMsg{err: err, at: time.Now(), took: took}
		}
		groups, err := profile.GoroutineGroupsFromProfile(c.Profile)
		if err != nil {
			return goroutinesMsg{err: err, at: c.FetchedAt, took: took}
		}
		total := 0
		for _, g := range groups {
			total += g.Count
		}
		return goroutinesMsg{groups: groups, total: total, at: c.FetchedAt, took: took}
	}
}

// fetchGoroutines reads the debug=2 dump through the session, grouped. It
// stops the world on the target while every stack is written: only on an
// explicit key.
func fetchGoroutines(ctx context.Context, sess *capture.Session) tea.Cmd {
	return func() tea.Msg {
		cctx, cancel := context.WithTimeout(ctx, goroutineFetchTimeout)
		defer cancel()
		start := time.Now()
		d, err := sess.GoroutineDump(cctx)
		took := time.Since(start)
		if err != nil {
			return goroutinesMsg{err: err, at: time.Now(), took: took, dump: true}
		}
		return goroutinesMsg{groups: d.Groups, total: d.Total, at: d.At, took: took, dump: true}
	}
}

// scanMsg is the picker's list of Go processes.
type scanMsg struct {
	procs []discover.Process
	err   error
}

// ScanFunc lists the Go processes the picker offers.
type ScanFunc func(ctx context.Context) ([]discover.Process, error)

// AttachFunc starts watching a process the picker chose. The watch must
// live as long as ctx.
type AttachFunc func(ctx context.Context, p discover.Process) (*capture.Session, error)

func scanProcesses(ctx context.Context, scan ScanFunc) tea.Cmd {
	return func() tea.Msg {
		procs, err := scan(ctx)
		return scanMsg{procs: procs, err: err}
	}
}

// attachedMsg is the result of attaching to the process chosen in the
// picker.
type attachedMsg struct {
	sess *capture.Session
	err  error
}

func attachProcess(ctx context.Context, attach AttachFunc, p discover.Process) tea.Cmd {
	return func() tea.Msg {
		sess, err := attach(ctx, p)
		return attachedMsg{sess: sess, err: err}
	}
}

// jumpToFrameMsg asks the flame screen to select a function (from Top).
type jumpToFrameMsg struct{ name string }
