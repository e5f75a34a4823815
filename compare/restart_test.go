package compare

import (
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/session"
	"github.com/gotune/gotune/snapshot"
)

// No series rate spans a restart (even when the new process's counter
// has grown past the old one's), and the notes say which side holds one.
func TestRestartInComparison(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)
	mk := func(restart bool) *snapshot.Snapshot {
		s := &snapshot.Snapshot{Manifest: snapshot.Manifest{Window: snapshot.Window{Start: t0, End: t0.Add(10 * time.Second)}}}
		for i := range 11 {
			p := snapshot.Point{Time: t0.Add(time.Duration(i) * time.Second), Values: map[string]float64{session.HeapAllocsBytes: float64(1000 * (i + 1))}}
			if restart && i == 5 {
				p.Restart = &snapshot.Restart{At: p.Time, FromPID: 7, ToPID: 8}
				p.Values[session.HeapAllocsBytes] = 1e6
			}
			if restart && i > 5 {
				p.Values[session.HeapAllocsBytes] = 1e6 + float64(1000*(i-5))
			}
			s.Series.Points = append(s.Series.Points, p)
		}
		return s
	}
	plain, restarted := mk(false), mk(true)
	if r, ok := seriesRate(plain, session.HeapAllocsBytes, t0, t0.Add(10*time.Second)); !ok || r != 1000 {
		t.Errorf("rate %v %v, want 1000/s", r, ok)
	}
	if r, ok := seriesRate(restarted, session.HeapAllocsBytes, t0, t0.Add(10*time.Second)); ok {
		t.Errorf("a rate across the restart: %v", r)
	}
	if r, ok := seriesRate(restarted, session.HeapAllocsBytes, t0.Add(5*time.Second), t0.Add(10*time.Second)); !ok || r != 1000 {
		t.Errorf("the new process's rate %v %v, want 1000/s", r, ok)
	}
	c := Compare(plain, restarted)
	n := strings.Join(c.Notes, "\n")
	if !strings.Contains(n, "the after window holds a restart of the target at 2026-12-01 15:00:05 UTC (pid 7 → 8)") || strings.Contains(n, "the before window holds") {
		t.Errorf("notes:\n%s", n)
	}
}
