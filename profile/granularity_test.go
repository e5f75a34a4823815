package profile

import "testing"

// TestParseGranularity: the names gotune's --granularity takes, singular
// and plural (the plural forms are what its help lists).
func TestParseGranularity(t *testing.T) {
	for in, want := range map[string]Granularity{
		"": Functions, "functions": Functions, "function": Functions, "Functions": Functions,
		"files": Files, "file": Files, "lines": Lines, "line": Lines,
		"addresses": Addresses, "address": Addresses, "addr": Addresses, "LINES": Lines,
	} {
		g, err := ParseGranularity(in)
		if err != nil || g != want {
			t.Errorf("ParseGranularity(%q) = %v, %v; want %v", in, g, err, want)
		}
		if err == nil && in != "" && in != "addr" && in != "LINES" {
			if back, _ := ParseGranularity(g.String()); back != g {
				t.Errorf("%v does not read back", g)
			}
		}
	}
	for _, bad := range []string{"lin", "fil", "addres", "stacks"} {
		if _, err := ParseGranularity(bad); err == nil {
			t.Errorf("ParseGranularity(%q) succeeded", bad)
		}
	}
}
