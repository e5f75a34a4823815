package trace

import (
	"cmp"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	xtrace "golang.org/x/exp/trace"

	"github.com/gotune/gotune/measurement"
	"github.com/gotune/gotune/profile"
)

// gInfo is what the analyzer knows of one live goroutine.
type gInfo struct {
	state  xtrace.GoState
	reason string // wait reason while waiting
	name   string // start function (root frame of its first stack)
	own    stackID

	// The wait being timed, as go tool trace -pprof times it.
	tracking    bool
	trackState  xtrace.GoState
	trackReason string
	trackStack  stackID // the event's stack at the start (what -pprof keys by)
	trackOwn    stackID // the goroutine's own stack then (sched groups)
	since       xtrace.Time

	ran     bool          // has run in this trace
	pending []pendingWait // waits that ended before its first run

	execStart  xtrace.Time
	worker     workerKind // GC worker label of the current execution
	inAssist   bool
	assistFrom xtrace.Time
	assistExec xtrace.Time
	assistAt   stackID
}

type pendingWait struct {
	group *groupAcc
	total *Latency
	d     time.Duration
}

type workerKind uint8

const (
	noWorker workerKind = iota
	dedicatedWorker
	fractionalWorker
	idleWorker
)

// groupKey is all integers (interned category and state names), so the
// per-wait map lookup hashes no strings.
type groupKey struct {
	cat, state int32
	stack      stackID
}

type groupAcc struct {
	key groupKey
	Latency
	gs  map[xtrace.GoID]struct{}
	ids []int64
}

// maxGroupGoroutines bounds the distinct goroutines counted per group.
const maxGroupGoroutines = 10000

func (g *groupAcc) add(id xtrace.GoID, d time.Duration) {
	g.Count++
	g.Total += d
	g.Max = max(g.Max, d)
	if _, ok := g.gs[id]; ok || len(g.gs) >= maxGroupGoroutines {
		return
	}
	g.gs[id] = struct{}{}
	g.ids = appendID(g.ids, int64(id))
}

// appendID keeps the ten smallest IDs, sorted.
func appendID(ids []int64, id int64) []int64 {
	const keep = 10
	if len(ids) == keep && id >= ids[keep-1] {
		return ids
	}
	i, _ := slices.BinarySearch(ids, id)
	ids = slices.Insert(ids, i, id)
	if len(ids) > keep {
		ids = ids[:keep]
	}
	return ids
}

type openPause struct {
	p        Pause
	begin    xtrace.Time
	stopping map[xtrace.GoID]bool
	last     *RunningGoroutine
}

type analyzer struct {
	o      Options
	s      *Summary
	stacks *stackTable
	mmu    *mmuBuilder

	gs       map[xtrace.GoID]*gInfo
	running  map[xtrace.GoID]struct{}
	runnable int
	syscall  int

	procs      map[xtrace.ProcID]xtrace.ProcState
	runningPs  int
	gomaxprocs int

	first, last xtrace.Time
	started     bool
	runnableInt float64 // goroutine-ns runnable
	idlePInt    float64 // goroutine-ns runnable with an idle P for it

	pause  *openPause
	pauses pauseHeap

	cycles   []GCCycle
	cur      *GCCycle // the latest cycle (marking or sweeping)
	marking  bool
	sweeps   map[xtrace.ProcID]xtrace.Time
	heapLive uint64
	heapGoal uint64
	gcCPU    struct{ assist, dedicated, fractional, idle time.Duration }
	stwTotal time.Duration

	schedHist  logHist
	schedDec   decadeHist
	sched      Latency
	schedGroup map[groupKey]*groupAcc
	blockGroup map[groupKey]*groupAcc
	reasons    map[Category]*Latency
	names      []string
}

func newAnalyzer(o Options) *analyzer {
	return &analyzer{
		o: o, s: &Summary{}, stacks: newStackTable(), mmu: newMMUBuilder(o.MMUCompat),
		gs: map[xtrace.GoID]*gInfo{}, running: map[xtrace.GoID]struct{}{},
		procs: map[xtrace.ProcID]xtrace.ProcState{}, sweeps: map[xtrace.ProcID]xtrace.Time{},
		schedGroup: map[groupKey]*groupAcc{}, blockGroup: map[groupKey]*groupAcc{}, reasons: map[Category]*Latency{},
	}
}

func (a *analyzer) run(ctx context.Context, r io.Reader, cr *countingReader) error {
	tr, err := xtrace.NewReader(r)
	if err != nil {
		if cr.exceeded {
			return errLimit
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("%w: it ends inside the first generation (%s read)", ErrTruncated, measurement.Bytes(float64(cr.n)))
		}
		return fmt.Errorf("%w: %v", ErrTruncated, err)
	}
	for {
		ev, err := tr.ReadEvent()
		if err == io.EOF {
			if a.s.Events == 0 {
				return ErrEmpty
			}
			return nil
		}
		if err != nil {
			if cr.exceeded {
				return errLimit
			}
			return fmt.Errorf("%w after %s (%d events read; the figures cover those): %v",
				ErrTruncated, measurement.Bytes(float64(cr.n)), a.s.Events, err)
		}
		a.s.Events++
		if a.s.Events%65536 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if a.o.Progress != nil {
				a.o.Progress(cr.n)
			}
		}
		a.event(&ev)
	}
}

func (a *analyzer) event(ev *xtrace.Event) {
	t := ev.Time()
	if !a.started {
		a.first, a.last, a.started = t, t, true
	}
	if d := float64(t - a.last); d > 0 && a.runnable > 0 {
		a.runnableInt += d * float64(a.runnable)
		// A P not running a goroutine is idle or held by an M looking for
		// work: either way it could run one of the runnable goroutines.
		if idle := a.gomaxprocs - len(a.running); idle > 0 {
			a.idlePInt += d * float64(min(idle, a.runnable))
		}
	}
	a.last = max(a.last, t)
	var st xtrace.StateTransition
	if ev.Kind() == xtrace.EventStateTransition {
		st = ev.StateTransition()
	}
	a.mmu.event(ev, &st)

	switch ev.Kind() {
	case xtrace.EventSync:
		a.s.Generations++
		a.stacks.newGeneration()
		if c := ev.Sync().ClockSnapshot; c != nil && a.s.WallStart.IsZero() {
			a.s.WallStart = c.Wall.Add(-time.Duration(c.Trace - a.first))
		}
	case xtrace.EventMetric:
		m := ev.Metric()
		switch m.Name {
		case "/sched/gomaxprocs:threads":
			a.gomaxprocs = int(m.Value.Uint64())
			a.s.GOMAXPROCS = a.gomaxprocs
		case "/memory/classes/heap/objects:bytes":
			a.heapLive = m.Value.Uint64()
		case "/gc/heap/goal:bytes":
			a.heapGoal = m.Value.Uint64()
			if a.cur != nil && a.marking {
				a.cur.HeapGoal = m.Value.Uint64()
			}
		}
	case xtrace.EventLabel:
		a.label(ev)
	case xtrace.EventRangeBegin, xtrace.EventRangeActive:
		a.rangeBegin(ev)
	case xtrace.EventRangeEnd:
		a.rangeEnd(ev)
	case xtrace.EventStateTransition:
		switch st.Resource.Kind {
		case xtrace.ResourceGoroutine:
			a.goTransition(ev, st)
		case xtrace.ResourceProc:
			_, new := st.Proc()
			id := st.Resource.Proc()
			if a.procs[id] == xtrace.ProcRunning {
				a.runningPs--
			}
			if new == xtrace.ProcRunning {
				a.runningPs++
			}
			if new == xtrace.ProcNotExist {
				delete(a.procs, id)
			} else {
				a.procs[id] = new
			}
		}
	}
}

func (a *analyzer) goroutine(id xtrace.GoID) *gInfo {
	g := a.gs[id]
	if g == nil {
		g = &gInfo{state: xtrace.GoNotExist}
		a.gs[id] = g
		a.s.Goroutines++
	}
	return g
}

func (a *analyzer) goTransition(ev *xtrace.Event, st xtrace.StateTransition) {
	id := st.Resource.Goroutine()
	_, new := st.Goroutine()
	t := ev.Time()
	g := a.goroutine(id)
	if st.Stack != xtrace.NoStack {
		g.own = a.stacks.id(st.Stack)
		if g.name == "" {
			g.name = a.stacks.root(g.own)
		}
	}
	old := g.state

	// State counts.
	switch old {
	case xtrace.GoRunning:
		delete(a.running, id)
	case xtrace.GoRunnable:
		a.runnable--
	case xtrace.GoSyscall:
		a.syscall--
	}
	switch new {
	case xtrace.GoRunning:
		a.running[id] = struct{}{}
	case xtrace.GoRunnable:
		a.runnable++
	case xtrace.GoSyscall:
		a.syscall++
	case xtrace.GoWaiting:
		g.reason = st.Reason
	}
	g.state = new

	// A goroutine the stop waits for has stopped.
	if p := a.pause; p != nil && p.stopping[id] && old == xtrace.GoRunning && new != xtrace.GoRunning {
		delete(p.stopping, id)
		stack := g.own
		if s := ev.Stack(); s != xtrace.NoStack {
			stack = a.stacks.id(s)
		}
		p.last = &RunningGoroutine{Goroutine: int64(id), Name: g.name, StoppedAfter: t.Sub(p.begin), Stack: a.stacks.get(stack)}
	}

	// GC CPU of workers and assists.
	wasExec, isExec := old.Executing(), new.Executing()
	if wasExec && !isExec {
		a.stopExec(g, t)
	}
	if !wasExec && isExec {
		g.execStart = t
		if g.inAssist {
			g.assistExec = t
		}
	}

	// Waits, as go tool trace -pprof times them (cmd/trace/pprof.go,
	// makeComputePprofFunc): from the transition into the state to the
	// first transition into another; a repeated state changes nothing.
	if g.tracking {
		if new == g.trackState {
			goto first
		}
		a.endWait(id, g, t)
	}
	if new == xtrace.GoRunnable || new == xtrace.GoWaiting || new == xtrace.GoSyscall {
		g.tracking, g.trackState, g.trackReason, g.since = true, new, st.Reason, t
		g.trackStack = a.stacks.id(ev.Stack())
		g.trackOwn = g.own
	}
first:
	if new == xtrace.GoRunning && !g.ran {
		// go tool trace clips waits to the goroutine's life from its first
		// run (cmd/trace/pprof.go, pprofMatchingGoroutines): what ended
		// before is counted apart.
		g.ran = true
		for _, p := range g.pending {
			for _, l := range []*Latency{&p.group.Latency, p.total} {
				l.BeforeFirstRunCount++
				l.BeforeFirstRun += p.d
			}
		}
		g.pending = nil
	}
	if new == xtrace.GoNotExist {
		delete(a.gs, id)
	}
}

func (a *analyzer) stopExec(g *gInfo, t xtrace.Time) {
	d := t.Sub(g.execStart)
	switch g.worker {
	case dedicatedWorker:
		a.gcCPU.dedicated += d
		if a.cur != nil {
			a.cur.Dedicated += d
		}
	case fractionalWorker:
		a.gcCPU.fractional += d
		if a.cur != nil {
			a.cur.Fractional += d
		}
	case idleWorker:
		a.gcCPU.idle += d
		if a.cur != nil {
			a.cur.Idle += d
		}
	}
	g.worker = noWorker
	if g.inAssist {
		a.addAssistCPU(t.Sub(g.assistExec))
	}
}

func (a *analyzer) addAssistCPU(d time.Duration) {
	a.gcCPU.assist += d
	if a.cur != nil {
		a.cur.Assist += d
	}
}

// categorize maps the runtime's wait reasons (runtime/traceruntime.go,
// traceBlockReasonStrings) to categories. -pprof=sync takes reasons that
// contain "chan", "sync" or "select"; -pprof=net takes "network".
func categorize(state xtrace.GoState, reason string) Category {
	switch {
	case state == xtrace.GoSyscall:
		return CatSyscall
	case strings.Contains(reason, "chan"):
		return CatChannel
	case strings.Contains(reason, "select"):
		return CatSelect
	case strings.Contains(reason, "sync"):
		return CatSync
	case reason == "network":
		return CatNetwork
	case reason == "sleep":
		return CatSleep
	case strings.HasPrefix(reason, "GC ") || reason == "wait until GC ends":
		return CatGC
	}
	return CatOther
}

func (a *analyzer) endWait(id xtrace.GoID, g *gInfo, t xtrace.Time) {
	g.tracking = false
	d := t.Sub(g.since)
	var grp *groupAcc
	var total *Latency
	if g.trackState == xtrace.GoRunnable {
		a.schedHist.add(d)
		a.schedDec.add(d)
		grp = a.group(a.schedGroup, groupKey{cat: a.name(string(CatRunnable)), state: a.name("runnable"), stack: g.trackOwn})
		total = &a.sched
	} else {
		cat := categorize(g.trackState, g.trackReason)
		state := g.trackReason
		if g.trackState == xtrace.GoSyscall {
			state = "syscall"
		}
		grp = a.group(a.blockGroup, groupKey{cat: a.name(string(cat)), state: a.name(state), stack: g.trackStack})
		total = a.reason(cat)
	}
	grp.add(id, d)
	total.Count++
	total.Total += d
	total.Max = max(total.Max, d)
	if !g.ran {
		g.pending = append(g.pending, pendingWait{grp, total, d})
	}
}

// name interns a category or state name. There are a few dozen at most;
// a scan compares strings the trace's string table hands out again and
// again, which usually share their bytes, so it is cheaper than hashing.
func (a *analyzer) name(s string) int32 {
	for i, n := range a.names {
		if n == s {
			return int32(i)
		}
	}
	a.names = append(a.names, s)
	return int32(len(a.names) - 1)
}

func (a *analyzer) reason(c Category) *Latency {
	l := a.reasons[c]
	if l == nil {
		l = &Latency{}
		a.reasons[c] = l
	}
	return l
}

func (a *analyzer) group(m map[groupKey]*groupAcc, k groupKey) *groupAcc {
	g := m[k]
	if g == nil {
		g = &groupAcc{key: k, gs: map[xtrace.GoID]struct{}{}}
		m[k] = g
	}
	return g
}

func (a *analyzer) label(ev *xtrace.Event) {
	l := ev.Label()
	g := a.gs[ev.Goroutine()]
	if g == nil || !g.state.Executing() {
		return
	}
	var k workerKind
	switch l.Label {
	case "GC (dedicated)":
		k = dedicatedWorker
	case "GC (fractional)":
		k = fractionalWorker
	case "GC (idle)":
		k = idleWorker
	default:
		return
	}
	g.worker, g.execStart = k, ev.Time()
}

const stwPrefix = "stop-the-world ("

func (a *analyzer) rangeBegin(ev *xtrace.Event) {
	r := ev.Range()
	t := ev.Time()
	switch {
	case strings.HasPrefix(r.Name, stwPrefix):
		if ev.Kind() == xtrace.EventRangeActive {
			return
		}
		a.beginPause(ev, strings.TrimSuffix(strings.TrimPrefix(r.Name, stwPrefix), ")"))
	case r.Name == rangeMark:
		c := GCCycle{N: len(a.cycles) + 1, Start: t.Sub(a.first), HeapLive: a.heapLive, HeapGoal: a.heapGoal,
			BeganBefore: ev.Kind() == xtrace.EventRangeActive}
		a.cycles = append(a.cycles, c)
		a.cur, a.marking = &a.cycles[len(a.cycles)-1], true
		if len(a.cycles) > 2*a.o.MaxCycles {
			// Keep the last MaxCycles; cur moves with the copy.
			a.cycles = slices.Clone(a.cycles[len(a.cycles)-a.o.MaxCycles:])
			a.cur = &a.cycles[len(a.cycles)-1]
		}
	case r.Name == rangeSweep:
		a.sweeps[xtrace.ProcID(r.Scope.Proc())] = t
	case r.Name == rangeAssist:
		id := r.Scope.Goroutine()
		g := a.goroutine(id)
		g.inAssist, g.assistFrom, g.assistAt = true, t, a.stacks.id(ev.Stack())
		if g.state.Executing() {
			g.assistExec = t
		}
	}
}

func (a *analyzer) rangeEnd(ev *xtrace.Event) {
	r := ev.Range()
	t := ev.Time()
	switch {
	case strings.HasPrefix(r.Name, stwPrefix):
		a.endPause(t)
	case r.Name == rangeMark:
		if a.cur != nil && a.marking {
			a.cur.Mark = t.Sub(a.first) - a.cur.Start
		}
		a.marking = false
	case r.Name == rangeSweep:
		p := xtrace.ProcID(r.Scope.Proc())
		if from, ok := a.sweeps[p]; ok {
			if a.cur != nil {
				a.cur.Sweep += t.Sub(from)
			}
			delete(a.sweeps, p)
		}
	case r.Name == rangeAssist:
		id := r.Scope.Goroutine()
		g := a.gs[id]
		if g == nil || !g.inAssist {
			return
		}
		if g.state.Executing() {
			a.addAssistCPU(t.Sub(g.assistExec))
		}
		g.inAssist = false
		d := t.Sub(g.assistFrom)
		grp := a.group(a.blockGroup, groupKey{cat: a.name(string(CatGCAssist)), state: a.name(rangeAssist), stack: g.assistAt})
		grp.add(id, d)
		l := a.reason(CatGCAssist)
		l.Count++
		l.Total += d
		l.Max = max(l.Max, d)
	}
}

func (a *analyzer) beginPause(ev *xtrace.Event, reason string) {
	t := ev.Time()
	stopper := ev.Goroutine()
	p := &openPause{begin: t, stopping: map[xtrace.GoID]bool{}}
	p.p = Pause{Start: t.Sub(a.first), Reason: reason, GC: strings.Contains(reason, "GC"),
		Goroutine: int64(stopper), Stack: a.stacks.get(a.stacks.id(ev.Stack()))}
	st := GoroutineStates{Running: len(a.running), Runnable: a.runnable, Syscall: a.syscall}
	if _, ok := a.running[stopper]; ok {
		st.Running--
	}
	// Waiting goroutines by reason, counted here rather than kept up to
	// date on every transition: pauses are rare, transitions are not.
	for _, g := range a.gs {
		if g.state == xtrace.GoWaiting {
			if st.Waiting == nil {
				st.Waiting = map[string]int{}
			}
			st.Waiting[g.reason]++
		}
	}
	p.p.States = st
	for id := range a.running {
		if id == stopper {
			continue
		}
		p.stopping[id] = true
		name := ""
		if g := a.gs[id]; g != nil {
			name = g.name
		}
		p.p.Running = append(p.p.Running, RunningGoroutine{Goroutine: int64(id), Name: name})
	}
	slices.SortFunc(p.p.Running, func(x, y RunningGoroutine) int { return cmp.Compare(x.Goroutine, y.Goroutine) })
	a.pause = p
}

func (a *analyzer) endPause(t xtrace.Time) {
	p := a.pause
	if p == nil {
		return
	}
	a.pause = nil
	p.p.Duration = t.Sub(p.begin)
	p.p.LastToStop = p.last
	ps := &a.s.Pauses
	ps.Count++
	ps.Total += p.p.Duration
	a.stwTotal += p.p.Duration
	if p.p.GC {
		ps.GCCount++
		ps.GCTotal += p.p.Duration
		if c := a.cur; c != nil {
			p.p.Cycle = c.N
			switch p.p.Reason {
			case "GC sweep termination":
				c.SweepTermination = p.p.Duration
			case "GC mark termination":
				c.MarkTermination = p.p.Duration
			}
		}
	}
	heap.Push(&a.pauses, p.p)
	if a.pauses.Len() > a.o.MaxPauses {
		heap.Pop(&a.pauses)
	}
}

// pauseHeap is a min-heap by duration (then latest start first out), so
// the shortest kept pause is dropped when a longer one arrives.
type pauseHeap []Pause

func (h pauseHeap) Len() int { return len(h) }
func (h pauseHeap) Less(i, j int) bool {
	if h[i].Duration != h[j].Duration {
		return h[i].Duration < h[j].Duration
	}
	return h[i].Start > h[j].Start
}
func (h pauseHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *pauseHeap) Push(x any)   { *h = append(*h, x.(Pause)) }
func (h *pauseHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// finish closes what is still open at the last event and fills the
// summary.
func (a *analyzer) finish() {
	s := a.s
	s.Duration = a.last.Sub(a.first)
	end := a.last
	// Open assists and executions count up to the end for GC CPU; open
	// waits are not counted, as go tool trace does not count them.
	for _, g := range a.gs {
		if g.state.Executing() {
			a.stopExec(g, end)
		}
	}
	if a.cur != nil && a.marking {
		a.cur.Unfinished = true
		a.cur.Mark = end.Sub(a.first) - a.cur.Start
	}

	s.Pauses.List = slices.Clone([]Pause(a.pauses))
	slices.SortFunc(s.Pauses.List, func(x, y Pause) int {
		return cmp.Or(cmp.Compare(y.Duration, x.Duration), cmp.Compare(x.Start, y.Start))
	})
	if s.Pauses.List == nil {
		s.Pauses.List = []Pause{}
	}

	s.MMU = mmuCurve(a.mmu.finish(), a.o.Windows, int64(a.first))
	if s.MMU == nil {
		s.MMU = []MMUPoint{}
	}

	sc := &s.Sched
	sc.Latency = a.sched
	sc.Histogram = a.schedDec.buckets()
	sc.P50, sc.P90, sc.P99 = a.schedHist.quantile(0.5), a.schedHist.quantile(0.9), a.schedHist.quantile(0.99)
	if a.runnableInt > 0 {
		sc.IdlePShare = a.idlePInt / a.runnableInt
	}
	sc.Groups = a.groups(a.schedGroup)

	for c, l := range a.reasons {
		s.Blocking.Reasons = append(s.Blocking.Reasons, ReasonTotal{Category: c, Latency: *l})
	}
	slices.SortFunc(s.Blocking.Reasons, func(x, y ReasonTotal) int {
		return cmp.Or(cmp.Compare(y.Total, x.Total), cmp.Compare(x.Category, y.Category))
	})
	if s.Blocking.Reasons == nil {
		s.Blocking.Reasons = []ReasonTotal{}
	}
	s.Blocking.Groups = a.groups(a.blockGroup)

	gc := &s.GC
	gc.Count = 0
	for i := range a.cycles {
		c := &a.cycles[i]
		if mark := c.MarkCPU(); mark > 0 {
			c.AssistShare = float64(c.Assist) / float64(mark)
		}
		if !c.BeganBefore {
			gc.Count++
		}
	}
	if n := len(a.cycles); n > a.o.MaxCycles {
		gc.Cycles = slices.Clone(a.cycles[n-a.o.MaxCycles:])
	} else {
		gc.Cycles = a.cycles
	}
	if gc.Cycles == nil {
		gc.Cycles = []GCCycle{}
	}
	cpu := a.gcCPU
	gc.AssistCPU, gc.MarkCPU = cpu.assist, cpu.assist+cpu.dedicated+cpu.fractional+cpu.idle
	if mark := gc.MarkCPU; mark > 0 {
		gc.AssistShare = float64(cpu.assist) / float64(mark)
	}
	if s.Duration > 0 && s.GOMAXPROCS > 0 {
		// Idle workers run only on Ps with nothing else to do; the
		// runtime/metrics docs leave them out of the GC's cost.
		used := cpu.assist + cpu.dedicated + cpu.fractional + time.Duration(s.GOMAXPROCS)*a.stwTotal
		gc.CPUShare = float64(used) / (float64(s.GOMAXPROCS) * float64(s.Duration))
	}
}

// groups turns accumulated groups into the longest MaxGroups.
func (a *analyzer) groups(m map[groupKey]*groupAcc) []StackGroup {
	out := make([]StackGroup, 0, len(m))
	for _, g := range m {
		out = append(out, StackGroup{Category: Category(a.names[g.key.cat]), State: a.names[g.key.state], Frames: a.stacks.get(g.key.stack),
			Latency: g.Latency, Goroutines: len(g.gs), IDs: g.ids})
	}
	slices.SortFunc(out, func(x, y StackGroup) int {
		if c := cmp.Compare(y.Total, x.Total); c != 0 {
			return c
		}
		if c := cmp.Compare(x.State, y.State); c != 0 {
			return c
		}
		return cmp.Compare(frameKey(x.Frames), frameKey(y.Frames))
	})
	if len(out) > a.o.MaxGroups {
		out = out[:a.o.MaxGroups]
	}
	return out
}

func frameKey(fr []profile.Frame) string {
	var b strings.Builder
	for _, f := range fr {
		fmt.Fprintf(&b, "%s:%s:%d;", f.Func, f.File, f.Line)
	}
	return b.String()
}
