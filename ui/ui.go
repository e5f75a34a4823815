// Package ui is gotune's live terminal dashboard, built on Bubble Tea v2.
//
// One root Model routes every message. Each screen (overview, flame, top,
// goroutines, advice, and the process picker; in the compare view of two
// snapshots: metrics, profiles, goroutines, settings and findings) is a
// plain struct in its own file meeting one small contract: update, view at
// a size, help keys, set size. All I/O happens in commands (named constructors in commands.go that
// return typed messages); Update and View only compute. Live data arrives
// through a command that waits on the session store's "changed" channel and
// the program's context and is re-armed after each snapshot.
package ui

import (
	"context"
	"errors"
	"io"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/gotune/gotune/capture"
)

// Options configure the dashboard.
type Options struct {
	// Session is the capture session of the target to watch; nil starts
	// with the process picker, which needs Scan and Attach.
	Session *capture.Session
	Scan    ScanFunc
	Attach  AttachFunc
	// Host, when set, feeds the host overview (the screen before attach:
	// every Go process with its figures) instead of Scan's plain list;
	// attached dashboards then stay open behind it (0 returns to it).
	Host HostSource
	// Compare, when set, shows two snapshots side by side (`gotune diff`)
	// instead of a live target: Session, Scan and Attach are not used.
	Compare *Comparison

	Theme      string // auto, dark, light, high-contrast, mono
	NoColor    bool   // NO_COLOR is set: monochrome, whatever Theme says
	Interval   time.Duration
	CPUSeconds int // default CPU capture length
	// Export, when set, is where e sends the session's profiles and
	// recent series; ExportService labels them (default: the command's
	// base name).
	Export        Exporter
	ExportService string

	// Version is gotune's version, recorded in the snapshots it saves.
	Version string

	// Now is the clock (tests fix it); nil is time.Now.
	Now func() time.Time
}

// Run shows the dashboard, or the compare view with opts.Compare, in the
// alternate screen until the user quits or ctx ends.
func Run(ctx context.Context, opts Options, in io.Reader, out io.Writer) error {
	m := New(ctx, opts)
	p := tea.NewProgram(m, tea.WithContext(ctx), tea.WithInput(in), tea.WithOutput(out))
	_, err := p.Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil // SIGINT/SIGTERM: a normal stop
	}
	return err
}
