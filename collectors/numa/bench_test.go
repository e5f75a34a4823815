package numa

import (
	"context"
	"os"
	"testing"
)

// BenchmarkNumaMapsSelf reads and sums the test process's own numa_maps:
// the kernel's page-table walk plus our parse. It grows with RSS.
func BenchmarkNumaMapsSelf(b *testing.B) {
	ctx, pid := context.Background(), os.Getpid()
	for b.Loop() {
		if _, err := Host.NumaMaps(ctx, pid); err != nil {
			b.Fatal(err)
		}
	}
}
