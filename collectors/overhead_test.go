package collectors

import (
	"testing"

	"github.com/gotune/gotune/collectors/proc"
	"github.com/gotune/gotune/internal/testproc"
)

// BenchmarkScrapeTargetCPU measures what a scrape costs the target: a real
// idle target process serves the agent document over loopback HTTP, and the
// target's own CPU time (utime+stime from /proc) is divided by the number of
// scrapes. "target-%core@1Hz" is that cost at gotune's default 1 s interval.
func BenchmarkScrapeTargetCPU(b *testing.B) {
	for _, mode := range []string{"agent", "promall"} {
		b.Run(mode, func(b *testing.B) {
			bin := testproc.Build(b, "./testdata/targets/metricsserver")
			p := testproc.Start(b, bin, []string{"GOMAXPROCS=2"}, "-mode", mode, "-live", "1", "-churn=false")
			var src MetricsSource
			if mode == "agent" {
				src = NewAgentSource(p.FirstLine, HTTPSourceOptions{})
			} else {
				src = NewPrometheusSource(p.FirstLine, HTTPSourceOptions{})
			}
			if _, err := src.Read(b.Context()); err != nil { // warm up the connection
				b.Fatal(err)
			}
			before, err := proc.Host.ProcessSummary(b.Context(), p.PID)
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for b.Loop() {
				if _, err := src.Read(b.Context()); err != nil {
					b.Fatal(err)
				}
				n++
			}
			after, err := proc.Host.ProcessSummary(b.Context(), p.PID)
			if err != nil {
				b.Fatal(err)
			}
			perScrape := (after.CPUSeconds - before.CPUSeconds) / float64(n)
			b.ReportMetric(perScrape*1e6, "target-cpu-µs/scrape")
			b.ReportMetric(perScrape*100, "target-%core@1Hz")
		})
	}
}
