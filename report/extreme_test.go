package report

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/session"
	"github.com/gotune/gotune/snapshot"
)

// extreme is a snapshot whose series spans ±1.7e308 (a live agent can
// report such values): every figure of the report must still render.
func extreme() *snapshot.Snapshot {
	s := &snapshot.Snapshot{Manifest: snapshot.Manifest{Target: snapshot.Target{Name: "extreme"}, Window: snapshot.Window{Start: t0, End: t0.Add(5 * time.Second)}}}
	vals := []float64{1.7e308, -1.7e308, 0, math.MaxFloat64, -math.MaxFloat64, 1, 5e-324}
	for i, v := range vals {
		s.Series.Points = append(s.Series.Points, snapshot.Point{Time: t0.Add(time.Duration(i) * time.Second),
			Values:  map[string]float64{session.HeapLive: v, session.HeapGoal: -v, session.Goroutines: v, session.ProcessRSS: v, session.GOMEMLIMIT: v},
			Derived: map[string]float64{session.GCCPU: v, session.GCRate: v, session.PauseP99: v, session.SchedLatP99: -v, session.ProcessCPUFrac: v}})
	}
	return s
}

func TestExtremeValuesRender(t *testing.T) {
	s := extreme()
	_, md, js, html := render(t, s, nil)
	if !strings.Contains(md, "extreme") || !strings.Contains(html, "extreme") || !strings.Contains(js, `"extreme"`) {
		t.Error("the report lost its content")
	}
	// And as the after side of a comparison.
	render(t, extreme(), s)
}
