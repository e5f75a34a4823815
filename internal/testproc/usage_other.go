//go:build !unix

package testproc

import (
	"os"
	"time"
)

func childUsage(ps *os.ProcessState) (time.Duration, float64) {
	return ps.UserTime() + ps.SystemTime(), 0
}

func selfCPU() time.Duration { return 0 }
