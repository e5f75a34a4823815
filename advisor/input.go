package advisor

import (
	"github.com/gotune/gotune/collectors/cgroup"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/session"
	"github.com/gotune/gotune/trace"
)

// Input is everything the advisor looks at. Only Points is required; a rule
// whose inputs are missing does not fire and says so in Report.Skipped.
type Input struct {
	// Points is the window, oldest first (session.Snapshot.Points or a
	// suffix of it). Time comes from here: the advisor never reads a clock.
	Points []session.Point
	Facts  Facts
	// CgroupStart is a cgroup reading from the start of the window: with
	// Facts.Cgroup it gives throttling over the whole window. Without it
	// the advisor uses Facts.Throttle (the last two readings).
	CgroupStart *cgroup.Stats
	Profiles    Profiles
	// Trace is an execution trace taken during the window, for the
	// trace-* rules (advisor/trace.go); nil when none was captured.
	Trace *trace.Summary
	// Target is the target as a gotune command takes it (a PID or a
	// URL), for the commands in actions; "" writes TARGET.
	Target string
}

// Facts are what the PID collectors know about the process and its host
// (session.Snapshot.Facts). Nil or zero fields are unknown.
type Facts = session.Facts

// Profiles are parsed profiles taken during the window. Any may be nil.
type Profiles struct {
	CPU    *profile.Profile
	Allocs *profile.Profile
	Heap   *profile.Profile
	Mutex  *profile.Profile
	// GoroutinesStart and GoroutinesEnd are goroutine groups at the start
	// and the end of the window, to name the group that grows.
	GoroutinesStart []profile.GoroutineGroup
	GoroutinesEnd   []profile.GoroutineGroup
	// Scopes say what span each profile's values cover (a cumulative
	// profile over the window, or since the process started); unknown
	// kinds count since start.
	Scopes map[profile.Kind]profile.Scope
}

// spanText says, for evidence, what span a profile of kind k covers.
func (ps Profiles) spanText(k profile.Kind) string {
	if ps.Scopes[k] == profile.ScopeWindow {
		return "over the window"
	}
	return "since start"
}

// Needs lists the profile kinds the rules read.
var Needs = []profile.Kind{profile.KindCPU, profile.KindHeap, profile.KindAllocs, profile.KindMutex, profile.KindGoroutine}

// Set puts a capture where the rules read a profile of its kind; kinds no
// rule reads are ignored.
func (ps *Profiles) Set(c *profile.Captured) {
	k, p := c.Kind, c.Profile
	if ps.Scopes == nil {
		ps.Scopes = map[profile.Kind]profile.Scope{}
	}
	ps.Scopes[k] = c.Scope
	switch k {
	case profile.KindCPU:
		ps.CPU = p
	case profile.KindHeap:
		ps.Heap = p
	case profile.KindAllocs:
		ps.Allocs = p
	case profile.KindMutex:
		ps.Mutex = p
	}
}
