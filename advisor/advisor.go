// Package advisor turns what gotune measured about one Go process — a window
// of runtime/metrics samples, the OS facts of the PID collectors and, when
// fetched, parsed profiles — into findings: what to change (an environment
// variable, a code line, a command), the evidence for it, the predicted effect
// with a range, and the source of the rule. It also holds the GC model of the
// Go GC guide (gcmodel.go), which predicts heap goal, GC frequency and GC CPU
// under other GOGC and GOMEMLIMIT values from the process's own measurements.
//
// Every figure in a finding's evidence says where it came from (the
// collectors' origin for it, or the metric and the source that served it)
// and whether it is an estimate; GC CPU is the cost the program paid (idle
// marking apart), from runtime/metrics, a MemStats estimate or a CPU
// profile (gccpu.go). A rule that could not run says why and what would
// let it in Report.Skips, and no rule fires before the window holds its
// minimum of samples (config.go).
//
// The package is pure: Advise takes everything in its Input (time included,
// from the samples) and does no I/O, so every rule is a fixture test. Rules
// live in files by area (gogc.go, gomemlimit.go, gomaxprocs.go, numa.go,
// goroutines.go); each threshold is a named constant with its source next to
// it, and those that are heuristics can be changed through Config.
package advisor

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Severity ranks findings. The zero value is not a valid severity.
type Severity int

const (
	Info Severity = iota + 1 // worth knowing; nothing is wrong yet
	Warn                     // costs throughput, latency or memory now
	Crit                     // risks an outage (OOM kill, thrashing, unbounded growth)
)

func (s Severity) String() string {
	switch s {
	case Info:
		return "info"
	case Warn:
		return "warn"
	case Crit:
		return "crit"
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// MarshalText writes "info", "warn" or "crit".
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads what MarshalText writes.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ParseSeverity accepts "info", "warn" (or "warning") and "crit" (or
// "critical").
func ParseSeverity(s string) (Severity, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "info":
		return Info, nil
	case "warn", "warning":
		return Warn, nil
	case "crit", "critical":
		return Crit, nil
	}
	return 0, fmt.Errorf("unknown severity %q: want info, warn or crit", s)
}

// Confidence says how much a finding's prediction can be trusted.
type Confidence string

const (
	High   Confidence = "high"   // measured directly, enough data, the mechanism is well understood
	Medium Confidence = "medium" // measured, but the window is short or noisy, or the effect depends on the workload
	Low    Confidence = "low"    // a rule of thumb; measure after applying
)

// Span is a time window.
type Span struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// Duration is To - From.
func (s Span) Duration() time.Duration { return s.To.Sub(s.From) }

// IsZero reports whether the span is unset.
func (s Span) IsZero() bool { return s.From.IsZero() && s.To.IsZero() }

// Evidence is one number a finding rests on, with where it came from.
type Evidence struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit,omitempty"` // "fraction", "bytes", "bytes/s", "cycles/s", "seconds", "goroutines", "cpus", ...
	Text  string  `json:"text"`           // the value for people: "23.1 %", "64 MiB"
	// Window is the time the value was measured over; zero for facts read
	// once (a cgroup limit, the Go version).
	Window Span   `json:"window,omitzero"`
	Source string `json:"source"` // metric names, a file, a profile; "estimate: ..." for an estimate
	// Estimated is true when the value is an estimate (a live heap from
	// the heap goal and GOGC, GC CPU from MemStats or a CPU profile), not
	// a measurement; its Source says how it was estimated.
	Estimated bool `json:"estimated,omitempty"`
}

// ActionKind says what kind of change an Action is.
type ActionKind string

const (
	ActionEnv     ActionKind = "env"     // an environment variable for the process
	ActionCode    ActionKind = "code"    // a change to the program's source or go.mod
	ActionCommand ActionKind = "command" // a shell command (numactl, sysctl, a cgroup file)
)

// Action is one exact change.
type Action struct {
	Kind ActionKind `json:"kind"`
	Text string     `json:"text"`           // what to type or write: "GOGC=400", "debug.SetMemoryLimit(921 << 20)"
	Note string     `json:"note,omitempty"` // one sentence on when or how
}

// Prediction is the expected effect of a finding's action. Low and High
// bound Metric (in Unit) when the effect is a number.
type Prediction struct {
	Text   string  `json:"text"`
	Metric string  `json:"metric,omitempty"`
	Unit   string  `json:"unit,omitempty"`
	Low    float64 `json:"low"`
	High   float64 `json:"high"`
}

// Citation names the source of a rule.
type Citation struct {
	Text string `json:"text"`
	URL  string `json:"url,omitempty"`
}

// Finding is one piece of advice.
type Finding struct {
	ID           string      `json:"id"` // stable, e.g. "gc-cpu-high"; docs/advice.md lists them
	Area         string      `json:"area"`
	Severity     Severity    `json:"severity"`
	Title        string      `json:"title"`
	Evidence     []Evidence  `json:"evidence"`
	Action       Action      `json:"action"`
	Alternatives []Action    `json:"alternatives,omitempty"`
	Predicted    *Prediction `json:"predicted,omitempty"`
	Confidence   Confidence  `json:"confidence"`
	Source       Citation    `json:"source"`
}

// Report is the advisor's answer for one window.
type Report struct {
	Window   Span      `json:"window"`
	Samples  int       `json:"samples"`
	Findings []Finding `json:"findings"` // most severe first, then by ID
	// WhatIf is the GC model's table; nil when the window holds too little
	// GC activity to fit it.
	WhatIf *WhatIf `json:"what_if,omitempty"`
	// Skips says, rule by rule, what could not be checked, why, and what
	// would let it run; Partial ones ran without a detail.
	Skips []Skip `json:"skips,omitempty"`
	// Skipped is Skips as sentences, for readers of the first report
	// format (and people): "alloc-heavy: no CPU profile (fetch one ...)".
	Skipped []string `json:"skipped,omitempty"`
	// Rules is how many rules the advisor has; CouldNotRun says how many
	// of them could not run over this window.
	Rules int `json:"rules,omitempty"`
}

// Skip is one thing the advisor could not check.
type Skip struct {
	// Rule is a rule ID, or WhatIfID for the GC model's table.
	Rule string `json:"rule"`
	// Reason says what is missing: the metric, profile or fact, and the
	// source that lacks it.
	Reason string `json:"reason"`
	// Enable says what would let the check run: an import, an attach
	// mode, a longer window.
	Enable string `json:"enable,omitempty"`
	// Partial is true when the rule ran and only a detail is missing (the
	// allocating functions are not named without an allocs profile).
	Partial bool `json:"partial,omitempty"`
}

// WhatIfID names the GC what-if table in Skips.
const WhatIfID = "gc-what-if"

// String is the skip as one sentence.
func (s Skip) String() string {
	t := s.Reason
	if s.Rule != "" {
		t = s.Rule + ": " + t
	}
	if s.Enable != "" {
		t += " (" + s.Enable + ")"
	}
	return t
}

// CouldNotRun returns one skip per rule (and the what-if table) that could
// not run at all, in rule order; partial skips are left out. A report with
// findings or not, it is never "nothing to do" while this is not empty.
// For a report written before Skips existed it reads Skipped, counting
// every line.
func (r Report) CouldNotRun() []Skip {
	var out []Skip
	seen := map[string]bool{}
	if len(r.Skips) == 0 {
		for _, line := range r.Skipped {
			id, reason, ok := strings.Cut(line, ": ")
			if !ok || strings.ContainsAny(id, " ") {
				id, reason = "", line
			}
			out = append(out, Skip{Rule: id, Reason: reason})
		}
		return out
	}
	for _, s := range r.Skips {
		if s.Partial || seen[s.Rule] {
			continue
		}
		seen[s.Rule] = true
		out = append(out, s)
	}
	return out
}

// AllChecked reports whether every rule ran (no finding says nothing about
// the rules that could not).
func (r Report) AllChecked() bool { return len(r.CouldNotRun()) == 0 }

// Worst returns the highest severity among the findings, 0 if none.
func (r Report) Worst() Severity {
	var w Severity
	for _, f := range r.Findings {
		w = max(w, f.Severity)
	}
	return w
}

// AtLeast returns the findings of severity s or higher.
func (r Report) AtLeast(s Severity) []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Severity >= s {
			out = append(out, f)
		}
	}
	return out
}

// Find returns the finding with the given ID.
func (r Report) Find(id string) (Finding, bool) {
	for _, f := range r.Findings {
		if f.ID == id {
			return f, true
		}
	}
	return Finding{}, false
}

// Advise runs every rule over in and returns the findings, most severe
// first, the GC what-if table, and what could not be checked. A rule runs
// only once the window holds its minimum of samples (RuleInfo.MinSamples).
func Advise(in Input, cfg Config) Report {
	cfg = cfg.withDefaults()
	c := newCheck(in, cfg)
	r := Report{Window: c.w.span, Samples: len(c.w.pts), Rules: len(rules)}
	c.rule = WhatIfID
	if len(c.w.pts) >= MinSamplesGC {
		r.WhatIf = c.whatIf()
	} else {
		c.tooShort(MinSamplesGC, whyMinGC)
	}
	for _, rule := range rules {
		c.rule = rule.ID
		if len(c.w.pts) < rule.MinSamples {
			c.tooShort(rule.MinSamples, rule.minWhy())
			continue
		}
		if f := rule.check(c); f != nil {
			f.ID, f.Area, f.Source = rule.ID, rule.Area, rule.Source
			if f.Confidence == "" {
				f.Confidence = Medium
			}
			if f.estimated() {
				f.Confidence = f.Confidence.lower()
			}
			r.Findings = append(r.Findings, *f)
		}
	}
	slices.SortStableFunc(r.Findings, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(b.Severity, a.Severity), cmp.Compare(a.ID, b.ID))
	})
	r.Skips = c.skips
	for _, s := range c.skips {
		r.Skipped = append(r.Skipped, s.String())
	}
	return r
}

// estimated reports whether any of the finding's evidence is an estimate.
func (f *Finding) estimated() bool {
	return slices.ContainsFunc(f.Evidence, func(e Evidence) bool { return e.Estimated })
}

// lower is one step less confidence: an estimate in the evidence costs a
// step (High → Medium → Low).
func (c Confidence) lower() Confidence {
	switch c {
	case High:
		return Medium
	}
	return Low
}

// RuleInfo describes one rule for documentation and tests.
type RuleInfo struct {
	ID     string   `json:"id"`
	Area   string   `json:"area"`
	Title  string   `json:"title"`
	Source Citation `json:"source"`
	// MinSamples is how many samples the window must hold before the
	// rule may fire (MinSamplesFacts, MinSamplesRate, ...).
	MinSamples int `json:"min_samples"`
}

// Rules lists every rule Advise runs, in order.
func Rules() []RuleInfo {
	out := make([]RuleInfo, len(rules))
	for i, r := range rules {
		out[i] = RuleInfo{ID: r.ID, Area: r.Area, Title: r.Title, Source: r.Source, MinSamples: r.MinSamples}
	}
	return out
}

// rule is one check. check returns nil when the rule does not fire (and
// says through c.cannot why, when it could not run); Advise fills in ID,
// Area and Source.
type rule struct {
	ID         string
	Area       string
	Title      string // what the rule looks for, for docs
	Source     Citation
	MinSamples int // see the MinSamples constants
	check      func(c *check) *Finding
}

// minWhy says why the rule needs its minimum of samples.
func (r rule) minWhy() string {
	switch r.MinSamples {
	case MinSamplesFacts:
		return whyMinFacts
	case MinSamplesRate:
		return whyMinRate
	}
	if r.ID == "goroutine-leak" {
		return whyMinTrend
	}
	return whyMinGC
}

// Areas.
const (
	AreaGOGC       = "GOGC"
	AreaGOMEMLIMIT = "GOMEMLIMIT"
	AreaGOMAXPROCS = "GOMAXPROCS"
	AreaNUMA       = "NUMA"
	AreaRuntime    = "runtime"
)

// rules is every rule, in the order of the issue: GOGC, GOMEMLIMIT,
// GOMAXPROCS, NUMA, then goroutines, mutexes and finalizers.
var rules = slices.Concat(gogcRules, gomemlimitRules, gomaxprocsRules, numaRules, goroutineRules)
