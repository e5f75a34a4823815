package ui

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/gotune/gotune/capture"
	"github.com/gotune/gotune/collectors"
	"github.com/gotune/gotune/internal/testproc"
	"github.com/gotune/gotune/trace"
)

// fixtureTracer serves testdata/traces/stw.trace (a real trace, see its
// README) as every capture, or other bytes, or blocks until cancelled.
type fixtureTracer struct {
	t     testing.TB
	data  []byte // nil: the fixture
	block bool
	asked []collectors.TraceRequest
}

func (f *fixtureTracer) Fetch(ctx context.Context, req collectors.TraceRequest, w io.Writer) (int64, error) {
	f.asked = append(f.asked, req)
	if f.block {
		if req.Progress != nil {
			req.Progress(collectors.TraceProgress{Bytes: 3 << 20})
		}
		<-ctx.Done()
		return 0, ctx.Err()
	}
	b := f.data
	if b == nil {
		var err error
		if b, err = os.ReadFile(filepath.Join("..", "testdata", "traces", "stw.trace")); err != nil {
			f.t.Fatal(err)
		}
	}
	n, err := w.Write(b)
	return int64(n), err
}

// loadTrace presses c on the Trace screen and delivers the capture.
func loadTrace(t testing.TB, m *Model) {
	t.Helper()
	for _, msg := range runCmd(t, press(m, "c")) {
		if tm, ok := msg.(traceMsg); ok {
			if tm.err != nil {
				t.Fatal(tm.err)
			}
			m.Update(tm)
			return
		}
	}
	t.Fatal("no trace message from c")
}

// deliverTrace runs a command and delivers its trace message.
func deliverTrace(t testing.TB, m *Model, cmd tea.Cmd) traceMsg {
	t.Helper()
	for _, msg := range runCmd(t, cmd) {
		if tm, ok := msg.(traceMsg); ok {
			m.Update(tm)
			return tm
		}
	}
	t.Fatal("no trace message")
	return traceMsg{}
}

// The Trace screen: c captures through the session, the pauses list
// worst first, Enter drills into a pause's stacks and a reason's, esc
// goes back; the trace reaches the Advice screen's rules.
func TestTraceScreenCaptureAndDrill(t *testing.T) {
	m := newTestModel(t, 120, 40, "dark")
	press(m, "6")
	if m.active != scrTrace || !strings.Contains(plain(m), "press c to capture 5 s of /debug/pprof/trace") {
		t.Fatalf("the Trace screen before a capture:\n%s", plain(m))
	}
	if !strings.Contains(plain(m), "flight recorder holds (when the program enabled it)") {
		t.Errorf("a target watched through the agent offers no flight recorder:\n%s", plain(m))
	}
	press(m, "-", "-")
	loadTrace(t, m)
	ts := m.trace
	f := m.s.sess.HeldTrace()
	if f == nil || ts.data != f || f.Seconds != 2 {
		t.Fatalf("the screen does not show the session's trace (%+v)", f)
	}
	out := plain(m)
	for _, want := range []string{"Trace from /debug/pprof/trace?seconds=2", "Pauses 7, total 281ms (GC 6, 280ms)",
		"▸     102ms     +262ms  GC sweep termination [GC 4]", "last to stop G13 main.stwCase.func1 (99.7% of it)",
		"MMU 1ms 0.0%", "p99 ≈523ns", "channel        363ms         3 waits  max     127ms  most at runtime.chanrecv1"} {
		if !strings.Contains(out, want) {
			t.Errorf("the Trace screen lacks %q:\n%s", want, out)
		}
	}
	press(m, "enter")
	out = plain(m)
	for _, want := range []string{"Pause 1 of 7 · 102ms at +262ms · GC sweep termination (GC 4)", "Last to stop: G13 main.stwCase.func1, 101ms after the stop began",
		"main.stwCase.func1", "main.go:200", "Stopped by G6, at:", "Running when it began: G13"} {
		if !strings.Contains(out, want) {
			t.Errorf("the pause's stacks lack %q:\n%s", want, out)
		}
	}
	press(m, "esc")
	if ts.drill {
		t.Fatal("esc did not go back")
	}
	press(m, "G", "k", "k", "k", "k", "k") // from the last reason up to the first: channel
	if it := ts.items[ts.cursor]; it.pause >= 0 || it.reason != trace.CatChannel {
		t.Fatalf("cursor on %+v, want the channel reason", it)
	}
	press(m, "enter")
	if out = plain(m); !strings.Contains(out, "Blocked: channel · 363ms in 3 waits, max 127ms · 1 stack(s)") || !strings.Contains(out, "runtime.chanrecv1") {
		t.Errorf("the channel reason's stacks:\n%s", out)
	}
	press(m, "esc")

	// The Advice screen's window carries the trace to the rules.
	for _, msg := range runCmd(t, press(m, "5")) {
		m.Update(msg)
	}
	if !strings.Contains(plain(m), "trace-long-pause") {
		t.Errorf("the Advice screen does not see the trace:\n%s", plain(m))
	}
}

// A capture shows its progress in the tab line on every screen; esc
// cancels it and says so; a second c while it runs starts nothing.
func TestTraceProgressAndCancel(t *testing.T) {
	now := t0
	ft := &fixtureTracer{t: t, block: true}
	sess := capture.New(fillStore(30), &fakeFetcher{t: t}, capture.Options{Name: "x", Traces: ft})
	m := New(t.Context(), Options{Session: sess, Theme: "mono", Now: func() time.Time { return now }})
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	m.Update(snapshotMsg{snap: sess.Snapshot()})
	press(m, "6")
	cmd := press(m, "c")
	if !m.trace.capturing() || press(m, "c") != nil {
		t.Fatal("c did not start exactly one capture")
	}
	done := make(chan []tea.Msg, 1)
	go func() { done <- runCmdWithin(t, cmd, testproc.MinWait) }()
	testproc.Eventually(t, 10*time.Second, func() bool { return m.trace.progress.n.Load() > 0 }, "the fetch reported no progress")
	now = t0.Add(2 * time.Second)
	m.Update(traceTickMsg{gen: m.trace.gen})
	press(m, "1")
	if out := plain(m); !strings.Contains(lineOf(out, 2), "tracing 2/5s 3.0 MiB [████░░░░░░] esc cancels") {
		t.Errorf("no progress in the tab line:\n%s", out)
	}
	press(m, "6", "esc")
	for _, msg := range <-done {
		if tm, ok := msg.(traceMsg); ok {
			m.Update(tm)
		}
	}
	if out := plain(m); !strings.Contains(out, "trace capture cancelled") || m.trace.capturing() {
		t.Errorf("esc did not cancel the capture:\n%s", out)
	}
	if len(ft.asked) != 1 || ft.asked[0].Seconds != 5 || ft.asked[0].MaxBytes != collectors.DefaultMaxTrace {
		t.Errorf("asked %+v", ft.asked)
	}
}

func lineOf(s string, i int) string {
	ls := strings.Split(s, "\n")
	if i < len(ls) {
		return ls[i]
	}
	return ""
}

// Bad input, through the dashboard: each is a clear error on the Trace
// screen, the trace shown before stays, and the dashboard keeps running.
func TestTraceBadInputKeepsRunning(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "testdata", "traces", "stw.trace"))
	if err != nil {
		t.Fatal(err)
	}
	plainSrv := httptest.NewServer(http.NotFoundHandler())
	defer plainSrv.Close()
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(raw)
		w.Write(raw)
	}))
	defer big.Close()
	cases := []struct {
		name    string
		f       capture.TraceFetcher
		want    string
		is      error
		partial bool
	}{
		{"truncated", &fixtureTracer{t: t, data: raw[:len(raw)/2]}, "trace is truncated or corrupt", trace.ErrTruncated, true},
		{"newer Go", &fixtureTracer{t: t, data: append([]byte("go 1.99 trace\x00\x00\x00"), raw[16:]...)}, "written by Go 1.99, newer than this gotune can read", trace.ErrUnsupported, false},
		{"garbage", &fixtureTracer{t: t, data: []byte("\x00\x01garbage bytes that are no trace")}, "not a Go execution trace", trace.ErrNotTrace, false},
		{"huge", collectors.NewTraceClient(big.URL), "larger than the 256 KiB budget", nil, false},
		{"no /debug/pprof/trace", collectors.NewTraceClient(plainSrv.URL), "net/http/pprof", nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			now := t0
			sess := capture.New(fillStore(30), &fakeFetcher{t: t}, capture.Options{Name: "x", Traces: c.f})
			m := New(t.Context(), Options{Session: sess, Theme: "mono", Now: func() time.Time { return now }})
			m.Update(tea.WindowSizeMsg{Width: 200, Height: 40})
			m.Update(snapshotMsg{snap: sess.Snapshot()})
			press(m, "6")
			m.trace.maxBytes = 256 << 10
			tm := deliverTrace(t, m, press(m, "c"))
			if tm.err == nil || c.is != nil && !errors.Is(tm.err, c.is) {
				t.Fatalf("error %v, want %v", tm.err, c.is)
			}
			out := plain(m)
			if !strings.Contains(out, c.want) || m.trace.capturing() {
				t.Errorf("the screen does not say %q:\n%s", c.want, out)
			}
			if c.partial != (m.trace.data != nil) || c.partial && !strings.Contains(out, "truncated: the figures cover what was read") {
				t.Errorf("partial trace shown: %v\n%s", m.trace.data != nil, out)
			}
			// The dashboard keeps running: screens switch, the overview
			// renders, and a capture can be tried again.
			press(m, "1")
			if out := plain(m); !strings.Contains(out, "Heap") {
				t.Errorf("the overview after the error:\n%s", out)
			}
			press(m, "6")
			if cmd := press(m, "c"); cmd == nil || !m.trace.capturing() {
				t.Error("no new capture after the error")
			} else {
				deliverTrace(t, m, cmd)
			}
		})
	}
}

// A target that serves no pprof: the screen says so and c starts nothing.
func TestTraceScreenWithoutTraces(t *testing.T) {
	sess := capture.New(fillStore(30), nil, capture.Options{Name: "x"})
	m := New(t.Context(), Options{Session: sess, Theme: "mono", Now: func() time.Time { return t0 }})
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 30})
	m.Update(snapshotMsg{snap: sess.Snapshot()})
	press(m, "6")
	if cmd := press(m, "c"); cmd != nil || !strings.Contains(plain(m), "this target serves no execution traces") {
		t.Errorf("a target without traces:\n%s", plain(m))
	}
}
