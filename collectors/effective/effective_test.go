package effective

import (
	"math"
	"strings"
	"testing"
)

// lv is a live setting value for the tables.
func lv(v float64) *float64 { return &v }

const offGOGC = float64(math.MaxUint64) // /gc/gogc:percent with GOGC=off

func TestExplain(t *testing.T) {
	go126 := "go1.26.8"
	for _, tc := range []struct {
		name    string
		in      Input
		setting string // GOGC, GOMEMLIMIT or GOMAXPROCS
		value   string
		source  Source
		reason  []string // substrings of the reason
	}{
		// GOMAXPROCS
		{"GOMAXPROCS from env", Input{GoVersion: go126, Env: map[string]string{"GOMAXPROCS": "3"}, Live: Live{GOMAXPROCS: lv(3)}, AffinityCPUs: 8, CPUQuota: 2},
			"GOMAXPROCS", "3", FromEnv, []string{"GOMAXPROCS=3 in the environment", "turns off Go's automatic updates"}},
		{"GOMAXPROCS from env, changed later", Input{GoVersion: go126, Env: map[string]string{"GOMAXPROCS": "3"}, Live: Live{GOMAXPROCS: lv(5)}, AffinityCPUs: 8},
			"GOMAXPROCS", "5", ChangedAtRunTime, []string{"environment set 3", "runtime.GOMAXPROCS"}},
		{"GOMAXPROCS from a cgroup quota (Go 1.25+)", Input{GoVersion: "go1.25.0", Env: map[string]string{}, Live: Live{GOMAXPROCS: lv(3)}, AffinityCPUs: 8, CPUQuota: 2.5},
			"GOMAXPROCS", "3", ContainerDefault, []string{"container-aware", "2.5 CPUs rounded up", "gives 3", "fewer than the 8 CPUs"}},
		{"quota below 2 counts as 2", Input{GoVersion: go126, Env: map[string]string{}, Live: Live{GOMAXPROCS: lv(2)}, AffinityCPUs: 8, CPUQuota: 0.5},
			"GOMAXPROCS", "2", ContainerDefault, []string{"0.5 CPUs", "gives 2"}},
		{"affinity 1 beats the floor of 2", Input{GoVersion: go126, Env: map[string]string{}, Live: Live{GOMAXPROCS: lv(1)}, AffinityCPUs: 1, CPUQuota: 0.5},
			"GOMAXPROCS", "1", GoDefault, []string{"the 1 CPU of its affinity mask"}},
		{"containermaxprocs=0 in the build info", Input{GoVersion: go126, DefaultGODEBUG: "containermaxprocs=0,updatemaxprocs=0", Env: map[string]string{}, Live: Live{GOMAXPROCS: lv(8)}, AffinityCPUs: 8, CPUQuota: 2},
			"GOMAXPROCS", "8", GoDefault, []string{"containermaxprocs=0 in the build's DefaultGODEBUG", "without which it would be 2"}},
		{"GODEBUG in the environment overrides DefaultGODEBUG", Input{GoVersion: go126, DefaultGODEBUG: "containermaxprocs=0", Env: map[string]string{"GODEBUG": "containermaxprocs=1"}, Live: Live{GOMAXPROCS: lv(2)}, AffinityCPUs: 8, CPUQuota: 2},
			"GOMAXPROCS", "2", ContainerDefault, nil},
		{"Go 1.24 ignores the quota", Input{GoVersion: "go1.24.5", Env: map[string]string{}, Live: Live{GOMAXPROCS: lv(8)}, AffinityCPUs: 8, CPUQuota: 2},
			"GOMAXPROCS", "8", GoDefault, []string{"go1.24 ignores the cgroup CPU quota of 2 CPUs", "would give 2"}},
		{"automaxprocs dependency", Input{GoVersion: "go1.24.5", Env: map[string]string{}, Deps: []string{AutomaxprocsModule}, Live: Live{GOMAXPROCS: lv(2)}, AffinityCPUs: 8, CPUQuota: 2.7},
			"GOMAXPROCS", "2", Automaxprocs, []string{"set to 2 at start-up by go.uber.org/automaxprocs", "2.7 CPUs rounded down"}},
		{"automaxprocs honours GOMAXPROCS in the env", Input{GoVersion: go126, Env: map[string]string{"GOMAXPROCS": "6"}, Deps: []string{AutomaxprocsModule}, Live: Live{GOMAXPROCS: lv(6)}, AffinityCPUs: 8, CPUQuota: 2.7},
			"GOMAXPROCS", "6", FromEnv, []string{"automaxprocs honours it"}},
		{"automaxprocs without a quota does nothing", Input{GoVersion: go126, Env: map[string]string{}, Deps: []string{AutomaxprocsModule}, Live: Live{GOMAXPROCS: lv(8)}, AffinityCPUs: 8},
			"GOMAXPROCS", "8", GoDefault, []string{"no cgroup CPU quota"}},
		{"GOMAXPROCS changed at run time", Input{GoVersion: go126, Env: map[string]string{}, Live: Live{GOMAXPROCS: lv(3)}, AffinityCPUs: 8},
			"GOMAXPROCS", "3", ChangedAtRunTime, []string{"default here is 8"}},
		{"GOMAXPROCS not measured", Input{GoVersion: go126, Env: map[string]string{}, AffinityCPUs: 4},
			"GOMAXPROCS", "4", GoDefault, []string{"not measured"}},
		{"invalid GOMAXPROCS env is ignored", Input{GoVersion: go126, Env: map[string]string{"GOMAXPROCS": "0"}, Live: Live{GOMAXPROCS: lv(4)}, AffinityCPUs: 4},
			"GOMAXPROCS", "4", GoDefault, []string{`GOMAXPROCS="0" in the environment is not a positive number`}},

		// GOGC
		{"GOGC changed at run time", Input{GoVersion: go126, Env: map[string]string{"GOGC": "100"}, Live: Live{GOGC: lv(50)}},
			"GOGC", "50", ChangedAtRunTime, []string{"GOGC is 50 now but start-up gave 100", "GOGC=100 in the environment", "changed at run time"}},
		{"GOGC off", Input{GoVersion: go126, Env: map[string]string{"GOGC": "off"}, Live: Live{GOGC: lv(offGOGC)}},
			"GOGC", "off", FromEnv, []string{"GOGC=off"}},
		{"GOGC negative is off", Input{GoVersion: go126, Env: map[string]string{"GOGC": "-5"}, Live: Live{GOGC: lv(offGOGC)}},
			"GOGC", "off", FromEnv, nil},
		{"GOGC default", Input{GoVersion: go126, Env: map[string]string{}, Live: Live{GOGC: lv(100)}},
			"GOGC", "100", GoDefault, []string{"Go's default"}},
		{"GOGC garbage means 100", Input{GoVersion: go126, Env: map[string]string{"GOGC": "fast"}, Live: Live{GOGC: lv(100)}},
			"GOGC", "100", GoDefault, []string{`GOGC="fast" in the environment is not a number`}},
		{"GOGC turned off at run time", Input{GoVersion: go126, Env: map[string]string{}, Live: Live{GOGC: lv(offGOGC)}},
			"GOGC", "off", ChangedAtRunTime, nil},
		{"GOGC env unreadable", Input{GoVersion: go126, Live: Live{GOGC: lv(200)}},
			"GOGC", "200", Unknown, []string{"could not be read"}},
		{"GOGC not measured", Input{GoVersion: go126, Env: map[string]string{"GOGC": "400"}},
			"GOGC", "400", FromEnv, []string{"not measured"}},

		// GOMEMLIMIT
		{"GOMEMLIMIT from env", Input{GoVersion: go126, Env: map[string]string{"GOMEMLIMIT": "512MiB"}, Live: Live{GOMEMLIMIT: lv(512 << 20)}},
			"GOMEMLIMIT", "512MiB", FromEnv, []string{"GOMEMLIMIT=512MiB"}},
		{"GOMEMLIMIT in bytes", Input{GoVersion: go126, Env: map[string]string{"GOMEMLIMIT": "1000000000"}, Live: Live{GOMEMLIMIT: lv(1e9)}},
			"GOMEMLIMIT", "1000000000B", FromEnv, nil},
		{"GOMEMLIMIT default", Input{GoVersion: go126, Env: map[string]string{}, Live: Live{GOMEMLIMIT: lv(math.MaxInt64)}},
			"GOMEMLIMIT", "no limit", GoDefault, nil},
		{"GOMEMLIMIT changed at run time", Input{GoVersion: go126, Env: map[string]string{"GOMEMLIMIT": "1GiB"}, Live: Live{GOMEMLIMIT: lv(2 << 30)}},
			"GOMEMLIMIT", "2GiB", ChangedAtRunTime, []string{"start-up gave 1GiB", "debug.SetMemoryLimit"}},
		{"automemlimit dependency", Input{GoVersion: go126, Env: map[string]string{}, Deps: []string{AutomemlimitModule}, MemoryLimit: 1 << 30, Live: Live{GOMEMLIMIT: lv(966367641)}},
			"GOMEMLIMIT", "966367641B", Automemlimit, []string{"automemlimit", "90%", "limit is 1GiB"}},
		{"automemlimit skipped by GOMEMLIMIT env", Input{GoVersion: go126, Env: map[string]string{"GOMEMLIMIT": "off"}, Deps: []string{AutomemlimitModule}, Live: Live{GOMEMLIMIT: lv(math.MaxInt64)}},
			"GOMEMLIMIT", "no limit", FromEnv, nil},
		{"automemlimit found no limit", Input{GoVersion: go126, Env: map[string]string{}, Deps: []string{AutomemlimitModule}, Live: Live{GOMEMLIMIT: lv(math.MaxInt64)}},
			"GOMEMLIMIT", "no limit", GoDefault, []string{"set no limit"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := Explain(tc.in)
			var s Setting
			switch tc.setting {
			case "GOGC":
				s = e.GOGC
			case "GOMEMLIMIT":
				s = e.GOMEMLIMIT
			case "GOMAXPROCS":
				s = e.GOMAXPROCS
			}
			if s.Name != tc.setting || s.Value != tc.value || s.Source != tc.source {
				t.Errorf("%s = %q from %q; want %q from %q\nreason: %s", tc.setting, s.Value, s.Source, tc.value, tc.source, s.Reason)
			}
			for _, want := range tc.reason {
				if !strings.Contains(s.Reason, want) {
					t.Errorf("reason %q lacks %q", s.Reason, want)
				}
			}
			if strings.Count(s.Reason, ". ") > 0 || s.Reason == "" {
				t.Errorf("reason is not one sentence: %q", s.Reason)
			}
		})
	}
}

func TestDefaultGOMAXPROCS(t *testing.T) {
	// Cases of runtime/cgroup_linux.go adjustCgroupGOMAXPROCS.
	for _, tc := range []struct {
		affinity int
		quota    float64
		aware    bool
		want     int
		limited  bool
	}{
		{8, 0, true, 8, false},
		{8, 2, true, 2, true},
		{8, 2.1, true, 3, true},
		{8, 0.2, true, 2, true},
		{1, 0.2, true, 1, false},
		{2, 0.5, true, 2, false},
		{8, 16, true, 8, false},
		{8, 2, false, 8, false},
		{0, 0, true, 1, false},
	} {
		got, limited := DefaultGOMAXPROCS(tc.affinity, tc.quota, tc.aware)
		if got != tc.want || limited != tc.limited {
			t.Errorf("DefaultGOMAXPROCS(%d, %v, %v) = %d, %v; want %d, %v", tc.affinity, tc.quota, tc.aware, got, limited, tc.want, tc.limited)
		}
	}
}

func FuzzParseByteCount(f *testing.F) {
	for _, s := range []string{"512MiB", "1", "off", "1TiB", "+0B"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := ParseByteCount(s)
		if ok && n < 0 {
			t.Fatalf("ParseByteCount(%q) = %d", s, n)
		}
		if ok && n != math.MaxInt64 && n >= 0 {
			// What FormatLimit prints parses back to the same figure.
			if m, ok := ParseByteCount(FormatLimit(n)); !ok || m != n {
				t.Fatalf("FormatLimit(%d) = %q parses as %d, %v", n, FormatLimit(n), m, ok)
			}
		}
	})
}

func TestParseByteCount(t *testing.T) {
	// runtime/string.go parseByteCount accepts ^[0-9]+(([KMGT]i)?B)?$.
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"1024", 1024, true}, {"1024B", 1024, true}, {"1KiB", 1024, true},
		{"3MiB", 3 << 20, true}, {"2GiB", 2 << 30, true}, {"1TiB", 1 << 40, true},
		{"1KB", 0, false}, {"1k", 0, false}, {"-1", 0, false}, {"+1", 1, true}, {"B", 0, false}, {"", 0, false},
		{"1iB", 0, false}, {"9999999999TiB", 0, false}, {"8388607TiB", 8388607 << 40, true},
	} {
		got, ok := ParseByteCount(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseByteCount(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
