package ui

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/export"
	"github.com/gotune/gotune/export/exporttest"
	"github.com/gotune/gotune/internal/testproc"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/session"
)

// TestExportKey: e sends the profiles the session holds and the series to
// real exporters (Pyroscope and remote-write receivers on loopback); the
// status line shows what was queued and the exporters' counters; a second
// e sends only newer points; without a destination e says how to give one.
func TestExportKey(t *testing.T) {
	pyro := &exporttest.PyroscopeReceiver{}
	psrv := exporttest.NewFaultServer(t, pyro)
	psrv.Up()
	rw, h := exporttest.NewRemoteWriteReceiver()
	rsrv := exporttest.NewFaultServer(t, h)
	rsrv.Up()
	var g export.Group
	for _, d := range []string{"pyroscope+" + psrv.URL(), "remote-write+" + rsrv.URL() + "/api/v1/write"} {
		sink, err := export.ParseDestination(d)
		testproc.Must(t, err, d)
		ex, err := export.New(sink, export.Options{MinBackoff: 20 * time.Millisecond})
		testproc.Must(t, err, "exporter")
		g = append(g, ex)
	}
	defer g.Close(context.Background())

	st := fillStore(120)
	sess := testSession(t, st, &fakeFetcher{t: t})
	m := New(t.Context(), Options{Session: sess, Theme: "dark", Now: func() time.Time { return t0 }, Export: g, ExportService: "demo"})
	m.Update(snapshotMsgFor(sess))
	m.Update(sizeMsg(200, 50))
	press(m, "2")
	loadProfile(t, m, profile.KindHeap)

	held := 0
	for _, ki := range profile.Kinds() {
		if sess.Held(ki.Kind) != nil {
			held++
		}
	}
	if held < 2 {
		t.Fatalf("the session holds %d profiles", held)
	}
	for _, msg := range runCmd(t, press(m, "E")) {
		m.Update(msg)
	}
	if got := lineWith(plain(m), "exported"); !strings.Contains(got, fmt.Sprintf("exported %d profiles, 120 points", held)) {
		t.Errorf("status after E: %q", got)
	}
	testproc.Eventually(t, 20*time.Second, func() bool {
		s := g.Stats()
		return s[0].Sent == int64(held) && s[1].Sent >= 2
	}, "the exporters did not send everything")
	in := pyro.Ingests()
	if len(in) != held || in[0].App != "demo" || in[0].Labels["trigger"] != "manual" || in[0].Labels["pid"] != "4242" || in[0].Labels["gogc"] != "100" {
		t.Fatalf("pyroscope got %+v", in)
	}
	want := map[int64]float64{}
	for _, p := range st.Snapshot().Points {
		want[p.Time.UnixMilli()] = p.Values[session.Goroutines]
	}
	got := map[int64]float64{}
	for _, s := range rw.All() {
		if s.Labels["__name__"] == export.PromName(session.Goroutines) {
			got[s.Ms] = s.V
		}
	}
	if len(got) != len(want) {
		t.Errorf("remote-write got %d goroutine samples, want %d", len(got), len(want))
	}
	for ms, v := range want {
		if got[ms] != v {
			t.Errorf("goroutines at %d: %v, want %v", ms, got[ms], v)
			break
		}
	}
	if s := lineWith(plain(m), fmt.Sprintf("pyroscope: %d sent", held)); !strings.Contains(s, "remote-write: 2 sent") {
		t.Errorf("the status line lacks the exporters' counters:\n%s", plain(m))
	}
	// Again: the profile again, no point is newer.
	for _, msg := range runCmd(t, press(m, "E")) {
		m.Update(msg)
	}
	if got := lineWith(plain(m), "exported"); !strings.Contains(got, fmt.Sprintf("exported %d profiles, 0 points", held)) {
		t.Errorf("status after the second E: %q", got)
	}

	// No destination.
	m2 := New(t.Context(), Options{Session: sess, Theme: "dark", Now: func() time.Time { return t0 }})
	m2.Update(snapshotMsgFor(sess))
	m2.Update(sizeMsg(200, 50))
	press(m2, "E")
	if !strings.Contains(plain(m2), "no export destination; start gotune with --export URL or set GOTUNE_EXPORT") {
		t.Errorf("e without a destination:\n%s", plain(m2))
	}
}
