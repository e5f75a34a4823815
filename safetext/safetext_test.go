package safetext

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

// hostile carries the sequences an attacker would use: OSC 0 and 2
// (titles), OSC 8 (a link), OSC 52 (a clipboard write), CSI and SGR
// (including conceal), a raw 8-bit C1 CSI, U+009B as UTF-8, a BEL and a
// right-to-left override.
const hostile = "a\x1b]0;pwned\x07b\x1b]2;t\x1b\\c\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\" +
	"\x1b]52;c;ZWNobyBoaQ==\x07\x1b[2J\x1b[8mhidden\x1b[0m\x9b31m\u009b1m\u202eevil\x7f"

func TestLineAndText(t *testing.T) {
	for _, f := range []func(string) string{Line, Text} {
		got := f(hostile)
		for _, bad := range []string{"\x1b", "\x07", "\x9b", "\u009b", "\u202e", "\x7f"} {
			if strings.Contains(got, bad) {
				t.Errorf("%q still holds %q", got, bad)
			}
		}
		if !utf8.ValidString(got) {
			t.Errorf("%q is not valid UTF-8", got)
		}
		if !strings.Contains(got, "pwned") || !strings.Contains(got, "hidden") {
			t.Errorf("%q lost the printable text (it must stay visible, inert)", got)
		}
	}
	if got := Line("a\tb\nc"); got != "a\uFFFDb\uFFFDc" {
		t.Errorf("Line kept a tab or newline: %q", got)
	}
	if got := Text("a\tb\nc"); got != "a\tb\nc" {
		t.Errorf("Text changed a tab or newline: %q", got)
	}
	for _, s := range []string{"", "main.(*Server).Serve", "héllo µs 日本", "runtime.gopark"} {
		if Line(s) != s {
			t.Errorf("clean text %q changed to %q", s, Line(s))
		}
	}
}

func TestWriter(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out)
	// An escape sequence, a C1 CSI and BEL among normal text; "é" and "µ"
	// split across writes must survive.
	for _, chunk := range [][]byte{[]byte("a\x1b]0;x\x07b\tc\n"), []byte("\u009b2J d "), {0xc3}, {0xa9, ' ', 0xc2}, {0xb5, 's', '\n'}} {
		if _, err := w.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	want := "a\uFFFD]0;x\uFFFDb\tc\n\uFFFD2J d é µs\n"
	if out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

func FuzzSafe(f *testing.F) {
	f.Add(hostile)
	f.Add("plain")
	f.Add("\xc3")
	f.Fuzz(func(t *testing.T, s string) {
		for _, got := range []string{Line(s), Text(s)} {
			if !utf8.ValidString(got) {
				t.Fatalf("invalid UTF-8 out of %q: %q", s, got)
			}
			for _, r := range got {
				if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f || r >= 0x80 && r <= 0x9f || r >= 0x202a && r <= 0x202e {
					t.Fatalf("unsafe %U out of %q", r, s)
				}
			}
		}
		if strings.ContainsAny(Line(s), "\n\t") {
			t.Fatalf("Line kept a newline or tab: %q", s)
		}
		var b bytes.Buffer
		w := NewWriter(&b)
		w.Write([]byte(s[:len(s)/2]))
		w.Write([]byte(s[len(s)/2:]))
		if got := b.String(); !utf8.ValidString(got) || strings.ContainsRune(got, '\x1b') {
			t.Fatalf("writer: %q → %q", s, got)
		}
	})
}
