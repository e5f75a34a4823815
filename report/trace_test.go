package report

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gotune/gotune/snapshot"
	"github.com/gotune/gotune/trace"
)

// fixtureTrace is a committed real trace (testdata/traces: stw before,
// lock after), analysed, as a snapshot holds it.
func fixtureTrace(t *testing.T, name string) *trace.Captured {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "testdata", "traces", name))
	if err != nil {
		t.Fatal(err)
	}
	s, err := trace.Analyze(context.Background(), bytes.NewReader(raw), trace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := &trace.Captured{Raw: raw, Source: trace.SourcePprof, Seconds: 1, Summary: s}
	c.SetSpan(s.WallStart.Add(time.Second))
	return c
}

func withTraces(t *testing.T) (before, after *snapshot.Snapshot) {
	t.Helper()
	before, after = fixtureSnapshots(t)
	before.Trace, after.Trace = fixtureTrace(t, "stw.trace"), fixtureTrace(t, "lock.trace")
	return before, after
}

// section cuts one "## " section out of a Markdown report.
func section(md, title string) string {
	i := strings.Index(md, "## "+title+"\n")
	if i < 0 {
		return ""
	}
	rest := md[i+3:]
	if j := strings.Index(rest, "\n## "); j >= 0 {
		rest = rest[:j+1]
	}
	return "## " + rest
}

// The Trace section: pauses worst first with who stopped the world and
// who stopped last, the MMU table, scheduler latency, blocking by reason
// and the GC cycles, in Markdown (goldened) and JSON.
func TestTraceSection(t *testing.T) {
	before, _ := withTraces(t)
	r, md, js, html := render(t, before, nil)
	sec := section(md, "Execution trace")
	golden(t, "trace-section.md", sec)
	for _, want := range []string{
		"From /debug/pprof/trace?seconds=1, over 2026-12-01 14:28:13",
		"7 stop-the-world pauses, total 281ms; of which GC: 6, total 280ms.",
		"| 1 | 102ms | +262ms | GC sweep termination (GC 4) | G6 at main.stwCase (main.go:202) | G13 main.stwCase.func1 after 101ms (99.7% of the pause) at main.stwCase.func1 (main.go:200) |",
		"| 10.0ms | 0.0% | +30.6ms |",
		"| channel | 363ms | 3 | 127ms | -pprof=sync |",
		"p99 ≈523ns",
	} {
		if !strings.Contains(sec, want) {
			t.Errorf("the trace section lacks %q:\n%s", want, sec)
		}
	}
	if strings.Index(md, "## Execution trace") < strings.Index(md, "## Goroutines") {
		t.Error("the trace section comes before the goroutines")
	}
	var doc struct {
		Trace struct {
			Source  string `json:"source"`
			Summary struct {
				Pauses struct {
					Count int `json:"count"`
					List  []struct {
						Duration int64 `json:"duration_ns"`
					} `json:"list"`
				} `json:"pauses"`
				MMU []struct{} `json:"mmu"`
			} `json:"summary"`
		} `json:"trace"`
	}
	if err := json.Unmarshal([]byte(js), &doc); err != nil {
		t.Fatal(err)
	}
	s := r.Trace.Summary
	if doc.Trace.Source != "pprof-trace" || doc.Trace.Summary.Pauses.Count != 7 || len(doc.Trace.Summary.MMU) != len(s.MMU) ||
		doc.Trace.Summary.Pauses.List[0].Duration != int64(s.Pauses.List[0].Duration) {
		t.Errorf("JSON trace %+v", doc.Trace)
	}
	for _, id := range []string{`id="trace"`, `id="trace-pauses"`, `id="trace-mmu"`, `id="trace-blocking"`, `id="trace-gc"`} {
		if !strings.Contains(html, id) {
			t.Errorf("the HTML lacks %s", id)
		}
	}
	// Without a trace there is no section, and the JSON has no field.
	plain, _ := fixtureSnapshots(t)
	_, md, js, html = render(t, plain, nil)
	if strings.Contains(md, "## Execution trace") || strings.Contains(js, `"trace"`) || strings.Contains(html, `id="trace"`) {
		t.Error("a snapshot without a trace has a trace section")
	}
}

// Two snapshots with traces: the comparison sets them side by side.
func TestTraceComparedInReport(t *testing.T) {
	before, after := withTraces(t)
	r, md, _, html := render(t, before, after)
	if r.Comparison.Trace == nil {
		t.Fatal("no trace comparison")
	}
	cmp := md[strings.Index(md, "## Before → after"):]
	if !strings.Contains(cmp, "### Execution trace") || !strings.Contains(cmp, "| worst pause | 102ms | 30.0µs |") {
		t.Errorf("the comparison lacks the traces:\n%s", cmp)
	}
	// The section describes the after snapshot's trace.
	if sec := section(md, "Execution trace"); !strings.Contains(sec, "1 stop-the-world pauses") || !strings.Contains(sec, "| sync | 1.48s |") {
		t.Errorf("the trace section does not describe the after trace:\n%s", sec)
	}
	if !strings.Contains(html, `id="compare-trace"`) {
		t.Error("the HTML comparison lacks the traces")
	}
}

// The trace section in a real Chromium: its tables are laid out and
// drawn, the comparison's trace table too, and the page still loads
// nothing and logs no error.
func TestTraceSectionInBrowser(t *testing.T) {
	before, after := withTraces(t)
	ctx := browser(t)
	check := func(name string, r *Report, pauses, compareRows int) {
		pageURL, ev := open(t, ctx, r, name)
		type tbl struct {
			ID   string
			Rows int
			W, H float64
		}
		tables := eval[[]tbl](t, ctx, `[...document.querySelectorAll("#trace table, #compare-trace")].map(e => { const r = e.getBoundingClientRect(); return {ID: e.id, Rows: e.rows.length, W: r.width, H: r.height}; })`)
		byID := map[string]tbl{}
		for _, tb := range tables {
			byID[tb.ID] = tb
			if tb.W < 400 || tb.H < 20 {
				t.Errorf("%s: table %s is %.0f×%.0f px", name, tb.ID, tb.W, tb.H)
			}
		}
		t.Logf("%s: trace tables %+v", name, tables)
		if got := byID["trace-pauses"].Rows; got != pauses+1 {
			t.Errorf("%s: %d rows in the pause table, want %d pauses and the header", name, got, pauses)
		}
		if got, want := byID["trace-mmu"].Rows, len(r.Trace.Summary.MMU)+1; got != want {
			t.Errorf("%s: %d MMU rows, want %d", name, got, want)
		}
		if got := byID["compare-trace"].Rows; got != compareRows {
			t.Errorf("%s: %d rows in the trace comparison, want %d", name, got, compareRows)
		}
		text := eval[string](t, ctx, `document.getElementById("trace").innerText`)
		if !strings.Contains(text, "Stop-the-world pauses, worst first") || !strings.Contains(text, "Time blocked, by reason") {
			t.Errorf("%s: the trace section reads %q", name, text[:min(len(text), 300)])
		}
		shot := do(t, ctx, name+": #trace screenshot", chromedp.Screenshot(chromedp.CSS("#trace")))
		ink, colors := inkStats(t, shot)
		t.Logf("%s: #trace screenshot %.1f%% non-white pixels, %d colours", name, ink*100, colors)
		if ink < 0.03 || colors < 8 {
			t.Errorf("%s: the trace section looks blank: %.2f%% non-white, %d colours", name, ink*100, colors)
		}
		errs, reqs, _ := ev.snapshot()
		for _, e := range errs {
			t.Errorf("%s: console: %s", name, e)
		}
		for _, u := range reqs {
			if u != pageURL {
				t.Errorf("%s: the page requested %s", name, u)
			}
		}
	}
	single, err := Build(before, nil)
	if err != nil {
		t.Fatal(err)
	}
	check("trace.html", single, 7, 0)
	both, err := Build(before, after)
	if err != nil {
		t.Fatal(err)
	}
	check("trace-compare.html", both, 1, len(both.Comparison.Trace.Rows)+1)
}
