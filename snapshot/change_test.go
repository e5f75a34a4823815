package snapshot

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func f64(v float64) *float64 { return &v }

// A change and its checks survive a write and a read exactly.
func TestChangesRoundTrip(t *testing.T) {
	s := sample(1000)
	at := time.Date(2026, 12, 1, 14, 2, 5, 0, time.UTC)
	s.Manifest.Changes = []Change{{Setting: "GOMEMLIMIT", Value: "900MiB", Previous: "off", Via: "gotune agent", AgentID: 7,
		AppliedAt: at, LeaseSeconds: 30, Verify: Window{Start: at.Add(5 * time.Second), End: at.Add(35 * time.Second)},
		Checks: []Check{
			{Metric: "peak-memory", Name: "peak Go memory", Unit: "bytes", Predicted: &Range{High: 900 << 20}, Before: f64(1 << 30), Measured: f64(850 << 20), Result: ResultInRange, Source: "x"},
			{Metric: "sched-latency-p99", Name: "scheduling latency p99", Unit: "seconds", Note: "no histogram"},
		},
		Verdict: VerdictHeld, Reason: "r", Outcome: OutcomeLeased, Deploy: "GOMEMLIMIT=900MiB", Warnings: []string{"w"}, Notes: []string{"n"}}}
	path := filepath.Join(t.TempDir(), "c.gotune")
	if err := Write(path, s); err != nil {
		t.Fatal(err)
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Manifest.Changes, s.Manifest.Changes) {
		t.Fatalf("changes after a round trip:\n got %+v\nwant %+v", got.Manifest.Changes, s.Manifest.Changes)
	}
	c := got.Manifest.Changes[0]
	if want := "applied GOMEMLIMIT=900MiB at 14:02:05 UTC via gotune agent, predicted peak Go memory at most 900 MiB, measured 850 MiB, held, leased"; c.Sentence(nil) != want {
		t.Errorf("sentence %q, want %q", c.Sentence(nil), want)
	}
	if k := c.Checks[1]; k.PredictedText() != "—" || k.MeasuredText() != "—" || k.BeforeText() != "—" {
		t.Errorf("an unmeasured, unpredicted check reads %q %q %q", k.PredictedText(), k.MeasuredText(), k.BeforeText())
	}
}
