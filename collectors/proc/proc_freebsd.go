package proc

import (
	"context"

	"github.com/shirou/gopsutil/v4/process"
)

// What FreeBSD does not give gotune through gopsutil (see docs/hosts.md).
var osUnsupported = []string{"state", "peak RSS", "context switches", "threads", "affinity", "open files", "environment"}

// osUID: gopsutil's Uids on FreeBSD is [ruid, uid (effective), svuid]
// from kinfo_proc.
func osUID(uids []uint32) int {
	switch len(uids) {
	case 0:
		return -1
	case 1:
		return int(uids[0])
	}
	return int(uids[1])
}

// kinfo_proc comes whole or not at all: its errors are real errors.
func osTaskInfoOK(int32) bool { return true }

func osTimesOK(float64, float64) bool { return true }

// osFDs: gopsutil v4.26.10 does not implement NumFDs on FreeBSD.
func osFDs(context.Context, *process.Process) (int, error) {
	return 0, notAvailable("open file count")
}

// osEnviron: gopsutil v4.26.10 does not implement Environ on FreeBSD.
func osEnviron(context.Context, *process.Process) ([]string, error) {
	return nil, notAvailable("environment")
}
