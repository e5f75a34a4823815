package ui

import (
	"strings"
	"testing"

	"github.com/gotune/gotune/internal/hostile"
)

// safeFrame keeps the dashboard's own drawing (text, newlines, SGR colours
// and attributes) byte for byte and drops every sequence of the payload
// whole, so the layout measured with them as zero width holds.
func TestSafeFrame(t *testing.T) {
	own := "\x1b[1;38;5;208mgotune\x1b[m · \x1b[38;2;8;8;8mgrey\x1b[0m\n\x1b[48;5;8mbg\x1b[38:5:8m µs 日本 ▲ ⣿\x1b[m"
	if got := safeFrame(own); got != own {
		t.Errorf("own drawing changed:\n got %q\nwant %q", got, own)
	}
	frame := own + hostile.Payload + "\n" + hostile.ErrorBody + "\x1b[1;8mx\x1b[2;08my\u202etab\there\x1bPq#0\x1b\\" + "\x1b"
	got := safeFrame(frame)
	if bad := hostile.CheckTerminal([]byte(got)); len(bad) > 0 {
		t.Errorf("left in the frame: %v\n%q", bad, got)
	}
	for _, w := range append(hostile.Words, "gotune", "grey", "tabhere") {
		if !strings.Contains(got, w) {
			t.Errorf("%q lost from %q", w, got)
		}
	}
	if !strings.HasPrefix(got, own) {
		t.Errorf("own drawing before the payload changed: %q", got)
	}
}

// Whatever a frame holds, what safeFrame lets through passes
// hostile.CheckTerminal, and a second pass changes nothing.
func FuzzSafeFrame(f *testing.F) {
	for _, s := range []string{hostile.Payload, hostile.ErrorBody, "\x1b[1;38;5;8mx\x1b[m", "\x1b[8m", "\x1b", "\x1b[", "\x1b]8;;x", "\xc2\x07\x9b", "\u202e\x1b[38;2;1;2;8;8m"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := safeFrame(s)
		if bad := hostile.CheckTerminal([]byte(got)); len(bad) > 0 {
			t.Fatalf("safeFrame(%q) = %q: %v", s, got, bad)
		}
		if again := safeFrame(got); again != got {
			t.Fatalf("a second pass changed %q to %q", got, again)
		}
	})
}

func BenchmarkSafeFrame(b *testing.B) {
	// A 300×50 frame styled every few cells, as the dashboard draws: the
	// cost of the backstop on every frame.
	var sb strings.Builder
	for range 50 {
		for range 30 {
			sb.WriteString("\x1b[38;5;208mfunction\x1b[m µs")
		}
		sb.WriteByte('\n')
	}
	frame := sb.String()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		if safeFrame(frame) != frame {
			b.Fatal("changed")
		}
	}
}
