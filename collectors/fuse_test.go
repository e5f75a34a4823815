package collectors

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/collectors/gops"
	"github.com/gotune/gotune/session"
)

// fakeSource returns fixed readings.
type fakeSource struct {
	via   string
	s     session.Sample
	err   error
	reads int
}

func (f *fakeSource) Via() string { return f.via }
func (f *fakeSource) Read(context.Context) (session.Sample, error) {
	f.reads++
	if f.err != nil {
		return session.Sample{}, f.err
	}
	s := f.s
	s.Time = time.Now()
	return s, nil
}

func fake(via string, values map[string]float64, hists ...string) *fakeSource {
	s := session.Sample{Values: values, Histograms: map[string]*session.Histogram{}, Origins: map[string]string{}}
	for k := range values {
		s.Origins[k] = via + " " + k
	}
	for _, h := range hists {
		s.Histograms[h] = &session.Histogram{Buckets: []float64{0, 1}, Counts: []uint64{1}}
		s.Origins[h] = via + " " + h
	}
	return &fakeSource{via: via, s: s}
}

// One series per metric, by the fixed precedence, whatever order the
// sources were given in; better figures keep worse ones out; a source
// that adds nothing is not read again.
func TestFusionPrecedence(t *testing.T) {
	gops := fake("gops", map[string]float64{session.Goroutines: 5, session.GOMAXPROCS: 2, session.MemStatsGCCPUFraction: 0.1, session.MemStatsLastGC: 9})
	pprof := fake("pprof", map[string]float64{session.Goroutines: 4, session.HeapGoal: 10, session.MemStatsGCCPUFraction: 0.2, session.MemStatsLastGC: 8}, session.PausesGCOld)
	prom := fake("prometheus", map[string]float64{session.Goroutines: 3, session.HeapGoal: 11, session.CPUGCTotal: 1, session.CPUTotal: 10}, session.PausesGC)
	expvar := fake("expvar", map[string]float64{session.HeapGoal: 12, session.MemStatsGCCPUFraction: 0.3}) // no LastGC: its fraction is unusable
	f := NewFusedSource(gops, pprof, expvar, prom)
	s, err := f.Detect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{session.Goroutines: "prometheus", session.HeapGoal: "prometheus", session.GOMAXPROCS: "gops", session.PausesGC: "prometheus"}
	for k, v := range want {
		if !strings.HasPrefix(s.Origins[k], v) {
			t.Errorf("%s from %q, want %s", k, s.Origins[k], v)
		}
	}
	// /cpu/classes present: MemStats' fraction and the old pause histogram
	// are not taken from anyone.
	for _, k := range []string{session.MemStatsGCCPUFraction, session.MemStatsLastGC} {
		if _, ok := s.Values[k]; ok {
			t.Errorf("%s taken (%s) although /cpu/classes are there", k, s.Origins[k])
		}
	}
	if _, ok := s.Histograms[session.PausesGCOld]; ok {
		t.Error("old pause histogram taken next to /sched/pauses/total/gc")
	}
	if s.Source != "prometheus + gops" {
		t.Errorf("source %q", s.Source)
	}
	// pprof and expvar added nothing: not read again.
	pr, er := pprof.reads, expvar.reads
	if _, err := f.Read(context.Background()); err != nil {
		t.Fatal(err)
	}
	if pprof.reads != pr || expvar.reads != er || prom.reads != 2 || gops.reads != 2 {
		t.Errorf("reads after detection: pprof %d→%d, expvar %d→%d, prometheus %d, gops %d", pr, pprof.reads, er, expvar.reads, prom.reads, gops.reads)
	}

	// Without /cpu/classes, the fraction and its LastGC come from one
	// source together: pprof's pair (expvar has no LastGC, gops is lower).
	delete(prom.s.Values, session.CPUGCTotal)
	f = NewFusedSource(gops, pprof, expvar, prom)
	s, _ = f.Detect(context.Background())
	if s.Values[session.MemStatsGCCPUFraction] != 0.2 || s.Values[session.MemStatsLastGC] != 8 {
		t.Errorf("fraction %v with last GC %v, want pprof's pair 0.2, 8", s.Values[session.MemStatsGCCPUFraction], s.Values[session.MemStatsLastGC])
	}
	if s.Source != "prometheus + pprof + gops" {
		t.Errorf("source %q", s.Source)
	}
}

// A member that fails alone leaves its metrics out and is named in the
// status note; all failing is an error.
func TestFusionPartialFailure(t *testing.T) {
	a := fake("agent", map[string]float64{session.HeapLive: 1})
	g := fake("gops", map[string]float64{session.Goroutines: 5})
	f := NewFusedSource(a, g)
	if _, err := f.Detect(context.Background()); err != nil {
		t.Fatal(err)
	}
	g.err = errors.New("gops memstats: connection refused")
	s, err := f.Read(context.Background())
	if err != nil || s.Values[session.HeapLive] != 1 {
		t.Fatalf("partial read: %v %v", s.Values, err)
	}
	if _, ok := s.Values[session.Goroutines]; ok || s.Source != "agent" {
		t.Errorf("failed member's figures kept: %v via %q", s.Values, s.Source)
	}
	if _, note := f.Pace(); !strings.Contains(note, "connection refused") {
		t.Errorf("note %q does not name the failure", note)
	}
	a.err = errors.New("agent: status 500")
	if _, err := f.Read(context.Background()); err == nil {
		t.Error("no error when every member failed")
	}
}

// While a gops CPU profile holds the agent (30 s, one request at a time),
// its metrics say so at once instead of queueing behind it.
func TestGopsBusyWithCPUProfile(t *testing.T) {
	g := &gopsMetrics{c: gops.NewClient("127.0.0.1:1")} // nothing listens: a dial would fail differently
	g.busyUntil.Store(time.Now().Add(20 * time.Second).UnixNano())
	_, err := g.Read(context.Background())
	if err == nil || !strings.Contains(err.Error(), "recording a 30 s CPU profile") {
		t.Errorf("error %v", err)
	}
}
