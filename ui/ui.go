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
	"fmt"
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
	// SourcePath are directories where the source view looks for the
	// files a profile names (pprof's -source_path), besides the recorded
	// paths, the module cache and GOROOT.
	SourcePath []string
	// Export, when set, is where E sends the session's profiles and
	// recent series; ExportService labels them (default: the command's
	// base name).
	Export        Exporter
	ExportService string

	// Version is gotune's version, recorded in the snapshots it saves.
	Version string

	// Now is the clock (tests fix it); nil is time.Now.
	Now func() time.Time
	// Apply configures the Advice screen's live changes (lease, settle,
	// verification window); zero fields are capture's defaults.
	Apply capture.ApplyOptions
}

// rendererFPS is how often Bubble Tea's renderer wakes to draw the last
// frame (its default is 60): each wake costs the scheduler and a frame
// comparison even when nothing changed, and data arrives once per
// interval. At 20 a key press is drawn within 50 ms.
const rendererFPS = 20

// Run shows the dashboard, or the compare view with opts.Compare, in the
// alternate screen until the user quits or ctx ends.
func Run(ctx context.Context, opts Options, in io.Reader, out io.Writer) error {
	m := New(ctx, opts)
	p := tea.NewProgram(m, tea.WithContext(ctx), tea.WithInput(in), tea.WithOutput(out), tea.WithFPS(rendererFPS))
	_, err := p.Run()
	// Quitting reverts every live change the user did not keep; on a
	// context of its own, since ctx may be what ended the program.
	if m.s.sess != nil {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		if rerr := m.s.sess.RevertActive(rctx); rerr != nil {
			err = errors.Join(err, fmt.Errorf("revert the live changes on exit: %w (the agent reverts them on its own when their leases end)", rerr))
		}
		cancel()
	}
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil // SIGINT/SIGTERM: a normal stop
	}
	return err
}
