package export

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/capture"
	"github.com/gotune/gotune/collectors"
	"github.com/gotune/gotune/collectors/discover"
	"github.com/gotune/gotune/internal/testproc"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/session"
)

// fixture loads a committed profile from testdata/profiles as a capture.
func fixture(t testing.TB, kind profile.Kind) *profile.Captured {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(testproc.ModuleRoot(t), "testdata", "profiles", string(kind)+".pb.gz"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := profile.ParseBytes(raw)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(0, p.TimeNanos)
	return &profile.Captured{Kind: kind, Raw: raw, Profile: p, Scope: profile.ScopeInstant, From: at, To: at.Add(time.Duration(p.DurationNanos)), FetchedAt: at}
}

// liveSession runs the export test target and a capture session on it:
// a few metric points and the requested profiles, as the dashboard would
// hold them.
type liveSession struct {
	target   session.Target
	points   []session.Point
	profiles []*profile.Captured
}

func captureLive(t *testing.T, kinds ...profile.Kind) liveSession {
	t.Helper()
	bin := testproc.Build(t, "./testdata/targets/exporttarget")
	proc := testproc.Start(t, bin, []string{"GOGC=150"})
	addr := strings.Fields(proc.FirstLine)[2]
	ctx, cancel := context.WithTimeout(context.Background(), testproc.MinWait)
	defer cancel()
	tg, err := collectors.Open(ctx, "http://"+addr, discover.Overrides{})
	testproc.Must(t, err, "open target")
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	s := capture.Start(wctx, tg, capture.Options{Interval: 100 * time.Millisecond})
	for _, k := range kinds {
		if _, err := s.Profile(ctx, k, capture.ProfileOptions{Seconds: 1}); err != nil {
			t.Fatalf("fetch %s profile: %v", k, err)
		}
	}
	testproc.Eventually(t, 30*time.Second, func() bool {
		sn := s.Snapshot()
		return len(sn.Points) >= 4 && sn.Points[len(sn.Points)-1].Values[session.GOGC] > 0
	}, "no metric points from the agent")
	stop()
	sn := s.Snapshot()
	ls := liveSession{target: sn.Target, points: sn.Points}
	if ls.target.PID == 0 {
		ls.target.PID = proc.PID
	}
	for _, k := range kinds {
		ls.profiles = append(ls.profiles, s.Held(k))
	}
	return ls
}

// checkMetrics asserts every value of every point arrived unchanged.
func checkMetrics(t *testing.T, got map[string]map[int64]float64, points []session.Point) int {
	t.Helper()
	n := 0
	for _, p := range points {
		ts := p.Time.UnixNano()
		for name, v := range p.Values {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			g, ok := got[name][ts]
			if !ok {
				t.Errorf("metric %s at %s: not received", name, p.Time.Format(time.RFC3339Nano))
				continue
			}
			if g != v {
				t.Errorf("metric %s at %s: received %v, session has %v", name, p.Time.Format(time.RFC3339Nano), g, v)
			}
			n++
		}
		for name, v := range p.Derived {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			if g := got[DerivedPrefix+name][ts]; g != v {
				t.Errorf("derived %s: received %v, session has %v", name, g, v)
			}
			n++
		}
	}
	return n
}
