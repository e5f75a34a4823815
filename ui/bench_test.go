package ui

import (
	"fmt"
	"testing"
)

// BenchmarkView renders each screen with full data (900 points, a CPU
// profile, goroutine groups) at 200×60 and 120×40; the budget is 1 ms per
// frame at 200×60.
func BenchmarkView(b *testing.B) {
	for _, sz := range [][2]int{{200, 60}, {120, 40}, {80, 24}} {
		for _, scr := range []string{"overview", "flame", "top", "goroutines", "advice"} {
			b.Run(fmt.Sprintf("%s/%dx%d", scr, sz[0], sz[1]), func(b *testing.B) {
				m := newTestModel(b, sz[0], sz[1], "dark")
				switch scr {
				case "flame":
					press(m, "2")
					loadProfile(b, m, "profile")
				case "top":
					press(m, "2")
					loadProfile(b, m, "profile")
					press(m, "3")
				case "goroutines":
					press(m, "4", "enter")
				case "advice":
					for _, msg := range runCmd(b, press(m, "5")) {
						m.Update(msg)
					}
				}
				b.ReportAllocs()
				for b.Loop() {
					_ = m.View()
				}
			})
		}
	}
}

// BenchmarkSnapshotAndView is one live update: a new snapshot through
// Update, then a frame, at 200×60 on the overview.
func BenchmarkSnapshotAndView(b *testing.B) {
	m := newTestModel(b, 200, 60, "dark")
	snap := m.s.snap
	b.ReportAllocs()
	for b.Loop() {
		m.Update(snapshotMsg{snap: snap})
		_ = m.View()
	}
}
