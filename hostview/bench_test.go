package hostview_test

import (
	"context"
	"testing"

	"github.com/gotune/gotune/hostview"
	"github.com/gotune/gotune/internal/testproc"
)

// BenchmarkRefresh100 is one refresh of the overview over a box with 100
// more Go processes: 90 reachable through the OS only, 10 serving the
// gotune agent (one metrics request each). The advisor runs on every
// refresh here (AdviseEvery of 1 ns): the worst case, every tenth refresh
// or so at the defaults.
func BenchmarkRefresh100(b *testing.B) {
	testproc.StartMany(b, testproc.BuildInto(b, testproc.PlainSleep, ""), 90, testproc.Options{})
	testproc.StartMany(b, testproc.Build(b, testproc.Target("episodes")), 10, testproc.Options{})
	for _, bc := range []struct {
		name string
		o    hostview.Options
	}{
		{"defaults", hostview.Options{}},
		{"advise-every-refresh", hostview.Options{AdviseEvery: 1}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h := hostview.New(bc.o)
			for range 12 { // past the first scan and a full history
				if _, err := h.Refresh(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			for b.Loop() {
				if _, err := h.Refresh(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
