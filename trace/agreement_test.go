package trace

import (
	"cmp"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/profile"
)

// The tests in this file hold gotune's figures against Go's own tools on
// the same trace files, written on this run by testdata/targets/trace-cases:
// scheduler latency and blocking totals and per-stack figures against
// `go tool trace -pprof=sched|sync|syscall|net`, the pause list against the
// stop-the-world ranges `go tool trace -d=parsed` prints, and the MMU curve
// against the MMU page of `go tool trace -http` (internal/trace).

var agreementCases = []string{"stw", "assist", "lock", "syscall", "net", "idleps"}

// agreementFiles are the traces the agreement tests read: one per case,
// plus any files listed in GOTUNE_TRACE_FILES (space separated), such as a
// capture of the demo workload.
func agreementFiles(t *testing.T, cases []string) map[string]string {
	out := map[string]string{}
	for _, c := range cases {
		out[c] = caseTrace(t, c, caseDuration)
	}
	for _, f := range strings.Fields(os.Getenv("GOTUNE_TRACE_FILES")) {
		out[filepath.Base(f)] = f
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

const caseDuration = 400 * time.Millisecond

// clipped is what go tool trace -pprof counts of a latency: it leaves out
// the waits that ended before the goroutine first ran (Latency doc).
func clipped(l Latency) (count, total int64) {
	return l.Count - l.BeforeFirstRunCount, int64(l.Total - l.BeforeFirstRun)
}

func (s *Summary) reason(c Category) Latency {
	for _, r := range s.Blocking.Reasons {
		if r.Category == c {
			return r.Latency
		}
	}
	return Latency{}
}

func sumLatency(ls ...Latency) Latency {
	var out Latency
	for _, l := range ls {
		out.Count += l.Count
		out.Total += l.Total
		out.BeforeFirstRunCount += l.BeforeFirstRunCount
		out.BeforeFirstRun += l.BeforeFirstRun
	}
	return out
}

// byStack is our groups of the given categories, keyed as pprofTotals.
func byStack(groups []StackGroup, cats ...Category) map[string][2]int64 {
	out := map[string][2]int64{}
	for _, g := range groups {
		if !slices.Contains(cats, g.Category) {
			continue
		}
		c, d := clipped(g.Latency)
		if c == 0 && d == 0 {
			continue
		}
		k := stackKey(g.Frames)
		e := out[k]
		e[0] += c
		e[1] += d
		out[k] = e
	}
	return out
}

func TestAgreementWithGoToolTracePprof(t *testing.T) {
	modes := []struct {
		mode string
		cats []Category
	}{
		{"sync", []Category{CatChannel, CatSelect, CatSync}},
		{"net", []Category{CatNetwork}},
		{"syscall", []Category{CatSyscall}},
	}
	files := agreementFiles(t, agreementCases)
	for _, name := range sortedKeys(files) {
		file := files[name]
		t.Run(name, func(t *testing.T) {
			s := analyzeFile(t, file)

			// Scheduler latency: totals (stacks differ by design: -pprof=sched
			// keys a wait by whoever made the goroutine runnable, gotune by
			// the goroutine's own stack).
			want := goToolTracePprof(t, "sched", file)
			gotC, gotT := clipped(s.Sched.Latency)
			if gotC != want.count || gotT != want.total {
				t.Errorf("sched: gotune %d waits, %d ns (of %d, %d ns in all); go tool trace -pprof=sched %d, %d ns",
					gotC, gotT, s.Sched.Count, s.Sched.Total, want.count, want.total)
			}
			t.Logf("| %s | sched | %d | %d | %d | %d |", name, want.count, gotC, want.total, gotT)

			for _, m := range modes {
				want := goToolTracePprof(t, m.mode, file)
				var ls []Latency
				for _, c := range m.cats {
					ls = append(ls, s.reason(c))
				}
				gotC, gotT := clipped(sumLatency(ls...))
				if gotC != want.count || gotT != want.total {
					t.Errorf("%s: gotune %d waits, %d ns; go tool trace -pprof=%s %d, %d ns", m.mode, gotC, gotT, m.mode, want.count, want.total)
				}
				t.Logf("| %s | %s | %d | %d | %d | %d |", name, m.mode, want.count, gotC, want.total, gotT)
				got := byStack(s.Blocking.Groups, m.cats...)
				for k, w := range want.byStack {
					if got[k] != w {
						t.Errorf("%s: stack\n%s gotune %v, go tool trace %v", m.mode, k, got[k], w)
					}
				}
				for k, g := range got {
					if _, ok := want.byStack[k]; !ok {
						t.Errorf("%s: stack\n%s only in gotune: %v", m.mode, k, g)
					}
				}
			}
		})
	}
}

func TestPausesAgreeWithGoToolTraceParsed(t *testing.T) {
	files := agreementFiles(t, agreementCases)
	for _, name := range sortedKeys(files) {
		file := files[name]
		t.Run(name, func(t *testing.T) {
			s := analyzeFile(t, file)
			want := goToolTraceSTW(t, file)
			var got []parsedSTW
			for _, p := range s.Pauses.List {
				got = append(got, parsedSTW{p.Reason, p.Duration})
			}
			order := func(a, b parsedSTW) int { return cmp.Or(cmp.Compare(b.dur, a.dur), cmp.Compare(a.reason, b.reason)) }
			slices.SortFunc(want, order)
			slices.SortFunc(got, order)
			if !slices.Equal(got, want) {
				t.Errorf("pauses differ:\ngotune           %v\ngo tool trace -d %v", got, want)
			}
			var total time.Duration
			for _, w := range want {
				total += w.dur
			}
			if s.Pauses.Count != len(want) || s.Pauses.Total != total {
				t.Errorf("pause count/total: gotune %d, %s; go tool trace %d, %s", s.Pauses.Count, s.Pauses.Total, len(want), total)
			}
			worst := "-"
			if len(want) > 0 {
				worst = fmt.Sprintf("%s (%s)", want[0].dur, want[0].reason)
			}
			t.Logf("| %s | %d | %d | %s | %s | %s |", name, len(want), s.Pauses.Count, total, s.Pauses.Total, worst)
		})
	}
}

func TestMMUAgreesWithGoToolTrace(t *testing.T) {
	files := agreementFiles(t, []string{"stw", "assist", "net"})
	for _, name := range sortedKeys(files) {
		file := files[name]
		t.Run(name, func(t *testing.T) {
			s := analyzeFileWith(t, file, Options{MMUCompat: true})
			if len(s.MMU) < 5 && name != filepath.Base(file) {
				// Seen once in a full run on the assist case (0 windows):
				// take the case's trace again once, and say so.
				t.Logf("MMU has %d windows for a %s trace (%d GC cycles): taking the trace again", len(s.MMU), s.Duration, s.GC.Count)
				file = caseTrace(t, name, caseDuration+time.Millisecond)
				s = analyzeFileWith(t, file, Options{MMUCompat: true})
			}
			own := analyzeFile(t, file)
			if len(s.MMU) < 5 {
				// The utilisation curve ends at its last change (a closing
				// 0 is dropped when the curve is already at 0, as
				// internal/trace's addUtil does), so a trace whose GC work
				// bunches up leaves a curve shorter than 1 ms: there is no
				// window to compare. Seen on the assist case on an idle
				// machine; not a disagreement.
				t.Skipf("MMU has %d windows for a %s trace (%d GC cycles): its utilisation curve is shorter than the smallest window", len(s.MMU), s.Duration, s.GC.Count)
			}
			mmuAt, stop := goToolTraceMMU(t, file)
			defer stop()
			var row strings.Builder
			for _, m := range s.MMU {
				want := mmuAt(m.Window)
				if math.Abs(m.MMU-want) > 1e-9 {
					t.Errorf("MMU at %s: gotune %.9f, go tool trace %.9f", m.Window, m.MMU, want)
				}
				fmt.Fprintf(&row, " %s %.6f/%.6f/%.6f |", m.Window, want, m.MMU, mmuAtWindow(own.MMU, m.Window))
			}
			t.Logf("| %s |%s", name, row.String())
		})
	}
}

// Each case shows what it was built to show, in gotune's figures.
func TestCasesShowTheirCause(t *testing.T) {
	t.Run("stw", func(t *testing.T) {
		s := analyzeFile(t, caseTrace(t, "stw", caseDuration))
		w, ok := s.Pauses.Worst()
		if !ok {
			t.Fatal("no pauses")
		}
		// The spinner runs ~40M iterations of call-free arithmetic: tens of
		// milliseconds on any core, more under load.
		if w.Duration < 10*time.Millisecond || w.Reason != "GC sweep termination" || !w.GC || w.Cycle == 0 {
			t.Errorf("worst pause %s %q gc=%v cycle=%d: want a GC sweep termination over 10ms", w.Duration, w.Reason, w.GC, w.Cycle)
		}
		l := w.LastToStop
		if l == nil || l.Name != "main.stwCase.func1" || l.StoppedAfter < w.Duration*9/10 {
			t.Fatalf("last to stop %+v: want main.stwCase.func1 for most of the pause", l)
		}
		if f, _ := userFrame(l.Stack); f.Func != "main.stwCase.func1" {
			t.Errorf("it stopped at %v, want main.stwCase.func1", f)
		}
		if len(w.Running) != 1 || w.Running[0].Goroutine != l.Goroutine {
			t.Errorf("running at the stop %+v, want just G%d", w.Running, l.Goroutine)
		}
		if f, _ := userFrame(w.Stack); f.Func != "main.stwCase" {
			t.Errorf("stopped by %v, want main.stwCase (runtime.GC)", f)
		}
		if m := s.MMU[0]; m.Window != time.Millisecond || m.MMU != 0 {
			t.Errorf("MMU %+v: a 10ms+ pause leaves a 1ms window no utilisation", m)
		}
	})
	t.Run("assist", func(t *testing.T) {
		s := analyzeFile(t, caseTrace(t, "assist", caseDuration))
		if s.GC.Count < 1 || s.GC.AssistShare <= 0 || s.GC.AssistCPU <= 0 {
			t.Fatalf("GC %d cycles, assist share %.3f: want cycles with assists", s.GC.Count, s.GC.AssistShare)
		}
		g := topGroup(s.Blocking.Groups, CatGCAssist)
		if f, _ := userFrame(g.Frames); f.Func != "main.allocate" {
			t.Errorf("top assist stack at %v, want main.allocate", f)
		}
	})
	t.Run("lock", func(t *testing.T) {
		s := analyzeFile(t, caseTrace(t, "lock", caseDuration))
		for _, w := range []struct {
			cat   Category
			state string
			fn    string
		}{
			{CatSync, "sync", "main.lockWorker"},
			{CatSelect, "select", "main.chanProducer"},
			{CatChannel, "chan receive", "main.chanConsumer"},
		} {
			if !hasGroup(s.Blocking.Groups, w.cat, w.state, w.fn) {
				t.Errorf("no %s group %q at %s", w.cat, w.state, w.fn)
			}
		}
	})
	t.Run("syscall", func(t *testing.T) {
		s := analyzeFile(t, caseTrace(t, "syscall", caseDuration))
		for _, fn := range []string{"main.nanosleeper", "main.pipeReader"} {
			if !hasGroup(s.Blocking.Groups, CatSyscall, "syscall", fn) {
				t.Errorf("no syscall group at %s", fn)
			}
		}
		if l := s.reason(CatSyscall); l.Total < 100*time.Millisecond {
			t.Errorf("syscall total %s: two goroutines in nanosleep for 400ms", l.Total)
		}
	})
	t.Run("net", func(t *testing.T) {
		s := analyzeFile(t, caseTrace(t, "net", caseDuration))
		if l := s.reason(CatNetwork); l.Count == 0 {
			t.Error("no network waits in an HTTP client/server trace")
		}
	})
}

func mmuAtWindow(ps []MMUPoint, w time.Duration) float64 {
	for _, p := range ps {
		if p.Window == w {
			return p.MMU
		}
	}
	return math.NaN()
}

func topGroup(gs []StackGroup, c Category) StackGroup {
	for _, g := range gs {
		if g.Category == c {
			return g
		}
	}
	return StackGroup{}
}

func hasGroup(gs []StackGroup, c Category, state, fn string) bool {
	for _, g := range gs {
		if g.Category == c && g.State == state && slices.ContainsFunc(g.Frames, func(f profile.Frame) bool { return f.Func == fn }) {
			return true
		}
	}
	return false
}
