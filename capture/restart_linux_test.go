package capture

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/collectors"
	"github.com/gotune/gotune/compare"
	"github.com/gotune/gotune/internal/testproc"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/report"
	"github.com/gotune/gotune/snapshot"
)

// startPprofOn starts the pprof-only target on addr once the port is free
// again (the kernel frees a killed process's port asynchronously).
func startPprofOn(t *testing.T, addr string) *testproc.Proc {
	t.Helper()
	deadline := time.Now().Add(testproc.MinWait)
	for {
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			ln.Close()
			return testproc.StartWith(t, testproc.BuildInto(t, testproc.PprofServer, ""), testproc.Options{WaitReady: true}, addr)
		}
		if time.Now().After(deadline) {
			t.Fatalf("port %s never became free: %v", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A window that holds a restart of a real target on the same port: the
// window, its snapshot (saved and loaded), the report in its three
// formats and the comparison say "target restarted at T: pid A → B", and
// nothing is derived across it: the cumulative profiles are not deltas of
// two processes, no goroutine growth, the advice reads the new process's
// points only.
func TestWindowAcrossRestart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p1 := startPprofOn(t, addr)
	tg, err := collectors.NewURLTarget("http://"+addr, collectors.HTTPSourceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	sess := Start(ctx, tg, Options{Interval: 250 * time.Millisecond, Baselines: true})
	select {
	case <-sess.startReady:
	case <-time.After(60 * time.Second):
		t.Fatal("the window's start was never taken")
	}
	testproc.Eventually(t, 60*time.Second, func() bool {
		snap := sess.Snapshot()
		return len(snap.Points) >= 2 && snap.Target.PID == p1.PID
	}, "no samples of pid %d", p1.PID)
	if sess.start.base[profile.KindAllocs] == nil {
		t.Fatalf("the start took no allocs profile: %v", sess.start.notes)
	}
	p1.Kill()
	p2 := startPprofOn(t, addr)
	testproc.Eventually(t, 60*time.Second, func() bool {
		snap := sess.Snapshot()
		r := snap.RestartInPoints()
		return r != nil && snap.Target.PID == p2.PID && !snap.Points[len(snap.Points)-1].Time.Before(r.At.Add(500*time.Millisecond))
	}, "the restart to pid %d was never seen", p2.PID)

	w, err := sess.Window(ctx, WindowOptions{Kinds: []profile.Kind{profile.KindHeap, profile.KindAllocs, profile.KindGoroutine}})
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Restarts) != 1 || w.Restarts[0].FromPID != p1.PID || w.Restarts[0].ToPID != p2.PID {
		t.Fatalf("window restarts %+v, want pid %d → %d", w.Restarts, p1.PID, p2.PID)
	}
	r := w.Restarts[0]
	pids := fmt.Sprintf("pid %d → %d", p1.PID, p2.PID)
	joined := strings.Join(w.Notes, "\n")
	if !strings.Contains(joined, "the target restarted at "+r.At.UTC().Format(time.RFC3339)+" ("+pids+")") {
		t.Errorf("window notes lack the restart:\n%s", joined)
	}
	if a := w.Profiles[profile.KindAllocs]; a == nil || a.Scope == profile.ScopeWindow || a.FetchedAt.Before(r.At) {
		t.Errorf("allocs profile %+v: want the new process's since its start, not a delta of two processes", a)
	} else if !strings.Contains(joined, "allocs profile: counted since the new process started") {
		t.Errorf("no note on the allocs profile:\n%s", joined)
	}
	if w.GoroutinesStart != nil {
		t.Error("goroutine growth is measured from the old process's start")
	}
	in := w.AdvisorInput()
	if len(in.Points) == 0 {
		t.Fatal("the advisor reads no point")
	}
	for _, p := range in.Points {
		if p.Time.Before(r.At) {
			t.Fatalf("the advisor reads a point of the old process (%s, restart at %s)", p.Time, r.At)
		}
	}

	// The snapshot keeps the marker through save and load.
	var buf bytes.Buffer
	if err := snapshot.Encode(&buf, w.Snapshot(SnapshotOptions{GotuneVersion: "test"})); err != nil {
		t.Fatal(err)
	}
	s, err := snapshot.Decode(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	rs := s.Restarts()
	if len(rs) != 1 || rs[0].FromPID != p1.PID || rs[0].ToPID != p2.PID || s.Manifest.Target.PID != p2.PID {
		t.Fatalf("loaded snapshot: restarts %+v, target pid %d", rs, s.Manifest.Target.PID)
	}
	marked := s.Series.Points[s.Series.SinceRestart()]
	if marked.Restart == nil || len(marked.Derived) != 0 {
		t.Errorf("marked point %+v derives %v", marked.Restart, marked.Derived)
	}
	if before := s.Series.Points[:s.Series.SinceRestart()]; len(before) == 0 {
		t.Error("the series lost the old process's points")
	}

	// The report, in each format, says it.
	rep, err := report.Build(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "target restarted at " + rs[0].At.UTC().Format("2006-01-02 15:04:05 MST") + ": " + pids
	var md, html, js bytes.Buffer
	if err := rep.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "## The target restarted\n\n- "+want) {
		t.Errorf("markdown lacks %q:\n%s", want, md.String())
	}
	if !strings.Contains(html.String(), "<li>"+want+" (") || !strings.Contains(html.String(), `class="restart"`) {
		t.Errorf("html lacks %q or the charts' mark", want)
	}
	var doc struct {
		Restarts []struct {
			At      time.Time `json:"at"`
			FromPID int       `json:"from_pid"`
			ToPID   int       `json:"to_pid"`
			Text    string    `json:"text"`
		} `json:"restarts"`
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Restarts) != 1 || doc.Restarts[0].FromPID != p1.PID || doc.Restarts[0].ToPID != p2.PID || !strings.HasPrefix(doc.Restarts[0].Text, want) || !doc.Restarts[0].At.Equal(rs[0].At) {
		t.Errorf("json restarts %+v, want %q", doc.Restarts, want)
	}

	// gotune diff says which side holds it.
	c := compare.Compare(s, s)
	if n := strings.Join(c.Notes, "\n"); !strings.Contains(n, "the after window holds a restart of the target at "+rs[0].At.UTC().Format("2006-01-02 15:04:05 MST")+" ("+pids+")") {
		t.Errorf("comparison notes:\n%s", n)
	}
}
