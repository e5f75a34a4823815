package agent

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
)

// Bounds. Each refuses a value that would hurt the process.
const (
	// MinGOGC is the smallest GOGC accepted. GC frequency grows as 1/GOGC
	// (GC guide, "GOGC": the heap may grow by GOGC % of the live heap and
	// roots between cycles), so GOGC=10 already runs the GC ten times as
	// often as the default; below it the GC runs nearly all the time.
	MinGOGC = 10
	// memoryLimitRoomFraction is the heap growth a memory limit must leave
	// above the live heap and non-heap Go memory: as much as MinGOGC would
	// (10 % of the live heap), so a limit never forces the GC to run more
	// often than the GOGC floor allows (GC guide, "Memory limit": a limit
	// near the live heap makes the GC run continuously, capped only by the
	// runtime's 50 % GC CPU limiter).
	memoryLimitRoomFraction = MinGOGC / 100.0
	// memoryLimitRoomMin is the least room in bytes: the runtime's minimum
	// heap goal (runtime/mgcpacer.go defaultHeapMinimum, 4 MiB at GOGC=100).
	memoryLimitRoomMin = 4 << 20
	// containerHeadroom is the share of the container limit above which a
	// GOMEMLIMIT gets a warning: the GC guide ("Suggested uses") says to
	// leave 5-10 % for memory the Go runtime does not know about.
	containerHeadroom = 0.95
)

// noMemoryLimit is GOMEMLIMIT's "off" (debug.SetMemoryLimit's default).
const noMemoryLimit = math.MaxInt64

// settingState knows each setting's current value. The block profile rate
// has no getter in Go: the agent remembers what it set.
type settingState struct {
	blockRate         int64
	gomaxprocsDefault bool // believed: env unset at start, and not changed by the agent since
}

func newSettingState(blockRate int) *settingState {
	env := strings.TrimSpace(os.Getenv("GOMAXPROCS"))
	return &settingState{blockRate: int64(blockRate), gomaxprocsDefault: env == ""}
}

// value reads setting s now.
func (st *settingState) value(s Setting) SettingValue {
	v := SettingValue{Setting: s, Known: true}
	switch s {
	case GOGC:
		v.Value = gogcPercent()
	case GOMEMLIMIT:
		v.Value = debug.SetMemoryLimit(-1)
	case GOMAXPROCS:
		v.Value = int64(runtime.GOMAXPROCS(0))
		v.Default = st.gomaxprocsDefault
	case MutexProfileFraction:
		v.Value = int64(runtime.SetMutexProfileFraction(-1))
	case BlockProfileRate:
		v.Value, v.Known = st.blockRate, false
	}
	return v
}

// apply sets s to v (or Go's default) and returns the value that now holds.
func (st *settingState) apply(s Setting, v int64, def bool) SettingValue {
	switch s {
	case GOGC:
		debug.SetGCPercent(int(v))
	case GOMEMLIMIT:
		debug.SetMemoryLimit(v)
	case GOMAXPROCS:
		if def {
			runtime.SetDefaultGOMAXPROCS()
		} else {
			runtime.GOMAXPROCS(int(v))
		}
		st.gomaxprocsDefault = def
	case MutexProfileFraction:
		runtime.SetMutexProfileFraction(int(v))
	case BlockProfileRate:
		runtime.SetBlockProfileRate(int(v))
		st.blockRate = v
	}
	return st.value(s)
}

// gogcPercent reads GOGC from runtime/metrics, which reports off (-1) as
// the largest uint64: the conversion to int64 gives -1 back.
func gogcPercent() int64 {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 100 // Go < 1.21; the agent needs 1.25 anyway
	}
	if v := int64(s[0].Value.Uint64()); v >= 0 {
		return v
	}
	return -1
}

// measureLimits measures the bounds now. The container limit is read from the cgroup
// files (Linux) at each write, never on the metrics path.
func measureLimits() Limits {
	s := []metrics.Sample{
		{Name: "/gc/heap/live:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
		{Name: "/memory/classes/heap/stacks:bytes"},
	}
	metrics.Read(s)
	u := func(i int) int64 {
		if s[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return int64(min(s[i].Value.Uint64(), math.MaxInt64))
	}
	live := u(0)
	// Stacks are carved from heap spans but are not the heap the GC paces;
	// count them with the rest of the non-heap memory.
	heapClasses := u(2) + u(3) + u(4) + u(5)
	l := Limits{
		HeapLiveBytes: live,
		NonHeapBytes:  max(u(1)-heapClasses, 0),
		MinGOGC:       MinGOGC,
		MaxGOMAXPROCS: int64(runtime.NumCPU()),
	}
	room := max(int64(float64(live)*memoryLimitRoomFraction), memoryLimitRoomMin)
	l.MinMemoryLimit = live + l.NonHeapBytes + room
	l.ContainerMemoryBytes = containerMemoryLimit()
	return l
}

// gcRoots returns the stack and globals bytes the GC scans: the GC guide's
// heap goal is live heap + (live heap + GC roots) × GOGC/100.
func gcRoots() int64 {
	s := []metrics.Sample{{Name: "/gc/scan/stack:bytes"}, {Name: "/gc/scan/globals:bytes"}}
	metrics.Read(s)
	var n int64
	for _, x := range s {
		if x.Value.Kind() == metrics.KindUint64 {
			n += int64(min(x.Value.Uint64(), math.MaxInt64/4))
		}
	}
	return n
}

// check refuses a write that would harm the process and returns warnings
// for the ones that are allowed but have a cost.
func (st *settingState) check(s Setting, v int64, def bool, l Limits) (warnings []string, err error) {
	if def && s != GOMAXPROCS {
		return nil, fmt.Errorf("%s has no default to return to; send a value", s)
	}
	switch s {
	case GOGC:
		if v < 0 {
			if st.value(GOMEMLIMIT).Value == noMemoryLimit {
				return nil, fmt.Errorf("GOGC=off without a memory limit lets the heap grow until the process runs out of memory; set GOMEMLIMIT first")
			}
			return []string{"GOGC=off: the GC runs only when the heap nears GOMEMLIMIT"}, nil
		}
		if v < MinGOGC {
			return nil, fmt.Errorf("GOGC=%d is below gotune's floor of %d: the GC would run almost continuously", v, MinGOGC)
		}
		if v > 1<<30 {
			return nil, fmt.Errorf("GOGC=%d is out of range", v)
		}
		if lim := st.value(GOMEMLIMIT).Value; lim == noMemoryLimit && l.ContainerMemoryBytes > 0 {
			goal := l.HeapLiveBytes + (l.HeapLiveBytes+gcRoots())*v/100
			if goal+l.NonHeapBytes > l.ContainerMemoryBytes {
				return nil, fmt.Errorf("GOGC=%d puts the heap goal at %s (live heap %s) with no GOMEMLIMIT, above the container's memory limit of %s",
					v, formatBytes(goal), formatBytes(l.HeapLiveBytes), formatBytes(l.ContainerMemoryBytes))
			}
		}
	case GOMEMLIMIT:
		if v == noMemoryLimit {
			if st.value(GOGC).Value < 0 {
				return nil, fmt.Errorf("removing the memory limit while GOGC=off lets the heap grow until the process runs out of memory; set GOGC first")
			}
			return nil, nil
		}
		if v <= 0 {
			return nil, fmt.Errorf("GOMEMLIMIT=%d: a limit must be positive (%d is no limit)", v, int64(noMemoryLimit))
		}
		if v < l.MinMemoryLimit {
			return nil, fmt.Errorf("GOMEMLIMIT=%s is below the live heap (%s) plus non-heap Go memory (%s) plus room for the heap to grow: the GC would run continuously; the least accepted now is %s",
				formatBytes(v), formatBytes(l.HeapLiveBytes), formatBytes(l.NonHeapBytes), formatBytes(l.MinMemoryLimit))
		}
		if c := l.ContainerMemoryBytes; c > 0 {
			if v > c {
				return nil, fmt.Errorf("GOMEMLIMIT=%s is above the container's memory limit of %s: the kernel would kill the process before the GC reacts", formatBytes(v), formatBytes(c))
			}
			if float64(v) > containerHeadroom*float64(c) {
				warnings = append(warnings, fmt.Sprintf("GOMEMLIMIT=%s leaves less than 5 %% of the container's %s for memory Go does not manage (GC guide: leave 5-10 %%)", formatBytes(v), formatBytes(c)))
			}
		}
	case GOMAXPROCS:
		if !def && (v < 1 || v > l.MaxGOMAXPROCS) {
			return nil, fmt.Errorf("GOMAXPROCS=%d: must be between 1 and the %d CPUs this process may run on", v, l.MaxGOMAXPROCS)
		}
		warnings = append(warnings, "changing GOMAXPROCS stops the world briefly")
		if !def {
			warnings = append(warnings, "a fixed GOMAXPROCS turns off Go's automatic updates (CPU limit changes are no longer followed) until it is set back to the default")
		}
	case MutexProfileFraction, BlockProfileRate:
		if v < 0 {
			return nil, fmt.Errorf("%s=%d: must be 0 (off) or positive", s, v)
		}
		if v == 1 {
			warnings = append(warnings, fmt.Sprintf("%s=1 records every event: its cost grows with contention", s))
		}
	default:
		return nil, fmt.Errorf("unknown setting %q", s)
	}
	return warnings, nil
}

// formatBytes writes n in binary units (the agent imports only the
// standard library, so it cannot use package measurement).
func formatBytes(n int64) string {
	const units = "KMGTPE"
	if n < 1024 && n > -1024 {
		return fmt.Sprintf("%d B", n)
	}
	f := float64(n)
	i := -1
	for math.Abs(f) >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	return fmt.Sprintf("%.1f %ciB", f, units[i])
}
