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
