package session

// Keys of Snapshot.Facts and the types of their values. The collectors that
// publish them own those types (collectors/proc, cgroup, numa, discover,
// effective); readers use Fact[T](snap, key).
const (
	FactProcess      = "process"       // proc.ProcessStat: the last OS reading of the process
	FactCgroup       = "cgroup"        // cgroup.Stats
	FactThrottle     = "cgroup-rates"  // cgroup.ThrottleRates of the cgroup enforcing the effective quota, between the last two readings
	FactTopology     = "numa-topology" // numa.Topology
	FactNUMASettings = "numa-settings" // numa.Settings: numa_balancing and THP
	FactNUMAProcess  = "numa-process"  // numa.Process: placement, numa_maps when read
	FactBuild        = "build"         // *discover.Build
	FactEnv          = "env"           // map[string]string: GO* variables only
	FactReach        = "reach"         // discover.Reach
	FactSettings     = "settings"      // effective.Explanation
)
