// Package advisor turns what gotune measured about one Go process — a window
// of runtime/metrics samples, the OS facts of the PID collectors and, when
// fetched, parsed profiles — into findings: what to change (an environment
// variable, a code line, a command), the evidence for it, the predicted effect
// with a range, and the source of the rule. It also holds the GC model of the
// Go GC guide (gcmodel.go), which predicts heap goal, GC frequency and GC CPU
// under other GOGC and GOMEMLIMIT values from the process's own measurements.
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
	Source string `json:"source"` // metric names, a file, a profile
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
	// Skipped says which checks could not run and why (no CPU profile, no
	// cgroup facts for a URL target, ...).
	Skipped []string `json:"skipped,omitempty"`
}

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
// first, and the GC what-if table.
func Advise(in Input, cfg Config) Report {
	cfg = cfg.withDefaults()
	c := newCheck(in, cfg)
	r := Report{Window: c.w.span, Samples: len(c.w.pts)}
	if len(c.w.pts) < 2 {
		r.Skipped = append(r.Skipped, fmt.Sprintf("only %d sample(s) in the window: every rule needs at least two", len(c.w.pts)))
		return r
	}
	r.WhatIf = c.whatIf()
	for _, rule := range rules {
		if f := rule.check(c); f != nil {
			f.ID, f.Area, f.Source = rule.ID, rule.Area, rule.Source
			if f.Confidence == "" {
				f.Confidence = Medium
			}
			r.Findings = append(r.Findings, *f)
		}
	}
	slices.SortStableFunc(r.Findings, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(b.Severity, a.Severity), cmp.Compare(a.ID, b.ID))
	})
	r.Skipped = append(r.Skipped, c.skipped...)
	return r
}

// RuleInfo describes one rule for documentation and tests.
type RuleInfo struct {
	ID     string   `json:"id"`
	Area   string   `json:"area"`
	Title  string   `json:"title"`
	Source Citation `json:"source"`
}

// Rules lists every rule Advise runs, in order.
func Rules() []RuleInfo {
	out := make([]RuleInfo, len(rules))
	for i, r := range rules {
		out[i] = RuleInfo{ID: r.ID, Area: r.Area, Title: r.Title, Source: r.Source}
	}
	return out
}

// rule is one check. check returns nil when the rule does not fire; Advise
// fills in ID, Area and Source.
type rule struct {
	ID     string
	Area   string
	Title  string // what the rule looks for, for docs
	Source Citation
	check  func(c *check) *Finding
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
