package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/session"
	"github.com/gotune/gotune/snapshot"
)

// restartSnapshot is a 20-point series whose 11th point marks a restart.
func restartSnapshot(why string) *snapshot.Snapshot {
	t0 := time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)
	s := &snapshot.Snapshot{Manifest: snapshot.Manifest{Window: snapshot.Window{Start: t0, End: t0.Add(19 * time.Second)},
		Target: snapshot.Target{Name: "http://127.0.0.1:6060", PID: 202}}}
	for i := range 20 {
		v := 100.0
		if i >= 10 {
			v = 1
		}
		p := snapshot.Point{Time: t0.Add(time.Duration(i) * time.Second), Source: "pprof", Values: map[string]float64{session.Goroutines: v}}
		if i == 10 {
			p.Restart = &snapshot.Restart{At: p.Time, FromPID: 101, ToPID: 202, Why: why}
		}
		s.Series.Points = append(s.Series.Points, p)
	}
	return s
}

// A curve downsampled below its points never merges the two processes in
// one bucket; the restart's text is one line whatever the file holds.
func TestRestartInReport(t *testing.T) {
	s := restartSnapshot("seen\n## injected \x1b]0;title\a")
	r, err := Build(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Restarts) != 1 || r.Restarts[0].T != 10 || !strings.HasPrefix(r.Restarts[0].Text, "target restarted at 2026-12-01 15:00:10 UTC: pid 101 → 202 (") {
		t.Fatalf("restarts %+v", r.Restarts)
	}
	if strings.ContainsAny(r.Restarts[0].Text, "\n\x1b\a") {
		t.Errorf("restart text %q is not one clean line", r.Restarts[0].Text)
	}
	pts := []CurvePoint{}
	for i := range 20 {
		v := 100.0
		if i >= 10 {
			v = 1
		}
		pts = append(pts, CurvePoint{T: float64(i), V: v})
	}
	for _, got := range [][]CurvePoint{downsampleSegments(pts, []int{10}, 4, false), downsampleSegments(pts, []int{10}, 3, true)} {
		for _, p := range got {
			if p.V != 100 && p.V != 1 {
				t.Errorf("a bucket merges two processes: %+v", got)
			}
		}
	}
	var md bytes.Buffer
	if err := r.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(md.String(), "\n## injected") {
		t.Errorf("a restart's why starts a heading:\n%s", md.String())
	}
	var html bytes.Buffer
	if err := r.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(html.String(), `class="restart"`); n != 1 {
		t.Errorf("%d restart marks in the one chart, want 1", n)
	}
}
