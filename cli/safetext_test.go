package cli

import (
	"bytes"
	"testing"
)

func TestTerminalSafe(t *testing.T) {
	var out bytes.Buffer
	w := terminalSafe(&out)
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
