package ui

import (
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/gotune/gotune/themes"
)

// TestCellWidth holds the fast measure to ansi.StringWidthWc on the
// dashboard's own characters, styled text and text it hands over.
func TestCellWidth(t *testing.T) {
	th := themes.Choose("dark", false, true)
	cases := []string{"", "main.fib", th.Bold.S("root") + th.Faint.S("│") + " x", "a\tb", "日本語", "e\u0301", "\x1b]0;title\x07x",
		th.Selected.S("main.(*T).M   ") + " " + th.FlameMatch.S("▏"), "\x1b[38;2;1;2;3mabc\x1b[m…", "trailing \x1b[", "ok ✓", "⚡"}
	for _, r := range "│─…▏█░▲▼×·›↑↓←→▸Δ²≥≤±−•▁▂▃▄▅▆▇�" {
		if !narrow(r) {
			t.Errorf("%q is not narrow", r)
		}
		cases = append(cases, string(r), "x"+string(r)+th.Muted.S(string(r)))
	}
	for _, c := range cases {
		if got, want := cellWidth(c), ansi.StringWidthWc(c); got != want {
			t.Errorf("cellWidth(%q) = %d, ansi.StringWidthWc: %d", c, got, want)
		}
	}
}
