package gops

import (
	"fmt"
	"strings"
	"testing"
)

// formatBytes is gops v0.3.29 agent.formatBytes, copied to check that every
// value it can print parses back exactly.
func formatBytes(val uint64) string {
	units := []string{" bytes", "KB", "MB", "GB", "TB", "PB"}
	var i int
	var target uint64
	for i = range units {
		target = 1 << uint(10*(i+1))
		if val < target {
			break
		}
	}
	if i > 0 {
		return fmt.Sprintf("%0.2f%s (%d bytes)", float64(val)/(float64(target)/1024), units[i], val)
	}
	return fmt.Sprintf("%d bytes", val)
}

func FuzzParseMemStats(f *testing.F) {
	f.Add([]byte(realMemStats))
	f.Add([]byte("last-gc: -\n"))
	f.Add([]byte("next-gc: when heap-alloc >= 4.00MB (4194304 bytes)\ngc-pause-total: 1h2m\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMemStats(b)
		if err == nil && len(m.has) == 0 {
			t.Fatal("success without any field")
		}
		if m.GCCPUFraction < 0 || m.GCCPUFraction > 1 || m.PauseTotal < 0 || m.LastPause < 0 {
			t.Fatalf("out of range: %+v", m)
		}
	})
}

func FuzzParseStats(f *testing.F) {
	f.Add([]byte("goroutines: 12\nOS threads: 9\nGOMAXPROCS: 2\nnum CPU: 4\n"))
	f.Add([]byte("GOMAXPROCS: -1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseStats(b)
		if err == nil && len(s.has) == 0 {
			t.Fatal("success without any field")
		}
		if s.Goroutines < 0 || s.GOMAXPROCS < 0 || s.NumCPU < 0 || s.OSThreads < 0 {
			t.Fatalf("negative: %+v", s)
		}
	})
}

func FuzzParseSetGCReply(f *testing.F) {
	f.Add([]byte("New GC percent set to 50. Previous value was 100.\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		set, prev, err := ParseSetGCReply(b)
		if err != nil {
			return
		}
		// Whatever parsed must be what a well-formed reply says.
		again := fmt.Sprintf("New GC percent set to %d. Previous value was %d.", set, prev)
		if s2, p2, err := ParseSetGCReply([]byte(again)); err != nil || s2 != set || p2 != prev {
			t.Fatalf("round trip of %q: %d %d %v", again, s2, p2, err)
		}
		if !strings.Contains(string(b), "New GC percent set to ") {
			t.Fatalf("accepted %q", b)
		}
	})
}

func FuzzFormatBytesRoundTrip(f *testing.F) {
	for _, v := range []uint64{0, 1023, 1024, 1 << 40, 1<<64 - 1} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v uint64) {
		got, ok := parseBytes(formatBytes(v))
		if !ok || got != v {
			t.Fatalf("parseBytes(%q) = %d, %v; want %d", formatBytes(v), got, ok, v)
		}
	})
}

func FuzzParsePortFile(f *testing.F) {
	f.Add([]byte("40123"))
	f.Add([]byte(" 1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if p, ok := ParsePortFile(b); ok && (p <= 0 || p > 65535) {
			t.Fatalf("port %d from %q", p, b)
		}
	})
}
