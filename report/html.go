package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gotune/gotune/advisor"
	"github.com/gotune/gotune/compare"
	"github.com/gotune/gotune/measurement"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/safetext"
)

//go:embed report.html.tmpl
var htmlSource string

// htmlTemplate is parsed on first use, not at init: every gotune command
// links this package, and parsing costs about 1 ms of each one's start.
var htmlTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("report").Funcs(template.FuncMap{
		"unit":            unitText,
		"pct":             func(f float64) string { return fmt.Sprintf("%.2f%%", f*100) },
		"dur":             durationText,
		"when":            func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 MST") },
		"bytesEst":        bytesRange,
		"pctEst":          pctRange,
		"rateEst":         rateRange,
		"mark":            func(wi *advisor.WhatIf, i int) string { return strings.ReplaceAll(whatIfMark(wi, i), "**", "") },
		"bytes":           measurement.Bytes,
		"seconds":         measurement.Seconds,
		"percent":         measurement.Percent,
		"rate":            func(v float64) string { return measurement.Rate(measurement.Bytes, v) },
		"fmtf":            func(format string, v float64) string { return fmt.Sprintf(format, v) },
		"sortedEnv":       sortedKeys,
		"add":             func(a, b int) int { return a + b },
		"restartsMeaning": func() string { return RestartsMeaning },
	}).Parse(htmlSource))
})

// htmlView is what the template renders: the report plus the laid-out
// charts, flame graph and comparison.
type htmlView struct {
	*Report
	Charts    []chartView
	FlameView *flameView
	Compare   *compareView
	HostFacts []hostFact
	HostLines []string
	TraceView *traceView
}

// WriteHTML writes the report as one self-contained HTML page: inline CSS
// and SVG, and a small inline script for the flame graph's zoom. It loads
// nothing from the network. All text from the snapshots is escaped by
// html/template.
func (r *Report) WriteHTML(w io.Writer) error {
	v := htmlView{Report: r, Charts: r.chartViews(), FlameView: r.flameView(), HostFacts: r.hostFacts(), HostLines: r.hostLines(), TraceView: newTraceView(r.Trace)}
	if r.Comparison != nil {
		v.Compare = newCompareView(r.Comparison)
	}
	// html/template escapes for the browser, not for a terminal: a control
	// character in outside text stays raw in HTML text, and the page is
	// printed with -o - or cat. They become U+FFFD, as in Markdown.
	return htmlTemplate().Execute(safetext.NewWriter(w), v)
}

// Chart geometry, in SVG user units (the SVG scales to the page width).
const (
	chartW, chartH           = 640, 210
	plotL, plotR             = 70, 628
	plotT, plotB             = 12, 176
	flameRowH, flameRowInner = 18, 17
)

var lineColors = []string{"#1f6fb4", "#d0452b", "#2f9a3e", "#8a4fbf"}

type chartView struct {
	ID, Title string
	Unit      string
	Lines     []lineView
	YTicks    []tick
	XTicks    []tick
	// Marks are the x of the restarts in the window.
	Marks   []string
	Summary string // for the chart's <title>
}

type lineView struct {
	Name, Color string
	Points      string // SVG polyline points
	Dots        []xy   // when a line has too few points to show
	Last        string
	Max         string
	Samples     int
	Aggregate   string
}

type xy struct{ X, Y string }

type tick struct {
	Pos    string // x or y in user units
	Label  string
	Anchor string // text-anchor of an x label: the last one ends at the axis end
}

func (r *Report) chartViews() []chartView {
	var out []chartView
	for _, ch := range Charts {
		var cs []Curve
		for _, c := range r.Curves {
			if c.Chart == ch.ID {
				cs = append(cs, c)
			}
		}
		if len(cs) == 0 {
			continue
		}
		cv := chartView{ID: ch.ID, Title: ch.Title, Unit: cs[0].Unit}
		tMax, vMax := 0.0, 0.0
		for _, c := range cs {
			for _, p := range c.Points {
				tMax, vMax = max(tMax, p.T), max(vMax, p.V)
			}
		}
		if tMax <= 0 {
			tMax = 1
		}
		vMax = niceCeil(vMax)
		x := func(t float64) float64 { return plotL + t/tMax*(plotR-plotL) }
		y := func(v float64) float64 { return plotB - v/vMax*(plotB-plotT) }
		for i := range 5 {
			v := vMax * float64(i) / 4
			cv.YTicks = append(cv.YTicks, tick{Pos: f1(y(v)), Label: unitText(cv.Unit, v)})
		}
		for i := range 5 {
			t := tMax * float64(i) / 4
			anchor := "middle"
			if i == 4 {
				anchor = "end"
			}
			cv.XTicks = append(cv.XTicks, tick{f1(x(t)), measurement.Seconds(math.Round(t)), anchor})
		}
		for _, t := range r.restartTs() {
			if t >= 0 && t <= tMax {
				cv.Marks = append(cv.Marks, f1(x(t)))
			}
		}
		var sums []string
		for i, c := range cs {
			lv := lineView{Name: c.Name, Color: lineColors[i%len(lineColors)], Samples: c.Samples, Aggregate: c.Aggregate}
			var b strings.Builder
			st := curveStats(c)
			for j, p := range c.Points {
				if j > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(f1(x(p.T)) + "," + f1(y(p.V)))
				if len(c.Points) <= 2 {
					lv.Dots = append(lv.Dots, xy{f1(x(p.T)), f1(y(p.V))})
				}
			}
			lv.Points = b.String()
			lv.Last, lv.Max = unitText(c.Unit, st.last), unitText(c.Unit, st.max)
			cv.Lines = append(cv.Lines, lv)
			sums = append(sums, fmt.Sprintf("%s: min %s, mean %s, max %s, last %s", c.Name,
				unitText(c.Unit, st.min), unitText(c.Unit, st.mean), unitText(c.Unit, st.max), unitText(c.Unit, st.last)))
		}
		cv.Summary = strings.Join(sums, "; ")
		out = append(out, cv)
	}
	return out
}

func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// niceCeil rounds v up to 1, 2, 2.5 or 5 times a power of ten, so axis
// labels are round numbers.
func niceCeil(v float64) float64 {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1
	}
	e := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*e >= v {
			return m * e
		}
	}
	return 10 * e
}

type flameView struct {
	*Flame
	Height int
	Frames []flameFrameView
}

type flameFrameView struct {
	ID, Parent, Depth int
	X, W              string // data attributes: shares with enough digits to zoom
	XPct, WPct        string // SVG attributes
	Y                 string
	Name, Tip, Color  string
	Other             bool
}

func (r *Report) flameView() *flameView {
	fl := r.Flame
	if fl == nil {
		return nil
	}
	v := &flameView{Flame: fl, Height: (fl.Depth + 1) * flameRowH}
	for _, f := range fl.Frames {
		v.Frames = append(v.Frames, flameFrameView{ID: f.ID, Parent: f.Parent, Depth: f.Depth,
			X: strconv.FormatFloat(f.X, 'g', 10, 64), W: strconv.FormatFloat(f.W, 'g', 10, 64),
			XPct: strconv.FormatFloat(f.X*100, 'f', 4, 64) + "%", WPct: strconv.FormatFloat(f.W*100, 'f', 4, 64) + "%",
			Y: strconv.Itoa(f.Depth * flameRowH), Name: f.Name, Tip: f.Name + " — " + f.Text(fl), Color: f.Color, Other: f.Other})
	}
	return v
}

type compareView struct {
	*compare.Comparison
	Rows     [][]string
	Profiles []compareProfileView
	Groups   []compare.GroupChange
	More     int
}

type compareProfileView struct {
	Kind, Error, Spans string
	Diffs              []compareDiffView
}

type compareDiffView struct {
	Mode    string
	Changes int
	Rows    [][]string // change, delta, share, name
}

func newCompareView(c *compare.Comparison) *compareView {
	v := &compareView{Comparison: c, Groups: c.Groups}
	if len(v.Groups) > 15 {
		v.Groups, v.More = v.Groups[:15], len(v.Groups)-15
	}
	v.Rows = c.Rows()
	for _, p := range c.Profiles {
		pv := compareProfileView{Kind: string(p.Kind), Error: p.Error}
		if p.Error == "" {
			pv.Spans = "before: " + p.Before.Text() + "; after: " + p.After.Text()
		}
		for _, d := range []*profile.Diff{p.Absolute, p.Normalized} {
			if d == nil {
				continue
			}
			dv := compareDiffView{Mode: d.SampleType.String() + ", absolute"}
			if d.Normalized {
				dv.Mode = fmt.Sprintf("%s, normalized (after ×%.3f)", d.SampleType, d.Ratio)
			}
			ch := d.Changes()
			dv.Changes = len(ch)
			for i, row := range ch {
				if i == compare.ProfileRowLimit {
					break
				}
				sign, val := "+", row.DeltaCum
				if val < 0 {
					sign, val = "-", -val
				}
				sh := ""
				if d.BaseTotal != 0 {
					sh = fmt.Sprintf("%+.1f%%", float64(row.DeltaCum)/float64(d.BaseTotal)*100)
				}
				dv.Rows = append(dv.Rows, []string{string(row.Change), sign + profile.FormatValue(val, d.SampleType.Unit, ""), sh, row.Name})
			}
			pv.Diffs = append(pv.Diffs, dv)
		}
		v.Profiles = append(v.Profiles, pv)
	}
	return v
}
