package collectors

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	pprofile "github.com/google/pprof/profile"

	"github.com/gotune/gotune/collectors/gops"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/session"
)

// ProfileFetcher fetches one profile from a target: *PprofClient over
// net/http/pprof, *GopsFetcher over the gops protocol.
type ProfileFetcher interface {
	Fetch(ctx context.Context, req ProfileRequest) (Fetched, error)
}

// FixedCPUProfile is implemented by fetchers whose CPU profile has a
// length of its own, whatever was asked (gops: 30 s).
type FixedCPUProfile interface {
	CPUProfileSeconds() int
}

// ErrKindUnsupported says the target's profile endpoint cannot serve a
// kind (a gops agent has no mutex or block profile).
var ErrKindUnsupported = errors.New("profile kind not served")

// gopsMetrics reads memstats and stats from a gops agent for a fused
// source. While the agent records a CPU profile (30 s, one connection at a
// time) it answers at once that the agent is busy instead of queueing.
type gopsMetrics struct {
	c         *gops.Client
	busyUntil atomic.Int64 // unix ns
}

func (g *gopsMetrics) Via() string { return gopsSource }

func (g *gopsMetrics) Read(ctx context.Context) (session.Sample, error) {
	if until := g.busyUntil.Load(); until > time.Now().UnixNano() {
		return session.Sample{}, fmt.Errorf("gops agent at %s is recording a 30 s CPU profile for gotune until %s: it serves one request at a time, so its memstats resume after", g.c.Addr, time.Unix(0, until).Format("15:04:05"))
	}
	return gopsSample(ctx, g.c)
}

// GopsFetcher serves profiles through a gops agent: the heap profile
// (gops heap profile: a pprof protobuf), the CPU profile (gops CPU profile:
// always 30 s, and the agent serves nothing else meanwhile, so it is only
// sent on an explicit request: capture never polls CPU profiles), the
// allocations (the heap profile read as allocs, as net/http/pprof does), and the
// goroutines (gops stack dump, a debug=2-style text). The goroutine
// profile proper (debug=0) is made from that dump (see GoroutineProfileFromDump),
// so the Flame, Top and Goroutines screens work alike. Other kinds fail
// with ErrKindUnsupported.
type GopsFetcher struct {
	Client  *gops.Client
	metrics *gopsMetrics // told when a CPU profile holds the agent
	cpu     sync.Mutex
}

// NewGopsFetcher returns a fetcher over c.
func NewGopsFetcher(c *gops.Client) *GopsFetcher { return &GopsFetcher{Client: c} }

// CPUProfileSeconds implements FixedCPUProfile: the agent always profiles
// for 30 s (gops agent.handle: time.Sleep(30 * time.Second)).
func (g *GopsFetcher) CPUProfileSeconds() int { return 30 }

// Fetch implements ProfileFetcher.
func (g *GopsFetcher) Fetch(ctx context.Context, req ProfileRequest) (Fetched, error) {
	if !req.Kind.Valid() {
		_, err := profile.ParseKind(string(req.Kind))
		return Fetched{}, err
	}
	switch {
	case req.Kind == profile.KindHeap && req.Debug == 0:
		b, err := g.Client.HeapProfile(ctx)
		if err != nil {
			return Fetched{}, err
		}
		return g.decode("heap", b)
	case req.Kind == profile.KindAllocs && req.Debug == 0:
		// net/http/pprof's allocs is the heap profile with alloc_space as
		// its default sample type (runtime/pprof: "allocs" writes the heap
		// profile with defaultSampleType "alloc_space"): the same here.
		b, err := g.Client.HeapProfile(ctx)
		if err != nil {
			return Fetched{}, err
		}
		f, err := g.decode("heap", b) // within the budget, before the full parser
		if err != nil {
			return Fetched{}, err
		}
		p, err := pprofile.ParseData(b)
		if err != nil {
			return Fetched{}, fmt.Errorf("gops heap profile from %s: %w", g.Client.Addr, err)
		}
		p.DefaultSampleType = "alloc_space"
		var buf bytes.Buffer
		if err := p.Write(&buf); err != nil {
			return Fetched{}, err
		}
		f.Raw, f.Profile.DefaultSampleType = buf.Bytes(), p.DefaultSampleType
		return f, nil
	case req.Kind == profile.KindCPU && req.Debug == 0:
		if !g.cpu.TryLock() {
			return Fetched{}, ErrCPUProfileBusy
		}
		defer g.cpu.Unlock()
		if g.metrics != nil {
			g.metrics.busyUntil.Store(time.Now().Add(31 * time.Second).UnixNano())
			defer g.metrics.busyUntil.Store(0)
		}
		b, err := g.Client.CPUProfile(ctx)
		if err != nil {
			return Fetched{}, err
		}
		return g.decode("CPU", b)
	case req.Kind == profile.KindGoroutine && req.Debug == 2:
		b, err := g.Client.Stack(ctx)
		return Fetched{Raw: b}, err
	case req.Kind == profile.KindGoroutine && req.Debug == 0:
		dump, err := g.Client.Stack(ctx)
		if err != nil {
			return Fetched{}, err
		}
		b, err := GoroutineProfileFromDump(dump, time.Now())
		if err != nil {
			return Fetched{}, err
		}
		return g.decode("goroutine", b)
	}
	what := string(req.Kind)
	if req.Debug > 0 {
		what += fmt.Sprintf(" (debug=%d)", req.Debug)
	}
	return Fetched{}, fmt.Errorf("%w: a gops agent serves the heap and allocs profiles, a 30 s CPU profile and the goroutine stack dump, not the %s profile; import net/http/pprof for it", ErrKindUnsupported, what)
}

// decode checks and decodes a profile the agent sent (DecodeFetched).
func (g *GopsFetcher) decode(what string, b []byte) (Fetched, error) {
	f, err := DecodeFetched(b)
	if err != nil {
		return Fetched{}, fmt.Errorf("gops %s profile from %s: %w", what, g.Client.Addr, err)
	}
	return f, nil
}

// GoroutineProfileFromDump turns a debug=2 goroutine dump into a gzipped
// pprof goroutine profile (sample type goroutine/count, one sample per
// distinct stack), symbolized by function, file and line, for a target
// that serves only the dump. A comment in the profile says so. Frames the
// dump hides (the runtime's own, gopark and friends) are not in it.
func GoroutineProfileFromDump(dump []byte, at time.Time) ([]byte, error) {
	gs, err := profile.ParseGoroutineDumpBytes(dump)
	if err != nil {
		return nil, fmt.Errorf("read the gops stack dump: %w", err)
	}
	p := &pprofile.Profile{
		SampleType:        []*pprofile.ValueType{{Type: "goroutine", Unit: "count"}},
		PeriodType:        &pprofile.ValueType{Type: "goroutine", Unit: "count"},
		Period:            1,
		TimeNanos:         at.UnixNano(),
		Comments:          []string{"made by gotune from a gops stack dump (debug=2): runtime frames the dump hides are not in it"},
		DefaultSampleType: "goroutine",
	}
	type floc struct {
		fn   string
		file string
		line int
	}
	funcs := map[[2]string]*pprofile.Function{}
	locs := map[floc]*pprofile.Location{}
	samples := map[string]*pprofile.Sample{}
	var key bytes.Buffer
	for _, g := range gs {
		key.Reset()
		var stack []*pprofile.Location
		for _, f := range g.Frames {
			fk := [2]string{f.Func, f.File}
			fn := funcs[fk]
			if fn == nil {
				fn = &pprofile.Function{ID: uint64(len(funcs) + 1), Name: f.Func, SystemName: f.Func, Filename: f.File}
				funcs[fk] = fn
				p.Function = append(p.Function, fn)
			}
			lk := floc{f.Func, f.File, f.Line}
			loc := locs[lk]
			if loc == nil {
				loc = &pprofile.Location{ID: uint64(len(locs) + 1), Line: []pprofile.Line{{Function: fn, Line: int64(f.Line)}}}
				locs[lk] = loc
				p.Location = append(p.Location, loc)
			}
			stack = append(stack, loc)
			fmt.Fprintf(&key, "%d,", loc.ID)
		}
		if s := samples[key.String()]; s != nil {
			s.Value[0]++
			continue
		}
		s := &pprofile.Sample{Location: stack, Value: []int64{1}}
		samples[key.String()] = s
		p.Sample = append(p.Sample, s)
	}
	if err := p.CheckValid(); err != nil {
		return nil, fmt.Errorf("goroutine profile from the dump: %w", err)
	}
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil { // gzipped, as net/http/pprof serves profiles
		return nil, err
	}
	return buf.Bytes(), nil
}
