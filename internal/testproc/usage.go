package testproc

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Usage is what one run of a command cost: wall time, CPU time (user +
// system) and its peak RSS. Benchmarks that set gotune beside a reference
// tool (go tool pprof, go tool trace) measure both with it.
type Usage struct {
	Wall, CPU time.Duration
	RSSMB     float64
}

// Measure runs bin with args (env added to the environment), its output
// discarded, and returns what it cost; it fails the benchmark when the
// command fails.
func Measure(b testing.TB, env []string, bin string, args ...string) Usage {
	b.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, stderr.String())
	}
	u := Usage{Wall: time.Since(start)}
	u.CPU, u.RSSMB = childUsage(cmd.ProcessState)
	return u
}

// CPUNow is this process's CPU time so far (0 where the OS does not say),
// for benchmarks that report CPU per op next to wall time.
func CPUNow() time.Duration { return selfCPU() }
