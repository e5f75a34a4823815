package session

import (
	"github.com/gotune/gotune/collectors/cgroup"
	"github.com/gotune/gotune/collectors/discover"
	"github.com/gotune/gotune/collectors/effective"
	"github.com/gotune/gotune/collectors/numa"
	"github.com/gotune/gotune/collectors/proc"
)

// Facts are the slow-changing facts about a target and its host, as the
// collectors last published them. A nil field is unknown. The values a
// field points to are never modified after they are published: a
// collector publishes a new value, it does not change the old one.
type Facts struct {
	Process      *proc.ProcessStat      // the last OS reading of the process
	Cgroup       *cgroup.Stats          // limits and usage of its cgroups
	Throttle     *cgroup.ThrottleRates  // throttling of the cgroup enforcing the effective quota, between the last two readings
	Topology     *numa.Topology         // the host's NUMA nodes
	NUMASettings *numa.Settings         // numa_balancing and THP
	NUMAProcess  *numa.Process          // the process's placement (numa_maps when read)
	Build        *discover.Build        // build info of the executable
	Env          map[string]string      // GO* variables at exec only; nil when unreadable or remote
	Reach        *discover.Reach        // how the process can be reached
	Settings     *effective.Explanation // GOGC, GOMEMLIMIT and GOMAXPROCS with why
}

// LiveSettings picks the three settings out of a sample's values, for
// effective.Explain.
func LiveSettings(values map[string]float64) effective.Live {
	get := func(name string) *float64 {
		v, ok := values[name]
		return effective.LiveValue(v, ok)
	}
	return effective.Live{GOGC: get(GOGC), GOMEMLIMIT: get(GOMEMLIMIT), GOMAXPROCS: get(GOMAXPROCS)}
}
