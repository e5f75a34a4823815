package ui

import (
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
)

// narrow reports whether r is one of the non-ASCII characters the
// dashboard draws itself (rules, bars, arrows, ellipses): one cell each in
// every terminal.
func narrow(r rune) bool {
	switch r {
	case '│', '─', '…', '▏', '█', '░', '▲', '▼', '×', '·', '›', '↑', '↓', '←', '→', '▸',
		'Δ', '²', '≥', '≤', '±', '−', '•', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '�':
		return true
	}
	return false
}

// cellWidth is the number of cells s takes, as ansi.StringWidthWc counts
// them, without its parser on the common case: ASCII text and the
// dashboard's own characters between CSI sequences (the styles). Anything
// else goes to ansi.StringWidthWc. Measuring is most of a frame's cost on
// a screen full of styled cells.
func cellWidth(s string) int {
	w := 0
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == 0x1b:
			// CSI: ESC [ parameters intermediates final (0x40–0x7E).
			if i+1 >= len(s) || s[i+1] != '[' {
				return ansi.StringWidthWc(s)
			}
			j := i + 2
			for j < len(s) && (s[j] < 0x40 || s[j] > 0x7e) {
				j++
			}
			if j >= len(s) {
				return ansi.StringWidthWc(s)
			}
			i = j + 1
		case c >= 0x20 && c < 0x7f:
			w++
			i++
		case c < 0x80:
			return ansi.StringWidthWc(s) // a control character
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			if !narrow(r) {
				return ansi.StringWidthWc(s)
			}
			w++
			i += n
		}
	}
	return w
}
