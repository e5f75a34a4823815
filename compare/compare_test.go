package compare

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/advisor"
	"github.com/gotune/gotune/collectors/effective"
	"github.com/gotune/gotune/session"
	"github.com/gotune/gotune/snapshot"
)

var t0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func snap(name string, gcCPU, heap []float64, settings, findings, groups string, env map[string]string) *snapshot.Snapshot {
	s := &snapshot.Snapshot{Manifest: snapshot.Manifest{Name: name, Target: snapshot.Target{Name: "demo"},
		Env: env, Window: snapshot.Window{Start: t0, End: t0.Add(10 * time.Second)}}}
	// The fixtures are written as the JSON a snapshot file holds.
	decode := func(doc string, v any) {
		if doc != "" {
			if err := json.Unmarshal([]byte(doc), v); err != nil {
				panic(err)
			}
		}
	}
	if settings != "" {
		s.Manifest.Settings = new(effective.Explanation)
		decode(settings, s.Manifest.Settings)
	}
	if findings != "" {
		s.Advice = new(advisor.Report)
		decode(findings, s.Advice)
	}
	decode(groups, &s.Goroutines)
	for i := range gcCPU {
		s.Series.Points = append(s.Series.Points, snapshot.Point{Time: t0.Add(time.Duration(i) * time.Second),
			Values: map[string]float64{session.HeapLive: heap[i], session.GOMAXPROCS: 1}, Derived: map[string]float64{session.GCCPU: gcCPU[i]}})
	}
	return s
}

func find(c *Comparison, name string) MetricChange {
	for _, m := range c.Metrics {
		if m.Name == name {
			return m
		}
	}
	return MetricChange{}
}

func TestCompare(t *testing.T) {
	before := snap("before", []float64{0.20, 0.22, 0.21, 0.19, 0.20}, []float64{100, 101, 99, 100, 100},
		`{"gogc":{"value":"100","source":"default"},"gomemlimit":{"value":"no limit"},"gomaxprocs":{"value":"2"}}`,
		`{"findings":[{"id":"gc-cpu-high","severity":"warn","title":"GC CPU high"},{"id":"goroutine-growth","severity":"warn","title":"leak"}]}`,
		`[{"count":5,"state":"select","frames":[{"func":"main.leak"}]},{"count":2,"state":"IO wait","frames":[{"func":"net.accept"}]}]`,
		map[string]string{"GOGC": "100"})
	after := snap("after", []float64{0.05, 0.06, 0.05, 0.04, 0.05}, []float64{101, 99, 100, 102, 100},
		`{"gogc":{"value":"400","source":"env"},"gomemlimit":{"value":"no limit"},"gomaxprocs":{"value":"2"}}`,
		`{"findings":[{"id":"goroutine-growth","severity":"crit","title":"leak"},{"id":"rss-high","severity":"info","title":"x"}]}`,
		`[{"count":50,"state":"select","frames":[{"func":"main.leak"}]},{"count":1,"state":"chan receive","frames":[{"func":"main.worker"}]}]`,
		map[string]string{"GOGC": "400"})
	c := Compare(before, after)

	gc := find(c, "GC CPU")
	if !gc.Beyond || gc.Delta > -0.14 || gc.Delta < -0.17 {
		t.Errorf("GC CPU: delta %.3f beyond %v, want about -0.154 beyond noise", gc.Delta, gc.Beyond)
	}
	heap := find(c, "heap live")
	if heap.Beyond {
		t.Errorf("heap live moved within its noise (delta %.2f, noise %.2f) but was called a change", heap.Delta, heap.Noise)
	}
	if g := find(c, "goroutines"); g.Before != nil || g.After != nil {
		t.Errorf("unmeasured metric has stats: %+v", g)
	}
	wantSettings := map[string][2]string{"GOGC": {"100", "400"}, "env GOGC": {"100", "400"}}
	if len(c.Settings) != len(wantSettings) {
		t.Errorf("settings %+v", c.Settings)
	}
	for _, s := range c.Settings {
		if w, ok := wantSettings[s.Name]; !ok || w[0] != s.Before || w[1] != s.After {
			t.Errorf("setting %+v", s)
		}
	}
	changes := map[string]string{}
	for _, f := range c.Findings {
		changes[f.ID] = f.Change
	}
	if changes["gc-cpu-high"] != "resolved" || changes["goroutine-growth"] != "still" || changes["rss-high"] != "new" {
		t.Errorf("findings %+v", c.Findings)
	}
	gch := map[string]GroupChange{}
	for _, g := range c.Groups {
		gch[g.Top] = g
	}
	if g := gch["main.leak"]; g.Change != "grew" || g.Before != 5 || g.After != 50 {
		t.Errorf("leak group %+v", g)
	}
	if gch["net.accept"].Change != "vanished" || gch["main.worker"].Change != "appeared" {
		t.Errorf("groups %+v", c.Groups)
	}
	if c.Groups[0].Top != "main.leak" {
		t.Errorf("largest change not first: %+v", c.Groups[0])
	}

	var text, md, js bytes.Buffer
	if err := c.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"GC CPU", "0.20 cores", "0.05 cores", "changed", "GOGC         100 → 400", "resolved  warn  gc-cpu-high", "grew          5 → 50"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	c.WriteMarkdown(&md)
	if !strings.Contains(md.String(), "| GC CPU | 0.20 cores | 0.05 cores |") {
		t.Errorf("markdown table:\n%s", md.String())
	}
	json.NewEncoder(&js).Encode(c)
	var back Comparison
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.Format != FormatVersion || len(back.Metrics) != len(Metrics) {
		t.Errorf("json round trip: %v", err)
	}
}

func TestMarkdownEscapesSnapshotText(t *testing.T) {
	before := snap("<b>x</b>", []float64{0.1, 0.1}, []float64{1, 1}, `{}`,
		"{\"findings\":[{\"id\":\"a`b\",\"severity\":\"warn\",\"title\":\"<script>alert(1)</script> | *x*\"}]}", `[]`, map[string]string{"GOGC": "1`0"})
	after := snap("y", []float64{0.1, 0.1}, []float64{1, 1}, `{}`, `{}`, `[]`, map[string]string{"GOGC": "2"})
	var md bytes.Buffer
	Compare(before, after).WriteMarkdown(&md)
	out := md.String()
	for _, bad := range []string{"<script>", "<b>", "a`b", "1`0"} {
		if strings.Contains(out, bad) {
			t.Errorf("markdown holds %q unescaped:\n%s", bad, out)
		}
	}
	if !strings.Contains(out, "&lt;script&gt;") || !strings.Contains(out, `\|`) {
		t.Errorf("escapes missing:\n%s", out)
	}
}

func TestTextStripsTerminalControls(t *testing.T) {
	before := snap("x\x1b]0;pwned\x07", []float64{0.1, 0.1}, []float64{1, 1}, `{}`,
		"{\"findings\":[{\"id\":\"a\",\"severity\":\"warn\",\"title\":\"\\u001b[2J\\u009b31m boom\"}]}", `[]`, nil)
	after := snap("y", []float64{0.1, 0.1}, []float64{1, 1}, `{}`, `{}`, `[]`, nil)
	var out bytes.Buffer
	Compare(before, after).WriteText(&out)
	if strings.ContainsAny(out.String(), "\x1b\x07\u009b") {
		t.Errorf("control characters reached the text output: %q", out.String())
	}
	if !strings.Contains(out.String(), "boom") {
		t.Errorf("the title itself was lost: %q", out.String())
	}
}
