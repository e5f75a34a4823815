package demo

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestParseBytes(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  string
	}{
		{"0", 0, ""},
		{"1048576", 1 << 20, ""},
		{"200MiB", 200 << 20, ""},
		{"64mib", 64 << 20, ""},
		{"1.5GiB", 3 << 29, ""},
		{"512KiB", 512 << 10, ""},
		{"500KB", 500_000, ""},
		{"2GB", 2_000_000_000, ""},
		{"1TiB", 1 << 40, ""},
		{"42B", 42, ""},
		{" 8 MiB ", 8 << 20, ""},
		{"", 0, "bad size"},
		{"MiB", 0, "bad size"},
		{"12XB", 0, "bad size"},
		{"-1MiB", 0, "negative"},
		{"NaN", 0, "bad size"},
		{"1e30GiB", 0, "too large"},
	}
	for _, tt := range tests {
		got, err := ParseBytes(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseBytes(%q) = %d, %v; want error containing %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestFormatBytesRoundTrips(t *testing.T) {
	for _, n := range []int64{0, 1, 1000, 1024, 1536 << 10, 64 << 20, 200 << 20, 3 << 30, 1<<40 + 1} {
		s := FormatBytes(n)
		got, err := ParseBytes(s)
		if err != nil || got != n {
			t.Errorf("ParseBytes(FormatBytes(%d) = %q) = %d, %v", n, s, got, err)
		}
	}
	if got := FormatBytes(200 << 20); got != "200MiB" {
		t.Errorf("FormatBytes(200 MiB) = %q, want 200MiB", got)
	}
}

func TestAddFlags(t *testing.T) {
	tests := []struct {
		args []string
		want func(*Config)
	}{
		{nil, func(*Config) {}},
		{[]string{"--alloc-rate", "50MiB/s", "--cache=1GiB", "--workers", "8"}, func(c *Config) {
			c.AllocRate, c.CacheBytes, c.Workers = 50<<20, 1<<30, 8
		}},
		{[]string{"--alloc-rate", "max"}, func(c *Config) { c.AllocRate = -1 }},
		{[]string{"--alloc-rate", "0", "--leak-every", "0", "--mutex-workers", "0"}, func(c *Config) {
			c.AllocRate, c.LeakEvery, c.MutexWorkers = 0, 0, 0
		}},
		{[]string{"--leak-every", "250ms", "--cpu-burn", "1.5", "--mutex-profile-fraction", "1", "--block-profile-rate", "1000"}, func(c *Config) {
			c.LeakEvery, c.CPUBurn, c.MutexProfileFraction, c.BlockProfileRate = 250*time.Millisecond, 1.5, 1, 1000
		}},
		{[]string{"--healthy"}, func(c *Config) { c.Quiet = true }},
		{[]string{"--writes"}, func(c *Config) { c.Writes = true }},
	}
	for _, tt := range tests {
		got := DefaultConfig()
		fs := pflag.NewFlagSet("demo", pflag.ContinueOnError)
		got.AddFlags(fs)
		if err := fs.Parse(tt.args); err != nil {
			t.Fatalf("Parse(%q): %v", tt.args, err)
		}
		want := DefaultConfig()
		tt.want(&want)
		if got != want {
			t.Errorf("Parse(%q):\n got %+v\nwant %+v", tt.args, got, want)
		}
	}

	c := DefaultConfig()
	fs := pflag.NewFlagSet("demo", pflag.ContinueOnError)
	c.AddFlags(fs)
	if d := fs.Lookup("alloc-rate").DefValue; d != "200MiB" {
		t.Errorf("--alloc-rate default shows as %q, want 200MiB", d)
	}
	if d := fs.Lookup("cache").DefValue; d != "64MiB" {
		t.Errorf("--cache default shows as %q, want 64MiB", d)
	}
	if err := fs.Parse([]string{"--cache", "lots"}); err == nil || !strings.Contains(err.Error(), "bad size") {
		t.Errorf("--cache lots: err = %v, want a bad size error", err)
	}
}

func TestValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v", err)
	}
	tests := []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.Workers = 0 }, "workers must be at least 1"},
		{func(c *Config) { c.CacheBytes = -1 }, "cache size"},
		{func(c *Config) { c.LeakEvery = -time.Second }, "leak interval"},
		{func(c *Config) { c.MutexWorkers = -2 }, "mutex workers"},
		{func(c *Config) { c.CPUBurn = -0.5 }, "cpu burn"},
	}
	for _, tt := range tests {
		c := DefaultConfig()
		tt.mod(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate() = %v, want error containing %q", err, tt.want)
		}
	}
	c := DefaultConfig()
	c.AllocRate, c.Workers = 0, 0 // no request loop: no workers needed
	if err := c.Validate(); err != nil {
		t.Errorf("Validate() with the request loop off and 0 workers = %v, want nil", err)
	}
}

func TestQuietTurnsProblemsOff(t *testing.T) {
	c := DefaultConfig()
	c.Quiet = true
	c.CPUBurn = 2
	got := c.effective()
	if got.LeakEvery != 0 || got.MutexWorkers != 0 || got.CPUBurn != 0 || got.Workers != 1 || got.AllocRate != HealthyAllocRate {
		t.Errorf("effective() of a Quiet config = %+v, want no leak, no mutex workers, no burn, 1 worker at %d B/s", got, HealthyAllocRate)
	}
	if got.CacheBytes != c.CacheBytes {
		t.Errorf("Quiet changed the cache size to %d, want %d", got.CacheBytes, c.CacheBytes)
	}
}

func TestArgsRoundTrip(t *testing.T) {
	configs := []Config{
		DefaultConfig(),
		{},
		{AllocRate: -1, Workers: 3, CacheBytes: 1000, LeakEvery: 1500 * time.Millisecond, MutexWorkers: 1, CPUBurn: 0.25, MutexProfileFraction: 1, BlockProfileRate: 10000, Quiet: true, Writes: true},
	}
	for _, want := range configs {
		got := Config{Workers: 99, CacheBytes: 99} // not the defaults: every flag must be explicit
		fs := pflag.NewFlagSet("demo", pflag.ContinueOnError)
		got.AddFlags(fs)
		if err := fs.Parse(want.Args()); err != nil {
			t.Fatalf("Parse(%q): %v", want.Args(), err)
		}
		if got != want {
			t.Errorf("Parse(%q):\n got %+v\nwant %+v", want.Args(), got, want)
		}
	}
}
