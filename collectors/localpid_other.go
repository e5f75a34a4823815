//go:build !linux

package collectors

import (
	"fmt"
	"runtime"
	"time"

	"github.com/gotune/gotune/collectors/proc"
)

// processStart needs /proc (Linux); elsewhere MemStats-based GC CPU uses
// the start time a source reports, when one does.
func processStart(proc.FS, int) (time.Time, error) {
	return time.Time{}, fmt.Errorf("the precise start time of a process: %w (%s)", proc.ErrNotAvailable, runtime.GOOS)
}
