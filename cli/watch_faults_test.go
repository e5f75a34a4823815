//go:build unix

package cli

import (
	"bytes"
	"context"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gotune/gotune/export"
	"github.com/gotune/gotune/export/exporttest"
	"github.com/gotune/gotune/internal/testproc"
	"github.com/gotune/gotune/session"
	"github.com/gotune/gotune/snapshot"
)

// spillFiles counts the request files under a watch's export-spill
// directory.
func spillFiles(root string) int {
	n := 0
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".gtx") {
			n++
		}
		return nil
	})
	return n
}

// TestWatchExportThroughFaults runs gotune watch on a real target with
// --export to a Pyroscope receiver and a remote-write receiver that go
// through every fault in turn: down when gotune starts, up, killed
// (listener and connections closed), back but refusing (503 and 429),
// then holding every request 30 s without an answer, then well again.
// Only then does the target start leaking, so the bundle's series — the
// store's points since the start — spans every outage; Pyroscope, which
// takes only the bundle's profiles, is killed again while the bundle is
// captured and queued. gotune keeps
// watching throughout (the series has points inside each fault), queues
// and spills to disk while failing, and once the receivers are back
// everything arrives: every goroutine count of the series at its time at
// the remote-write receiver, every profile of the bundle byte for byte at
// Pyroscope, nothing dropped or failed, nothing left on disk.
func TestWatchExportThroughFaults(t *testing.T) {
	p := testproc.StartWith(t, testproc.Build(t, testproc.Target("episodes")), testproc.Options{WaitReady: true}, "-leak-rate", "50")
	pyro := &exporttest.PyroscopeReceiver{}
	psrv := exporttest.NewFaultServer(t, pyro) // down at start
	rw, h := exporttest.NewRemoteWriteReceiver()
	rsrv := exporttest.NewFaultServer(t, h)
	dir := t.TempDir()
	spill := filepath.Join(dir, "export-spill")

	type phase struct {
		name     string
		from, to time.Time
	}
	var (
		mu       sync.Mutex
		phases   []phase
		maxSpill int
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	schedule := make(chan struct{})
	go func() {
		defer close(schedule)
		step := func(name string, d time.Duration, set func()) bool {
			set()
			from := time.Now()
			end := from.Add(d)
			for time.Now().Before(end) {
				if ctx.Err() != nil {
					return false
				}
				n := spillFiles(spill)
				mu.Lock()
				maxSpill = max(maxSpill, n)
				mu.Unlock()
				time.Sleep(200 * time.Millisecond)
			}
			mu.Lock()
			phases = append(phases, phase{name, from, time.Now()})
			mu.Unlock()
			return true
		}
		_ = step("down at start", 6*time.Second, func() {}) &&
			step("up", 6*time.Second, func() { psrv.Up(); rsrv.Up() }) &&
			step("killed", 6*time.Second, func() { psrv.Down(); rsrv.Down() }) &&
			step("refusing 503/429", 6*time.Second, func() { psrv.Set(503, 0); rsrv.Set(429, 0); psrv.Up(); rsrv.Up() }) &&
			step("slow (no answer for 30 s)", 12*time.Second, func() { psrv.Set(0, 30*time.Second); rsrv.Set(0, 30*time.Second) })
		// Pyroscope takes only the bundle's profiles: it is killed while the
		// bundle is captured and queued, and comes back a few seconds after.
		psrv.Down()
		psrv.Set(0, 0)
		rsrv.Set(0, 0)
		resp, err := http.Get("http://" + p.Addr() + "/control?leak=on")
		if err == nil {
			resp.Body.Close()
		}
		// The watch ends a few seconds after the bundle is on disk.
		for ctx.Err() == nil {
			if files, _ := filepath.Glob(filepath.Join(dir, "*.gotune")); len(files) > 0 {
				_ = step("bundle queued, Pyroscope killed", 4*time.Second, func() {})
				psrv.Up()
				time.Sleep(2 * time.Second)
				cancel()
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()
	guard := time.AfterFunc(4*time.Minute, cancel) // a hang fails below, not the suite
	defer guard.Stop()

	var out, errb bytes.Buffer
	err := Run(ctx, []string{"watch", strconv.Itoa(p.PID), "--trigger", "goroutine-growth>300/min:5s", "--out", dir,
		"--cpu", "2s", "--interval", "500ms", "--cooldown", "10m", "--export-timeout", "90s",
		"--export", "pyroscope+" + psrv.URL(), "--export", "remote-write+" + rsrv.URL() + "/api/v1/write",
		"--service", "episodes"}, &out, &errb)
	cancel()
	<-schedule
	t.Logf("gotune watch:\n%s%s", out.String(), errb.String())
	if err != nil {
		t.Fatalf("gotune watch: %v", err)
	}
	if len(phases) != 6 {
		t.Fatalf("the watch ended during the faults (%d of 6 phases)", len(phases))
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.gotune"))
	if len(files) != 1 {
		t.Fatalf("%d bundles, want 1", len(files))
	}
	s, err := snapshot.Read(files[0])
	testproc.Must(t, err, "read the bundle")

	// gotune went on sampling through every fault (the last phase comes
	// after the bundle's series).
	for _, ph := range phases[:5] {
		n := 0
		for _, pt := range s.Series.Points {
			if !pt.Time.Before(ph.from) && pt.Time.Before(ph.to) {
				n++
			}
		}
		if n == 0 {
			t.Errorf("no point sampled while %s (%s–%s)", ph.name, ph.from.Format(time.TimeOnly), ph.to.Format(time.TimeOnly))
		}
		t.Logf("%s: %d points sampled", ph.name, n)
	}
	if maxSpill == 0 {
		t.Errorf("nothing was spilled to %s while the receivers failed", spill)
	}
	if n := spillFiles(spill); n != 0 {
		t.Errorf("%d requests left in %s", n, spill)
	}

	// No sample lost: every goroutine count of the store's series since the
	// start, at its time.
	got := map[int64]float64{}
	for _, x := range rw.All() {
		if x.Labels["__name__"] == export.PromName(session.Goroutines) {
			got[x.Ms] = x.V
		}
	}
	checked, first := 0, time.Time{}
	for _, pt := range s.Series.Points {
		v, ok := pt.Values[session.Goroutines]
		if !ok || math.IsNaN(v) {
			continue
		}
		if first.IsZero() {
			first = pt.Time
		}
		checked++
		if g, ok := got[pt.Time.UnixMilli()]; !ok || g != v {
			t.Errorf("goroutines at %s: received %v (%v), sampled %v", pt.Time.Format(time.TimeOnly+".000"), g, ok, v)
		}
	}
	if checked < 40 || first.After(phases[0].to) {
		t.Errorf("only %d points checked, the first at %s (the first fault ended at %s)", checked, first, phases[0].to)
	}

	// The bundle's profiles, byte for byte.
	for _, k := range s.Kinds() {
		c := s.Profile(k)
		found := false
		for _, in := range pyro.Ingests() {
			if in.Labels["trigger"] == "goroutine-growth" && bytes.Equal(in.Profile, c.Raw) {
				found = true
			}
		}
		if !found {
			t.Errorf("the bundle's %s profile did not arrive at Pyroscope", k)
		}
	}
	// The counters: retries counted, nothing dropped or failed.
	for _, kind := range []string{"export pyroscope", "export remote-write"} {
		line := ""
		for _, l := range strings.Split(errb.String(), "\n") {
			if strings.HasPrefix(l, kind) {
				line = l
			}
		}
		if !strings.Contains(line, "0 dropped, 0 failed") || !strings.Contains(line, "retries") || !strings.Contains(line, " 0 queued") {
			t.Errorf("%s counters: %q", kind, line)
		}
	}
	t.Logf("%d points checked at remote-write (%d samples there), %d Pyroscope ingests, most requests on disk at once %d; %d and %d requests seen by the fault servers",
		checked, len(rw.All()), len(pyro.Ingests()), maxSpill, psrv.Requests(), rsrv.Requests())
}
