package collectors

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/collectors/discover"
	"github.com/gotune/gotune/collectors/proc"
	"github.com/gotune/gotune/internal/testproc"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/session"
)

// A target restarted on the same port, each kind attached by URL: the
// store follows the new process (its PID and start time), the first point
// read from it is marked, nothing is derived across the marker, and the
// status text names both PIDs. Real processes on a fixed loopback port.

// freeLoopbackPort is a port nothing listens on now (the kernel's pick).
func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// restartKind starts one kind of target on addr and returns the process.
type restartKind struct {
	name   string
	via    string // the member the samples must come from
	start  func(t *testing.T, addr string) *testproc.Proc
	counts string // a counter the target moves, so rates resume after the restart
}

var restartKinds = []restartKind{
	{name: "pprof-only", via: "pprof", counts: session.AllocRate, start: func(t *testing.T, addr string) *testproc.Proc {
		return testproc.StartWith(t, testproc.BuildInto(t, testproc.PprofServer, ""), testproc.Options{WaitReady: true}, addr)
	}},
	{name: "client_golang", via: "prometheus", counts: session.ProcessCPUFrac, start: func(t *testing.T, addr string) *testproc.Proc {
		return testproc.StartWith(t, testproc.Build(t, "./testdata/targets/promdemo"), testproc.Options{FirstLine: true, Env: []string{"GOMAXPROCS=2"}},
			"demo", "--serve", addr, "--healthy", "--alloc-rate", "1MiB")
	}},
	{name: "agent", via: "agent", counts: session.AllocRate, start: func(t *testing.T, addr string) *testproc.Proc {
		return testproc.StartWith(t, testproc.Build(t, "./testdata/targets/gotuneagent"), testproc.Options{WaitReady: true}, "-listen", addr, "-churn", "1")
	}},
}

// startOnPort starts k on addr, retrying while the port is still held by
// the process just killed (the kernel frees it asynchronously).
func startOnPort(t *testing.T, k restartKind, addr string) *testproc.Proc {
	t.Helper()
	deadline := time.Now().Add(testproc.MinWait)
	for {
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			ln.Close()
			return k.start(t, addr)
		}
		if time.Now().After(deadline) {
			t.Fatalf("port %s never became free: %v", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestURLTargetFollowsRestart(t *testing.T) {
	for _, k := range restartKinds {
		t.Run(k.name, func(t *testing.T) {
			addr := fmt.Sprintf("127.0.0.1:%d", freeLoopbackPort(t))
			p1 := startOnPort(t, k, addr)
			tg, err := NewURLTarget("http://"+addr, HTTPSourceOptions{})
			if err != nil {
				t.Fatal(err)
			}
			store := session.NewStore(0)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			r := tg.MetricsRunner(store, 200*time.Millisecond)
			r.MaxBackoff = time.Second
			done := make(chan struct{})
			go func() { r.Run(ctx); close(done) }()
			defer func() { cancel(); <-done }()

			testproc.Eventually(t, 60*time.Second, func() bool {
				s := store.Snapshot()
				return len(s.Points) >= 3 && s.Target.PID == p1.PID
			}, "no samples naming pid %d", p1.PID)
			before := store.Snapshot()
			start1 := before.Target.StartTime
			want1, err := processStart(proc.Host, p1.PID)
			if err != nil {
				t.Fatal(err)
			}
			if start1.Sub(want1).Abs() > time.Second {
				t.Errorf("start time %s, /proc says %s", start1, want1)
			}
			if src := before.Latest().Source; !strings.Contains(src, k.via) {
				t.Errorf("samples via %q, want %s", src, k.via)
			}
			if before.LastRestart() != nil {
				t.Fatalf("a restart before any: %+v", before.LastRestart())
			}

			p1.Kill()
			p2 := startOnPort(t, k, addr)
			if p2.PID == p1.PID {
				t.Fatalf("the new process has the old PID %d", p1.PID)
			}
			testproc.Eventually(t, 60*time.Second, func() bool {
				s := store.Snapshot()
				return s.Target.PID == p2.PID && s.LastRestart() != nil
			}, "the store never followed pid %d → %d", p1.PID, p2.PID)
			// Rates resume from the new process's own points.
			testproc.Eventually(t, 60*time.Second, func() bool {
				s := store.Snapshot()
				return len(pointsAfterRestart(s)) >= 3 && hasDerived(pointsAfterRestart(s)[1:], k.counts)
			}, "no %s derived after the restart", k.counts)

			snap := store.Snapshot()
			want2, err := processStart(proc.Host, p2.PID)
			if err != nil {
				t.Fatal(err)
			}
			if got := snap.Target.StartTime; got.Sub(want2).Abs() > time.Second || !got.After(start1) {
				t.Errorf("start time after the restart %s, /proc says %s (before: %s)", got, want2, start1)
			}
			if snap.Target.GoVersion == "" || snap.Target.URL != "http://"+addr {
				t.Errorf("target after the restart: %+v", snap.Target)
			}
			if k.via != "agent" && !strings.Contains(snap.Target.Command, "pprofserver") && !strings.Contains(snap.Target.Command, "promdemo") {
				t.Errorf("command of the new process %q", snap.Target.Command)
			}
			if len(snap.Restarts) != 1 {
				t.Fatalf("restarts %+v, want one", snap.Restarts)
			}
			rs := snap.Restarts[0]
			if rs.FromPID != p1.PID || rs.ToPID != p2.PID || rs.FromStart.Sub(start1).Abs() > time.Second || rs.ToStart.Sub(want2).Abs() > time.Second || rs.Why == "" {
				t.Errorf("restart %+v, want pid %d → %d", rs, p1.PID, p2.PID)
			}
			text := rs.String()
			if want := fmt.Sprintf("(PID %d → %d)", p1.PID, p2.PID); !strings.HasPrefix(text, "target restarted at ") || !strings.HasSuffix(text, want) {
				t.Errorf("status text %q, want \"target restarted at HH:MM:SS %s\"", text, want)
			}
			t.Logf("%s: %s; why: %s", k.name, text, rs.Why)
			// Exactly one marked point, between the two processes: the
			// points before it are older than the new process, it
			// derives nothing, and no point after it reaches back.
			marked := -1
			for i, pt := range snap.Points {
				if pt.Restart != nil {
					if marked >= 0 {
						t.Fatalf("points %d and %d both marked", marked, i)
					}
					marked = i
				}
			}
			if marked <= 0 {
				t.Fatalf("marker at %d of %d points", marked, len(snap.Points))
			}
			mp := snap.Points[marked]
			if len(mp.Derived) != 0 {
				t.Errorf("the marked point derives %v across the restart", mp.Derived)
			}
			if !snap.Points[marked-1].Time.Before(want2.Add(time.Second)) || mp.Time.Before(want2) {
				t.Errorf("marker at %s, the point before at %s, new process started %s", mp.Time, snap.Points[marked-1].Time, want2)
			}
			for _, pt := range snap.Points[marked+1:] {
				for name, o := range pt.DerivedOrigins {
					if w := windowOf(o); w > 0 && pt.Time.Add(-w).Before(mp.Time.Add(-500*time.Millisecond)) {
						t.Errorf("%s at %s spans %s, back past the restart at %s (%s)", name, pt.Time, w, mp.Time, o)
					}
				}
			}
		})
	}
}

func pointsAfterRestart(s *session.Snapshot) []session.Point {
	for i, pt := range s.Points {
		if pt.Restart != nil {
			return s.Points[i:]
		}
	}
	return nil
}

func hasDerived(pts []session.Point, name string) bool {
	for _, pt := range pts {
		if _, ok := pt.Derived[name]; ok {
			return true
		}
	}
	return false
}

// windowOf is the span a GC CPU origin names (" over 10s"), 0 for others.
func windowOf(origin string) time.Duration {
	_, rest, ok := strings.Cut(origin, " over ")
	if !ok {
		return 0
	}
	f := strings.Fields(rest)
	if len(f) == 0 {
		return 0
	}
	d, err := time.ParseDuration(strings.TrimRight(f[0], ";,"))
	if err != nil {
		return 0
	}
	return d
}

// By PID the process does not come back: when it exits the store says so
// and keeps saying so, the runners stop, and a new process on the same
// port is not adopted.
func TestPIDTargetExitedStaysExited(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", freeLoopbackPort(t))
	k := restartKinds[0]
	p1 := startOnPort(t, k, addr)
	tg, err := NewPIDTarget(t.Context(), p1.PID, discover.Overrides{}, discover.Options{CPUWindow: -1, ProbeTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if tg.Pprof == nil {
		t.Fatalf("pid %d: no pprof endpoint found (%+v)", p1.PID, tg.Process.Reach)
	}
	store := session.NewStore(0)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	tg.Watch(ctx, store, 200*time.Millisecond)
	testproc.Eventually(t, 60*time.Second, func() bool { return len(store.Snapshot().Points) >= 2 }, "no samples by PID")

	p1.Kill()
	testproc.Eventually(t, 60*time.Second, func() bool {
		s := store.Snapshot()
		st, _ := s.StatusOf("metrics")
		return s.Target.Exited() && st.Exited
	}, "the store never said pid %d exited", p1.PID)
	exited := store.Snapshot()
	st, _ := exited.StatusOf("metrics")
	if !st.Lost || !strings.Contains(st.LastErr, "process exited") || !strings.Contains(st.LastErr, "does not follow another process") || st.Backoff != 0 {
		t.Errorf("status after exit: %+v", st)
	}
	last := exited.Latest()

	// A new process on the same port, answering: still not followed.
	p2 := startOnPort(t, k, addr)
	testproc.Eventually(t, 30*time.Second, func() bool {
		_, err := NewPprofClient("http://"+addr).Fetch(t.Context(), ProfileRequest{Kind: profile.KindGoroutine})
		return err == nil
	}, "the new process on %s never answered", addr)
	// The runners have stopped: a few of their intervals later nothing
	// has changed.
	time.Sleep(time.Second)
	snap := store.Snapshot()
	if snap.Target.PID != p1.PID || !snap.Target.Exited() || snap.LastRestart() != nil {
		t.Errorf("target after a new process on the port: %+v (restarts %+v), want pid %d, exited", snap.Target, snap.Restarts, p1.PID)
	}
	if got := snap.Latest(); got.Time != last.Time || len(snap.Points) != len(exited.Points) {
		t.Errorf("points went on after the exit: %d then %d, last %s then %s", len(exited.Points), len(snap.Points), last.Time, got.Time)
	}
	st2, _ := snap.StatusOf("metrics")
	if !st2.Exited || st2.LastErrAt != st.LastErrAt {
		t.Errorf("the metrics runner called again after the exit: %+v", st2)
	}
	_ = p2
}
