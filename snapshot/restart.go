package snapshot

import (
	"fmt"
	"time"

	"github.com/gotune/gotune/session"
)

// Restart marks the first point of the series read from a new process:
// the target restarted between the point before it and this one (a URL
// target followed to the process now on the port). No figure of the
// marked point, and no later one, is derived from points before it.
type Restart struct {
	// At is when gotune first read the new process (the marked point's
	// time).
	At time.Time `json:"at"`
	// The processes before and after; 0 or absent when unknown.
	FromPID   int       `json:"from_pid,omitempty"`
	ToPID     int       `json:"to_pid,omitempty"`
	FromStart time.Time `json:"from_start,omitzero"`
	ToStart   time.Time `json:"to_start,omitzero"`
	// Why says how gotune saw it ("the agent's pid changed", "counters
	// went backwards (GC cycles 412 → 3)").
	Why string `json:"why,omitempty"`
}

func restartOf(r *session.Restart) *Restart {
	if r == nil {
		return nil
	}
	return &Restart{At: wallUTC(r.At), FromPID: r.FromPID, ToPID: r.ToPID,
		FromStart: wallUTC(r.FromStart), ToStart: wallUTC(r.ToStart), Why: r.Why}
}

// Session is the restart as the session package has it (its String is
// the status line's "target restarted at 15:04:05 (PID 4242 → 4250)").
func (r Restart) Session() session.Restart {
	return session.Restart{At: r.At, FromPID: r.FromPID, ToPID: r.ToPID, FromStart: r.FromStart, ToStart: r.ToStart, Why: r.Why}
}

// Processes says which processes, for people: "pid 4242 → 4250", else
// the start times, else how it was seen; "" when nothing is known.
func (r Restart) Processes() string {
	switch {
	case r.FromPID != 0 && r.ToPID != 0 && r.FromPID != r.ToPID:
		return fmt.Sprintf("pid %d → %d", r.FromPID, r.ToPID)
	case r.ToPID != 0 && !r.ToStart.IsZero():
		return fmt.Sprintf("pid %d, started %s", r.ToPID, r.ToStart.UTC().Format(time.RFC3339))
	case !r.FromStart.IsZero() && !r.ToStart.IsZero():
		return fmt.Sprintf("started %s, before %s", r.ToStart.UTC().Format(time.RFC3339), r.FromStart.UTC().Format(time.RFC3339))
	}
	return ""
}

// Restarts are the restarts the series marks, oldest first.
func (s *Snapshot) Restarts() []Restart {
	if s == nil {
		return nil
	}
	var out []Restart
	for _, p := range s.Series.Points {
		if p.Restart != nil {
			out = append(out, *p.Restart)
		}
	}
	return out
}

// SinceRestart is the index of the first point after the newest restart
// the series marks (0 when it marks none): the points of the process the
// window ends with.
func (s *Series) SinceRestart() int {
	for i := len(s.Points) - 1; i > 0; i-- {
		if s.Points[i].Restart != nil {
			return i
		}
	}
	return 0
}
