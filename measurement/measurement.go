// Package measurement formats figures for people: bytes in binary units,
// durations from nanoseconds to hours, rates and shares. Like pprof's
// internal/measurement, it is the one place units are rendered, so every view,
// report and command prints the same figure the same way.
package measurement

import (
	"fmt"
	"math"
	"strconv"
)

// Bytes renders a byte count: "512 B", "1.5 KiB", "64.0 MiB", "120 GiB".
func Bytes(v float64) string {
	const unit = 1024
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "-"
	}
	if v < unit && v > -unit {
		return fmt.Sprintf("%.0f B", v)
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	x := v / unit
	i := 0
	for (x >= unit || x <= -unit) && i < len(units)-1 {
		x /= unit
		i++
	}
	if x >= 100 || x <= -100 {
		return fmt.Sprintf("%.0f %s", x, units[i])
	}
	return fmt.Sprintf("%.1f %s", x, units[i])
}

// Seconds renders a duration given in seconds with a unit that keeps 2–3
// significant digits: "850ns", "12.5µs", "3.20ms", "1.50s", "2m05s".
func Seconds(s float64) string {
	if math.IsNaN(s) || math.IsInf(s, 0) {
		return "-"
	}
	neg := ""
	if s < 0 {
		neg, s = "-", -s
	}
	switch {
	case s == 0:
		return "0s"
	case s < 1e-6:
		return neg + trim(s*1e9) + "ns"
	case s < 1e-3:
		return neg + trim(s*1e6) + "µs"
	case s < 1:
		return neg + trim(s*1e3) + "ms"
	case s < 60:
		return neg + trim(s) + "s"
	case s < 3600:
		m := math.Floor(s / 60)
		return fmt.Sprintf("%s%.0fm%02.0fs", neg, m, math.Floor(s-60*m))
	default:
		h := math.Floor(s / 3600)
		return fmt.Sprintf("%s%.0fh%02.0fm", neg, h, math.Floor((s-3600*h)/60))
	}
}

// trim formats with three significant digits: 1.23, 12.3, 123.
func trim(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

// Percent renders a fraction (0.123) as "12.3%".
func Percent(frac float64) string {
	if math.IsNaN(frac) || math.IsInf(frac, 0) {
		return "-"
	}
	p := frac * 100
	switch {
	case p != 0 && math.Abs(p) < 0.1:
		return fmt.Sprintf("%.2f%%", p)
	case math.Abs(p) >= 100:
		return fmt.Sprintf("%.0f%%", p)
	default:
		return fmt.Sprintf("%.1f%%", p)
	}
}

// Cores renders CPU seconds per wall second, the one unit of every CPU
// figure gotune shows (process CPU, GC CPU): "0.48 cores".
func Cores(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "-"
	}
	if v != 0 && math.Abs(v) < 0.01 {
		return strconv.FormatFloat(v, 'f', 3, 64) + " cores"
	}
	return strconv.FormatFloat(v, 'f', 2, 64) + " cores"
}

// Count renders a count with a k/M/G suffix above ten thousand.
func Count(v float64) string {
	a := math.Abs(v)
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "-"
	case a >= 1e9:
		return trim(v/1e9) + "G"
	case a >= 1e6:
		return trim(v/1e6) + "M"
	case a >= 1e4:
		return trim(v/1e3) + "k"
	case a == math.Trunc(a):
		return strconv.FormatFloat(v, 'f', 0, 64)
	default:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
}

// Rate renders a per-second figure with its formatter: Rate(Bytes, 1<<20)
// is "1.0 MiB/s".
func Rate(format func(float64) string, perSecond float64) string {
	return format(perSecond) + "/s"
}
