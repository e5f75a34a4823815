//go:build !linux && !darwin && !freebsd && !windows

package proc

import (
	"context"

	"github.com/shirou/gopsutil/v4/process"
)

// Other OSes (OpenBSD, NetBSD, Solaris, AIX, ...) get whatever gopsutil
// implements there; gotune is not tested on them.
var osUnsupported = []string{"state", "peak RSS", "context switches", "threads", "affinity", "environment"}

func osUID(uids []uint32) int {
	if len(uids) == 0 {
		return -1
	}
	return int(uids[0])
}

func osTaskInfoOK(int32) bool { return true }

func osTimesOK(float64, float64) bool { return true }

func osFDs(ctx context.Context, p *process.Process) (int, error) {
	n, err := p.NumFDsWithContext(ctx)
	return int(n), err
}

func osEnviron(context.Context, *process.Process) ([]string, error) {
	return nil, notAvailable("environment")
}
