package collectors

import (
	"context"
	"testing"
	"time"

	"github.com/gotune/gotune/collectors/proc"
	"github.com/gotune/gotune/internal/testproc"
	"github.com/gotune/gotune/session"
)

// BenchmarkScrapeTargetCPU measures what a scrape costs the target: a real
// idle target process serves one source over loopback HTTP, and the
// target's own CPU time (utime+stime from /proc) is divided by the number of
// scrapes. "target-%core@1Hz" is that cost at gotune's default 1 s
// interval; for the pprof source (heap?debug=1 and goroutine?debug=1),
// "target-%core@paced" is the cost at the interval its pacer chose
// (pprofPacer: at most about 1 % of a core) and "paced-interval-s" that
// interval. pprof-sites2000 is a heap profile of 2000 allocation sites
// (a 7 MB heap?debug=1 page).
//
//	go test -run XXX -bench BenchmarkScrapeTargetCPU -benchtime 20x ./collectors/
func BenchmarkScrapeTargetCPU(b *testing.B) {
	for _, c := range []struct {
		name string
		args []string
	}{
		{"agent", []string{"-mode", "agent"}},
		{"promall", []string{"-mode", "promall"}},
		{"pprof", []string{"-mode", "pprof"}},
		{"pprof-sites2000", []string{"-mode", "pprof", "-sites", "2000"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			bin := testproc.Build(b, "./testdata/targets/metricsserver")
			p := testproc.Start(b, bin, []string{"GOMAXPROCS=2"}, append(c.args, "-live", "1", "-churn=false")...)
			var read func(ctx context.Context) (session.Sample, error)
			var pm *PprofMetricsSource
			switch c.args[1] {
			case "agent":
				read = NewAgentSource(p.FirstLine, HTTPSourceOptions{}).Read
			case "promall":
				read = NewPrometheusSource(p.FirstLine, HTTPSourceOptions{}).Read
			default:
				pm = NewPprofMetricsSource(p.FirstLine, HTTPSourceOptions{Timeout: 30 * time.Second})
				read = func(ctx context.Context) (session.Sample, error) { return pm.read(ctx, time.Second, true) }
			}
			if _, err := read(b.Context()); err != nil { // warm up the connection
				b.Fatal(err)
			}
			before, err := proc.Host.ProcessSummary(b.Context(), p.PID)
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for b.Loop() {
				if _, err := read(b.Context()); err != nil {
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
			if pm != nil {
				iv := pm.Interval(time.Second)
				b.ReportMetric(iv.Seconds(), "paced-interval-s")
				b.ReportMetric(perScrape/iv.Seconds()*100, "target-%core@paced")
			}
		})
	}
}
