package bundle

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gotune/gotune/capture"
	"github.com/gotune/gotune/collectors"
	"github.com/gotune/gotune/measurement"
	"github.com/gotune/gotune/safetext"
	"github.com/gotune/gotune/snapshot"
	"github.com/gotune/gotune/trigger"
)

// DefaultCapacity is how many points Watch keeps per target: five minutes
// at 1 s, the series a bundle holds before its firing. A watch of hours
// holds no more than this per target.
const DefaultCapacity = 300

// WatchOptions configure Watch.
type WatchOptions struct {
	Rules   []trigger.Rule
	Trigger trigger.Options
	Bundle  Options
	Dir     *Dir
	// Interval is the sampling interval; default 1 s.
	Interval time.Duration
	// Capacity is the points kept per target; default DefaultCapacity.
	Capacity int
	// AllHistograms keeps every runtime/metrics histogram in the series;
	// by default only collectors.KeyHistograms (what the rules, the
	// advisor and the derived figures read) are kept, which halves a
	// sample's size.
	AllHistograms bool
	// Parallel bounds the bundles captured at once across targets
	// (each holds its profiles in memory until written); default 1.
	Parallel int
	// TraceSeconds: each bundle takes the target's flight recorder
	// snapshot where it has one, else an execution trace of this many
	// seconds (0: none); negative takes no trace at all. Ignored when
	// Bundle.Trace is set.
	TraceSeconds int
	// OnSession is called once per target with its session, before any
	// rule is judged (gotune watch --export follows its store).
	OnSession func(ctx context.Context, sess *capture.Session)
	// OnBundle is called after each bundle is written (the export of its
	// profiles).
	OnBundle func(ev trigger.Event, s *snapshot.Snapshot, w Written)
	// Out gets a line per event (JSON lines with JSON); nil: none.
	Out  io.Writer
	JSON bool
	// OnEntry sees every index entry (tests).
	OnEntry func(IndexEntry)
}

// Summary is what a watch did.
type Summary struct {
	Fired, Suppressed, Cleared, Written, Failed, Skipped, Evicted int
	Bytes                                                         int64
}

// watcher is one Watch run.
type watcher struct {
	o   WatchOptions
	sem chan struct{}
	wg  sync.WaitGroup

	mu  sync.Mutex
	sum Summary
	out io.Writer
}

// Watch watches every target until ctx ends: a capture session each, the
// rules judged on each new point, a bundle captured and written for each
// firing (one per target at a time, Parallel across targets), every event
// in the directory's index and on Out. It returns when ctx ends and the
// captures under way have stopped.
func Watch(ctx context.Context, targets []collectors.Target, o WatchOptions) Summary {
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.Capacity <= 0 {
		o.Capacity = DefaultCapacity
	}
	if o.Parallel <= 0 {
		o.Parallel = 1
	}
	w := &watcher{o: o, sem: make(chan struct{}, o.Parallel)}
	if o.Out != nil {
		w.out = o.Out
		if !o.JSON {
			w.out = safetext.NewWriter(o.Out)
		}
	}
	var all sync.WaitGroup
	for _, t := range targets {
		all.Go(func() { w.watch(ctx, t) })
	}
	all.Wait()
	w.wg.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.sum
}

// watch runs one target.
func (w *watcher) watch(ctx context.Context, t collectors.Target) {
	if !w.o.AllHistograms {
		switch t := t.(type) {
		case *collectors.PIDTarget:
			t.KeepHistograms = collectors.KeyHistograms
		case *collectors.URLTarget:
			t.KeepHistograms = collectors.KeyHistograms
		}
	}
	sess := capture.Start(ctx, t, capture.Options{Interval: w.o.Interval, Name: t.Name(), Capacity: w.o.Capacity})
	if w.o.OnSession != nil {
		w.o.OnSession(ctx, sess)
	}
	eng := trigger.NewEngine(w.o.Rules, w.o.Trigger)
	changed, stop := sess.Store().Subscribe()
	defer stop()
	bo := w.o.Bundle
	if bo.Trace == nil && w.o.TraceSeconds >= 0 {
		bo.Trace = TraceOf(t, w.o.TraceSeconds, 0)
	}
	var busy sync.Mutex // one bundle of this target at a time
	for {
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
		snap := sess.Snapshot()
		for _, ev := range eng.Observe(sess.Name(), snap) {
			e := IndexEntry{Time: ev.At, Event: string(ev.Kind), Target: sess.Name(), PID: snap.Target.PID,
				Rule: ev.Rule.String(), Episode: ev.Episode, Reason: strings.TrimPrefix(ev.Reason(), ev.Rule.String()+": "), CooldownUntil: ev.CooldownUntil}
			switch ev.Kind {
			case trigger.Cleared:
				e.CooldownUntil = time.Time{}
			}
			w.record(e)
			if ev.Kind != trigger.Fired {
				continue
			}
			if !busy.TryLock() {
				w.record(IndexEntry{Time: ev.At, Event: "skipped", Target: sess.Name(), PID: snap.Target.PID, Rule: ev.Rule.String(),
					Episode: ev.Episode, Reason: "a bundle of this target is being captured already"})
				continue
			}
			w.wg.Go(func() {
				defer busy.Unlock()
				w.capture(ctx, sess, ev, bo)
			})
		}
	}
}

// capture takes, writes and hands on one bundle.
func (w *watcher) capture(ctx context.Context, sess *capture.Session, ev trigger.Event, bo Options) {
	select {
	case w.sem <- struct{}{}:
	case <-ctx.Done():
		return
	}
	start := time.Now()
	s, tr, err := Capture(ctx, sess, ev, bo)
	<-w.sem
	pid := sess.Snapshot().Target.PID
	fail := func(err error) {
		if ctx.Err() != nil {
			return
		}
		w.record(IndexEntry{Time: time.Now(), Event: "failed", Target: sess.Name(), PID: pid, Rule: ev.Rule.String(), Episode: ev.Episode, Error: err.Error()})
	}
	if err != nil {
		fail(err)
		return
	}
	name := fmt.Sprintf("%s-%s-%s", fileTarget(s), ev.Rule.Kind, ev.At.UTC().Format("20060102T150405Z"))
	wr, err := w.o.Dir.Write(name, s, tr)
	if err != nil {
		fail(err)
		return
	}
	for _, old := range wr.Evicted {
		w.record(IndexEntry{Time: time.Now(), Event: "evicted", Target: sess.Name(), File: old,
			Reason: fmt.Sprintf("over the disk cap of %s", measurement.Bytes(float64(w.o.Dir.max)))})
	}
	var kinds []string
	for _, k := range s.Kinds() {
		kinds = append(kinds, string(k))
	}
	w.record(IndexEntry{Time: time.Now(), Event: "written", Target: sess.Name(), PID: pid, Rule: ev.Rule.String(), Episode: ev.Episode,
		Reason: s.Manifest.Notes[0], File: filepath.Base(wr.Path), Trace: baseOrEmpty(wr.Trace), Bytes: wr.Bytes, TookSeconds: time.Since(start).Seconds(),
		Profiles: kinds, Notes: s.Manifest.Notes[1:]})
	if w.o.OnBundle != nil {
		w.o.OnBundle(ev, s, wr)
	}
}

func baseOrEmpty(p string) string {
	if p == "" {
		return ""
	}
	return filepath.Base(p)
}

// fileTarget names the target in a bundle's file name: pid4242-api, or
// the URL's host and port.
func fileTarget(s *snapshot.Snapshot) string {
	t := s.Manifest.Target
	name := ""
	if f := strings.Fields(t.Command); len(f) > 0 {
		name = filepath.Base(f[0])
	}
	switch {
	case t.PID > 0 && name != "":
		return fmt.Sprintf("pid%d-%s", t.PID, name)
	case t.PID > 0:
		return fmt.Sprintf("pid%d", t.PID)
	case t.URL != "":
		return strings.TrimPrefix(strings.TrimPrefix(t.URL, "http://"), "https://")
	}
	return "target"
}

// record counts an entry, appends it to the index and prints it.
func (w *watcher) record(e IndexEntry) {
	w.mu.Lock()
	switch e.Event {
	case "fired":
		w.sum.Fired++
	case "suppressed":
		w.sum.Suppressed++
	case "cleared":
		w.sum.Cleared++
	case "written":
		w.sum.Written++
		w.sum.Bytes += e.Bytes
	case "failed":
		w.sum.Failed++
	case "skipped":
		w.sum.Skipped++
	case "evicted":
		w.sum.Evicted++
	}
	w.mu.Unlock()
	err := w.o.Dir.Append(e)
	if w.o.OnEntry != nil {
		w.o.OnEntry(e)
	}
	if w.out == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.o.JSON {
		b, _ := json.Marshal(e)
		fmt.Fprintf(w.out, "%s\n", b)
		return
	}
	fmt.Fprintln(w.out, e.Line())
	if err != nil {
		fmt.Fprintf(w.out, "  (index: %v)\n", err)
	}
}

// Line is the entry for people, one line.
func (e IndexEntry) Line() string {
	at := e.Time.Local().Format("15:04:05")
	tgt := safetext.Line(e.Target)
	switch e.Event {
	case "fired":
		return fmt.Sprintf("%s %s: fired %s (episode %d): %s; capturing a bundle", at, tgt, e.Rule, e.Episode, safetext.Line(e.Reason))
	case "written":
		tr := ""
		if e.Trace != "" {
			tr = ", trace " + e.Trace
		}
		return fmt.Sprintf("%s %s: bundle %s (%s, %s%s, %s)", at, tgt, e.File, measurement.Bytes(float64(e.Bytes)),
			strings.Join(e.Profiles, " "), tr, measurement.Seconds(e.TookSeconds))
	case "failed":
		return fmt.Sprintf("%s %s: bundle for %s failed: %s", at, tgt, e.Rule, safetext.Line(e.Error))
	case "evicted":
		return fmt.Sprintf("%s %s: removed %s (%s)", at, tgt, e.File, e.Reason)
	}
	return fmt.Sprintf("%s %s: %s %s", at, tgt, e.Event, safetext.Line(e.Reason))
}
