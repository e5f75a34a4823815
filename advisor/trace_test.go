package advisor

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/collectors/proc"
	"github.com/gotune/gotune/internal/testproc"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/trace"
)

func findTrace(fs []Finding, id string) (Finding, bool) {
	for _, f := range fs {
		if f.ID == id {
			return f, true
		}
	}
	return Finding{}, false
}

func pauseSummary(p trace.Pause) *trace.Summary {
	return &trace.Summary{Duration: time.Second, GOMAXPROCS: 4,
		Pauses: trace.Pauses{Count: 2, Total: p.Duration + 50*time.Microsecond, List: []trace.Pause{p, {Reason: "GC mark termination", Duration: 50 * time.Microsecond, GC: true}}}}
}

func TestTraceRulesOnFixtures(t *testing.T) {
	spin := []profile.Frame{{Func: "main.hot", File: "/src/app/main.go", Line: 42}}
	cases := []struct {
		name   string
		s      *trace.Summary
		facts  Facts
		id     string
		fires  bool
		sev    Severity
		action string
	}{
		{"straggler", pauseSummary(trace.Pause{Reason: "GC sweep termination", GC: true, Duration: 60 * time.Millisecond,
			LastToStop: &trace.RunningGoroutine{Goroutine: 7, Name: "main.worker", StoppedAfter: 59 * time.Millisecond, Stack: spin}}),
			Facts{}, "trace-long-pause", true, Warn, "make the code G7 runs (main.worker, stopped at main.hot (main.go:42)) preemptible"},
		{"straggler with asyncpreemptoff", pauseSummary(trace.Pause{Reason: "GC sweep termination", GC: true, Duration: 150 * time.Millisecond,
			LastToStop: &trace.RunningGoroutine{Goroutine: 7, Name: "main.worker", StoppedAfter: 149 * time.Millisecond, Stack: spin}}),
			Facts{Env: map[string]string{"GODEBUG": "asyncpreemptoff=1"}}, "trace-long-pause", true, Crit, "remove asyncpreemptoff=1 from GODEBUG"},
		{"ReadMemStats", pauseSummary(trace.Pause{Reason: "read mem stats", Duration: 12 * time.Millisecond,
			Stack: []profile.Frame{{Func: "runtime.ReadMemStats"}, {Func: "main.report", File: "/x/m.go", Line: 9}}}),
			Facts{}, "trace-long-pause", true, Warn, "replace runtime.ReadMemStats with runtime/metrics.Read"},
		{"no cause", pauseSummary(trace.Pause{Reason: "GC mark termination", GC: true, Duration: 30 * time.Millisecond}),
			Facts{}, "trace-long-pause", true, Warn, "check whether the process is throttled"},
		{"short pause", pauseSummary(trace.Pause{Reason: "GC mark termination", GC: true, Duration: 9 * time.Millisecond}),
			Facts{}, "trace-long-pause", false, 0, ""},
		{"the tracer's own pause", pauseSummary(trace.Pause{Reason: "start trace", Duration: 40 * time.Millisecond}),
			Facts{}, "trace-long-pause", false, 0, ""},
		{"assists", &trace.Summary{Duration: time.Second, GOMAXPROCS: 2,
			GC:       trace.GCSummary{Count: 5, AssistCPU: 200 * time.Millisecond, MarkCPU: 300 * time.Millisecond, AssistShare: 2.0 / 3},
			Blocking: trace.Blocking{Groups: []trace.StackGroup{{Category: trace.CatGCAssist, State: "GC mark assist", Frames: spin, Latency: trace.Latency{Count: 40, Total: 250 * time.Millisecond}}}}},
			Facts{}, "trace-gc-assist", true, Warn, "GOGC=200"},
		{"few assists", &trace.Summary{Duration: time.Second, GOMAXPROCS: 2,
			GC: trace.GCSummary{Count: 5, AssistCPU: 50 * time.Millisecond, MarkCPU: 60 * time.Millisecond, AssistShare: 0.83}},
			Facts{}, "trace-gc-assist", false, 0, ""},
		{"free Ps, affinity narrower", &trace.Summary{Duration: time.Second, GOMAXPROCS: 8,
			Sched: trace.SchedLatency{Latency: trace.Latency{Count: 5000, Max: 9 * time.Millisecond}, P99: 4 * time.Millisecond, IdlePShare: 0.8}},
			Facts{Process: &proc.ProcessStat{CPUsAllowed: []int{0, 1}}}, "trace-sched-free-p", true, Warn, "GOMAXPROCS=2"},
		{"free Ps, cause unknown", &trace.Summary{Duration: time.Second, GOMAXPROCS: 8,
			Sched: trace.SchedLatency{Latency: trace.Latency{Count: 5000, Max: 9 * time.Millisecond}, P99: 4 * time.Millisecond, IdlePShare: 0.8}},
			Facts{}, "trace-sched-free-p", true, Warn, "find what keeps the threads off the CPU"},
		{"busy Ps", &trace.Summary{Duration: time.Second, GOMAXPROCS: 8,
			Sched: trace.SchedLatency{Latency: trace.Latency{Count: 5000}, P99: 4 * time.Millisecond, IdlePShare: 0.1}},
			Facts{}, "trace-sched-free-p", false, 0, ""},
		{"quick waits", &trace.Summary{Duration: time.Second, GOMAXPROCS: 8,
			Sched: trace.SchedLatency{Latency: trace.Latency{Count: 5000}, P99: 30 * time.Microsecond, IdlePShare: 0.9}},
			Facts{}, "trace-sched-free-p", false, 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := AdviseTrace(c.s, c.facts, Config{})
			f, ok := findTrace(fs, c.id)
			if ok != c.fires {
				t.Fatalf("%s fired = %v, want %v: %+v", c.id, ok, c.fires, fs)
			}
			if !ok {
				return
			}
			if f.Severity != c.sev || !strings.Contains(f.Action.Text, c.action) {
				t.Errorf("severity %s action %q, want %s %q", f.Severity, f.Action.Text, c.sev, c.action)
			}
			if len(f.Evidence) < 2 || f.Source.URL == "" || f.Area == "" || f.Confidence == "" {
				t.Errorf("finding lacks evidence or source: %+v", f)
			}
			for _, e := range f.Evidence {
				if e.Source == "" || e.Text == "" {
					t.Errorf("evidence without text or source: %+v", e)
				}
			}
		})
	}
}

// The trace rules run inside Advise when the input carries a trace.
func TestAdviseIncludesTraceRules(t *testing.T) {
	in := healthyInput(t)
	in.Trace = pauseSummary(trace.Pause{Reason: "read mem stats", Duration: 20 * time.Millisecond})
	r := Advise(in, Config{})
	if _, ok := r.Find("trace-long-pause"); !ok {
		t.Fatalf("Advise with a trace: no trace-long-pause (%v)", r.Findings)
	}
	if len(Rules()) < len(traceRules) {
		t.Fatal("trace rules are not listed")
	}
}

// On a real trace of a goroutine that cannot be preempted (trace-cases
// -case stw), the rule names it and where it stopped.
func TestTracePauseRuleOnRealTrace(t *testing.T) {
	bin := testproc.Build(t, "./testdata/targets/trace-cases")
	file := filepath.Join(t.TempDir(), "stw.trace")
	if out, err := exec.Command(bin, "-case", "stw", "-d", "300ms", "-o", file).CombinedOutput(); err != nil {
		t.Fatalf("trace-cases: %v\n%s", err, out)
	}
	s, err := trace.AnalyzeFile(context.Background(), file, trace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fs := AdviseTrace(s, Facts{Env: map[string]string{"GODEBUG": "asyncpreemptoff=1"}}, Config{})
	f, ok := findTrace(fs, "trace-long-pause")
	if !ok {
		t.Fatalf("no trace-long-pause on a trace whose worst pause is %+v", s.Pauses.List[0])
	}
	if !strings.Contains(f.Title, "main.stwCase.func1") || f.Action.Text != "remove asyncpreemptoff=1 from GODEBUG" || f.Confidence != High {
		t.Errorf("finding %q, action %q, confidence %s", f.Title, f.Action.Text, f.Confidence)
	}
	if f.Predicted == nil || f.Predicted.High >= s.Pauses.List[0].Duration.Seconds()/5 {
		t.Errorf("prediction %+v: the pause is nearly all time to stop", f.Predicted)
	}
}

// traceRuleCases run the trace rules through Advise, a firing and a quiet
// fixture for each (TestRules wants both for every rule).
func traceRuleCases() []ruleCase {
	with := func(s *trace.Summary, facts Facts) func(t *testing.T) Input {
		return func(t *testing.T) Input {
			in := healthyInput(t)
			in.Trace = s
			if facts.Process != nil {
				in.Facts.Process = facts.Process
			}
			return in
		}
	}
	long := pauseSummary(trace.Pause{Reason: "GC sweep termination", GC: true, Duration: 60 * time.Millisecond,
		LastToStop: &trace.RunningGoroutine{Goroutine: 7, Name: "main.worker", StoppedAfter: 59 * time.Millisecond}})
	short := pauseSummary(trace.Pause{Reason: "GC sweep termination", GC: true, Duration: time.Millisecond})
	assists := &trace.Summary{Duration: time.Second, GOMAXPROCS: 2, GC: trace.GCSummary{Count: 5, AssistCPU: 200 * time.Millisecond, MarkCPU: 300 * time.Millisecond, AssistShare: 2.0 / 3}}
	sched := func(share float64) *trace.Summary {
		return &trace.Summary{Duration: time.Second, GOMAXPROCS: 8,
			Sched: trace.SchedLatency{Latency: trace.Latency{Count: 5000, Max: 9 * time.Millisecond}, P99: 4 * time.Millisecond, IdlePShare: share}}
	}
	return []ruleCase{
		{name: "60 ms pause waiting for a goroutine", id: "trace-long-pause", fires: true, in: with(long, Facts{})},
		{name: "1 ms pause", id: "trace-long-pause", in: with(short, Facts{})},
		{name: "assists do two thirds of marking", id: "trace-gc-assist", fires: true, in: with(assists, Facts{})},
		{name: "no trace", id: "trace-gc-assist", in: with(nil, Facts{})},
		{name: "4 ms p99 with free Ps", id: "trace-sched-free-p", fires: true, in: with(sched(0.8), Facts{})},
		{name: "4 ms p99, Ps busy", id: "trace-sched-free-p", in: with(sched(0.1), Facts{})},
	}
}
