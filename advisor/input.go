package advisor

import (
	"time"

	"github.com/gotune/gotune/collectors/cgroup"
	"github.com/gotune/gotune/collectors/discover"
	"github.com/gotune/gotune/collectors/effective"
	"github.com/gotune/gotune/collectors/numa"
	"github.com/gotune/gotune/collectors/proc"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/session"
)

// Input is everything the advisor looks at. Only Points is required; a rule
// whose inputs are missing does not fire and says so in Report.Skipped.
type Input struct {
	// Points is the window, oldest first (session.Snapshot.Points or a
	// suffix of it). Time comes from here: the advisor never reads a clock.
	Points   []session.Point
	Facts    Facts
	Profiles Profiles
}

// Facts are what the PID collectors know about the process and its host
// (session.Snapshot.Facts, typed). Nil or zero fields are unknown.
type Facts struct {
	Cgroup *cgroup.Stats
	// CgroupStart is a cgroup reading from the start of the window: with
	// Cgroup it gives throttling over the whole window. Without it the
	// advisor uses Throttle (the last two readings).
	CgroupStart  *cgroup.Stats
	Throttle     *cgroup.ThrottleRates
	Process      *proc.ProcessStat
	Topology     *numa.Topology
	NUMASettings *numa.Settings
	NUMAProcess  *numa.Process
	Build        *discover.Build
	Env          map[string]string // GO* variables at exec; nil when unreadable
	Settings     *effective.Explanation
}

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

// FactEnv is the key under which the PID collectors publish the GO*
// environment (collectors.FactEnv); the other facts are found by type.
const FactEnv = "env"

// FactsFrom types a snapshot's facts. Facts are recognised by their type
// (each collector fact has its own), so the advisor does not import the
// collectors package.
func FactsFrom(facts map[string]any) Facts {
	var f Facts
	for k, v := range facts {
		switch x := v.(type) {
		case cgroup.Stats:
			f.Cgroup = &x
		case cgroup.ThrottleRates:
			f.Throttle = &x
		case proc.ProcessStat:
			f.Process = &x
		case numa.Topology:
			f.Topology = &x
		case numa.Settings:
			f.NUMASettings = &x
		case numa.Process:
			f.NUMAProcess = &x
		case *discover.Build:
			f.Build = x
		case effective.Explanation:
			f.Settings = &x
		case map[string]string:
			if k == FactEnv {
				f.Env = x
			}
		}
	}
	return f
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
	return Input{Points: pts, Facts: FactsFrom(snap.Facts)}
}
