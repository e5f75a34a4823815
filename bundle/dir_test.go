package bundle_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gotune/gotune/bundle"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/session"
	"github.com/gotune/gotune/snapshot"
)

// fakeBundle is a snapshot of n points with the fixture heap profile.
func fakeBundle(t *testing.T, n int) *snapshot.Snapshot {
	t.Helper()
	st := session.NewStore(0)
	st.SetTarget(session.Target{PID: 4242, Command: "/srv/api"})
	t0 := time.Date(2026, 3, 14, 15, 0, 0, 0, time.UTC)
	for i := range n {
		st.Append(session.Sample{Time: t0.Add(time.Duration(i) * time.Second), Source: "agent",
			Values: map[string]float64{session.Goroutines: float64(i), session.HeapLive: float64(i * 1000)}})
	}
	s := snapshot.FromSession(st.Snapshot(), bundle.NamePrefix+"gc-cpu>20%:30s", "test", t0, t0.Add(time.Hour))
	raw, err := os.ReadFile(filepath.Join("..", "testdata", "profiles", "heap.pb.gz"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := profile.ParseBytes(raw)
	if err != nil {
		t.Fatal(err)
	}
	s.Profiles[profile.KindHeap] = &profile.Captured{Kind: profile.KindHeap, Raw: raw, Profile: p, Scope: profile.ScopeInstant, From: t0, To: t0, FetchedAt: t0}
	return s
}

// TestDirCap: the oldest bundles go to keep the directory under its cap,
// one larger than the cap alone is refused, and bundles already there
// count when the directory is opened again.
func TestDirCap(t *testing.T) {
	dir := t.TempDir()
	probe, err := bundle.OpenDir(filepath.Join(dir, "probe"), 0)
	if err != nil {
		t.Fatal(err)
	}
	w, err := probe.Write("one", fakeBundle(t, 10), nil)
	if err != nil {
		t.Fatal(err)
	}
	size := w.Bytes
	d, err := bundle.OpenDir(filepath.Join(dir, "b"), 3*size+size/2)
	if err != nil {
		t.Fatal(err)
	}
	var evicted []string
	for i := range 5 {
		w, err := d.Write(fmt.Sprintf("b%d", i), fakeBundle(t, 10), nil)
		if err != nil {
			t.Fatal(err)
		}
		evicted = append(evicted, w.Evicted...)
		time.Sleep(10 * time.Millisecond) // distinct modification times
	}
	files, _ := filepath.Glob(filepath.Join(dir, "b", "*.gotune"))
	total, n := d.Usage()
	if n != 3 || len(files) != 3 || total > 3*size+size/2 || fmt.Sprint(evicted) != "[b0.gotune b1.gotune]" {
		t.Errorf("after 5 writes: %d bundles (%v), %d bytes, evicted %v", n, files, total, evicted)
	}
	if r, ok := bundle.RuleOf(mustRead(t, files[0])); !ok || r.String() != "gc-cpu>20%:30s" {
		t.Errorf("RuleOf = %v, %v", r, ok)
	}
	again, err := bundle.OpenDir(filepath.Join(dir, "b"), 3*size+size/2)
	if err != nil {
		t.Fatal(err)
	}
	if tot, n := again.Usage(); n != 3 || tot != total {
		t.Errorf("reopened: %d bundles, %d bytes; want 3, %d", n, tot, total)
	}
	w, err = again.Write("b5", fakeBundle(t, 10), nil)
	if err != nil || fmt.Sprint(w.Evicted) != "[b2.gotune]" {
		t.Errorf("a write after reopening evicted %v (%v), want the oldest", w.Evicted, err)
	}
	small, _ := bundle.OpenDir(filepath.Join(dir, "small"), size/2)
	if _, err := small.Write("big", fakeBundle(t, 10), nil); !errors.Is(err, bundle.ErrTooBig) {
		t.Errorf("a bundle over the cap: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "small", "*")); len(left) != 0 {
		t.Errorf("the refused bundle left %v", left)
	}
	if err := d.Append(bundle.IndexEntry{Event: "fired", Rule: "gc-cpu>20%:30s"}); err != nil {
		t.Fatal(err)
	}
	if idx, err := bundle.ReadIndex(filepath.Join(dir, "b")); err != nil || len(idx) != 1 || idx[0].Rule != "gc-cpu>20%:30s" {
		t.Errorf("index: %v %v", idx, err)
	}
}

func mustRead(t *testing.T, path string) *snapshot.Snapshot {
	t.Helper()
	s, err := snapshot.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestDirTrace: a bundle's trace is saved beside it, counted in the cap
// with it (also when the directory is opened again) and evicted with it.
func TestDirTrace(t *testing.T) {
	dir := t.TempDir()
	probe, err := bundle.OpenDir(filepath.Join(dir, "probe"), 0)
	if err != nil {
		t.Fatal(err)
	}
	w, err := probe.Write("one", fakeBundle(t, 10), nil)
	if err != nil {
		t.Fatal(err)
	}
	size := w.Bytes
	trace := make([]byte, size) // as large as the snapshot
	d, err := bundle.OpenDir(filepath.Join(dir, "b"), 5*size)
	if err != nil {
		t.Fatal(err)
	}
	var evicted []string
	for i := range 3 {
		w, err := d.Write(fmt.Sprintf("b%d", i), fakeBundle(t, 10), trace)
		if err != nil {
			t.Fatal(err)
		}
		if w.Bytes != 2*size || filepath.Base(w.Trace) != fmt.Sprintf("b%d.trace", i) {
			t.Errorf("written %+v", w)
		}
		evicted = append(evicted, w.Evicted...)
		time.Sleep(10 * time.Millisecond)
	}
	traces, _ := filepath.Glob(filepath.Join(dir, "b", "*.trace"))
	total, n := d.Usage()
	if fmt.Sprint(evicted) != "[b0.gotune]" || n != 2 || total != 4*size || len(traces) != 2 || filepath.Base(traces[0]) != "b1.trace" {
		t.Errorf("evicted %v; %d bundles, %d bytes (want 2, %d); traces %v", evicted, n, total, 4*size, traces)
	}
	// What a crash would leave: a write under way, a trace without its
	// bundle. Opening the directory removes them.
	for _, name := range []string{".writing-c.gotune", ".writing-c.trace", "orphan.trace"} {
		if err := os.WriteFile(filepath.Join(dir, "b", name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	again, _ := bundle.OpenDir(filepath.Join(dir, "b"), 5*size)
	if tot, n := again.Usage(); n != 2 || tot != total {
		t.Errorf("reopened: %d bundles, %d bytes; want 2, %d", n, tot, total)
	}
	for _, name := range []string{".writing-c.gotune", ".writing-c.trace", "orphan.trace"} {
		if _, err := os.Stat(filepath.Join(dir, "b", name)); !os.IsNotExist(err) {
			t.Errorf("%s left after opening: %v", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "b", "b1.trace")); err != nil {
		t.Errorf("a bundle's trace was removed: %v", err)
	}
	if _, err := again.Write("huge", fakeBundle(t, 10), make([]byte, 5*size)); !errors.Is(err, bundle.ErrTooBig) {
		t.Errorf("a bundle and trace over the cap: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "b", "*huge*")); len(left) != 0 {
		t.Errorf("the refused bundle left %v", left)
	}
}
