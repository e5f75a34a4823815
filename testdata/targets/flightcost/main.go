// Command flightcost measures what the agent's flight recorder costs a
// program: it runs the demo workload (package demo: paced allocation, a
// pointer-rich cache, a goroutine leak, a contended mutex) for -seconds,
// with or without agent.EnableFlightRecorder, next to a heartbeat goroutine
// that sleeps 1 ms at a time and records how late each wake-up comes. It
// prints one JSON object (see result) and exits.
//
// Driven by TestFlightRecorderCost in package agent (go test ./agent -run
// FlightRecorderCost -flightcost), which alternates runs with and without
// the recorder.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gotune/gotune/agent"
	"github.com/gotune/gotune/demo"
)

type result struct {
	Flight         bool    `json:"flight"`
	Seconds        float64 `json:"seconds"`
	CPUCores       float64 `json:"cpu_cores"`            // user+system CPU seconds per wall second, measured window
	RSSMeanBytes   float64 `json:"rss_mean_bytes"`       // VmRSS sampled every 100 ms
	RSSPeakBytes   float64 `json:"rss_peak_bytes"`       // VmHWM at the end
	OtherMeanBytes float64 `json:"other_mean_bytes"`     // /memory/classes/other:bytes (trace buffers live here)
	GoMemMeanBytes float64 `json:"go_mem_mean_bytes"`    // /memory/classes/total - heap/released
	HeapLiveMean   float64 `json:"heap_live_mean_bytes"` // /gc/heap/live:bytes (the recorder's window is on the heap)
	GCCycles       uint64  `json:"gc_cycles"`            // during the measured window
	GapMaxMs       float64 `json:"gap_max_ms"`           // heartbeat: longest lateness of a 1 ms sleep
	GapP99Ms       float64 `json:"gap_p99_ms"`
	GapP999Ms      float64 `json:"gap_p999_ms"`
	Beats          int     `json:"beats"`
	SnapshotBytes  int64   `json:"snapshot_bytes,omitempty"` // one WriteTo at the end
	SnapshotMs     float64 `json:"snapshot_ms,omitempty"`
	SnapshotGapMs  float64 `json:"snapshot_gap_ms,omitempty"` // heartbeat's longest lateness during WriteTo
}

func main() {
	flight := flag.Bool("flight", false, "enable the flight recorder")
	seconds := flag.Float64("seconds", 20, "measured window")
	warmup := flag.Duration("warmup", 3*time.Second, "run before measuring")
	minAge := flag.Duration("min-age", 10*time.Second, "flight recorder MinAge")
	maxBytes := flag.Uint64("max-bytes", 0, "flight recorder MaxBytes (0: Go's default)")
	allocRate := flag.Int64("alloc-rate", 100<<20, "demo AllocRate, bytes/s")
	flag.Parse()

	ctx, cancel := context.WithCancel(context.Background())
	cfg := demo.DefaultConfig()
	cfg.AllocRate = *allocRate
	cfg.Workers = 2
	var wg sync.WaitGroup
	wg.Go(func() { _ = demo.Run(ctx, cfg) })

	if *flight {
		if err := agent.EnableFlightRecorder(agent.FlightRecorderOptions{MinAge: *minAge, MaxBytes: *maxBytes}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	hb := &heartbeat{}
	wg.Go(func() { hb.run(ctx) })
	time.Sleep(*warmup)

	hb.reset()
	cpu0, t0 := cpuSeconds(), time.Now()
	var rss, other, gomem, live []float64
	samples := []metrics.Sample{{Name: "/memory/classes/other:bytes"}, {Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"},
		{Name: "/gc/heap/live:bytes"}, {Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(samples)
	gc0 := samples[4].Value.Uint64()
	for time.Since(t0) < time.Duration(*seconds*float64(time.Second)) {
		time.Sleep(100 * time.Millisecond)
		rss = append(rss, statusBytes("VmRSS:"))
		metrics.Read(samples)
		other = append(other, float64(samples[0].Value.Uint64()))
		gomem = append(gomem, float64(samples[1].Value.Uint64()-samples[2].Value.Uint64()))
		live = append(live, float64(samples[3].Value.Uint64()))
	}
	wall := time.Since(t0).Seconds()
	r := result{Flight: *flight, Seconds: wall, CPUCores: (cpuSeconds() - cpu0) / wall,
		RSSMeanBytes: mean(rss), RSSPeakBytes: statusBytes("VmHWM:"), OtherMeanBytes: mean(other), GoMemMeanBytes: mean(gomem),
		HeapLiveMean: mean(live), GCCycles: samples[4].Value.Uint64() - gc0}
	r.GapMaxMs, r.GapP99Ms, r.GapP999Ms, r.Beats = hb.stats()

	if *flight {
		// One snapshot, as GET /debug/gotune/flightrecorder serves it.
		hb.reset()
		var buf countWriter
		s := time.Now()
		if err := snapshot(&buf); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		r.SnapshotMs = float64(time.Since(s).Microseconds()) / 1000
		r.SnapshotBytes = buf.n
		time.Sleep(5 * time.Millisecond)
		r.SnapshotGapMs, _, _, _ = hb.stats()
	}
	cancel()
	wg.Wait()
	b, _ := json.Marshal(r)
	fmt.Println(string(b))
}

// snapshot fetches the window through the agent's handler.
func snapshot(w io.Writer) error {
	rec := &recorder{h: map[string][]string{}, w: w}
	req, _ := newGet(agent.FlightRecorderPath)
	agent.FlightRecorderHandler().ServeHTTP(rec, req)
	if rec.code != 0 && rec.code != 200 {
		return fmt.Errorf("snapshot: status %d", rec.code)
	}
	return nil
}

type heartbeat struct {
	mu   sync.Mutex
	gaps []time.Duration
}

// run sleeps 1 ms at a time; each wake-up's lateness is how long the
// goroutine waited beyond its timer (scheduling latency, STW pauses).
func (h *heartbeat) run(ctx context.Context) {
	last := time.Now()
	for ctx.Err() == nil {
		time.Sleep(time.Millisecond)
		now := time.Now()
		gap := now.Sub(last) - time.Millisecond
		last = now
		h.mu.Lock()
		h.gaps = append(h.gaps, gap)
		h.mu.Unlock()
	}
}

func (h *heartbeat) reset() {
	h.mu.Lock()
	h.gaps = h.gaps[:0]
	h.mu.Unlock()
}

func (h *heartbeat) stats() (maxMs, p99, p999 float64, n int) {
	h.mu.Lock()
	g := slices.Clone(h.gaps)
	h.mu.Unlock()
	if len(g) == 0 {
		return 0, 0, 0, 0
	}
	slices.Sort(g)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	q := func(f float64) time.Duration { return g[min(len(g)-1, int(f*float64(len(g))))] }
	return ms(g[len(g)-1]), ms(q(0.99)), ms(q(0.999)), len(g)
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

// statusBytes reads a "kB" field of /proc/self/status.
func statusBytes(field string) float64 {
	b, _ := os.ReadFile("/proc/self/status")
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(line, []byte(field)); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(string(rest)), " kB"), 64)
			return kb * 1024
		}
	}
	return 0
}

func mean(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(max(len(v), 1))
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }
