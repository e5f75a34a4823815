//go:build gctrace

package collectors

// GC CPU by each of gotune's methods against GODEBUG=gctrace=1's own
// figures on the same run. An explicit command, not in the default suite
// (it runs a loaded target for a while and compares timings):
//
//	go test -tags gctrace -run TestGCCPUAgainstGCTrace -v ./collectors/
//
// gctrace prints, per cycle, "gc N @Ts P%: ... A+B/C/D+E ms cpu, ...":
// P% is int(GCCPUFraction × 100), the GC CPU paid since the start (idle
// marking left out) as a share of GOMAXPROCS × time; A+B/C/D+E are the
// cycle's CPU: sweep termination, assists, background marking, idle
// marking, mark termination. Like with like:
//
//   - since the start: gotune's cumulative paid share at a reading
//     against P% of the cycle that reading reflects (its GC cycle count);
//   - over a window: gotune's gc-cpu:fraction between two readings against
//     Σ (A+B+C+E) of the cycles between their cycle counts ÷ (GOMAXPROCS ×
//     the wall time between the readings).

import (
	"bufio"
	"context"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/collectors/gops"
	"github.com/gotune/gotune/collectors/proc"
	"github.com/gotune/gotune/session"
)

type gctraceCycle struct {
	n       int
	pct     int     // P%
	paidMs  float64 // A+B+C+E
	idleMs  float64 // D
	pauseMs float64 // A+E
}

var gctraceLine = regexp.MustCompile(`^gc (\d+) @[0-9.]+s (\d+)%: [0-9.+]+ ms clock, ([0-9.]+)\+([0-9.]+)/([0-9.]+)/([0-9.]+)\+([0-9.]+) ms cpu`)

func parseGCTrace(s string) map[int]gctraceCycle {
	out := map[int]gctraceCycle{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		m := gctraceLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		f := func(i int) float64 { v, _ := strconv.ParseFloat(m[i], 64); return v }
		n, _ := strconv.Atoi(m[1])
		pct, _ := strconv.Atoi(m[2])
		out[n] = gctraceCycle{n: n, pct: pct, paidMs: f(3) + f(4) + f(5) + f(7), idleMs: f(6), pauseMs: f(3) + f(7)}
	}
	return out
}

func TestGCCPUAgainstGCTrace(t *testing.T) {
	const procs = 2
	for _, gogc := range []string{"25", "100"} {
		t.Run("GOGC="+gogc, func(t *testing.T) {
			tg := startTarget(t, "all", []string{"GODEBUG=gctrace=1", "GOGC=" + gogc, "GOPS_CONFIG_DIR=" + t.TempDir()}, "-rate", "60", "-ptrs", "48")
			start, err := processStart(proc.Host, tg.p.PID)
			if err != nil {
				t.Fatal(err)
			}
			o := HTTPSourceOptions{}.withDefaults()
			type method struct {
				name string
				src  MetricsSource
			}
			methods := []method{
				{"/cpu/classes via agent", NewAgentSource(tg.main, o)},
				{"/cpu/classes via prometheus (runtime metrics)", NewPrometheusSource(tg.main, o)},
				{"MemStats via expvar", NewExpvarSource(tg.main, o)},
				{"MemStats via pprof heap?debug=1", NewPprofMetricsSource(tg.main, o)},
				{"MemStats via gops memstats", &gopsMetrics{c: gops.NewClient(tg.gops)}},
			}
			read := func(m method) session.Sample {
				s, err := m.src.Read(context.Background())
				if err != nil {
					t.Fatalf("%s: %v", m.name, err)
				}
				s.Values[session.ProcessStart] = float64(start.UnixNano()) / 1e9
				return s
			}
			time.Sleep(5 * time.Second) // past the start-up cycles
			first := make([]session.Sample, len(methods))
			for i, m := range methods {
				first[i] = read(m)
			}
			time.Sleep(20 * time.Second)
			last := make([]session.Sample, len(methods))
			for i, m := range methods {
				last[i] = read(m)
			}
			time.Sleep(200 * time.Millisecond) // the last lines on stderr
			cycles := parseGCTrace(tg.p.Stderr.String())
			if len(cycles) < 10 {
				t.Fatalf("%d gctrace lines", len(cycles))
			}
			t.Logf("GOGC=%s, GOMAXPROCS=%d, %d GC cycles traced", gogc, procs, len(cycles))
			t.Logf("%-46s %13s %9s %13s %14s", "method", "since start", "gctrace", "window", "gctrace window")
			for i, m := range methods {
				a, b := first[i], last[i]
				n0, n1 := int(a.Values[session.GCCycles]), int(b.Values[session.GCCycles])
				// Since the start, at the last reading.
				var cum float64
				if f, ok := b.Values[session.MemStatsGCCPUFraction]; ok {
					cum = f
				} else {
					cum = (b.Values[session.CPUGCTotal] - b.Values[session.CPUGCIdle]) / b.Values[session.CPUTotal]
				}
				c, ok := cycles[n1]
				if !ok {
					t.Errorf("%s: no gctrace line for cycle %d", m.name, n1)
					continue
				}
				// The window.
				win, origin, ok := session.GCCPUBetween(&a, &b)
				if !ok {
					t.Errorf("%s: no window figure", m.name)
					continue
				}
				var paidMs, pauseMs float64
				missing := 0
				for k := n0 + 1; k <= n1; k++ {
					if ck, ok := cycles[k]; ok {
						paidMs += ck.paidMs
						pauseMs += ck.pauseMs
					} else {
						missing++
					}
				}
				wall := b.Time.Sub(a.Time).Seconds()
				trace := paidMs / 1000 / (procs * wall)
				t.Logf("%-46s %12.2f%% %8d%% %12.2f%% %13.2f%%   (cycles %d–%d, of which STW pauses %.2f%%; %s)", m.name, cum*100, c.pct, win*100, trace*100, n0, n1,
					pauseMs/1000/(procs*wall)*100, origin)
				// gctrace truncates to a whole percent; the cpu/classes reading
				// is a little later than the cycle's end.
				if cum*100 < float64(c.pct)-0.3 || cum*100 > float64(c.pct)+1.3 {
					t.Errorf("%s: %.2f%% since the start, gctrace says %d%%", m.name, cum*100, c.pct)
				}
				// ms in gctrace have 2–3 significant digits; 10 % + 0.2 points.
				if missing > 0 || math.Abs(win-trace) > 0.1*trace+0.002 {
					t.Errorf("%s: window %.2f%%, gctrace %.2f%% (%d cycles missing)", m.name, win*100, trace*100, missing)
				}
			}
		})
	}
}
