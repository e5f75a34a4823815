package snapshot

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/gotune/gotune/measurement"
	"github.com/gotune/gotune/profile"
)

// BudgetEnv is the environment variable that changes what Read accepts:
// a comma-separated list of name=value, the names of budgetFields (such
// as json-entry=128MiB,total=1GiB); a value of 0 lifts that budget. Sizes
// take KiB, MiB, GiB or kB, MB, GB (profile.ParseQuantity). It is read
// once. The profiles inside a snapshot are decoded within the profile
// package's budgets (profile.BudgetEnv), which count what the snapshot
// holds already.
const BudgetEnv = "GOTUNE_SNAPSHOT_BUDGET"

// Budget bounds what reading one snapshot file may take. The defaults are
// the Max constants.
type Budget struct {
	File      int64 // the file on disk
	Manifest  int64 // manifest.json, inflated
	Entry     int64 // a profile or goroutine dump entry, inflated
	JSONEntry int64 // series, groups, findings, inflated
	Trace     int64 // the execution trace entry
	Total     int64 // every entry together, inflated
	Ratio     int64 // inflated/compressed of a deflated entry
	// JSONDecoded bounds what the JSON entries together are estimated to
	// decode to (jsonCost), checked before each is decoded: a series of
	// points whose value maps hold many short keys decodes to about seven
	// times its size.
	JSONDecoded int64
}

var defaultSnapshotBudget = Budget{
	File: MaxFileSize, Manifest: MaxManifestSize, Entry: MaxEntrySize, JSONEntry: MaxJSONEntry,
	Trace: MaxTraceEntry, Total: MaxTotalSize, Ratio: MaxRatio, JSONDecoded: MaxJSONDecoded,
}

type budgetField struct {
	name  string
	bytes bool
	get   func(*Budget) *int64
}

var budgetFields = []budgetField{
	{"file", true, func(b *Budget) *int64 { return &b.File }},
	{"manifest", true, func(b *Budget) *int64 { return &b.Manifest }},
	{"entry", true, func(b *Budget) *int64 { return &b.Entry }},
	{"json-entry", true, func(b *Budget) *int64 { return &b.JSONEntry }},
	{"trace", true, func(b *Budget) *int64 { return &b.Trace }},
	{"total", true, func(b *Budget) *int64 { return &b.Total }},
	{"ratio", false, func(b *Budget) *int64 { return &b.Ratio }},
	{"json-decoded", true, func(b *Budget) *int64 { return &b.JSONDecoded }},
}

// jsonCost estimates the memory a JSON entry decodes to: its bytes (held
// while it decodes) and, for each colon (a field or a map entry, an
// over-count when strings hold colons), a map slot, its key's string and
// the allocation rounding; measured at about 40 bytes per entry for
// map[string]float64 on Go 1.26, doubled for growth.
func jsonCost(data []byte) int64 {
	return int64(len(data)) + 80*int64(bytes.Count(data, []byte{':'}))
}

// ParseBudget returns the default budget changed by spec, in BudgetEnv's
// syntax.
func ParseBudget(spec string) (Budget, error) {
	b := defaultSnapshotBudget
	for part := range strings.SplitSeq(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, val, ok := strings.Cut(part, "=")
		name = strings.TrimSpace(name)
		i := slices.IndexFunc(budgetFields, func(f budgetField) bool { return f.name == name })
		if !ok || i < 0 {
			names := make([]string, len(budgetFields))
			for i, f := range budgetFields {
				names[i] = f.name
			}
			return b, fmt.Errorf("%q: want name=value, a name of %s", part, strings.Join(names, ", "))
		}
		v, err := profile.ParseQuantity(strings.TrimSpace(val))
		if err != nil {
			return b, fmt.Errorf("%s: %w", part, err)
		}
		*budgetFields[i].get(&b) = v
	}
	return b, nil
}

var envBudget = sync.OnceValues(func() (Budget, error) {
	b, err := ParseBudget(os.Getenv(BudgetEnv))
	if err != nil {
		return defaultSnapshotBudget, fmt.Errorf("%s: %w", BudgetEnv, err)
	}
	return b, nil
})

// DefaultBudget is the budget Read uses: the defaults changed by
// BudgetEnv, or the error that BudgetEnv does not parse.
func DefaultBudget() (Budget, error) { return envBudget() }

// BudgetError says a snapshot file exceeds one of its budgets.
type BudgetError struct {
	What   string // the entry, or "the snapshot's entries together"
	Budget string // its name in BudgetEnv
	Limit  int64
	Seen   int64
	// Compressed is the entry's compressed size for the ratio budget.
	Compressed int64
}

func (e *BudgetError) Error() string {
	raise := fmt.Sprintf("to allow it: %s=%s=%s", BudgetEnv, e.Budget, profile.SuggestRaise(e.Limit, e.Seen, e.Budget != "ratio"))
	if e.Budget == "ratio" {
		return fmt.Sprintf("%s inflates %d-fold (%s from %s), beyond the %d-fold of gotune's snapshot ratio budget: not read, a zip bomb? (%s)",
			e.What, e.Seen, measurement.Bytes(float64(e.Seen*e.Compressed)), measurement.Bytes(float64(e.Compressed)), e.Limit, raise)
	}
	return fmt.Sprintf("%s is %s, over the %s of gotune's snapshot %s budget; not read (a file this large was not written by gotune, or was changed; %s)",
		e.What, measurement.Bytes(float64(e.Seen)), measurement.Bytes(float64(e.Limit)), e.Budget, raise)
}

// IsBudgetError reports whether err is a snapshot or profile budget error.
func IsBudgetError(err error) bool {
	var be *BudgetError
	return errors.As(err, &be) || profile.IsBudgetError(err)
}

// over returns the error for a size over budget name, or nil.
func (b Budget) over(what, name string, seen int64) error {
	i := slices.IndexFunc(budgetFields, func(f budgetField) bool { return f.name == name })
	limit := *budgetFields[i].get(&b)
	if limit <= 0 || seen <= limit {
		return nil
	}
	return &FormatError{Reason: (&BudgetError{What: what, Budget: name, Limit: limit, Seen: seen}).Error(),
		Err: &BudgetError{What: what, Budget: name, Limit: limit, Seen: seen}}
}

// Footprint estimates the memory s holds: the raw entries it keeps and
// its decoded profiles. A command that reads a second snapshot passes it
// to ReadAfter, so both together stay within the profile package's Held
// budget.
func (s *Snapshot) Footprint() int64 {
	if s == nil {
		return 0
	}
	n := int64(len(s.GoroutineDump))
	for _, c := range s.Profiles {
		n += int64(len(c.Raw)) + c.Profile.Footprint()
	}
	if s.Trace != nil {
		n += int64(len(s.Trace.Raw))
	}
	return n + s.jsonBytes
}
