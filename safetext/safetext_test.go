package safetext

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
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

// terminalSafe reports the first byte or rune of b a terminal could act
// on: C0 other than newline and tab, DEL, C1, bidirectional formatting, or
// invalid UTF-8.
func terminalSafe(b []byte) error {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return fmt.Errorf("invalid UTF-8 at %d", i)
		case r < 0x20 && r != '\n' && r != '\t', r == 0x7f, r >= 0x80 && r <= 0x9f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			return fmt.Errorf("%U at %d", r, i)
		}
		i += size
	}
	return nil
}

// JSON written through NewJSONWriter holds no raw control, and decodes to
// the original strings (invalid UTF-8 aside, which JSON cannot carry).
func TestJSONWriter(t *testing.T) {
	valid := strings.ToValidUTF8(hostile, "")
	type doc struct {
		Name  string            `json:"name"`
		Lines []string          `json:"lines"`
		M     map[string]string `json:"m"`
	}
	in := doc{Name: valid, Lines: []string{"a\tb\nc", valid, "héllo µs 日本 \uFFFD"}, M: map[string]string{valid: valid}}
	for _, indent := range []bool{false, true} {
		var out bytes.Buffer
		enc := json.NewEncoder(NewJSONWriter(&out))
		if indent {
			enc.SetIndent("", "\t")
		}
		if err := enc.Encode(in); err != nil {
			t.Fatal(err)
		}
		if err := terminalSafe(out.Bytes()); err != nil {
			t.Errorf("indent %v: %v in %q", indent, err, out.Bytes())
		}
		for _, esc := range []string{`\u001b`, `\u0007`, `\u009b`, `\u202e`, `\u007f`} {
			if !strings.Contains(out.String(), esc) {
				t.Errorf("indent %v: %s is missing from %s", indent, esc, out.Bytes())
			}
		}
		var back doc
		if err := json.Unmarshal(out.Bytes(), &back); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, out.Bytes())
		}
		if back.Name != in.Name || !slices.Equal(back.Lines, in.Lines) || back.M[valid] != valid {
			t.Errorf("the decoded document differs:\n got %q\nwant %q", back, in)
		}
	}
	// Split writes (a rune cut in two) and raw invalid bytes.
	var out bytes.Buffer
	w := NewJSONWriter(&out)
	for _, chunk := range [][]byte{[]byte(`["a\u00`), []byte("e9 \xc2"), []byte("\x9b \xc3"), []byte("\xa9 \x9b\x1b\"]\n")} {
		if _, err := w.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if want := `["a\u00e9 \u009b é \ufffd\u001b"]` + "\n"; out.String() != want {
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
		// JSON of s, written in two halves, is terminal-safe and decodes
		// to what the JSON of s decodes to (invalid bytes are U+FFFD in
		// both).
		enc, _ := json.Marshal(s)
		b.Reset()
		jw := NewJSONWriter(&b)
		jw.Write(enc[:len(enc)/2])
		jw.Write(enc[len(enc)/2:])
		if err := terminalSafe(b.Bytes()); err != nil {
			t.Fatalf("json writer: %v in %q", err, b.Bytes())
		}
		var back, want string
		_ = json.Unmarshal(enc, &want)
		if err := json.Unmarshal(b.Bytes(), &back); err != nil || back != want {
			t.Fatalf("json writer: %q decodes to %q (%v)", s, back, err)
		}
	})
}
