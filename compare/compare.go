// Package compare sets two snapshots side by side as a whole: the metrics
// of each window with whether a change is beyond that window's noise, the
// profiles frame by frame (absolute and normalized), the goroutine groups
// that appeared, grew or vanished, the settings that changed, and the
// findings resolved or new. It is pure: it reads snapshot.Snapshot values
// and does no I/O.
package compare

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

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
	{"GC CPU", session.GCCPU, true, "fraction"},
	{"GC cycles/s", session.GCRate, true, "cycles/s"},
	{"GC pause p99", session.PauseP99, true, "seconds"},
	{"sched latency p99", session.SchedLatP99, true, "seconds"},
	{"allocation rate", session.AllocRate, true, "bytes/s"},
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
	Kind       string        `json:"kind"`
	Absolute   *profile.Diff `json:"absolute,omitempty"`
	Normalized *profile.Diff `json:"normalized,omitempty"`
	Error      string        `json:"error,omitempty"`
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
	// MinSamples and MinChange are the profile diffs' noise floor.
	MinSamples int64   `json:"noise_min_samples"`
	MinChange  float64 `json:"noise_min_change"`
}

// FormatVersion is the version of the JSON document of a Comparison.
const FormatVersion = 1

// Side describes one snapshot.
type Side struct {
	Name    string          `json:"name,omitempty"`
	Target  string          `json:"target"`
	Window  snapshot.Window `json:"window"`
	Samples int             `json:"samples"`
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
	return c
}

func side(s *snapshot.Snapshot) Side {
	return Side{Name: s.Manifest.Name, Target: s.Manifest.Target.Name, Window: s.Manifest.Window, Samples: len(s.Series.Points)}
}

func values(m Metric, s *snapshot.Snapshot) []float64 {
	var out []float64
	for _, p := range s.Series.Points {
		src := p.Values
		if m.Derived {
			src = p.Derived
		}
		v, ok := src[m.Key]
		if !ok && m.Key == session.HeapLive {
			v, ok = p.Values[session.HeapObjects]
		}
		if ok && !math.IsNaN(v) && !math.IsInf(v, 0) {
			out = append(out, v)
		}
	}
	return out
}

func stats(vs []float64) *Stats {
	if len(vs) == 0 {
		return nil
	}
	st := &Stats{N: len(vs), Min: vs[0], Max: vs[0]}
	for _, v := range vs {
		st.Mean += v
		st.Min, st.Max = min(st.Min, v), max(st.Max, v)
	}
	st.Mean /= float64(len(vs))
	if len(vs) > 1 {
		var ss float64
		for _, v := range vs {
			ss += (v - st.Mean) * (v - st.Mean)
		}
		st.SD = math.Sqrt(ss / float64(len(vs)-1))
	}
	return st
}

// compareMetric calls a change beyond the noise when the difference of the
// means exceeds two standard errors of that difference (Welch), i.e. when
// the windows' own variation would rarely produce it by chance.
func compareMetric(m Metric, before, after *snapshot.Snapshot) MetricChange {
	mc := MetricChange{Name: m.Name, Key: m.Key, Unit: m.Unit, Before: stats(values(m, before)), After: stats(values(m, after))}
	if mc.Before == nil || mc.After == nil {
		return mc
	}
	mc.Delta = mc.After.Mean - mc.Before.Mean
	if mc.Before.Mean != 0 {
		mc.Rel = mc.Delta / math.Abs(mc.Before.Mean)
	}
	se := math.Sqrt(mc.Before.SD*mc.Before.SD/float64(mc.Before.N) + mc.After.SD*mc.After.SD/float64(mc.After.N))
	mc.Noise = 2 * se
	mc.Beyond = math.Abs(mc.Delta) > mc.Noise && mc.Delta != 0
	return mc
}

type settingValue struct {
	Value  string `json:"value"`
	Source string `json:"source"`
}

func compareSettings(before, after *snapshot.Snapshot) []SettingChange {
	var out []SettingChange
	parse := func(raw json.RawMessage) map[string]settingValue {
		var ex map[string]settingValue
		_ = json.Unmarshal(raw, &ex)
		return ex
	}
	b, a := parse(before.Manifest.Settings), parse(after.Manifest.Settings)
	for _, k := range []string{"gogc", "gomemlimit", "gomaxprocs"} {
		if b[k].Value != a[k].Value {
			out = append(out, SettingChange{Name: strings.ToUpper(k), Before: b[k].Value, After: a[k].Value})
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
	var kinds []string
	for k := range before.Profiles {
		if _, ok := after.Profiles[k]; ok {
			kinds = append(kinds, k)
		}
	}
	order := []string{"cpu", "heap", "allocs", "goroutine", "mutex", "block"}
	slices.SortFunc(kinds, func(a, b string) int {
		ia, ib := slices.Index(order, a), slices.Index(order, b)
		if ia < 0 {
			ia = len(order)
		}
		if ib < 0 {
			ib = len(order)
		}
		if ia != ib {
			return ia - ib
		}
		return strings.Compare(a, b)
	})
	var out []ProfileDiff
	for _, k := range kinds {
		pd := ProfileDiff{Kind: k}
		base, err1 := profile.ParseBytes(before.Profiles[k])
		cur, err2 := profile.ParseBytes(after.Profiles[k])
		if err := firstErr(err1, err2); err != nil {
			pd.Error = err.Error()
			out = append(out, pd)
			continue
		}
		abs, err := profile.NewDiff(base, cur, profile.DiffOptions{})
		if err != nil {
			pd.Error = err.Error()
			out = append(out, pd)
			continue
		}
		norm, _ := profile.NewDiff(base, cur, profile.DiffOptions{Normalize: true})
		pd.Absolute, pd.Normalized = abs, norm
		out = append(out, pd)
	}
	return out
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
	var gs []profile.GoroutineGroup
	if len(s.Goroutines) > 0 && json.Unmarshal(s.Goroutines, &gs) == nil {
		return gs
	}
	if len(s.GoroutineDump) > 0 {
		if parsed, err := profile.ParseGoroutineDumpBytes(s.GoroutineDump); err == nil {
			return profile.GroupGoroutines(parsed, profile.GroupOptions{IgnoreArgs: true})
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

// finding is the part of an advisor.Finding a comparison needs; decoding
// only that keeps this package independent of the advisor's other fields.
type finding struct {
	ID       string `json:"id"`
	Severity string `json:"severity"`
	Title    string `json:"title"`
}

// findings reads the advisor report (advisor.Report JSON) of a snapshot.
func findings(s *snapshot.Snapshot) []finding {
	var r struct {
		Findings []finding `json:"findings"`
	}
	if len(s.Findings) == 0 || json.Unmarshal(s.Findings, &r) != nil {
		return nil
	}
	return r.Findings
}

func compareFindings(before, after *snapshot.Snapshot) []FindingChange {
	b, a := findings(before), findings(after)
	inA := map[string]finding{}
	for _, f := range a {
		inA[f.ID] = f
	}
	inB := map[string]bool{}
	var out []FindingChange
	for _, f := range b {
		inB[f.ID] = true
		if _, ok := inA[f.ID]; ok {
			out = append(out, FindingChange{Change: "still", ID: f.ID, Severity: inA[f.ID].Severity, Title: inA[f.ID].Title})
		} else {
			out = append(out, FindingChange{Change: "resolved", ID: f.ID, Severity: f.Severity, Title: f.Title})
		}
	}
	for _, f := range a {
		if !inB[f.ID] {
			out = append(out, FindingChange{Change: "new", ID: f.ID, Severity: f.Severity, Title: f.Title})
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
