package capture

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	gpprof "github.com/google/pprof/profile"

	"github.com/gotune/gotune/advisor"
	"github.com/gotune/gotune/collectors"
	"github.com/gotune/gotune/collectors/cgroup"
	"github.com/gotune/gotune/internal/testproc"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/session"
)

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// growingFetcher serves profiles whose cumulative counts grow with every
// fetch: allocs by 1 MiB per fetch in pkg.alloc, mutex by 10 contentions;
// the goroutine profile gains a leaking goroutine per fetch.
type growingFetcher struct {
	t     *testing.T
	mu    sync.Mutex
	n     map[profile.Kind]int
	asked []string
}

func (f *growingFetcher) Fetch(ctx context.Context, req collectors.ProfileRequest) (collectors.Fetched, error) {
	b, err := f.body(req)
	if err != nil || req.Debug > 0 {
		return collectors.Fetched{Raw: b}, err
	}
	return collectors.DecodeFetched(b)
}

func (f *growingFetcher) body(req collectors.ProfileRequest) ([]byte, error) {
	f.mu.Lock()
	if f.n == nil {
		f.n = map[profile.Kind]int{}
	}
	f.n[req.Kind]++
	n := f.n[req.Kind]
	name := string(req.Kind)
	if req.Debug == 2 {
		name += "-debug2"
	}
	f.asked = append(f.asked, name)
	f.mu.Unlock()
	if req.Debug == 2 {
		return []byte(fmt.Sprintf("goroutine 1 [running]:\nmain.main()\n\t/x/main.go:1 +0x1\n\n%s", leakDump(n+1))), nil
	}
	switch req.Kind {
	case profile.KindAllocs, profile.KindHeap:
		return buildProfile(f.t, []*gpprof.ValueType{{Type: "alloc_objects", Unit: "count"}, {Type: "alloc_space", Unit: "bytes"},
			{Type: "inuse_objects", Unit: "count"}, {Type: "inuse_space", Unit: "bytes"}},
			map[string][]int64{"pkg.alloc": {int64(n) * 16, int64(n) << 20, 4, 4 << 10}, "pkg.steady": {8, 8 << 20, 8, 8 << 20}}, int64(n)), nil
	case profile.KindMutex, profile.KindBlock:
		return buildProfile(f.t, []*gpprof.ValueType{{Type: "contentions", Unit: "count"}, {Type: "delay", Unit: "nanoseconds"}},
			map[string][]int64{"pkg.lock": {int64(n) * 10, int64(n) * 1e6}}, int64(n)), nil
	case profile.KindGoroutine:
		return buildProfile(f.t, []*gpprof.ValueType{{Type: "goroutine", Unit: "count"}},
			map[string][]int64{"main.main": {1}, "main.leak": {int64(n)}}, int64(n)), nil
	case profile.KindCPU:
		return buildProfile(f.t, []*gpprof.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
			map[string][]int64{"pkg.work": {100, 1e9}}, int64(n)), nil
	}
	return nil, fmt.Errorf("no %s profile", req.Kind)
}

func leakDump(n int) string {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, "goroutine %d [chan receive, 3 minutes]:\nmain.leak(0x%x)\n\t/x/main.go:9 +0x2\ncreated by main.main in goroutine 1\n\t/x/main.go:5 +0x3\n\n", i+10, i)
	}
	return b.String()
}

// buildProfile writes a profile with one sample per function (one frame
// each, the function's name as its stack), at TimeNanos n seconds after t0.
func buildProfile(t *testing.T, types []*gpprof.ValueType, vals map[string][]int64, n int64) []byte {
	t.Helper()
	p := &gpprof.Profile{SampleType: types, PeriodType: types[0], Period: 1, TimeNanos: t0.Add(time.Duration(n) * time.Second).UnixNano()}
	id := uint64(1)
	for _, name := range []string{"main.main", "main.leak", "pkg.alloc", "pkg.steady", "pkg.lock", "pkg.work"} {
		v, ok := vals[name]
		if !ok {
			continue
		}
		fn := &gpprof.Function{ID: id, Name: name, Filename: "/x/main.go"}
		loc := &gpprof.Location{ID: id, Address: 0x1000 * id, Line: []gpprof.Line{{Function: fn, Line: 9}}}
		p.Function, p.Location = append(p.Function, fn), append(p.Location, loc)
		p.Sample = append(p.Sample, &gpprof.Sample{Location: []*gpprof.Location{loc}, Value: v})
		id++
	}
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// recordedStore holds n 1 s samples ending at t0 + n s.
func recordedStore(n int) *session.Store {
	st := session.NewStore(0)
	st.SetTarget(session.Target{URL: "http://127.0.0.1:6060", GoVersion: "go1.26.8", StartTime: t0.Add(-time.Hour)})
	var alloc float64
	for i := range n {
		alloc += 1 << 20
		st.Append(session.Sample{Time: t0.Add(time.Duration(i+1) * time.Second), Source: "agent", Values: map[string]float64{
			session.HeapLive: 40 << 20, session.HeapGoal: 80 << 20, session.GOGC: 100, session.GOMAXPROCS: 2,
			session.Goroutines: float64(10 + i), session.HeapAllocsBytes: alloc, session.GCCycles: float64(i),
		}})
	}
	return st
}

// A window over a session whose start was taken: the cumulative profiles
// are the difference between the window's ends, the goroutine groups are
// taken at both ends alike, and the held CPU profile is used.
func TestWindowDeltasAndStart(t *testing.T) {
	f := &growingFetcher{t: t}
	clock := t0
	sess := New(recordedStore(30), f, Options{Name: "test", Now: func() time.Time { return clock }})
	sess.MarkStart(t.Context())
	if got := fmt.Sprint(f.asked); got != "[goroutine allocs mutex block]" {
		t.Errorf("the start fetched %s", got)
	}
	clock = t0.Add(20 * time.Second)
	if _, err := sess.Profile(t.Context(), profile.KindCPU, ProfileOptions{Seconds: 5}); err != nil {
		t.Fatal(err)
	}
	clock = t0.Add(30 * time.Second)
	w, err := sess.Window(t.Context(), WindowOptions{Dump: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(f.asked[5:]); got != "[heap allocs goroutine mutex block goroutine-debug2]" {
		t.Errorf("the window's end fetched %s", got)
	}
	allocs := w.Profiles[profile.KindAllocs]
	if allocs == nil || allocs.Scope != profile.ScopeWindow || allocs.Seconds() != 30 {
		t.Fatalf("allocs: %+v", allocs)
	}
	top, err := profile.NewTop(allocs.Profile, profile.TopOptions{Options: profile.Options{SampleIndex: "alloc_space"}})
	if err != nil {
		t.Fatal(err)
	}
	// 2 MiB (second fetch) − 1 MiB (first) in pkg.alloc; pkg.steady nets
	// to zero and is dropped.
	if top.Total != 1<<20 || len(top.Rows) != 1 || top.Rows[0].Name != "pkg.alloc" {
		t.Errorf("window allocs: total %d rows %+v", top.Total, top.Rows)
	}
	if m := w.Profiles[profile.KindMutex]; m == nil || m.Scope != profile.ScopeWindow {
		t.Errorf("mutex: %+v", m)
	}
	if h := w.Profiles[profile.KindHeap]; h == nil || h.Scope != profile.ScopeInstant {
		t.Errorf("heap: %+v", h)
	}
	if c := w.Profiles[profile.KindCPU]; c == nil || c.Scope != profile.ScopeCapture || c.Seconds() != 5 {
		t.Errorf("cpu: %+v", c)
	}
	count := func(gs []profile.GoroutineGroup, fn string) int {
		for _, g := range gs {
			if len(g.Frames) > 0 && g.Frames[0].Func == fn {
				return g.Count
			}
		}
		return -1
	}
	if a, b := count(w.GoroutinesStart, "main.leak"), count(w.GoroutinesEnd, "main.leak"); a != 1 || b != 2 {
		t.Errorf("leak group %d at the start, %d at the end; want 1 and 2", a, b)
	}
	// The shown groups come from the dump (the third goroutine fetch: four
	// leaking goroutines), arguments merged: one group, not four.
	if n := count(w.Groups, "main.leak"); n != 4 || len(w.Groups) != 2 {
		t.Errorf("dump groups: %+v", w.Groups)
	}
	in := w.AdvisorInput()
	if in.Profiles.Allocs != allocs.Profile || in.Profiles.CPU == nil || len(in.Points) != 30 {
		t.Errorf("advisor input: allocs %v cpu %v, %d points", in.Profiles.Allocs != nil, in.Profiles.CPU != nil, len(in.Points))
	}

	// Again within MaxAge: nothing is fetched, the same deltas are reused.
	n := len(f.asked)
	w2, err := sess.Window(t.Context(), WindowOptions{MaxAge: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.asked) != n || w2.Profiles[profile.KindAllocs] != allocs {
		t.Errorf("a window within MaxAge fetched %v", f.asked[n:])
	}
}

// The captures taken at the start never serve as a window's end, even
// when recent: the window would be empty.
func TestWindowNeverEndsWithItsStart(t *testing.T) {
	f := &growingFetcher{t: t}
	sess := New(recordedStore(5), f, Options{Now: func() time.Time { return t0 }})
	sess.MarkStart(t.Context())
	w, err := sess.Window(t.Context(), WindowOptions{MaxAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if f.n[profile.KindAllocs] != 2 || f.n[profile.KindGoroutine] != 2 {
		t.Errorf("fetches: %v", f.n)
	}
	if len(w.GoroutinesEnd) == 0 {
		t.Error("no end groups")
	}
}

// The cgroup reading at the window's start is the first one published
// after it, seen through a subscription (the front end's change signal is
// left alone).
func TestCgroupAtTheStart(t *testing.T) {
	st := session.NewStore(0)
	sess := New(st, nil, Options{})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	sess.watchCgroup(ctx)
	first := &cgroup.Stats{PID: 1, ReadAt: time.Now()}
	st.UpdateFacts(func(f *session.Facts) { f.Cgroup = first })
	testproc.Eventually(t, testproc.MinWait, func() bool {
		sess.mu.Lock()
		defer sess.mu.Unlock()
		return sess.start.cgroup == first
	}, "the first cgroup reading was not recorded")
	st.UpdateFacts(func(f *session.Facts) { f.Cgroup = &cgroup.Stats{PID: 1, ReadAt: time.Now().Add(time.Second)} })
	select {
	case <-st.Changed():
	default:
		t.Error("the front end's change signal was taken")
	}
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if sess.start.cgroup != first {
		t.Error("a later reading replaced the first")
	}
}

// No sample at all is an error that names the target; a session without
// profiles says so in the notes.
func TestWindowWithoutSamplesOrProfiles(t *testing.T) {
	sess := New(session.NewStore(0), nil, Options{Name: "pid 7"})
	sess.finishStart()
	if _, err := sess.Window(t.Context(), WindowOptions{}); err == nil {
		t.Fatal("a window without samples succeeded")
	}
	sess = New(recordedStore(3), nil, Options{Name: "pid 7"})
	sess.finishStart()
	w, err := sess.Window(t.Context(), WindowOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Notes) != 1 || len(w.Profiles) != 0 {
		t.Errorf("notes %q, profiles %v", w.Notes, w.Kinds())
	}
}

// A snapshot of a window replays into a session whose window advises the
// same, finding for finding.
func TestReplayAdvisesAsTheRecording(t *testing.T) {
	f := &growingFetcher{t: t}
	clock := t0
	sess := New(recordedStore(60), f, Options{Name: "test", Now: func() time.Time { return clock }})
	sess.MarkStart(t.Context())
	clock = t0.Add(60 * time.Second)
	w, err := sess.Window(t.Context(), WindowOptions{Dump: true})
	if err != nil {
		t.Fatal(err)
	}
	snap := w.Snapshot(SnapshotOptions{Name: "rec"})
	r := Replay(snap)
	w2, err := r.Window(t.Context(), WindowOptions{Dump: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(w2.Session.Points) != 60 || len(w2.Profiles) != len(w.Profiles) || len(w2.Groups) != len(w.Groups) || len(w2.Notes) != 0 {
		t.Errorf("replayed %d points, profiles %v, %d groups, notes %q", len(w2.Session.Points), w2.Kinds(), len(w2.Groups), w2.Notes)
	}
	a, _ := json.Marshal(snap.Advice.Findings)
	b, _ := json.Marshal(w2.Advise(advisor.Config{}).Findings)
	if !bytes.Equal(a, b) {
		t.Errorf("findings differ:\nrecorded %s\nreplayed %s", a, b)
	}
}
