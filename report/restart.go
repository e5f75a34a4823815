package report

import (
	"time"

	"github.com/gotune/gotune/safetext"
	"github.com/gotune/gotune/snapshot"
)

// Restart is a restart of the target inside the subject's window (a URL
// target followed to the process then on the port): the series holds both
// processes, marked at the first point of the new one, and no figure is
// derived across the mark.
type Restart struct {
	snapshot.Restart
	// T is the mark's time in seconds after the window's start, as the
	// curves' points give it.
	T float64 `json:"t"`
	// Text says it for people: "target restarted at 2026-12-01 15:04:05
	// UTC: pid 4242 → 4250".
	Text string `json:"text"`
}

// RestartsMeaning is what a restart means for the figures, said once
// under the list.
const RestartsMeaning = "The series holds both processes; no rate, delta or growth is derived across a restart, and the advice and the profiles over the window cover the process after the last one."

func restarts(s *snapshot.Snapshot, start time.Time) []Restart {
	var out []Restart
	for _, r := range s.Restarts() {
		text := "target restarted at " + r.At.UTC().Format("2006-01-02 15:04:05 MST")
		if ps := r.Processes(); ps != "" {
			text += ": " + ps
		}
		if r.Why != "" {
			// From the file: one line, whatever it holds.
			text += " (" + safetext.Line(r.Why) + ")"
		}
		out = append(out, Restart{Restart: r, T: r.At.Sub(start).Seconds(), Text: text})
	}
	return out
}

// restartTs are the restarts' times in curve seconds.
func (r *Report) restartTs() []float64 {
	var ts []float64
	for _, x := range r.Restarts {
		ts = append(ts, x.T)
	}
	return ts
}
