package cli

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/charmbracelet/x/term"

	"github.com/gotune/gotune/collectors"
	"github.com/gotune/gotune/collectors/discover"
	"github.com/gotune/gotune/session"
	"github.com/gotune/gotune/themes"
	"github.com/gotune/gotune/ui"
)

// isTerminal reports whether w is a terminal: the dashboard needs one;
// anything else (a pipe, a file, a test's buffer) gets the line mode.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(f.Fd())
}

// noColor reports whether NO_COLOR asks for no colour (https://no-color.org).
func noColor() bool { return os.Getenv("NO_COLOR") != "" }

func validTheme(name string) error {
	if !themes.Valid(name) {
		_, err := themes.New(name)
		return fmt.Errorf("--theme: %w", err)
	}
	return nil
}

// wantDashboard says whether attach and demo open the dashboard: on a
// terminal, unless --plain or --json ask for lines.
func (w *watchFlags) wantDashboard(e *env) bool {
	return !w.json && !w.plain && isTerminal(e.stdout)
}

// dashboard watches a target in the full-screen dashboard until the user
// quits, the duration ends or the context is cancelled.
func dashboard(e *env, w watchFlags, t collectors.Target, name string) error {
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	if w.duration > 0 {
		ctx, cancel = context.WithTimeout(ctx, w.duration)
		defer cancel()
	}
	att := attachment(ctx, t, w.interval)
	if name != "" {
		att.Name = name
	}
	return ui.Run(ctx, ui.Options{Attachment: &att, Theme: w.theme, NoColor: noColor(),
		Interval: w.interval, Version: Version}, os.Stdin, e.stdout)
}

// attachment starts watching t into a new store for as long as ctx lives.
func attachment(ctx context.Context, t collectors.Target, interval time.Duration) ui.Attachment {
	store := session.NewStore(session.DefaultCapacity)
	t.Watch(ctx, store, interval)
	att := ui.Attachment{Name: t.Name(), Feed: store}
	if p := t.Profiles(); p != nil {
		att.Profiles = p
	}
	if pt, ok := t.(*collectors.PIDTarget); ok {
		att.Hint = pt.Process.Reach.Hint
	}
	return att
}

// picker runs the process picker; the chosen process is watched in the
// dashboard.
func picker(e *env, theme string) error {
	const interval = time.Second
	return ui.Run(e.ctx, ui.Options{
		Theme: theme, NoColor: noColor(), Interval: interval, Version: Version,
		Scan: func(ctx context.Context) ([]discover.Process, error) {
			return discover.Scan(ctx, discover.Options{})
		},
		Attach: func(ctx context.Context, p discover.Process) (ui.Attachment, error) {
			t, err := collectors.Open(ctx, strconv.Itoa(p.PID), discover.Overrides{})
			if err != nil {
				return ui.Attachment{}, err
			}
			return attachment(ctx, t, interval), nil
		},
	}, os.Stdin, e.stdout)
}
