package report

import (
	"slices"

	"github.com/gotune/gotune/snapshot"
)

// AppliedChange is one live change gotune applied during the window
// (gotune apply, the dashboard), its prediction and its measured outcome,
// with the one-line account people read: "applied GOGC=200 at 14:02:05
// UTC via gotune agent, predicted GC CPU 4.8–9.1%, measured 6.9%, held,
// kept".
type AppliedChange struct {
	snapshot.Change
	Sentence string `json:"sentence"`
}

// appliedChanges lists the changes of the snapshots, oldest first; one
// recorded in both (a session saved twice) is listed once.
func appliedChanges(snaps ...*snapshot.Snapshot) []AppliedChange {
	var out []AppliedChange
	for _, s := range snaps {
		if s == nil {
			continue
		}
		for _, c := range s.Manifest.Changes {
			if slices.ContainsFunc(out, func(o AppliedChange) bool {
				return o.Setting == c.Setting && o.Value == c.Value && o.AppliedAt.Equal(c.AppliedAt)
			}) {
				continue
			}
			out = append(out, AppliedChange{Change: c, Sentence: c.Sentence(nil)})
		}
	}
	slices.SortStableFunc(out, func(a, b AppliedChange) int { return a.AppliedAt.Compare(b.AppliedAt) })
	return out
}

func (r *Report) mdChanges(m *mdWriter) {
	if len(r.Changes) == 0 {
		return
	}
	m.printf("## Applied changes\n\n")
	for _, c := range r.Changes {
		m.printf("### %s\n\n", mdText(c.Sentence))
		if c.FindingID != "" {
			m.printf("From the finding %s; ", mdCode(c.FindingID))
		} else {
			m.printf("Typed by the user; ")
		}
		m.printf("was %s; verified %s after a settle", mdCode(c.Previous), durationText(c.Verify.Duration().Seconds()))
		if c.LeaseSeconds > 0 {
			m.printf("; held under a %s lease", durationText(c.LeaseSeconds))
		}
		m.printf(".\n\n")
		if len(c.Checks) > 0 {
			m.printf("| figure | before | predicted | measured | result |\n|---|---:|---:|---:|---|\n")
			for _, k := range c.Checks {
				res := k.Result
				if res == "" {
					res = "shown"
				}
				if k.Measured == nil && k.Note != "" {
					res += " (" + k.Note + ")"
				}
				m.printf("| %s | %s | %s | %s | %s |\n", mdText(k.Name), mdText(k.BeforeText()), mdText(k.PredictedText()), mdText(k.MeasuredText()), mdText(res))
			}
			m.printf("\n")
		}
		if c.Verdict != "" {
			m.printf("**Verdict:** %s — %s\n\n", mdText(c.Verdict), mdText(c.Reason))
		}
		for _, w := range c.Warnings {
			m.printf("- warning: %s\n", mdText(w))
		}
		for _, n := range c.Notes {
			m.printf("- note: %s\n", mdText(n))
		}
		if len(c.Warnings)+len(c.Notes) > 0 {
			m.printf("\n")
		}
		m.printf("To make it permanent, put in the deployment: %s\n\n", mdCode(c.Deploy))
	}
}
