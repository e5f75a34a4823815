package advisor

import "testing"

// The commands in actions name the target as gotune takes it, quoted for a
// shell when it has to be.
func TestActionTargetArg(t *testing.T) {
	for _, c := range []struct{ target, want string }{
		{"", "TARGET"},
		{"15885", "15885"},
		{"http://127.0.0.1:2019", "http://127.0.0.1:2019"},
		{"http://[::1]:6060", "http://[::1]:6060"},
		{"http://h:1/x?a=b&c=d", "'http://h:1/x?a=b&c=d'"},
		{"http://h:1/it's", `'http://h:1/it'\''s'`},
	} {
		ch := newCheck(Input{Target: c.target}, Config{}.withDefaults())
		if got := ch.arg(); got != c.want {
			t.Errorf("arg(%q) = %s, want %s", c.target, got, c.want)
		}
	}
}

// A noisy window (a process at rest: one GC in a while) widens a range
// past its value; the range starts at 0, never below (seen on caddy at
// rest: "GC/s -0.54–2.65").
func TestAroundNeverNegative(t *testing.T) {
	e := around(1.05, 1.5)
	if e.Low != 0 || e.High != 1.05*2.5 || e.Value != 1.05 {
		t.Errorf("around(1.05, 1.5) = %+v, want Low 0, High 2.625", e)
	}
	if e := around(2, 0.25); e.Low != 1.5 || e.High != 2.5 {
		t.Errorf("around(2, 0.25) = %+v", e)
	}
}
