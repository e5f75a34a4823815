package report

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/gotune/gotune/advisor"
	"github.com/gotune/gotune/compare"
	"github.com/gotune/gotune/measurement"
	"github.com/gotune/gotune/safetext"
)

// WriteMarkdown writes the report as GitHub-flavoured Markdown. Every text
// that comes from a snapshot is escaped, so a function name or a command
// line cannot inject markup.
func (r *Report) WriteMarkdown(w io.Writer) error {
	m := &mdWriter{w: w}
	m.printf("# %s\n\n", mdText(r.Title))
	if r.Before != nil {
		m.printf("- **Before:** %s\n", sideText(*r.Before))
		m.printf("- **After (described below):** %s\n\n", sideText(r.Subject))
	} else {
		m.printf("- **Snapshot:** %s\n\n", sideText(r.Subject))
	}

	m.printf("## Summary\n\n%s\n\n", mdText(r.Summary.Text))
	for i, td := range r.Summary.ToDo {
		m.printf("%d. **%s** %s — %s", i+1, td.Severity, mdText(td.Title), actionText(td.Action))
		if td.Predicted != "" {
			m.printf("  \n   Predicted: %s", mdText(td.Predicted))
			if td.Confidence != "" {
				m.printf(" (%s confidence)", mdText(td.Confidence))
			}
		}
		m.printf("\n")
	}
	if len(r.Summary.ToDo) > 0 {
		m.printf("\n")
	}

	if len(r.Restarts) > 0 {
		m.printf("## The target restarted\n\n")
		for _, x := range r.Restarts {
			m.printf("- %s\n", mdText(x.Text))
		}
		m.printf("\n%s\n\n", mdText(RestartsMeaning))
	}

	r.mdEnvironment(m)
	r.mdSettings(m)
	r.mdChanges(m)
	r.mdFindings(m)
	r.mdWhatIf(m)
	r.mdCurves(m)
	r.mdProfiles(m)
	r.mdGoroutines(m)
	r.mdTrace(m)
	if r.Comparison != nil {
		if err := m.flushTo(func(w io.Writer) error { return r.Comparison.WriteMarkdown(w) }); err != nil {
			return err
		}
		m.printf("\n")
	}
	if len(r.Problems) > 0 {
		m.printf("## Problems reading the snapshot\n\n")
		for _, p := range r.Problems {
			m.printf("- %s\n", mdText(p))
		}
		m.printf("\n")
	}
	return m.err
}

func sideText(s Side) string {
	var b strings.Builder
	if s.Name != "" {
		b.WriteString(mdText(s.Name) + ", ")
	}
	b.WriteString(mdText(s.Target))
	fmt.Fprintf(&b, ", %s from %s to %s, %d samples", durationText(s.Seconds),
		s.Window.Start.UTC().Format(time.DateTime), s.Window.End.UTC().Format("15:04:05 MST"), s.Samples)
	return b.String()
}

func durationText(secs float64) string {
	return time.Duration(secs * float64(time.Second)).Round(time.Second).String()
}

func actionText(a advisor.Action) string {
	s := mdCode(a.Text)
	if a.Kind != "" {
		s = string(a.Kind) + " " + s
	}
	if a.Note != "" {
		s += " (" + mdText(a.Note) + ")"
	}
	return s
}

func (r *Report) mdEnvironment(m *mdWriter) {
	m.printf("## Environment\n\n")
	t := r.Environment.Target
	rows := [][2]string{
		{"target", mdText(t.Name)},
		{"URL", mdCell(t.URL)},
		{"PID", intOpt(t.PID)},
		{"command", mdCell(t.Command)},
		{"Go version", mdText(t.GoVersion)},
		{"metrics via", mdText(t.MetricsVia)},
	}
	if !t.StartTime.IsZero() {
		rows = append(rows, [2]string{"started", t.StartTime.UTC().Format(time.RFC3339)})
	}
	m.printf("| | |\n|---|---|\n")
	for _, row := range rows {
		if row[1] == "" {
			continue
		}
		m.printf("| %s | %s |\n", row[0], row[1])
	}
	m.printf("\n")
	if len(r.Environment.Env) > 0 {
		m.printf("GO* environment variables (the only ones a snapshot keeps):\n\n")
		for _, k := range sortedKeys(r.Environment.Env) {
			m.printf("- %s\n", mdCode(k+"="+r.Environment.Env[k]))
		}
		m.printf("\n")
	}
	if lines := r.hostLines(); len(lines) > 0 {
		m.printf("Host facts:\n\n")
		for _, l := range lines {
			m.printf("- %s\n", mdText(l))
		}
		m.printf("\n")
	}
	for _, f := range r.hostFacts() {
		m.printf("<details><summary>%s (as read)</summary>\n\n%s\n\n</details>\n\n", f.Name, mdFence("json", f.Text))
	}
	if len(r.Environment.Notes) > 0 {
		m.printf("Not captured:\n\n")
		for _, n := range r.Environment.Notes {
			m.printf("- %s\n", mdText(n))
		}
		m.printf("\n")
	}
}

func (r *Report) mdSettings(m *mdWriter) {
	m.printf("## Effective settings\n\n")
	if len(r.Settings) == 0 {
		m.printf("Not known for this target.\n\n")
		return
	}
	m.printf("| setting | value | source | why |\n|---|---|---|---|\n")
	for _, s := range r.Settings {
		m.printf("| %s | %s | %s | %s |\n", mdText(s.Name), mdCell(s.Value), mdText(s.Source), mdText(s.Reason))
	}
	m.printf("\n")
}

func (r *Report) mdFindings(m *mdWriter) {
	m.printf("## Findings\n\n")
	if len(r.Findings) == 0 {
		m.printf("None.\n\n")
	}
	for _, f := range r.Findings {
		m.printf("### %s: %s\n\n", f.Severity, mdText(f.Title))
		m.printf("%s · area %s · confidence %s\n\n", mdCode(f.ID), mdText(f.Area), mdText(string(f.Confidence)))
		if len(f.Evidence) > 0 {
			m.printf("| evidence | value | source |\n|---|---:|---|\n")
			for _, e := range f.Evidence {
				src := mdText(e.Source)
				if !e.Window.IsZero() {
					src += fmt.Sprintf(" (over %s)", durationText(e.Window.Duration().Seconds()))
				}
				m.printf("| %s | %s | %s |\n", mdText(e.Name), mdText(e.Text), src)
			}
			m.printf("\n")
		}
		m.printf("**Action:** %s\n\n", actionText(f.Action))
		for _, a := range f.Alternatives {
			m.printf("- or: %s\n", actionText(a))
		}
		if len(f.Alternatives) > 0 {
			m.printf("\n")
		}
		if f.Predicted != nil {
			m.printf("**Predicted:** %s\n\n", mdText(f.Predicted.Text))
		}
		if f.Source.Text != "" || f.Source.URL != "" {
			m.printf("Source: %s", mdText(f.Source.Text))
			if f.Source.URL != "" {
				m.printf(" %s", mdCode(f.Source.URL))
			}
			m.printf("\n\n")
		}
	}
	if len(r.Skipped) > 0 {
		m.printf("Checks that could not run:\n\n")
		for _, s := range r.Skipped {
			m.printf("- %s\n", mdText(s))
		}
		m.printf("\n")
	}
}

func (r *Report) mdWhatIf(m *mdWriter) {
	m.printf("## GC what-if\n\n")
	wi := r.WhatIf
	if wi == nil {
		m.printf("No model: the window holds too little GC activity (see the checks that could not run).\n\n")
		return
	}
	o := wi.Observed
	m.printf("Fitted on the window: live heap %s, allocation %s, %s GC CPU per cycle, %.0f cycles, GC CPU %s.\n\n",
		measurement.Bytes(o.LiveHeap), measurement.Rate(measurement.Bytes, o.AllocRate), measurement.Seconds(o.CPUPerCycle),
		o.Cycles, measurement.Percent(o.GCCPU.Value))
	m.printf("| setting | heap goal | peak memory | GC cycles/s | GC CPU | |\n|---|---:|---:|---:|---:|---|\n")
	for i, row := range wi.Rows {
		m.printf("| %s | %s | %s | %s | %s | %s |\n", mdCell(row.Setting), bytesRange(row.HeapGoal),
			bytesRange(row.PeakMemory), rateRange(row.CycleRate), pctRange(row.GCCPU), whatIfMark(wi, i))
	}
	m.printf("\n%s\n\n", mdText(wi.Reason))
}

func whatIfMark(wi *advisor.WhatIf, i int) string {
	var marks []string
	if wi.Rows[i].Current {
		marks = append(marks, "current")
	}
	if i == wi.Recommended {
		marks = append(marks, "**recommended**")
	}
	if wi.Rows[i].Thrashing {
		marks = append(marks, "thrashing")
	}
	if wi.Rows[i].LimitBound {
		marks = append(marks, "limit-bound")
	}
	return strings.Join(marks, ", ")
}

func bytesRange(e advisor.Estimate) string {
	if math.IsInf(e.Value, 0) || e.Value == 0 && e.High == 0 {
		return "∞"
	}
	return measurement.Bytes(e.Value)
}

func rateRange(e advisor.Estimate) string {
	return fmt.Sprintf("%.2f (%.2f–%.2f)", e.Value, e.Low, e.High)
}

func pctRange(e advisor.Estimate) string {
	return fmt.Sprintf("%s (%s–%s)", measurement.Percent(e.Value), measurement.Percent(e.Low), measurement.Percent(e.High))
}

func (r *Report) mdCurves(m *mdWriter) {
	m.printf("## Curves\n\n")
	if len(r.Curves) == 0 {
		m.printf("No metric series in the snapshot.\n\n")
		return
	}
	m.printf("| metric | min | mean | max | last | over the window |\n|---|---:|---:|---:|---:|---|\n")
	for _, c := range r.Curves {
		st := curveStats(c)
		m.printf("| %s | %s | %s | %s | %s | %s |\n", mdText(c.Name), unitText(c.Unit, st.min), unitText(c.Unit, st.mean),
			unitText(c.Unit, st.max), unitText(c.Unit, st.last), sparkline(c.Points, 40))
	}
	m.printf("\n")
}

type curveSummary struct{ min, mean, max, last float64 }

func curveStats(c Curve) curveSummary {
	s := curveSummary{min: math.Inf(1), max: math.Inf(-1)}
	for _, p := range c.Points {
		s.min, s.max = min(s.min, p.V), max(s.max, p.V)
		s.mean += p.V
	}
	if n := len(c.Points); n > 0 {
		s.mean /= float64(n)
		s.last = c.Points[n-1].V
	}
	return s
}

// unitText formats a curve value (CPU figures in cores, as everywhere).
func unitText(unit string, v float64) string { return compare.FormatValue(unit, v) }

// sparkline draws points as block characters, n wide at most.
func sparkline(pts []CurvePoint, n int) string {
	if len(pts) == 0 {
		return ""
	}
	vs := make([]float64, 0, n)
	for _, p := range downsample(pts, n, false) {
		vs = append(vs, p.V)
	}
	lo, hi := vs[0], vs[0]
	for _, v := range vs {
		lo, hi = min(lo, v), max(hi, v)
	}
	const blocks = "▁▂▃▄▅▆▇█"
	rs := []rune(blocks)
	var b strings.Builder
	for _, v := range vs {
		b.WriteRune(rs[int(unitPos(v, lo, hi)*float64(len(rs)-1))])
	}
	return b.String()
}

// unitPos places v in [lo, hi] as a fraction in [0, 1], without
// overflowing when the span exceeds the float range (values near ±1.8e308
// reach a report from a live agent) and with 0 for an empty span or NaN.
func unitPos(v, lo, hi float64) float64 {
	span := hi/2 - lo/2
	if !(span > 0) || math.IsInf(span, 0) {
		return 0
	}
	f := (v/2 - lo/2) / span
	if math.IsNaN(f) {
		return 0
	}
	return min(1, max(0, f))
}

func (r *Report) mdProfiles(m *mdWriter) {
	m.printf("## Top functions\n\n")
	if len(r.Profiles) == 0 {
		m.printf("No profiles in the snapshot.\n\n")
		return
	}
	for _, p := range r.Profiles {
		m.printf("### %s", mdText(string(p.Kind)))
		if p.Error != "" {
			m.printf("\n\nNot readable: %s\n\n", mdText(p.Error))
			continue
		}
		m.printf(" (%s, total %s, %s)\n\n", mdText(p.SampleType), mdText(p.TotalText), p.SpanText())
		if len(p.Rows) == 0 {
			m.printf("No samples.\n\n")
			continue
		}
		m.printf("| flat | flat%% | cum | cum%% | function |\n|---:|---:|---:|---:|---|\n")
		for _, row := range p.Rows {
			m.printf("| %s | %.2f%% | %s | %.2f%% | %s |\n", row.FlatText, row.FlatShare*100, row.CumText, row.CumShare*100, mdCell(row.Name))
		}
		if p.More > 0 {
			m.printf("\n… and %d more functions.\n", p.More)
		}
		m.printf("\n")
	}
}

func (r *Report) mdGoroutines(m *mdWriter) {
	m.printf("## Goroutines\n\n")
	g := r.Goroutines
	if g.Total == 0 {
		m.printf("No goroutine dump or profile in the snapshot.\n\n")
		return
	}
	m.printf("%d goroutines in %d groups.\n\n", g.Total, len(g.Groups)+g.More)
	for _, gr := range g.Groups {
		head := fmt.Sprintf("%d ×", gr.Count)
		if gr.State != "" {
			head += " " + mdText(gr.State)
		}
		if gr.MaxWait > 0 {
			head += fmt.Sprintf(", waiting %d–%d minutes", gr.MinWait, gr.MaxWait)
		}
		m.printf("- **%s**\n", head)
		for _, f := range gr.Frames {
			m.printf("  - %s\n", mdCode(f))
		}
		if gr.Elided > 0 {
			m.printf("  - … %d more frames\n", gr.Elided)
		}
		if gr.CreatedBy != "" {
			m.printf("  - created by %s\n", mdCode(gr.CreatedBy))
		}
	}
	if g.More > 0 {
		m.printf("- … %d more groups\n", g.More)
	}
	m.printf("\n")
}

type mdWriter struct {
	w   io.Writer
	err error
}

func (m *mdWriter) printf(format string, args ...any) {
	if m.err != nil {
		return
	}
	// Snapshot text may carry terminal escapes; a Markdown file is often
	// read with cat or less.
	_, m.err = io.WriteString(m.w, safetext.Text(fmt.Sprintf(format, args...)))
}

func (m *mdWriter) flushTo(f func(io.Writer) error) error {
	if m.err != nil {
		return m.err
	}
	m.err = f(m.w)
	return m.err
}

var mdReplacer = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "|", `\|`,
	"<", "&lt;", ">", "&gt;", "&", "&amp;", "#", `\#`, "\n", " ", "\r", " ",
)

// mdText escapes s for Markdown text (and table cells): no emphasis,
// links, raw HTML or cell breaks can come from a snapshot.
func mdText(s string) string { return mdReplacer.Replace(s) }

// mdCell is mdCode for a table cell: pipes are escaped too (GitHub splits
// cells on them even inside code).
func mdCell(s string) string { return mdCode(strings.ReplaceAll(s, "|", `\|`)) }

// mdCode puts s in a code span. Backticks inside get a longer delimiter.
func mdCode(s string) string {
	if s == "" {
		return ""
	}
	s = strings.NewReplacer("\n", " ", "\r", " ").Replace(s)
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

// mdFence puts text in a fenced block whose fence no line of text can
// close.
func mdFence(lang, text string) string {
	fence := "```"
	for strings.Contains(text, fence) {
		fence += "`"
	}
	return fence + lang + "\n" + text + "\n" + fence
}

func intOpt(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprint(n)
}
