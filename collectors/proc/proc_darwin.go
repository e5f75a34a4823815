package proc

import (
	"context"

	"github.com/shirou/gopsutil/v4/process"
)

// What macOS does not give gotune (see docs/hosts.md).
var osUnsupported = []string{"state", "peak RSS", "context switches", "threads", "affinity"}

// osUID: gopsutil's Uids on macOS is the effective UID alone (kinfo_proc
// e_ucred.cr_uid).
func osUID(uids []uint32) int {
	if len(uids) == 0 {
		return -1
	}
	return int(uids[0])
}

// osTaskInfoOK: gopsutil's NumThreads, Times and MemoryInfo call
// proc_pidinfo(PROC_PIDTASKINFO) and ignore its result, so a refused call
// (another user's process, not root) reads as zero threads, zero CPU and
// zero memory with no error. A live process has at least one thread.
func osTaskInfoOK(threads int32) bool { return threads > 0 }

// osTimesOK: see osTaskInfoOK; a Go process has used some CPU time by the
// time anyone can list it.
func osTimesOK(user, system float64) bool { return user+system > 0 }

// osFDs: proc_pidinfo(PROC_PIDLISTFDS).
func osFDs(ctx context.Context, p *process.Process) (int, error) {
	n, err := p.NumFDsWithContext(ctx)
	return int(n), err
}

// osEnviron: kern.procargs2, after argv (gopsutil drops XNU's "apple"
// strings only positionally; gotune keeps only GO* names anyway).
func osEnviron(ctx context.Context, p *process.Process) ([]string, error) {
	return p.EnvironWithContext(ctx)
}
