package capture

// The loop that applies a setting to a running target and checks the
// advisor's prediction against what happens: propose (from a finding or a
// setting the user typed, with the prediction the advisor's GC model or
// rule makes), check the bounds, apply through the write path
// collectors.FindWriteAccess found, hold the lease while watching, take a
// verification window after a short settle, compare predicted with
// measured (a verdict), then keep or revert. Every change is recorded in
// the session, and from there in windows, snapshots and reports.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gotune/gotune/advisor"
	"github.com/gotune/gotune/agent"
	"github.com/gotune/gotune/collectors"
	"github.com/gotune/gotune/collectors/cgroup"
	"github.com/gotune/gotune/measurement"
	"github.com/gotune/gotune/session"
	"github.com/gotune/gotune/snapshot"
)

// Defaults of the loop.
const (
	// DefaultHoldLease is the lease gotune holds a change under while it
	// verifies, renewing every third of it: if gotune dies or loses the
	// connection, the agent reverts within this long.
	DefaultHoldLease = 30 * time.Second
	// DefaultSettle is how long after the write the verification window
	// starts: the runtime's /cpu/classes figures move only when a GC cycle
	// ends (session.GCCPUWindow), and the heap needs a few cycles to reach
	// its new goal.
	DefaultSettle = 5 * time.Second
	// DefaultVerify is the length of the verification window: the GC model
	// needs advisor.MinSamplesGC samples and a few GC cycles.
	DefaultVerify = 30 * time.Second
	// minVerify is the shortest verification window accepted.
	minVerify = 2 * time.Second
)

// noMemoryLimit is GOMEMLIMIT's "no limit" (debug.SetMemoryLimit's
// default), as the agent takes it.
const noMemoryLimit = math.MaxInt64

// Proposal is a setting gotune may apply, with what the advisor predicts
// it will do.
type Proposal struct {
	Setting agent.Setting
	// Value is GOGC's percent (-1: off), GOMEMLIMIT's bytes
	// (math.MaxInt64: no limit) or GOMAXPROCS.
	Value int64
	// Default returns GOMAXPROCS to Go's own value (automatic updates on).
	Default bool
	// FindingID is the finding the proposal comes from ("" when typed).
	FindingID string
	// Checks hold the predicted ranges and the figures before the change.
	Checks []snapshot.Check
	// Warnings are costs the change is allowed with (GOMAXPROCS stops the
	// world); Notes say what could not be predicted, and why.
	Warnings []string
	Notes    []string
	// PredictedText is the finding's own prediction, when it has one.
	PredictedText string
}

// ValueText is the value as the environment writes it: "200", "off",
// "900MiB", "default".
func (p Proposal) ValueText() string { return settingValueText(p.Setting, p.Value, p.Default) }

// Action is the setting as the environment writes it: "GOGC=200".
func (p Proposal) Action() string { return string(p.Setting) + "=" + p.ValueText() }

// Deploy is the line to put in the deployment for the change to outlive
// the process.
func (p Proposal) Deploy() string {
	if p.Setting == agent.GOMAXPROCS && p.Default {
		return "unset GOMAXPROCS (Go then picks it from the CPUs and quota, and follows changes)"
	}
	if p.Setting == agent.GOMEMLIMIT && p.Value == noMemoryLimit {
		return "unset GOMEMLIMIT"
	}
	return p.Action()
}

func settingValueText(s agent.Setting, v int64, def bool) string {
	switch s {
	case agent.GOGC:
		if v < 0 {
			return "off"
		}
	case agent.GOMEMLIMIT:
		if v == noMemoryLimit {
			return "off"
		}
		return limitText(v)
	case agent.GOMAXPROCS:
		if def {
			return "default"
		}
	}
	return strconv.FormatInt(v, 10)
}

// limitText writes a byte count exactly as GOMEMLIMIT reads it, in the
// largest binary unit that divides it.
func limitText(n int64) string {
	for _, u := range []struct {
		s string
		m int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.m && n%u.m == 0 {
			return strconv.FormatInt(n/u.m, 10) + u.s
		}
	}
	return strconv.FormatInt(n, 10)
}

// ParseSetting reads a setting as the environment writes it: GOGC=200,
// GOGC=off, GOMEMLIMIT=900MiB (B, KiB, MiB, GiB or TiB, as the runtime
// accepts; off for no limit), GOMAXPROCS=2, GOMAXPROCS=default or
// "unset GOMAXPROCS" (Go's own value).
func ParseSetting(text string) (s agent.Setting, value int64, def bool, err error) {
	t := strings.TrimSpace(text)
	if strings.EqualFold(t, "unset GOMAXPROCS") {
		return agent.GOMAXPROCS, 0, true, nil
	}
	if strings.EqualFold(t, "unset GOMEMLIMIT") {
		return agent.GOMEMLIMIT, noMemoryLimit, false, nil
	}
	name, v, ok := strings.Cut(t, "=")
	if !ok {
		return "", 0, false, fmt.Errorf("setting %q: want NAME=VALUE, such as GOGC=200, GOMEMLIMIT=900MiB or GOMAXPROCS=2", text)
	}
	name, v = strings.ToUpper(strings.TrimSpace(name)), strings.TrimSpace(v)
	switch agent.Setting(name) {
	case agent.GOGC:
		if strings.EqualFold(v, "off") {
			return agent.GOGC, -1, false, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return "", 0, false, fmt.Errorf("GOGC=%s: want a percent such as 200, or off", v)
		}
		return agent.GOGC, n, false, nil
	case agent.GOMEMLIMIT:
		if strings.EqualFold(v, "off") {
			return agent.GOMEMLIMIT, noMemoryLimit, false, nil
		}
		n, err := parseLimit(v)
		if err != nil {
			return "", 0, false, fmt.Errorf("GOMEMLIMIT=%s: %w", v, err)
		}
		return agent.GOMEMLIMIT, n, false, nil
	case agent.GOMAXPROCS:
		if strings.EqualFold(v, "default") || v == "" {
			return agent.GOMAXPROCS, 0, true, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return "", 0, false, fmt.Errorf("GOMAXPROCS=%s: want a number of Ps, at least 1, or default", v)
		}
		return agent.GOMAXPROCS, n, false, nil
	}
	return "", 0, false, fmt.Errorf("setting %q: gotune changes GOGC, GOMEMLIMIT and GOMAXPROCS live", name)
}

// parseLimit reads a GOMEMLIMIT value: a byte count with an optional
// B, KiB, MiB, GiB or TiB suffix (runtime/debug: the units GOMEMLIMIT
// accepts).
func parseLimit(v string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		s string
		m int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(v, u.s) {
			v, mult = strings.TrimSpace(strings.TrimSuffix(v, u.s)), u.m
			break
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64/mult {
		return 0, errors.New("want a positive byte count with an optional unit B, KiB, MiB, GiB or TiB (as the runtime reads GOMEMLIMIT), or off")
	}
	return n * mult, nil
}

// Propose makes a proposal for a setting the user typed, with the
// prediction of the advisor's report over the window before the change:
// for GOGC and GOMEMLIMIT the GC model's (GC CPU, GC cycles/s, peak
// heap), for GOMAXPROCS the throttling finding's when the report has one
// with that action.
func Propose(text string, before *Window, r *advisor.Report) (Proposal, error) {
	s, v, def, err := ParseSetting(text)
	if err != nil {
		return Proposal{}, err
	}
	p := Proposal{Setting: s, Value: v, Default: def}
	if r != nil {
		for _, f := range r.Findings {
			if fs, fv, fd, err := ParseSetting(f.Action.Text); err == nil && fs == s && fv == v && fd == def {
				return ProposeFinding(f, before, r)
			}
		}
	}
	p.predict(before, r, nil)
	return p, nil
}

// Applicable reports whether a finding's action is one setting gotune can
// apply live (an environment action of GOGC, GOMEMLIMIT or GOMAXPROCS).
func Applicable(f advisor.Finding) bool {
	if f.Action.Kind != advisor.ActionEnv {
		return false
	}
	_, _, _, err := ParseSetting(f.Action.Text)
	return err == nil
}

// ProposeFinding makes the proposal of a finding's action, with its
// prediction.
func ProposeFinding(f advisor.Finding, before *Window, r *advisor.Report) (Proposal, error) {
	if f.Action.Kind != advisor.ActionEnv {
		return Proposal{}, fmt.Errorf("finding %s: its action %q is a %s change, not a setting gotune can apply live", f.ID, f.Action.Text, f.Action.Kind)
	}
	s, v, def, err := ParseSetting(f.Action.Text)
	if err != nil {
		return Proposal{}, fmt.Errorf("finding %s: %w", f.ID, err)
	}
	p := Proposal{Setting: s, Value: v, Default: def, FindingID: f.ID}
	if f.Predicted != nil {
		p.PredictedText = f.Predicted.Text
	}
	p.predict(before, r, &f)
	return p, nil
}

// metric names of checks (snapshot.Check.Metric).
const (
	mGCCPU      = "gc-cpu"
	mGCCycles   = "gc-cycles"
	mPeakHeap   = "peak-heap"
	mPeakMemory = "peak-memory"
	mThrottled  = "throttled-fraction"
	mThrottleT  = "throttled-time"
	mSchedP99   = "sched-latency-p99"
)

var checkNames = map[string][2]string{
	mGCCPU:      {"GC CPU", "fraction"},
	mGCCycles:   {"GC cycles", "cycles/s"},
	mPeakHeap:   {"peak heap", "bytes"},
	mPeakMemory: {"peak Go memory", "bytes"},
	mThrottled:  {"throttled periods", "fraction"},
	mThrottleT:  {"throttled time", "seconds/s"},
	mSchedP99:   {"scheduling latency p99", "seconds"},
}

func newCheck(metric string) snapshot.Check {
	n := checkNames[metric]
	return snapshot.Check{Metric: metric, Name: n[0], Unit: n[1]}
}

// predict fills the proposal's checks from the report (and the finding).
func (p *Proposal) predict(before *Window, r *advisor.Report, f *advisor.Finding) {
	var m measured
	if before != nil && r != nil {
		m = measure(before, *r)
	}
	add := func(metric string, pr *snapshot.Range) {
		if slices.ContainsFunc(p.Checks, func(c snapshot.Check) bool { return c.Metric == metric }) {
			return
		}
		c := newCheck(metric)
		c.Predicted = pr
		if v, ok := m.values[metric]; ok {
			c.Before = &v
		}
		p.Checks = append(p.Checks, c)
	}
	// The finding's own prediction first: it is the one the advisor
	// promised.
	if f != nil && f.Predicted != nil {
		switch pr := f.Predicted; pr.Metric {
		case "gc-cpu", "peak-memory", "throttled-fraction", "throttled-time":
			add(pr.Metric, &snapshot.Range{Low: pr.Low, High: pr.High})
		}
	}
	switch p.Setting {
	case agent.GOGC, agent.GOMEMLIMIT:
		var wi *advisor.WhatIf
		if r != nil {
			wi = r.WhatIf
		}
		if wi == nil {
			p.Notes = append(p.Notes, "no GC prediction: "+whatIfWhy(r))
			return
		}
		o := wi.Observed
		gogc, limit := o.GOGC, o.MemoryLimit
		if p.Setting == agent.GOGC {
			gogc = int(p.Value)
		} else if p.Value == noMemoryLimit {
			limit = 0
		} else {
			limit = float64(p.Value)
		}
		row := o.Predict(gogc, limit)
		if !o.NoGCCPU {
			add(mGCCPU, &snapshot.Range{Low: row.GCCPU.Low, High: row.GCCPU.High})
		} else {
			p.Notes = append(p.Notes, "GC CPU is not predicted: "+wi.Reason)
		}
		add(mGCCycles, &snapshot.Range{Low: row.CycleRate.Low, High: row.CycleRate.High})
		add(mPeakHeap, &snapshot.Range{Low: row.PeakHeap.Low, High: row.PeakHeap.High})
		if p.Setting == agent.GOMEMLIMIT && p.Value != noMemoryLimit {
			add(mPeakMemory, &snapshot.Range{Low: 0, High: float64(p.Value)})
		}
		if row.Thrashing {
			p.Warnings = append(p.Warnings, fmt.Sprintf("the GC model predicts thrashing at %s: the goal leaves no room to allocate", row.Setting))
		}
	case agent.GOMAXPROCS:
		if f == nil || f.Predicted == nil {
			p.Notes = append(p.Notes, "no prediction: the advisor made none for "+p.Action()+" over this window (a throttling finding predicts one)")
		}
		if _, ok := m.values[mThrottled]; ok {
			add(mThrottled, nil)
		}
		add(mSchedP99, nil) // shown, not promised: the advisor says latency need not improve
	}
}

func whatIfWhy(r *advisor.Report) string {
	if r == nil {
		return "no window before the change"
	}
	for _, s := range r.Skips {
		if s.Rule == advisor.WhatIfID && !s.Partial {
			return s.Reason // its Enable names advise's flags
		}
	}
	return "the GC model could not be fitted on the window before the change"
}

// measured is what one window measured, by check metric.
type measured struct {
	values  map[string]float64
	sources map[string]string
	est     map[string]bool
	why     map[string]string // why a figure is missing
}

// measure reads the figures of every check over w: GC CPU paid, GC
// cycles/s and peak heap from the GC model's observation (the advisor's
// own reading of the window, so before and after are read alike), peak Go
// memory and scheduling latency from the samples, throttling from the
// cgroup readings at the window's ends.
func measure(w *Window, r advisor.Report) measured {
	m := measured{values: map[string]float64{}, sources: map[string]string{}, est: map[string]bool{}, why: map[string]string{}}
	in := w.AdvisorInput()
	pts := in.Points
	if wi := r.WhatIf; wi != nil {
		o := wi.Observed
		if !o.NoGCCPU {
			m.values[mGCCPU], m.sources[mGCCPU], m.est[mGCCPU] = o.GCCPU.Value, "GC CPU paid over the window: "+o.GCCPUSource, o.GCCPUEstimated
		} else {
			m.why[mGCCPU] = "the target serves no GC CPU figure"
		}
		m.values[mGCCycles], m.sources[mGCCycles] = o.CycleRate.Value, session.GCCycles+" over the window"
		if o.PeakHeap > 0 {
			m.values[mPeakHeap], m.sources[mPeakHeap] = o.PeakHeap, "max of "+session.HeapObjects+" samples"
		} else {
			m.why[mPeakHeap] = "no " + session.HeapObjects + " samples from the target's metrics source"
		}
	} else {
		why := whatIfWhy(&r)
		m.why[mGCCPU] = why
		// Without the model: the cycle rate and peak heap straight from
		// the samples.
		if n := len(pts); n >= 2 {
			a, okA := pts[0].Values[session.GCCycles]
			b, okB := pts[n-1].Values[session.GCCycles]
			if wall := pts[n-1].Time.Sub(pts[0].Time).Seconds(); okA && okB && wall > 0 && b >= a {
				m.values[mGCCycles], m.sources[mGCCycles] = (b-a)/wall, session.GCCycles+" over the window"
			}
		}
		if v, ok := maxOf(pts, session.HeapObjects); ok {
			m.values[mPeakHeap], m.sources[mPeakHeap] = v, "max of "+session.HeapObjects+" samples"
		}
		for _, k := range []string{mGCCycles, mPeakHeap} {
			if _, ok := m.values[k]; !ok {
				m.why[k] = why
			}
		}
	}
	// What GOMEMLIMIT counts: Go's memory less what was returned to the OS.
	peak, okPeak := 0.0, false
	for _, p := range pts {
		t, ok := p.Values[session.MemoryTotal]
		if !ok {
			continue
		}
		t -= p.Values["/memory/classes/heap/released:bytes"]
		if !okPeak || t > peak {
			peak, okPeak = t, true
		}
	}
	if okPeak {
		m.values[mPeakMemory], m.sources[mPeakMemory] = peak, "max of /memory/classes/total − /memory/classes/heap/released samples (what GOMEMLIMIT counts)"
	} else {
		m.why[mPeakMemory] = "no /memory/classes/total:bytes from the target's metrics source"
	}
	var p99s []float64
	for _, p := range pts {
		if v, ok := p.Derived[session.SchedLatP99]; ok {
			p99s = append(p99s, v)
		}
	}
	if len(p99s) > 0 {
		slices.Sort(p99s)
		m.values[mSchedP99], m.sources[mSchedP99] = p99s[len(p99s)/2], "median of the per-interval p99 of /sched/latencies:seconds"
	} else {
		m.why[mSchedP99] = "no /sched/latencies:seconds histogram from the target's metrics source"
	}
	if f := in.Facts.Cgroup; f != nil && in.CgroupStart != nil && f.CPU != nil {
		rates := cgroup.CPURates(*in.CgroupStart, *f)
		level := f.CPU.From
		if level == "" && len(f.CPU.Levels) > 0 {
			level = f.CPU.Leaf().Path
		}
		if rt, ok := rates[level]; ok {
			src := "cpu.stat of " + level + " over the window"
			m.values[mThrottled], m.sources[mThrottled] = rt.ThrottledFraction, src+" (nr_throttled ÷ nr_periods)"
			m.values[mThrottleT], m.sources[mThrottleT] = rt.ThrottledSeconds, src+" (throttled time)"
		}
	}
	for _, k := range []string{mThrottled, mThrottleT} {
		if _, ok := m.values[k]; !ok {
			m.why[k] = "no cgroup CPU readings at both ends of the window (a URL target's cgroup is out of reach; attach by PID)"
		}
	}
	return m
}

func maxOf(pts []session.Point, name string) (float64, bool) {
	v, ok := 0.0, false
	for _, p := range pts {
		if x, has := p.Values[name]; has && (!ok || x > v) {
			v, ok = x, true
		}
	}
	return v, ok
}

// Verdict compares every check's measured figure with its predicted range
// and fills Result; the verdict is missed when any measured figure lies
// outside its range, held when every one measured lies inside, and
// inconclusive when no predicted figure could be measured.
func Verdict(checks []snapshot.Check) (verdict, reason string) {
	var in, out, unmeasured []string
	for i := range checks {
		c := &checks[i]
		if c.Predicted == nil {
			c.Result = ""
			continue
		}
		switch {
		case c.Measured == nil:
			c.Result = snapshot.ResultUnmeasured
			unmeasured = append(unmeasured, c.Name)
		case c.Predicted.Contains(*c.Measured):
			c.Result = snapshot.ResultInRange
			in = append(in, fmt.Sprintf("%s %s, predicted %s", c.Name, c.MeasuredText(), c.PredictedText()))
		default:
			c.Result = snapshot.ResultOutOfRange
			side := "above"
			if *c.Measured < c.Predicted.Low {
				side = "below"
			}
			out = append(out, fmt.Sprintf("%s %s, %s the predicted %s", c.Name, c.MeasuredText(), side, c.PredictedText()))
		}
	}
	switch {
	case len(out) > 0:
		return snapshot.VerdictMissed, strings.Join(out, "; ")
	case len(in) > 0:
		s := strings.Join(in, "; ")
		if len(unmeasured) > 0 {
			s += "; not measured: " + strings.Join(unmeasured, ", ")
		}
		return snapshot.VerdictHeld, s
	case len(unmeasured) > 0:
		return snapshot.VerdictInconclusive, "nothing predicted could be measured: " + strings.Join(unmeasured, ", ")
	}
	return snapshot.VerdictInconclusive, "the advisor made no prediction to check"
}

// Bounds are what gotune checks a proposal against before it writes: the
// agent's own limits when it serves them, else measured from the window.
type Bounds struct {
	agent.Limits
	// GOGC and MemoryLimit are today's values (-1: off; math.MaxInt64:
	// no limit); Known is false when they could not be read.
	GOGC        int64
	MemoryLimit int64
	Known       bool
	// Roots is stacks and globals the GC scans (for the GOGC heap goal).
	Roots int64
	// Source says where the figures came from.
	Source string
}

// BoundsOf reads the bounds: from the agent's settings when the write
// path is the agent (the same figures it enforces), else from the latest
// sample of w and its cgroup facts.
func BoundsOf(w *Window, s *agent.Settings) Bounds {
	var b Bounds
	var pt *session.Point
	if w != nil && w.Session != nil {
		pt = w.Session.Latest()
	}
	get := func(name string) (int64, bool) {
		if pt == nil {
			return 0, false
		}
		v, ok := pt.Values[name]
		if !ok || v < 0 || math.IsNaN(v) {
			return 0, false
		}
		return int64(min(v, math.MaxInt64/2)), true
	}
	if v, ok := get("/gc/scan/stack:bytes"); ok {
		b.Roots += v
	}
	if v, ok := get("/gc/scan/globals:bytes"); ok {
		b.Roots += v
	}
	if s != nil {
		b.Limits, b.Source = s.Limits, "the agent's limits"
		for _, v := range s.Values {
			switch v.Setting {
			case agent.GOGC:
				b.GOGC, b.Known = v.Value, true
			case agent.GOMEMLIMIT:
				b.MemoryLimit = v.Value
			}
		}
		return b
	}
	b.Source = "the latest sample"
	b.MinGOGC = agent.MinGOGC
	live, _ := get(session.HeapLive)
	total, okTotal := get(session.MemoryTotal)
	var heap int64
	for _, n := range []string{session.HeapObjects, "/memory/classes/heap/unused:bytes", "/memory/classes/heap/free:bytes", "/memory/classes/heap/released:bytes"} {
		v, _ := get(n)
		heap += v
	}
	b.HeapLiveBytes = live
	if okTotal {
		b.NonHeapBytes = max(total-heap, 0)
	}
	b.MinMemoryLimit = live + b.NonHeapBytes + max(live/10, 4<<20)
	if g, ok := pt.Values[session.GOGC]; pt != nil && ok {
		b.GOGC, b.Known = int64(g), true
		if g >= math.MaxInt64 {
			b.GOGC = -1
		}
	}
	if l, ok := pt.Values[session.GOMEMLIMIT]; pt != nil && ok {
		b.MemoryLimit = int64(min(l, math.MaxInt64))
		if l >= math.MaxInt64 {
			b.MemoryLimit = noMemoryLimit
		}
	}
	if w != nil && w.Session != nil {
		if cg := w.Session.Facts.Cgroup; cg != nil && cg.Memory != nil && cg.Memory.Limited {
			b.ContainerMemoryBytes = int64(min(cg.Memory.Limit, math.MaxInt64))
		}
		if p, ok := get(session.GOMAXPROCS); ok {
			b.MaxGOMAXPROCS = max(p, 1)
		}
	}
	return b
}

// RefusedError is a proposal gotune will not write: it would harm the
// process.
type RefusedError struct {
	Action string
	Reason string
}

func (e *RefusedError) Error() string { return "refusing " + e.Action + ": " + e.Reason }

// CheckBounds refuses a proposal that would harm the process — GOGC below
// agent.MinGOGC, GOGC=off without a memory limit, a GOGC heap goal above
// the container's memory limit, a memory limit below the live heap plus
// non-heap Go memory plus room to grow or above the container's limit, no
// limit while GOGC is off — and returns the warnings of one it allows
// (GOMAXPROCS stops the world and turns off automatic updates). The agent
// enforces the same bounds (docs/agent-format.md); gotune checks first so
// it can say why before it writes.
func CheckBounds(p Proposal, b Bounds) (warnings []string, err error) {
	refuse := func(format string, args ...any) ([]string, error) {
		return nil, &RefusedError{Action: p.Action(), Reason: fmt.Sprintf(format, args...)}
	}
	mb := func(n int64) string { return measurement.Bytes(float64(n)) }
	noLimit := b.MemoryLimit == 0 || b.MemoryLimit == noMemoryLimit
	switch p.Setting {
	case agent.GOGC:
		if p.Value < 0 {
			if noLimit {
				return refuse("GOGC=off without a memory limit lets the heap grow until the process runs out of memory; set GOMEMLIMIT first")
			}
			return []string{"GOGC=off: the GC runs only when the heap nears GOMEMLIMIT=" + limitText(b.MemoryLimit)}, nil
		}
		if floor := max(b.MinGOGC, agent.MinGOGC); p.Value < floor {
			return refuse("GOGC=%d is below the floor of %d: GC frequency grows as 1/GOGC (GC guide, \"GOGC\"), so the GC would run almost continuously", p.Value, floor)
		}
		if c := b.ContainerMemoryBytes; c > 0 && noLimit && b.HeapLiveBytes > 0 {
			goal := b.HeapLiveBytes + (b.HeapLiveBytes+b.Roots)*p.Value/100
			if goal+b.NonHeapBytes > c {
				return refuse("GOGC=%d puts the heap goal at %s (live heap %s) with no GOMEMLIMIT, above the container's memory limit of %s: the kernel would kill the process",
					p.Value, mb(goal), mb(b.HeapLiveBytes), mb(c))
			}
		}
	case agent.GOMEMLIMIT:
		if p.Value == noMemoryLimit {
			if b.Known && b.GOGC < 0 {
				return refuse("removing the memory limit while GOGC=off lets the heap grow until the process runs out of memory; set GOGC first")
			}
			return nil, nil
		}
		if p.Value < b.MinMemoryLimit {
			return refuse("GOMEMLIMIT=%s is below the live heap (%s) plus non-heap Go memory (%s) plus room for the heap to grow: the GC would run continuously (GC guide, \"Memory limit\"); the least accepted now is %s",
				limitText(p.Value), mb(b.HeapLiveBytes), mb(b.NonHeapBytes), mb(b.MinMemoryLimit))
		}
		if c := b.ContainerMemoryBytes; c > 0 {
			if p.Value > c {
				return refuse("GOMEMLIMIT=%s is above the container's memory limit of %s: the kernel would kill the process before the GC reacts", limitText(p.Value), mb(c))
			}
			if float64(p.Value) > 0.95*float64(c) {
				warnings = append(warnings, fmt.Sprintf("GOMEMLIMIT=%s leaves less than 5%% of the container's %s for memory Go does not manage (GC guide: leave 5–10%%)", limitText(p.Value), mb(c)))
			}
		}
	case agent.GOMAXPROCS:
		if !p.Default && (p.Value < 1 || b.MaxGOMAXPROCS > 0 && p.Value > b.MaxGOMAXPROCS) {
			return refuse("GOMAXPROCS=%d: must be between 1 and the %d CPUs this process may run on", p.Value, b.MaxGOMAXPROCS)
		}
		warnings = append(warnings, "changing GOMAXPROCS stops the world briefly")
		if !p.Default {
			warnings = append(warnings, "a fixed GOMAXPROCS turns off Go's automatic updates (CPU limit changes are no longer followed) until it is set back to the default")
		}
	default:
		return refuse("gotune changes GOGC, GOMEMLIMIT and GOMAXPROCS live")
	}
	return warnings, nil
}

// ApplyOptions configure the loop.
type ApplyOptions struct {
	// HoldLease is the lease held while verifying; default
	// DefaultHoldLease.
	HoldLease time.Duration
	// Settle and Verify: the verification window starts Settle after the
	// write and lasts Verify; zero is DefaultSettle, DefaultVerify (a
	// negative Settle is none).
	Settle, Verify time.Duration
	// Advisor configures the rules that read the verification window.
	Advisor advisor.Config
}

func (o ApplyOptions) withDefaults() ApplyOptions {
	if o.HoldLease <= 0 {
		o.HoldLease = DefaultHoldLease
	}
	if o.Settle < 0 {
		o.Settle = 0
	} else if o.Settle == 0 {
		o.Settle = DefaultSettle
	}
	if o.Verify <= 0 {
		o.Verify = DefaultVerify
	}
	o.Verify = max(o.Verify, minVerify)
	return o
}

// WriteTargetOf says where a target can be written: its gotune agent
// (the URL it is read from), its PID and its gops agent. tokenFile is
// --token-file ("" to find the token by PID).
func WriteTargetOf(t collectors.Target, tokenFile string) collectors.WriteTarget {
	wt := collectors.WriteTarget{TokenFile: tokenFile}
	switch t := t.(type) {
	case *collectors.URLTarget:
		wt.AgentBase = t.Base
	case *collectors.PIDTarget:
		wt.PID = t.PID
		// The agent's own port (discovery may have found pprof and the
		// agent on different ones).
		if u := t.Process.Reach.AgentURL; u != "" {
			wt.AgentBase = strings.TrimSuffix(u, agent.Path)
		} else if t.Base != "" {
			wt.AgentBase = t.Base
		}
		if t.Gops != nil {
			wt.GopsAddr = t.Gops.Addr
		}
	}
	return wt
}

// WriteAccess finds how the session's target can be written
// (collectors.FindWriteAccess); a recorded or hand-made session is
// read-only.
func (s *Session) WriteAccess(ctx context.Context) collectors.WriteAccess {
	if s.writes == nil {
		return collectors.WriteAccess{ReadOnly: "a recorded session: there is no process to change"}
	}
	return collectors.FindWriteAccess(ctx, *s.writes)
}

// ErrReadOnly says the target offers no write path.
var ErrReadOnly = errors.New("the target is read-only")

// Trial is one applied change: held under its lease while it is verified,
// then kept, reverted or left under a lease. Its methods are safe for
// concurrent use.
type Trial struct {
	s     *Session
	tuner collectors.Tuner
	agent *collectors.AgentClient // nil through gops
	prop  Proposal
	opts  ApplyOptions

	mu       sync.Mutex
	ch       agent.Change
	idx      int // the session's record
	ended    bool
	holdStop context.CancelFunc
	holdDone chan struct{}
	holdErr  error
}

// Apply checks p against the bounds, writes it through acc and holds it
// under its lease until the trial is kept, reverted or left (or ctx
// ends: then the renewals stop and the agent reverts within the lease).
// The change is recorded in the session at once.
func (s *Session) Apply(ctx context.Context, acc collectors.WriteAccess, p Proposal, b Bounds, o ApplyOptions) (*Trial, error) {
	o = o.withDefaults()
	if acc.Tuner == nil {
		return nil, fmt.Errorf("%w: %s", ErrReadOnly, acc.ReadOnly)
	}
	if !slices.Contains(acc.Writable, p.Setting) {
		return nil, fmt.Errorf("%w for %s: %s can change only %s", ErrReadOnly, p.Setting, acc.Tuner.Via(), settingList(acc.Writable))
	}
	warnings, err := CheckBounds(p, b)
	if err != nil {
		return nil, err
	}
	t := &Trial{s: s, tuner: acc.Tuner, prop: p, opts: o}
	t.agent, _ = acc.Tuner.(*collectors.AgentClient)
	var ch agent.Change
	if p.Default {
		if t.agent == nil {
			return nil, fmt.Errorf("%s cannot return GOMAXPROCS to its default", acc.Tuner.Via())
		}
		ch, err = t.agent.SetDefault(ctx, p.Setting, o.HoldLease)
	} else {
		ch, err = acc.Tuner.Set(ctx, p.Setting, p.Value, o.HoldLease)
	}
	if err != nil {
		return nil, err
	}
	if ch.SetAt.IsZero() {
		ch.SetAt = s.now()
	}
	t.ch = ch
	rec := snapshot.Change{Setting: string(p.Setting), Value: p.ValueText(), Previous: settingValueText(p.Setting, ch.Previous, ch.PreviousDefault),
		Via: acc.Tuner.Via(), FindingID: p.FindingID, AgentID: ch.ID, AppliedAt: ch.SetAt, Checks: slices.Clone(p.Checks),
		Outcome: snapshot.OutcomeActive, Deploy: p.Deploy(), Notes: slices.Clone(p.Notes)}
	rec.Warnings = appendNew(append(slices.Clone(p.Warnings), warnings...), ch.Warnings...)
	if t.agent != nil {
		rec.LeaseSeconds = o.HoldLease.Seconds()
		hctx, cancel := context.WithCancel(ctx)
		t.holdStop, t.holdDone = cancel, make(chan struct{})
		go func() {
			defer close(t.holdDone)
			if err := t.agent.Hold(hctx, ch.ID, o.HoldLease); err != nil {
				t.mu.Lock()
				t.holdErr = err
				t.mu.Unlock()
			}
		}()
	}
	s.mu.Lock()
	t.idx = len(s.changes)
	s.changes = append(s.changes, rec)
	s.trials = append(s.trials, t)
	s.mu.Unlock()
	return t, nil
}

func settingList(ss []agent.Setting) string {
	if len(ss) == 0 {
		return "nothing"
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return strings.Join(out, ", ")
}

func appendNew(to []string, more ...string) []string {
	for _, m := range more {
		if !slices.Contains(to, m) {
			to = append(to, m)
		}
	}
	return to
}

// Proposal is what the trial applied.
func (t *Trial) Proposal() Proposal { return t.prop }

// Change is the trial's record as it stands.
func (t *Trial) Change() snapshot.Change {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	return cloneChange(t.s.changes[t.idx])
}

func cloneChange(c snapshot.Change) snapshot.Change {
	c.Checks = slices.Clone(c.Checks)
	c.Warnings = slices.Clone(c.Warnings)
	c.Notes = slices.Clone(c.Notes)
	return c
}

// edit changes the trial's record in the session.
func (t *Trial) edit(f func(c *snapshot.Change)) snapshot.Change {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	f(&t.s.changes[t.idx])
	return cloneChange(t.s.changes[t.idx])
}

// VerifySpan is when the verification window runs.
func (t *Trial) VerifySpan() (from, to time.Time) {
	from = t.ch.SetAt.Add(t.opts.Settle)
	return from, from.Add(t.opts.Verify)
}

// Verify waits out the settle time and the verification window, then
// compares what the window measured with the prediction and records the
// verdict. It returns the record; ctx ending stops it (the change stays
// held until the trial is kept, reverted or left).
func (t *Trial) Verify(ctx context.Context) (snapshot.Change, error) {
	from, to := t.VerifySpan()
	if err := sleepUntil(ctx, from); err != nil {
		return t.Change(), err
	}
	cgStart := t.cgroupAtOrAfter(ctx, from)
	if err := sleepUntil(ctx, to); err != nil {
		return t.Change(), err
	}
	// The last cgroup reading may be up to a host interval old: wait for
	// one at or after the window's end, briefly.
	t.cgroupAtOrAfter(ctx, to)
	// The window ends when it was asked to, or later if the wait ran
	// over (a recorded session's clock stands still).
	end := t.s.now()
	if end.Before(to) {
		end = to
	}
	w := &Window{From: from, To: end, Target: t.s.name, Arg: t.s.arg, Session: t.s.store.Snapshot(), CgroupStart: cgStart}
	r := w.Advise(t.opts.Advisor)
	m := measure(w, r)
	var notes []string
	t.mu.Lock()
	if t.holdErr != nil {
		notes = append(notes, "the lease could not be renewed: "+t.holdErr.Error()+"; the agent reverts on its own when the lease ends")
	}
	t.mu.Unlock()
	if st, ok := w.Session.StatusOf("metrics"); ok && st.Lost {
		notes = append(notes, "the target stopped answering during the verification window")
	}
	return t.edit(func(c *snapshot.Change) {
		c.Verify = snapshot.Window{Start: from, End: w.To}
		for i := range c.Checks {
			k := &c.Checks[i]
			if v, ok := m.values[k.Metric]; ok {
				k.Measured = &v
				k.Source, k.Estimated = m.sources[k.Metric], m.est[k.Metric]
			} else {
				k.Note = m.why[k.Metric]
			}
		}
		c.Verdict, c.Reason = Verdict(c.Checks)
		c.Notes = appendNew(c.Notes, notes...)
	}), nil
}

// cgroupAtOrAfter returns the first cgroup reading taken at or after at,
// waiting up to two host intervals for it; else the latest one (nil for a
// target without cgroup facts).
func (t *Trial) cgroupAtOrAfter(ctx context.Context, at time.Time) *cgroup.Stats {
	deadline := time.Now().Add(2 * collectors.HostInterval)
	for {
		cg := t.s.store.Snapshot().Facts.Cgroup
		if cg == nil || !cg.ReadAt.Before(at) || time.Now().After(deadline) || ctx.Err() != nil {
			return cg
		}
		tm := time.NewTimer(200 * time.Millisecond)
		select {
		case <-ctx.Done():
			tm.Stop()
			return cg
		case <-tm.C:
		}
	}
}

// stopHold ends the renewals.
func (t *Trial) stopHold() {
	if t.holdStop != nil {
		t.holdStop()
		<-t.holdDone
	}
}

// Ended reports whether the trial was kept, reverted or left.
func (t *Trial) Ended() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.ended
}

// end marks the trial ended once; false when it already was.
func (t *Trial) end() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ended {
		return false
	}
	t.ended = true
	return true
}

var errEnded = errors.New("the change was already kept, reverted or left")

// Keep ends the lease: the value stays after gotune leaves.
func (t *Trial) Keep(ctx context.Context) (snapshot.Change, error) {
	if !t.end() {
		return t.Change(), errEnded
	}
	t.stopHold()
	if t.agent != nil {
		if _, err := t.agent.Keep(ctx, t.ch.ID); err != nil {
			t.mu.Lock()
			t.ended = false
			t.mu.Unlock()
			return t.Change(), fmt.Errorf("keep %s: %w", t.prop.Action(), err)
		}
	}
	return t.edit(func(c *snapshot.Change) { c.Outcome, c.EndedAt = snapshot.OutcomeKept, t.s.now() }), nil
}

// Revert puts back what the change replaced.
func (t *Trial) Revert(ctx context.Context) (snapshot.Change, error) {
	if !t.end() {
		return t.Change(), errEnded
	}
	t.stopHold()
	got, err := t.tuner.Revert(ctx, t.ch)
	if collectors.AgentErrorCode(err) == agent.CodeNoSuchChange {
		// The change had ended already: its lease ran out while the
		// renewals were cut off (a lost connection), and the agent
		// reverted it on its own.
		return t.edit(func(c *snapshot.Change) {
			c.Outcome, c.EndedAt = snapshot.OutcomeExpired, t.s.now()
			c.Notes = appendNew(c.Notes, "the agent had already reverted it: the lease ran out before gotune could renew it")
		}), nil
	}
	if err != nil {
		outcome, note := snapshot.OutcomeActive, ""
		if t.agent != nil {
			// The agent reverts on its own once the lease runs out.
			outcome, note = snapshot.OutcomeLeased, fmt.Sprintf("revert failed (%v): the agent reverts on its own when the %s lease ends", err, t.opts.HoldLease)
		}
		return t.edit(func(c *snapshot.Change) {
			c.Outcome = outcome
			if note != "" {
				c.Notes = appendNew(c.Notes, note)
			}
		}), fmt.Errorf("revert %s: %w", t.prop.Action(), err)
	}
	return t.edit(func(c *snapshot.Change) {
		c.Outcome, c.EndedAt = outcomeOf(got.State, snapshot.OutcomeReverted), t.s.now()
		if got.State == agent.StateLeftAlone {
			c.Notes = appendNew(c.Notes, "not reverted: the program had changed "+c.Setting+" itself since")
		}
	}), nil
}

// Leave stops holding the change and leaves it under a final lease: the
// agent reverts it on its own when the lease ends (gotune apply --lease).
func (t *Trial) Leave(ctx context.Context, lease time.Duration) (snapshot.Change, error) {
	if t.agent == nil {
		return t.Change(), fmt.Errorf("%s has no lease: the value would stay; keep or revert it", t.tuner.Via())
	}
	if !t.end() {
		return t.Change(), errEnded
	}
	t.stopHold()
	got, err := t.agent.Renew(ctx, t.ch.ID, lease)
	if err != nil {
		return t.Change(), fmt.Errorf("leave %s under a %s lease: %w", t.prop.Action(), lease, err)
	}
	return t.edit(func(c *snapshot.Change) {
		c.Outcome, c.LeaseSeconds = snapshot.OutcomeLeased, lease.Seconds()
		c.Notes = appendNew(c.Notes, "left under a lease ending "+got.LeaseExpires.UTC().Format(time.RFC3339)+": the agent reverts it then")
	}), nil
}

func outcomeOf(state, fallback string) string {
	switch state {
	case agent.StateExpired:
		return snapshot.OutcomeExpired
	case agent.StateLeftAlone:
		return snapshot.OutcomeLeftAlone
	case agent.StateKept:
		return snapshot.OutcomeKept
	}
	return fallback
}

// Changes lists every change applied in this session (and, replayed, the
// recording's), oldest first.
func (s *Session) Changes() []snapshot.Change {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]snapshot.Change, len(s.changes))
	for i, c := range s.changes {
		out[i] = cloneChange(c)
	}
	return out
}

// RevertActive reverts every change of the session that was neither kept
// nor left: gotune's exit. It returns what could not be reverted.
func (s *Session) RevertActive(ctx context.Context) error {
	s.mu.Lock()
	trials := slices.Clone(s.trials)
	s.mu.Unlock()
	var errs []error
	for _, t := range trials {
		if t.Ended() {
			continue
		}
		if _, err := t.Revert(ctx); err != nil && !errors.Is(err, errEnded) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// changesIn returns the changes active at some time in [from, to].
func (s *Session) changesIn(from, to time.Time) []snapshot.Change {
	if s.replay {
		return s.Changes() // the recording's, as recorded
	}
	var out []snapshot.Change
	for _, c := range s.Changes() {
		if c.AppliedAt.After(to) || !c.EndedAt.IsZero() && c.EndedAt.Before(from) {
			continue
		}
		out = append(out, c)
	}
	return out
}
