package cli

import (
	"io"
	"unicode/utf8"
)

// terminalSafe wraps w for text meant for a terminal: C0 and C1 control
// characters (ESC among them) other than newline and tab become U+FFFD.
// Command lines, function names and goroutine dumps come from other
// programs and other users; printed raw, an escape sequence in them could
// retitle, clear or reprogram the operator's terminal.
func terminalSafe(w io.Writer) io.Writer { return &safeWriter{w: w} }

type safeWriter struct {
	w       io.Writer
	partial []byte // an incomplete UTF-8 sequence from the previous Write
}

func (s *safeWriter) Write(p []byte) (int, error) {
	in := append(s.partial, p...)
	s.partial = nil
	out := make([]byte, 0, len(in))
	for i := 0; i < len(in); {
		r, size := utf8.DecodeRune(in[i:])
		if r == utf8.RuneError && size <= 1 && !utf8.FullRune(in[i:]) {
			s.partial = append([]byte(nil), in[i:]...) // finish it next Write
			break
		}
		switch {
		case r == '\n' || r == '\t':
			out = append(out, byte(r))
		case r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f:
			out = utf8.AppendRune(out, utf8.RuneError)
		default:
			out = append(out, in[i:i+size]...)
		}
		i += size
	}
	if _, err := s.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}
