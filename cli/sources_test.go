//go:build unix

package cli

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/internal/testproc"
	"github.com/gotune/gotune/session"
)

// metricsTarget is a started testdata/targets/metricsserver.
type metricsTarget struct {
	p                *testproc.Proc
	main, gops, self string
}

func startMetricsTarget(t *testing.T, mode string, env ...string) metricsTarget {
	t.Helper()
	bin := testproc.Build(t, "./testdata/targets/metricsserver")
	p := testproc.Start(t, bin, append([]string{"GOMAXPROCS=2", "GOGC=100"}, env...), "-mode", mode, "-live", "32")
	mt := metricsTarget{p: p}
	if !strings.Contains(p.FirstLine, "=") {
		mt.main, mt.self = p.FirstLine, p.FirstLine
		return mt
	}
	for _, f := range strings.Fields(p.FirstLine) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "main":
			mt.main = v
		case "gops":
			mt.gops = v
		case "self":
			mt.self = v
		}
	}
	return mt
}

func (m metricsTarget) readSelf(t *testing.T) map[string]float64 {
	t.Helper()
	resp, err := http.Get(m.self + "/self")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r map[string]float64
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	return r
}

// gotune attach TARGET --json --duration 3s, by URL and by PID, on every
// kind of real target: which figures appear, where each came from
// (origins in the JSON), and their values against the target's own.
func TestAttachJSONEverySource(t *testing.T) {
	gopsDir := t.TempDir()
	cases := []struct {
		mode  string
		byPID bool
		env   []string
		via   string
		// origins: metric → substring of its origin
		origins  map[string]string
		gcMethod string // substring of gc-cpu:fraction's origin
		estimate bool   // the live heap is an estimate
	}{
		{mode: "pprof", via: "pprof", origins: map[string]string{session.HeapGoal: "heap?debug=1 MemStats", session.Goroutines: "goroutine?debug=1"},
			gcMethod: "estimate: Δ(MemStats GCCPUFraction", estimate: true},
		{mode: "promdefault", via: "prometheus", origins: map[string]string{session.HeapGoal: "go_memstats_next_gc_bytes", session.Goroutines: "go_goroutines"}, estimate: true},
		{mode: "promall", via: "prometheus", origins: map[string]string{session.HeapLive: "go_gc_heap_live_bytes", session.Goroutines: "go_sched_goroutines_goroutines"},
			gcMethod: "gc/mark/idle"},
		{mode: "expvar", via: "expvar", origins: map[string]string{session.HeapGoal: "memstats"}, gcMethod: "estimate: Δ(MemStats GCCPUFraction", estimate: true},
		{mode: "agent", via: "agent", origins: map[string]string{session.HeapLive: "agent"}, gcMethod: "gc/mark/idle"},
		{mode: "pprof", byPID: true, via: "pprof", origins: map[string]string{session.HeapGoal: "heap?debug=1 MemStats", session.ProcessCPU: "/proc/"},
			gcMethod: "estimate: Δ(MemStats GCCPUFraction", estimate: true},
		{mode: "split", byPID: true, via: "prometheus + pprof",
			origins:  map[string]string{session.HeapGoal: "prometheus", session.MemStatsGCCPUFraction: "pprof", session.ProcessCPU: "/proc/"},
			gcMethod: "estimate: Δ(MemStats GCCPUFraction", estimate: true},
		{mode: "gops", byPID: true, env: []string{"GOPS_CONFIG_DIR=" + gopsDir}, via: "gops",
			origins:  map[string]string{session.HeapGoal: "gops memstats", session.Goroutines: "gops stats", session.ProcessCPU: "/proc/"},
			gcMethod: "estimate: Δ(MemStats GCCPUFraction", estimate: true},
		{mode: "promdefault", byPID: true, via: "prometheus", origins: map[string]string{session.HeapGoal: "prometheus", session.ProcessCPU: "/proc/"}, estimate: true},
	}
	for _, c := range cases {
		name := c.mode + "/url"
		if c.byPID {
			name = c.mode + "/pid"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			mt := startMetricsTarget(t, c.mode, c.env...)
			arg := mt.main
			if c.byPID {
				arg = strconv.Itoa(mt.p.PID)
			}
			before := mt.readSelf(t)
			out := attachUntil(t, 1, 3*time.Second, arg, "--interval", "500ms")
			after := mt.readSelf(t)
			var last *Record
			recs := decodeRecords(t, out)
			freshVia := 0
			for i := range recs {
				if recs[i].Fresh && recs[i].Source.Via == c.via {
					last = &recs[i]
					freshVia++
				}
			}
			if last == nil {
				t.Fatalf("no fresh record via %s:\n%s", c.via, out)
			}
			for name, want := range c.origins {
				if o := last.Origins[name]; !strings.Contains(o, want) {
					t.Errorf("%s: origin %q, want %q", name, o, want)
				}
			}
			for name := range last.Metrics {
				if last.Origins[name] == "" {
					t.Errorf("%s without an origin", name)
				}
			}
			// The live heap: reported, or an estimate labelled as one, never
			// HeapAlloc; against the target's own /gc/heap/live.
			live, ok := last.Metrics[session.HeapLive]
			if !ok {
				live, ok = last.Metrics[session.HeapLiveEstimate]
				if !session.IsEstimate(last.Origins[session.HeapLiveEstimate]) {
					t.Errorf("live-heap estimate origin %q not labelled", last.Origins[session.HeapLiveEstimate])
				}
			}
			lo, hi := min(before["heap_live"], after["heap_live"]), max(before["heap_live"], after["heap_live"])
			if _, est := last.Metrics[session.HeapLiveEstimate]; !ok || est != c.estimate || live < lo*0.9 || live > hi*1.1 {
				t.Errorf("live heap %.0f (estimate %v), the target's own %.0f–%.0f", live, est, lo, hi)
			}
			if g, ok := last.Metrics[session.HeapGoal]; !ok || g < min(before["heap_goal"], after["heap_goal"])*0.95 || g > max(before["heap_goal"], after["heap_goal"])*1.05 {
				t.Errorf("heap goal %.0f, the target's own %.0f–%.0f", g, before["heap_goal"], after["heap_goal"])
			}
			if n, ok := last.Metrics[session.GCCycles]; !ok || n < before["gc_cycles"] || n > after["gc_cycles"] {
				t.Errorf("GC cycles %v, the target's own %v–%v", n, before["gc_cycles"], after["gc_cycles"])
			}
			gc, ok := last.Derived[session.GCCPU]
			t.Logf("via %q; live %.1f MiB (target %.1f–%.1f) from %q; goal %.1f MiB (target %.1f); cycles %v (target %v–%v); goroutines %v (target %v/%v); GC CPU %.4f by %q",
				last.Source.Via, live/(1<<20), lo/(1<<20), hi/(1<<20), firstWords(last.Origins[session.HeapLive]+last.Origins[session.HeapLiveEstimate], 4),
				last.Metrics[session.HeapGoal]/(1<<20), after["heap_goal"]/(1<<20), last.Metrics[session.GCCycles], before["gc_cycles"], after["gc_cycles"],
				last.Metrics[session.Goroutines], after["num_goroutine"], after["goroutines"], gc, firstWords(last.DerivedOrigins[session.GCCPU], 6))
			// A delta needs two reads; the pprof endpoints are paced by
			// their cost to the target (collectors.pprofPacer), so on a busy
			// machine the 3 s window may hold one.
			paced := c.via == "pprof" && freshVia < 2
			if paced {
				t.Logf("one fresh read via pprof (paced): no GC CPU delta to check")
			}
			if c.gcMethod == "" {
				if ok {
					t.Errorf("GC CPU %v (%s) without the inputs", gc, last.DerivedOrigins[session.GCCPU])
				}
			} else if !paced && (!ok || gc < 0 || gc > 1 || !strings.Contains(last.DerivedOrigins[session.GCCPU], c.gcMethod)) {
				t.Errorf("GC CPU %v (present %v): %q, want by %q", gc, ok, last.DerivedOrigins[session.GCCPU], c.gcMethod)
			}
			if g, ok := last.Metrics[session.Goroutines]; ok && math.Abs(g-after["num_goroutine"]) > 6 && math.Abs(g-after["goroutines"]) > 6 {
				t.Errorf("goroutines %v, the target's own %v (NumGoroutine) / %v (runtime/metrics)", g, after["num_goroutine"], after["goroutines"])
			}
		})
	}
}

func firstWords(s string, n int) string {
	f := strings.Fields(s)
	return strings.Join(f[:min(n, len(f))], " ")
}
