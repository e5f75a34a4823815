//go:build !linux

package proc

import "errors"

// SchedAffinity is implemented on Linux only.
func SchedAffinity(pid int) ([]int, error) {
	return nil, errors.New("CPU affinity is only read on Linux")
}
