package profile

import "testing"

func TestParseGranularity(t *testing.T) {
	for in, want := range map[string]Granularity{"": Functions, "functions": Functions, "function": Functions,
		"files": Files, "file": Files, "lines": Lines, "line": Lines, "addresses": Addresses, "addr": Addresses, "LINES": Lines} {
		if g, err := ParseGranularity(in); err != nil || g != want {
			t.Errorf("ParseGranularity(%q) = %v, %v; want %v", in, g, err, want)
		}
	}
	if _, err := ParseGranularity("lin"); err == nil {
		t.Error(`ParseGranularity("lin") succeeded`)
	}
}
