package trigger

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/collectors/cgroup"
	"github.com/gotune/gotune/session"
)

var t0 = time.Date(2026, 3, 14, 15, 0, 0, 0, time.UTC)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Rule
		str  string
	}{
		{"gc-cpu>20%:30s", Rule{GCCPU, 0.2, 30 * time.Second}, "gc-cpu>20%:30s"},
		{"gc-cpu>0.25", Rule{GCCPU, 0.25, 30 * time.Second}, "gc-cpu>25%:30s"},
		{"goroutine-growth>100/min:2m", Rule{GoroutineGrowth, 100, 2 * time.Minute}, "goroutine-growth>100/min:2m"},
		{"goroutine-growth>5/s", Rule{GoroutineGrowth, 300, time.Minute}, "goroutine-growth>300/min:1m"},
		{"goroutine-growth>50:0s", Rule{GoroutineGrowth, 50, time.Minute}, "goroutine-growth>50/min:1m"},
		{"rss>90%:1m30s", Rule{RSS, 0.9, 90 * time.Second}, "rss>90%:1m30s"},
		{"heap-goal > 95%", Rule{HeapGoal, 0.95, 10 * time.Second}, "heap-goal>95%:10s"},
		{"sched-p99>10ms:30s", Rule{SchedLatency, 0.01, 30 * time.Second}, "sched-p99>10ms:30s"},
		{"sched-p99>1.5ms", Rule{SchedLatency, 0.0015, 30 * time.Second}, "sched-p99>1.5ms:30s"},
	} {
		got, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if got.Kind != tc.want.Kind || math.Abs(got.Threshold-tc.want.Threshold) > 1e-12 || got.For != tc.want.For {
			t.Errorf("Parse(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
		if s := got.String(); s != tc.str {
			t.Errorf("Parse(%q).String() = %q, want %q", tc.in, s, tc.str)
		}
		if again, err := Parse(got.String()); err != nil || again != got {
			t.Errorf("String does not parse back: %q → %+v, %v", got.String(), again, err)
		}
	}
	for _, bad := range []string{"", "gc-cpu", "gc-cpu<20%", "heap>1GiB", "gc-cpu>0%", "gc-cpu>300%", "gc-cpu>20%:soon",
		"goroutine-growth>-3/min", "sched-p99>fast", "sched-p99>0s", "rss>90%:-5s"} {
		if r, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) = %+v, want an error", bad, r)
		}
	}
	r, _ := Parse("gc-cpu>20%:30s")
	if d := r.Describe(); d != "GC CPU above 20.0% for 30s" {
		t.Errorf("Describe = %q", d)
	}
}

// store holds n points a second apart ending at end, each with the values
// and derived figures f gives for its index.
func store(n int, end time.Time, f func(i int) (map[string]float64, map[string]float64)) *session.Store {
	st := session.NewStore(session.DefaultCapacity)
	for i := range n {
		v, d := f(i)
		st.AppendPoint(session.Point{Sample: session.Sample{Time: end.Add(time.Duration(i-n+1) * time.Second), Source: "agent", Values: v}, Derived: d})
	}
	return st
}

func TestCheck(t *testing.T) {
	gc := func(frac ...float64) *session.Snapshot {
		return store(len(frac), t0, func(i int) (map[string]float64, map[string]float64) {
			return map[string]float64{}, map[string]float64{session.GCCPU: frac[i]}
		}).Snapshot()
	}
	r, _ := Parse("gc-cpu>20%:3s")
	for _, tc := range []struct {
		name         string
		snap         *session.Snapshot
		known, holds bool
		value        float64
	}{
		{"too short", gc(0.5, 0.5, 0.5), false, false, 0},
		{"holds", gc(0.1, 0.3, 0.25, 0.4, 0.5), true, true, 0.25},
		// the covering point before the duration does not count
		{"covering point low", gc(0.1, 0.3, 0.25, 0.4, 0.5), true, true, 0.25},
		{"one dip", gc(0.3, 0.3, 0.19, 0.3, 0.3), true, false, 0.19},
		{"at the threshold", gc(0.3, 0.2, 0.2, 0.2, 0.2), true, false, 0.2},
	} {
		rd := r.Check(tc.snap)
		if rd.Known != tc.known || rd.Holds != tc.holds || tc.known && math.Abs(rd.Value-tc.value) > 1e-12 {
			t.Errorf("%s: %+v, want known %v holds %v value %v", tc.name, rd, tc.known, tc.holds, tc.value)
		}
	}
	// The point covering a duration's start, when before it, does not count.
	half, _ := Parse("gc-cpu>20%:2500ms")
	if rd := half.Check(gc(0.1, 0.1, 0.3, 0.25, 0.4)); !rd.Holds || rd.Value != 0.25 {
		t.Errorf("covering point before the start: %+v", rd)
	}
	rd := r.Check(gc(0.3, 0.3, 0.3, 0.3))
	if !strings.Contains(rd.Text, "GC CPU at least 30.0% over the last 3s (gc-cpu:fraction over 10s via agent; threshold 20.0%)") {
		t.Errorf("text: %q", rd.Text)
	}

	grow, _ := Parse("goroutine-growth>100/min:10s")
	leak := store(20, t0, func(i int) (map[string]float64, map[string]float64) {
		g := 50.0
		if i >= 5 {
			g += float64(i-5) * 3 // 180 a minute from the 6th second
		}
		return map[string]float64{session.Goroutines: g}, nil
	}).Snapshot()
	rd = grow.Check(leak)
	if !rd.Known || !rd.Holds || math.Abs(rd.Value-180) > 1e-9 || !strings.Contains(rd.Text, "grew from 62 to 92 in 10s: 180/min") {
		t.Errorf("growth: %+v", rd)
	}

	rss, _ := Parse("rss>90%:2s")
	mem := func(rssBytes float64, gomemlimit float64, cg uint64) *session.Snapshot {
		st := store(4, t0, func(int) (map[string]float64, map[string]float64) {
			return map[string]float64{session.ProcessRSS: rssBytes, session.GOMEMLIMIT: gomemlimit, session.HeapGoal: rssBytes}, nil
		})
		if cg > 0 {
			st.UpdateFacts(func(f *session.Facts) {
				f.Cgroup = &cgroup.Stats{Memory: &cgroup.Memory{Limit: cg, Limited: true, From: "/app"}}
			})
		}
		return st.Snapshot()
	}
	if rd := rss.Check(mem(950, math.MaxInt64, 1000)); !rd.Holds || !strings.Contains(rd.Text, "the cgroup memory limit") {
		t.Errorf("rss over the cgroup limit: %+v", rd)
	}
	if rd := rss.Check(mem(950, 2000, 1000)); !rd.Holds {
		t.Errorf("rss: the cgroup limit comes first: %+v", rd)
	}
	if rd := rss.Check(mem(950, 1000, 0)); !rd.Holds || !strings.Contains(rd.Text, "/gc/gomemlimit:bytes") {
		t.Errorf("rss over GOMEMLIMIT: %+v", rd)
	}
	if rd := rss.Check(mem(950, math.MaxInt64, 0)); rd.Known || !strings.Contains(rd.Why, "no memory limit") {
		t.Errorf("rss without a limit: %+v", rd)
	}
	goal, _ := Parse("heap-goal>95%:2s")
	if rd := goal.Check(mem(1900, 2000, 1000)); !rd.Holds || rd.Value != 0.95 {
		t.Errorf("heap goal at 95%% of GOMEMLIMIT (not the cgroup's): %+v", rd)
	}
	sched, _ := Parse("sched-p99>10ms:2s")
	lat := store(5, t0, func(i int) (map[string]float64, map[string]float64) {
		return nil, map[string]float64{session.SchedLatP99: 0.02}
	}).Snapshot()
	if rd := sched.Check(lat); !rd.Holds || !strings.Contains(rd.Text, "scheduler latency p99 at least 20.0ms") {
		t.Errorf("sched: %+v", rd)
	}
	if rd := sched.Check(gc(0.1, 0.1, 0.1, 0.1)); rd.Known || !strings.Contains(rd.Why, "no scheduler latency") {
		t.Errorf("sched without the histogram: %+v", rd)
	}
}

// feed replays a GC CPU curve (one value a second) through an engine and
// returns the events.
func feed(e *Engine, curve []float64) []Event {
	st := session.NewStore(session.DefaultCapacity)
	var out []Event
	for i, v := range curve {
		st.AppendPoint(session.Point{Sample: session.Sample{Time: t0.Add(time.Duration(i) * time.Second), Source: "agent"},
			Derived: map[string]float64{session.GCCPU: v}})
		out = append(out, e.Observe("api", st.Snapshot())...)
		// The same snapshot again changes nothing.
		out = append(out, e.Observe("api", st.Snapshot())...)
	}
	return out
}

func curve(parts ...any) []float64 {
	var out []float64
	for i := 0; i < len(parts); i += 2 {
		for range parts[i].(int) {
			out = append(out, parts[i+1].(float64))
		}
	}
	return out
}

func kindsOf(evs []Event) string {
	var s []string
	for _, e := range evs {
		s = append(s, fmt.Sprintf("%s@%.0fs", e.Kind, e.At.Sub(t0).Seconds()))
	}
	return strings.Join(s, " ")
}

// TestEpisodes: one firing per episode, none while it goes on, a
// suppressed episode within the cool-down that fires if it outlasts it,
// and a new episode after the cool-down firing again.
func TestEpisodes(t *testing.T) {
	r, _ := Parse("gc-cpu>20%:5s")
	e := NewEngine([]Rule{r}, Options{Cooldown: 100 * time.Second, ClearAfter: 10 * time.Second})
	evs := feed(e, curve(
		10, 0.05, // quiet
		40, 0.40, // episode 1: fires 5 s in (at 15 s), then holds
		3, 0.05, // a dip shorter than ClearAfter: the same episode
		10, 0.40,
		20, 0.05, // ends 10 s after it stops holding (at 73 s)
		10, 0.40, // episode 2 within the cool-down (until 115 s): suppressed at 88 s
		30, 0.05, // ends at 103 s
		20, 0.40, // episode 3 after the cool-down: fires at 128 s
		10, 0.05, // ends at 153 s
		10, 0.40, // episode 4 at 158 s within the cool-down (until 228 s): suppressed...
		70, 0.40, // ... and fires when the cool-down ends, still holding (at 228 s)
	))
	want := "fired@15s cleared@73s suppressed@88s cleared@103s fired@128s cleared@153s suppressed@158s fired@228s"
	if got := kindsOf(evs); got != want {
		t.Fatalf("events:\n got %s\nwant %s", got, want)
	}
	if evs[0].Episode != 1 || evs[2].Episode != 2 || evs[7].Episode != 4 || !evs[2].CooldownUntil.Equal(t0.Add(115*time.Second)) {
		t.Errorf("episodes and cool-down: %+v", evs)
	}
	if !strings.HasPrefix(evs[0].Reason(), "gc-cpu>20%:5s: GC CPU at least 40.0% over the last 5s") {
		t.Errorf("reason: %q", evs[0].Reason())
	}
	if !strings.Contains(evs[1].Reason(), "episode 1 ended after 58s") {
		t.Errorf("cleared reason: %q", evs[1].Reason())
	}
	// Targets are independent.
	if evs := e.Observe("other", store(10, t0.Add(time.Hour), func(int) (map[string]float64, map[string]float64) {
		return nil, map[string]float64{session.GCCPU: 0.5}
	}).Snapshot()); kindsOf(evs) != "fired@3600s" {
		t.Errorf("another target: %s", kindsOf(evs))
	}
}
