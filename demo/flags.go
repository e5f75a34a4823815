package demo

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
)

// AddFlags registers the workload's flags on fs, bound to c's fields, with
// c's current values as defaults (call it on DefaultConfig()):
//
//	--alloc-rate 200MiB       bytes allocated per second by the request loop (0 = off, "max" = unpaced)
//	--workers 4               request-loop goroutines
//	--cache 64MiB             live heap held by the cache
//	--leak-every 1s           leak one goroutine per interval (0 = off)
//	--mutex-workers 4         goroutines contending on one mutex (0 = off)
//	--cpu-burn 0              extra CPU-bound work, in cores
//	--mutex-profile-fraction 5
//	--block-profile-rate 0
//	--healthy                 every problem off: an idle, healthy process
//	--writes                  live changes through the gotune agent (agent.EnableWrites)
//
// Sizes take a number with an optional unit: B, KiB, MiB, GiB, TiB (powers of
// 1024, as GOMEMLIMIT) or KB, MB, GB, TB (powers of 1000); a trailing "/s" is
// allowed on rates.
func (c *Config) AddFlags(fs *pflag.FlagSet) {
	fs.Var(&rateValue{&c.AllocRate}, "alloc-rate", `bytes the request loop allocates per second, e.g. 200MiB (0 = off, "max" = unpaced)`)
	fs.IntVar(&c.Workers, "workers", c.Workers, "request-loop goroutines sharing --alloc-rate")
	fs.Var(&sizeValue{&c.CacheBytes}, "cache", "live heap held by the cache, e.g. 64MiB")
	fs.DurationVar(&c.LeakEvery, "leak-every", c.LeakEvery, "leak one goroutine per interval (0 = no leak)")
	fs.IntVar(&c.MutexWorkers, "mutex-workers", c.MutexWorkers, "goroutines contending on one mutex (0 = no contention)")
	fs.Float64Var(&c.CPUBurn, "cpu-burn", c.CPUBurn, "extra CPU-bound work in cores, e.g. 1.5 (0 = none)")
	fs.IntVar(&c.MutexProfileFraction, "mutex-profile-fraction", c.MutexProfileFraction, "runtime.SetMutexProfileFraction (0 = leave as is)")
	fs.IntVar(&c.BlockProfileRate, "block-profile-rate", c.BlockProfileRate, "runtime.SetBlockProfileRate in ns (0 = off)")
	fs.BoolVar(&c.Quiet, "healthy", c.Quiet, "turn every problem off: an idle, healthy process")
	fs.BoolVar(&c.Writes, "writes", c.Writes, "let gotune change GOGC, GOMEMLIMIT and GOMAXPROCS live (agent.EnableWrites: token file, leases, journal)")
}

// Args renders c as the flags AddFlags parses, every field explicit, so a
// parent can hand its configuration to a child:
// StartChild(ctx, exe, cfg.Args(), env).
func (c Config) Args() []string {
	return []string{
		"--alloc-rate=" + (&rateValue{&c.AllocRate}).String(),
		"--workers=" + strconv.Itoa(c.Workers),
		"--cache=" + FormatBytes(c.CacheBytes),
		"--leak-every=" + c.LeakEvery.String(),
		"--mutex-workers=" + strconv.Itoa(c.MutexWorkers),
		"--cpu-burn=" + strconv.FormatFloat(c.CPUBurn, 'g', -1, 64),
		"--mutex-profile-fraction=" + strconv.Itoa(c.MutexProfileFraction),
		"--block-profile-rate=" + strconv.Itoa(c.BlockProfileRate),
		"--healthy=" + strconv.FormatBool(c.Quiet),
		"--writes=" + strconv.FormatBool(c.Writes),
	}
}

// sizeValue is a pflag.Value for a byte count written with a unit.
type sizeValue struct{ p *int64 }

func (v *sizeValue) String() string {
	if v.p == nil {
		return "0"
	}
	return FormatBytes(*v.p)
}

func (v *sizeValue) Set(s string) error {
	n, err := ParseBytes(s)
	if err != nil {
		return err
	}
	*v.p = n
	return nil
}

func (v *sizeValue) Type() string { return "size" }

// rateValue is a sizeValue that also accepts "max" (unpaced, stored as -1).
type rateValue struct{ p *int64 }

func (v *rateValue) String() string {
	if v.p != nil && *v.p < 0 {
		return "max"
	}
	return (&sizeValue{v.p}).String()
}

func (v *rateValue) Set(s string) error {
	if t := strings.ToLower(strings.TrimSpace(s)); t == "max" || t == "unlimited" {
		*v.p = -1
		return nil
	}
	return (&sizeValue{v.p}).Set(strings.TrimSuffix(strings.TrimSpace(s), "/s"))
}

func (v *rateValue) Type() string { return "bytes/s" }

var byteUnits = []struct {
	suffix string
	mult   float64
}{
	// Longest suffixes first so "MiB" is not read as "B".
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
	{"b", 1},
}

// ParseBytes parses a byte count such as "64MiB", "1.5GiB", "500KB" or
// "1048576". Units are case-insensitive.
func ParseBytes(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := 1.0
	for _, u := range byteUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("bad size %q: want a number with an optional unit B, KiB, MiB, GiB, TiB, KB, MB, GB or TB", s)
	}
	if f < 0 {
		return 0, fmt.Errorf("bad size %q: must not be negative", s)
	}
	v := f * mult
	if v >= math.MaxInt64 {
		return 0, fmt.Errorf("bad size %q: too large", s)
	}
	return int64(math.Round(v)), nil
}

// FormatBytes writes n with the largest binary unit that divides it exactly
// ("64MiB", "1536KiB", "1000B"), so ParseBytes(FormatBytes(n)) == n.
func FormatBytes(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for n != 0 && n%1024 == 0 && i < len(units)-1 {
		n /= 1024
		i++
	}
	return strconv.FormatInt(n, 10) + units[i]
}
