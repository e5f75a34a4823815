// Package hostile is the attacker's text of gotune's terminal-safety tests:
// the escape sequences the test target (testdata/targets/hostile) puts in
// its argv, profiles, goroutine labels, agent document and error bodies,
// and the checks over what gotune then writes: CheckText for plain output
// (stdout, stderr, files) and CheckTerminal for the byte stream a
// full-screen program writes to its terminal, where gotune's own drawing
// sequences are allowed and nothing else is.
package hostile

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The pieces of Payload.
const (
	OSC0    = "\x1b]0;PWNED\x07"                                      // window title, BEL-terminated
	OSC2    = "\x1b]2;PWNED\x1b\\"                                    // window title, ST-terminated
	OSC52   = "\x1b]52;c;SU5KRUNURUQ=\x07"                            // clipboard write ("INJECTED")
	OSC8    = "\x1b]8;;https://evil.example/\x1b\\LINK\x1b]8;;\x1b\\" // hyperlink
	CSI     = "\x1b[2J\x1b[H\x1b[3A\x1b[10C\x1b[21t"                  // clear screen, cursor moves, report the title
	Conceal = "\x1b[8mCONCEALED\x1b[0m"                               // SGR 8 hides text
	C1UTF8  = "\u009b2J\u009d0;PWNED\u009c"                           // 8-bit CSI, OSC, ST as UTF-8
	C1Raw   = "\x9b2J\x9d0;PWNED\x07"                                 // 8-bit CSI and OSC as raw bytes (invalid UTF-8)
)

// Payload is what every hostile string of the target carries. Its visible
// words (Words) survive a sanitizer, so a test can tell "shown inert" from
// "dropped".
const Payload = "INJECTED" + OSC0 + OSC2 + OSC52 + OSC8 + CSI + Conceal + C1UTF8 + C1Raw

// ErrorBody is the body of the target's HTTP 500 answers: short enough
// (under 200 bytes) that gotune's probe errors quote it.
const ErrorBody = "INJECTED" + OSC0 + OSC52 + "\x1b[2J\x1b[21t" + Conceal + "\u009b2J" + C1Raw

// Words are the visible words of Payload.
var Words = []string{"INJECTED", "PWNED", "CONCEALED", "LINK"}

// Argv0 and Args are the program name and arguments a test starts the
// target with: its command line is Payload too.
const Argv0 = "hostile" + OSC0 + OSC52

// Args are the target's arguments (it ignores them).
func Args() []string { return []string{Payload, "--password=hunter2"} }

// CheckText returns what makes b unsafe to print on a terminal, or nil:
// C0 controls other than newline and tab (ESC and BEL included), DEL, C1
// controls (U+0080–U+009F), bidirectional formatting and invalid UTF-8.
func CheckText(b []byte) error {
	var bad []string
	for i := 0; i < len(b) && len(bad) < 5; {
		r, size := utf8.DecodeRune(b[i:])
		if why := unsafeRune(r, size); why != "" {
			bad = append(bad, fmt.Sprintf("%s at %d (%q)", why, i, around(b, i)))
		}
		i += size
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s", strings.Join(bad, "; "))
	}
	return nil
}

func unsafeRune(r rune, size int) string {
	switch {
	case r == utf8.RuneError && size <= 1:
		return "invalid UTF-8"
	case r < 0x20 && r != '\n' && r != '\t', r == 0x7f:
		return fmt.Sprintf("control %U", r)
	case r >= 0x80 && r <= 0x9f:
		return fmt.Sprintf("C1 control %U", r)
	case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return fmt.Sprintf("bidirectional formatting %U", r)
	}
	return ""
}

func around(b []byte, i int) []byte { return b[max(0, i-40):min(len(b), i+20)] }

// TitlePrefix is how every window title gotune sets begins.
const TitlePrefix = "gotune"

// CheckTerminal returns what, in the bytes a full-screen program wrote to
// its terminal, did not come from the program's own drawing: an OSC other
// than a title starting with TitlePrefix (with clean text), an empty
// title (a reset) or a colour
// query (OSC 52 clipboard writes and OSC 8 links never), SGR 8 (conceal;
// 38;5;8, 48;5;8 and 38;2;r;g;b are colours and are parsed as such), a
// DCS, SOS, PM or APC string, C0 controls other than the ones a renderer
// moves with (CR, LF, TAB, BS), C1 controls (U+0080–U+009F) and bytes that
// are not UTF-8. A CSI sequence is the program's drawing unless it is SGR
// 8, a window operation or report (final byte t: CSI 21 t makes the
// terminal type its title back as input) or media copy (final byte i),
// which a renderer never sends, or the payload's CSI run itself.
func CheckTerminal(b []byte) []string {
	var bad []string
	add := func(at int, format string, args ...any) {
		if len(bad) < 20 {
			bad = append(bad, fmt.Sprintf("at %d: ", at)+fmt.Sprintf(format, args...)+fmt.Sprintf(" (%q)", around(b, at)))
		}
	}
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c == 0x1b:
			i = escape(b, i, add)
			continue
		case c < 0x20 || c == 0x7f:
			if c != '\r' && c != '\n' && c != '\t' && c != '\b' {
				add(i, "control %#x", c)
			}
			i++
			continue
		case c < 0x80:
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			add(i, "byte %#x outside UTF-8", c)
		case r >= 0x80 && r <= 0x9f:
			add(i, "C1 control %U", r)
		}
		i += size
	}
	return bad
}

// escape checks the sequence starting at b[i] (ESC) and returns where the
// next one starts.
func escape(b []byte, i int, add func(int, string, ...any)) int {
	if i+1 >= len(b) {
		return len(b)
	}
	switch b[i+1] {
	case '[': // CSI: parameters 0x30–0x3f, intermediates 0x20–0x2f, final 0x40–0x7e
		j := i + 2
		for j < len(b) && b[j] >= 0x30 && b[j] <= 0x3f {
			j++
		}
		params := string(b[i+2 : j])
		for j < len(b) && b[j] >= 0x20 && b[j] <= 0x2f {
			j++
		}
		if j >= len(b) {
			add(i, "unterminated CSI")
			return len(b)
		}
		if b[j] < 0x40 || b[j] > 0x7e {
			add(i, "malformed CSI")
			return j
		}
		switch {
		case b[j] == 'm' && j == i+2+len(params) && concealed(params):
			add(i, "SGR 8 (conceal) in %q", params)
		case b[j] == 't' || b[j] == 'i':
			add(i, "CSI %s%c (window operation or media copy)", params, b[j])
		case bytes.HasPrefix(b[i:], []byte(CSI)):
			add(i, "the payload's CSI sequences")
		}
		return j + 1
	case ']': // OSC, ended by BEL or ST
		j := i + 2
		for j < len(b) && b[j] != 0x07 && !(b[j] == 0x1b && j+1 < len(b) && b[j+1] == '\\') {
			j++
		}
		body := string(b[i+2 : min(j, len(b))])
		end := j + 1
		if j < len(b) && b[j] == 0x1b {
			end = j + 2
		}
		if j >= len(b) {
			add(i, "unterminated OSC")
			end = len(b)
		}
		num, text, _ := strings.Cut(body, ";")
		switch num {
		case "0", "1", "2":
			if text == "" {
				// A program resets the title as it exits.
			} else if !strings.HasPrefix(text, TitlePrefix) {
				add(i, "OSC %s title not set by gotune: %q", num, text)
			} else if err := CheckText([]byte(text)); err != nil || strings.ContainsRune(text, '\n') {
				add(i, "OSC %s title with unsafe text: %v", num, err)
			}
		case "10", "11", "12":
			if text != "?" {
				add(i, "OSC %s sets a colour: %q", num, text)
			}
		default:
			add(i, "OSC %s: %q", num, body)
		}
		return end
	case 'P', 'X', '^', '_': // DCS, SOS, PM, APC
		add(i, "string sequence ESC %c", b[i+1])
		j := i + 2
		for j+1 < len(b) && !(b[j] == 0x1b && b[j+1] == '\\') {
			j++
		}
		return min(len(b), j+2)
	}
	// Two- or three-byte escapes (ESC 7, ESC 8, ESC =, ESC ( B, ...): no
	// text, nothing an attacker gains.
	j := i + 1
	for j < len(b) && b[j] >= 0x20 && b[j] <= 0x2f {
		j++
	}
	return min(len(b), j+1)
}

// concealed reports whether the SGR parameter list turns on conceal (8),
// reading the colour forms 38/48/58;5;N and 38/48/58;2;R;G;B (and their
// colon forms) as one parameter each.
func concealed(params string) bool {
	if params == "" {
		return false
	}
	ps := strings.Split(params, ";")
	for k := 0; k < len(ps); k++ {
		p := ps[k]
		if strings.Contains(p, ":") { // 38:5:8, 38:2::r:g:b — one parameter
			continue
		}
		n, err := strconv.Atoi(p)
		if err != nil {
			continue
		}
		switch n {
		case 38, 48, 58:
			if k+1 < len(ps) {
				switch ps[k+1] {
				case "5":
					k += 2
				case "2":
					k += 4
				}
			}
		case 8:
			return true
		}
	}
	return false
}
