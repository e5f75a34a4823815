package hostview_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/hostview"
	"github.com/gotune/gotune/internal/testproc"
	"github.com/gotune/gotune/session"
)

// rowOf returns the row of pid.
func rowOf(v *hostview.View, pid int) (hostview.Row, bool) {
	for _, r := range v.Rows {
		if r.PID == pid {
			return r, true
		}
	}
	return hostview.Row{}, false
}

// refreshUntil refreshes every 200 ms until cond holds for the view. Each
// refresh reads every Go process of the (shared) machine, so on a loaded
// box under -race a dozen refreshes can take more than a minute: the
// watchdog is generous, the condition is about the data, not the speed.
func refreshUntil(t *testing.T, h *hostview.Host, what string, cond func(*hostview.View) bool, state ...fmt.Stringer) *hostview.View {
	t.Helper()
	var v *hostview.View
	testproc.Eventually(t, 5*time.Minute, func() bool {
		var err error
		v, err = h.Refresh(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if cond(v) {
			return true
		}
		time.Sleep(200 * time.Millisecond)
		return false
	}, "%s %v", what, state)
	return v
}

// lazy is a Stringer evaluated when printed (at a failure).
type lazy func() string

func (l lazy) String() string { return l() }

// TestHostRealProcesses watches real processes: one serving the gotune
// agent that leaks goroutines, one reachable only through the OS; their
// rows carry the figures each source gives, with origins; growth is
// positive while the leak runs; a killed process's row says it exited.
func TestHostRealProcesses(t *testing.T) {
	leaker := testproc.StartWith(t, testproc.Build(t, testproc.Target("episodes")), testproc.Options{WaitReady: true}, "-leak-rate", "20")
	sleeper := testproc.StartWith(t, testproc.BuildInto(t, testproc.PlainSleep, ""), testproc.Options{WaitReady: true})
	resp, err := http.Get("http://" + leaker.Addr() + "/control?leak=on")
	testproc.Must(t, err, "start the leak")
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	// The test refreshes every 200 ms, ten times the front ends' cadence:
	// keep enough points that they span the growth figure's 10 s minimum
	// (30, the default, span 6 s on a quiet machine and growth never shows).
	h := hostview.New(hostview.Options{Rescan: time.Hour, AdviseEvery: time.Millisecond, Workers: 4, History: 300})
	var last hostview.Row
	var found bool
	v := refreshUntil(t, h, "the leaker's growth and findings", func(v *hostview.View) bool {
		r, ok := rowOf(v, leaker.PID)
		last, found = r, ok
		return ok && r.GoroutineGrowth != nil && r.Findings.At.After(time.Time{}) && r.Samples >= 12
	}, lazy(func() string {
		return fmt.Sprintf("row found %v, growth %v, findings %+v, %d samples, error %q", found, last.GoroutineGrowth, last.Findings, last.Samples, last.Error)
	}))
	r, _ := rowOf(v, leaker.PID)
	if r.Via != "agent" || !strings.Contains(r.Reach, "agent+pprof") {
		t.Errorf("leaker: via %q, reach %q; want the agent and pprof", r.Via, r.Reach)
	}
	if r.Name != "testdata_targets_episodes" || r.GoVersion == "" {
		t.Errorf("leaker: name %q, Go %q", r.Name, r.GoVersion)
	}
	for name, f := range map[string]*hostview.Figure{"heap live": r.HeapLive, "heap goal": r.HeapGoal, "goroutines": r.Goroutines,
		"GOMAXPROCS": r.GOMAXPROCS, "RSS": r.RSS, "CPU": r.CPU} {
		if f == nil {
			t.Errorf("leaker: no %s", name)
			continue
		}
		if f.Origin == "" || f.Estimated {
			t.Errorf("leaker: %s origin %q estimated %v", name, f.Origin, f.Estimated)
		}
	}
	// 20 goroutines a second is 1200 a minute; the reads are 200 ms apart
	// at best, and a starved target's ticker falls behind on a busy
	// machine: a wide band, whose floor still tells growth from none.
	if g := r.GoroutineGrowth.Value; g < 100 || g > 1500 {
		t.Errorf("leaker: growth %.0f/min, want about 1200 (%s)", g, r.GoroutineGrowth.Origin)
	}
	if r.Goroutines.Value < 50 {
		t.Errorf("leaker: %v goroutines", r.Goroutines.Value)
	}
	if r.Findings.Rules == 0 || r.Findings.Samples < 10 {
		t.Errorf("leaker: findings %+v", r.Findings)
	}
	if r.RSS.Value < 1<<20 || r.HeapGoal.Value < 1<<20 {
		t.Errorf("leaker: RSS %v, heap goal %v", r.RSS.Value, r.HeapGoal.Value)
	}

	s, ok := rowOf(v, sleeper.PID)
	if !ok {
		t.Fatal("no row for the OS-only sleeper")
	}
	if s.Via != "os" || s.Reach != "OS only" || s.Goroutines != nil || s.HeapLive != nil {
		t.Errorf("sleeper: via %q reach %q goroutines %v heap %v; want the OS only", s.Via, s.Reach, s.Goroutines, s.HeapLive)
	}
	if s.RSS == nil || s.CPU == nil || s.GOMAXPROCS == nil || !s.GOMAXPROCS.Estimated {
		t.Errorf("sleeper: RSS %v CPU %v GOMAXPROCS %+v; want RSS and CPU from /proc and an estimated GOMAXPROCS", s.RSS, s.CPU, s.GOMAXPROCS)
	}
	if s.CPU != nil && s.CPU.Value > 0.05 {
		t.Errorf("sleeper uses %.2f cores", s.CPU.Value)
	}
	if v.Reads < 2 {
		t.Errorf("refresh read %d processes", v.Reads)
	}

	// An attached session's store takes over the row.
	ext := session.NewStore(16)
	ext.SetTarget(session.Target{PID: sleeper.PID})
	ext.SetStatus(session.Status{Source: "metrics", Via: "os", LastOK: time.Now()})
	ext.Append(session.Sample{Time: time.Now(), Source: "os", Values: map[string]float64{session.ProcessRSS: 12345}})
	if !h.Use(sleeper.PID, ext) {
		t.Fatal("Use found no row")
	}
	v, _ = h.Refresh(context.Background())
	if s, _ := rowOf(v, sleeper.PID); !s.Attached || s.RSS == nil || s.RSS.Value != 12345 {
		t.Errorf("attached row: %+v (RSS %v), want the attached store's 12345", s, s.RSS)
	}
	h.Release(sleeper.PID)

	sleeper.Kill()
	v = refreshUntil(t, h, "the killed sleeper's row marked exited", func(v *hostview.View) bool {
		r, ok := rowOf(v, sleeper.PID)
		return ok && r.Exited
	})
	hostview.Sort(v.Rows, hostview.ByPID)
	if last := v.Rows[len(v.Rows)-1]; !last.Exited {
		t.Errorf("exited rows sort last; the last row is %d", last.PID)
	}
}

func TestSortAndFilter(t *testing.T) {
	f := func(v float64) *hostview.Figure { return &hostview.Figure{Value: v} }
	rows := []hostview.Row{
		{PID: 3, Name: "b", CPU: f(0.5), RSS: f(100)},
		{PID: 1, Name: "c", CPU: f(2), Exited: true},
		{PID: 2, Name: "a", RSS: f(300), Findings: hostview.Findings{Crit: 1}},
		{PID: 4, Name: "d", CPU: f(1), RSS: f(200), Command: "/srv/api --port 80"},
	}
	order := func() []int {
		var out []int
		for _, r := range rows {
			out = append(out, r.PID)
		}
		return out
	}
	for _, tc := range []struct {
		k    hostview.SortKey
		want []int
	}{
		{hostview.ByCPU, []int{4, 3, 2, 1}},
		{hostview.ByRSS, []int{2, 4, 3, 1}},
		{hostview.ByName, []int{2, 3, 4, 1}},
		{hostview.ByPID, []int{2, 3, 4, 1}},
		{hostview.ByFindings, []int{2, 3, 4, 1}},
	} {
		hostview.Sort(rows, tc.k)
		if got := order(); !equal(got, tc.want) {
			t.Errorf("sort by %s: %v, want %v", tc.k, got, tc.want)
		}
	}
	if !hostview.Matches(rows[0], "") || !hostview.Matches(hostview.Row{Command: "/srv/API"}, "api") || hostview.Matches(rows[0], "zzz") {
		t.Error("Matches")
	}
	if _, err := hostview.ParseSortKey("bogus"); err == nil || !strings.Contains(err.Error(), "gc-cpu") {
		t.Errorf("ParseSortKey(bogus) = %v", err)
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
