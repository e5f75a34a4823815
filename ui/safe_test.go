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
