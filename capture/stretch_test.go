package capture

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/collectors"
	"github.com/gotune/gotune/internal/testproc"
	"github.com/gotune/gotune/profile"
)

// The closing fetches of a window of a set length get half its length,
// between 5 s and 20 s; a window that ends now (the dashboard) gets 20 s,
// and a deadline given is kept.
func TestCloseDeadline(t *testing.T) {
	for _, c := range []struct {
		o    WindowOptions
		want time.Duration
	}{
		{WindowOptions{Length: 3 * time.Second}, 5 * time.Second},
		{WindowOptions{Length: 30 * time.Second}, 15 * time.Second},
		{WindowOptions{Length: 5 * time.Minute}, DefaultDeadline},
		{WindowOptions{}, DefaultDeadline},
		{WindowOptions{Length: 3 * time.Second, Deadline: time.Minute}, time.Minute},
	} {
		if got := closeDeadline(c.o); got != c.want {
			t.Errorf("closeDeadline(%+v) = %s, want %s", c.o, got, c.want)
		}
	}
}

// A 3 s window of a real target whose profile fetches never answer in
// time (its metrics do): the CPU profile inside the window is given up 2 s
// after the window's end, the closing fetches get 5 s (not 20 s), and the
// snapshot says what was left out and that the window ran longer.
func TestSlowTargetWindowBounded(t *testing.T) {
	p := testproc.StartWith(t, testproc.Build(t, "./testdata/targets/slowpprof"), testproc.Options{WaitReady: true}, "-slow", "10m")
	tg, err := collectors.NewURLTarget("http://"+p.Addr(), collectors.HTTPSourceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	sess := Start(ctx, tg, Options{Interval: 250 * time.Millisecond, Baselines: true, StartBudget: time.Second})
	w, err := sess.Window(ctx, WindowOptions{Length: 3 * time.Second, CPU: 2 * time.Second, Dump: true,
		Kinds: []profile.Kind{profile.KindHeap, profile.KindGoroutine}})
	if err != nil {
		t.Fatal(err)
	}
	notes := strings.Join(w.Notes, "\n")
	for _, want := range []string{
		"the window's start: the target did not answer every fetch within 1s",
		"cpu profile: not answered by 2s after the window's end; left out",
		"profile: not fetched within the 5s the window's closing fetches may take; left out",
		"the window ran ",
		"longer than the 3s asked: the target was slow to answer (a 3s window waits at most 4.25s past its end for its fetches)",
	} {
		if !strings.Contains(notes, want) {
			t.Errorf("no %q in the notes:\n%s", want, notes)
		}
	}
	if len(w.Profiles) != 0 {
		t.Errorf("profiles %v from a target that answered none", w.Kinds())
	}
	if len(w.Session.Points) == 0 {
		t.Error("no sample: the target's metrics answer at once")
	}
}
