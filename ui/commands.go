package ui

import (
	"context"
	"errors"
	"fmt"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/gotune/gotune/collectors"
	"github.com/gotune/gotune/collectors/discover"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/session"
)

// Feed is the UI's view of a session store: the latest snapshot and a
// coalescing "changed" signal. *session.Store implements it.
type Feed interface {
	Snapshot() *session.Snapshot
	Changed() <-chan struct{}
}

// ProfileFetcher fetches pprof profiles. *collectors.PprofClient
// implements it.
type ProfileFetcher interface {
	Fetch(ctx context.Context, req collectors.ProfileRequest) ([]byte, error)
}

// Attachment is a target being watched: where its snapshots come from, how
// to fetch its profiles (nil when it serves none), and what to call it.
type Attachment struct {
	Name     string
	Feed     Feed
	Profiles ProfileFetcher
	// Hint says how to enable profiles when Profiles is nil.
	Hint string
}

// snapshotMsg carries a new snapshot of the store.
type snapshotMsg struct{ snap *session.Snapshot }

// tickMsg re-renders ages ("ok 0.4s ago") and drives periodic refreshes.
type tickMsg time.Time

// waitForSnapshot returns the next snapshot once the store changes. It
// watches ctx too: Bubble Tea never cancels a command, so one blocked on a
// channel must end with the program.
func waitForSnapshot(ctx context.Context, feed Feed) tea.Cmd {
	return func() tea.Msg {
		select {
		case <-ctx.Done():
			return nil
		case <-feed.Changed():
			return snapshotMsg{snap: feed.Snapshot()}
		}
	}
}

func tick(d time.Duration) tea.Cmd {
	return tea.Tick(d, func(t time.Time) tea.Msg { return tickMsg(t) })
}

// profileMsg is a fetched and parsed profile with its trees built, or the
// error that stopped it.
type profileMsg struct {
	gen  int // which request it answers; stale answers are dropped
	kind string
	data *flameData
	err  error
}

func (m profileMsg) Error() string {
	if m.err == nil {
		return ""
	}
	return m.err.Error()
}

// fetchProfile fetches, parses and aggregates one profile off the UI
// goroutine. The CPU profile runs for seconds; ctx cancels it.
func fetchProfile(ctx context.Context, f ProfileFetcher, gen int, kind string, seconds int, sampleIndex string) tea.Cmd {
	return func() tea.Msg {
		req := collectors.ProfileRequest{Kind: kind}
		if kind == "profile" {
			req.Seconds = seconds
		}
		body, err := f.Fetch(ctx, req)
		if err != nil {
			if ctx.Err() != nil {
				err = errCaptureCancelled
			}
			return profileMsg{gen: gen, kind: kind, err: err}
		}
		p, err := profile.ParseBytes(body)
		if err != nil {
			return profileMsg{gen: gen, kind: kind, err: fmt.Errorf("parse %s profile: %w", kind, err)}
		}
		d, err := buildFlameData(p, kind, sampleIndex)
		if err != nil {
			return profileMsg{gen: gen, kind: kind, err: err}
		}
		d.fetchedAt = time.Now()
		d.seconds = seconds
		d.raw = body
		return profileMsg{gen: gen, kind: kind, data: d}
	}
}

var errCaptureCancelled = errors.New("capture cancelled")

// rebuildProfile aggregates an already fetched profile by another sample
// type.
func rebuildProfile(old *flameData, gen int, sampleIndex string) tea.Cmd {
	return func() tea.Msg {
		d, err := buildFlameData(old.prof, old.kind, sampleIndex)
		if err != nil {
			return profileMsg{gen: gen, kind: old.kind, err: err}
		}
		d.fetchedAt, d.seconds, d.raw = old.fetchedAt, old.seconds, old.raw
		return profileMsg{gen: gen, kind: old.kind, data: d}
	}
}

// captureTickMsg advances the CPU capture's progress bar.
type captureTickMsg struct{ gen int }

func captureTick(gen int) tea.Cmd {
	return tea.Tick(250*time.Millisecond, func(time.Time) tea.Msg { return captureTickMsg{gen: gen} })
}

// goroutinesMsg is a grouped goroutine dump.
type goroutinesMsg struct {
	groups []profile.GoroutineGroup
	total  int
	at     time.Time
	err    error
}

// fetchGoroutines reads a debug=2 dump and groups it.
func fetchGoroutines(ctx context.Context, f ProfileFetcher) tea.Cmd {
	return func() tea.Msg {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		body, err := f.Fetch(cctx, collectors.ProfileRequest{Kind: "goroutine", Debug: 2})
		if err != nil {
			return goroutinesMsg{err: err, at: time.Now()}
		}
		gs, err := profile.ParseGoroutineDumpBytes(body)
		if err != nil {
			return goroutinesMsg{err: fmt.Errorf("read goroutine dump: %w", err), at: time.Now()}
		}
		return goroutinesMsg{groups: profile.GroupGoroutines(gs, profile.GroupOptions{}), total: len(gs), at: time.Now()}
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
type AttachFunc func(ctx context.Context, p discover.Process) (Attachment, error)

func scanProcesses(ctx context.Context, scan ScanFunc) tea.Cmd {
	return func() tea.Msg {
		procs, err := scan(ctx)
		return scanMsg{procs: procs, err: err}
	}
}

// attachedMsg is the result of attaching to the process chosen in the
// picker.
type attachedMsg struct {
	att Attachment
	err error
}

func attachProcess(ctx context.Context, attach AttachFunc, p discover.Process) tea.Cmd {
	return func() tea.Msg {
		a, err := attach(ctx, p)
		return attachedMsg{att: a, err: err}
	}
}

// jumpToFrameMsg asks the flame screen to select a function (from Top).
type jumpToFrameMsg struct{ name string }
