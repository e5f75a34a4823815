package advisor

import (
	"time"

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
}

// Needs lists the profile kinds the rules read.
var Needs = []profile.Kind{profile.KindCPU, profile.KindHeap, profile.KindAllocs, profile.KindMutex, profile.KindGoroutine}

// Set puts p where the rules read a profile of kind k; kinds no rule reads
// are ignored.
func (ps *Profiles) Set(k profile.Kind, p *profile.Profile) {
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

// InputFrom builds an Input from a snapshot: the points of the last window
// (all of them when window is 0) and the typed facts. Profiles are added by
// the caller.
func InputFrom(snap *session.Snapshot, window time.Duration) Input {
	if snap == nil {
		return Input{}
	}
	pts := snap.Points
	if window > 0 && len(pts) > 0 {
		end := pts[len(pts)-1].Time
		i := 0
		for i < len(pts)-1 && end.Sub(pts[i].Time) > window {
			i++
		}
		pts = pts[i:]
	}
	return Input{Points: pts, Facts: snap.Facts}
}
