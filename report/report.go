// Package report turns one snapshot, or two (before and after a change),
// into a tuning report: a summary of the three things to do with their
// predicted effect, the environment and the effective settings, the
// advisor's findings with their evidence and actions, the GC what-if table,
// the metric curves, the top functions of every profile, the goroutine
// groups and, for two snapshots, the before/after comparison.
//
// Build makes the data model (Report); WriteMarkdown, WriteHTML and
// WriteJSON render it. The HTML is one self-contained file — inline CSS,
// inline SVG charts, an inline SVG flame graph with a small inline script
// for click-to-zoom — that requests nothing from the network and prints
// well. The JSON document is versioned (FormatVersion) and documented in
// docs/report-json.md.
//
// The package is pure rendering: it reads snapshot.Snapshot values and does
// no I/O beyond writing to the given writer. Snapshots are redacted when
// they are built (snapshot/redact.go); this package prints what they hold
// and escapes all of it (html/template for HTML, Markdown escaping for
// Markdown).
package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/gotune/gotune/advisor"
	"github.com/gotune/gotune/collectors/cgroup"
	"github.com/gotune/gotune/collectors/effective"
	"github.com/gotune/gotune/collectors/numa"
	"github.com/gotune/gotune/compare"
	"github.com/gotune/gotune/measurement"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/session"
	"github.com/gotune/gotune/snapshot"
	"github.com/gotune/gotune/trace"
)

// Format names the JSON document type.
const Format = "gotune-report"

// FormatVersion is the version of the JSON document. It changes when a
// field is removed or changes meaning; new fields may appear within a
// version.
const FormatVersion = 1

// Limits of what a report shows.
const (
	// MaxCurvePoints is how many points a curve keeps after downsampling.
	MaxCurvePoints = 240
	// TopRows is how many functions each profile's top table shows.
	TopRows = 15
	// MaxGroups is how many goroutine groups are listed.
	MaxGroups = 25
	// GroupFrames is how many frames of each group are shown.
	GroupFrames = 6
	// ThingsToDo is how many findings the summary lists.
	ThingsToDo = 3
	// FlameMinFraction drops flame frames below this share of the total
	// (they are shown as one "other" block per parent).
	FlameMinFraction = 0.002
)

// Report is everything a report shows. Its JSON encoding is the report's
// JSON format.
type Report struct {
	Format        string `json:"format"`
	FormatVersion int    `json:"format_version"`
	Title         string `json:"title"`
	// Subject is the snapshot the report describes: the after snapshot
	// when two were given (the state now), else the only one. Before is
	// set only when two were given.
	Subject     Side            `json:"subject"`
	Before      *Side           `json:"before,omitempty"`
	Summary     Summary         `json:"summary"`
	Environment Environment     `json:"environment"`
	Settings    []Setting       `json:"settings"`
	Findings    []Finding       `json:"findings"`
	WhatIf      *advisor.WhatIf `json:"what_if"`
	// Skipped says which advisor checks could not run and why.
	Skipped    []string     `json:"skipped,omitempty"`
	Curves     []Curve      `json:"curves"`
	Profiles   []ProfileTop `json:"profiles"`
	Goroutines Goroutines   `json:"goroutines"`
	// Trace is the subject's execution trace (the snapshot's
	// trace/summary.json: source, span, analysis); omitted when it has
	// none.
	Trace      *trace.Captured     `json:"trace,omitempty"`
	Comparison *compare.Comparison `json:"comparison"`
	// Problems are parts of the snapshots that could not be read (a
	// corrupt profile, findings of another format); the rest of the report
	// stands.
	Problems []string `json:"problems,omitempty"`

	// Changes are the live changes gotune applied during the window(s)
	// (changes.go).
	Changes []AppliedChange `json:"changes,omitempty"`

	// Restarts are the restarts of the target inside the subject's
	// window, oldest first (restart.go); the curves are not merged across
	// them.
	Restarts []Restart `json:"restarts,omitempty"`

	// Flame is the call tree of the flame graph (HTML only).
	Flame *Flame `json:"-"`
}

// Side identifies one snapshot.
type Side struct {
	Name          string          `json:"name,omitempty"`
	Target        string          `json:"target"`
	Window        snapshot.Window `json:"window"`
	Seconds       float64         `json:"seconds"`
	Samples       int             `json:"samples"`
	Created       time.Time       `json:"created,omitzero"`
	GotuneVersion string          `json:"gotune_version,omitempty"`
}

// Summary is the report's first section.
type Summary struct {
	// Worst is the highest severity among the findings ("" when none).
	Worst string `json:"worst,omitempty"`
	// Counts holds the number of findings by severity.
	Counts map[string]int `json:"counts"`
	// ToDo is up to three findings, most severe first, with their action
	// and predicted effect. Empty means there is nothing to do.
	ToDo []ToDo `json:"to_do"`
	// Text is one sentence: "nothing to do", how many things to do, or
	// that the snapshot holds no advice.
	Text string `json:"text"`
	// Advised is false when the snapshot holds no advisor findings at all
	// (it was saved without them): then an empty ToDo says nothing.
	Advised bool `json:"advised"`
}

// ToDo is one thing to do.
type ToDo struct {
	FindingID  string         `json:"finding_id"`
	Severity   string         `json:"severity"`
	Title      string         `json:"title"`
	Action     advisor.Action `json:"action"`
	Predicted  string         `json:"predicted,omitempty"`
	Confidence string         `json:"confidence,omitempty"`
}

// Environment is what was captured and where it ran, with the host facts
// the snapshot holds.
type Environment struct {
	Target       snapshot.Target       `json:"target"`
	Env          map[string]string     `json:"env,omitempty"`
	Cgroup       *cgroup.Stats         `json:"cgroup,omitempty"`
	CgroupRates  *cgroup.ThrottleRates `json:"cgroup_rates,omitempty"`
	NUMATopology *numa.Topology        `json:"numa_topology,omitempty"`
	NUMASettings *numa.Settings        `json:"numa_settings,omitempty"`
	NUMAProcess  *numa.Process         `json:"numa_process,omitempty"`
	Notes        []string              `json:"notes,omitempty"`
}

// Setting is one effective setting with why it has its value.
type Setting struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Source string `json:"source"`
	Live   bool   `json:"live"`
	Reason string `json:"reason"`
	Env    string `json:"env,omitempty"`
}

// Finding is an advisor finding as the report shows it.
type Finding = advisor.Finding

// Curve is one metric over the window, downsampled to at most
// MaxCurvePoints.
type Curve struct {
	Chart string `json:"chart"` // the chart it is drawn in: "heap", "gc-cpu", ...
	Name  string `json:"name"`  // for people: "heap live"
	Key   string `json:"key"`   // runtime/metrics or derived name
	Unit  string `json:"unit"`  // "bytes", "fraction", "cycles/s", "seconds", "count", "cores"
	// Aggregate is how samples were merged when downsampling: "mean", or
	// "max" for quantiles, so a spike is never averaged away.
	Aggregate string       `json:"aggregate"`
	Samples   int          `json:"samples"` // points before downsampling
	Points    []CurvePoint `json:"points"`
}

// CurvePoint is one value, T seconds after the window's start.
type CurvePoint struct {
	T float64 `json:"t"`
	V float64 `json:"v"`
}

// ProfileTop is the top table of one profile.
type ProfileTop struct {
	Kind profile.Kind `json:"kind"`
	// Scope and Seconds say what span the values cover ("window",
	// "since-start", "capture", "instant").
	Scope      profile.Scope `json:"scope,omitempty"`
	Seconds    float64       `json:"seconds,omitempty"`
	SampleType string        `json:"sample_type,omitempty"` // "cpu/nanoseconds"
	Unit       string        `json:"unit,omitempty"`
	Total      int64         `json:"total"`
	TotalText  string        `json:"total_text,omitempty"`
	Rows       []TopRow      `json:"rows"`
	// More is how many functions the table leaves out.
	More  int    `json:"more,omitempty"`
	Error string `json:"error,omitempty"`
}

// TopRow is one function of a top table; shares are of the profile total.
type TopRow struct {
	Name      string  `json:"name"`
	Flat      int64   `json:"flat"`
	FlatShare float64 `json:"flat_share"`
	Cum       int64   `json:"cum"`
	CumShare  float64 `json:"cum_share"`
	FlatText  string  `json:"flat_text"`
	CumText   string  `json:"cum_text"`
}

// Goroutines are the goroutine groups at the end of the window.
type Goroutines struct {
	Total  int     `json:"total"`
	Groups []Group `json:"groups"`
	// More is how many groups the list leaves out.
	More int `json:"more,omitempty"`
}

// Group is one goroutine group.
type Group struct {
	Count   int    `json:"count"`
	State   string `json:"state,omitempty"`
	MinWait int    `json:"min_wait_minutes,omitempty"`
	MaxWait int    `json:"max_wait_minutes,omitempty"`
	// Frames are the innermost frames ("func file:line"), innermost first.
	Frames    []string `json:"frames"`
	Elided    int      `json:"elided_frames,omitempty"` // frames left out of Frames
	CreatedBy string   `json:"created_by,omitempty"`
}

// Build makes the report of before, compared with after when after is not
// nil. With two snapshots the report describes after (the state now) and
// adds the comparison.
func Build(before, after *snapshot.Snapshot) (*Report, error) {
	if before == nil {
		return nil, fmt.Errorf("report: no snapshot")
	}
	subject := before
	r := &Report{Format: Format, FormatVersion: FormatVersion}
	if after != nil {
		subject = after
		b := sideOf(before)
		r.Before = &b
		r.Comparison = compare.Compare(before, after)
	}
	r.Subject = sideOf(subject)
	r.Title = "gotune report: " + r.Subject.Target
	if r.Before != nil {
		r.Title = "gotune report: " + r.Subject.Target + ", before and after"
	}
	m := subject.Manifest
	r.Environment = Environment{Target: m.Target, Env: m.Env, Cgroup: m.Cgroup, CgroupRates: m.Throttle,
		NUMATopology: m.NUMATopology, NUMASettings: m.NUMASettings, NUMAProcess: m.NUMAProcess, Notes: m.Notes}
	for _, p := range subject.Problems {
		r.problem("%s", p)
	}
	r.Settings = settings(m.Settings)
	r.Changes = appliedChanges(before, after)
	advised := r.advice(subject.Advice)
	r.Summary = summarize(r.Findings, advised)
	r.Restarts = restarts(subject, curveStart(subject))
	r.Curves = curves(subject)
	r.Profiles = r.tops(subject)
	r.Goroutines = r.goroutines(subject)
	r.Trace = subject.Trace
	r.Flame = r.flame(subject)
	return r, nil
}

func sideOf(s *snapshot.Snapshot) Side {
	m := s.Manifest
	return Side{Name: m.Name, Target: m.Target.Name, Window: m.Window, Seconds: m.Window.Duration().Seconds(),
		Samples: len(s.Series.Points), Created: m.Created, GotuneVersion: m.GotuneVersion}
}

func (r *Report) problem(format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

func settings(ex *effective.Explanation) []Setting {
	if ex == nil {
		return nil
	}
	var out []Setting
	for _, s := range ex.Settings() {
		if s.Name == "" && s.Value == "" {
			continue
		}
		out = append(out, Setting{Name: s.Name, Value: s.Value, Source: string(s.Source), Live: s.Live, Reason: s.Reason, Env: s.Env})
	}
	return out
}

// advice reads the advisor's report; false when the snapshot has none.
func (r *Report) advice(ar *advisor.Report) bool {
	r.Findings = []Finding{}
	if ar == nil {
		r.Skipped = []string{"the snapshot holds no advisor findings"}
		return false
	}
	if ar.Findings != nil {
		r.Findings = slices.Clone(ar.Findings)
	}
	// Most severe first, then by ID, as the advisor orders them; sorted
	// again so a report never depends on the writer's order.
	slices.SortStableFunc(r.Findings, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(b.Severity, a.Severity), cmp.Compare(a.ID, b.ID))
	})
	r.WhatIf = ar.WhatIf
	r.Skipped = ar.Skipped
	return true
}

func summarize(fs []Finding, advised bool) Summary {
	s := Summary{Counts: map[string]int{}, ToDo: []ToDo{}, Advised: advised}
	var worst advisor.Severity
	for _, f := range fs {
		s.Counts[f.Severity.String()]++
		worst = max(worst, f.Severity)
	}
	if worst > 0 {
		s.Worst = worst.String()
	}
	for _, f := range fs[:min(ThingsToDo, len(fs))] {
		td := ToDo{FindingID: f.ID, Severity: f.Severity.String(), Title: f.Title, Action: f.Action, Confidence: string(f.Confidence)}
		if f.Predicted != nil {
			td.Predicted = f.Predicted.Text
		}
		s.ToDo = append(s.ToDo, td)
	}
	switch n := len(s.ToDo); {
	case !advised:
		s.Text = "No advice: this snapshot holds no advisor findings, so this report cannot say what to do."
	case n == 0:
		s.Text = "Nothing to do: the advisor found nothing to change in this window."
	case len(fs) > n:
		s.Text = fmt.Sprintf("%d findings; the %d most severe are the things to do first.", len(fs), n)
	case n == 1:
		s.Text = "One thing to do."
	default:
		s.Text = fmt.Sprintf("%d things to do.", n)
	}
	return s
}

// curveSpec is one curve of one chart.
type curveSpec struct {
	chart, name, key string
	derived          bool
	unit, agg        string
}

// Charts are the charts of the report, in display order, with their titles.
var Charts = []struct{ ID, Title string }{
	{"heap", "Heap: live, goal and limit"},
	{"gc-cpu", "GC CPU paid (cores; idle-priority marking apart)"},
	{"gc-rate", "GC cycles per second"},
	{"pause", "GC pause p99"},
	{"goroutines", "Goroutines"},
	{"sched", "Scheduling latency p99"},
	{"cpu", "Process CPU (cores)"},
	{"rss", "Resident memory (RSS)"},
}

var curveSpecs = []curveSpec{
	{"heap", "heap live", session.HeapLive, false, "bytes", "mean"},
	{"heap", "heap goal", session.HeapGoal, false, "bytes", "mean"},
	{"heap", "memory limit", session.GOMEMLIMIT, false, "bytes", "mean"},
	{"gc-cpu", "GC CPU", session.GCCPUCores, true, "cores", "mean"},
	{"gc-rate", "GC cycles/s", session.GCRate, true, "cycles/s", "mean"},
	{"pause", "GC pause p99", session.PauseP99, true, "seconds", "max"},
	{"goroutines", "goroutines", session.Goroutines, false, "count", "mean"},
	{"sched", "sched latency p99", session.SchedLatP99, true, "seconds", "max"},
	{"cpu", "process CPU", session.ProcessCPUFrac, true, "cores", "mean"},
	{"rss", "RSS", session.ProcessRSS, false, "bytes", "mean"},
}

// noLimit: GOMEMLIMIT at or above this is "no limit" (math.MaxInt64 by
// default), which a chart must not draw.
const noLimit = 1 << 62

// curveStart is the time the curves' seconds count from: the window's
// start, or its first point when earlier.
func curveStart(s *snapshot.Snapshot) time.Time {
	start := s.Manifest.Window.Start
	if len(s.Series.Points) > 0 && (start.IsZero() || s.Series.Points[0].Time.Before(start)) {
		start = s.Series.Points[0].Time
	}
	return start
}

func curves(s *snapshot.Snapshot) []Curve {
	out := []Curve{}
	start := curveStart(s)
	for _, cs := range curveSpecs {
		var pts []CurvePoint
		var cuts []int // indexes in pts of the first point after a restart
		estimated := false
		for _, p := range s.Series.Points {
			if p.Restart != nil && len(pts) > 0 && (len(cuts) == 0 || cuts[len(cuts)-1] != len(pts)) {
				cuts = append(cuts, len(pts))
			}
			src := p.Values
			if cs.derived {
				src = p.Derived
			}
			v, ok := src[cs.key]
			switch {
			case !ok && cs.key == session.GCCPUCores:
				v, ok = session.GCCPUCoresOf(&session.Point{Sample: session.Sample{Values: p.Values}, Derived: p.Derived})
			case !ok && cs.key == session.HeapLive:
				v, ok = p.Values[session.HeapLiveEstimate]
				estimated = estimated || ok
			}
			if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			if cs.key == session.GOMEMLIMIT && v >= noLimit {
				continue
			}
			pts = append(pts, CurvePoint{T: p.Time.Sub(start).Seconds(), V: v})
		}
		if len(pts) == 0 {
			continue
		}
		name := cs.name
		if estimated {
			name += " (estimated from the heap goal and GOGC)"
		}
		out = append(out, Curve{Chart: cs.chart, Name: name, Key: cs.key, Unit: cs.unit, Aggregate: cs.agg,
			Samples: len(pts), Points: downsampleSegments(pts, cuts, MaxCurvePoints, cs.agg == "max")})
	}
	return out
}

// downsampleSegments downsamples each run of points between restarts on
// its own (a bucket never merges two processes), sharing n points among
// them by their lengths, at least one each.
func downsampleSegments(pts []CurvePoint, cuts []int, n int, useMax bool) []CurvePoint {
	if len(cuts) == 0 || len(pts) <= n {
		return downsample(pts, n, useMax)
	}
	out := make([]CurvePoint, 0, n+len(cuts))
	bounds := append(append([]int{0}, cuts...), len(pts))
	for i := 0; i+1 < len(bounds); i++ {
		seg := pts[bounds[i]:bounds[i+1]]
		if len(seg) == 0 {
			continue
		}
		out = append(out, downsample(seg, max(1, n*len(seg)/len(pts)), useMax)...)
	}
	return out
}

// downsample merges consecutive points into at most n buckets: the time of
// a bucket is its first point's, the value the mean (or the max) of its
// points.
func downsample(pts []CurvePoint, n int, useMax bool) []CurvePoint {
	if len(pts) <= n {
		return pts
	}
	out := make([]CurvePoint, 0, n)
	for i := range n {
		a, b := i*len(pts)/n, (i+1)*len(pts)/n
		bucket := pts[a:b]
		v := bucket[0].V
		if useMax {
			for _, p := range bucket {
				v = max(v, p.V)
			}
		} else {
			v = 0
			for _, p := range bucket {
				v += p.V
			}
			v /= float64(len(bucket))
			if math.IsInf(v, 0) || math.IsNaN(v) {
				// Values near the float range's end: sum them as
				// fractions so the mean stays finite.
				v = 0
				for _, p := range bucket {
					v += p.V / float64(len(bucket))
				}
			}
		}
		out = append(out, CurvePoint{T: bucket[0].T, V: v})
	}
	return out
}

func (r *Report) tops(s *snapshot.Snapshot) []ProfileTop {
	out := []ProfileTop{}
	for _, kind := range s.Kinds() {
		c := s.Profile(kind)
		pt := ProfileTop{Kind: kind, Scope: c.Scope, Seconds: c.Seconds(), Rows: []TopRow{}}
		if c.Profile == nil {
			pt.Error = "the profile could not be read (see problems)"
			out = append(out, pt)
			continue
		}
		top, err := profile.NewTop(c.Profile, profile.TopOptions{NodeFraction: profile.DefaultNodeFraction})
		if err != nil {
			pt.Error = err.Error()
			out = append(out, pt)
			continue
		}
		pt.SampleType, pt.Unit, pt.Total = top.SampleType.String(), top.SampleType.Unit, top.Total
		pt.TotalText = profile.FormatValue(top.Total, top.SampleType.Unit, "auto")
		for i, row := range top.Rows {
			if i == TopRows {
				pt.More = len(top.Rows) - i
				break
			}
			pt.Rows = append(pt.Rows, TopRow{Name: row.Name, Flat: row.Flat, Cum: row.Cum,
				FlatShare: share(row.Flat, top.Total), CumShare: share(row.Cum, top.Total),
				FlatText: profile.FormatValue(row.Flat, top.SampleType.Unit, "auto"),
				CumText:  profile.FormatValue(row.Cum, top.SampleType.Unit, "auto")})
		}
		out = append(out, pt)
	}
	return out
}

// SpanText says what span a profile's values cover: "over the window
// (30s)", "since the process started", "captured over 10s", "at one moment".
func (p ProfileTop) SpanText() string {
	switch p.Scope {
	case profile.ScopeWindow:
		return "over the window (" + measurement.Seconds(p.Seconds) + ")"
	case profile.ScopeCapture:
		return "captured over " + measurement.Seconds(p.Seconds)
	case profile.ScopeSinceStart:
		return "since the process started"
	}
	return "at one moment"
}

func share(v, total int64) float64 {
	if total == 0 {
		return 0
	}
	return float64(v) / float64(total)
}

func (r *Report) goroutines(s *snapshot.Snapshot) Goroutines {
	g := Goroutines{Groups: []Group{}}
	var groups []profile.GoroutineGroup
	switch gp := s.Profile(profile.KindGoroutine); {
	case len(s.Goroutines) > 0:
		groups = slices.Clone(s.Goroutines)
	case len(s.GoroutineDump) > 0:
		gs, err := profile.ParseGoroutineDumpBytes(s.GoroutineDump)
		if err != nil {
			r.problem("goroutine dump: %v", err)
		}
		groups = profile.GroupGoroutines(gs, profile.GroupOptions{})
	case gp != nil && gp.Profile != nil:
		var err error
		if groups, err = profile.GoroutineGroupsFromProfile(gp.Profile); err != nil {
			r.problem("goroutine profile: %v", err)
		}
	}
	slices.SortStableFunc(groups, func(a, b profile.GoroutineGroup) int { return cmp.Compare(b.Count, a.Count) })
	for i, gr := range groups {
		g.Total += gr.Count
		if i >= MaxGroups {
			g.More++
			continue
		}
		out := Group{Count: gr.Count, State: gr.State, MinWait: gr.MinWait, MaxWait: gr.MaxWait, Frames: []string{}}
		for j, f := range gr.Frames {
			if j == GroupFrames {
				out.Elided = len(gr.Frames) - j
				break
			}
			out.Frames = append(out.Frames, frameText(f))
		}
		if gr.CreatedBy != nil {
			out.CreatedBy = frameText(*gr.CreatedBy)
		}
		g.Groups = append(g.Groups, out)
	}
	return g
}

func frameText(f profile.Frame) string {
	if f.File == "" {
		return f.Func
	}
	return fmt.Sprintf("%s %s:%d", f.Func, f.File, f.Line)
}
