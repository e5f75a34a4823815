package collectors

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gotune/gotune/session"
)

// FusedSource reads every metrics endpoint a target has (several ports,
// several formats) and fuses their readings into one sample per call.
//
// Precedence, fixed: agent, Prometheus /metrics, expvar /debug/vars, pprof
// (heap?debug=1 MemStats and goroutine?debug=1), gops. For each metric
// the first member in that order that has it writes it, so there is
// exactly one series per metric, and Sample.Origins records which. Within
// one member the same holds (Prometheus: a runtime/metrics series over a
// classic one). Also:
//
//   - A metric is not taken from a lower member when a better metric for
//     the same figure is already there: the old pause histogram
//     (/gc/pauses, made from MemStats.PauseNs) when /sched/pauses/total/gc
//     is present, MemStats GCCPUFraction when /cpu/classes are.
//   - GCCPUFraction and LastGC come from one member together or not at all
//     (the fraction is as of that GC's end).
//   - The OS figures of a PID target (/proc) win over every member for
//     process CPU, RSS, threads and start time (PIDTarget).
//
// A member that gives nothing the members above it lack is not read again
// until the next detection; a member that fails is left out of that
// sample (the sample says so in Missing and the status note says why).
// Sample.Source lists the members that contributed, joined by " + ".
type FusedSource struct {
	members []*member
	// fallbacks for the live-heap estimate and the process start, set by
	// the target (a PID target knows its environment and /proc).
	assumeGOGC  func() (gogc float64, from string)
	assumeLimit func() (limit float64, ok bool)

	mu       sync.Mutex
	base     time.Duration // the runner's interval
	via      string
	notes    []string
	estimate string // why there is no live-heap estimate, or ""
}

// member is one endpoint of a fused source.
type member struct {
	kind  string // "agent", "prometheus", "expvar", "pprof", "gops"
	label string // "prometheus :9090"
	src   MetricsSource
	idle  bool     // gave nothing the others lacked at detection
	wins  []string // what it wrote in the last sample
	err   error    // of the last read
}

// paces reports whether the member gives the sample's counters, so the
// runner waits for it (FusedSource.Pace) and every read fetches afresh.
func (m *member) paces() bool {
	return slices.Contains(m.wins, session.GCCycles) || slices.Contains(m.wins, session.HeapAllocsBytes)
}

// Members in precedence order.
var memberOrder = []string{"agent", "prometheus", "expvar", "pprof", "gops"}

// supersededBy: a metric is not taken from a lower member when one of
// these is already in the sample.
var supersededBy = map[string][]string{
	session.PausesGCOld:           {session.PausesGC},
	session.MemStatsGCCPUFraction: {session.CPUGCTotal},
	session.MemStatsLastGC:        {session.CPUGCTotal},
}

// pprofHeapMetrics are what the pprof member reads from heap?debug=1.
var pprofHeapMetrics = []string{session.HeapObjects, session.HeapGoal, session.GCCycles, session.GCCyclesForced,
	session.HeapAllocsBytes, session.HeapObjectCount, session.MemoryTotal, session.MemStatsGCCPUFraction,
	session.MemStatsLastGC, session.PausesGCOld}

// NewFusedSource fuses the given sources; their Via names their kind.
func NewFusedSource(srcs ...MetricsSource) *FusedSource {
	f := &FusedSource{base: time.Second}
	for _, s := range srcs {
		if s == nil {
			continue
		}
		f.members = append(f.members, &member{kind: s.Via(), label: labelOf(s), src: s})
	}
	slices.SortStableFunc(f.members, func(a, b *member) int {
		return slices.Index(memberOrder, a.kind) - slices.Index(memberOrder, b.kind)
	})
	return f
}

func labelOf(s MetricsSource) string {
	switch s := s.(type) {
	case *AgentSource:
		return endpointLabel("agent", strings.TrimSuffix(s.URL, "/debug/gotune/metrics"))
	case *PrometheusSource:
		return endpointLabel("prometheus", strings.TrimSuffix(s.URL, "/metrics"))
	case *ExpvarSource:
		return endpointLabel("expvar", strings.TrimSuffix(s.URL, "/debug/vars"))
	case *PprofMetricsSource:
		return s.label
	}
	return s.Via()
}

// Via names the members that gave the last sample, in precedence order,
// joined by " + " ("prometheus + pprof").
func (f *FusedSource) Via() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.via == "" && len(f.members) > 0 {
		return f.members[0].kind
	}
	return f.via
}

// Labels names every member read, with its port ("prometheus :9090",
// "pprof :6060").
func (f *FusedSource) Labels() []string {
	var out []string
	for _, m := range f.members {
		if !m.idle {
			out = append(out, m.label)
		}
	}
	return out
}

// SetInterval tells the source the runner's base interval (for pacing).
func (f *FusedSource) SetInterval(d time.Duration) {
	f.mu.Lock()
	f.base = d
	f.mu.Unlock()
}

// Pace is the interval the runner should use now and a note for the
// status: the base interval, unless the pprof member gives the sample's
// counters (GC cycles, bytes allocated) and must be read less often, in
// which case every sample waits for it, so that rates stay honest.
func (f *FusedSource) Pace() (time.Duration, string) {
	f.mu.Lock()
	base := f.base
	notes := slices.Clone(f.notes)
	if f.estimate != "" {
		notes = append(notes, "no live-heap estimate: "+f.estimate)
	}
	f.mu.Unlock()
	iv := base
	for _, m := range f.members {
		p, ok := m.src.(*PprofMetricsSource)
		if !ok || m.idle {
			continue
		}
		if n := p.Note(base); n != "" {
			notes = append([]string{n}, notes...)
		}
		if m.paces() {
			iv = max(iv, p.Interval(base))
		}
	}
	return iv, strings.Join(notes, "; ")
}

// Detect reads every member once, drops those that do not answer with
// what they should, and marks idle those that add nothing. It fails when
// none answered (a *NoMetricsError listing each), or at once when the
// target is unreachable.
func (f *FusedSource) Detect(ctx context.Context) (session.Sample, error) {
	var errs []error
	var kept []*member
	for _, m := range f.members {
		m.idle = false
		m.wins = nil
	}
	samples := make([]*session.Sample, len(f.members))
	var slow []*member // timed out: kept, read again on the next call
	var slowErr error
	for i, m := range f.members {
		s, err := f.readMember(ctx, m)
		var pe *PartialError
		if err != nil && !errors.As(err, &pe) {
			if ctx.Err() != nil {
				return session.Sample{}, err
			}
			var fe *FetchError
			if errors.As(err, &fe) && isTimeout(fe) || IsUnreachable(err) && len(f.members) > 1 {
				// A busy target, or one endpoint of several down for now.
				slow = append(slow, m)
				errs = append(errs, fmt.Errorf("%s: %w", m.label, err))
				if slowErr == nil {
					slowErr = err
				}
				continue
			}
			if IsUnreachable(err) {
				return session.Sample{}, err
			}
			errs = append(errs, fmt.Errorf("%s: %w", m.label, err))
			continue
		}
		samples[i] = &s
		kept = append(kept, m)
	}
	if len(kept) == 0 && slowErr != nil {
		return session.Sample{}, slowErr // try again, not "serves no metrics"
	}
	if len(kept) == 0 {
		return session.Sample{}, &NoMetricsError{Base: f.describe(), Tried: errs}
	}
	var ss []*session.Sample
	for _, s := range samples {
		if s != nil {
			ss = append(ss, s)
		}
	}
	s := f.merge(kept, ss)
	f.members = f.members[:0]
	for _, m := range memberOrder {
		for _, k := range append(slices.Clone(kept), slow...) {
			if k.kind == m {
				f.members = append(f.members, k)
			}
		}
	}
	for _, m := range kept {
		if len(m.wins) == 0 {
			m.idle = true
		}
		if p, ok := m.src.(*PprofMetricsSource); ok {
			p.mu.Lock()
			p.skipGor = !slices.Contains(m.wins, session.Goroutines)
			p.mu.Unlock()
		}
	}
	f.mu.Lock()
	f.notes = nil
	for _, e := range errs {
		f.notes = append(f.notes, e.Error())
	}
	f.mu.Unlock()
	return s, nil
}

func (f *FusedSource) describe() string {
	var ls []string
	for _, m := range f.members {
		ls = append(ls, m.label)
	}
	return strings.Join(ls, ", ")
}

func (f *FusedSource) readMember(ctx context.Context, m *member) (session.Sample, error) {
	if p, ok := m.src.(*PprofMetricsSource); ok {
		f.mu.Lock()
		base := f.base
		f.mu.Unlock()
		return p.read(ctx, base, m.paces())
	}
	return m.src.Read(ctx)
}

// Read reads the members that are not idle and fuses their readings. It
// fails only when every member failed; a member that failed alone is
// named in the status note (Pace) and its metrics are missing.
func (f *FusedSource) Read(ctx context.Context) (session.Sample, error) {
	var active []*member
	var ss []*session.Sample
	var errs, notes []error
	for _, m := range f.members {
		if m.idle {
			continue
		}
		s, err := f.readMember(ctx, m)
		m.err = err
		var pe *PartialError
		if err != nil && !errors.As(err, &pe) {
			m.wins = nil
			errs = append(errs, fmt.Errorf("%s: %w", m.label, err))
			continue
		}
		if err != nil {
			notes = append(notes, err)
		}
		active = append(active, m)
		ss = append(ss, &s)
	}
	if len(active) == 0 {
		if len(errs) == 1 {
			return session.Sample{}, errors.Unwrap(errs[0])
		}
		return session.Sample{}, errors.Join(errs...)
	}
	s := f.merge(active, ss)
	f.mu.Lock()
	f.notes = f.notes[:0]
	for _, e := range append(errs, notes...) {
		f.notes = append(f.notes, e.Error())
	}
	f.mu.Unlock()
	return s, nil
}

// merge fuses the members' samples (same order) by precedence.
func (f *FusedSource) merge(ms []*member, ss []*session.Sample) session.Sample {
	out := session.Sample{Time: time.Now(), Values: map[string]float64{}, Histograms: map[string]*session.Histogram{}, Origins: map[string]string{}}
	superseded := func(name string) bool {
		for _, b := range supersededBy[name] {
			if _, ok := out.Values[b]; ok {
				return true
			}
			if _, ok := out.Histograms[b]; ok {
				return true
			}
		}
		return false
	}
	var via []string
	for i, m := range ms {
		s := ss[i]
		m.wins = m.wins[:0]
		take := func(name string) bool {
			if _, ok := out.Values[name]; ok {
				return false
			}
			if _, ok := out.Histograms[name]; ok {
				return false
			}
			return !superseded(name)
		}
		// GCCPUFraction with LastGC, from one member.
		_, hasF := s.Values[session.MemStatsGCCPUFraction]
		_, hasL := s.Values[session.MemStatsLastGC]
		pair := hasF && hasL && take(session.MemStatsGCCPUFraction) && take(session.MemStatsLastGC)
		for _, name := range sortedKeys(s.Values) {
			if name == session.MemStatsGCCPUFraction || name == session.MemStatsLastGC {
				if !pair {
					continue
				}
			} else if !take(name) {
				continue
			}
			out.Values[name] = s.Values[name]
			out.Origins[name] = originOr(s, name, m.label)
			m.wins = append(m.wins, name)
		}
		for _, name := range sortedKeys(s.Histograms) {
			if !take(name) {
				continue
			}
			out.Histograms[name] = s.Histograms[name]
			out.Origins[name] = originOr(s, name, m.label)
			m.wins = append(m.wins, name)
		}
		if len(m.wins) > 0 {
			via = append(via, m.kind)
			if s.Time.After(time.Time{}) && len(via) == 1 {
				out.Time = s.Time // the first member's reading time
			}
		}
	}
	out.Source = strings.Join(via, " + ")
	f.mu.Lock()
	f.via = out.Source
	f.mu.Unlock()
	return out
}

// Finish adds the estimates to a fused sample once every figure (the OS
// ones of a PID target too) is in, and lists what is missing.
func (f *FusedSource) Finish(s *session.Sample) {
	reason := addHeapLiveEstimate(s, f.assumeGOGC, f.assumeLimit)
	f.mu.Lock()
	f.estimate = reason
	f.mu.Unlock()
	s.Missing = missing(s)
}

// addHeapLiveEstimate adds session.HeapLiveEstimate where the sample has
// no /gc/heap/live, and returns why there is none ("" when there is one,
// or when the live heap is reported).
func addHeapLiveEstimate(s *session.Sample, assumeGOGC func() (float64, string), assumeLimit func() (float64, bool)) string {
	if _, ok := s.Values[session.HeapLive]; ok {
		return ""
	}
	goal, ok := s.Values[session.HeapGoal]
	if !ok {
		return "no heap goal"
	}
	in := session.HeapLiveInput{Goal: goal, GoalFrom: s.Origins[session.HeapGoal], MemoryTotal: s.Values[session.MemoryTotal]}
	if g, ok := s.Values[session.GOGC]; ok {
		in.GOGC, in.GOGCFrom = g, s.Origins[session.GOGC]
	} else if assumeGOGC != nil {
		in.GOGC, in.GOGCFrom = assumeGOGC()
	} else {
		in.GOGC, in.GOGCFrom = 100, "not reported: assumed the default"
	}
	if l, ok := s.Values[session.GOMEMLIMIT]; ok {
		in.MemoryLimit = l
	} else if assumeLimit != nil {
		in.MemoryLimit, _ = assumeLimit()
	}
	live, origin, ok := session.EstimateHeapLive(in)
	if !ok {
		return origin
	}
	s.Values[session.HeapLiveEstimate] = live
	if s.Origins == nil {
		s.Origins = map[string]string{}
	}
	s.Origins[session.HeapLiveEstimate] = origin
	return ""
}

func originOr(s *session.Sample, name, label string) string {
	if o := s.Origins[name]; o != "" {
		return o
	}
	return label
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// endpointLabel names an HTTP source in origins: its kind and port for a
// loopback host ("prometheus :9090"), else kind and host:port.
func endpointLabel(kind, base string) string {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return kind
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		return kind + " " + u.Host
	}
	if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
		return kind + " :" + port
	}
	return kind + " " + u.Host
}
