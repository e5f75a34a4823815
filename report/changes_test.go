package report

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/snapshot"
)

func ptr(v float64) *float64 { return &v }

// fixtureChange is a GOGC change from the gc-cpu-high finding, verified and
// kept, with a figure that could not be measured.
func fixtureChange() snapshot.Change {
	at := t0.Add(20 * time.Second)
	return snapshot.Change{Setting: "GOGC", Value: "200", Previous: "100", Via: "gotune agent", FindingID: "gc-cpu-high", AgentID: 3,
		AppliedAt: at, LeaseSeconds: 30, Verify: snapshot.Window{Start: at.Add(5 * time.Second), End: at.Add(65 * time.Second)},
		Checks: []snapshot.Check{
			{Metric: "gc-cpu", Name: "GC CPU", Unit: "fraction", Predicted: &snapshot.Range{Low: 0.048, High: 0.091}, Before: ptr(0.12), Measured: ptr(0.069), Result: snapshot.ResultInRange, Source: "runtime/metrics"},
			{Metric: "gc-cycles", Name: "GC cycles", Unit: "cycles/s", Predicted: &snapshot.Range{Low: 0.6, High: 1.9}, Before: ptr(2.8), Measured: ptr(1.5), Result: snapshot.ResultInRange},
			{Metric: "peak-heap", Name: "peak heap", Unit: "bytes", Predicted: &snapshot.Range{Low: 160 << 20, High: 320 << 20}, Before: ptr(150 << 20), Result: snapshot.ResultUnmeasured, Note: "only 2 GC cycles <script>"},
		},
		Verdict: snapshot.VerdictHeld, Reason: "GC CPU 6.9%, predicted 4.8–9.1%; GC cycles 1.50/s, predicted 0.60/s–1.90/s; not measured: peak heap",
		Outcome: snapshot.OutcomeKept, EndedAt: at.Add(70 * time.Second), Deploy: "GOGC=200", Warnings: []string{"a | pipe"}}
}

func TestAppliedChanges(t *testing.T) {
	before, _ := fixtureSnapshots(t)
	s := *before
	s.Manifest.Changes = []snapshot.Change{fixtureChange()}
	r, md, js, html := render(t, &s, nil)
	want := "applied GOGC=200 at 12:00:20 UTC via gotune agent, predicted GC CPU 4.8–9.1%, measured 6.9%, held, kept"
	if len(r.Changes) != 1 || r.Changes[0].Sentence != want {
		t.Fatalf("changes %+v", r.Changes)
	}
	sec := md[strings.Index(md, "## Applied changes"):strings.Index(md, "## Findings")]
	golden(t, "changes.md", sec)
	var doc struct {
		Changes []struct {
			Sentence string           `json:"sentence"`
			Setting  string           `json:"setting"`
			Verdict  string           `json:"verdict"`
			Outcome  string           `json:"outcome"`
			Deploy   string           `json:"deploy"`
			Checks   []snapshot.Check `json:"checks"`
		} `json:"changes"`
	}
	if err := json.Unmarshal([]byte(js), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Changes) != 1 || doc.Changes[0].Sentence != want || doc.Changes[0].Verdict != "held" || doc.Changes[0].Outcome != "kept" ||
		doc.Changes[0].Deploy != "GOGC=200" || len(doc.Changes[0].Checks) != 3 || *doc.Changes[0].Checks[0].Measured != 0.069 {
		t.Fatalf("JSON changes %+v", doc.Changes)
	}
	for _, w := range []string{"<h2>Applied changes</h2>", want, "<td class=\"num\">4.8–9.1%</td>", "<code>GOGC=200</code>", "only 2 GC cycles &lt;script&gt;"} {
		if !strings.Contains(html, w) {
			t.Errorf("HTML lacks %q", w)
		}
	}
	// A report without changes has no section.
	_, md, js, html = render(t, before, nil)
	if strings.Contains(md, "Applied changes") || strings.Contains(js, `"changes"`) || strings.Contains(html, "Applied changes") {
		t.Error("a report without changes shows the section")
	}
}
