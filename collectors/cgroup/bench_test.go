package cgroup

import (
	"context"
	"os"
	"testing"
)

// BenchmarkReadSelf reads every cgroup fact about the test process from the
// live system.
func BenchmarkReadSelf(b *testing.B) {
	ctx, pid := context.Background(), os.Getpid()
	for b.Loop() {
		if _, err := Host.Read(ctx, pid); err != nil {
			b.Fatal(err)
		}
	}
}
