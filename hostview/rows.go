package hostview

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/gotune/gotune/advisor"
	"github.com/gotune/gotune/session"
)

// Figure is one number of a row with where it came from. A nil *Figure is
// unknown (the source does not give it, or not yet).
type Figure struct {
	Value float64 `json:"value"`
	// Origin names the metric, file or computation, and how it was read.
	Origin string `json:"origin"`
	// Estimated is set when the value is an estimate, not a measurement.
	Estimated bool `json:"estimated,omitempty"`
}

// Findings counts the advisor's findings over a process's history.
type Findings struct {
	Crit int `json:"crit"`
	Warn int `json:"warn"`
	Info int `json:"info"`
	// CouldNotRun is how many rules could not run over the history (too
	// few samples, a metric the source lacks, no profiles: the overview
	// fetches none).
	CouldNotRun int `json:"could_not_run"`
	Rules       int `json:"rules"`
	// Samples is how many points the rules read; At when they ran.
	Samples int       `json:"samples"`
	At      time.Time `json:"at,omitzero"`
}

// Total is the number of findings.
func (f Findings) Total() int { return f.Crit + f.Warn + f.Info }

// Row is one process of the overview.
type Row struct {
	PID       int       `json:"pid"`
	Name      string    `json:"name"` // the executable's base name
	Command   string    `json:"command"`
	User      string    `json:"user,omitempty"`
	GoVersion string    `json:"go_version,omitempty"`
	StartTime time.Time `json:"start_time,omitzero"`
	// Reach says how gotune reaches it (discover.Reach.String); Via where
	// its runtime metrics come from: agent, prometheus, expvar, gops or os.
	Reach string `json:"reach"`
	Via   string `json:"metrics_via"`
	// Attached is set while a dashboard session watches it in full: the
	// figures then come from that session.
	Attached bool `json:"attached,omitempty"`
	// Exited is set once the process is gone (the row lingers).
	Exited bool `json:"exited,omitempty"`
	// Error is the last read's error ("" when it worked).
	Error string `json:"error,omitempty"`
	// Samples is how many points the row's history holds; Latest when the
	// newest was read.
	Samples int       `json:"samples"`
	Latest  time.Time `json:"latest,omitzero"`

	HeapLive *Figure `json:"heap_live_bytes,omitempty"`
	HeapGoal *Figure `json:"heap_goal_bytes,omitempty"`
	// MemLimit is GOMEMLIMIT; nil when none is set (the runtime reports
	// math.MaxInt64).
	MemLimit *Figure `json:"gomemlimit_bytes,omitempty"`
	GCCPU    *Figure `json:"gc_cpu_fraction,omitempty"`
	GCRate   *Figure `json:"gc_per_second,omitempty"`
	// Goroutines and their growth per minute over the history.
	Goroutines      *Figure `json:"goroutines,omitempty"`
	GoroutineGrowth *Figure `json:"goroutine_growth_per_minute,omitempty"`
	// CPU is cores busy (process CPU seconds per second); GOMAXPROCS the
	// runtime's setting; CPUQuota the cgroup's effective quota in cores
	// (nil: none); Throttled the share of enforcement periods throttled.
	CPU        *Figure `json:"cpu_cores,omitempty"`
	GOMAXPROCS *Figure `json:"gomaxprocs,omitempty"`
	CPUQuota   *Figure `json:"cpu_quota_cores,omitempty"`
	Throttled  *Figure `json:"throttled_fraction,omitempty"`
	RSS        *Figure `json:"rss_bytes,omitempty"`
	// MemoryLimit is the cgroup's effective memory limit (nil: none).
	MemoryLimit *Figure  `json:"memory_limit_bytes,omitempty"`
	SchedP99    *Figure  `json:"sched_latency_p99_seconds,omitempty"`
	Findings    Findings `json:"findings"`
}

// growthSpan is how far back goroutine growth looks, and the least span
// it needs.
const (
	growthSpan    = time.Minute
	growthMinSpan = 10 * time.Second
)

// row builds the row of p from its store.
func (p *proc) row(now time.Time) Row {
	r := Row{PID: p.p.PID, Name: nameOf(p.p), Command: p.p.Command, User: p.p.User, GoVersion: p.p.GoVersion,
		StartTime: p.p.StartTime, Reach: p.p.Reach.String(), Via: p.p.Reach.Metrics(),
		Attached: p.ext != nil, Exited: !p.gone.IsZero(), Error: p.lastErr}
	if p.target == nil {
		r.Via = ""
		if len(p.p.Reasons) > 0 {
			r.Error = strings.Join(p.p.Reasons, "; ")
		}
		return r
	}
	if p.ext == nil {
		r.Via = p.target.Via()
	}
	snap := p.source().Snapshot()
	if st, ok := snap.StatusOf("metrics"); ok && p.ext != nil {
		r.Via = st.Via
		if st.Lost {
			r.Exited = true
		}
		if st.LastErr != "" && st.Failures > 0 {
			r.Error = st.LastErr
		}
	}
	pts := snap.Points
	r.Samples = len(pts)
	if p.report != nil {
		r.Findings = countFindings(*p.report, p.advisedAt, p.advisedN)
	}
	last := snap.Latest()
	if last == nil {
		return r
	}
	r.Latest = last.Time
	via := last.Source
	fig := func(v float64, origin string) *Figure {
		return &Figure{Value: v, Origin: origin, Estimated: session.IsEstimate(origin)}
	}
	metric := func(name string) *Figure {
		v, ok := last.Values[name]
		if !ok || math.IsNaN(v) {
			return nil
		}
		o := name + " via " + via
		if x, ok := last.Origins[name]; ok {
			o = x
			if session.OriginSource(x) == x {
				// The origin names only its source: say which figure.
				o = name + " via " + x
			}
		}
		return fig(v, o)
	}
	derived := func(name string) *Figure {
		v, ok := last.Derived[name]
		if !ok || math.IsNaN(v) {
			return nil
		}
		o := name + ", derived from consecutive samples via " + via
		if x, ok := last.Origins[name]; ok {
			o = x
		}
		return fig(v, o)
	}
	if v, ok := last.Values[session.HeapLive]; ok {
		r.HeapLive = fig(v, session.HeapLive+" via "+via)
	} else if v, ok := last.Values[session.HeapObjects]; ok {
		r.HeapLive = fig(v, session.HeapObjects+" via "+via+" (HeapAlloc: live and not yet swept)")
	}
	r.HeapGoal = metric(session.HeapGoal)
	if f := metric(session.GOMEMLIMIT); f != nil && f.Value < math.MaxInt64 {
		r.MemLimit = f
	}
	r.GCCPU = derived(session.GCCPU)
	if r.GCCPU != nil && !strings.Contains(r.GCCPU.Origin, "estimate") {
		r.GCCPU.Origin = fmt.Sprintf("%s over %s (%s) via %s", session.GCCPU, session.GCCPUWindow, session.CPUGCTotal, via)
	}
	r.GCRate = derived(session.GCRate)
	r.Goroutines = metric(session.Goroutines)
	r.GoroutineGrowth = growth(pts)
	r.CPU = derived(session.ProcessCPUFrac)
	if r.CPU != nil {
		r.CPU.Origin = "CPU seconds per second between two readings of " + session.ProcessCPU
	}
	r.GOMAXPROCS = metric(session.GOMAXPROCS)
	if r.GOMAXPROCS == nil {
		if ex := snap.Facts.Settings; ex != nil && ex.GOMAXPROCS.Value != "" && ex.GOMAXPROCS.Value != "?" {
			var n float64
			if _, err := fmt.Sscan(ex.GOMAXPROCS.Value, &n); err == nil {
				r.GOMAXPROCS = &Figure{Value: n, Origin: "estimate: what Go would choose (" + ex.GOMAXPROCS.Reason + ")", Estimated: true}
			}
		}
	}
	if cg := snap.Facts.Cgroup; cg != nil {
		if cg.CPU != nil && cg.CPU.Effective.Limited {
			r.CPUQuota = fig(cg.CPU.Effective.Cores(), "cgroup CPU quota at "+cg.CPU.From)
		}
		if cg.Memory != nil && cg.Memory.Limited {
			r.MemoryLimit = fig(float64(cg.Memory.Limit), "cgroup memory limit at "+cg.Memory.From)
		}
	}
	if th := snap.Facts.Throttle; th != nil && r.CPUQuota != nil {
		r.Throttled = fig(th.ThrottledFraction, "throttled periods / periods between two readings of cpu.stat")
	}
	r.RSS = metric(session.ProcessRSS)
	if r.RSS != nil {
		r.RSS.Origin = "resident set size from /proc"
	}
	r.SchedP99 = derived(session.SchedLatP99)
	return r
}

// growth is the goroutine count's change per minute between the newest
// point and the oldest within growthSpan, nil over less than growthMinSpan.
func growth(pts []session.Point) *Figure {
	if len(pts) < 2 {
		return nil
	}
	last := pts[len(pts)-1]
	g1, ok := last.Values[session.Goroutines]
	if !ok {
		return nil
	}
	for _, p := range pts {
		span := last.Time.Sub(p.Time)
		if span > growthSpan {
			continue
		}
		if span < growthMinSpan {
			return nil
		}
		g0, ok := p.Values[session.Goroutines]
		if !ok {
			continue
		}
		return &Figure{Value: (g1 - g0) / span.Minutes(),
			Origin: fmt.Sprintf("change of %s over the last %s", session.Goroutines, span.Round(time.Second))}
	}
	return nil
}

func countFindings(r advisor.Report, at time.Time, n int) Findings {
	f := Findings{Rules: r.Rules, CouldNotRun: len(r.CouldNotRun()), Samples: n, At: at}
	for _, x := range r.Findings {
		switch x.Severity {
		case advisor.Crit:
			f.Crit++
		case advisor.Warn:
			f.Warn++
		default:
			f.Info++
		}
	}
	return f
}

// SortKey orders rows.
type SortKey string

// Sort keys, in the order the overview's sort key cycles through them.
const (
	ByCPU        SortKey = "cpu"
	ByRSS        SortKey = "rss"
	ByHeap       SortKey = "heap"
	ByGCCPU      SortKey = "gc-cpu"
	ByGoroutines SortKey = "goroutines"
	ByGrowth     SortKey = "growth"
	ByFindings   SortKey = "findings"
	ByPID        SortKey = "pid"
	ByName       SortKey = "name"
)

// SortKeys lists every key.
var SortKeys = []SortKey{ByCPU, ByRSS, ByHeap, ByGCCPU, ByGoroutines, ByGrowth, ByFindings, ByPID, ByName}

// ParseSortKey reads a key as flags give it.
func ParseSortKey(s string) (SortKey, error) {
	for _, k := range SortKeys {
		if string(k) == s {
			return k, nil
		}
	}
	names := make([]string, len(SortKeys))
	for i, k := range SortKeys {
		names[i] = string(k)
	}
	return "", fmt.Errorf("sort key %q: want one of %s", s, strings.Join(names, ", "))
}

// Sort orders rows by key: figures largest first (unknown last), PID and
// name ascending; ties by PID. Exited rows go after live ones.
func Sort(rows []Row, k SortKey) {
	val := func(f *Figure) (float64, bool) {
		if f == nil {
			return 0, false
		}
		return f.Value, true
	}
	fig := func(r *Row) (float64, bool) {
		switch k {
		case ByCPU:
			return val(r.CPU)
		case ByRSS:
			return val(r.RSS)
		case ByHeap:
			if r.HeapLive != nil {
				return val(r.HeapLive)
			}
			return val(r.HeapGoal)
		case ByGCCPU:
			return val(r.GCCPU)
		case ByGoroutines:
			return val(r.Goroutines)
		case ByGrowth:
			return val(r.GoroutineGrowth)
		case ByFindings:
			return float64(r.Findings.Crit*10000 + r.Findings.Warn*100 + r.Findings.Info), true
		}
		return 0, false
	}
	slices.SortStableFunc(rows, func(a, b Row) int {
		if a.Exited != b.Exited {
			if a.Exited {
				return 1
			}
			return -1
		}
		switch k {
		case ByPID:
			return a.PID - b.PID
		case ByName:
			return cmp.Or(strings.Compare(a.Name, b.Name), a.PID-b.PID)
		}
		va, oka := fig(&a)
		vb, okb := fig(&b)
		switch {
		case oka && !okb:
			return -1
		case !oka && okb:
			return 1
		}
		return cmp.Or(cmp.Compare(vb, va), a.PID-b.PID)
	})
}

// Matches reports whether a row's PID, name, user, reach or command
// contains filter (case-insensitive); "" matches every row.
func Matches(r Row, filter string) bool {
	if filter == "" {
		return true
	}
	hay := strings.ToLower(fmt.Sprint(r.PID, " ", r.Name, " ", r.User, " ", r.Reach, " ", r.Command))
	return strings.Contains(hay, strings.ToLower(filter))
}
