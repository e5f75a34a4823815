package themes

import (
	"strings"
	"testing"
)

func TestChoose(t *testing.T) {
	cases := []struct {
		requested       string
		noColor, isDark bool
		want            string
	}{
		{"", false, true, Dark},
		{Auto, false, false, Light},
		{Light, false, true, Light},
		{HighContrast, false, false, HighContrast},
		{Dark, true, true, Mono}, // NO_COLOR wins over --theme
		{"nonsense", false, true, Dark},
	}
	for _, c := range cases {
		if got := Choose(c.requested, c.noColor, c.isDark).Name; got != c.want {
			t.Errorf("Choose(%q, noColor=%v, dark=%v) = %s, want %s", c.requested, c.noColor, c.isDark, got, c.want)
		}
	}
	if Valid("nonsense") || !Valid(Auto) || !Valid(Mono) {
		t.Error("Valid accepts the wrong names")
	}
}

// TestMonoHasNoColour: the monochrome theme uses attributes only, so
// NO_COLOR terminals get no colour escapes (38;/48; sequences).
func TestMonoHasNoColour(t *testing.T) {
	m, _ := New(Mono)
	for _, p := range []Paint{m.Text, m.Title, m.Selected, m.Match, m.Crit, m.Warn, m.TabActive, m.Flame[0], m.FlameSelected} {
		if s := p.S("x"); strings.Contains(s, "38;") || strings.Contains(s, "48;") {
			t.Errorf("mono paint has a colour: %q", s)
		}
	}
	if s := m.Selected.S("x"); s == "x" {
		t.Error("mono selection is invisible: no attribute")
	}
	d, _ := New(Dark)
	if s := d.Crit.S("x"); !strings.Contains(s, "38;") {
		t.Errorf("dark crit has no colour: %q", s)
	}
}
