package proc

import (
	"context"
	"os"
	"testing"
)

// BenchmarkProcessSummary reads stat, status, cmdline, /proc/stat and
// /etc/passwd of the live test process: what `gotune ps` pays per process.
func BenchmarkProcessSummary(b *testing.B) {
	ctx, pid := context.Background(), os.Getpid()
	for b.Loop() {
		if _, err := Host.ProcessSummary(ctx, pid); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProcess adds the fd count and every thread's stat and status.
func BenchmarkProcess(b *testing.B) {
	ctx, pid := context.Background(), os.Getpid()
	for b.Loop() {
		if _, err := Host.Process(ctx, pid); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseStatus(b *testing.B) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := parseStatus(data); err != nil {
			b.Fatal(err)
		}
	}
}
