package snapshot

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/gotune/gotune/session"
)

// A restart marked in the session's series survives FromSession, saving
// and loading: the same point carries it, with both processes and why.
func TestRestartSurvivesSaveAndLoad(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 15, 0, 0, 0, time.UTC)
	st := session.NewStore(0)
	st.SetTarget(session.Target{URL: "http://127.0.0.1:6060", PID: 101, StartTime: t0.Add(-time.Hour)})
	for i := range 3 {
		st.Append(session.Sample{Time: t0.Add(time.Duration(i) * time.Second), Source: "pprof", Values: map[string]float64{session.GCCycles: float64(10 + i)}})
	}
	r := session.Restart{FromPID: 101, ToPID: 202, FromStart: t0.Add(-time.Hour), ToStart: t0.Add(3 * time.Second), Why: "another process listens on :6060"}
	st.AppendRestart(session.Sample{Time: t0.Add(4 * time.Second), Source: "pprof", Values: map[string]float64{session.GCCycles: 1}},
		r, session.Target{URL: "http://127.0.0.1:6060", PID: 202, StartTime: r.ToStart})
	st.Append(session.Sample{Time: t0.Add(5 * time.Second), Source: "pprof", Values: map[string]float64{session.GCCycles: 2}})

	s := FromSession(st.Snapshot(), "", "test", t0, t0.Add(5*time.Second))
	want := Restart{At: t0.Add(4 * time.Second), FromPID: 101, ToPID: 202, FromStart: t0.Add(-time.Hour), ToStart: t0.Add(3 * time.Second), Why: "another process listens on :6060"}
	if got := s.Restarts(); len(got) != 1 || !reflect.DeepEqual(got[0], want) {
		t.Fatalf("restarts %+v, want %+v", got, want)
	}
	if s.Series.Points[3].Restart == nil || s.Series.SinceRestart() != 3 {
		t.Fatalf("the marker is not on the first point of the new process: %+v", s.Series.Points)
	}
	if s.Manifest.Target.PID != 202 {
		t.Errorf("target pid %d, want the new process's 202", s.Manifest.Target.PID)
	}
	var buf bytes.Buffer
	if err := Encode(&buf, s); err != nil {
		t.Fatal(err)
	}
	got, err := Decode(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if rs := got.Restarts(); len(rs) != 1 || !reflect.DeepEqual(rs[0], want) || got.Series.Points[3].Restart == nil {
		t.Fatalf("after load: restarts %+v, want %+v", rs, want)
	}
	if p := got.Series.Points[3]; len(p.Derived) != 0 {
		t.Errorf("the marked point derives %v across the restart", p.Derived)
	}
	if got.Restarts()[0].Processes() != "pid 101 → 202" {
		t.Errorf("processes %q", got.Restarts()[0].Processes())
	}
	// A window that starts after the restart holds none.
	late := FromSession(st.Snapshot(), "", "test", t0.Add(4500*time.Millisecond), t0.Add(5*time.Second))
	if rs := late.Restarts(); len(rs) != 0 {
		t.Errorf("a window after the restart holds %+v", rs)
	}
}
