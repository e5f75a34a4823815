package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/advisor"
	"github.com/gotune/gotune/collectors/cgroup"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/redact"
	"github.com/gotune/gotune/session"
	"github.com/gotune/gotune/snapshot"
)

// render builds the report and writes it in all three formats.
func render(t *testing.T, before, after *snapshot.Snapshot) (r *Report, md, js, html string) {
	t.Helper()
	r, err := Build(before, after)
	if err != nil {
		t.Fatal(err)
	}
	var bm, bj, bh bytes.Buffer
	if err := r.WriteMarkdown(&bm); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteJSON(&bj); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteHTML(&bh); err != nil {
		t.Fatal(err)
	}
	return r, bm.String(), bj.String(), bh.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report/ -update)", err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("%s differs at line %d:\n got %q\nwant %q\n(run go test ./report/ -update if the change is intended)", name, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("%s differs in length: got %d lines, want %d (run go test ./report/ -update if intended)", name, len(gl), len(wl))
	}
}

func TestGoldenSingle(t *testing.T) {
	before, _ := fixtureSnapshots(t)
	_, md, js, _ := render(t, before, nil)
	golden(t, "single.md", md)
	golden(t, "single.json", js)
}

func TestGoldenBeforeAfter(t *testing.T) {
	before, after := fixtureSnapshots(t)
	_, md, js, _ := render(t, before, after)
	golden(t, "before-after.md", md)
	golden(t, "before-after.json", js)
}

func TestSummaryThreeThingsToDo(t *testing.T) {
	before, _ := fixtureSnapshots(t)
	r, md, _, html := render(t, before, nil)
	var ids []string
	for _, td := range r.Summary.ToDo {
		ids = append(ids, td.FindingID)
	}
	// Four findings: crit first, then the two warns by ID; the info one is
	// left out.
	if got, want := strings.Join(ids, ","), "goroutine-leak,gc-cpu-high,memlimit-missing"; got != want {
		t.Errorf("things to do %s, want %s", got, want)
	}
	if r.Summary.ToDo[1].Predicted == "" || r.Summary.ToDo[1].Action.Text != "GOGC=400" {
		t.Errorf("second thing to do lacks its action or prediction: %+v", r.Summary.ToDo[1])
	}
	summary := md[strings.Index(md, "## Summary"):strings.Index(md, "## Environment")]
	for _, want := range []string{"**crit**", "`GOGC=400`", "Predicted: GC CPU 5.1–7.9%", "(high confidence)"} {
		if !strings.Contains(summary, want) {
			t.Errorf("Markdown summary lacks %q:\n%s", want, summary)
		}
	}
	if !strings.Contains(html, "GOGC=400") || !strings.Contains(html, "GC CPU 5.1–7.9%") {
		t.Error("HTML summary lacks the action or the prediction")
	}
	if r.Summary.Worst != "crit" || r.Summary.Counts["warn"] != 2 {
		t.Errorf("summary %+v", r.Summary)
	}
}

func TestSummaryNothingToDo(t *testing.T) {
	s := &snapshot.Snapshot{Manifest: snapshot.Manifest{Target: snapshot.Target{Name: "idle"}, Window: snapshot.Window{Start: t0, End: t0.Add(10e9)}},
		Advice: &advisor.Report{Findings: []advisor.Finding{}, Samples: 10}}
	r, md, js, html := render(t, s, nil)
	if len(r.Summary.ToDo) != 0 || !r.Summary.Advised || !strings.Contains(r.Summary.Text, "Nothing to do") {
		t.Errorf("summary %+v", r.Summary)
	}
	for name, out := range map[string]string{"md": md, "html": html} {
		if !strings.Contains(out, "Nothing to do") {
			t.Errorf("%s does not say there is nothing to do", name)
		}
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(js), &doc); err != nil {
		t.Fatal(err)
	}
	if todo, ok := doc["summary"].(map[string]any)["to_do"].([]any); !ok || len(todo) != 0 {
		t.Errorf("JSON to_do is %v, want an empty array", doc["summary"])
	}
}

// A snapshot saved without findings must not read as a clean bill of
// health.
func TestSummaryWithoutAdvice(t *testing.T) {
	s := &snapshot.Snapshot{Manifest: snapshot.Manifest{Target: snapshot.Target{Name: "unadvised"}, Window: snapshot.Window{Start: t0, End: t0.Add(10 * time.Second)}}}
	r, md, js, html := render(t, s, nil)
	if r.Summary.Advised || len(r.Summary.ToDo) != 0 || !strings.Contains(r.Summary.Text, "No advice") {
		t.Errorf("summary %+v", r.Summary)
	}
	for name, out := range map[string]string{"md": md, "html": html, "json": js} {
		if strings.Contains(out, "Nothing to do") {
			t.Errorf("%s says there is nothing to do although nothing was advised", name)
		}
	}
	if !strings.Contains(js, `"advised": false`) {
		t.Error("JSON does not say the snapshot was not advised")
	}
}

// Secrets are masked when a snapshot is built (snapshot/redact.go); a
// report of it must not bring them back in any format.
func TestRedactedSecretsStayMasked(t *testing.T) {
	before, after := fixtureSnapshots(t)
	_, md, js, html := render(t, before, after)
	for name, out := range map[string]string{"md": md, "json": js, "html": html} {
		for _, secret := range plantedSecrets {
			if strings.Contains(out, secret) {
				t.Errorf("%s report contains the planted secret %q", name, secret)
			}
		}
		for _, gone := range []string{"AWS_SECRET_ACCESS_KEY", "DATABASE_URL"} {
			if strings.Contains(out, gone) {
				t.Errorf("%s report names the non-GO variable %s", name, gone)
			}
		}
		if !strings.Contains(out, redact.Mask) {
			t.Errorf("%s report shows no mask: the masked values are missing altogether", name)
		}
	}
	// Each place a secret was planted shows its mask.
	for _, want := range []string{"--db-password=" + redact.Mask, "admin:" + redact.Mask + "@127.0.0.1:6060", "token=" + redact.Mask, "ci:" + redact.Mask + "@proxy.example.com"} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q", want)
		}
	}
}

// hostile is a snapshot whose every text field tries to inject markup.
func hostile() *snapshot.Snapshot {
	const x = `<script>alert("x")</script><img src=x onerror=alert(1)>`
	s := &snapshot.Snapshot{Manifest: snapshot.Manifest{
		Name:   "name " + x,
		Window: snapshot.Window{Start: t0, End: t0.Add(2e9)},
		Target: snapshot.Target{Name: "target " + x, Command: "cmd " + x + " | `tick`", URL: "http://h/" + x},
		Env:    map[string]string{"GODEBUG": x},
		Notes:  []string{"note " + x},
		Cgroup: &cgroup.Stats{Memory: &cgroup.Memory{From: x + "```"}},
	}}
	s.Advice = &advisor.Report{Findings: []advisor.Finding{{ID: "id-x", Severity: advisor.Warn, Title: "title " + x,
		Evidence:   []advisor.Evidence{{Name: "e", Text: "</td></tr><tr><td>injected", Source: "s"}},
		Action:     advisor.Action{Kind: advisor.ActionEnv, Text: "GOGC=1 | x`", Note: "</script>"},
		Predicted:  &advisor.Prediction{Text: "<b>bold</b>"},
		Confidence: advisor.Low, Source: advisor.Citation{Text: "src", URL: "javascript:alert(1)"}}}}
	s.Goroutines = []profile.GoroutineGroup{{Count: 3, State: "<select>", Frames: []profile.Frame{{Func: "main.<b>f</b>", File: "/x.go", Line: 1}}}}
	for i := range 3 {
		s.Series.Points = append(s.Series.Points, snapshot.Point{Time: t0.Add(time.Duration(i) * time.Second), Values: map[string]float64{session.Goroutines: float64(i)}})
	}
	return s
}

func TestEscaping(t *testing.T) {
	_, md, js, html := render(t, hostile(), nil)
	mdText := outsideCode(md)
	for _, bad := range []string{"<script>alert", "<img src=x", "<b>bold</b>", "<td>injected", "<select>", "main.<b>f", `href="javascript`} {
		if strings.Contains(html, bad) {
			t.Errorf("HTML contains unescaped %q", bad)
		}
		if strings.Contains(mdText, bad) {
			t.Errorf("Markdown contains %q outside code spans and blocks", bad)
		}
	}
	if strings.Contains(mdText, "| x") {
		t.Error("a pipe from the snapshot splits a Markdown table cell")
	}
	if !strings.Contains(html, "&lt;script&gt;alert") {
		t.Error("HTML lost the hostile text instead of escaping it")
	}
	var doc Report
	if err := json.Unmarshal([]byte(js), &doc); err != nil {
		t.Fatalf("JSON of a hostile snapshot does not parse: %v", err)
	}
	if !strings.Contains(doc.Subject.Target, "<script>") {
		t.Error("JSON must hold the text as is (it is data, escaped by encoding/json)")
	}
}

func TestJSONDocument(t *testing.T) {
	before, after := fixtureSnapshots(t)
	_, _, js, _ := render(t, before, after)
	var doc map[string]any
	if err := json.Unmarshal([]byte(js), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["format"] != Format || doc["format_version"] != float64(FormatVersion) {
		t.Errorf("format %v version %v", doc["format"], doc["format_version"])
	}
	for _, k := range []string{"title", "subject", "before", "summary", "environment", "settings", "findings", "what_if", "curves", "profiles", "goroutines", "comparison"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	var r Report
	if err := json.Unmarshal([]byte(js), &r); err != nil {
		t.Fatal(err)
	}
	if r.Comparison == nil || len(r.Comparison.Metrics) == 0 {
		t.Fatal("no comparison in a before/after report")
	}
	for _, c := range r.Curves {
		if len(c.Points) == 0 || len(c.Points) > MaxCurvePoints {
			t.Errorf("curve %s has %d points", c.Key, len(c.Points))
		}
	}
}

func TestCurvesKeepSpikes(t *testing.T) {
	before, _ := fixtureSnapshots(t)
	r, err := Build(before, nil)
	if err != nil {
		t.Fatal(err)
	}
	charts := map[string]bool{}
	for _, c := range r.Curves {
		charts[c.Chart] = true
		if c.Key == session.GOMEMLIMIT {
			t.Error("no memory limit (math.MaxInt64) was drawn as a curve")
		}
	}
	for _, ch := range Charts {
		if !charts[ch.ID] {
			t.Errorf("chart %s has no curve", ch.ID)
		}
	}
	// Downsampled by max, a quantile keeps its one spike.
	pts := make([]CurvePoint, 1000)
	for i := range pts {
		pts[i] = CurvePoint{T: float64(i), V: 1}
	}
	pts[501].V = 50
	ds := downsample(pts, 100, true)
	peak := 0.0
	for _, p := range ds {
		peak = max(peak, p.V)
	}
	if len(ds) != 100 || peak != 50 {
		t.Errorf("downsample by max: %d points, peak %v; want 100 and 50", len(ds), peak)
	}
	if mean := downsample(pts, 100, false); mean[50].V != (9+50)/10.0 {
		t.Errorf("downsample by mean: bucket 50 is %v", mean[50].V)
	}
}

func TestFlameLayout(t *testing.T) {
	_, after := fixtureSnapshots(t)
	r, err := Build(after, nil)
	if err != nil {
		t.Fatal(err)
	}
	fl := r.Flame
	if fl == nil || fl.Profile != "cpu" || len(fl.Frames) < 5 {
		t.Fatalf("flame %+v", fl)
	}
	if root := fl.Frames[0]; root.Parent != -1 || root.X != 0 || root.W != 1 {
		t.Errorf("root frame %+v", root)
	}
	// Children lie inside their parent and do not overlap.
	next := map[int]float64{}
	for _, f := range fl.Frames[1:] {
		p := fl.Frames[f.Parent]
		if f.Depth != p.Depth+1 || f.X < p.X-1e-9 || f.X+f.W > p.X+p.W+1e-9 {
			t.Errorf("frame %q [%v,%v] outside its parent %q [%v,%v]", f.Name, f.X, f.X+f.W, p.Name, p.X, p.X+p.W)
		}
		if f.X < next[f.Parent]-1e-9 {
			t.Errorf("frame %q overlaps its sibling", f.Name)
		}
		next[f.Parent] = f.X + f.W
	}
	// Without a CPU profile, the heap profile is drawn.
	delete(after.Profiles, profile.KindCPU)
	r, _ = Build(after, nil)
	if r.Flame == nil || r.Flame.Profile != "heap" {
		t.Errorf("no heap flame without a CPU profile: %+v", r.Flame)
	}
}

// outsideCode returns md without its code spans and fenced blocks (whose
// content Markdown shows literally): a run of N backticks opens one, the
// next run of exactly N closes it.
func outsideCode(md string) string {
	var b strings.Builder
	run := func(i int) int {
		j := i
		for j < len(md) && md[j] == '`' {
			j++
		}
		return j - i
	}
	for i := 0; i < len(md); {
		if md[i] != '`' {
			b.WriteByte(md[i])
			i++
			continue
		}
		n := run(i)
		j := i + n
		for j < len(md) {
			if md[j] == '`' {
				m := run(j)
				if m == n {
					break
				}
				j += m
				continue
			}
			j++
		}
		i = j + n
	}
	return b.String()
}

// The HTML page is self-contained: nothing in it points to the network.
// Only text from a snapshot may hold a URL, and it is shown escaped, never
// as a link or a source.
func TestHTMLSelfContained(t *testing.T) {
	before, after := fixtureSnapshots(t)
	_, _, _, html := render(t, before, after)
	lower := strings.ToLower(html)
	for _, bad := range []string{"<link", " src=", "href=", "@import", "url(", "@font-face", "<iframe", "<object", "<embed", "xmlns", "<base"} {
		if strings.Contains(lower, bad) {
			i := strings.Index(lower, bad)
			t.Errorf("HTML contains %q: …%s…", bad, html[max(0, i-60):min(len(html), i+60)])
		}
	}
	if n := strings.Count(lower, "<script"); n != 1 {
		t.Errorf("%d script elements, want the one inline script", n)
	}
	// The same snapshots without their URLs (target URL, GOPROXY, finding
	// sources): then no URL is left in the page at all, so the template
	// itself refers to none.
	for _, s := range []*snapshot.Snapshot{before, after} {
		s.Manifest.Target.URL = ""
		delete(s.Manifest.Env, "GOPROXY")
		for i := range s.Advice.Findings {
			f := &s.Advice.Findings[i]
			f.Source.URL = strings.NewReplacer("https://", "", "http://", "").Replace(f.Source.URL)
		}
	}
	_, _, _, html = render(t, before, after)
	for _, scheme := range []string{"http://", "https://", "//fonts", "data:"} {
		if i := strings.Index(html, scheme); i >= 0 {
			t.Errorf("HTML refers to %q: …%s…", scheme, html[max(0, i-60):min(len(html), i+60)])
		}
	}
}
