//go:build unix

package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/gotune/gotune/internal/testproc"
)

// BenchmarkStartup runs the gotune binary as a whole process, as a person
// does: `gotune version`, `gotune top` on the heap fixture and on a
// 10,000-sample heap profile of deep, mostly unique stacks
// (testdata/targets/bigheap: the tables of its 600,000-sample profiles,
// 4,000 functions and 30,000 locations), with `go version`'s start beside
// them, and `gotune top` on a real 10k-sample CPU profile (caddy under load,
// testdata/profiles/README.md: 5,248 locations). best-ms is the fastest run (the budget: 15 ms for version
// and top on 10k samples); ms/op the mean. See what init costs with
// GODEBUG=inittrace=1 gotune version.
func BenchmarkStartup(b *testing.B) {
	bin := testproc.Build(b, ".")
	big := filepath.Join(b.TempDir(), "big10k.pb.gz")
	gen := testproc.Build(b, "./testdata/targets/bigheap")
	if out, err := exec.Command(gen, "-samples", "10000", "-o", big).CombinedOutput(); err != nil {
		b.Fatalf("bigheap: %v\n%s", err, out)
	}
	heap, err := filepath.Abs(profiles + "heap.pb.gz")
	if err != nil {
		b.Fatal(err)
	}
	caddy, err := filepath.Abs(profiles + "caddy-cpu-10k.pb.gz")
	if err != nil {
		b.Fatal(err)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		bin  string
		args []string
	}{
		{"version", bin, []string{"version"}},
		{"top-fixture", bin, []string{"top", heap}},
		{"top-10k", bin, []string{"top", big}},
		{"top-10k-caddy", bin, []string{"top", caddy}},
		{"go-version", goBin, []string{"version"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			best := time.Duration(1 << 62)
			var cpu time.Duration
			for b.Loop() {
				u := testproc.Measure(b, nil, c.bin, c.args...)
				best = min(best, u.Wall)
				cpu += u.CPU
			}
			b.ReportMetric(float64(best)/1e6, "best-ms")
			b.ReportMetric(float64(cpu)/1e6/float64(b.N), "cpu-ms/op")
		})
	}
	_ = os.Remove(big)
}
