package advisor

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/gotune/gotune/collectors/cgroup"
	"github.com/gotune/gotune/collectors/effective"
	"github.com/gotune/gotune/measurement"
	"github.com/gotune/gotune/session"
)

// Metric names the advisor reads that the session package does not name.
const (
	metricScanStack      = "/gc/scan/stack:bytes"
	metricScanGlobals    = "/gc/scan/globals:bytes"
	metricHeapUnused     = "/memory/classes/heap/unused:bytes"
	metricHeapFree       = "/memory/classes/heap/free:bytes"
	metricHeapReleased   = "/memory/classes/heap/released:bytes"
	metricCleanupsQueued = "/gc/cleanups/queued:cleanups"
	metricCleanupsRun    = "/gc/cleanups/executed:cleanups"
)

// noLimit is how /gc/gomemlimit:bytes reads "no limit" (math.MaxInt64).
const noLimit = float64(math.MaxInt64)

// window is the samples a check looks at.
type window struct {
	pts  []session.Point
	span Span
}

func newWindow(pts []session.Point) window {
	w := window{pts: pts}
	if len(pts) > 0 {
		w.span = Span{From: pts[0].Time, To: pts[len(pts)-1].Time}
	}
	return w
}

func (w window) seconds() float64 { return w.span.Duration().Seconds() }

// last returns the newest value of name.
func (w window) last(name string) (float64, bool) {
	for i := len(w.pts) - 1; i >= 0; i-- {
		if v, ok := w.pts[i].Values[name]; ok {
			return v, true
		}
	}
	return 0, false
}

// first returns the oldest value of name.
func (w window) first(name string) (float64, bool) {
	for i := range w.pts {
		if v, ok := w.pts[i].Values[name]; ok {
			return v, true
		}
	}
	return 0, false
}

// endpoints returns the first and last points holding name, with their
// values; ok is false if fewer than two points hold it.
func (w window) endpoints(name string) (a, b *session.Point, va, vb float64, ok bool) {
	ia, ib := -1, -1
	for i := range w.pts {
		if _, has := w.pts[i].Values[name]; has {
			if ia < 0 {
				ia = i
			}
			ib = i
		}
	}
	if ia < 0 || ib <= ia {
		return nil, nil, 0, 0, false
	}
	a, b = &w.pts[ia], &w.pts[ib]
	return a, b, a.Values[name], b.Values[name], true
}

// delta returns the increase of a cumulative counter over the window and the
// seconds it covers; ok is false when the counter is missing or went
// backwards anywhere (the target restarted).
func (w window) delta(name string) (d, secs float64, ok bool) {
	a, b, va, vb, ok := w.endpoints(name)
	if !ok {
		return 0, 0, false
	}
	prev := va
	for i := range w.pts {
		if v, has := w.pts[i].Values[name]; has {
			if v < prev {
				return 0, 0, false
			}
			prev = v
		}
	}
	return vb - va, b.Time.Sub(a.Time).Seconds(), true
}

// values returns every value of name in the window, oldest first.
func (w window) values(name string) []float64 {
	var out []float64
	for i := range w.pts {
		if v, ok := w.pts[i].Values[name]; ok {
			out = append(out, v)
		}
	}
	return out
}

// derived returns every derived figure name in the window.
func (w window) derived(name string) []float64 {
	var out []float64
	for i := range w.pts {
		if v, ok := w.pts[i].Derived[name]; ok {
			out = append(out, v)
		}
	}
	return out
}

// quantile returns the q-quantile of a cumulative histogram's samples that
// arrived during the window.
func (w window) quantile(name string, q float64) (float64, bool) {
	var first, last *session.Histogram
	for i := range w.pts {
		if h, ok := w.pts[i].Histograms[name]; ok {
			if first == nil {
				first = h
			}
			last = h
		}
	}
	if first == nil || last == first {
		return 0, false
	}
	d := last.Sub(first)
	if d == nil {
		return 0, false
	}
	return d.Quantile(q)
}

// stats are the mean, spread and extremes of a series.
type stats struct {
	n              int
	mean, sd       float64
	min, max       float64
	first, lastVal float64
}

func statsOf(xs []float64) stats {
	s := stats{n: len(xs)}
	if len(xs) == 0 {
		return s
	}
	s.min, s.max = math.Inf(1), math.Inf(-1)
	for _, x := range xs {
		s.mean += x
		s.min, s.max = min(s.min, x), max(s.max, x)
	}
	s.mean /= float64(len(xs))
	for _, x := range xs {
		s.sd += (x - s.mean) * (x - s.mean)
	}
	if len(xs) > 1 {
		s.sd = math.Sqrt(s.sd / float64(len(xs)-1))
	}
	s.first, s.lastVal = xs[0], xs[len(xs)-1]
	return s
}

// check carries one Advise call's inputs and the figures several rules share.
type check struct {
	in    Input
	cfg   Config
	w     window
	rule  string // the rule running now, for skips
	skips []Skip

	model    *GCObservation // nil when the window cannot fit the GC model
	modelWhy Skip
	whatIfV  *WhatIf
	whatDone bool

	gcFig     gcCPUFigure
	gcFigOK   bool
	gcFigDone bool
}

func newCheck(in Input, cfg Config) *check {
	c := &check{in: in, cfg: cfg, w: newWindow(in.Points)}
	c.model, c.modelWhy = c.observeGC()
	return c
}

// cannot records that the running rule could not run: what is missing and
// what would let it run.
func (c *check) cannot(reason, enable string) {
	c.skips = append(c.skips, Skip{Rule: c.rule, Reason: reason, Enable: enable})
}

// partly records that the running rule ran without a detail.
func (c *check) partly(reason, enable string) {
	c.skips = append(c.skips, Skip{Rule: c.rule, Reason: reason, Enable: enable, Partial: true})
}

// cannotSkip records a prepared skip for the running rule.
func (c *check) cannotSkip(s Skip) {
	s.Rule = c.rule
	c.skips = append(c.skips, s)
}

// tooShort records that the window is shorter than the running rule needs.
func (c *check) tooShort(need int, why string) {
	c.cannot(fmt.Sprintf("the window holds %d sample(s) and this check needs %d (%s)", len(c.w.pts), need, why),
		"watch longer: --window")
}

// What would give the advisor what it lacks.
const (
	enablePID   = "attach by PID on the target's host: gotune reads the cgroup, build, environment and NUMA facts from /proc and /sys"
	enableAgent = `add the gotune agent to the target (import _ "github.com/gotune/gotune/agent"): it serves every runtime/metrics figure`
	enablePprof = `register net/http/pprof in the target (import _ "net/http/pprof")`
)

// sources returns the distinct sample sources of the window ("agent",
// "prometheus", ...), in order of first appearance.
func (c *check) sources() []string {
	var out []string
	for _, p := range c.w.pts {
		if p.Source != "" && !slices.Contains(out, p.Source) {
			out = append(out, p.Source)
		}
	}
	return out
}

// via says where the window's samples came from: "via prometheus".
func (c *check) via() string {
	if s := c.sources(); len(s) > 0 {
		return "via " + strings.Join(s, ", ")
	}
	return "in the samples"
}

// has reports whether any point of the window holds name.
func (c *check) has(name string) bool {
	return slices.ContainsFunc(c.w.pts, func(p session.Point) bool { _, ok := p.Values[name]; return ok })
}

// hasHistogram reports whether any point of the window holds the
// histogram name.
func (c *check) hasHistogram(name string) bool {
	return slices.ContainsFunc(c.w.pts, func(p session.Point) bool { _, ok := p.Histograms[name]; return ok })
}

// origin says where the newest value of a metric or derived figure came
// from: the sample's origin for it when the collector gave one, else the
// name and the sample's source. estimated is true for an estimate.
func (c *check) origin(name string) (origin string, estimated bool) {
	for i := len(c.w.pts) - 1; i >= 0; i-- {
		p := &c.w.pts[i]
		if o := p.Origins[name]; o != "" {
			return o, session.IsEstimate(o)
		}
		_, v := p.Values[name]
		_, d := p.Derived[name]
		_, h := p.Histograms[name]
		if v || d || h {
			if p.Source != "" {
				return name + " via " + p.Source, false
			}
			return name, false
		}
	}
	return name, false
}

// givenOrigin is the origin the collectors gave for name's newest value,
// "" when they gave none.
func (c *check) givenOrigin(name string) string {
	for i := len(c.w.pts) - 1; i >= 0; i-- {
		if o := c.w.pts[i].Origins[name]; o != "" {
			return o
		}
	}
	return ""
}

// evm builds an evidence entry for a metric measured over the window, its
// source and estimate flag from the metric's origin.
func (c *check) evm(label, name string, v float64, unit, text string) Evidence {
	o, est := c.origin(name)
	e := c.ev(label, v, unit, text, o)
	e.Estimated = est
	return e
}

// ev builds an evidence entry measured over the whole window.
func (c *check) ev(name string, v float64, unit, text, source string) Evidence {
	return Evidence{Name: name, Value: v, Unit: unit, Text: text, Window: c.w.span, Source: source, Estimated: session.IsEstimate(source)}
}

// fact builds an evidence entry for a fact read once.
func fact(name string, v float64, unit, text, source string) Evidence {
	return Evidence{Name: name, Value: v, Unit: unit, Text: text, Source: source}
}

// settingEvidence is a live setting with where it was read: the metric
// when the window has it, else the effective settings (environment, build).
func (c *check) settingEvidence(name, metric string, v float64, text string) Evidence {
	unit := ""
	if metric == session.GOMEMLIMIT {
		unit = "bytes"
	}
	if c.has(metric) {
		o, _ := c.origin(metric)
		return fact(name, v, unit, text, o)
	}
	return fact(name, v, unit, text, "effective settings ("+name+" from the environment or Go's default)")
}

// processCores is the process CPU the OS measured, in cores, averaged
// over the window.
func (c *check) processCores() (float64, bool) {
	s := statsOf(c.w.derived(session.ProcessCPUFrac))
	return s.mean, s.n > 0
}

// gogc returns the live GOGC (-1 for off).
func (c *check) gogc() (int, bool) {
	if v, ok := c.w.last(session.GOGC); ok {
		return gogcOf(v), true
	}
	if s := c.in.Facts.Settings; s != nil && s.GOGC.Value != "?" {
		if s.GOGC.Value == "off" {
			return -1, true
		}
		if n, err := strconv.Atoi(s.GOGC.Value); err == nil {
			return n, true
		}
	}
	return 0, false
}

// memLimit returns the live GOMEMLIMIT in bytes; 0 means no limit.
func (c *check) memLimit() (float64, bool) {
	if v, ok := c.w.last(session.GOMEMLIMIT); ok {
		if v >= noLimit {
			return 0, true
		}
		return v, true
	}
	if s := c.in.Facts.Settings; s != nil {
		switch s.GOMEMLIMIT.Value {
		case "?":
		case "no limit":
			return 0, true
		default:
			if n, ok := effective.ParseByteCount(s.GOMEMLIMIT.Value); ok {
				return float64(n), true
			}
		}
	}
	return 0, false
}

// gomaxprocs returns the live GOMAXPROCS.
func (c *check) gomaxprocs() (int, bool) {
	if v, ok := c.w.last(session.GOMAXPROCS); ok && v > 0 {
		return int(v), true
	}
	if s := c.in.Facts.Settings; s != nil {
		if n, err := strconv.Atoi(s.GOMAXPROCS.Value); err == nil && n > 0 {
			return n, true
		}
	}
	return 0, false
}

// containerMemLimit returns the tightest cgroup memory limit and the cgroup
// it is set on.
func (c *check) containerMemLimit() (float64, string, bool) {
	cg := c.in.Facts.Cgroup
	if cg == nil || cg.Memory == nil || !cg.Memory.Limited || cg.Memory.Limit == 0 || cg.Memory.Limit >= 1<<62 {
		return 0, "", false
	}
	return float64(cg.Memory.Limit), cg.Memory.From, true
}

// effectiveLimit is the memory the Go runtime should stay under: GOMEMLIMIT
// when set, else the container limit; 0 when neither is known.
func (c *check) effectiveLimit() (limit float64, what string) {
	if l, ok := c.memLimit(); ok && l > 0 {
		return l, "GOMEMLIMIT"
	}
	if l, _, ok := c.containerMemLimit(); ok {
		return l, "the cgroup memory limit"
	}
	return 0, ""
}

// goMinor returns the minor version of the target's Go (26 for go1.26.8).
func (c *check) goMinor() int {
	if b := c.in.Facts.Build; b != nil {
		return goMinor(b.GoVersion)
	}
	return 0
}

var goVersionRE = regexp.MustCompile(`go1\.(\d+)`)

func goMinor(v string) int {
	m := goVersionRE.FindStringSubmatch(v)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// godebug returns the effective value of a GODEBUG key: the GODEBUG
// environment variable overrides the binary's DefaultGODEBUG
// (https://go.dev/doc/godebug), later entries win.
func (c *check) godebug(key string) (val, from string) {
	look := func(list string) (string, bool) {
		v, found := "", false
		for kv := range strings.SplitSeq(list, ",") {
			k, x, ok := strings.Cut(strings.TrimSpace(kv), "=")
			if ok && k == key {
				v, found = x, true
			}
		}
		return v, found
	}
	if env, ok := c.in.Facts.Env["GODEBUG"]; ok {
		if v, ok := look(env); ok {
			return v, "env"
		}
	}
	if b := c.in.Facts.Build; b != nil {
		if v, ok := look(b.GODEBUG); ok {
			return v, "build"
		}
	}
	return "", ""
}

// cpuQuota describes the CPU limits that apply to the process.
type cpuQuota struct {
	leaf      float64 // the leaf quota Go reads, in CPUs; 0 when none
	effective float64 // the tightest quota over the leaf and its ancestors; 0 when none
	from      string  // cgroup path of the effective quota
	leafPath  string
}

func (c *check) cpuQuota() (cpuQuota, bool) {
	cg := c.in.Facts.Cgroup
	if cg == nil || cg.CPU == nil || len(cg.CPU.Levels) == 0 {
		return cpuQuota{}, false
	}
	q := cpuQuota{leafPath: cg.CPU.Leaf().Path}
	if l := cg.CPU.Leaf(); l.HasQuota && l.Quota.Limited {
		q.leaf = l.Quota.Cores()
	}
	if cg.CPU.Effective.Limited {
		q.effective, q.from = cg.CPU.Effective.Cores(), cg.CPU.From
	}
	return q, true
}

// throttle returns the throttling figures over the window where they can be
// computed (two cgroup readings at its ends), else the last interval's, at
// the level that enforces the effective quota.
func (c *check) throttle() (cgroup.ThrottleRates, string, bool) {
	f := c.in.Facts
	if f.Cgroup != nil && c.in.CgroupStart != nil {
		rates := cgroup.CPURates(*c.in.CgroupStart, *f.Cgroup)
		if f.Cgroup.CPU != nil {
			if r, ok := rates[f.Cgroup.CPU.From]; ok && f.Cgroup.CPU.From != "" {
				return r, "cpu.stat of " + f.Cgroup.CPU.From + " over the window", true
			}
			if len(f.Cgroup.CPU.Levels) > 0 {
				if r, ok := rates[f.Cgroup.CPU.Leaf().Path]; ok {
					return r, "cpu.stat of " + f.Cgroup.CPU.Leaf().Path + " over the window", true
				}
			}
		}
	}
	if f.Throttle != nil {
		return *f.Throttle, "cpu.stat of the leaf cgroup, last two readings", true
	}
	return cgroup.ThrottleRates{}, "", false
}

// Formatting shorthands.
var (
	pct   = measurement.Percent
	bytes = measurement.Bytes
	secs  = measurement.Seconds
)

func pctRange(lo, hi float64) string { return pct(lo) + "–" + pct(hi) }

// mib rounds n down to whole MiB, for GOMEMLIMIT values people can read.
func mib(n float64) int64 { return int64(n) >> 20 }

// arg is the target as a gotune command takes it, quoted for a POSIX shell
// when it needs to be; TARGET when unknown (a recording).
func (c *check) arg() string {
	t := c.in.Target
	if t == "" {
		return "TARGET"
	}
	if strings.IndexFunc(t, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_./:@%+=,-[]", r))
	}) < 0 {
		return t
	}
	return "'" + strings.ReplaceAll(t, "'", `'\''`) + "'"
}
