package trace

import (
	"strings"
	"time"

	xtrace "golang.org/x/exp/trace"
)

// utilPoint is a change of mean mutator utilisation: from T on, the
// program has U of the Ps (0..1).
type utilPoint struct {
	T int64
	U float64
}

// mmuBuilder follows internal/trace.MutatorUtilizationV2 (Go 1.26,
// src/internal/trace/gc.go) with UtilSTW|UtilBackground|UtilAssist|UtilSweep
// and without UtilPerProc — the default of `go tool trace`'s MMU page. It is
// fed one event at a time and keeps only the utilisation changes.
//
// With compat set it reproduces internal/trace exactly, including what we
// take for its bug: once a goroutine has carried a GC worker label, every
// later run of it counts twice against its P (at the state transition and
// again at the label event that follows it) and is taken off once when it
// stops, so the P's GC count grows with each run and the P reads as doing
// GC for the rest of the trace. Without compat (the default) a worker
// counts once, for the execution its label names; a "GC (idle)" run does
// not count, as internal/trace means it not to. And an assist the reader
// reports as already active for a goroutine that is not running counts
// from that goroutine's next run; internal/trace also counts it at once on
// the P of the report, twice in all, and that P then reads as doing GC to
// the end of the trace (on a loaded machine, 3 demo traces in 12 ended
// with their utilisation stuck at 0 or ½; one said the 2 s trace was too
// short for a 1 ms window).
type mmuBuilder struct {
	compat bool
	bgNow  map[xtrace.GoID]bool // !compat: a non-idle worker label counts for this execution

	series []utilPoint
	procs  []procsCount
	ps     []int // per P: >0 while GC work runs on it
	stw    int
	nSync  int
	inGC   map[xtrace.GoID]bool
	states map[xtrace.GoID]xtrace.GoState
	bgMark map[xtrace.GoID]bool
	last   int64
	any    bool
}

type procsCount struct {
	t int64
	n int
}

func newMMUBuilder(compat bool) *mmuBuilder {
	return &mmuBuilder{compat: compat, inGC: map[xtrace.GoID]bool{}, states: map[xtrace.GoID]xtrace.GoState{},
		bgMark: map[xtrace.GoID]bool{}, bgNow: map[xtrace.GoID]bool{}}
}

func isGCSTW(name string) bool {
	return strings.HasPrefix(name, "stop-the-world") && strings.Contains(name, "GC")
}

const (
	rangeAssist = "GC mark assist"
	rangeSweep  = "GC incremental sweep"
	rangeMark   = "GC concurrent mark phase"
)

// p returns the GC counter of the event's P, or nil when the event has no
// P the builder knows (internal/trace would index out of range there).
func (m *mmuBuilder) p(ev *xtrace.Event) *int {
	if p := int(ev.Proc()); p >= 0 && p < len(m.ps) {
		return &m.ps[p]
	}
	return nil
}

// event takes the event and, for a state transition, its details (read
// once by the caller).
func (m *mmuBuilder) event(ev *xtrace.Event, st *xtrace.StateTransition) {
	t := int64(ev.Time())
	m.last, m.any = t, true
	switch ev.Kind() {
	case xtrace.EventSync:
		m.nSync = ev.Sync().N
	case xtrace.EventMetric:
		mt := ev.Metric()
		if mt.Name != "/sched/gomaxprocs:threads" {
			break
		}
		n := int(mt.Value.Uint64())
		if len(m.ps) > n {
			m.ps = m.ps[:n]
		}
		for len(m.ps) < n {
			if len(m.series) == 0 {
				m.series = append(m.series, utilPoint{t, 1})
			}
			m.ps = append(m.ps, 0)
		}
		if len(m.procs) == 0 || n != m.procs[len(m.procs)-1].n {
			m.procs = append(m.procs, procsCount{t, n})
		}
	}
	if len(m.ps) == 0 {
		return
	}
	switch ev.Kind() {
	case xtrace.EventRangeActive:
		if m.nSync > 1 {
			break
		}
		r := ev.Range()
		begin := true
		switch {
		case r.Name == rangeAssist:
			g := ev.Goroutine()
			if !m.compat {
				g = r.Scope.Goroutine()
			}
			if !m.states[g].Executing() {
				if !m.compat {
					// The assisting goroutine is not running (the reader
					// says so when it first meets it, often mid-way
					// through the first generation): it counts from its
					// next run, at that state transition. internal/trace
					// counts it here too, on the P of the event, and so
					// twice: that P then reads as doing GC to the end.
					begin = false
					if g != xtrace.NoGoroutine {
						m.inGC[g] = true
					}
				}
				break
			}
			fallthrough
		case r.Name == rangeSweep:
			// Active since before the trace: take 1/GOMAXPROCS off every
			// point so far, as internal/trace does.
			mi, pi := 0, 0
			for mi < len(m.series) {
				if pi < len(m.procs)-1 && m.procs[pi+1].t < m.series[mi].T {
					pi++
					continue
				}
				m.series[mi].U -= 1 / float64(m.procs[pi].n)
				if m.series[mi].U < 0 {
					m.series[mi].U = 0
				}
				mi++
			}
		}
		if begin {
			m.rangeBegin(ev)
		}
	case xtrace.EventRangeBegin:
		m.rangeBegin(ev)
	case xtrace.EventRangeEnd:
		r := ev.Range()
		switch {
		case isGCSTW(r.Name):
			m.stw--
		case r.Name == rangeSweep:
			if p := m.p(ev); p != nil {
				*p--
			}
		case r.Name == rangeAssist:
			if p := m.p(ev); p != nil {
				*p--
			}
			if g := r.Scope.Goroutine(); g != xtrace.NoGoroutine {
				delete(m.inGC, g)
			}
		}
	case xtrace.EventStateTransition:
		if st.Resource.Kind != xtrace.ResourceGoroutine {
			break
		}
		old, new := st.Goroutine()
		g := st.Resource.Goroutine()
		if m.compat && (m.inGC[g] || m.bgMark[g]) || !m.compat && m.inGC[g] {
			if p := m.p(ev); p != nil {
				if !old.Executing() && new.Executing() {
					*p++
				} else if old.Executing() && !new.Executing() {
					*p--
				}
			}
		}
		if !m.compat && m.bgNow[g] && old.Executing() && !new.Executing() {
			delete(m.bgNow, g)
			if p := m.p(ev); p != nil {
				*p--
			}
		}
		if new == xtrace.GoNotExist {
			// internal/trace keeps every goroutine forever; goroutine IDs
			// are never reused, so forgetting the dead ones changes nothing.
			delete(m.states, g)
			delete(m.bgMark, g)
			delete(m.bgNow, g)
		} else if m.nSync <= 1 {
			// states is read only for RangeActive events, which count only
			// in the first generation.
			m.states[g] = new
		} else if len(m.states) > 0 {
			clear(m.states)
		}
	case xtrace.EventLabel:
		l := ev.Label()
		if strings.HasPrefix(l.Label, "GC ") && l.Label != "GC (idle)" {
			g := ev.Goroutine()
			if m.compat {
				m.bgMark[g] = true
				if p := m.p(ev); p != nil {
					*p++
				}
			} else if !m.bgNow[g] {
				if p := m.p(ev); p != nil {
					m.bgNow[g] = true
					*p++
				}
			}
		}
	}
	gcPs := 0
	if m.stw > 0 {
		gcPs = len(m.ps)
	} else {
		for _, n := range m.ps {
			if n > 0 {
				gcPs++
			}
		}
	}
	m.add(utilPoint{t, 1 - float64(gcPs)/float64(len(m.ps))})
}

func (m *mmuBuilder) rangeBegin(ev *xtrace.Event) {
	r := ev.Range()
	switch {
	case isGCSTW(r.Name):
		m.stw++
	case r.Name == rangeSweep:
		if p := m.p(ev); p != nil {
			*p++
		}
	case r.Name == rangeAssist:
		if p := m.p(ev); p != nil {
			*p++
		}
		if g := r.Scope.Goroutine(); g != xtrace.NoGoroutine {
			m.inGC[g] = true
		}
	}
}

// add is internal/trace's addUtil.
func (m *mmuBuilder) add(u utilPoint) {
	if n := len(m.series); n > 0 {
		last := &m.series[n-1]
		if u.U == last.U {
			return
		}
		if u.T == last.T {
			if u.U < last.U {
				*last = u
			}
			return
		}
	}
	m.series = append(m.series, u)
}

// finish closes the curve with 0 at the last event, as internal/trace does.
func (m *mmuBuilder) finish() []utilPoint {
	if !m.any || len(m.series) == 0 {
		return nil
	}
	m.add(utilPoint{m.last, 0})
	return m.series
}

// mmu returns the minimum over all windows of length w inside the curve
// of the mean utilisation, and a window start where it is reached. The
// windowed mean is piecewise linear in the start time with breaks where an
// edge meets a change, so the minimum is at a start t with t or t+w on a
// change: every such t is tried, in two linear sweeps. A window longer than
// the curve is cut to its length, as internal/trace does.
func mmu(series []utilPoint, w int64) (float64, int64) {
	n := len(series)
	if n < 2 || w <= 0 {
		return 0, 0
	}
	t0, tEnd := series[0].T, series[n-1].T
	if w > tEnd-t0 {
		w = tEnd - t0
	}
	if w <= 0 {
		return 0, t0
	}
	// sums[i] is the integral from t0 to series[i].T.
	sums := make([]float64, n)
	for i := 1; i < n; i++ {
		sums[i] = sums[i-1] + series[i-1].U*float64(series[i].T-series[i-1].T)
	}
	// integral from t0 to t, with a cursor that only moves forward.
	type cursor struct{ i int }
	at := func(c *cursor, t int64) float64 {
		for c.i+1 < n && series[c.i+1].T <= t {
			c.i++
		}
		return sums[c.i] + series[c.i].U*float64(t-series[c.i].T)
	}
	best, bestAt := 2.0, t0
	try := func(t int64, v float64) {
		if u := v / float64(w); u < best {
			best, bestAt = u, t
		}
	}
	last := tEnd - w
	// Left edge on a change.
	var right cursor
	for i := 0; i < n && series[i].T <= last; i++ {
		t := series[i].T
		try(t, at(&right, t+w)-sums[i])
	}
	// Right edge on a change.
	var left cursor
	for i := 0; i < n; i++ {
		t := series[i].T - w
		if t < t0 {
			continue
		}
		try(t, sums[i]-at(&left, t))
	}
	try(last, sums[n-1]-at(&cursor{}, last))
	if best > 1 {
		best = 1
	}
	if best < 0 {
		best = 0
	}
	return best, bestAt
}

// mmuCurve evaluates mmu at each window no longer than the curve.
func mmuCurve(series []utilPoint, windows []time.Duration, origin int64) []MMUPoint {
	if len(series) < 2 {
		return nil
	}
	span := series[len(series)-1].T - series[0].T
	var out []MMUPoint
	for _, w := range windows {
		if int64(w) > span {
			continue
		}
		u, at := mmu(series, int64(w))
		out = append(out, MMUPoint{Window: w, MMU: u, WorstAt: time.Duration(at - origin)})
	}
	return out
}
