package ui

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/safetext"
)

// Profiles enter the dashboard here. Their strings (function and file
// names, labels, sample types) were written by the target and reach the
// terminal through every view built from them (flame, top, the frame
// panel, search, the compare view's diff flames), so each profile is made
// safe once as it arrives rather than view by view: every control
// character becomes U+FFFD (safetext.Line). The session keeps the original
// for the advisor, snapshots and go tool pprof.

// safeProfile returns p with every string terminal-safe (p itself when
// nothing needed it).
func safeProfile(p *profile.Profile) *profile.Profile { return p.MapStrings(safetext.Line) }

// safeCaptured returns c with its profile terminal-safe, sharing the rest.
func safeCaptured(c *profile.Captured) *profile.Captured {
	if c == nil || c.Profile == nil {
		return c
	}
	p := safeProfile(c.Profile)
	if p == c.Profile {
		return c
	}
	cc := *c
	cc.Profile = p
	return &cc
}

// safeFrame is the backstop behind the fields made safe where they enter
// the dashboard: every frame passes through it on its way to the terminal
// (View). The dashboard draws with SGR only (lipgloss styles), so what it
// keeps is text, newlines and SGR sequences that do not conceal; it drops
// every other escape sequence whole (OSC titles, links and clipboard
// writes, cursor moves, DCS and the like), SGR 8 (conceal), C0 and C1
// controls, bidirectional formatting and bytes that are not UTF-8. Dropped
// rather than shown as U+FFFD: the layout was measured with them as zero
// width. A frame with nothing to drop is returned as is.
func safeFrame(s string) string {
	var b *strings.Builder
	last := 0 // s[last:i] is kept but not yet copied
	drop := func(i, j int) {
		if b == nil {
			b = &strings.Builder{}
			b.Grow(len(s))
		}
		b.WriteString(s[last:i])
		last = j
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\n' || (c >= 0x20 && c < 0x7f):
			i++
			continue
		case c == 0x1b:
			j, ok := sgrEnd(s, i)
			if !ok {
				drop(i, j)
			}
			i = j
			continue
		case c < 0x80:
			drop(i, i+1)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size <= 1) || (r >= 0x80 && r <= 0x9f) || r == 0x061c || r == 0x200e || r == 0x200f ||
			(r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
			drop(i, i+size)
		}
		i += size
	}
	if b == nil {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// sgrEnd reads the escape sequence at s[i] (ESC): where it ends, and
// whether it is an SGR sequence that does not conceal. For any other
// sequence the end covers what a terminal would read as part of it: a
// CSI's parameters and final byte, an OSC, DCS, SOS, PM or APC string up
// to BEL or ST, or ESC and the next character.
func sgrEnd(s string, i int) (int, bool) {
	if i+1 >= len(s) {
		return len(s), false
	}
	switch s[i+1] {
	case '[':
		j := i + 2
		for j < len(s) && s[j] >= 0x30 && s[j] <= 0x3f {
			j++
		}
		params := s[i+2 : j]
		k := j
		for k < len(s) && s[k] >= 0x20 && s[k] <= 0x2f {
			k++
		}
		if k >= len(s) || s[k] < 0x40 || s[k] > 0x7e {
			return k, false
		}
		return k + 1, s[k] == 'm' && k == j && !conceals(params)
	case ']', 'P', 'X', '^', '_':
		j := i + 2
		for j < len(s) {
			if s[j] == 0x07 {
				return j + 1, false
			}
			if s[j] == 0x1b && j+1 < len(s) && s[j+1] == '\\' {
				return j + 2, false
			}
			j++
		}
		return len(s), false
	}
	_, size := utf8.DecodeRuneInString(s[i+1:])
	return i + 1 + size, false
}

// conceals reports whether an SGR parameter list turns on conceal (8),
// reading the colour forms 38/48/58;5;N and 38/48/58;2;R;G;B as one
// parameter each. It does not allocate: it runs for every SGR of every
// frame.
func conceals(params string) bool {
	skip := 0 // parameters of a colour form still to pass over
	for params != "" {
		p, rest, _ := strings.Cut(params, ";")
		params = rest
		switch {
		case skip == -1 && p == "5": // the colour form's kind: one index
			skip = 1
			continue
		case skip == -1 && p == "2": // three values
			skip = 3
			continue
		case skip == -1: // no colour form: read p as a parameter of its own
			skip = 0
		case skip > 0:
			skip--
			continue
		}
		if strings.IndexByte(p, ':') >= 0 {
			continue // 38:5:8 and the like: one parameter, a colour
		}
		n, err := strconv.Atoi(p)
		if err != nil {
			continue
		}
		switch n {
		case 8:
			return true
		case 38, 48, 58:
			skip = -1
		}
	}
	return false
}
