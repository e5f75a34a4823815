package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/session"
	"github.com/gotune/gotune/themes"
)

// A mark is drawn down the whole chart at its x, except where a curve is.
func TestRenderChartMarks(t *testing.T) {
	flat := chartSeries{xs: []float64{0, 1}, ys: []float64{0.5, 0.5}}
	x := 0.5
	rows := renderChartMarked([]chartSeries{flat}, chartMarks{xs: []float64{x}}, 21, 4, 1)
	col := int(x*float64(2*21-1)) / 2
	for r, row := range rows {
		rs := []rune(row)
		if len(rs) != 21 {
			t.Fatalf("row %d is %d cells: %q", r, len(rs), row)
		}
		if c := rs[col]; c != markRune && (c < 0x2800 || c > 0x28ff) {
			t.Errorf("row %d: cell %d is %q, want the mark or the curve", r, col, c)
		}
	}
	marks := strings.Count(strings.Join(rows, "\n"), string(markRune))
	if marks < 3 {
		t.Errorf("%d mark cells in 4 rows (the curve takes at most one):\n%s", marks, strings.Join(rows, "\n"))
	}
	if plain := renderChart([]chartSeries{flat}, 21, 4, 1); strings.Contains(strings.Join(plain, ""), string(markRune)) {
		t.Error("a chart without marks has one")
	}
	// A painted mark opens and closes its paint like a curve.
	th, err := themes.New("dark")
	if err != nil {
		t.Fatal(err)
	}
	p := th.Warn
	painted := strings.Join(renderChartMarked(nil, chartMarks{xs: []float64{0}, paint: p}, 5, 2, 1), "\n")
	if !strings.Contains(painted, p.Open()+string(markRune)+p.Close()) {
		t.Errorf("mark not painted: %q", painted)
	}
}

// A restart in the window: a mark down every chart of the overview and
// the status line saying when and which PIDs; an exited PID target says
// exited, not "retrying".
func TestRestartOnOverview(t *testing.T) {
	m := newTestModel(t, 120, 40, "dark")
	src := fillStore(60).Snapshot()
	st := session.NewStore(0)
	for i, p := range src.Points {
		if i == 30 {
			p.Restart = &session.Restart{At: p.Time, FromPID: 4242, ToPID: 4343, Why: "the agent's pid changed"}
			p.Derived = map[string]float64{}
		}
		st.AppendPoint(p)
	}
	st.SetTarget(session.Target{URL: "http://127.0.0.1:6060", PID: 4343, GoVersion: "go1.26.8", StartTime: src.Points[30].Time.Add(-time.Second)})
	st.SetStatus(session.Status{Source: "metrics", Via: "agent", Interval: time.Second, LastOK: t0})
	m.Update(snapshotMsg{snap: st.Snapshot()})
	out := plain(m)
	if want := "target restarted at 15:08:57 (PID 4242 → 4343)"; !strings.Contains(out, want) {
		t.Errorf("no %q in:\n%s", want, out)
	}
	if !strings.Contains(out, "pid 4343") || !strings.Contains(out, "up 30s") {
		t.Errorf("header does not name the new process:\n%s", out)
	}
	// Every chart of the 3×3 grid draws the mark.
	if n := strings.Count(out, string(markRune)); n < 9 {
		t.Errorf("%d mark cells, want at least one per chart:\n%s", n, out)
	}

	st.SetStatus(session.Status{Source: "metrics", Via: "pprof", Interval: time.Second, LastOK: t0, Failures: 1,
		LastErr: "pid 4343: process exited", Lost: true, LostAt: t0, Exited: true})
	m.Update(snapshotMsg{snap: st.Snapshot()})
	out = plain(m)
	if !strings.Contains(out, "target exited at 15:09:26") || strings.Contains(out, "retrying") {
		t.Errorf("exited view:\n%s", out)
	}
}
