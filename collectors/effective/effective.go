// Package effective explains a Go process's GOGC, GOMEMLIMIT and GOMAXPROCS:
// the value in force now and why it is that value — set in the environment,
// Go's default (container-aware since Go 1.25), set at start-up by
// automaxprocs or automemlimit, or changed at run time.
//
// It is pure: Explain takes what the collectors read (the GO* environment
// from /proc/PID/environ, the build info, live runtime/metrics values, the
// CPU affinity count and the cgroup limits as plain numbers) and does no I/O,
// so every rule is a table test. The rules follow the Go runtime's source,
// cited next to each.
package effective

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Source says where a setting's value comes from.
type Source string

const (
	FromEnv          Source = "env"               // GOGC / GOMEMLIMIT / GOMAXPROCS in the environment at exec
	GoDefault        Source = "default"           // Go's built-in default
	ContainerDefault Source = "container-default" // Go ≥1.25 default lowered by the cgroup CPU quota
	Automaxprocs     Source = "automaxprocs"      // go.uber.org/automaxprocs at start-up
	Automemlimit     Source = "automemlimit"      // github.com/KimMachineGun/automemlimit at start-up
	ChangedAtRunTime Source = "runtime-change"    // the live value differs from what start-up gave
	Unknown          Source = "unknown"
)

// Module paths of the start-up tuners.
const (
	AutomaxprocsModule = "go.uber.org/automaxprocs"
	AutomemlimitModule = "github.com/KimMachineGun/automemlimit"
)

// Input is what is known about the process. Zero values mean "unknown"
// where noted.
type Input struct {
	// Env is the GO* environment at exec (/proc/PID/environ, filtered); nil
	// when it could not be read. GODEBUG in it overrides DefaultGODEBUG.
	Env map[string]string
	// Remote says the process was reached over HTTP only, so its
	// environment was never in reach (rather than unreadable).
	Remote bool
	// GoVersion is the build info's Go version ("go1.26.8"); "" if unknown.
	GoVersion string
	// DefaultGODEBUG is the build info setting of that name: the GODEBUG
	// defaults implied by the main module's go.mod and //go:debug lines.
	DefaultGODEBUG string
	// Deps are the module paths the binary links.
	Deps []string
	// Live are the settings as the runtime reports them now.
	Live Live
	// AffinityCPUs is the number of CPUs in the main thread's affinity mask
	// (sched_getaffinity); 0 when unknown.
	AffinityCPUs int
	// CPUQuota is the leaf cgroup's CPU limit in CPUs (quota / period; Go
	// reads only the leaf, runtime/cgroup_linux.go): 0 for no quota,
	// negative when unknown.
	CPUQuota float64
	// MemoryLimit is the cgroup memory limit in bytes (what automemlimit
	// reads); 0 for none or unknown.
	MemoryLimit uint64
}

// Setting is one explained setting.
type Setting struct {
	Name   string `json:"name"`  // "GOGC", "GOMEMLIMIT", "GOMAXPROCS"
	Value  string `json:"value"` // "100", "off", "no limit", "512MiB", "4"; "?" when unknown
	Live   bool   `json:"live"`  // Value was measured now, not inferred
	Source Source `json:"source"`
	Reason string `json:"reason"` // one sentence
	// Env is the environment's value, when set.
	Env string `json:"env,omitempty"`
}

// Explanation holds the three settings.
type Explanation struct {
	GOGC       Setting `json:"gogc"`
	GOMEMLIMIT Setting `json:"gomemlimit"`
	GOMAXPROCS Setting `json:"gomaxprocs"`
}

// Settings returns the three settings in display order.
func (e Explanation) Settings() []Setting { return []Setting{e.GOGC, e.GOMEMLIMIT, e.GOMAXPROCS} }

// Explain explains the three settings.
func Explain(in Input) Explanation {
	return Explanation{GOGC: explainGOGC(in), GOMEMLIMIT: explainGOMEMLIMIT(in), GOMAXPROCS: explainGOMAXPROCS(in)}
}

// envUnknown says why the environment is not known.
func (in Input) envUnknown() string {
	if in.Remote {
		return "the process was reached over HTTP, where its environment is not visible (attach by PID to read it)"
	}
	return "its environment could not be read"
}

func (in Input) env(name string) (string, bool) {
	v, ok := in.Env[name]
	return v, ok
}

// Live holds the three settings as the runtime reports them now, from
// runtime/metrics /gc/gogc:percent, /gc/gomemlimit:bytes and
// /sched/gomaxprocs:threads (or the same figures from another source). A
// nil field was not measured.
type Live struct {
	GOGC, GOMEMLIMIT, GOMAXPROCS *float64
}

// LiveValue returns a pointer to v, for filling Live; NaN is "not
// measured" (nil).
func LiveValue(v float64, ok bool) *float64 {
	if !ok || math.IsNaN(v) {
		return nil
	}
	return &v
}

func live(v *float64) (float64, bool) {
	if v == nil || math.IsNaN(*v) {
		return 0, false
	}
	return *v, true
}

func (in Input) hasDep(path string) bool { return slices.Contains(in.Deps, path) }

const runtimeChangers = "debug.SetGCPercent in the program, gops setgc or the gotune agent"

// --- GOGC --------------------------------------------------------------

// readGOGC mirrors runtime/mgcpacer.go readGOGC: "off" is -1, a decimal
// int32 is taken as is, anything else (including "") is 100; and
// gcControllerState.setGCPercent stores every negative value as -1 (off).
func readGOGC(s string) (v int64, valid bool) {
	if s == "off" {
		return -1, true
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 100, false
	}
	return max(n, -1), true
}

// liveGOGC reads /gc/gogc:percent: the runtime stores gcPercent as an int32
// and the metric converts it to uint64, so off (-1) reads as MaxUint64
// (runtime/metrics.go, "/gc/gogc:percent"; PINS.md).
func liveGOGC(v float64) int64 {
	if v >= 1<<63 || v < 0 {
		return -1
	}
	return int64(v)
}

func gogcString(v int64) string {
	if v < 0 {
		return "off"
	}
	return strconv.FormatInt(v, 10)
}

func explainGOGC(in Input) Setting {
	s := Setting{Name: "GOGC"}
	raw, envSet := in.env("GOGC")
	if envSet {
		s.Env = raw
	}
	lv, hasLive := live(in.Live.GOGC)
	now := liveGOGC(lv)

	start, valid := readGOGC(raw)
	switch {
	case in.Env == nil && hasLive:
		s.Value, s.Live, s.Source = gogcString(now), true, Unknown
		s.Reason = fmt.Sprintf("GOGC is %s now; %s, so whether that is Go's default (100), the environment or a run-time change is unknown", gogcString(now), in.envUnknown())
		return s
	case in.Env == nil:
		s.Value, s.Source = "?", Unknown
		s.Reason = "neither the environment nor /gc/gogc:percent could be read (the metrics source lacks it: use the gotune agent or Prometheus with runtime metrics)"
		return s
	}

	var why string
	src := GoDefault
	switch {
	case envSet && valid:
		src = FromEnv
		why = fmt.Sprintf("set by GOGC=%s in the environment", raw)
	case envSet:
		why = fmt.Sprintf("GOGC=%q in the environment is not a number, so the runtime used its default of 100", raw)
	default:
		why = "Go's default (GOGC unset)"
	}
	switch {
	case !hasLive:
		s.Value, s.Source = gogcString(start), src
		s.Reason = why + "; not measured now (the metrics source lacks /gc/gogc:percent), so a run-time change would not show"
	case now != start:
		s.Value, s.Live, s.Source = gogcString(now), true, ChangedAtRunTime
		s.Reason = fmt.Sprintf("GOGC is %s now but start-up gave %s (%s): changed at run time by %s", gogcString(now), gogcString(start), why, runtimeChangers)
	default:
		s.Value, s.Live, s.Source = gogcString(now), true, src
		s.Reason = why
	}
	return s
}

// --- GOMEMLIMIT ----------------------------------------------------------

// readGOMEMLIMIT mirrors runtime/mgcpacer.go readGOMEMLIMIT: "" and "off"
// mean no limit (math.MaxInt64); otherwise runtime/string.go parseByteCount
// (digits with an optional B, KiB, MiB, GiB or TiB suffix). A malformed
// value makes the runtime throw at start, so a running process never has one.
func readGOMEMLIMIT(s string) (int64, bool) {
	if s == "" || s == "off" {
		return math.MaxInt64, true
	}
	return ParseByteCount(s)
}

// ParseByteCount reads a GOMEMLIMIT-style byte count: digits with an
// optional B, KiB, MiB, GiB or TiB suffix, as the runtime accepts them.
func ParseByteCount(s string) (int64, bool) {
	mult := int64(1)
	num := s
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"B", 1}} {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			num, mult = n, u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return 0, false // the runtime's overflow check rejects too
	}
	return n * mult, true
}

// liveLimit reads /gc/gomemlimit:bytes, where math.MaxInt64 means no limit.
func liveLimit(v float64) int64 {
	if v >= math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(v)
}

// FormatLimit prints a memory limit the way GOMEMLIMIT accepts it, or "no
// limit".
func FormatLimit(n int64) string {
	switch {
	case n == math.MaxInt64:
		return "no limit"
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

func explainGOMEMLIMIT(in Input) Setting {
	s := Setting{Name: "GOMEMLIMIT"}
	raw, envSet := in.env("GOMEMLIMIT")
	if envSet {
		s.Env = raw
	}
	lv, hasLive := live(in.Live.GOMEMLIMIT)
	now := liveLimit(lv)
	if in.Env == nil {
		if hasLive {
			s.Value, s.Live, s.Source = FormatLimit(now), true, Unknown
			s.Reason = fmt.Sprintf("the memory limit is %s now; %s, so where it comes from is unknown", FormatLimit(now), in.envUnknown())
		} else {
			s.Value, s.Source = "?", Unknown
			s.Reason = "neither the environment nor /gc/gomemlimit:bytes could be read"
		}
		return s
	}
	start, valid := readGOMEMLIMIT(raw)
	// automemlimit does nothing when GOMEMLIMIT exists in the environment,
	// even empty (memlimit.SetGoMemLimitWithOpts: os.LookupEnv).
	tuner := in.hasDep(AutomemlimitModule) && !envSet

	var why string
	src := GoDefault
	switch {
	case envSet && !valid:
		s.Value, s.Source = "?", Unknown
		if hasLive {
			s.Value, s.Live = FormatLimit(now), true
		}
		s.Reason = fmt.Sprintf("GOMEMLIMIT=%q in the environment is malformed, which makes Go refuse to start; the environment may have been read from another process", raw)
		return s
	case envSet && start == math.MaxInt64:
		src, why = FromEnv, fmt.Sprintf("no limit: GOMEMLIMIT=%s in the environment", raw)
	case envSet:
		src, why = FromEnv, fmt.Sprintf("set by GOMEMLIMIT=%s in the environment", raw)
	case tuner:
		src = Automemlimit
		why = "set at start-up by " + AutomemlimitModule + " (by default 90% of the cgroup memory limit; AUTOMEMLIMIT may change the ratio or turn it off)"
		if in.MemoryLimit > 0 {
			why += fmt.Sprintf("; the cgroup memory limit is %s", FormatLimit(int64(min(in.MemoryLimit, math.MaxInt64))))
		}
	default:
		why = "Go's default: no memory limit (GOMEMLIMIT unset)"
	}
	switch {
	case !hasLive && tuner:
		s.Value, s.Source = "?", Automemlimit
		s.Reason = why + "; the value is not measured (the metrics source lacks /gc/gomemlimit:bytes)"
	case !hasLive:
		s.Value, s.Source = FormatLimit(start), src
		s.Reason = why + "; not measured now (the metrics source lacks /gc/gomemlimit:bytes), so a run-time change would not show"
	case tuner && now == math.MaxInt64:
		s.Value, s.Live, s.Source = FormatLimit(now), true, GoDefault
		s.Reason = AutomemlimitModule + " is linked but set no limit (no cgroup memory limit found, or AUTOMEMLIMIT=off): Go's default, no limit"
	case tuner:
		s.Value, s.Live, s.Source = FormatLimit(now), true, Automemlimit
		s.Reason = why
	case now != start:
		s.Value, s.Live, s.Source = FormatLimit(now), true, ChangedAtRunTime
		s.Reason = fmt.Sprintf("the limit is %s now but start-up gave %s (%s): changed at run time by debug.SetMemoryLimit in the program or the gotune agent", FormatLimit(now), FormatLimit(start), why)
	default:
		s.Value, s.Live, s.Source = FormatLimit(now), true, src
		s.Reason = why
	}
	return s
}

// --- GOMAXPROCS ----------------------------------------------------------

var goVersionRE = regexp.MustCompile(`go1\.(\d+)`)

// goMinor returns the minor version of "go1.25.3" (25); 0 when unknown.
func goMinor(v string) int {
	m := goVersionRE.FindStringSubmatch(v)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// godebug returns the effective value of a GODEBUG key and where it came
// from: the GODEBUG environment variable overrides the binary's
// DefaultGODEBUG (internal/godebug; https://go.dev/doc/godebug). Later
// entries of a list win.
func (in Input) godebug(key string) (val, from string) {
	look := func(list string) (string, bool) {
		v, found := "", false
		for kv := range strings.SplitSeq(list, ",") {
			k, x, ok := strings.Cut(strings.TrimSpace(kv), "=")
			if ok && k == key {
				v, found = x, true
			}
		}
		return v, found
	}
	if env, ok := in.env("GODEBUG"); ok {
		if v, ok := look(env); ok {
			return v, "GODEBUG in the environment"
		}
	}
	if v, ok := look(in.DefaultGODEBUG); ok {
		return v, "the build's DefaultGODEBUG (its go.mod says go 1.24 or older, or a //go:debug line)"
	}
	return "", ""
}

// DefaultGOMAXPROCS computes Go's default GOMAXPROCS, as
// runtime/cgroup_linux.go defaultGOMAXPROCS and adjustCgroupGOMAXPROCS do
// since Go 1.25: the CPUs in the affinity mask (runtime/os_linux.go
// getCPUCount, sched_getaffinity), lowered to the leaf cgroup's CPU limit
// (quota/period) rounded up and raised to at least 2 — so a quota never
// takes GOMAXPROCS below 2, but an affinity of 1 CPU still gives 1. With
// containerAware false (Go < 1.25, or containermaxprocs=0) the quota is
// ignored. limited reports whether the quota lowered the figure.
func DefaultGOMAXPROCS(affinity int, quota float64, containerAware bool) (procs int, limited bool) {
	procs = max(affinity, 1) // getCPUCount returns at least 1
	if !containerAware || quota <= 0 {
		return procs, false
	}
	limit := max(int(math.Ceil(quota)), 2)
	if limit < procs {
		return limit, true
	}
	return procs, false
}

func explainGOMAXPROCS(in Input) Setting {
	s := Setting{Name: "GOMAXPROCS"}
	raw, envSet := in.env("GOMAXPROCS")
	if envSet {
		s.Env = raw
	}
	lv, hasLive := live(in.Live.GOMAXPROCS)
	now := int(lv)
	minor := goMinor(in.GoVersion)
	go125 := minor >= 25

	// runtime/proc.go schedinit: a positive decimal int32 in GOMAXPROCS is
	// used as is (sched.customGOMAXPROCS, no automatic updates).
	envN, err := strconv.ParseInt(raw, 10, 32)
	envValid := envSet && err == nil && envN > 0

	if envValid {
		s.Source, s.Value = FromEnv, raw
		why := fmt.Sprintf("set by GOMAXPROCS=%s in the environment", raw)
		if go125 {
			why += ", which also turns off Go's automatic updates"
		}
		if in.hasDep(AutomaxprocsModule) {
			why += " (automaxprocs honours it and does nothing)"
		}
		switch {
		case !hasLive:
			s.Reason = why + "; not measured now"
		case int64(now) != envN:
			s.Value, s.Live, s.Source = strconv.Itoa(now), true, ChangedAtRunTime
			s.Reason = fmt.Sprintf("GOMAXPROCS is %d now but the environment set %s at start: changed at run time by runtime.GOMAXPROCS in the program or the gotune agent", now, raw)
		default:
			s.Live = true
			s.Reason = why
		}
		return s
	}

	cmp, cmpFrom := in.godebug("containermaxprocs")
	upd, _ := in.godebug("updatemaxprocs")
	containerAware := go125 && cmp != "0"
	updates := go125 && upd != "0"

	quotaKnown := in.CPUQuota >= 0
	var def int
	var limited bool
	var defWhy string
	if in.AffinityCPUs > 0 && quotaKnown && minor > 0 {
		def, limited = DefaultGOMAXPROCS(in.AffinityCPUs, in.CPUQuota, containerAware)
		defWhy = defaultReason(in, def, limited, containerAware, cmpFrom, minor, updates)
	}

	// automaxprocs sets floor(quota), at least 1, unless GOMAXPROCS exists
	// in the environment, even empty (maxprocs.Set: os.LookupEnv;
	// internal/runtime CPUQuotaToGOMAXPROCS: math.Floor, Min(1)).
	if in.hasDep(AutomaxprocsModule) && !envSet && in.Env != nil {
		if in.CPUQuota > 0 {
			amp := max(int(math.Floor(in.CPUQuota)), 1)
			if !hasLive || now == amp {
				s.Source, s.Value, s.Live = Automaxprocs, strconv.Itoa(amp), hasLive
				s.Reason = fmt.Sprintf("set to %d at start-up by %s: the CPU quota of %s rounded down, at least 1", amp, AutomaxprocsModule, fmtCPUs(in.CPUQuota))
				if go125 {
					s.Reason += "; this turns off Go's own container-aware default and its automatic updates"
				}
				return s
			}
		} else if !quotaKnown && hasLive && (def == 0 || now != def) {
			s.Source, s.Value, s.Live = Automaxprocs, strconv.Itoa(now), true
			s.Reason = fmt.Sprintf("GOMAXPROCS is %d now; %s is linked and most likely set it from the CPU quota at start-up (the quota could not be read to confirm)", now, AutomaxprocsModule)
			return s
		}
	}

	switch {
	case def == 0 && hasLive:
		s.Value, s.Live, s.Source = strconv.Itoa(now), true, Unknown
		s.Reason = fmt.Sprintf("GOMAXPROCS is %d now; Go's default here cannot be computed (the CPU affinity, cgroup CPU quota or Go version is unknown)", now)
	case def == 0:
		s.Value, s.Source = "?", Unknown
		s.Reason = "not measured, and Go's default cannot be computed (the CPU affinity, cgroup CPU quota or Go version is unknown)"
	case !hasLive:
		s.Value, s.Source = strconv.Itoa(def), sourceOf(limited)
		s.Reason = defWhy + "; not measured now (the metrics source lacks GOMAXPROCS)"
	case now == def:
		s.Value, s.Live, s.Source = strconv.Itoa(now), true, sourceOf(limited)
		s.Reason = defWhy
	default:
		s.Value, s.Live, s.Source = strconv.Itoa(now), true, ChangedAtRunTime
		s.Reason = fmt.Sprintf("GOMAXPROCS is %d now but Go's default here is %d: changed at run time by runtime.GOMAXPROCS in the program or the gotune agent", now, def)
		if !updates {
			s.Reason += ", or the CPU affinity or quota changed since start-up and this process does not follow such changes"
		}
	}
	if envSet {
		s.Env = raw
		s.Reason += fmt.Sprintf(" (GOMAXPROCS=%q in the environment is not a positive number, so Go ignored it)", raw)
	}
	return s
}

func sourceOf(limited bool) Source {
	if limited {
		return ContainerDefault
	}
	return GoDefault
}

func defaultReason(in Input, def int, limited, containerAware bool, cmpFrom string, minor int, updates bool) string {
	aff := fmt.Sprintf("the %d CPUs of its affinity mask", in.AffinityCPUs)
	if in.AffinityCPUs == 1 {
		aff = "the 1 CPU of its affinity mask"
	}
	var r string
	switch {
	case limited:
		r = fmt.Sprintf("Go's container-aware default (Go 1.25+): the cgroup CPU quota of %s rounded up, at least 2, gives %d, fewer than %s", fmtCPUs(in.CPUQuota), def, aff)
	case in.CPUQuota > 0 && minor < 25:
		wouldBe, lower := DefaultGOMAXPROCS(in.AffinityCPUs, in.CPUQuota, true)
		r = fmt.Sprintf("Go's default: %s; go1.%d ignores the cgroup CPU quota of %s (container-aware GOMAXPROCS came in Go 1.25)", aff, minor, fmtCPUs(in.CPUQuota))
		if lower {
			r += fmt.Sprintf(", which would give %d", wouldBe)
		}
	case in.CPUQuota > 0 && !containerAware:
		wouldBe, lower := DefaultGOMAXPROCS(in.AffinityCPUs, in.CPUQuota, true)
		r = fmt.Sprintf("Go's default: %s; the cgroup CPU quota of %s is ignored because containermaxprocs=0 in %s", aff, fmtCPUs(in.CPUQuota), cmpFrom)
		if lower {
			r += fmt.Sprintf(", without which it would be %d", wouldBe)
		}
	case in.CPUQuota > 0 && in.CPUQuota < 2 && in.AffinityCPUs <= 2:
		r = fmt.Sprintf("Go's default: %s (the cgroup CPU quota of %s does not lower it: Go never goes below 2 for a quota)", aff, fmtCPUs(in.CPUQuota))
	case in.CPUQuota > 0:
		r = fmt.Sprintf("Go's default: %s (the cgroup CPU quota of %s is not lower)", aff, fmtCPUs(in.CPUQuota))
	default:
		r = fmt.Sprintf("Go's default: %s (no cgroup CPU quota)", aff)
	}
	if updates {
		r += "; Go updates it when the affinity or quota changes"
	}
	return r
}

func fmtCPUs(q float64) string {
	return strconv.FormatFloat(q, 'f', -1, 64) + " CPUs"
}
