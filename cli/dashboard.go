package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/charmbracelet/x/term"

	"github.com/gotune/gotune/capture"
	"github.com/gotune/gotune/collectors"
	"github.com/gotune/gotune/collectors/discover"
	"github.com/gotune/gotune/hostview"
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
	sess := attach(ctx, t, w.interval, name)
	group, err := openExporters(exportDestinations(w.export), "")
	if err != nil {
		return err
	}
	o := ui.Options{Session: sess, Theme: w.theme, NoColor: noColor(), Interval: w.interval, Version: Version, SourcePath: filepath.SplitList(w.sourcePath)}
	if len(group) > 0 {
		o.Export = group
	}
	err = ui.Run(ctx, o, os.Stdin, e.stdout)
	return errors.Join(err, closeExporters(group, dashboardExportBudget, e.stderr))
}

// dashboardExportBudget is how long quitting the dashboard waits for what
// e queued to be sent.
const dashboardExportBudget = 10 * time.Second

// attach starts the capture session the dashboard shows, for as long as
// ctx lives: metrics, and the window's start for advice and saves.
func attach(ctx context.Context, t collectors.Target, interval time.Duration, name string) *capture.Session {
	return capture.Start(ctx, t, capture.Options{Interval: interval, Name: name, Baselines: true})
}

// picker runs the host overview (every Go process of the host); each
// process chosen is watched in a dashboard of its own, kept open behind
// the overview until its session is closed.
func picker(e *env, theme string, exports []string) error {
	const interval = time.Second
	group, err := openExporters(exportDestinations(exports), "")
	if err != nil {
		return err
	}
	var ex ui.Exporter
	if len(group) > 0 {
		ex = group
	}
	err = ui.Run(e.ctx, ui.Options{
		Export: ex,
		Theme:  theme, NoColor: noColor(), Interval: interval, Version: Version,
		Host: hostview.New(hostview.Options{}),
		Attach: func(ctx context.Context, p discover.Process) (*capture.Session, error) {
			t, err := collectors.Open(ctx, strconv.Itoa(p.PID), discover.Overrides{})
			if err != nil {
				return nil, err
			}
			return attach(ctx, t, interval, ""), nil
		},
	}, os.Stdin, e.stdout)
	return errors.Join(err, closeExporters(group, dashboardExportBudget, e.stderr))
}
