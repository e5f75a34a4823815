package compare

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gotune/gotune/measurement"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/safetext"
)

// FormatValue renders a figure of the given unit for people.
func FormatValue(unit string, v float64) string {
	switch unit {
	case "bytes":
		return measurement.Bytes(v)
	case "bytes/s":
		return measurement.Rate(measurement.Bytes, v)
	case "fraction":
		return measurement.Percent(v)
	case "seconds":
		return measurement.Seconds(v)
	case "cores":
		return measurement.Cores(v)
	case "cycles/s":
		return fmt.Sprintf("%.2f/s", v)
	case "seconds/s":
		return measurement.Seconds(v) + "/s"
	}
	return measurement.Count(v)
}

// FormatDelta renders a metric's change for people: "+148 MiB (+150%)".
func FormatDelta(m MetricChange) string {
	if m.Before == nil || m.After == nil {
		return "-"
	}
	sign := "+"
	d := m.Delta
	if d < 0 {
		sign = "-"
		d = -d
	}
	s := sign + FormatValue(m.Unit, d)
	if m.Before.Mean != 0 {
		s += fmt.Sprintf(" (%+.0f%%)", m.Rel*100)
	}
	return s
}

func statText(unit string, s *Stats) string {
	if s == nil {
		return "-"
	}
	return FormatValue(unit, s.Mean)
}

// Rows is the metrics table as text cells: name, before (mean), after
// (mean), change, verdict ("changed", "within noise", "not measured").
func (c *Comparison) Rows() [][]string {
	var out [][]string
	for _, m := range c.Metrics {
		verdict := "within noise"
		switch {
		case m.Before == nil || m.After == nil:
			verdict = "not measured"
		case m.Beyond:
			verdict = "changed"
		}
		out = append(out, []string{m.Name, statText(m.Unit, m.Before), statText(m.Unit, m.After), FormatDelta(m), verdict})
	}
	return out
}

// ProfileRowLimit is how many changed frames per profile are printed.
const ProfileRowLimit = 10

func diffRowText(d *profile.Diff, r profile.DiffRow) (delta, share string) {
	unit := d.SampleType.Unit
	sign := "+"
	v := r.DeltaCum
	if v < 0 {
		sign, v = "-", -v
	}
	delta = sign + profile.FormatValue(v, unit, "")
	if d.BaseTotal != 0 {
		share = fmt.Sprintf("%+.1f%%", float64(r.DeltaCum)/float64(d.BaseTotal)*100)
	}
	return delta, share
}

// WriteText prints the comparison as aligned text. Control characters in
// snapshot text (names, titles, frames) are replaced, so a hostile file
// cannot drive the terminal it is printed on.
func (c *Comparison) WriteText(w io.Writer) error {
	bw := &errWriter{w: w}
	bw.printf("before: %s  %s  %s, %d samples\n", c.Before.Name, c.Before.Target, c.Before.Window.Duration().Round(time.Second), c.Before.Samples)
	bw.printf("after:  %s  %s  %s, %d samples\n\n", c.After.Name, c.After.Target, c.After.Window.Duration().Round(time.Second), c.After.Samples)
	for _, n := range c.Notes {
		bw.printf("note: %s\n", n)
	}
	if len(c.Notes) > 0 {
		bw.printf("\n")
	}
	bw.printf("%-18s %14s %14s %20s\n", "METRIC", "BEFORE", "AFTER", "CHANGE")
	for _, r := range c.Rows() {
		bw.printf("%-18s %14s %14s %20s  %s\n", r[0], r[1], r[2], r[3], r[4])
	}
	bw.printf("\nSETTINGS\n")
	if len(c.Settings) == 0 {
		bw.printf("  no change\n")
	}
	for _, s := range c.Settings {
		bw.printf("  %-12s %s → %s\n", s.Name, orDash(s.Before), orDash(s.After))
	}
	bw.printf("\nFINDINGS\n")
	if len(c.Findings) == 0 {
		bw.printf("  none on either side\n")
	}
	for _, f := range c.Findings {
		bw.printf("  %-9s %-5s %-28s %s\n", f.Change, f.Severity, f.ID, f.Title)
	}
	bw.printf("\nGOROUTINE GROUPS\n")
	if len(c.Groups) == 0 {
		bw.printf("  no change\n")
	}
	for i, g := range c.Groups {
		if i == 15 {
			bw.printf("  ... %d more\n", len(c.Groups)-i)
			break
		}
		bw.printf("  %-9s %5d → %-5d %-16s %s\n", g.Change, g.Before, g.After, g.State, g.Top)
	}
	c.writeTraceText(bw)
	for _, p := range c.Profiles {
		bw.printf("\nPROFILE %s", p.Kind)
		if p.Error != "" {
			bw.printf(": %s\n", p.Error)
			continue
		}
		bw.printf("\n  before: %s\n  after:  %s\n", p.Before.Text(), p.After.Text())
		for _, d := range []*profile.Diff{p.Absolute, p.Normalized} {
			if d == nil {
				continue
			}
			mode := "absolute (percent of the before total)"
			if d.Normalized {
				mode = fmt.Sprintf("normalized (after scaled ×%.3f to the before total)", d.Ratio)
			}
			bw.printf("\n  %s, %s; noise floor: frames with < %d samples on both sides or |Δ| < %.1f%% of the total are not shown\n",
				d.SampleType, mode, c.MinSamples, c.MinChange*100)
			ch := d.Changes()
			if len(ch) == 0 {
				bw.printf("    no change beyond the noise floor\n")
			}
			for i, r := range ch {
				if i == ProfileRowLimit {
					bw.printf("    ... %d more\n", len(ch)-i)
					break
				}
				delta, share := diffRowText(d, r)
				bw.printf("    %-7s %12s %8s  %s\n", r.Change, delta, share, r.Name)
			}
		}
	}
	return bw.err
}

// WriteMarkdown prints the comparison as Markdown.
func (c *Comparison) WriteMarkdown(w io.Writer) error {
	bw := &errWriter{w: w}
	bw.printf("## Before → after\n\n")
	bw.printf("- **Before:** %s %s (%s, %d samples)\n", mdEscape(c.Before.Name), mdEscape(c.Before.Target), c.Before.Window.Duration().Round(time.Second), c.Before.Samples)
	bw.printf("- **After:** %s %s (%s, %d samples)\n\n", mdEscape(c.After.Name), mdEscape(c.After.Target), c.After.Window.Duration().Round(time.Second), c.After.Samples)
	for _, n := range c.Notes {
		bw.printf("> **Note:** %s\n>\n", mdEscape(n))
	}
	if len(c.Notes) > 0 {
		bw.printf("\n")
	}
	bw.printf("| metric | before | after | change | |\n|---|---:|---:|---:|---|\n")
	for _, r := range c.Rows() {
		bw.printf("| %s | %s | %s | %s | %s |\n", r[0], r[1], r[2], r[3], r[4])
	}
	bw.printf("\nA change is marked when the difference of the means exceeds two standard errors of the windows' own variation.\n")
	bw.printf("\n### Settings\n\n")
	if len(c.Settings) == 0 {
		bw.printf("No change.\n")
	}
	for _, s := range c.Settings {
		bw.printf("- %s: %s → %s\n", code(s.Name), code(orDash(s.Before)), code(orDash(s.After)))
	}
	bw.printf("\n### Findings\n\n")
	if len(c.Findings) == 0 {
		bw.printf("None on either side.\n")
	}
	for _, f := range c.Findings {
		bw.printf("- **%s** (%s) %s: %s\n", f.Change, mdEscape(f.Severity), code(f.ID), mdEscape(f.Title))
	}
	bw.printf("\n### Goroutine groups\n\n")
	if len(c.Groups) == 0 {
		bw.printf("No change.\n")
	}
	for i, g := range c.Groups {
		if i == 15 {
			bw.printf("- … %d more\n", len(c.Groups)-i)
			break
		}
		bw.printf("- %s: %d → %d %s %s\n", g.Change, g.Before, g.After, code(g.State), mdEscape(g.Top))
	}
	c.writeTraceMarkdown(bw)
	for _, p := range c.Profiles {
		bw.printf("\n### Profile: %s\n\n", p.Kind)
		if p.Error != "" {
			bw.printf("%s\n", mdEscape(p.Error))
			continue
		}
		bw.printf("- before: %s\n- after: %s\n\n", mdEscape(p.Before.Text()), mdEscape(p.After.Text()))
		for _, d := range []*profile.Diff{p.Absolute, p.Normalized} {
			if d == nil {
				continue
			}
			mode := "absolute"
			if d.Normalized {
				mode = fmt.Sprintf("normalized (×%.3f)", d.Ratio)
			}
			ch := d.Changes()
			bw.printf("%s, %s: %d frames changed beyond the noise floor\n\n", d.SampleType, mode, len(ch))
			if len(ch) == 0 {
				continue
			}
			bw.printf("| change | Δ cum | of total | function |\n|---|---:|---:|---|\n")
			for i, r := range ch {
				if i == ProfileRowLimit {
					break
				}
				delta, share := diffRowText(d, r)
				bw.printf("| %s | %s | %s | %s |\n", r.Change, delta, share, code(r.Name))
			}
			bw.printf("\n")
		}
	}
	return bw.err
}

// Text says what one side's profile covers: "alloc_space 1.2 GiB over the
// window (30s): 41 MiB/s".
func (ps ProfileSide) Text() string {
	var b strings.Builder
	if ps.SampleType != "" {
		fmt.Fprintf(&b, "%s %s ", ps.SampleType, profile.FormatValue(ps.Total, ps.Unit, "auto"))
	}
	switch ps.Scope {
	case profile.ScopeWindow:
		fmt.Fprintf(&b, "over the window (%s)", measurement.Seconds(ps.Seconds))
	case profile.ScopeCapture:
		fmt.Fprintf(&b, "captured over %s", measurement.Seconds(ps.Seconds))
	case profile.ScopeSinceStart:
		b.WriteString("since the process started")
		if ps.Seconds > 0 {
			fmt.Fprintf(&b, " (%s)", measurement.Seconds(ps.Seconds))
		}
	default:
		b.WriteString("at one moment")
	}
	if ps.PerSecond > 0 && ps.Scope != profile.ScopeInstant {
		switch {
		case ps.Unit == "nanoseconds" && ps.SampleType == "cpu":
			// CPU seconds per second of wall time: cores, as the process
			// CPU figure everywhere else.
			fmt.Fprintf(&b, ": %.2f cores", ps.PerSecond/1e9)
		case ps.Unit == "nanoseconds":
			// Delay: goroutine-seconds waited per second, as the series'
			// mutex wait.
			fmt.Fprintf(&b, ": %s/s", measurement.Seconds(ps.PerSecond/1e9))
		default:
			fmt.Fprintf(&b, ": %s/s", profile.FormatValue(int64(ps.PerSecond), ps.Unit, "auto"))
		}
	}
	if ps.SeriesPerSecond > 0 {
		if ps.Unit == "nanoseconds" {
			fmt.Fprintf(&b, " (the series over the same span: %s/s)", measurement.Seconds(ps.SeriesPerSecond/1e9))
		} else {
			fmt.Fprintf(&b, " (the series over the same span: %s/s)", profile.FormatValue(int64(ps.SeriesPerSecond), ps.Unit, "auto"))
		}
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// mdEscape makes text from a snapshot inert in Markdown (and in the HTML a
// Markdown renderer makes of it).
func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "*", `\*`, "_", `\_`, "`", "'", "<", "&lt;", ">", "&gt;", "&", "&amp;", "\n", " ").Replace(s)
}

// code puts text from a snapshot in a code span it cannot close.
func code(s string) string {
	return "`" + strings.NewReplacer("`", "'", "\n", " ", "|", `\|`).Replace(s) + "`"
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err != nil {
		return
	}
	// Snapshot text (names, titles, frames) comes from other programs: a
	// hostile file must not drive the terminal or the viewer the text or
	// Markdown is printed on.
	_, e.err = io.WriteString(e.w, safetext.Text(fmt.Sprintf(format, args...)))
}
