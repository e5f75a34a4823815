package bundle_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gotune/gotune/bundle"
	"github.com/gotune/gotune/collectors"
	"github.com/gotune/gotune/collectors/discover"
	"github.com/gotune/gotune/internal/testproc"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/snapshot"
	gotrace "github.com/gotune/gotune/trace"
	"github.com/gotune/gotune/trigger"
)

// entries collects a watch's index entries as they happen.
type entries struct {
	mu  sync.Mutex
	all []bundle.IndexEntry
}

func (e *entries) add(x bundle.IndexEntry) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.all = append(e.all, x)
}

// of returns the entries of event kind for p.
func (e *entries) of(event string, p *testproc.Proc) []bundle.IndexEntry {
	pid := p.PID
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []bundle.IndexEntry
	for _, x := range e.all {
		if x.Event == event && x.PID == pid {
			out = append(out, x)
		}
	}
	return out
}

func (e *entries) dump() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var b strings.Builder
	for _, x := range e.all {
		b.WriteString(x.Line() + "\n")
	}
	return b.String()
}

func control(t *testing.T, p *testproc.Proc, q string) {
	t.Helper()
	resp, err := http.Get("http://" + p.Addr() + "/control?" + q)
	testproc.Must(t, err, "control "+q)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// TestWatchEpisodes watches two real targets, one that starts leaking
// goroutines and one that starts allocating hard, with a growth rule and
// a GC CPU rule: each episode gives exactly one bundle with its reason,
// none while it goes on; an episode within the cool-down gives none
// (suppressed), and the next one after it gives one again.
func TestWatchEpisodes(t *testing.T) {
	bin := testproc.Build(t, testproc.Target("episodes"))
	leaker := testproc.StartWith(t, bin, testproc.Options{WaitReady: true}, "-leak-rate", "50")
	// One P: the GC's share of it is large and clear of the quiet
	// baseline even when the machine is busy.
	allocer := testproc.StartWith(t, bin, testproc.Options{WaitReady: true, Env: []string{"GOMAXPROCS=1"}})
	var targets []collectors.Target
	for _, p := range []*testproc.Proc{leaker, allocer} {
		tg, err := collectors.Open(context.Background(), strconv.Itoa(p.PID), discover.Overrides{})
		testproc.Must(t, err, "open target")
		targets = append(targets, tg)
	}
	growth, _ := trigger.Parse("goroutine-growth>300/min:10s")
	gcCPU, _ := trigger.Parse("gc-cpu>5%:5s")
	dir := t.TempDir()
	d, err := bundle.OpenDir(dir, 0)
	testproc.Must(t, err, "open dir")
	const cooldown = 75 * time.Second
	var got entries
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan bundle.Summary, 1)
	go func() {
		done <- bundle.Watch(ctx, targets, bundle.WatchOptions{
			Rules: []trigger.Rule{growth, gcCPU}, Trigger: trigger.Options{Cooldown: cooldown, ClearAfter: 5 * time.Second},
			Bundle: bundle.Options{CPU: 2 * time.Second}, Dir: d, Interval: 500 * time.Millisecond, OnEntry: got.add,
		})
	}()
	defer cancel()
	// until polls cond; false after d (the events then say what happened).
	until := func(d time.Duration, cond func() bool) bool {
		d = max(d, testproc.MinWait)
		deadline := time.Now().Add(d)
		for !cond() {
			if time.Now().After(deadline) {
				return false
			}
			time.Sleep(100 * time.Millisecond)
		}
		return true
	}
	wait := func(d time.Duration, what string, cond func() bool) {
		t.Helper()
		if !until(d, cond) {
			t.Fatalf("after %s: %s; events:\n%s", d, what, got.dump())
		}
	}
	count := func(event string, p *testproc.Proc) int { return len(got.of(event, p)) }
	// Quiet first: both watched a while, nothing fires.
	time.Sleep(8 * time.Second)
	if count("fired", leaker)+count("fired", allocer) != 0 {
		t.Fatalf("a rule fired on quiet targets:\n%s", got.dump())
	}

	// Episode 1 of each: one bundle; going on for 8 s more adds none.
	control(t, leaker, "leak=on")
	control(t, allocer, "alloc=on")
	var wg sync.WaitGroup
	for _, p := range []*testproc.Proc{leaker, allocer} {
		wg.Go(func() {
			if !until(90*time.Second, func() bool { return count("written", p) == 1 }) {
				t.Errorf("no bundle of pid %d; events:\n%s", p.PID, got.dump())
			}
			time.Sleep(8 * time.Second)
			control(t, p, "leak=off&alloc=off")
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	wait(60*time.Second, "both episodes to end", func() bool { return count("cleared", leaker) == 1 && count("cleared", allocer) == 1 })
	for _, p := range []*testproc.Proc{leaker, allocer} {
		if n := count("fired", p); n != 1 {
			t.Errorf("pid %d fired %d times in its first episode, want 1:\n%s", p.PID, n, got.dump())
		}
	}
	first := got.of("fired", leaker)[0]

	// Episode 2 of the leak, within the cool-down: suppressed, no bundle.
	control(t, leaker, "leak=on")
	wait(60*time.Second, "the second leak episode", func() bool { return count("suppressed", leaker)+count("fired", leaker) == 2 })
	control(t, leaker, "leak=off")
	wait(60*time.Second, "the second episode to end", func() bool { return count("cleared", leaker) == 2 })
	ended := got.of("cleared", leaker)[1].Time
	want := 1 // an episode begun within the cool-down fires only if it outlasts it
	if ended.After(first.CooldownUntil) {
		want = 2
		t.Logf("the machine is slow: episode 2 ended at %s, after the cool-down (%s)", ended.Format(time.TimeOnly), first.CooldownUntil.Format(time.TimeOnly))
	}
	if n := count("fired", leaker); n != want || count("suppressed", leaker) != 1 {
		t.Errorf("after episode 2: %d firings (want %d), %d suppressed:\n%s", n, want, count("suppressed", leaker), got.dump())
	}

	// Episode 3, after the cool-down: one bundle again.
	time.Sleep(time.Until(first.CooldownUntil.Add(time.Second)))
	control(t, leaker, "leak=on")
	wait(90*time.Second, "a bundle of the third episode", func() bool { return count("written", leaker) == want+1 })
	control(t, leaker, "leak=off")
	cancel()
	sum := <-done

	if n := count("fired", leaker); n != want+1 {
		t.Errorf("the leaker fired %d times, want %d:\n%s", n, want+1, got.dump())
	}
	if n := count("fired", allocer); n != 1 {
		t.Errorf("the allocator fired %d times, want 1:\n%s", n, got.dump())
	}
	for _, e := range append(got.of("fired", leaker), got.of("fired", allocer)...) {
		if (e.PID == leaker.PID) != (e.Rule == growth.String()) {
			t.Errorf("pid %d fired %s:\n%s", e.PID, e.Rule, got.dump())
		}
	}
	wantLeak := want + 1
	if sum.Written != wantLeak+1 || sum.Failed != 0 || sum.Skipped != 0 || sum.Suppressed != 1 {
		t.Errorf("summary %+v", sum)
	}

	// The bundles on disk: the index, and each snapshot with its reason.
	files, _ := filepath.Glob(filepath.Join(dir, "*.gotune"))
	if len(files) != wantLeak+1 {
		t.Fatalf("%d bundles on disk, want %d: %v", len(files), wantLeak+1, files)
	}
	idx, err := bundle.ReadIndex(dir)
	testproc.Must(t, err, "read the index")
	if len(idx) != len(got.all) {
		t.Errorf("the index has %d entries, the watch recorded %d", len(idx), len(got.all))
	}
	for _, e := range append(got.of("written", leaker), got.of("written", allocer)...) {
		s, err := snapshot.Read(filepath.Join(dir, e.File))
		testproc.Must(t, err, "read "+e.File)
		r, ok := bundle.RuleOf(s)
		if !ok || r.String() != e.Rule || len(s.Manifest.Notes) == 0 || !strings.HasPrefix(s.Manifest.Notes[0], "trigger "+e.Rule) {
			t.Errorf("%s: name %q, notes %q", e.File, s.Manifest.Name, s.Manifest.Notes)
			continue
		}
		for _, k := range []profile.Kind{profile.KindCPU, profile.KindHeap, profile.KindAllocs, profile.KindGoroutine} {
			if s.Profile(k) == nil {
				t.Errorf("%s: no %s profile (notes %q)", e.File, k, s.Manifest.Notes)
			}
		}
		if s.Advice == nil || len(s.Series.Points) < 10 {
			t.Errorf("%s: advice %v, %d points", e.File, s.Advice != nil, len(s.Series.Points))
		}
		switch e.PID {
		case leaker.PID:
			if !strings.Contains(s.Manifest.Notes[0], "goroutines grew from") {
				t.Errorf("leak reason: %q", s.Manifest.Notes[0])
			}
			if !hasGroup(s, "main.leakedWorker") {
				t.Errorf("%s: no leakedWorker goroutine group", e.File)
			}
			if s.GoroutineDump == nil {
				t.Errorf("%s: no debug=2 dump below %d goroutines", e.File, bundle.DefaultDumpMaxGoroutines)
			}
		case allocer.PID:
			if !strings.Contains(s.Manifest.Notes[0], "GC CPU at least") {
				t.Errorf("alloc reason: %q", s.Manifest.Notes[0])
			}
			if c := s.Profile(profile.KindAllocs); c != nil && c.Scope != profile.ScopeWindow {
				t.Errorf("%s: allocs scope %s, want the window's delta", e.File, c.Scope)
			}
			if top := topFunc(t, s.Profile(profile.KindCPU)); !strings.Contains(top, "main.allocating") && !strings.HasPrefix(top, "runtime.") {
				t.Errorf("%s: the CPU profile's top function is %s", e.File, top)
			}
		}
	}
	if testing.Verbose() {
		fmt.Fprint(os.Stderr, got.dump())
	}
}

func hasGroup(s *snapshot.Snapshot, fn string) bool {
	for _, g := range s.Goroutines {
		for _, f := range g.Frames {
			if f.Func == fn && g.Count >= 100 {
				return true
			}
		}
	}
	return false
}

// topFunc is the function with the most flat samples of a profile
// (its default sample type, the last).
func topFunc(t *testing.T, c *profile.Captured) string {
	t.Helper()
	if c == nil {
		return ""
	}
	p := c.Profile
	flat := map[string]int64{}
	for i := range p.NumSamples() {
		st, v := p.Stack(i), p.Values(i)
		if len(st) == 0 || len(v) == 0 {
			continue
		}
		loc := p.Locations[st[0]]
		if len(loc.Lines) == 0 || loc.Lines[0].Function < 0 {
			continue
		}
		flat[p.Functions[loc.Lines[0].Function].Name] += v[len(v)-1]
	}
	best, top := int64(-1), ""
	for f, v := range flat {
		if v > best {
			best, top = v, f
		}
	}
	return top
}

// TestWatchTrace: a bundle of a target with the agent's flight recorder
// holds its snapshot beside it; one of a target without takes a 1 s
// execution trace after the window; both are real traces (gotune's trace
// analysis reads them whole), named in the index and the notes.
func TestWatchTrace(t *testing.T) {
	bin := testproc.Build(t, testproc.Target("episodes"))
	flight := testproc.StartWith(t, bin, testproc.Options{WaitReady: true}, "-leak-rate", "50", "-flight")
	plain := testproc.StartWith(t, bin, testproc.Options{WaitReady: true}, "-leak-rate", "50")
	var targets []collectors.Target
	for _, p := range []*testproc.Proc{flight, plain} {
		tg, err := collectors.Open(context.Background(), strconv.Itoa(p.PID), discover.Overrides{})
		testproc.Must(t, err, "open target")
		targets = append(targets, tg)
	}
	growth, _ := trigger.Parse("goroutine-growth>300/min:5s")
	dir := t.TempDir()
	d, err := bundle.OpenDir(dir, 0)
	testproc.Must(t, err, "open dir")
	var got entries
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan bundle.Summary, 1)
	go func() {
		done <- bundle.Watch(ctx, targets, bundle.WatchOptions{Rules: []trigger.Rule{growth}, Trigger: trigger.Options{Cooldown: time.Hour},
			Bundle: bundle.Options{CPU: time.Second}, Dir: d, Interval: 500 * time.Millisecond, TraceSeconds: 1, OnEntry: got.add})
	}()
	time.Sleep(3 * time.Second)
	control(t, flight, "leak=on")
	control(t, plain, "leak=on")
	deadline := time.Now().Add(2 * time.Minute)
	for len(got.of("written", flight))+len(got.of("written", plain)) < 2 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	cancel()
	<-done
	for _, tc := range []struct {
		p    *testproc.Proc
		note string
	}{{flight, "the flight recorder's snapshot"}, {plain, "1 s from /debug/pprof/trace"}} {
		w := got.of("written", tc.p)
		if len(w) != 1 {
			t.Errorf("pid %d: %d bundles:\n%s", tc.p.PID, len(w), got.dump())
			continue
		}
		e := w[0]
		if e.Trace == "" || !strings.HasPrefix(e.Trace, strings.TrimSuffix(e.File, ".gotune")) {
			t.Errorf("pid %d: trace %q beside %q", tc.p.PID, e.Trace, e.File)
			continue
		}
		noted := false
		for _, n := range e.Notes {
			noted = noted || strings.Contains(n, tc.note)
		}
		if !noted {
			t.Errorf("pid %d: no note %q in %q", tc.p.PID, tc.note, e.Notes)
		}
		path := filepath.Join(dir, e.Trace)
		fi, err := os.Stat(path)
		testproc.Must(t, err, "stat the trace")
		s, err := gotrace.AnalyzeFile(context.Background(), path, gotrace.Options{})
		if err != nil || s.Truncated || s.Events == 0 || s.Generations == 0 {
			t.Errorf("pid %d: %s (%d bytes): %v, %+v", tc.p.PID, e.Trace, fi.Size(), err, s)
			continue
		}
		if e.Bytes <= fi.Size() {
			t.Errorf("pid %d: bundle bytes %d do not count the trace's %d", tc.p.PID, e.Bytes, fi.Size())
		}
		t.Logf("pid %d: %s, %d bytes, %d events, %d generations, %s", tc.p.PID, e.Trace, fi.Size(), s.Events, s.Generations, s.Duration)
	}
}
