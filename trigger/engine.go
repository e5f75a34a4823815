package trigger

import (
	"fmt"
	"time"

	"github.com/gotune/gotune/session"
)

// Defaults of Options.
const (
	// DefaultCooldown is the least time between two firings of one rule on
	// one target: a process that keeps misbehaving is captured once, not
	// every minute (holmes's CoolDown plays the same part).
	DefaultCooldown = 10 * time.Minute
	// DefaultClearAfter is how long a rule must stop holding before its
	// episode ends: a figure that dips under the threshold for a sample
	// or two is the same episode.
	DefaultClearAfter = 15 * time.Second
)

// Options tune an Engine.
type Options struct {
	Cooldown   time.Duration
	ClearAfter time.Duration
}

// EventKind says what happened to an episode.
type EventKind string

const (
	// Fired: an episode began (or, begun within the cool-down, outlasted
	// it): capture now.
	Fired EventKind = "fired"
	// Suppressed: an episode began within the cool-down of the last
	// firing: no capture (it fires if it is still going when the
	// cool-down ends).
	Suppressed EventKind = "suppressed"
	// Cleared: the episode ended.
	Cleared EventKind = "cleared"
)

// Event is a change of one rule's episode on one target.
type Event struct {
	Kind    EventKind
	Target  string
	Rule    Rule
	At      time.Time
	Reading Reading
	// Episode counts the rule's episodes on the target, from 1.
	Episode int
	// CooldownUntil is when the rule may fire again (Fired, Suppressed).
	CooldownUntil time.Time
	// Started is when the episode began (Cleared: how long it lasted).
	Started time.Time
}

// Reason is the event as one line: what held, with its figures.
func (e Event) Reason() string {
	switch e.Kind {
	case Cleared:
		return fmt.Sprintf("%s: episode %d ended after %s", e.Rule, e.Episode, e.At.Sub(e.Started).Round(time.Second))
	case Suppressed:
		return fmt.Sprintf("%s: %s; within the cool-down until %s", e.Rule, e.Reading.Text, e.CooldownUntil.Format(time.TimeOnly))
	}
	return fmt.Sprintf("%s: %s", e.Rule, e.Reading.Text)
}

// state is one rule's episode on one target.
type state struct {
	active     bool
	fired      bool // this episode has fired
	started    time.Time
	clearSince time.Time
	lastFire   time.Time
	episodes   int
}

// Engine tracks every rule's episodes on every target. It is not safe
// for concurrent use: one goroutine observes.
type Engine struct {
	rules []Rule
	opts  Options
	state map[string][]state // by target, one per rule
	seen  map[string]time.Time
}

// NewEngine returns an engine over rules.
func NewEngine(rules []Rule, o Options) *Engine {
	if o.Cooldown <= 0 {
		o.Cooldown = DefaultCooldown
	}
	if o.ClearAfter <= 0 {
		o.ClearAfter = DefaultClearAfter
	}
	return &Engine{rules: rules, opts: o, state: map[string][]state{}, seen: map[string]time.Time{}}
}

// Rules are the engine's rules.
func (e *Engine) Rules() []Rule { return e.rules }

// Observe judges every rule over a new snapshot of target and returns
// what changed. A snapshot with no newer point than the last one changes
// nothing.
func (e *Engine) Observe(target string, snap *session.Snapshot) []Event {
	last := snap.Latest()
	if last == nil || !last.Time.After(e.seen[target]) {
		return nil
	}
	now := last.Time
	e.seen[target] = now
	st := e.state[target]
	if st == nil {
		st = make([]state, len(e.rules))
		e.state[target] = st
	}
	var out []Event
	for i, r := range e.rules {
		s := &st[i]
		rd := r.Check(snap)
		ev := Event{Target: target, Rule: r, At: now, Reading: rd}
		fire := func() {
			s.fired, s.lastFire = true, now
			ev.Kind, ev.Episode, ev.Started, ev.CooldownUntil = Fired, s.episodes, s.started, now.Add(e.opts.Cooldown)
			out = append(out, ev)
		}
		cooled := s.lastFire.IsZero() || now.Sub(s.lastFire) >= e.opts.Cooldown
		switch {
		case !s.active && rd.Holds:
			s.active, s.fired, s.started, s.clearSince = true, false, now, time.Time{}
			s.episodes++
			if cooled {
				fire()
			} else {
				ev.Kind, ev.Episode, ev.Started, ev.CooldownUntil = Suppressed, s.episodes, now, s.lastFire.Add(e.opts.Cooldown)
				out = append(out, ev)
			}
		case s.active && rd.Holds:
			s.clearSince = time.Time{}
			if !s.fired && cooled {
				fire() // a suppressed episode outlasted the cool-down
			}
		case s.active:
			if s.clearSince.IsZero() {
				s.clearSince = now
			}
			if now.Sub(s.clearSince) >= e.opts.ClearAfter {
				s.active = false
				ev.Kind, ev.Episode, ev.Started = Cleared, s.episodes, s.started
				out = append(out, ev)
			}
		}
	}
	return out
}
