package proc

import (
	"context"

	"github.com/shirou/gopsutil/v4/process"
)

// What Windows does not give gotune (see docs/hosts.md). Windows has no
// UIDs: User is the owner's "DOMAIN\user" from the process token.
var osUnsupported = []string{"state", "UID", "peak RSS", "context switches", "threads", "affinity", "open files"}

func osUID([]uint32) int { return -1 }

// GetProcessTimes and GetProcessMemoryInfo fail with an error when
// refused, never with zeros.
func osTaskInfoOK(int32) bool { return true }

func osTimesOK(float64, float64) bool { return true }

// osFDs: gopsutil's NumFDs on Windows is the handle count (files, events,
// threads, registry keys, ...), not open files: gotune does not show it
// as such.
func osFDs(context.Context, *process.Process) (int, error) {
	return 0, notAvailable("open file count (Windows counts handles)")
}

// osEnviron reads the target's PEB (needs PROCESS_VM_READ: same user or
// an elevated gotune).
func osEnviron(ctx context.Context, p *process.Process) ([]string, error) {
	return p.EnvironWithContext(ctx)
}
