package capture

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/advisor"
	"github.com/gotune/gotune/agent"
	"github.com/gotune/gotune/snapshot"
)

func TestParseSetting(t *testing.T) {
	tests := []struct {
		in      string
		setting agent.Setting
		value   int64
		def     bool
		text    string // Action() of the proposal
	}{
		{"GOGC=200", agent.GOGC, 200, false, "GOGC=200"},
		{" gogc = off ", agent.GOGC, -1, false, "GOGC=off"},
		{"GOMEMLIMIT=900MiB", agent.GOMEMLIMIT, 900 << 20, false, "GOMEMLIMIT=900MiB"},
		{"GOMEMLIMIT=2GiB", agent.GOMEMLIMIT, 2 << 30, false, "GOMEMLIMIT=2GiB"},
		{"GOMEMLIMIT=1536MiB", agent.GOMEMLIMIT, 1536 << 20, false, "GOMEMLIMIT=1536MiB"},
		{"GOMEMLIMIT=123456789", agent.GOMEMLIMIT, 123456789, false, "GOMEMLIMIT=123456789"},
		{"GOMEMLIMIT=off", agent.GOMEMLIMIT, math.MaxInt64, false, "GOMEMLIMIT=off"},
		{"GOMAXPROCS=1", agent.GOMAXPROCS, 1, false, "GOMAXPROCS=1"},
		{"GOMAXPROCS=default", agent.GOMAXPROCS, 0, true, "GOMAXPROCS=default"},
		{"unset GOMAXPROCS", agent.GOMAXPROCS, 0, true, "GOMAXPROCS=default"},
	}
	for _, tt := range tests {
		s, v, def, err := ParseSetting(tt.in)
		if err != nil || s != tt.setting || v != tt.value || def != tt.def {
			t.Errorf("ParseSetting(%q) = %s %d %v %v, want %s %d %v", tt.in, s, v, def, err, tt.setting, tt.value, tt.def)
			continue
		}
		if got := (Proposal{Setting: s, Value: v, Default: def}).Action(); got != tt.text {
			t.Errorf("Action of %q = %q, want %q", tt.in, got, tt.text)
		}
	}
	for _, bad := range []string{"GOGC", "GOGC=-5", "GOGC=lots", "GOMEMLIMIT=9XB", "GOMEMLIMIT=0", "GOMAXPROCS=0", "GODEBUG=x=1", "numactl --interleave=all"} {
		if _, _, _, err := ParseSetting(bad); err == nil {
			t.Errorf("ParseSetting(%q) accepted it", bad)
		}
	}
}

func TestDeployLine(t *testing.T) {
	for in, want := range map[string]string{
		"GOGC=200":          "GOGC=200",
		"GOMEMLIMIT=900MiB": "GOMEMLIMIT=900MiB",
		"unset GOMAXPROCS":  "unset GOMAXPROCS (Go then picks it from the CPUs and quota, and follows changes)",
		"GOMEMLIMIT=off":    "unset GOMEMLIMIT",
	} {
		s, v, d, _ := ParseSetting(in)
		if got := (Proposal{Setting: s, Value: v, Default: d}).Deploy(); got != want {
			t.Errorf("Deploy(%s) = %q, want %q", in, got, want)
		}
	}
}

func f64(v float64) *float64 { return &v }

func TestVerdict(t *testing.T) {
	rng := func(lo, hi float64) *snapshot.Range { return &snapshot.Range{Low: lo, High: hi} }
	cpu := func(m *float64) snapshot.Check {
		return snapshot.Check{Metric: mGCCPU, Name: "GC CPU", Unit: "fraction", Predicted: rng(0.048, 0.091), Measured: m}
	}
	cycles := func(m *float64) snapshot.Check {
		return snapshot.Check{Metric: mGCCycles, Name: "GC cycles", Unit: "cycles/s", Predicted: rng(0.6, 1.9), Measured: m}
	}
	shown := snapshot.Check{Metric: mSchedP99, Name: "scheduling latency p99", Unit: "seconds", Measured: f64(0.02)}
	tests := []struct {
		name    string
		checks  []snapshot.Check
		verdict string
		reason  string
		results []string
	}{
		{"all in range", []snapshot.Check{cpu(f64(0.069)), cycles(f64(1.5)), shown}, snapshot.VerdictHeld,
			"GC CPU 6.9%, predicted 4.8–9.1%; GC cycles 1.50/s, predicted 0.60/s–1.90/s", []string{"in range", "in range", ""}},
		{"one out", []snapshot.Check{cpu(f64(0.12)), cycles(f64(1.5))}, snapshot.VerdictMissed,
			"GC CPU 12.0%, above the predicted 4.8–9.1%", []string{"out of range", "in range"}},
		{"below", []snapshot.Check{cycles(f64(0.2))}, snapshot.VerdictMissed, "GC cycles 0.20/s, below the predicted 0.60/s–1.90/s", []string{"out of range"}},
		{"partly measured", []snapshot.Check{cpu(nil), cycles(f64(1))}, snapshot.VerdictHeld,
			"GC cycles 1.00/s, predicted 0.60/s–1.90/s; not measured: GC CPU", []string{"unmeasured", "in range"}},
		{"nothing measured", []snapshot.Check{cpu(nil)}, snapshot.VerdictInconclusive, "nothing predicted could be measured: GC CPU", []string{"unmeasured"}},
		{"no prediction", []snapshot.Check{shown}, snapshot.VerdictInconclusive, "the advisor made no prediction to check", []string{""}},
	}
	for _, tt := range tests {
		v, why := Verdict(tt.checks)
		if v != tt.verdict || why != tt.reason {
			t.Errorf("%s: verdict %s (%s), want %s (%s)", tt.name, v, why, tt.verdict, tt.reason)
		}
		for i, c := range tt.checks {
			if c.Result != tt.results[i] {
				t.Errorf("%s: check %d result %q, want %q", tt.name, i, c.Result, tt.results[i])
			}
		}
	}
}

func TestCheckBounds(t *testing.T) {
	const mib = 1 << 20
	base := Bounds{Limits: agent.Limits{HeapLiveBytes: 100 * mib, NonHeapBytes: 20 * mib, MinMemoryLimit: 130 * mib, MinGOGC: agent.MinGOGC, MaxGOMAXPROCS: 2},
		GOGC: 100, MemoryLimit: math.MaxInt64, Known: true, Roots: 4 * mib}
	inContainer := base
	inContainer.ContainerMemoryBytes = 512 * mib
	limited := base
	limited.MemoryLimit = 400 * mib
	gogcOff := limited
	gogcOff.GOGC = -1
	tests := []struct {
		setting string
		b       Bounds
		refused string // part of the reason; "" allowed
		warns   int
	}{
		{"GOGC=200", base, "", 0},
		{"GOGC=5", base, "below the floor of 10", 0},
		{"GOGC=off", base, "without a memory limit", 0},
		{"GOGC=off", limited, "", 1},
		{"GOGC=400", inContainer, "above the container's memory limit of 512 MiB", 0},
		{"GOGC=200", inContainer, "", 0},
		{"GOMEMLIMIT=100MiB", base, "below the live heap (100 MiB) plus non-heap Go memory (20.0 MiB)", 0},
		{"GOMEMLIMIT=600MiB", inContainer, "above the container's memory limit of 512 MiB", 0},
		{"GOMEMLIMIT=500MiB", inContainer, "", 1},
		{"GOMEMLIMIT=400MiB", inContainer, "", 0},
		{"GOMEMLIMIT=off", gogcOff, "while GOGC=off", 0},
		{"GOMAXPROCS=3", base, "between 1 and the 2 CPUs", 0},
		{"GOMAXPROCS=1", base, "", 2},
		{"unset GOMAXPROCS", base, "", 1},
	}
	for _, tt := range tests {
		s, v, d, err := ParseSetting(tt.setting)
		if err != nil {
			t.Fatal(err)
		}
		warns, err := CheckBounds(Proposal{Setting: s, Value: v, Default: d}, tt.b)
		var re *RefusedError
		switch {
		case tt.refused == "" && err != nil:
			t.Errorf("%s refused: %v", tt.setting, err)
		case tt.refused != "" && (!errors.As(err, &re) || !strings.Contains(re.Reason, tt.refused)):
			t.Errorf("%s: %v, want a refusal saying %q", tt.setting, err, tt.refused)
		case len(warns) != tt.warns:
			t.Errorf("%s: warnings %q, want %d", tt.setting, warns, tt.warns)
		}
	}
}

// A finding's action becomes a proposal with the finding's prediction
// first and the GC model's rows for the rest; a finding whose action is
// code is not applicable.
func TestProposeFinding(t *testing.T) {
	o := advisor.GCObservation{GOGC: 100, Procs: 2, LiveHeap: 64 << 20, Roots: 1 << 20, Other: 10 << 20, AllocRate: 200 << 20,
		Cycles: 60, CPUPerCycle: 0.01, Runway: 0.9, HeapGoal: advisor.Estimate{Value: 130 << 20, Low: 128 << 20, High: 132 << 20},
		PeakHeap: 120 << 20, PeakRatio: 0.9, CycleRate: advisor.Estimate{Value: 3}, GCCPU: advisor.Estimate{Value: 0.15}}
	r := &advisor.Report{WhatIf: &advisor.WhatIf{Observed: o}}
	f := advisor.Finding{ID: "gc-cpu-high", Action: advisor.Action{Kind: advisor.ActionEnv, Text: "GOGC=400"},
		Predicted: &advisor.Prediction{Text: "GC CPU 3–5%", Metric: "gc-cpu", Unit: "fraction", Low: 0.03, High: 0.05}}
	if !Applicable(f) || Applicable(advisor.Finding{Action: advisor.Action{Kind: advisor.ActionCode, Text: "debug.SetGCPercent(400)"}}) {
		t.Fatal("Applicable is wrong")
	}
	p, err := ProposeFinding(f, nil, r)
	if err != nil {
		t.Fatal(err)
	}
	if p.FindingID != "gc-cpu-high" || p.Action() != "GOGC=400" || p.PredictedText != "GC CPU 3–5%" {
		t.Fatalf("proposal %+v", p)
	}
	var metrics []string
	for _, c := range p.Checks {
		metrics = append(metrics, c.Metric)
	}
	if got := strings.Join(metrics, ","); got != "gc-cpu,gc-cycles,peak-heap" {
		t.Fatalf("checks %s", got)
	}
	if c := p.Checks[0]; c.Predicted.Low != 0.03 || c.Predicted.High != 0.05 {
		t.Errorf("GC CPU range %+v: want the finding's 3–5%%", c.Predicted)
	}
	row := o.Predict(400, 0)
	if c := p.Checks[1]; c.Predicted.Low != row.CycleRate.Low || c.Predicted.High != row.CycleRate.High {
		t.Errorf("GC cycles range %+v, want the model's %+v", c.Predicted, row.CycleRate)
	}
	// Typed, the same action finds the finding.
	q, err := Propose("GOGC=400", nil, &advisor.Report{WhatIf: r.WhatIf, Findings: []advisor.Finding{f}})
	if err != nil || q.FindingID != "gc-cpu-high" {
		t.Errorf("Propose(GOGC=400) = %+v, %v: want the finding's proposal", q, err)
	}
	// A typed setting without a model says why nothing is predicted.
	q, err = Propose("GOGC=50", nil, &advisor.Report{Skips: []advisor.Skip{{Rule: advisor.WhatIfID, Reason: "only 2 GC cycles in the window (the model needs 4)"}}})
	if err != nil || len(q.Checks) != 0 || len(q.Notes) != 1 || !strings.Contains(q.Notes[0], "only 2 GC cycles") {
		t.Errorf("Propose(GOGC=50) without a model = %+v, %v", q, err)
	}
}

func TestChangeSentence(t *testing.T) {
	at := time.Date(2026, 12, 1, 14, 2, 5, 0, time.UTC)
	c := snapshot.Change{Setting: "GOGC", Value: "200", Via: "gotune agent", AppliedAt: at, Verdict: snapshot.VerdictHeld, Outcome: snapshot.OutcomeKept,
		Checks: []snapshot.Check{{Metric: mGCCPU, Name: "GC CPU", Unit: "fraction", Predicted: &snapshot.Range{Low: 0.048, High: 0.091}, Measured: f64(0.069)}}}
	if got, want := c.Sentence(nil), "applied GOGC=200 at 14:02:05 UTC via gotune agent, predicted GC CPU 4.8–9.1%, measured 6.9%, held, kept"; got != want {
		t.Errorf("sentence\n got %q\nwant %q", got, want)
	}
}
