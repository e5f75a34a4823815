// Package trigger decides, from outside a process, when to capture it on
// its own: rules such as "GC CPU above 20 % for 30 s" or "goroutines
// growing by more than 100 a minute" read the session snapshots gotune
// already keeps (runtime metrics, the OS figures, cgroup limits), and an
// Engine turns their readings into episodes — one firing when a rule
// starts to hold, none while it goes on holding, none again within the
// cool-down — so `gotune watch` captures one bundle per episode. It is
// what mosn/holmes does from inside the process, done from outside.
//
// It is pure: no I/O, and every time comes from the snapshots (the
// newest point's time is "now"), so tests feed it synthetic stores.
package trigger

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gotune/gotune/measurement"
	"github.com/gotune/gotune/session"
)

// Kind names what a rule watches.
type Kind string

// The kinds of rule. Each reads one figure the session already derives;
// the comments say which and in what unit the threshold is.
const (
	// GCCPU: the GC's share of the CPU the runtime had (session.GCCPU,
	// computed over session.GCCPUWindow), a fraction. The GC guide's
	// "Identifying costs" treats GC CPU above about 10 % as worth tuning.
	GCCPU Kind = "gc-cpu"
	// GoroutineGrowth: /sched/goroutines:goroutines growth over the
	// rule's duration, goroutines per minute (a leak grows steadily).
	GoroutineGrowth Kind = "goroutine-growth"
	// RSS: the resident set size as a fraction of the memory limit (the
	// cgroup limit, which the kernel's OOM killer enforces, else
	// GOMEMLIMIT).
	RSS Kind = "rss"
	// HeapGoal: the heap goal as a fraction of the limit it approaches
	// (GOMEMLIMIT, else the cgroup limit): at 1 the GC runs as often as
	// it must to stay under it (GC guide, "Memory limit").
	HeapGoal Kind = "heap-goal"
	// SchedLatency: the p99 of /sched/latencies:seconds between samples
	// (session.SchedLatP99), seconds.
	SchedLatency Kind = "sched-p99"
)

// kindInfo describes a kind: its default duration and how its figure and
// threshold read.
type kindInfo struct {
	title   string
	unit    string // "%", "/min", "s"
	defFor  time.Duration
	atLeast bool // holds at the threshold too
	format  func(float64) string
}

var kinds = map[Kind]kindInfo{
	GCCPU:           {title: "GC CPU", unit: "%", defFor: 30 * time.Second, format: measurement.Percent},
	GoroutineGrowth: {title: "goroutine growth", unit: "/min", defFor: time.Minute, format: perMinute},
	RSS:             {title: "RSS", unit: "%", defFor: 30 * time.Second, format: measurement.Percent},
	HeapGoal:        {title: "heap goal", unit: "%", defFor: 10 * time.Second, atLeast: true, format: measurement.Percent},
	SchedLatency:    {title: "scheduler latency p99", unit: "s", defFor: 30 * time.Second, format: measurement.Seconds},
}

func perMinute(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) + "/min" }

// Kinds lists the kinds, for help texts.
func Kinds() []Kind { return []Kind{GCCPU, GoroutineGrowth, RSS, HeapGoal, SchedLatency} }

// Rule is one trigger.
type Rule struct {
	Kind Kind
	// Threshold is in the kind's unit: a fraction for gc-cpu, rss and
	// heap-goal, goroutines per minute, seconds.
	Threshold float64
	// For is how long the condition must hold (growth: the span it is
	// measured over).
	For time.Duration
}

// Syntax is the rule syntax for help texts.
const Syntax = `KIND>THRESHOLD[:FOR], KIND one of gc-cpu (percent), goroutine-growth (per minute or per second), rss and heap-goal (percent of the memory limit), sched-p99 (a duration): gc-cpu>20%:30s, goroutine-growth>100/min:1m, rss>90%:30s, heap-goal>95%:10s, sched-p99>10ms:30s`

// Parse reads a rule: KIND>THRESHOLD[:FOR] (see Syntax).
func Parse(spec string) (Rule, error) {
	s := strings.ReplaceAll(spec, " ", "")
	name, rest, ok := strings.Cut(s, ">")
	if !ok {
		return Rule{}, fmt.Errorf("trigger %q: want %s", spec, Syntax)
	}
	k := Kind(name)
	info, ok := kinds[k]
	if !ok {
		return Rule{}, fmt.Errorf("trigger %q: unknown kind %q; want %s", spec, name, Syntax)
	}
	r := Rule{Kind: k, For: info.defFor}
	th := rest
	// The duration follows the last colon ("sched-p99>10ms:30s"); a rate
	// has none of its own.
	if i := strings.LastIndexByte(rest, ':'); i >= 0 {
		th = rest[:i]
		d, err := time.ParseDuration(rest[i+1:])
		if err != nil || d < 0 || d > 24*time.Hour {
			return Rule{}, fmt.Errorf("trigger %q: duration %q: want a Go duration between 0 and 24h, such as 30s", spec, rest[i+1:])
		}
		r.For = d
	}
	var err error
	switch info.unit {
	case "%":
		v, ok := strings.CutSuffix(th, "%")
		var x float64
		if x, err = strconv.ParseFloat(v, 64); err == nil {
			r.Threshold = x / 100
			if !ok && x <= 1 { // a bare fraction: 0.2
				r.Threshold = x
			}
		}
		if err == nil && (r.Threshold <= 0 || r.Threshold > 2) {
			err = errors.New("want a percentage above 0 and at most 200%")
		}
	case "/min":
		v, unit := th, 1.0
		switch {
		case strings.HasSuffix(th, "/min"):
			v = strings.TrimSuffix(th, "/min")
		case strings.HasSuffix(th, "/s"):
			v, unit = strings.TrimSuffix(th, "/s"), 60
		}
		if r.Threshold, err = strconv.ParseFloat(v, 64); err == nil {
			r.Threshold *= unit
			if r.Threshold <= 0 {
				err = errors.New("want a growth above 0, such as 100/min")
			}
		}
		if r.For == 0 {
			r.For = info.defFor // growth needs a span
		}
	case "s":
		var d time.Duration
		if d, err = time.ParseDuration(th); err == nil {
			r.Threshold = d.Seconds()
			if d <= 0 {
				err = errors.New("want a duration above 0, such as 10ms")
			}
		}
	}
	if err != nil {
		return Rule{}, fmt.Errorf("trigger %q: threshold %q: %v", spec, th, err)
	}
	return r, nil
}

// String is the rule in Parse's syntax: gc-cpu>20%:30s.
func (r Rule) String() string {
	var th string
	switch kinds[r.Kind].unit {
	case "%":
		th = strconv.FormatFloat(r.Threshold*100, 'f', -1, 64) + "%"
	case "/min":
		th = strconv.FormatFloat(r.Threshold, 'f', -1, 64) + "/min"
	default:
		th = time.Duration(r.Threshold * float64(time.Second)).String()
	}
	return fmt.Sprintf("%s>%s:%s", r.Kind, th, shortDuration(r.For))
}

// Describe says the rule for people: "GC CPU above 20.0% for 30s".
func (r Rule) Describe() string {
	info := kinds[r.Kind]
	th := info.format(r.Threshold)
	switch r.Kind {
	case GoroutineGrowth:
		return fmt.Sprintf("goroutines growing by more than %s over %s", th, shortDuration(r.For))
	case RSS:
		return fmt.Sprintf("RSS above %s of the memory limit for %s", th, shortDuration(r.For))
	case HeapGoal:
		return fmt.Sprintf("heap goal at %s of the memory limit or more for %s", th, shortDuration(r.For))
	}
	return fmt.Sprintf("%s above %s for %s", info.title, th, shortDuration(r.For))
}

func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// Reading is a rule's judgement of one snapshot.
type Reading struct {
	// Known is false when the snapshot cannot tell (too short, a figure
	// the source does not give, no memory limit); Why then says why.
	Known bool
	Why   string
	// Holds is true when the condition held over the whole duration.
	Holds bool
	// Value is the figure judged: the lowest over the duration for
	// "above for", the growth for growth, in the threshold's unit.
	Value float64
	// Text says it for people, with the figures' origins:
	// "GC CPU at least 34.2% over the last 30s (gc-cpu:fraction via agent; threshold 20.0%)".
	Text string
	// At is the newest point's time.
	At time.Time
}

// Check judges the rule over snap's points, the newest point being now.
func (r Rule) Check(snap *session.Snapshot) Reading {
	last := snap.Latest()
	if last == nil {
		return Reading{Why: "no sample yet"}
	}
	now := last.Time
	rd := Reading{At: now}
	pts := snap.Points
	// The duration is covered once a point at or before its start exists.
	startIdx := -1
	for i := len(pts) - 1; i >= 0; i-- {
		if !pts[i].Time.After(now.Add(-r.For)) {
			startIdx = i
			break
		}
	}
	if startIdx < 0 {
		rd.Why = fmt.Sprintf("%s of samples needed, %s held", shortDuration(r.For), now.Sub(pts[0].Time).Round(time.Second))
		return rd
	}
	info := kinds[r.Kind]
	via := last.Source
	if r.Kind == GoroutineGrowth {
		g1, ok1 := last.Values[session.Goroutines]
		g0, ok0 := pts[startIdx].Values[session.Goroutines]
		if !ok1 || !ok0 {
			rd.Why = "no goroutine count via " + via
			return rd
		}
		span := now.Sub(pts[startIdx].Time)
		if span <= 0 {
			rd.Why = "no time between samples"
			return rd
		}
		rd.Known = true
		rd.Value = (g1 - g0) / span.Minutes()
		rd.Holds = rd.Value > r.Threshold
		rd.Text = fmt.Sprintf("goroutines grew from %.0f to %.0f in %s: %s (%s via %s; threshold %s)",
			g0, g1, span.Round(time.Second), perMinute(rd.Value), session.Goroutines, via, perMinute(r.Threshold))
		return rd
	}
	// "Above for": every point in the duration must hold. The covering
	// point before its start does not count, unless it is the only one.
	figure, origin, why := r.figure(snap)
	from := startIdx
	if pts[from].Time.Before(now.Add(-r.For)) && from+1 < len(pts) {
		from++
	}
	lowest := math.Inf(1)
	holds := true
	n, lacking := 0, 0
	for i := from; i < len(pts); i++ {
		v, ok := figure(&pts[i])
		if !ok {
			holds = false
			lacking++
			continue
		}
		n++
		lowest = min(lowest, v)
		if v < r.Threshold || v == r.Threshold && !info.atLeast {
			holds = false
		}
	}
	if n == 0 {
		rd.Why = why
		return rd
	}
	rd.Known, rd.Holds, rd.Value = true, holds, lowest
	over := "over the last " + shortDuration(r.For)
	if r.For == 0 {
		over = "now"
	}
	rd.Text = fmt.Sprintf("%s at least %s %s (%s; threshold %s)", info.title, info.format(lowest), over, origin, info.format(r.Threshold))
	if lacking > 0 {
		rd.Text += fmt.Sprintf("; %d samples lacked it", lacking)
	}
	return rd
}

// figure returns how to read the rule's figure from a point, its origin,
// and why it may be missing.
func (r Rule) figure(snap *session.Snapshot) (func(*session.Point) (float64, bool), string, string) {
	last := snap.Latest()
	via := last.Source
	derived := func(name string) func(*session.Point) (float64, bool) {
		return func(p *session.Point) (float64, bool) {
			v, ok := p.Derived[name]
			return v, ok && !math.IsNaN(v)
		}
	}
	switch r.Kind {
	case GCCPU:
		o := fmt.Sprintf("%s over %s via %s", session.GCCPU, session.GCCPUWindow, via)
		if x, ok := last.Origins[session.GCCPU]; ok {
			o = x
		}
		return derived(session.GCCPU), o, "no GC CPU via " + via + " (the gotune agent or runtime/metrics via Prometheus give /cpu/classes)"
	case SchedLatency:
		return derived(session.SchedLatP99), session.SchedLatencies + " p99 between samples via " + via,
			"no scheduler latency histogram via " + via
	case RSS:
		limit, from := memoryLimit(snap, true)
		if limit <= 0 {
			return func(*session.Point) (float64, bool) { return 0, false }, "", "no memory limit: neither a cgroup memory limit nor GOMEMLIMIT"
		}
		return func(p *session.Point) (float64, bool) {
			v, ok := p.Values[session.ProcessRSS]
			return v / limit, ok
		}, fmt.Sprintf("%s / %s %s", session.ProcessRSS, from, measurement.Bytes(limit)), "no RSS"
	case HeapGoal:
		limit, from := memoryLimit(snap, false)
		if limit <= 0 {
			return func(*session.Point) (float64, bool) { return 0, false }, "", "no memory limit: neither GOMEMLIMIT nor a cgroup memory limit"
		}
		return func(p *session.Point) (float64, bool) {
			v, ok := p.Values[session.HeapGoal]
			return v / limit, ok
		}, fmt.Sprintf("%s / %s %s via %s", session.HeapGoal, from, measurement.Bytes(limit), via), "no heap goal via " + via
	}
	return func(*session.Point) (float64, bool) { return 0, false }, "", "unknown rule kind " + string(r.Kind)
}

// memoryLimit is the limit RSS or the heap goal is compared with: the
// cgroup limit first for RSS (the kernel kills on it), GOMEMLIMIT first
// for the heap goal (the runtime steers the goal by it).
func memoryLimit(snap *session.Snapshot, cgroupFirst bool) (float64, string) {
	var cg, gm float64
	if c := snap.Facts.Cgroup; c != nil && c.Memory != nil && c.Memory.Limited {
		cg = float64(c.Memory.Limit)
	}
	if v, ok := snap.Latest().Values[session.GOMEMLIMIT]; ok && v > 0 && v < math.MaxInt64 {
		gm = v
	}
	switch {
	case cgroupFirst && cg > 0, !cgroupFirst && gm == 0 && cg > 0:
		return cg, "the cgroup memory limit"
	case gm > 0:
		return gm, session.GOMEMLIMIT
	}
	return 0, ""
}
