//go:build unix

package cli

import (
	"bytes"
	"context"
	"io"
	"math"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/bundle"
	"github.com/gotune/gotune/capture"
	"github.com/gotune/gotune/collectors"
	"github.com/gotune/gotune/collectors/discover"
	"github.com/gotune/gotune/export"
	"github.com/gotune/gotune/export/exporttest"
	"github.com/gotune/gotune/internal/testproc"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/session"
	"github.com/gotune/gotune/snapshot"
)

// snapshotOf captures a real snapshot of the episodes target (3 s, a 1 s
// CPU profile) named name into dir.
func snapshotOf(t *testing.T, p *testproc.Proc, dir, name string) (string, *snapshot.Snapshot) {
	t.Helper()
	tg, err := collectors.Open(context.Background(), strconv.Itoa(p.PID), discover.Overrides{})
	testproc.Must(t, err, "open")
	s, err := captureSnapshot(context.Background(), tg, capture.WindowOptions{Length: 3 * time.Second, CPU: time.Second}, name)
	testproc.Must(t, err, "capture "+name)
	path := filepath.Join(dir, strings.NewReplacer(" ", "-", ">", "", "%", "", ":", "").Replace(name)+".gotune")
	testproc.Must(t, snapshot.Write(path, s), "write")
	s, err = snapshot.Read(path) // what gotune export reads
	testproc.Must(t, err, "read")
	return path, s
}

// TestExportSnapshots runs gotune export on real snapshots — a before, an
// after and a trigger's bundle — to a Pyroscope receiver and a
// remote-write receiver on loopback: every profile arrives byte for byte
// with its labels (phase from the names, trigger from the bundle's rule,
// the flags' service and label), every metric value equals the
// snapshot's; then to a receiver that refuses, which exits non-zero
// saying how much could not be sent.
func TestExportSnapshots(t *testing.T) {
	p := testproc.StartWith(t, testproc.Build(t, testproc.Target("episodes")), testproc.Options{WaitReady: true})
	dir := t.TempDir()
	before, sb := snapshotOf(t, p, dir, "before GOGC=100")
	after, sa := snapshotOf(t, p, dir, "after GOGC=200")
	trig, st := snapshotOf(t, p, dir, bundle.NamePrefix+"gc-cpu>20%:30s")
	byPhase := map[string]*snapshot.Snapshot{"before": sb, "after": sa, "": st}

	pyro := &exporttest.PyroscopeReceiver{}
	psrv := exporttest.NewFaultServer(t, pyro)
	psrv.Up()
	rw, h := exporttest.NewRemoteWriteReceiver()
	rsrv := exporttest.NewFaultServer(t, h)
	rsrv.Up()
	var out, errb bytes.Buffer
	err := Run(context.Background(), []string{"export", before, after, trig, "--to", "pyroscope+" + psrv.URL(),
		"--to", "remote-write+" + rsrv.URL() + "/api/v1/write", "--service", "episodes", "--label", "region=eu", "--timeout", "30s"}, &out, &errb)
	if err != nil {
		t.Fatalf("gotune export: %v\n%s%s", err, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "phase=before") || !strings.Contains(out.String(), "pyroscope") {
		t.Errorf("output:\n%s", out.String())
	}

	wantProfiles := len(sb.Kinds()) + len(sa.Kinds()) + len(st.Kinds())
	in := pyro.Ingests()
	if len(in) != wantProfiles {
		t.Fatalf("pyroscope got %d profiles, want %d", len(in), wantProfiles)
	}
	for _, x := range in {
		s := byPhase[x.Labels["phase"]]
		if x.App != "episodes" || x.Labels["region"] != "eu" || x.Labels["pid"] != strconv.Itoa(p.PID) || x.Labels["go_version"] == "" || x.Labels["gogc"] != "100" {
			t.Errorf("labels %v app %q", x.Labels, x.App)
		}
		wantTrigger := "snapshot"
		if s == st {
			wantTrigger = "gc-cpu"
			if !strings.HasPrefix(x.Labels["rule"], "gc-cpu") {
				t.Errorf("bundle rule label %q", x.Labels["rule"])
			}
		}
		if x.Labels["trigger"] != wantTrigger {
			t.Errorf("trigger label %q, want %q", x.Labels["trigger"], wantTrigger)
		}
		found := false
		for _, k := range s.Kinds() {
			if bytes.Equal(s.Profile(k).Raw, x.Profile) {
				found = true
			}
		}
		if !found {
			t.Errorf("a %s profile (phase %q) is not byte for byte one of the snapshot's", x.Labels["__name__"], x.Labels["phase"])
		}
	}

	// Every goroutine count of every snapshot, at its time.
	got := map[string]map[int64]float64{}
	for _, s := range rw.All() {
		if s.Labels["__name__"] == export.PromName(session.Goroutines) {
			if got[s.Labels["phase"]] == nil {
				got[s.Labels["phase"]] = map[int64]float64{}
			}
			got[s.Labels["phase"]][s.Ms] = s.V
		}
	}
	for phase, s := range byPhase {
		if len(s.Series.Points) == 0 {
			t.Fatalf("%q: no points", phase)
		}
		for _, pt := range s.Series.Points {
			v, ok := pt.Values[session.Goroutines]
			if !ok || math.IsNaN(v) {
				continue
			}
			if g, ok := got[phase][pt.Time.UnixMilli()]; !ok || g != v {
				t.Errorf("%q goroutines at %s: received %v (%v), snapshot %v", phase, pt.Time, g, ok, v)
			}
		}
	}

	// A receiver that refuses: non-zero, with the counters.
	psrv.Set(http.StatusBadRequest, 0)
	out.Reset()
	err = Run(context.Background(), []string{"export", before, "--to", "pyroscope+" + psrv.URL(), "--no-metrics", "--timeout", "10s"}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "could not be sent") || !strings.Contains(out.String(), "failed") {
		t.Errorf("refused: err %v\n%s", err, out.String())
	}
	if err := Run(context.Background(), []string{"export", before}, io.Discard, io.Discard); err == nil {
		t.Error("no destination: no error")
	}
}

// TestWatchExportToCollector runs gotune watch on a real target with
// --export to the real OpenTelemetry collector (export/testdata/otelcol,
// on loopback): the leak the target starts gives one bundle, and the
// collector's file output holds the bundle's profiles (sample totals per
// sample type equal to the bundle's pprof totals, labelled with the
// trigger) and the metric series (every value of the bundle's points
// equal).
func TestWatchExportToCollector(t *testing.T) {
	p := testproc.StartWith(t, testproc.Build(t, testproc.Target("episodes")), testproc.Options{WaitReady: true}, "-leak-rate", "50")
	go func() {
		time.Sleep(3 * time.Second)
		resp, err := http.Get("http://" + p.Addr() + "/control?leak=on")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
	watchToCollector(t, strconv.Itoa(p.PID), "goroutine-growth>300/min:5s", "goroutine-growth", "episodes")
}

// TestDemoExportToCollector: the same with gotune's own demo workload
// (`gotune demo --serve`, the real binary): its GC-heavy request loop
// fires a GC CPU rule, and the demo session's profiles and metrics at the
// real collector equal the bundle's.
func TestDemoExportToCollector(t *testing.T) {
	d := testproc.StartWith(t, testproc.Build(t, "."), testproc.Options{FirstLine: true}, "demo", "--serve", "127.0.0.1:0")
	url := strings.TrimSpace(d.FirstLine)
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("gotune demo --serve printed %q", d.FirstLine)
	}
	watchToCollector(t, url, "gc-cpu>1%:2s", "gc-cpu", "demo")
}

// watchToCollector runs gotune watch on target with rule until its one
// bundle, exporting to a real collector over OTLP/HTTP, and checks the
// collector's file output against the bundle.
func watchToCollector(t *testing.T, target, rule, kind, service string) {
	t.Helper()
	col := exporttest.StartCollector(t, t.TempDir(), 0, 0)
	dir := t.TempDir()
	var out, errb bytes.Buffer
	err := Run(context.Background(), []string{"watch", target, "--trigger", rule, "--out", dir, "--cooldown", "10m",
		"--cpu", "2s", "--duration", "25s", "--interval", "500ms", "--export", "otlp+" + col.HTTPURL(),
		"--service", service}, &out, &errb)
	if err != nil {
		t.Fatalf("gotune watch: %v\n%s%s", err, out.String(), errb.String())
	}
	t.Logf("gotune watch:\n%s%s", out.String(), errb.String())
	files, _ := filepath.Glob(filepath.Join(dir, "*.gotune"))
	if len(files) != 1 {
		t.Fatalf("%d bundles, want 1:\n%s", len(files), out.String())
	}
	s, err := snapshot.Read(files[0])
	testproc.Must(t, err, "read the bundle")
	col.Stop() // flush the file exporter
	profs, mets := col.Received()

	for _, k := range s.Kinds() {
		want := exporttest.PprofTotals(s.Profile(k).Profile)
		sum := map[string]int64{}
		for _, pd := range profs {
			rps := pd.ResourceProfiles()
			for i := range rps.Len() {
				if v, _ := rps.At(i).Resource().Attributes().Get("gotune.trigger"); v.AsString() != kind {
					continue
				}
				one := exporttest.OTLPTotals(pd, k)
				for st, n := range one {
					sum[st] += n
				}
			}
		}
		for st, n := range want {
			if n != 0 && sum[st] != n {
				t.Errorf("%s %s: the collector has %d, the bundle's pprof %d", k, st, sum[st], n)
			}
		}
		t.Logf("%s: totals %v at the collector and in the bundle", k, want)
	}
	if s.Profile(profile.KindCPU) == nil || s.Profile(profile.KindGoroutine) == nil {
		t.Errorf("bundle kinds %v", s.Kinds())
	}
	vals := exporttest.MetricValues(mets)
	n := 0
	for _, pt := range s.Series.Points {
		ts := pt.Time.UnixNano()
		for name, v := range pt.Values {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			if g, ok := vals[name][ts]; !ok || g != v {
				t.Errorf("%s at %s: collector %v (%v), bundle %v", name, pt.Time.Format(time.RFC3339Nano), g, ok, v)
				continue
			}
			n++
		}
	}
	if n < 100 {
		t.Errorf("only %d metric values checked", n)
	}
	t.Logf("%d metric values of %d points equal at the collector", n, len(s.Series.Points))
	if !strings.Contains(errb.String(), "export otlp-http") || !strings.Contains(errb.String(), "0 dropped, 0 failed") {
		t.Errorf("the export counters at the end:\n%s", errb.String())
	}
}
