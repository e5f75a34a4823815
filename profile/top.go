package profile

import (
	"cmp"
	"fmt"
	"slices"
)

// DefaultNodeFraction is pprof's -nodefraction default: nodes whose cum is
// below 0.5% of the shown total are dropped from text reports
// (internal/driver/config.go).
const DefaultNodeFraction = 0.005

// TopOptions shape a top table.
type TopOptions struct {
	Options
	// NodeCount keeps the first N rows after sorting (pprof -nodecount);
	// 0 keeps all.
	NodeCount int
	// NodeFraction drops rows whose |cum| is below this fraction of the sum
	// of flat values (pprof -nodefraction). Use DefaultNodeFraction to
	// match `go tool pprof -top`; 0 keeps every row.
	NodeFraction float64
	// Cum sorts by cumulative value instead of flat.
	Cum bool
}

// TopRow is one function (file, line) of a top table. Values are in the
// sample type's unit; in a diff they are new minus base.
type TopRow struct {
	Name string `json:"name"`
	Flat int64  `json:"flat"`
	Cum  int64  `json:"cum"`
}

// Top is a flat/cum table like `go tool pprof -top`.
type Top struct {
	SampleType ValueType `json:"sample_type"`
	// Total is the denominator of every percentage: the sum of absolute
	// sample values before filtering (in a diff, of the base profile).
	Total int64 `json:"total"`
	// Shown is the sum of the flat values of Rows ("Showing nodes
	// accounting for ...").
	Shown int64    `json:"shown"`
	Rows  []TopRow `json:"rows"`
	// DroppedNodes rows fell under the node fraction; DropCutoff is the
	// cum value below which they were dropped, as pprof prints it.
	DroppedNodes int   `json:"dropped_nodes,omitempty"`
	DropCutoff   int64 `json:"drop_cutoff,omitempty"`
	// NodesBeforeCount is the row count before NodeCount was applied.
	NodesBeforeCount int  `json:"nodes_before_count"`
	SortedByCum      bool `json:"sorted_by_cum"`
}

// NewTop builds the top table of p.
func NewTop(p *Profile, o TopOptions) (*Top, error) {
	return newTop(nil, p, o, false)
}

// NewDiffTop builds the top table of p minus base with pprof's -diff_base
// semantics (percentages of the base total). With normalize, p is first
// scaled so that its total equals base's, as pprof's -normalize does.
func NewDiffTop(base, p *Profile, o TopOptions, normalize bool) (*Top, error) {
	if base == nil {
		return nil, fmt.Errorf("diff: no base profile")
	}
	return newTop(base, p, o, normalize)
}

func newTop(base, p *Profile, o TopOptions, normalize bool) (*Top, error) {
	agg, err := aggregate(base, p, o.Options, normalize)
	if err != nil {
		return nil, err
	}
	t := &Top{SampleType: agg.sampleType, Total: agg.total, SortedByCum: o.Cum}
	// The diff's single column is new minus base; the base side is already
	// negated by its weigher, so flat and cum simply add.
	flat := slices.Clone(agg.sides[0].flat)
	cum := slices.Clone(agg.sides[0].cum)
	leafSum := agg.sides[0].leafSum
	if base != nil {
		for n := range agg.sides[1].flat {
			flat[n] += agg.sides[1].flat[n]
			cum[n] += agg.sides[1].cum[n]
		}
		leafSum += agg.sides[1].leafSum
	}
	rows := make([]TopRow, 0, len(flat))
	for n := range flat {
		if flat[n] == 0 && cum[n] == 0 {
			continue
		}
		rows = append(rows, TopRow{Name: agg.nodes.names[n], Flat: flat[n], Cum: cum[n]})
	}
	// internal/report.newTrimmedGraph: the cutoff is a fraction of the flat
	// sum of the graph (after filters), the label a fraction of the total.
	if cutoff := abs(int64(float64(leafSum) * o.NodeFraction)); cutoff > 0 {
		kept := rows[:0]
		for _, r := range rows {
			if abs(r.Cum) >= cutoff {
				kept = append(kept, r)
			}
		}
		t.DroppedNodes = len(rows) - len(kept)
		t.DropCutoff = abs(int64(float64(t.Total) * o.NodeFraction))
		rows = kept
	}
	sortRows(rows, o.Cum)
	t.NodesBeforeCount = len(rows)
	if o.NodeCount > 0 && len(rows) > o.NodeCount {
		rows = rows[:o.NodeCount]
	}
	for _, r := range rows {
		t.Shown += r.Flat
	}
	t.Rows = slices.Clip(rows)
	return t, nil
}

// sortRows orders rows as pprof's FlatNameOrder / CumNameOrder do: by
// absolute value, then name, then the other value.
func sortRows(rows []TopRow, byCum bool) {
	slices.SortFunc(rows, func(a, b TopRow) int {
		ka, kb, sa, sb := abs(a.Flat), abs(b.Flat), abs(a.Cum), abs(b.Cum)
		if byCum {
			ka, kb, sa, sb = sa, sb, ka, kb
		}
		if c := cmp.Compare(kb, ka); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return cmp.Compare(sb, sa)
	})
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// aggregation is the result of walking one profile, or a base and a new
// profile on shared node numbers (sides[0] new, sides[1] base).
type aggregation struct {
	nodes      *nodeSet
	sampleType ValueType
	total      int64
	sides      [2]accum
}

func aggregate(base, p *Profile, o Options, normalize bool) (*aggregation, error) {
	r, err := compileRefine(o)
	if err != nil {
		return nil, err
	}
	vi, err := p.SampleIndex(o.SampleIndex)
	if err != nil {
		return nil, err
	}
	agg := &aggregation{nodes: newNodeSet(), sampleType: p.SampleTypes[vi]}
	w := weigher{ratio: 1}
	var bw weigher
	var bv *view
	if base != nil {
		if err := Compatible(base, p); err != nil {
			return nil, err
		}
		bw = weigher{ratio: 1, negate: true}
		if normalize {
			w.ratio = normalizeRatio(base, p, vi)
		}
		bv = agg.nodes.prepare(base, vi, o.Granularity, r)
	}
	v := agg.nodes.prepare(p, vi, o.Granularity, r)
	hi := hitIndex(p, vi)
	n := len(agg.nodes.names)
	agg.sides[0].add(v, w, n, hi)
	if base != nil {
		agg.sides[1].add(bv, bw, n, hi)
		agg.sides[0].grow(n)
		// internal/report.computeTotal: with a diff base, only base
		// samples count, unless they are all zero.
		agg.total = total(base, vi, bw)
		if agg.total == 0 {
			agg.total = total(p, vi, w)
		}
	} else {
		agg.total = total(p, vi, w)
	}
	return agg, nil
}

// normalizeRatio is pprof's Profile.Normalize factor for value index vi:
// base's sum over p's sum (signed sums over all samples), 0 when p sums to 0.
func normalizeRatio(base, p *Profile, vi int) float64 {
	sum := func(q *Profile) int64 {
		nv := len(q.SampleTypes)
		var s int64
		for i := range q.NumSamples() {
			s += q.values[i*nv+vi]
		}
		return s
	}
	b, s := sum(base), sum(p)
	if s == 0 {
		return 0
	}
	return float64(b) / float64(s)
}

// Compatible returns an error unless a and b can be diffed: same sample
// types (names and units) and same period type, as profile.Merge requires.
func Compatible(a, b *Profile) error {
	if a.PeriodType != b.PeriodType || !slices.Equal(a.SampleTypes, b.SampleTypes) {
		return fmt.Errorf("profile mismatch: cannot compare a %s profile (%s) with a %s profile (%s)",
			kindOr(a), typesString(a), kindOr(b), typesString(b))
	}
	return nil
}

func kindOr(p *Profile) string {
	if k := p.Kind(); k != "" {
		return string(k)
	}
	return "unknown"
}

func typesString(p *Profile) string {
	s := ""
	for i, t := range p.SampleTypes {
		if i > 0 {
			s += " "
		}
		s += t.String()
	}
	return s
}
