// Package gcstart lets a short gotune command end before its first garbage
// collection: the first collection waits until the heap reaches FirstAt,
// and from it on GOGC is the default.
//
// Most commands (top, folded, diff, report of a file) end with a heap of a
// few tens of MiB; from the runtime's 4 MiB start the collector would run
// cycle after cycle as it grows (three for `gotune top` on a 10k-sample
// profile of 30,000 locations, 30 % of its time). A command that holds more
// pays FirstAt once. A GOGC or GOMEMLIMIT in the environment is left as set,
// and a process that runs a workload others measure (`gotune demo --serve`)
// calls Restore first, so its GC settings are the runtime's own.
package gcstart

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
)

// FirstAt is the heap size at which the first collection runs.
const FirstAt = 64 << 20

var (
	mu       sync.Mutex
	deferred bool
)

// Defer turns the collector off with a FirstAt memory limit until the
// first collection, which restores GOGC=100 and no limit.
func Defer() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	mu.Lock()
	defer mu.Unlock()
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(FirstAt)
	deferred = true
	sentinel := new([64]byte) // above the tiny allocator's 16 bytes
	runtime.AddCleanup(sentinel, func(struct{}) { Restore() }, struct{}{})
}

// Restore ends the deferral now, if it is still on: GOGC=100 and no memory
// limit, as the runtime starts without Defer. Settings changed after
// Restore (by the agent's writes) are never touched again.
func Restore() {
	mu.Lock()
	defer mu.Unlock()
	if !deferred {
		return
	}
	deferred = false
	debug.SetGCPercent(100)
	debug.SetMemoryLimit(math.MaxInt64)
}
