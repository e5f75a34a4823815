package report

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/gotune/gotune/advisor"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/session"
	"github.com/gotune/gotune/snapshot"
)

// FuzzRender: a snapshot with arbitrary text and figures renders as
// Markdown, HTML and JSON without panicking, and the JSON is valid.
func FuzzRender(f *testing.F) {
	f.Add("name", "pkg.Func", "select", 1.0, -1.0, 0.5)
	f.Add("\x1b]0;x\x07", "<script>", "\u202e", 1.7e308, -1.7e308, math.SmallestNonzeroFloat64)
	f.Fuzz(func(t *testing.T, name, fn, state string, a, b, c float64) {
		s := &snapshot.Snapshot{Manifest: snapshot.Manifest{Name: name, Target: snapshot.Target{Name: name, Command: fn},
			Window: snapshot.Window{Start: t0, End: t0.Add(3 * time.Second)}, Notes: []string{state}}}
		for i, v := range []float64{a, b, c} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				v = 0 // snapshots never hold them (FromSession drops them)
			}
			s.Series.Points = append(s.Series.Points, snapshot.Point{Time: t0.Add(time.Duration(i) * time.Second),
				Values:  map[string]float64{session.HeapLive: v, session.Goroutines: v, session.GOMEMLIMIT: v},
				Derived: map[string]float64{session.GCCPU: v, session.PauseP99: v}})
		}
		// A restart marked with outside text.
		s.Series.Points[1].Restart = &snapshot.Restart{At: s.Series.Points[1].Time, FromPID: 1, ToPID: 2, Why: fn}
		s.Goroutines = []profile.GoroutineGroup{{Count: 2, State: state, Frames: []profile.Frame{{Func: fn, File: name, Line: 1}}}}
		s.Advice = &advisor.Report{Findings: []advisor.Finding{{ID: name, Severity: advisor.Warn, Title: fn,
			Evidence: []advisor.Evidence{{Name: state, Text: fn, Source: name}}, Action: advisor.Action{Kind: advisor.ActionEnv, Text: fn}}}}
		for _, after := range []*snapshot.Snapshot{nil, s} {
			r, err := Build(s, after)
			if err != nil {
				t.Fatal(err)
			}
			var md, html, js bytes.Buffer
			if err := r.WriteMarkdown(&md); err != nil {
				t.Fatal(err)
			}
			if err := r.WriteHTML(&html); err != nil {
				t.Fatal(err)
			}
			if err := r.WriteJSON(&js); err != nil {
				t.Fatal(err)
			}
			if !json.Valid(js.Bytes()) {
				t.Fatal("invalid JSON")
			}
			if bytes.ContainsRune(md.Bytes(), '\x1b') {
				t.Fatal("an escape reached the Markdown")
			}
		}
	})
}
