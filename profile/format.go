package profile

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The unit tables and formatting rules re-create pprof's
// internal/measurement (Scale, ScaledLabel, Percentage) so that gotune prints
// the same figures as `go tool pprof`.

type unit struct {
	name    string
	aliases []string
	factor  float64
}

type unitType struct {
	units []unit
	def   unit
}

var unitTypes = []unitType{{
	units: []unit{
		{"B", []string{"b", "byte"}, 1},
		{"kB", []string{"kb", "kbyte", "kilobyte"}, float64(1 << 10)},
		{"MB", []string{"mb", "mbyte", "megabyte"}, float64(1 << 20)},
		{"GB", []string{"gb", "gbyte", "gigabyte"}, float64(1 << 30)},
		{"TB", []string{"tb", "tbyte", "terabyte"}, float64(1 << 40)},
		{"PB", []string{"pb", "pbyte", "petabyte"}, float64(1 << 50)},
	},
	def: unit{"B", nil, 1},
}, {
	units: []unit{
		{"ns", []string{"ns", "nanosecond"}, 1},
		{"us", []string{"μs", "us", "microsecond"}, 1e3},
		{"ms", []string{"ms", "millisecond"}, 1e6},
		{"s", []string{"s", "sec", "second"}, 1e9},
		{"hrs", []string{"hour", "hr"}, 3600e9},
	},
	def: unit{"s", nil, 1e9},
}}

func (ut unitType) sniff(s string) *unit {
	s = strings.ToLower(s)
	if len(s) > 2 {
		s = strings.TrimSuffix(s, "s")
	}
	for i := range ut.units {
		for _, a := range ut.units[i].aliases {
			if a == s {
				return &ut.units[i]
			}
		}
	}
	return nil
}

// Scale converts value from unit from to unit to. to may be "auto" (or
// "minimum") to pick the largest unit that keeps the value ≥ 1. Counts and
// unknown units are returned unchanged with an empty unit.
func Scale(value int64, from, to string) (float64, string) {
	return newScaler(from, to).scale(value)
}

// scaler is Scale with the units looked up once: a table formats
// thousands of values in the same two units.
type scaler struct {
	ut       *unitType // nil: from is not a unit of time or bytes
	from, to *unit     // to nil: auto, or to is not of ut's type
	auto     bool
	name     string // the unit printed when ut is nil
}

func newScaler(from, to string) scaler {
	s := scaler{auto: to == "auto" || to == "minimum"}
	for i := range unitTypes {
		ut := &unitTypes[i]
		if fu := ut.sniff(from); fu != nil {
			s.ut, s.from = ut, fu
			if !s.auto {
				s.to = ut.sniff(to)
			}
			return s
		}
	}
	switch to {
	case "count", "sample", "unit", "minimum", "auto", "":
	default:
		s.name = to
	}
	return s
}

func (s scaler) scale(value int64) (float64, string) {
	if value < 0 && -value > 0 {
		v, u := s.scale(-value)
		return -v, u
	}
	ut := s.ut
	if ut == nil {
		return float64(value), s.name
	}
	v := float64(value) * s.from.factor
	switch {
	case s.auto:
		var f float64
		var name string
		for _, u := range ut.units {
			if u.factor >= f && v/u.factor >= 1 {
				f, name = u.factor, u.name
			}
		}
		if f == 0 {
			return v / ut.def.factor, ut.def.name
		}
		return v / f, name
	case s.to != nil:
		return v / s.to.factor, s.to.name
	}
	return v / ut.def.factor, ut.def.name
}

// FormatValue formats value (in unit) for people, in unit to ("auto" picks
// one): "1.50MB", "230ms", "42".
func FormatValue(value int64, unit, to string) string {
	return string(newScaler(unit, to).appendValue(nil, value))
}

// appendValue appends FormatValue's text for value.
func (s scaler) appendValue(dst []byte, value int64) []byte {
	v, u := s.scale(value)
	start := len(dst)
	dst = strconv.AppendFloat(dst, v, 'f', 2, 64)
	if n := len(dst); n-start >= 3 && string(dst[n-3:]) == ".00" {
		dst = dst[:n-3]
	}
	if num := string(dst[start:]); num == "0" || num == "-0" {
		return append(dst[:start], '0')
	}
	return append(dst, u...)
}

// Percent formats value as a share of total the way pprof does: "12.34%",
// "0.42%", "  100%". The result is 6 characters wide.
func Percent(value, total int64) string {
	return string(appendPercent(nil, value, total))
}

// appendPercent appends Percent's text: fmt's %5.2f%% or %5.2g%%.
func appendPercent(dst []byte, value, total int64) []byte {
	var r float64
	if total != 0 {
		r = math.Abs(float64(value)/float64(total)) * 100
	}
	if r >= 99.95 && r <= 100.05 {
		return append(dst, "  100%"...)
	}
	var num [24]byte
	var b []byte
	if r >= 1.0 {
		b = strconv.AppendFloat(num[:0], r, 'f', 2, 64)
	} else {
		b = strconv.AppendFloat(num[:0], r, 'g', 2, 64)
	}
	dst = appendPadded(dst, b, 5)
	return append(dst, '%')
}

// appendPadded appends b right-aligned in width runes, as fmt's %Ns.
func appendPadded(dst, b []byte, width int) []byte {
	for n := utf8.RuneCount(b); n < width; n++ {
		dst = append(dst, ' ')
	}
	return append(dst, b...)
}

// OutputUnit picks the unit pprof would print a table in: the unit of the
// smallest non-zero value, moved up one unit when the largest is more than
// 100 times bigger (internal/report.selectOutputUnit).
func (t *Top) OutputUnit() string {
	return outputUnit(t.SampleType.Unit, t.Total, func(yield func(flat, cum int64) bool) {
		for _, r := range t.Rows {
			if !yield(r.Flat, r.Cum) {
				return
			}
		}
	})
}

func outputUnit(sampleUnit string, maxValue int64, values func(func(flat, cum int64) bool)) string {
	var minValue int64
	any := false
	for flat, cum := range values {
		any = true
		m := abs(flat)
		if m == 0 {
			m = abs(cum)
		}
		if m > 0 && (minValue == 0 || m < minValue) {
			minValue = m
		}
	}
	if !any {
		return sampleUnit
	}
	if minValue == 0 {
		minValue = maxValue
	}
	_, minUnit := Scale(minValue, sampleUnit, "auto")
	_, maxUnit := Scale(maxValue, sampleUnit, "auto")
	u := minUnit
	if minUnit != maxUnit && minValue*100 < maxValue {
		_, u = Scale(100*minValue, sampleUnit, "auto")
	}
	if u == "" {
		return sampleUnit
	}
	return u
}

// WriteText writes t like `go tool pprof -top` does (without the File/Type/
// Time header, which the caller prints), in unit ("" picks one).
func (t *Top) WriteText(w io.Writer, unit string) error {
	if unit == "" {
		unit = t.OutputUnit()
	}
	f := func(v int64) string { return FormatValue(v, t.SampleType.Unit, unit) }
	var b strings.Builder
	fmt.Fprintf(&b, "Showing nodes accounting for %s, %s of %s total\n", f(t.Shown), strings.TrimSpace(Percent(t.Shown, t.Total)), f(t.Total))
	if t.Total != 0 {
		if t.DroppedNodes > 0 {
			s := "s"
			if t.DroppedNodes == 1 {
				s = ""
			}
			fmt.Fprintf(&b, "Dropped %d node%s (cum <= %s)\n", t.DroppedNodes, s, f(t.DropCutoff))
		}
		if len(t.Rows) < t.NodesBeforeCount {
			fmt.Fprintf(&b, "Showing top %d nodes out of %d\n", len(t.Rows), t.NodesBeforeCount)
		}
	}
	fmt.Fprintf(&b, "%10s %5s%% %5s%% %10s %5s%%\n", "flat", "flat", "sum", "cum", "cum")
	// The rows as "%10s %s %s %10s %s  %s\n" with f and Percent, without
	// fmt: a big profile's table has thousands.
	sc := newScaler(t.SampleType.Unit, unit)
	out := []byte(b.String())
	var sum int64
	var num []byte
	for _, r := range t.Rows {
		sum += r.Flat
		num = sc.appendValue(num[:0], r.Flat)
		out = appendPadded(out, num, 10)
		out = append(out, ' ')
		out = appendPercent(out, r.Flat, t.Total)
		out = append(out, ' ')
		out = appendPercent(out, sum, t.Total)
		out = append(out, ' ')
		num = sc.appendValue(num[:0], r.Cum)
		out = appendPadded(out, num, 10)
		out = append(out, ' ')
		out = appendPercent(out, r.Cum, t.Total)
		out = append(out, "  "...)
		out = append(out, r.Name...)
		out = append(out, '\n')
	}
	_, err := w.Write(out)
	return err
}
