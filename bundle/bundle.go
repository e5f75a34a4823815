// Package bundle captures what a trigger asks for: when a rule fires on a
// watched process (package trigger), a bundle — the goroutine groups at
// both ends and the debug=2 dump where it is affordable, the heap, the
// allocations, mutex and block contention over the capture, a CPU profile,
// the metric series around the firing and the advisor's findings, and an
// execution trace (the flight recorder's where the target has one) beside
// it — taken
// through the capture pipeline (Session.MarkStart, Session.Profile,
// Session.Window, Window.Snapshot) into a .gotune snapshot, written to a
// directory whose disk use is capped (oldest bundles go first). Watch runs
// it all for `gotune watch`: a capture session per target, the rules on
// every new snapshot, one capture at a time, an index of every event, and
// the export of the series and each bundle's profiles.
package bundle

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gotune/gotune/capture"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/session"
	"github.com/gotune/gotune/snapshot"
	"github.com/gotune/gotune/trigger"
)

// Defaults of Options.
const (
	DefaultCPU = 10 * time.Second
	// DefaultDumpMaxGoroutines: the debug=2 dump stops the world while it
	// writes every stack; at 100k goroutines one costs the target about
	// 4 s of CPU and pauses of up to 1.9 s (PINS.md). Above this many the
	// bundle keeps the goroutine profile's groups only (no states).
	DefaultDumpMaxGoroutines = 10000
	// DefaultStartBudget bounds the bundle's start fetches.
	DefaultStartBudget = 15 * time.Second
)

// TraceHook adds an execution trace (or the flight recorder's snapshot)
// to a bundle where the target has one. It runs after the window is
// taken, before the snapshot is built, and returns the trace (nil for
// none) and what to note (what it took, or why it took none). The
// snapshot format holds no trace: Dir.Write saves it beside the bundle
// (NAME.trace), counted in the disk cap. TraceOf is the hook gotune
// watch uses.
type TraceHook func(ctx context.Context, sess *capture.Session, w *capture.Window) (data []byte, note string)

// Options say what a bundle holds.
type Options struct {
	// CPU is the CPU profile's length; the allocations, mutex and block
	// profiles are counted over the same span. 0 is DefaultCPU; negative
	// takes none.
	CPU time.Duration
	// DumpMaxGoroutines: the debug=2 dump is taken only below this many
	// goroutines; 0 is DefaultDumpMaxGoroutines, negative never.
	DumpMaxGoroutines int
	// StartBudget bounds the start's fetches; 0 is DefaultStartBudget.
	StartBudget time.Duration
	// Deadline bounds the closing fetches; 0 is capture.DefaultDeadline.
	Deadline time.Duration
	// Trace, when set, adds a trace to the bundle.
	Trace TraceHook
	// GotuneVersion is recorded in the snapshot.
	GotuneVersion string
}

// NamePrefix starts the name of every bundle's snapshot: "trigger
// gc-cpu>20%:30s". gotune export reads the trigger label from it.
const NamePrefix = "trigger "

// RuleOf returns the rule a snapshot was captured for, from its name; ok
// is false for a snapshot no trigger took.
func RuleOf(s *snapshot.Snapshot) (trigger.Rule, bool) {
	spec, ok := strings.CutPrefix(s.Manifest.Name, NamePrefix)
	if !ok {
		return trigger.Rule{}, false
	}
	r, err := trigger.Parse(strings.Fields(spec + " ")[0])
	return r, err == nil
}

// Capture takes a bundle of sess for ev (a Fired event): a new window
// start (goroutine groups and the cumulative profiles), a CPU profile of
// Options.CPU, then the window's end (heap, allocations, goroutines,
// mutex, block; the dump where affordable) and the snapshot with the
// advisor's report. The reason is the snapshot's first note. The
// execution trace, when Options.Trace took one, is returned beside it.
func Capture(ctx context.Context, sess *capture.Session, ev trigger.Event, o Options) (*snapshot.Snapshot, []byte, error) {
	if o.CPU == 0 {
		o.CPU = DefaultCPU
	}
	if o.DumpMaxGoroutines == 0 {
		o.DumpMaxGoroutines = DefaultDumpMaxGoroutines
	}
	if o.StartBudget <= 0 {
		o.StartBudget = DefaultStartBudget
	}
	var notes []string
	if sess.HasProfiles() {
		sctx, cancel := context.WithTimeout(ctx, o.StartBudget)
		sess.MarkStart(sctx)
		late := sctx.Err() != nil
		cancel()
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		if late {
			notes = append(notes, fmt.Sprintf("the bundle's start: the target did not answer every fetch within %s", o.StartBudget))
		}
		if o.CPU > 0 {
			secs := max(1, int(o.CPU/time.Second))
			if _, err := sess.Profile(ctx, profile.KindCPU, capture.ProfileOptions{Seconds: secs}); err != nil {
				if ctx.Err() != nil {
					return nil, nil, ctx.Err()
				}
				notes = append(notes, "CPU profile: "+err.Error())
			}
		}
	}
	dump := false
	if last := sess.Snapshot().Latest(); last != nil && o.DumpMaxGoroutines > 0 {
		g, ok := last.Values[session.Goroutines]
		dump = ok && g < float64(o.DumpMaxGoroutines)
		if ok && !dump {
			notes = append(notes, fmt.Sprintf("no debug=2 goroutine dump: %.0f goroutines, at least %d (the dump stops the world while it writes every stack); the groups come from the goroutine profile", g, o.DumpMaxGoroutines))
		}
	}
	w, err := sess.Window(ctx, capture.WindowOptions{Dump: dump, Deadline: o.Deadline})
	if err != nil {
		return nil, nil, err
	}
	var tr []byte
	if o.Trace != nil {
		var n string
		tr, n = o.Trace(ctx, sess, w)
		if n != "" {
			notes = append(notes, n)
		}
	}
	s := w.Snapshot(capture.SnapshotOptions{Name: NamePrefix + ev.Rule.String(), GotuneVersion: o.GotuneVersion})
	reason := fmt.Sprintf("trigger %s (%s), episode %d, fired at %s: %s", ev.Rule, ev.Rule.Describe(), ev.Episode,
		ev.At.UTC().Format(time.RFC3339), ev.Reading.Text)
	s.Manifest.Notes = slices.Concat([]string{reason}, notes, s.Manifest.Notes)
	return s, tr, nil
}

// ErrTooBig says a bundle alone is larger than the directory's cap.
var ErrTooBig = errors.New("the bundle alone is larger than the disk cap")
