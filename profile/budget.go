package profile

// Decode budgets: what decoding one profile or goroutine dump may hold,
// checked while it is decoded, so a small crafted input (a 12 MB gzip of
// three million samples, a gzip bomb of a string table) fails with an
// error that names the budget instead of costing gigabytes.

import (
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gotune/gotune/measurement"
)

// BudgetEnv is the environment variable that changes the default budgets:
// a comma-separated list of name=value (the names of budgetFields, such
// as samples=4M,decoded=512MiB), or a factor such as 2x applied to every
// budget, or both ("2x,held=2GiB"). A value of 0 lifts that budget.
// Counts take k, M, G (×1000); byte sizes KiB, MiB, GiB (×1024) or kB,
// MB, GB. It is read once, by DefaultBudget.
const BudgetEnv = "GOTUNE_PROFILE_BUDGET"

// Budget bounds what decoding one profile or goroutine dump may hold. A
// field of 0 or less is no limit. DefaultBudget is what ParseBytes and
// ParseGoroutineDumpBytes use.
//
// The defaults are sized so that any input gotune accepts within its
// default fetch caps (a 64 MiB body that inflates to at most 256 MiB,
// collectors.DefaultMaxBody and DefaultMaxInflated) is refused or
// decoded in a few hundred MiB, and a whole command holding many
// profiles (Held, counted across the process) stays under 1 GB of peak
// RSS: the experiment in internal/crafted (experiment_test.go) measures
// each case with the real binary. A command's peak RSS was about twice
// Held when profiles filled it (advise and snapshot of a target serving
// 1.9 M samples on every endpoint: 1.1 GiB at Held 512 MiB, 646 MiB at
// 320 MiB), hence 384 MiB. They are several times the largest real
// inputs we know: a 600,000-sample heap profile (34 MB gzipped, 80 MiB
// decoded) and a 200,000-goroutine dump.
type Budget struct {
	// Inflated is the size of the profile's protobuf after gunzip (or of
	// an uncompressed input).
	Inflated int64
	// Decoded is the memory the decoded model may take while it is
	// built, estimated from what has been decoded (Footprint's figures
	// plus the decoder's own records).
	Decoded int64
	// Samples, Locations, Functions, Mappings, Strings and Labels count
	// the profile's records; StringBytes the string table's bytes;
	// Values the values of one sample (its sample types).
	Samples     int64
	Locations   int64
	Functions   int64
	Mappings    int64
	Strings     int64
	StringBytes int64
	Values      int64
	Labels      int64
	// FullDecoder bounds the memory google/pprof's parser is estimated
	// to take on an input the lean decoder hands it (legacy text
	// profiles, location IDs beyond 32 bits): it builds a struct per
	// sample, ten to fifteen times the input's size.
	FullDecoder int64
	// DumpBytes, Goroutines and Frames bound a goroutine dump (debug=2
	// text): its size, its goroutines and their frames; Decoded bounds
	// what they decode to.
	DumpBytes  int64
	Goroutines int64
	Frames     int64
	// Held bounds what a command holds in profiles together, raw and
	// decoded (a capture session's profiles, the snapshots a command
	// reads): After lowers Decoded to what is left of it.
	Held int64

	held int64 // bytes already held by the caller (After)
	err  error // a bad BudgetEnv: every decode reports it
}

// defaultBudget is the budget without BudgetEnv. See Budget's doc and
// docs/budgets.md for why each figure.
var defaultBudget = Budget{
	Inflated:    256 << 20,
	Decoded:     256 << 20,
	Samples:     2_000_000,
	Locations:   1_000_000,
	Functions:   1_000_000,
	Mappings:    65_536,
	Strings:     4_000_000,
	StringBytes: 128 << 20,
	Values:      16,
	Labels:      4_000_000,
	FullDecoder: 256 << 20,
	DumpBytes:   128 << 20,
	Goroutines:  1_000_000,
	Frames:      4_000_000,
	Held:        384 << 20,
}

// budgetField names one budget as BudgetEnv and errors do.
type budgetField struct {
	name  string
	bytes bool // a size in bytes, else a count
	what  string
	get   func(*Budget) *int64
}

var budgetFields = []budgetField{
	{"inflated", true, "inflated size", func(b *Budget) *int64 { return &b.Inflated }},
	{"decoded", true, "decoded size", func(b *Budget) *int64 { return &b.Decoded }},
	{"samples", false, "samples", func(b *Budget) *int64 { return &b.Samples }},
	{"locations", false, "locations", func(b *Budget) *int64 { return &b.Locations }},
	{"functions", false, "functions", func(b *Budget) *int64 { return &b.Functions }},
	{"mappings", false, "mappings", func(b *Budget) *int64 { return &b.Mappings }},
	{"strings", false, "strings", func(b *Budget) *int64 { return &b.Strings }},
	{"string-bytes", true, "string table", func(b *Budget) *int64 { return &b.StringBytes }},
	{"values", false, "values per sample", func(b *Budget) *int64 { return &b.Values }},
	{"labels", false, "labels", func(b *Budget) *int64 { return &b.Labels }},
	{"full-decoder", true, "google/pprof parser's estimated memory", func(b *Budget) *int64 { return &b.FullDecoder }},
	{"dump-bytes", true, "size", func(b *Budget) *int64 { return &b.DumpBytes }},
	{"goroutines", false, "goroutines", func(b *Budget) *int64 { return &b.Goroutines }},
	{"frames", false, "frames", func(b *Budget) *int64 { return &b.Frames }},
	{"held", true, "profiles held together", func(b *Budget) *int64 { return &b.Held }},
}

func fieldNamed(name string) (budgetField, bool) {
	i := slices.IndexFunc(budgetFields, func(f budgetField) bool { return f.name == name })
	if i < 0 {
		return budgetField{}, false
	}
	return budgetFields[i], true
}

var envBudget = sync.OnceValue(func() Budget {
	b, err := ParseBudget(os.Getenv(BudgetEnv))
	if err != nil {
		b = defaultBudget
		b.err = fmt.Errorf("%s: %w", BudgetEnv, err)
	}
	return b
})

// DefaultBudget returns the default budget, changed by BudgetEnv. When
// BudgetEnv does not parse, every decode with the budget fails with
// that error.
func DefaultBudget() Budget { return envBudget() }

// Err reports a BudgetEnv that did not parse.
func (b Budget) Err() error { return b.err }

// ParseBudget returns the default budget changed by spec, in BudgetEnv's
// syntax.
func ParseBudget(spec string) (Budget, error) {
	b := defaultBudget
	for part := range strings.SplitSeq(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, val, ok := strings.Cut(part, "=")
		if !ok {
			f, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimPrefix(part, "x"), "x"), 64)
			if err != nil || f <= 0 || !strings.Contains(part, "x") {
				return b, fmt.Errorf("%q: want name=value or a factor such as 2x", part)
			}
			for _, fl := range budgetFields {
				p := fl.get(&b)
				*p = int64(math.Min(float64(*p)*f, math.MaxInt64/2))
			}
			continue
		}
		fl, ok := fieldNamed(strings.TrimSpace(name))
		if !ok {
			names := make([]string, len(budgetFields))
			for i, f := range budgetFields {
				names[i] = f.name
			}
			return b, fmt.Errorf("unknown budget %q (known: %s)", name, strings.Join(names, ", "))
		}
		v, err := ParseQuantity(strings.TrimSpace(val))
		if err != nil {
			return b, fmt.Errorf("%s=%s: %w", fl.name, val, err)
		}
		*fl.get(&b) = v
	}
	return b, nil
}

// ParseQuantity reads a budget's value: a count (4000000, 4M) or a size
// (1.5GiB, 512MB), as BudgetEnv and snapshot's budget variable take them.
func ParseQuantity(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   float64
	}{
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
		{"kB", 1e3}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9},
		{"k", 1e3}, {"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {"B", 1},
	}
	mult := 1.0
	for _, u := range units {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, errors.New("want a number such as 4000000, 4M or 512MiB")
	}
	return int64(math.Min(f*mult, math.MaxInt64/2)), nil
}

// live is the estimated memory of the profiles and goroutine dumps this
// process has decoded and still holds: each decode adds its figure and a
// cleanup takes it off when the garbage collector frees it. It is what
// the Held budget counts, so a command that holds many profiles (a
// capture session's seven kinds, two snapshots) stays within it without
// each caller keeping the sum.
var live atomic.Int64

// track counts n bytes held for as long as obj is reachable.
func track[T any](n int64, obj *T) {
	if n <= 0 || obj == nil {
		return
	}
	live.Add(n)
	runtime.AddCleanup(obj, func(n int64) { live.Add(-n) }, n)
}

// Live is the estimated memory of the profiles and dumps decoded and not
// yet freed: what the Held budget counts before each decode.
func Live() int64 { return live.Load() }

// liveAfterGC is Live once garbage decoded profiles are freed: a
// collection, then a moment (a few ms) for the cleanups (which run on a goroutine
// of their own) to take them off. It is called only when Held would
// bind, so a command near it pays a collection per decode and others
// nothing.
func liveAfterGC() int64 {
	runtime.GC()
	last, same := live.Load(), 0
	// Until the figure has not moved for about 2 ms, at most 50 ms.
	for i := 0; i < 500 && same < 20; i++ {
		time.Sleep(100 * time.Microsecond)
		if n := live.Load(); n == last {
			same++
		} else {
			last, same = n, 0
		}
	}
	return last
}

// After returns b for one more input when the caller already holds held
// bytes of profiles (raw and decoded): the input and what it decodes to
// must fit in what is left of Held.
func (b Budget) After(held int64) Budget {
	b.held = max(held, 0)
	return b
}

// BudgetError says an input exceeds a decode budget: which one, its size,
// the figure seen when decoding stopped, and how to raise it.
type BudgetError struct {
	What   string // "profile" or "goroutine dump"
	Budget string // the budget's name in BudgetEnv: "samples", "inflated", ...
	Limit  int64
	Seen   int64
	// AtLeast is set when decoding stopped at the limit: the input holds
	// Seen or more.
	AtLeast bool
	// Held is the figure already held by the caller when Budget is
	// "held" (Seen includes it).
	Held int64
	// Note adds what else is known ("the gzip trailer says 480 MiB").
	Note string
}

func (e *BudgetError) Error() string {
	fl, _ := fieldNamed(e.Budget)
	figure := func(v int64) string {
		if fl.bytes {
			return measurement.Bytes(float64(v))
		}
		return grouped(v) + " " + fl.what
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: ", e.What)
	if fl.bytes {
		b.WriteString(fl.what + " ")
	}
	if e.AtLeast {
		b.WriteString("at least ")
	}
	b.WriteString(figure(e.Seen))
	if e.Budget == "held" {
		fmt.Fprintf(&b, " (%s of it held before this input)", measurement.Bytes(float64(e.Held)))
	}
	fmt.Fprintf(&b, ", over gotune's %s budget of %s", e.Budget, figure(e.Limit))
	if e.Note != "" {
		b.WriteString("; " + e.Note)
	}
	fmt.Fprintf(&b, "; not decoded (to allow it: %s=%s=%s)", BudgetEnv, e.Budget, SuggestRaise(e.Limit, e.Seen, fl.bytes))
	return b.String()
}

// grouped prints 3000000 as 3,000,000.
func grouped(v int64) string {
	s := strconv.FormatInt(v, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

// SuggestRaise suggests a budget that takes an input over limit, in
// ParseQuantity's syntax: twice the figure seen (or the limit), rounded
// up to a round number.
func SuggestRaise(limit, seen int64, bytes bool) string {
	want := max(2*seen, 2*limit)
	if bytes {
		for _, u := range []struct {
			s string
			n int64
		}{{"GiB", 1 << 30}, {"MiB", 1 << 20}} {
			if want >= u.n {
				return strconv.FormatInt((want+u.n-1)/u.n, 10) + u.s
			}
		}
		return strconv.FormatInt(want, 10)
	}
	if want >= 1e6 {
		return strconv.FormatInt((want+999_999)/1_000_000, 10) + "M"
	}
	return strconv.FormatInt(want, 10)
}

// IsBudgetError reports whether err is (or wraps) a *BudgetError.
func IsBudgetError(err error) bool {
	var be *BudgetError
	return errors.As(err, &be)
}

// The decoder's memory per record, for the Decoded budget: what a
// record costs while the model is built (the raw record and the model's
// own, which coexist in finish) on 64-bit platforms. Footprint counts the
// model's part only.
const (
	costSample    = 4            // stackOff
	costLocID     = 4            // stack
	costValue     = 8            // values
	costLocation  = 48 + 40 + 16 // rawLocation, Location, its ID index
	costLine      = 16 + 16      // rawLine, Line
	costFunction  = 40 + 56 + 16 // rawFunction, Function, its ID index
	costMapping   = 24 + 80 + 16 // rawMapping, Mapping, its ID index
	costString    = 16           // the string header (plus its bytes)
	costLabel     = 24 + 32 + 4  // rawLabel, Label, labelOff
	costFullDec   = 16           // google/pprof's bytes per input byte (measured: 13× on protos, 9–14× on text)
	costGoroutine = 2 * 136      // Goroutine, twice: its slice grows by doubling
	costFrame     = 56 + 8       // Frame, and its Args string's rounding to a size class (its bytes are counted)
)

// check is the decoder's budget state for one input.
type check struct {
	b    Budget
	what string
	// limit is the Decoded budget after what Held leaves; heldBinds
	// says Held set it.
	limit     int64
	heldBinds bool
	input     int64 // the input's own bytes, counted in Held
}

func newCheck(b Budget, what string, input int64) check {
	c := check{b: b, what: what, limit: b.Decoded, input: input}
	if b.Held > 0 {
		// What is held is what the caller says (After) or what this
		// process holds, whichever is more: a caller's figure counts its
		// raw inputs too.
		b.held = max(b.held, live.Load())
		if b.Held-b.held-input < b.Decoded || b.Decoded <= 0 {
			b.held = max(c.b.held, liveAfterGC())
		}
		c.b = b
		left := b.Held - b.held - input
		if c.limit <= 0 || left < c.limit {
			c.limit, c.heldBinds = max(left, 0), true
		}
	}
	return c
}

// over returns the error for a count over its budget, or nil.
func (c *check) over(name string, seen, limit int64, atLeast bool) error {
	if limit <= 0 || seen <= limit {
		return nil
	}
	return &BudgetError{What: c.what, Budget: name, Limit: limit, Seen: seen, AtLeast: atLeast}
}

// decoded checks the decoded bytes so far.
func (c *check) decoded(n int64) error {
	if c.limit <= 0 && !c.heldBinds || n <= c.limit {
		return nil
	}
	if c.heldBinds {
		return &BudgetError{What: c.what, Budget: "held", Limit: c.b.Held, Seen: c.b.held + c.input + n, AtLeast: true, Held: c.b.held}
	}
	return &BudgetError{What: c.what, Budget: "decoded", Limit: c.limit, Seen: n, AtLeast: true}
}

// heldInput checks the input alone against Held.
func (c *check) heldInput() error {
	if c.b.Held > 0 && c.b.held+c.input > c.b.Held {
		return &BudgetError{What: c.what, Budget: "held", Limit: c.b.Held, Seen: c.b.held + c.input, Held: c.b.held}
	}
	return nil
}

// footprint estimates what p holds: its arrays at 64-bit sizes and its
// strings' bytes.
func footprint(p *Profile) int64 {
	n := 4*int64(cap(p.stack)+cap(p.stackOff)+cap(p.labelOff)) + 8*int64(cap(p.values)) + 32*int64(cap(p.labels))
	n += 40*int64(len(p.Locations)) + 64*int64(len(p.Mappings)) + 56*int64(len(p.Functions))
	for i := range p.Locations {
		n += 16 * int64(len(p.Locations[i].Lines))
	}
	for i := range p.Functions {
		f := &p.Functions[i]
		n += int64(len(f.Name) + len(f.Filename))
		if f.SystemName != f.Name {
			n += int64(len(f.SystemName))
		}
	}
	for _, m := range p.Mappings {
		n += int64(len(m.File) + len(m.BuildID))
	}
	for _, l := range p.labels {
		n += int64(len(l.Key) + len(l.Value))
	}
	return n
}

// exactCounts checks the counts of a pass over the whole input before
// anything is allocated for them.
func (c *check) exactCounts(n sampleCounts) error {
	if err := c.over("samples", int64(n.samples), c.b.Samples, false); err != nil {
		return err
	}
	return c.decoded(costSample*int64(n.samples+1) + costLocID*int64(n.locs) + costValue*int64(n.values))
}

// clampCounts lowers an estimate of the counts to what the budget
// allows: the arrays it sizes are never larger than the budget (the
// decode then fails at the budget, or grows them when the estimate was
// short).
func (c *check) clampCounts(n sampleCounts) sampleCounts {
	if s := c.b.Samples; s > 0 && int64(n.samples) > s {
		f := float64(s) / float64(n.samples)
		n.samples, n.locs, n.values = int(s), int(float64(n.locs)*f), int(float64(n.values)*f)
	}
	if c.limit > 0 || c.heldBinds {
		if need := costSample*int64(n.samples) + costLocID*int64(n.locs) + costValue*int64(n.values); need > c.limit {
			f := float64(c.limit) / float64(need)
			n.samples, n.locs, n.values = int(float64(n.samples)*f), int(float64(n.locs)*f), int(float64(n.values)*f)
		}
	}
	return n
}

// fullDecoder checks an input for google/pprof's parser.
func (c *check) fullDecoder(size int64) error {
	est := costFullDec * size
	if c.b.FullDecoder > 0 && est > c.b.FullDecoder {
		return &BudgetError{What: c.what, Budget: "full-decoder", Limit: c.b.FullDecoder, Seen: est,
			Note: fmt.Sprintf("this %s input needs google/pprof's parser (a legacy text profile, or location IDs beyond 32 bits), estimated at %d bytes per input byte", measurement.Bytes(float64(size)), costFullDec)}
	}
	return nil
}

// model checks a profile decoded whole (by google/pprof) against the
// counts and the decoded budget.
func (c *check) model(p *Profile) error {
	for _, x := range []struct {
		name string
		n    int
	}{{"samples", p.NumSamples()}, {"locations", len(p.Locations)}, {"functions", len(p.Functions)}, {"mappings", len(p.Mappings)}, {"values", len(p.SampleTypes)}, {"labels", len(p.labels)}} {
		if err := c.over(x.name, int64(x.n), *mustField(x.name).get(&c.b), false); err != nil {
			return err
		}
	}
	p.footprint = footprint(p)
	return c.decoded(p.footprint)
}

func mustField(name string) budgetField {
	f, ok := fieldNamed(name)
	if !ok {
		panic("profile: no budget " + name)
	}
	return f
}
