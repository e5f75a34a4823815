package ui

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/gotune/gotune/capture"
	"github.com/gotune/gotune/collectors/discover"
	"github.com/gotune/gotune/hostview"
	"github.com/gotune/gotune/session"
)

// fakeHost is a HostSource with fixed rows that records Use and Release.
type fakeHost struct {
	mu       sync.Mutex
	rows     []hostview.Row
	used     map[int]*session.Store
	released []int
}

func (f *fakeHost) Interval() time.Duration { return 2 * time.Second }

func (f *fakeHost) Refresh(context.Context) (*hostview.View, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &hostview.View{Rows: append([]hostview.Row(nil), f.rows...), At: t0, Took: 37 * time.Millisecond, Scanned: t0, Reads: len(f.rows)}, nil
}

func (f *fakeHost) Use(pid int, st *session.Store) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.used[pid] = st
	return true
}

func (f *fakeHost) Release(pid int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.released = append(f.released, pid)
	delete(f.used, pid)
}

func (f *fakeHost) Process(pid int) (discover.Process, bool) {
	for _, r := range f.rows {
		if r.PID == pid {
			return discover.Process{PID: pid, Command: r.Command, GoVersion: r.GoVersion}, true
		}
	}
	return discover.Process{}, false
}

func newFakeHost() *fakeHost {
	f := func(v float64, origin string) *hostview.Figure { return &hostview.Figure{Value: v, Origin: origin} }
	return &fakeHost{used: map[int]*session.Store{}, rows: []hostview.Row{
		{PID: 15822, Name: "gotune", Command: "gotune demo --serve 127.0.0.1:0", User: "root", GoVersion: "go1.26.8",
			Reach: "agent+pprof 127.0.0.1:40155", Via: "agent", Samples: 30,
			HeapLive: f(71<<20, "/gc/heap/live:bytes via agent"), HeapGoal: f(140<<20, ""), GCCPU: f(0.123, "gc-cpu:fraction over 10s"),
			GCRate: f(2.9, ""), Goroutines: f(1234, ""), GoroutineGrowth: f(60, "change of /sched/goroutines:goroutines over the last 1m0s"),
			CPU: f(1.25, ""), GOMAXPROCS: f(2, ""), RSS: f(180<<20, ""),
			Findings: hostview.Findings{Crit: 1, Warn: 2, Info: 1, Rules: 20, At: t0}},
		{PID: 11743, Name: "api", Command: "/srv/api -config /etc/api.yaml", User: "app", GoVersion: "go1.25.3",
			Reach: "prometheus 127.0.0.1:9090", Via: "prometheus", Samples: 30,
			HeapLive: f(300<<20, ""), HeapGoal: f(600<<20, ""), MemLimit: f(1<<30, ""), GCCPU: f(0.02, ""),
			Goroutines: f(80, ""), GoroutineGrowth: f(0, ""), CPU: f(0.4, ""), GOMAXPROCS: f(4, ""), CPUQuota: f(1.5, "cgroup CPU quota at /api"),
			Throttled: f(0.3, ""), RSS: f(420<<20, ""), MemoryLimit: f(2<<30, ""),
			Findings: hostview.Findings{Rules: 20, At: t0}},
		{PID: 9001, Name: "sleeper", Command: "/usr/local/bin/sleeper", User: "root", GoVersion: "go1.26.8",
			Reach: "OS only", Via: "os", Samples: 30, CPU: f(0, ""), RSS: f(6<<20, ""),
			GOMAXPROCS: &hostview.Figure{Value: 2, Origin: "estimate: what Go would choose (2 CPUs)", Estimated: true},
			Findings:   hostview.Findings{Rules: 20, CouldNotRun: 12, Samples: 30, At: t0}},
		{PID: 99, Name: "not-go", Command: "not go", User: "root"},
	}}
}

// newHostModel is the root model in host mode over a fake host, sized
// w×h, with its first refresh delivered. attach records what it was asked
// and the contexts it got.
func newHostModel(t *testing.T, w, h int, host *fakeHost, attached *[]context.Context) *Model {
	t.Helper()
	m := New(t.Context(), Options{Theme: "dark", Now: func() time.Time { return t0 }, Host: host,
		Attach: func(ctx context.Context, p discover.Process) (*capture.Session, error) {
			if attached != nil {
				*attached = append(*attached, ctx)
			}
			return capture.New(fillStore(30), nil, capture.Options{Name: fmt.Sprint("pid ", p.PID)}), nil
		}})
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	for _, msg := range runCmd(t, m.Init()) {
		if _, ok := msg.(hostViewMsg); ok {
			m.Update(msg)
		}
	}
	return m
}

func TestHostGolden(t *testing.T) {
	for _, sz := range sizes {
		t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) {
			m := newHostModel(t, sz.w, sz.h, newFakeHost(), nil)
			out := plain(m)
			checkFrame(t, m.View().Content, sz.w, sz.h)
			golden.RequireEqual(t, out)
			if strings.Contains(out, "not-go") {
				t.Errorf("a process not known to be Go is listed:\n%s", out)
			}
		})
	}
}

// TestHostOverviewFlow: sort and filter, attach to two processes, go
// back to the overview with 0 and into each dashboard again with its
// state kept, messages reaching the dashboard that asked for them, and x
// closing a session.
func TestHostOverviewFlow(t *testing.T) {
	host := newFakeHost()
	var ctxs []context.Context
	m := newHostModel(t, 200, 60, host, &ctxs)
	order := func() string {
		var pids []string
		for _, r := range m.picker.rows {
			pids = append(pids, fmt.Sprint(r.PID))
		}
		return strings.Join(pids, ",")
	}
	if got := order(); got != "15822,11743,9001" {
		t.Errorf("by CPU: %s", got)
	}
	press(m, "s")
	if got := order(); got != "11743,15822,9001" || m.picker.sortKey() != hostview.ByRSS {
		t.Errorf("by RSS (%s): %s", m.picker.sortKey(), got)
	}
	press(m, "/", "a", "p", "i")
	if got := order(); got != "11743" {
		t.Errorf("filtered by api: %s", got)
	}
	press(m, "esc")

	// Enter on the first row (the API, by RSS) attaches to it.
	openDash := func() *attachment {
		t.Helper()
		for _, msg := range runCmd(t, press(m, "enter")) {
			m.Update(msg)
		}
		if m.fleet.cur == nil {
			t.Fatalf("no dashboard in front:\n%s", plain(m))
		}
		return m.fleet.cur
	}
	api := openDash()
	if api.pid != 11743 || host.used[11743] == nil || !strings.Contains(plain(m), "Heap") || !strings.Contains(plain(m), "0 processes") {
		t.Fatalf("after attach: pid %d, used %v:\n%s", api.pid, host.used, plain(m))
	}
	press(m, "2")
	if api.m.active != scrFlame {
		t.Fatalf("2 did not reach the dashboard: active %d", api.m.active)
	}
	press(m, "0")
	if m.fleet.cur != nil || !strings.Contains(plain(m), "every Go process") {
		t.Fatalf("0 did not return to the overview:\n%s", plain(m))
	}
	if l := lineWith(plain(m), "11743"); !strings.Contains(l, "●") {
		t.Errorf("the attached row is not marked: %q", l)
	}
	// The demo (second by RSS) gets a dashboard of its own.
	press(m, "j")
	demo := openDash()
	if demo.pid != 15822 || demo == api || len(ctxs) != 2 {
		t.Fatalf("second attach: pid %d, %d attaches", demo.pid, len(ctxs))
	}
	if demo.m.active != scrOverview {
		t.Errorf("the new dashboard starts on screen %d", demo.m.active)
	}
	// A message the API's dashboard asked for lands there, not in front.
	snap := fillStore(5).Snapshot()
	m.Update(routedMsg{pid: api.pid, gen: api.gen, msg: snapshotMsg{snap: snap}})
	if api.m.s.snap != snap || demo.m.s.snap == snap {
		t.Error("a routed snapshot reached the wrong dashboard")
	}
	// Back, and into the API again: the same dashboard, still on Flame.
	press(m, "0", "k")
	if again := openDash(); again != api || again.m.active != scrFlame || len(ctxs) != 2 {
		t.Errorf("re-entering the API: same %v, screen %d, %d attaches", again == api, again.m.active, len(ctxs))
	}
	// x closes its session: the context ends, the row gets its light reads.
	press(m, "0", "x")
	if m.fleet.dashes[11743] != nil || ctxs[0].Err() == nil || len(host.released) != 1 || host.released[0] != 11743 {
		t.Errorf("x: dashes %v, ctx %v, released %v", m.fleet.dashes, ctxs[0].Err(), host.released)
	}
	if ctxs[1].Err() != nil {
		t.Error("closing one session ended the other")
	}
	// q from a dashboard quits.
	press(m, "j")
	openDash()
	if msgs := runCmd(t, press(m, "q")); len(msgs) != 1 || msgs[0] != (tea.QuitMsg{}) {
		t.Errorf("q in a dashboard: %v", msgs)
	}
}

func lineWith(screen, s string) string {
	for _, l := range strings.Split(screen, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

// TestRouteKeepsTeaMessages: Bubble Tea's own messages pass through
// routing; batches are routed command by command.
func TestRouteKeepsTeaMessages(t *testing.T) {
	cmd := route(7, 1, tea.Batch(tea.Quit, func() tea.Msg { return tickMsg(t0) }))
	msgs := runCmd(t, cmd)
	var quit, routed int
	for _, msg := range msgs {
		switch msg := msg.(type) {
		case tea.QuitMsg:
			quit++
		case routedMsg:
			if msg.pid == 7 && msg.msg == tickMsg(t0) {
				routed++
			}
		}
	}
	if quit != 1 || routed != 1 {
		t.Errorf("quit %d, routed %d: %v", quit, routed, msgs)
	}
	seq := route(7, 1, tea.Sequence(func() tea.Msg { return tickMsg(t0) }, tea.Quit))()
	v, ok := seq.([]tea.Cmd)
	if ok || v != nil {
		t.Fatalf("a sequence came back as a plain slice")
	}
}

// BenchmarkHostView renders the overview of 120 processes at 200×60.
func BenchmarkHostView(b *testing.B) {
	host := newFakeHost()
	base := host.rows[:3]
	for i := range 120 {
		r := base[i%3]
		r.PID = 20000 + i
		host.rows = append(host.rows, r)
	}
	m := New(b.Context(), Options{Theme: "dark", Now: func() time.Time { return t0 }, Host: host})
	m.Update(tea.WindowSizeMsg{Width: 200, Height: 60})
	v, _ := host.Refresh(b.Context())
	m.Update(hostViewMsg{view: v})
	for b.Loop() {
		_ = m.View()
	}
}

func snapshotMsgFor(sess interface{ Snapshot() *session.Snapshot }) snapshotMsg {
	return snapshotMsg{snap: sess.Snapshot()}
}

func sizeMsg(w, h int) tea.WindowSizeMsg { return tea.WindowSizeMsg{Width: w, Height: h} }
