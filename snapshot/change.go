package snapshot

import (
	"fmt"
	"strings"
	"time"

	"github.com/gotune/gotune/measurement"
)

// Change is one live change of a runtime setting that gotune applied to
// the target while it watched it (gotune apply, the dashboard's Advice
// screen): what was set, through what, what it was predicted to do, what a
// verification window measured, the verdict, and whether it was kept or
// reverted. capture.Session records it; snapshots keep it in the manifest
// and reports show it.
type Change struct {
	// Setting is GOGC, GOMEMLIMIT or GOMAXPROCS.
	Setting string `json:"setting"`
	// Value and Previous are as the environment writes them: "200",
	// "off", "900MiB", "default" (GOMAXPROCS back to Go's own).
	Value    string `json:"value"`
	Previous string `json:"previous,omitempty"`
	// Via is the write path: "gotune agent" or "gops agent".
	Via string `json:"via"`
	// FindingID is the advisor finding the change came from; "" when the
	// user typed the setting.
	FindingID string `json:"finding_id,omitempty"`
	// AgentID is the agent's change ID (0 through gops).
	AgentID   int64     `json:"agent_change_id,omitempty"`
	AppliedAt time.Time `json:"applied_at"`
	// LeaseSeconds is the lease gotune held the change under while it
	// verified (the agent reverts on its own once renewals stop); 0 when
	// the write path has no lease (gops).
	LeaseSeconds float64  `json:"lease_seconds,omitempty"`
	Warnings     []string `json:"warnings,omitempty"`
	// Verify is the verification window, after the settle time.
	Verify Window `json:"verify,omitzero"`
	// Checks compare what was predicted with what the window measured.
	Checks []Check `json:"checks,omitempty"`
	// Verdict is VerdictHeld, VerdictMissed or VerdictInconclusive, with
	// why; "" while the verification runs.
	Verdict string `json:"verdict,omitempty"`
	Reason  string `json:"reason,omitempty"`
	// Outcome is what became of the change: OutcomeKept, OutcomeReverted,
	// OutcomeLeased, OutcomeExpired, OutcomeLeftAlone, or OutcomeActive
	// while it is being verified.
	Outcome string    `json:"outcome"`
	EndedAt time.Time `json:"ended_at,omitzero"`
	// Deploy is the line to put in the deployment to make the change
	// permanent ("GOGC=200"): a live change ends with the process.
	Deploy string `json:"deploy,omitempty"`
	// Notes say what could not be measured or done, and why.
	Notes []string `json:"notes,omitempty"`
}

// Verdicts of a Change.
const (
	VerdictHeld         = "held"         // every figure measured lies in its predicted range
	VerdictMissed       = "missed"       // a figure measured lies outside its predicted range
	VerdictInconclusive = "inconclusive" // nothing predicted could be measured (too few GC cycles, a short window, the target gone)
)

// Outcomes of a Change.
const (
	OutcomeActive    = "active"     // applied, being verified
	OutcomeKept      = "kept"       // kept: the value stays after gotune leaves
	OutcomeReverted  = "reverted"   // gotune put the previous value back
	OutcomeLeased    = "leased"     // left under a lease: the agent reverts it when the lease ends
	OutcomeExpired   = "expired"    // the lease ran out and the agent reverted it
	OutcomeLeftAlone = "left_alone" // due for revert, but the program had changed the value itself
)

// Check is one figure of a change: its predicted range (when the advisor
// predicted one), what it was before, and what the verification window
// measured.
type Check struct {
	// Metric names the figure: "gc-cpu", "gc-cycles", "peak-heap",
	// "peak-memory", "throttled-fraction", "throttled-time",
	// "sched-latency-p99", "gomaxprocs".
	Metric string `json:"metric"`
	Name   string `json:"name"` // for people: "GC CPU"
	// Unit is "fraction", "cycles/s", "bytes", "seconds/s", "seconds" or
	// "threads".
	Unit string `json:"unit"`
	// Predicted is the range the advisor predicted; nil for a figure that
	// is only shown (latency under a quota, which the advisor does not
	// promise).
	Predicted *Range `json:"predicted,omitempty"`
	// Before is the figure over the window the prediction was fitted on.
	Before *float64 `json:"before,omitempty"`
	// Measured is the figure over the verification window; nil when it
	// could not be measured (Note says why).
	Measured *float64 `json:"measured,omitempty"`
	// Source says where Measured came from.
	Source    string `json:"source,omitempty"`
	Estimated bool   `json:"estimated,omitempty"`
	// Result is ResultInRange, ResultOutOfRange, ResultUnmeasured, or ""
	// for a figure without a prediction.
	Result string `json:"result,omitempty"`
	Note   string `json:"note,omitempty"`
}

// Results of a Check.
const (
	ResultInRange    = "in range"
	ResultOutOfRange = "out of range"
	ResultUnmeasured = "unmeasured"
)

// Range is a predicted range, Low to High (in the check's unit).
type Range struct {
	Low  float64 `json:"low"`
	High float64 `json:"high"`
}

// Contains reports whether v lies in the range.
func (r Range) Contains(v float64) bool { return v >= r.Low && v <= r.High }

// Action is the setting as the environment writes it: "GOGC=200".
func (c Change) Action() string {
	if c.Setting == "GOMAXPROCS" && c.Value == "default" {
		return "GOMAXPROCS=default (Go's own)"
	}
	return c.Setting + "=" + c.Value
}

// Primary is the first check with a prediction, the one the sentence
// quotes.
func (c Change) Primary() (Check, bool) {
	for _, k := range c.Checks {
		if k.Predicted != nil {
			return k, true
		}
	}
	return Check{}, false
}

// Sentence is the change in one line: "applied GOGC=200 at 14:02:05 UTC,
// predicted GC CPU 4.8–9.1%, measured 6.9%, held, kept". Times are written
// in loc (nil: UTC).
func (c Change) Sentence(loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	var b strings.Builder
	fmt.Fprintf(&b, "applied %s at %s via %s", c.Action(), c.AppliedAt.In(loc).Format("15:04:05 MST"), c.Via)
	if k, ok := c.Primary(); ok {
		fmt.Fprintf(&b, ", predicted %s %s", k.Name, k.PredictedText())
		if k.Measured != nil {
			fmt.Fprintf(&b, ", measured %s", k.MeasuredText())
		} else {
			b.WriteString(", not measured")
		}
	}
	if c.Verdict != "" {
		b.WriteString(", " + c.Verdict)
	}
	if c.Outcome != "" {
		b.WriteString(", " + strings.ReplaceAll(c.Outcome, "_", " "))
	}
	return b.String()
}

// format writes v in the check's unit.
func (k Check) format(v float64) string {
	switch k.Unit {
	case "fraction":
		return measurement.Percent(v)
	case "bytes":
		return measurement.Bytes(v)
	case "seconds":
		return measurement.Seconds(v)
	case "seconds/s":
		return measurement.Seconds(v) + "/s"
	case "cycles/s":
		return fmt.Sprintf("%.2f/s", v)
	}
	return fmt.Sprintf("%.4g", v)
}

// PredictedText is the predicted range for people, "—" when none.
func (k Check) PredictedText() string {
	if k.Predicted == nil {
		return "—"
	}
	lo, hi := k.Predicted.Low, k.Predicted.High
	if lo == hi {
		return k.format(lo)
	}
	if lo <= 0 {
		return "at most " + k.format(hi)
	}
	// One unit suffix for a range of percentages: "4.8–9.1%".
	if k.Unit == "fraction" {
		return strings.TrimSuffix(k.format(lo), "%") + "–" + k.format(hi)
	}
	return k.format(lo) + "–" + k.format(hi)
}

// MeasuredText is the measured figure for people, "—" when none.
func (k Check) MeasuredText() string {
	if k.Measured == nil {
		return "—"
	}
	s := k.format(*k.Measured)
	if k.Estimated {
		s += " (estimated)"
	}
	return s
}

// BeforeText is the figure before the change, "—" when unknown.
func (k Check) BeforeText() string {
	if k.Before == nil {
		return "—"
	}
	return k.format(*k.Before)
}
