package hostile

import (
	"strings"
	"testing"
)

// Every piece of Payload is caught, and a renderer's own drawing is not.
func TestCheckTerminal(t *testing.T) {
	for name, s := range map[string]string{
		"OSC 0": OSC0, "OSC 2": OSC2, "OSC 52": OSC52, "OSC 8": OSC8, "SGR 8": Conceal,
		"SGR 1;8": "\x1b[1;8mx", "SGR 38;5;1;8": "\x1b[38;5;1;8mx", "C1 as UTF-8": C1UTF8, "raw C1": C1Raw,
		"BEL": "a\x07b", "payload": Payload, "error body": ErrorBody, "title with ESC": "\x1b]2;gotune \x1b[2J\x07",
		"DCS": "\x1bPq#0\x1b\\", "CSI": CSI, "CSI 21 t": "\x1b[21t", "media copy": "\x1b[5i",
	} {
		if bad := CheckTerminal([]byte(s)); len(bad) == 0 {
			t.Errorf("%s: %q passed", name, s)
		}
	}
	own := "\x1b[?1049h\x1b[?25l\x1b]11;?\x07\x1b]2;gotune · pid 1 (x\uFFFD]0;PWNED\uFFFD)\x07\x1b[H\x1b[2J" +
		"\x1b[38;5;8mgrey\x1b[48;5;8mbg\x1b[38;2;8;8;8mrgb\x1b[38:5:8mcolon\x1b[1;38;5;208;48;2;1;2;8mmix\x1b[m\r\n\x1b[3A\x1b[10C\x1b7\x1b8 µs 日本 \uFFFD\b\t\x1b[K"
	if bad := CheckTerminal([]byte(own)); len(bad) > 0 {
		t.Errorf("a renderer's own output is flagged: %v", bad)
	}
}

func TestCheckText(t *testing.T) {
	for _, s := range []string{Payload, ErrorBody, "a\x1bb", "\u009b", "\x9b", "a\rb", "\u202e"} {
		if CheckText([]byte(s)) == nil {
			t.Errorf("%q passed", s)
		}
	}
	if err := CheckText([]byte("INJECTED\uFFFD]0;PWNED\uFFFD µs\n\tx")); err != nil {
		t.Error(err)
	}
	if !strings.Contains(Payload, "\x9b") || len(ErrorBody) >= 200 {
		t.Errorf("the payload lost its raw C1 byte, or the error body (%d bytes) is too long to be quoted", len(ErrorBody))
	}
}
