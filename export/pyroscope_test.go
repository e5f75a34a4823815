package export

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/gotune/gotune/export/exporttest"
	"github.com/gotune/gotune/internal/testproc"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/session"
)

func testOrigin(phase string) Origin {
	return Origin{
		Target:  session.Target{PID: 4242, Command: "/usr/local/bin/api-server -port 8080", GoVersion: "go1.26.0", StartTime: time.Unix(1_700_000_000, 0)},
		Host:    "box-1",
		GOGC:    "200",
		Trigger: "snapshot",
		Phase:   phase,
	}
}

// TestPyroscopeIngest sends profiles of several kinds, "before" and
// "after", to a receiver that parses the request as Pyroscope's ingest API
// documents it, and checks the name, the labels, the span and that the
// pprof arrives byte for byte with the same totals.
func TestPyroscopeIngest(t *testing.T) {
	recv := &exporttest.PyroscopeReceiver{}
	srv := exporttest.NewFaultServer(t, recv)
	srv.Up()
	sink, err := NewPyroscope(PyroscopeConfig{URL: srv.URL()})
	testproc.Must(t, err, "sink")
	ex, err := New(sink, Options{})
	testproc.Must(t, err, "exporter")
	kinds := []profile.Kind{profile.KindCPU, profile.KindHeap, profile.KindGoroutine, profile.KindMutex}
	want := map[string]*profile.Captured{}
	for _, phase := range []string{"before", "after"} {
		for _, k := range kinds {
			c := fixture(t, k)
			testproc.Must(t, ex.EnqueueProfile(c, testOrigin(phase)), "enqueue")
			want[phase+"/"+string(k)] = c
		}
	}
	if err := ex.EnqueueMetrics([]session.Point{{}}, testOrigin("")); err != ErrUnsupported {
		t.Errorf("metrics to Pyroscope: %v, want ErrUnsupported", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testproc.MinWait)
	defer cancel()
	testproc.Must(t, ex.Close(ctx), "close")
	got := recv.Ingests()
	if len(got) != len(want) || len(recv.Refused()) > 0 {
		t.Fatalf("receiver got %d ingests (want %d), bad requests: %v", len(got), len(want), recv.Refused())
	}
	for _, in := range got {
		if in.App != "api-server" {
			t.Errorf("app name %q, want api-server (base of the command)", in.App)
		}
		wantLabels := map[string]string{"host": "box-1", "pid": "4242", "go_version": "go1.26.0", "gogc": "200", "trigger": "snapshot", "phase": in.Labels["phase"]}
		for k, v := range wantLabels {
			if in.Labels[k] != v {
				t.Errorf("label %s=%q, want %q (all: %v)", k, in.Labels[k], v, in.Labels)
			}
		}
		if in.Format != "pprof" || in.SpyName != "gotune" {
			t.Errorf("format=%q spyName=%q", in.Format, in.SpyName)
		}
		p, err := profile.ParseBytes(in.Profile)
		testproc.Must(t, err, "parse received pprof")
		var kind profile.Kind
		for _, k := range kinds {
			if c := want[in.Labels["phase"]+"/"+string(k)]; c != nil && bytes.Equal(c.Raw, in.Profile) {
				kind = k
			}
		}
		if kind == "" {
			t.Fatalf("received a profile (%v) that was not sent byte for byte", p.SampleTypes)
		}
		c := want[in.Labels["phase"]+"/"+string(kind)]
		delete(want, in.Labels["phase"]+"/"+string(kind))
		if in.From != c.From.Unix() || in.Until < in.From+1 || in.Until != max(c.To.Unix(), c.From.Unix()+1) {
			t.Errorf("%s: from=%d until=%d, capture %s–%s", kind, in.From, in.Until, c.From, c.To)
		}
		if kind == profile.KindCPU && in.SampleRate != "100" {
			t.Errorf("cpu sampleRate=%q, want 100 (period 10ms)", in.SampleRate)
		}
		for st, v := range exporttest.PprofTotals(p) {
			if w := exporttest.PprofTotals(c.Profile)[st]; v != w {
				t.Errorf("%s %s: received total %d, sent %d", kind, st, v, w)
			}
		}
	}
	if len(want) != 0 {
		t.Errorf("not received: %v", want)
	}
	st := ex.Stats()
	if st.Sent != 8 || st.Lost() != 0 {
		t.Errorf("stats: %s", st)
	}
}

func TestPyroscopeName(t *testing.T) {
	o := testOrigin("after")
	o.Service = "my app"
	o.Extra = map[string]string{"region": "eu{west}=1,2", "9lives": "x"}
	got := PyroscopeName(o)
	want := "my_app{host=box-1,pid=4242,go_version=go1.26.0,gogc=200,trigger=snapshot,phase=after,_9lives=x,region=eu_west__1_2}"
	if got != want {
		t.Errorf("PyroscopeName:\n got %s\nwant %s", got, want)
	}
}
