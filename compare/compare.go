// Package compare sets two snapshots side by side as a whole: the metrics
// of each window with whether a change is beyond that window's noise, the
// profiles frame by frame (absolute and normalized), the goroutine groups
// that appeared, grew or vanished, the settings that changed, and the
// findings resolved or new. It is pure: it reads snapshot.Snapshot values
// and does no I/O.
package compare

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/gotune/gotune/advisor"
	"github.com/gotune/gotune/collectors/effective"
	"github.com/gotune/gotune/measurement"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/session"
	"github.com/gotune/gotune/snapshot"
)

// Metric names one figure compared between windows.
type Metric struct {
	Name    string // for people: "GC CPU"
	Key     string // runtime/metrics or derived name
	Derived bool   // read from Point.Derived
	Unit    string // "bytes", "fraction", "seconds", "count", "cores", "bytes/s", "cycles/s"
}

// Metrics are the figures Compare reports, in display order.
var Metrics = []Metric{
	{"heap live", session.HeapLive, false, "bytes"},
	{"heap goal", session.HeapGoal, false, "bytes"},
	{"GC CPU", session.GCCPUCores, true, "cores"},
	{"GC cycles/s", session.GCRate, true, "cycles/s"},
	{"GC pause p99", session.PauseP99, true, "seconds"},
	{"sched latency p99", session.SchedLatP99, true, "seconds"},
	{"allocation rate", session.AllocRate, true, "bytes/s"},
	{"mutex wait", session.MutexWaitRate, true, "seconds/s"},
	{"goroutines", session.Goroutines, false, "count"},
	{"process CPU", session.ProcessCPUFrac, true, "cores"},
	{"RSS", session.ProcessRSS, false, "bytes"},
}

// Stats summarise one figure over one window.
type Stats struct {
	N    int     `json:"n"`
	Mean float64 `json:"mean"`
	SD   float64 `json:"sd"`
	Min  float64 `json:"min"`
	Max  float64 `json:"max"`
}

// MetricChange is one figure before and after.
type MetricChange struct {
	Name   string  `json:"name"`
	Key    string  `json:"key"`
	Unit   string  `json:"unit"`
	Before *Stats  `json:"before,omitempty"`
	After  *Stats  `json:"after,omitempty"`
	Delta  float64 `json:"delta"`        // after mean − before mean
	Rel    float64 `json:"relative"`     // delta / before mean (0 when before is 0)
	Noise  float64 `json:"noise"`        // 2 standard errors of the difference of means
	Beyond bool    `json:"beyond_noise"` // |delta| > noise
	// Estimated: a side's figures are estimates (the live heap from the
	// heap goal and GOGC, where the source reports none).
	Estimated bool `json:"estimated,omitempty"`
}

// SettingChange is one effective setting or GO* variable that differs.
type SettingChange struct {
	Name   string `json:"name"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// GroupChange is one goroutine group that appeared, grew, shrank or
// vanished.
type GroupChange struct {
	Change string `json:"change"` // "appeared", "grew", "shrank", "vanished"
	State  string `json:"state"`
	Top    string `json:"top"` // the innermost frames, as one line
	Before int    `json:"before"`
	After  int    `json:"after"`
}

// ProfileDiff is one profile kind compared both ways.
type ProfileDiff struct {
	Kind       profile.Kind  `json:"kind"`
	Before     ProfileSide   `json:"before"`
	After      ProfileSide   `json:"after"`
	Absolute   *profile.Diff `json:"absolute,omitempty"`
	Normalized *profile.Diff `json:"normalized,omitempty"`
	Error      string        `json:"error,omitempty"`
}

// ProfileSide says what one side's profile covers.
type ProfileSide struct {
	// Scope is "window" (the difference over the snapshot's window),
	// "since-start" (counted since the process started), "capture" (a CPU
	// profile's seconds) or "instant".
	Scope profile.Scope `json:"scope"`
	// Seconds is the span the values cover (0: an instant, or unknown).
	Seconds float64 `json:"seconds,omitempty"`
	// SampleType and Total are the default sample type's name and total.
	SampleType string `json:"sample_type,omitempty"`
	Unit       string `json:"unit,omitempty"`
	Total      int64  `json:"total"`
	// PerSecond is Total / Seconds when both are known: for a windowed
	// allocs profile, the sampled allocation rate to set beside the
	// series' allocation rate.
	PerSecond float64 `json:"per_second,omitempty"`
	// SeriesPerSecond is the same quantity from the metric series over
	// the same span (allocs: /gc/heap/allocs:bytes; mutex:
	// /sync/mutex/wait/total:seconds, in the profile's nanoseconds), named
	// by SeriesMetric: the exact counter beside the sampled profile.
	SeriesPerSecond float64 `json:"series_per_second,omitempty"`
	SeriesMetric    string  `json:"series_metric,omitempty"`
}

// seriesCounter is the runtime/metrics counter a windowed profile kind
// samples, and the factor to the profile's default sample type's unit.
var seriesCounter = map[profile.Kind]struct {
	name  string
	scale float64
}{
	profile.KindAllocs: {session.HeapAllocsBytes, 1},
	profile.KindMutex:  {session.MutexWait, 1e9},
}

// seriesRate is a counter's rate over [from, to] from the points nearest
// both ends (within 2 s of them).
func seriesRate(s *snapshot.Snapshot, name string, from, to time.Time) (float64, bool) {
	at := func(t time.Time) (snapshot.Point, bool) {
		var best snapshot.Point
		bestD := time.Duration(math.MaxInt64)
		for _, p := range s.Series.Points {
			if _, ok := p.Values[name]; !ok {
				continue
			}
			if d := p.Time.Sub(t).Abs(); d < bestD {
				best, bestD = p, d
			}
		}
		return best, bestD <= 2*time.Second
	}
	a, ok1 := at(from)
	b, ok2 := at(to)
	secs := b.Time.Sub(a.Time).Seconds()
	if !ok1 || !ok2 || secs <= 0 || b.Values[name] < a.Values[name] {
		return 0, false
	}
	// Two processes' counters make no rate.
	for _, p := range s.Series.Points {
		if p.Restart != nil && p.Time.After(a.Time) && !p.Time.After(b.Time) {
			return 0, false
		}
	}
	return (b.Values[name] - a.Values[name]) / secs, true
}

// FindingChange is a finding present on one side only, or on both.
type FindingChange struct {
	Change   string `json:"change"` // "resolved", "new", "still"
	ID       string `json:"id"`
	Severity string `json:"severity"` // info, warn, crit
	Title    string `json:"title"`
}

// Comparison is everything Compare found.
type Comparison struct {
	Format   int             `json:"format"` // FormatVersion
	Before   Side            `json:"before"`
	After    Side            `json:"after"`
	Metrics  []MetricChange  `json:"metrics"`
	Settings []SettingChange `json:"settings"`
	Profiles []ProfileDiff   `json:"profiles"`
	Groups   []GroupChange   `json:"goroutine_groups"`
	Findings []FindingChange `json:"findings"`
	// Trace compares the execution traces when both snapshots hold one.
	Trace *TraceComparison `json:"trace,omitempty"`
	// MinSamples and MinChange are the profile diffs' noise floor.
	MinSamples int64   `json:"noise_min_samples"`
	MinChange  float64 `json:"noise_min_change"`
	// Notes say where the two sides do not compare like with like (window
	// lengths, process uptimes, profiles counted over different spans).
	Notes []string `json:"notes,omitempty"`
}

// FormatVersion is the version of the JSON document of a Comparison.
const FormatVersion = 1

// Side describes one snapshot.
type Side struct {
	Name    string          `json:"name,omitempty"`
	Target  string          `json:"target"`
	Window  snapshot.Window `json:"window"`
	Samples int             `json:"samples"`
	// Uptime is how long the process had run at the window's end, in
	// seconds (0: unknown).
	Uptime float64 `json:"uptime_seconds,omitempty"`
}

// Compare sets before and after side by side.
func Compare(before, after *snapshot.Snapshot) *Comparison {
	c := &Comparison{Format: FormatVersion, Before: side(before), After: side(after),
		MinSamples: profile.DefaultMinSamples, MinChange: profile.DefaultMinChange}
	for _, m := range Metrics {
		c.Metrics = append(c.Metrics, compareMetric(m, before, after))
	}
	c.Settings = compareSettings(before, after)
	c.Profiles = compareProfiles(before, after)
	c.Groups = compareGroups(before, after)
	c.Findings = compareFindings(before, after)
	c.Trace = compareTrace(before, after)
	c.Notes = append(notes(c), restartNotes(before, after)...)
	return c
}

// restartNotes say which side's window holds a restart of the target: its
// figures are of two processes (nothing derived across the restart).
func restartNotes(before, after *snapshot.Snapshot) []string {
	var out []string
	for _, sd := range []struct {
		name string
		s    *snapshot.Snapshot
	}{{"before", before}, {"after", after}} {
		for _, r := range sd.s.Restarts() {
			n := fmt.Sprintf("the %s window holds a restart of the target at %s", sd.name, r.At.UTC().Format("2006-01-02 15:04:05 MST"))
			if ps := r.Processes(); ps != "" {
				n += " (" + ps + ")"
			}
			out = append(out, n+": its means span two processes, and no rate is derived across the restart")
		}
	}
	return out
}

func side(s *snapshot.Snapshot) Side {
	m := s.Manifest
	return Side{Name: m.Name, Target: m.Target.Name, Window: m.Window, Samples: len(s.Series.Points),
		Uptime: m.Target.Uptime(m.Window.End).Seconds()}
}

// Thresholds of the like-with-like notes: windows or uptimes that differ
// by more than this factor are said to differ.
const (
	windowRatioNote = 1.5
	uptimeRatioNote = 2.0
)

// notes says where the sides do not compare like with like.
func notes(c *Comparison) []string {
	var out []string
	ratio := func(a, b float64) float64 {
		if a <= 0 || b <= 0 {
			return 0
		}
		return max(a, b) / min(a, b)
	}
	bw, aw := c.Before.Window.Duration().Seconds(), c.After.Window.Duration().Seconds()
	if r := ratio(bw, aw); r > windowRatioNote {
		out = append(out, fmt.Sprintf("the windows differ: %s before, %s after; figures are compared as means over each window",
			measurement.Seconds(bw), measurement.Seconds(aw)))
	}
	bu, au := c.Before.Uptime, c.After.Uptime
	if r := ratio(bu, au); r > uptimeRatioNote {
		out = append(out, fmt.Sprintf("the uptimes differ: the process had run %s at the end of the before window, %s at the end of the after one",
			measurement.Seconds(bu), measurement.Seconds(au)))
	}
	for _, p := range c.Profiles {
		if !p.Kind.Cumulative() || p.Before.Scope == p.After.Scope && p.Before.Scope == profile.ScopeWindow {
			continue
		}
		if p.Before.Scope == profile.ScopeSinceStart || p.After.Scope == profile.ScopeSinceStart {
			out = append(out, fmt.Sprintf("%s: counted since process start on the %s side, not over the window: compare the normalized diff, and take totals with care",
				p.Kind, sinceStartSides(p)))
		}
	}
	return out
}

func sinceStartSides(p ProfileDiff) string {
	switch {
	case p.Before.Scope == profile.ScopeSinceStart && p.After.Scope == profile.ScopeSinceStart:
		return "before and after"
	case p.Before.Scope == profile.ScopeSinceStart:
		return "before"
	}
	return "after"
}

// values are the metric's figures over the window, and whether any is an
// estimate (the live heap from the goal and GOGC where the source reports
// none; never HeapAlloc).
func values(m Metric, s *snapshot.Snapshot) (out []float64, estimated bool) {
	for _, p := range s.Series.Points {
		src := p.Values
		if m.Derived {
			src = p.Derived
		}
		v, ok := src[m.Key]
		if !ok && m.Key == session.GCCPUCores {
			v, ok = session.GCCPUCoresOf(&session.Point{Sample: session.Sample{Values: p.Values}, Derived: p.Derived})
		}
		if !ok && m.Key == session.HeapLive {
			if v, ok = p.Values[session.HeapLiveEstimate]; ok {
				estimated = true
			}
		}
		if ok && !math.IsNaN(v) && !math.IsInf(v, 0) {
			out = append(out, v)
		}
	}
	return out, estimated
}

func stats(vs []float64) *Stats {
	if len(vs) == 0 {
		return nil
	}
	st := &Stats{N: len(vs), Min: vs[0], Max: vs[0]}
	for _, v := range vs {
		st.Min, st.Max = min(st.Min, v), max(st.Max, v)
	}
	st.Mean, st.SD = meanSD(vs, 1)
	if math.IsInf(st.Mean, 0) || math.IsNaN(st.Mean) || math.IsInf(st.SD, 0) || math.IsNaN(st.SD) {
		// Values near the float range's end (a live agent can report
		// ±1.7e308): computed on values scaled by the largest magnitude,
		// so the figures stay finite, which JSON needs.
		scale := max(math.Abs(st.Min), math.Abs(st.Max))
		m, sd := meanSD(vs, scale)
		st.Mean, st.SD = finiteOr(m*scale), finiteOr(sd*scale)
	}
	return st
}

// meanSD is the mean and sample standard deviation of vs/scale.
func meanSD(vs []float64, scale float64) (mean, sd float64) {
	for _, v := range vs {
		mean += v / scale
	}
	mean /= float64(len(vs))
	if len(vs) > 1 {
		var ss float64
		for _, v := range vs {
			ss += (v/scale - mean) * (v/scale - mean)
		}
		sd = math.Sqrt(ss / float64(len(vs)-1))
	}
	return mean, sd
}

// finiteOr clamps ±Inf to the largest finite float of that sign and NaN
// to 0.
func finiteOr(v float64) float64 {
	switch {
	case math.IsNaN(v):
		return 0
	case math.IsInf(v, 1):
		return math.MaxFloat64
	case math.IsInf(v, -1):
		return -math.MaxFloat64
	}
	return v
}

// compareMetric calls a change beyond the noise when the difference of the
// means exceeds two standard errors of that difference (Welch), i.e. when
// the windows' own variation would rarely produce it by chance.
func compareMetric(m Metric, before, after *snapshot.Snapshot) MetricChange {
	bv, be := values(m, before)
	av, ae := values(m, after)
	mc := MetricChange{Name: m.Name, Key: m.Key, Unit: m.Unit, Before: stats(bv), After: stats(av), Estimated: be || ae}
	if mc.Estimated {
		mc.Name += " (estimated)"
	}
	if mc.Before == nil || mc.After == nil {
		return mc
	}
	mc.Delta = finiteOr(mc.After.Mean - mc.Before.Mean)
	if mc.Before.Mean != 0 {
		mc.Rel = finiteOr(mc.Delta / math.Abs(mc.Before.Mean))
	}
	se := math.Sqrt(mc.Before.SD*mc.Before.SD/float64(mc.Before.N) + mc.After.SD*mc.After.SD/float64(mc.After.N))
	if math.IsInf(se, 0) {
		se = math.Hypot(mc.Before.SD/math.Sqrt(float64(mc.Before.N)), mc.After.SD/math.Sqrt(float64(mc.After.N)))
	}
	mc.Noise = finiteOr(2 * se)
	mc.Beyond = math.Abs(mc.Delta) > mc.Noise && mc.Delta != 0
	return mc
}

func compareSettings(before, after *snapshot.Snapshot) []SettingChange {
	var out []SettingChange
	settings := func(s *snapshot.Snapshot) []effective.Setting {
		if ex := s.Manifest.Settings; ex != nil {
			return ex.Settings()
		}
		return make([]effective.Setting, 3)
	}
	b, a := settings(before), settings(after)
	for i, name := range []string{"GOGC", "GOMEMLIMIT", "GOMAXPROCS"} {
		if b[i].Value != a[i].Value {
			out = append(out, SettingChange{Name: name, Before: b[i].Value, After: a[i].Value})
		}
	}
	keys := map[string]bool{}
	for k := range before.Manifest.Env {
		keys[k] = true
	}
	for k := range after.Manifest.Env {
		keys[k] = true
	}
	var names []string
	for k := range keys {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if before.Manifest.Env[k] != after.Manifest.Env[k] {
			out = append(out, SettingChange{Name: "env " + k, Before: before.Manifest.Env[k], After: after.Manifest.Env[k]})
		}
	}
	if b, a := before.Manifest.Target.GoVersion, after.Manifest.Target.GoVersion; b != a {
		out = append(out, SettingChange{Name: "Go version", Before: b, After: a})
	}
	return out
}

func compareProfiles(before, after *snapshot.Snapshot) []ProfileDiff {
	var out []ProfileDiff
	for _, k := range before.Kinds() {
		b, a := before.Profile(k), after.Profile(k)
		if a == nil {
			continue
		}
		pd := ProfileDiff{Kind: k, Before: profileSide(before, b), After: profileSide(after, a)}
		if b.Profile == nil || a.Profile == nil {
			pd.Error = "a side's profile could not be read (see the report's problems)"
			out = append(out, pd)
			continue
		}
		abs, err := profile.NewDiff(b.Profile, a.Profile, profile.DiffOptions{})
		if err != nil {
			pd.Error = err.Error()
			out = append(out, pd)
			continue
		}
		norm, _ := profile.NewDiff(b.Profile, a.Profile, profile.DiffOptions{Normalize: true})
		pd.Absolute, pd.Normalized = abs, norm
		out = append(out, pd)
	}
	return out
}

func profileSide(s *snapshot.Snapshot, c *profile.Captured) ProfileSide {
	ps := ProfileSide{Scope: c.Scope, Seconds: c.Seconds()}
	if sc, ok := seriesCounter[c.Kind]; ok && c.Scope == profile.ScopeWindow {
		if r, ok := seriesRate(s, sc.name, c.From, c.To); ok {
			ps.SeriesPerSecond, ps.SeriesMetric = r*sc.scale, sc.name
		}
	}
	if c.Profile == nil {
		return ps
	}
	if top, err := profile.NewTop(c.Profile, profile.TopOptions{}); err == nil {
		ps.SampleType, ps.Unit, ps.Total = top.SampleType.Type, top.SampleType.Unit, top.Total
	}
	if ps.Seconds > 0 {
		ps.PerSecond = float64(ps.Total) / ps.Seconds
	}
	return ps
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func groups(s *snapshot.Snapshot) []profile.GoroutineGroup {
	if len(s.Goroutines) > 0 {
		return s.Goroutines
	}
	if len(s.GoroutineDump) > 0 {
		if parsed, err := profile.ParseGoroutineDumpBytes(s.GoroutineDump); err == nil {
			return profile.GroupGoroutines(parsed, profile.GroupOptions{})
		}
	}
	return nil
}

// groupKey identifies a group across snapshots: state, the function of
// every frame (not lines or arguments, which move between builds) and the
// creator.
func groupKey(g profile.GoroutineGroup) (key, top string) {
	var b strings.Builder
	b.WriteString(g.State)
	var fns []string
	for _, f := range g.Frames {
		b.WriteString("\x00")
		b.WriteString(f.Func)
		fns = append(fns, f.Func)
	}
	if g.CreatedBy != nil {
		b.WriteString("\x00C")
		b.WriteString(g.CreatedBy.Func)
	}
	return b.String(), strings.Join(fns[:min(3, len(fns))], " ← ")
}

func compareGroups(before, after *snapshot.Snapshot) []GroupChange {
	type agg struct {
		state, top string
		n          int
	}
	count := func(gs []profile.GoroutineGroup) map[string]*agg {
		m := map[string]*agg{}
		for _, g := range gs {
			k, top := groupKey(g)
			if m[k] == nil {
				m[k] = &agg{state: g.State, top: top}
			}
			m[k].n += g.Count
		}
		return m
	}
	b, a := count(groups(before)), count(groups(after))
	var out []GroupChange
	for k, ga := range a {
		gb := b[k]
		switch {
		case gb == nil:
			out = append(out, GroupChange{Change: "appeared", State: ga.state, Top: ga.top, After: ga.n})
		case ga.n > gb.n:
			out = append(out, GroupChange{Change: "grew", State: ga.state, Top: ga.top, Before: gb.n, After: ga.n})
		case ga.n < gb.n:
			out = append(out, GroupChange{Change: "shrank", State: ga.state, Top: ga.top, Before: gb.n, After: ga.n})
		}
	}
	for k, gb := range b {
		if a[k] == nil {
			out = append(out, GroupChange{Change: "vanished", State: gb.state, Top: gb.top, Before: gb.n})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		di, dj := abs(out[i].After-out[i].Before), abs(out[j].After-out[j].Before)
		if di != dj {
			return di > dj
		}
		return out[i].Top < out[j].Top
	})
	return out
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// findings are the advisor's findings of a snapshot.
func findings(s *snapshot.Snapshot) []advisor.Finding {
	if s.Advice == nil {
		return nil
	}
	return s.Advice.Findings
}

func compareFindings(before, after *snapshot.Snapshot) []FindingChange {
	b, a := findings(before), findings(after)
	inA := map[string]advisor.Finding{}
	for _, f := range a {
		inA[f.ID] = f
	}
	inB := map[string]bool{}
	var out []FindingChange
	for _, f := range b {
		inB[f.ID] = true
		if _, ok := inA[f.ID]; ok {
			out = append(out, FindingChange{Change: "still", ID: f.ID, Severity: inA[f.ID].Severity.String(), Title: inA[f.ID].Title})
		} else {
			out = append(out, FindingChange{Change: "resolved", ID: f.ID, Severity: f.Severity.String(), Title: f.Title})
		}
	}
	for _, f := range a {
		if !inB[f.ID] {
			out = append(out, FindingChange{Change: "new", ID: f.ID, Severity: f.Severity.String(), Title: f.Title})
		}
	}
	return out
}

// String is a one-line summary, for logs.
func (c *Comparison) String() string {
	beyond := 0
	for _, m := range c.Metrics {
		if m.Beyond {
			beyond++
		}
	}
	return fmt.Sprintf("%d metrics changed beyond noise, %d settings changed, %d goroutine group changes, %d findings compared",
		beyond, len(c.Settings), len(c.Groups), len(c.Findings))
}
