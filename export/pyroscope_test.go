package export

import (
	"bytes"
	"context"
	"testing"
	"time"

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
	recv := &pyroscopeReceiver{}
	srv := newFaultServer(t, recv)
	srv.up()
	sink, err := NewPyroscope(PyroscopeConfig{URL: srv.url()})
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
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	testproc.Must(t, ex.Close(ctx), "close")
	got := recv.ingests()
	if len(got) != len(want) || len(recv.bad) > 0 {
		t.Fatalf("receiver got %d ingests (want %d), bad requests: %v", len(got), len(want), recv.bad)
	}
	for _, in := range got {
		if in.app != "api-server" {
			t.Errorf("app name %q, want api-server (base of the command)", in.app)
		}
		wantLabels := map[string]string{"host": "box-1", "pid": "4242", "go_version": "go1.26.0", "gogc": "200", "trigger": "snapshot", "phase": in.labels["phase"]}
		for k, v := range wantLabels {
			if in.labels[k] != v {
				t.Errorf("label %s=%q, want %q (all: %v)", k, in.labels[k], v, in.labels)
			}
		}
		if in.format != "pprof" || in.spyName != "gotune" {
			t.Errorf("format=%q spyName=%q", in.format, in.spyName)
		}
		p, err := profile.ParseBytes(in.profile)
		testproc.Must(t, err, "parse received pprof")
		var kind profile.Kind
		for _, k := range kinds {
			if c := want[in.labels["phase"]+"/"+string(k)]; c != nil && bytes.Equal(c.Raw, in.profile) {
				kind = k
			}
		}
		if kind == "" {
			t.Fatalf("received a profile (%v) that was not sent byte for byte", p.SampleTypes)
		}
		c := want[in.labels["phase"]+"/"+string(kind)]
		delete(want, in.labels["phase"]+"/"+string(kind))
		if in.from != c.From.Unix() || in.until < in.from+1 || in.until != max(c.To.Unix(), c.From.Unix()+1) {
			t.Errorf("%s: from=%d until=%d, capture %s–%s", kind, in.from, in.until, c.From, c.To)
		}
		if kind == profile.KindCPU && in.sampleRate != "100" {
			t.Errorf("cpu sampleRate=%q, want 100 (period 10ms)", in.sampleRate)
		}
		for st, v := range pprofTotals(p) {
			if w := pprofTotals(c.Profile)[st]; v != w {
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
