package profile

import (
	"cmp"
	"slices"
)

// Defaults for the diff noise floor. A frame must have been seen in at least
// DefaultMinSamples samples on one side: CPU profiles sample at 100 Hz, so a
// frame with 4 samples (40ms) on both sides is within sampling noise (a
// Poisson count of 4 has a standard deviation of 2). And its cum must move
// by at least DefaultMinChange of the base total, the same 0.5% pprof uses to
// drop nodes from text reports.
const (
	DefaultMinSamples = 5
	DefaultMinChange  = 0.005
)

// Change classifies a frame of a diff.
type Change string

const (
	ChangeNew     Change = "new"    // absent from the base
	ChangeGone    Change = "gone"   // absent from the new profile
	ChangeGrew    Change = "grew"   // cum increased beyond the noise floor
	ChangeShrank  Change = "shrank" // cum decreased beyond the noise floor
	ChangeNoise   Change = "noise"  // below the noise floor on both sides
	ChangeNoDelta Change = "same"   // cum unchanged
)

// DiffOptions shape a Diff. Zero MinSamples and MinChange mean the
// defaults; set them negative to disable the floor.
type DiffOptions struct {
	Options
	// Normalize scales the new profile to the base's total before
	// subtracting (pprof -normalize).
	Normalize  bool
	MinSamples int64
	MinChange  float64
}

// DiffRow is one frame of a diff. New values are after normalization.
type DiffRow struct {
	Name      string `json:"name"`
	BaseFlat  int64  `json:"base_flat"`
	BaseCum   int64  `json:"base_cum"`
	NewFlat   int64  `json:"new_flat"`
	NewCum    int64  `json:"new_cum"`
	DeltaFlat int64  `json:"delta_flat"`
	DeltaCum  int64  `json:"delta_cum"`
	// BaseSamples and NewSamples count events through the frame: the
	// count-typed sample value (CPU samples, contentions, objects) or
	// sample records, before normalization.
	BaseSamples int64  `json:"base_samples"`
	NewSamples  int64  `json:"new_samples"`
	Change      Change `json:"change"`
}

// Diff compares two profiles of the same kind frame by frame.
type Diff struct {
	SampleType ValueType `json:"sample_type"`
	BaseTotal  int64     `json:"base_total"` // percentages are of this
	NewTotal   int64     `json:"new_total"`  // after normalization
	Normalized bool      `json:"normalized"`
	// Ratio is the normalization factor applied to the new profile (1
	// without Normalize).
	Ratio float64 `json:"ratio"`
	// Rows holds every frame seen on either side, largest |DeltaCum|
	// first, noise included (see Changes).
	Rows []DiffRow `json:"rows"`
}

// NewDiff compares p against base. It fails when the profiles are of
// different kinds or units.
func NewDiff(base, p *Profile, o DiffOptions) (*Diff, error) {
	agg, err := aggregate(base, p, o.Options, o.Normalize)
	if err != nil {
		return nil, err
	}
	vi, _ := p.SampleIndex(o.SampleIndex)
	ratio := 1.0
	if o.Normalize {
		ratio = normalizeRatio(base, p, vi)
	}
	minSamples, minChange := o.MinSamples, o.MinChange
	if minSamples == 0 {
		minSamples = DefaultMinSamples
	}
	if minChange == 0 {
		minChange = DefaultMinChange
	}
	d := &Diff{
		SampleType: agg.sampleType,
		BaseTotal:  agg.total,
		NewTotal:   total(p, vi, weigher{ratio: ratio}),
		Normalized: o.Normalize,
		Ratio:      ratio,
	}
	floor := abs(int64(float64(d.BaseTotal) * minChange))
	nw, bs := &agg.sides[0], &agg.sides[1]
	for n, name := range agg.nodes.names {
		r := DiffRow{
			Name:     name,
			BaseFlat: -bs.flat[n], BaseCum: -bs.cum[n],
			NewFlat: nw.flat[n], NewCum: nw.cum[n],
			BaseSamples: bs.hits[n], NewSamples: nw.hits[n],
		}
		r.DeltaFlat, r.DeltaCum = r.NewFlat-r.BaseFlat, r.NewCum-r.BaseCum
		if r.BaseCum == 0 && r.NewCum == 0 && r.BaseSamples == 0 && r.NewSamples == 0 {
			continue
		}
		r.Change = classify(r, minSamples, floor)
		d.Rows = append(d.Rows, r)
	}
	slices.SortFunc(d.Rows, func(a, b DiffRow) int {
		return cmp.Or(cmp.Compare(abs(b.DeltaCum), abs(a.DeltaCum)), cmp.Compare(abs(b.DeltaFlat), abs(a.DeltaFlat)), cmp.Compare(a.Name, b.Name))
	})
	return d, nil
}

func classify(r DiffRow, minSamples, floor int64) Change {
	if max(r.BaseSamples, r.NewSamples) < minSamples || abs(r.DeltaCum) < floor && abs(r.DeltaFlat) < floor {
		if r.DeltaCum == 0 && r.DeltaFlat == 0 {
			return ChangeNoDelta
		}
		return ChangeNoise
	}
	switch {
	case r.BaseCum == 0 && r.BaseSamples == 0:
		return ChangeNew
	case r.NewCum == 0 && r.NewSamples == 0:
		return ChangeGone
	case r.DeltaCum > 0 || r.DeltaCum == 0 && r.DeltaFlat > 0:
		return ChangeGrew
	case r.DeltaCum < 0 || r.DeltaFlat < 0:
		return ChangeShrank
	}
	return ChangeNoDelta
}

// Changes returns the rows above the noise floor: new, gone, grew, shrank.
func (d *Diff) Changes() []DiffRow {
	var out []DiffRow
	for _, r := range d.Rows {
		switch r.Change {
		case ChangeNew, ChangeGone, ChangeGrew, ChangeShrank:
			out = append(out, r)
		}
	}
	return out
}
