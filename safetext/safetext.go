// Package safetext makes text from outside gotune safe to print on a
// terminal or into a document. Function names, goroutine states and labels,
// command lines, HTTP error bodies, agent fields and snapshot contents are
// written by other programs and other users; printed raw, an escape
// sequence in them could retitle, clear or reprogram the operator's
// terminal (OSC 0/2 titles, OSC 8 links, OSC 52 clipboard writes, CSI and
// SGR, 8-bit C1 controls) or spoof what is shown (bidirectional overrides).
//
// Every control character (C0 except the newline and tab a multi-line
// text may keep, DEL, C1), every bidirectional formatting character and
// every byte that is not UTF-8 becomes U+FFFD, so what an escape sequence
// carried is shown inert and visibly. This is the one sanitizer: the
// dashboard, the text commands, stderr and the Markdown reports call it
// where outside text enters what they print. JSON outputs keep the
// original text: NewJSONWriter escapes what a terminal would act on instead
// of replacing it.
package safetext

import (
	"io"
	"strings"
	"unicode/utf8"
)

// Replacement is what an unsafe character becomes.
const Replacement = '\uFFFD'

// unsafe reports whether r must not reach a terminal. multiline keeps
// newline and tab.
func unsafe(r rune, multiline bool) bool {
	switch {
	case r == '\n' || r == '\t':
		return !multiline
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true // bidirectional formatting: reorders what is shown
	case r == utf8.RuneError:
		return true
	}
	return false
}

// Line returns s for one line of a terminal or a table cell: every control
// character, newline and tab included, becomes U+FFFD.
func Line(s string) string { return clean(s, false) }

// Text returns s for a multi-line block: as Line, but newlines and tabs
// stay.
func Text(s string) string { return clean(s, true) }

// Lines applies Line to each string of ss, in a new slice.
func Lines(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = Line(s)
	}
	return out
}

func clean(s string, multiline bool) string {
	// Fast path: most text is clean.
	i := 0
	for i < len(s) {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if unsafe(r, multiline) && !(r == utf8.RuneError && size > 1) {
			break
		}
		i += size
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if unsafe(r, multiline) && !(r == utf8.RuneError && size > 1) {
			b.WriteRune(Replacement)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// Clean reports whether s would print unchanged by Line.
func Clean(s string) bool { return Line(s) == s }

// NewWriter wraps w for multi-line text meant for a terminal: what Text
// does, across Write calls (a UTF-8 sequence split between two writes is
// joined first).
func NewWriter(w io.Writer) io.Writer { return &writer{w: w} }

type writer struct {
	w       io.Writer
	partial []byte // an incomplete UTF-8 sequence from the previous Write
}

func (s *writer) Write(p []byte) (int, error) {
	in := p
	if len(s.partial) > 0 {
		in = append(s.partial, p...)
		s.partial = nil
	}
	out := make([]byte, 0, len(in))
	for i := 0; i < len(in); {
		c := in[i]
		if c >= 0x20 && c < 0x7f || c == '\n' || c == '\t' {
			out = append(out, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(in[i:])
		if r == utf8.RuneError && size <= 1 && !utf8.FullRune(in[i:]) {
			s.partial = append([]byte(nil), in[i:]...) // finish it next Write
			break
		}
		if unsafe(r, true) && !(r == utf8.RuneError && size > 1) {
			out = utf8.AppendRune(out, Replacement)
		} else {
			out = append(out, in[i:i+size]...)
		}
		i += size
	}
	if _, err := s.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// NewJSONWriter wraps w for JSON meant for programs that may be printed
// on a terminal (gotune's --json outputs, the JSON report). JSON holds the
// original text, so nothing is replaced: every character Line would
// replace and that encoding/json leaves raw (C1 controls, DEL,
// bidirectional formatting, U+FFFD's invalid bytes) is written as its
// \uXXXX escape, which a JSON reader decodes back to the same string and a
// terminal shows as text. Newlines and tabs (indentation between values)
// stay; a raw C0 control, which encoding/json never writes, is escaped
// too. An invalid UTF-8 byte becomes \ufffd, as encoding/json does.
func NewJSONWriter(w io.Writer) io.Writer { return &jsonWriter{w: w} }

type jsonWriter struct {
	w       io.Writer
	partial []byte
}

const hexDigits = "0123456789abcdef"

func appendEscape(out []byte, r rune) []byte {
	return append(out, '\\', 'u', hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
}

func (s *jsonWriter) Write(p []byte) (int, error) {
	in := p
	if len(s.partial) > 0 {
		in = append(s.partial, p...)
		s.partial = nil
	}
	out := make([]byte, 0, len(in))
	for i := 0; i < len(in); {
		c := in[i]
		if c >= 0x20 && c < 0x7f || c == '\n' || c == '\t' {
			out = append(out, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(in[i:])
		switch {
		case r == utf8.RuneError && size <= 1 && !utf8.FullRune(in[i:]):
			s.partial = append([]byte(nil), in[i:]...)
			i = len(in)
			continue
		case r == utf8.RuneError && size <= 1:
			out = appendEscape(out, utf8.RuneError)
		case unsafe(r, true) && r != utf8.RuneError:
			out = appendEscape(out, r)
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
