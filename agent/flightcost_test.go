//go:build flightcost

package agent

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gotune/gotune/internal/testproc"
)

// costResult is what testdata/targets/flightcost prints.
type costResult struct {
	Flight         bool    `json:"flight"`
	CPUCores       float64 `json:"cpu_cores"`
	RSSMeanBytes   float64 `json:"rss_mean_bytes"`
	RSSPeakBytes   float64 `json:"rss_peak_bytes"`
	OtherMeanBytes float64 `json:"other_mean_bytes"`
	GoMemMeanBytes float64 `json:"go_mem_mean_bytes"`
	HeapLiveMean   float64 `json:"heap_live_mean_bytes"`
	GCCycles       uint64  `json:"gc_cycles"`
	GapMaxMs       float64 `json:"gap_max_ms"`
	GapP99Ms       float64 `json:"gap_p99_ms"`
	GapP999Ms      float64 `json:"gap_p999_ms"`
	Beats          int     `json:"beats"`
	SnapshotBytes  int64   `json:"snapshot_bytes"`
	SnapshotMs     float64 `json:"snapshot_ms"`
	SnapshotGapMs  float64 `json:"snapshot_gap_ms"`
}

// TestFlightRecorderCost is an experiment, not a check: it runs the demo
// workload with and without the flight recorder, side by side so both see
// the same background load, for a few rounds, and logs the figures that
// docs/agent-format.md quotes.
//
//	go test -tags flightcost -run FlightRecorderCost -v -timeout 20m ./agent
func TestFlightRecorderCost(t *testing.T) {
	bin := testproc.Build(t, "./testdata/targets/flightcost")
	const rounds = 3
	args := []string{"-seconds", "20", "-warmup", "12s", "-min-age", "10s"}
	var off, on []costResult
	for round := range rounds {
		var wg sync.WaitGroup
		res := make([]costResult, 2)
		for i, flight := range []bool{false, true} {
			wg.Go(func() {
				a := append(slices.Clone(args), fmt.Sprintf("-flight=%v", flight))
				out, err := exec.Command(bin, a...).Output()
				if err != nil {
					t.Errorf("flightcost %v: %v", a, err)
					return
				}
				if err := json.Unmarshal(out, &res[i]); err != nil {
					t.Errorf("flightcost output %q: %v", out, err)
				}
			})
		}
		wg.Wait()
		off, on = append(off, res[0]), append(on, res[1])
		for _, r := range res {
			t.Logf("round %d flight=%-5v cpu %.3f cores  rss mean %5.1f MiB peak %5.1f MiB  other %5.2f MiB  go mem %5.1f MiB  heap live %5.1f MiB  gc %3d  gap max %6.1f ms p99 %5.2f ms p99.9 %5.2f ms (%d beats)  snapshot %s in %.1f ms (heartbeat lateness %.1f ms)",
				round, r.Flight, r.CPUCores, mib(r.RSSMeanBytes), mib(r.RSSPeakBytes), mib(r.OtherMeanBytes), mib(r.GoMemMeanBytes), mib(r.HeapLiveMean), r.GCCycles,
				r.GapMaxMs, r.GapP99Ms, r.GapP999Ms, r.Beats, fmt.Sprintf("%.2f MiB", mib(float64(r.SnapshotBytes))), r.SnapshotMs, r.SnapshotGapMs)
		}
	}
	med := func(f func(costResult) float64, rs []costResult) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	var b strings.Builder
	row := func(name string, f func(costResult) float64, unit string) {
		fmt.Fprintf(&b, "\n%-22s off %8.3f  on %8.3f  %s", name, med(f, off), med(f, on), unit)
	}
	row("CPU", func(r costResult) float64 { return r.CPUCores }, "cores")
	row("RSS mean", func(r costResult) float64 { return mib(r.RSSMeanBytes) }, "MiB")
	row("RSS peak", func(r costResult) float64 { return mib(r.RSSPeakBytes) }, "MiB")
	row("other (trace bufs)", func(r costResult) float64 { return mib(r.OtherMeanBytes) }, "MiB")
	row("Go memory", func(r costResult) float64 { return mib(r.GoMemMeanBytes) }, "MiB")
	row("heap live", func(r costResult) float64 { return mib(r.HeapLiveMean) }, "MiB")
	row("GC cycles / 20 s", func(r costResult) float64 { return float64(r.GCCycles) }, "")
	row("heartbeat max", func(r costResult) float64 { return r.GapMaxMs }, "ms")
	row("heartbeat p99", func(r costResult) float64 { return r.GapP99Ms }, "ms")
	row("heartbeat p99.9", func(r costResult) float64 { return r.GapP999Ms }, "ms")
	row("snapshot size", func(r costResult) float64 { return mib(float64(r.SnapshotBytes)) }, "MiB")
	row("snapshot time", func(r costResult) float64 { return r.SnapshotMs }, "ms")
	t.Logf("medians over %d rounds:%s", rounds, b.String())
	for _, r := range on {
		if r.SnapshotBytes == 0 || r.Beats == 0 {
			t.Errorf("run without figures: %+v", r)
		}
	}
}

func mib(b float64) float64 { return b / (1 << 20) }
