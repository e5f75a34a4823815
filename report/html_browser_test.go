package report

import (
	"bytes"
	"context"
	"image/png"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/gotune/gotune/internal/testproc"
)

const chromiumPath = "/usr/bin/chromium"

// browser starts a headless Chromium for one test, or skips (fails in CI)
// when none is installed.
func browser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing; .ci/run installs it (apt-get install -y chromium)", chromiumPath)
		}
		t.Skipf("%s is missing: apt-get update && apt-get install -y chromium", chromiumPath)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 1000),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	return ctx
}

// pageEvents records what a page did: console errors, exceptions, network
// requests and dialogs.
type pageEvents struct {
	mu       sync.Mutex
	errors   []string
	requests []string
	dialogs  []string
}

func (p *pageEvents) listen(ev any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning || e.Type == runtime.ConsoleAPICalledTypeAssert {
			var args []string
			for _, a := range e.Args {
				args = append(args, string(a.Value)+a.Description)
			}
			p.errors = append(p.errors, "console."+string(e.Type)+": "+strings.Join(args, " "))
		}
	case *runtime.EventExceptionThrown:
		text := e.ExceptionDetails.Text
		if e.ExceptionDetails.Exception != nil {
			text += " " + e.ExceptionDetails.Exception.Description
		}
		p.errors = append(p.errors, "exception: "+text)
	case *log.EventEntryAdded:
		if e.Entry.Level == log.EntryLevelError || e.Entry.Level == log.EntryLevelWarning {
			p.errors = append(p.errors, "log "+string(e.Entry.Level)+": "+e.Entry.Text+" "+e.Entry.URL)
		}
	case *network.EventRequestWillBeSent:
		p.requests = append(p.requests, e.Request.URL)
	case *page.EventJavascriptDialogOpening:
		p.dialogs = append(p.dialogs, e.Message)
	}
}

func (p *pageEvents) snapshot() (errors, requests, dialogs []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.errors...), append([]string(nil), p.requests...), append([]string(nil), p.dialogs...)
}

// open writes the report's HTML to a file and loads it.
func open(t *testing.T, ctx context.Context, r *Report, name string) (pageURL string, ev *pageEvents) {
	t.Helper()
	var b bytes.Buffer
	if err := r.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	pageURL = (&url.URL{Scheme: "file", Path: path}).String()
	ev = &pageEvents{}
	if err := chromedp.Listen(ctx, ev.listen); err != nil {
		t.Fatal(err)
	}
	if _, err := run(ctx, chromedp.Steps(chromedp.Navigate(pageURL), chromedp.WaitVisible(chromedp.ID("flame")))); err != nil {
		t.Fatalf("load %s: %v", pageURL, err)
	}
	return pageURL, ev
}

// browserLimit bounds each browser action: a guard against a hung
// Chromium, not a speed check (on the loaded CI machine under -race a
// screenshot has taken tens of seconds).
const browserLimit = testproc.MinWait

// run runs one browser action within browserLimit.
func run[T any](ctx context.Context, a chromedp.Action[T]) (T, error) {
	tctx, cancel := context.WithTimeout(ctx, browserLimit)
	defer cancel()
	return chromedp.Run(tctx, a)
}

// do runs a browser action whose failure ends the test.
func do[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	return do(t, ctx, "evaluate "+js, chromedp.Evaluate[T](js))
}

// inkStats measures a screenshot: the share of pixels that are not near
// white, and the number of distinct colours.
func inkStats(t *testing.T, pngData []byte) (ink float64, colors int) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(pngData))
	if err != nil {
		t.Fatalf("decode screenshot: %v", err)
	}
	b := img.Bounds()
	seen := map[uint32]bool{}
	var inked, total int
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			seen[r<<16|g<<8|bl] = true
			if r < 235 || g < 235 || bl < 235 {
				inked++
			}
			total++
		}
	}
	return float64(inked) / float64(total), len(seen)
}

type box struct{ W, H float64 }

// The HTML report in a real browser: no console errors, no network, the
// charts and the flame graph are drawn, and clicking a frame zooms into it.
func TestHTMLInBrowser(t *testing.T) {
	before, after := fixtureSnapshots(t)
	r, err := Build(before, after)
	if err != nil {
		t.Fatal(err)
	}
	ctx := browser(t)
	pageURL, ev := open(t, ctx, r, "report.html")

	// Every SVG chart and the flame graph take room on the page.
	charts := eval[[]box](t, ctx, `[...document.querySelectorAll("svg.chart-svg")].map(e => { const r = e.getBoundingClientRect(); return {W: r.width, H: r.height}; })`)
	if len(charts) != len(Charts) {
		t.Errorf("%d charts on the page, want %d", len(charts), len(Charts))
	}
	for i, c := range charts {
		if c.W < 200 || c.H < 60 {
			t.Errorf("chart %d is %.0f×%.0f px", i, c.W, c.H)
		}
	}
	lines := eval[int](t, ctx, `[...document.querySelectorAll("svg.chart-svg polyline")].filter(p => { const r = p.getBoundingClientRect(); return r.width > 50; }).length`)
	if lines < len(Charts) {
		t.Errorf("only %d chart lines are wider than 50 px", lines)
	}
	flame := eval[box](t, ctx, `(() => { const r = document.getElementById("flame").getBoundingClientRect(); return {W: r.width, H: r.height}; })()`)
	frames := eval[int](t, ctx, `[...document.querySelectorAll("#flame g.f rect")].filter(e => e.getBoundingClientRect().width > 0).length`)
	t.Logf("charts: %d, chart lines drawn: %d, flame graph %.0f×%.0f px with %d visible frames", len(charts), lines, flame.W, flame.H, frames)
	if flame.W < 600 || flame.H < 3*flameRowH || frames < 5 {
		t.Errorf("flame graph %.0f×%.0f px with %d visible frames", flame.W, flame.H, frames)
	}

	// Screenshots are not blank: the whole page, a chart, the flame graph.
	full := do(t, ctx, "full-page screenshot", chromedp.FullScreenshot(100))
	ink, colors := inkStats(t, full)
	t.Logf("full-page screenshot: %d bytes, %.1f%% non-white pixels, %d distinct colours", len(full), ink*100, colors)
	if ink < 0.03 || colors < 50 {
		t.Errorf("page screenshot looks blank: %.2f%% non-white, %d colours", ink*100, colors)
	}
	for _, sel := range []string{"#chart-heap", "#flame"} {
		shot := do(t, ctx, sel+" screenshot", chromedp.Screenshot(chromedp.CSS(sel)))
		ink, colors := inkStats(t, shot)
		t.Logf("%s screenshot: %.1f%% non-white pixels, %d distinct colours", sel, ink*100, colors)
		if ink < 0.05 || colors < 8 {
			t.Errorf("%s screenshot looks blank: %.2f%% non-white, %d colours", sel, ink*100, colors)
		}
	}

	// Click a frame of the second row or deeper that is narrower than half
	// the graph: it becomes the full width, and frames outside it hide.
	target := eval[struct {
		ID   string
		X, Y float64
		W    float64
	}](t, ctx, `(() => {
		const g = [...document.querySelectorAll("#flame g.f")].find(g => +g.dataset.d >= 2 && +g.dataset.w > 0.05 && +g.dataset.w < 0.5 && !g.classList.contains("other"));
		g.scrollIntoView({block: "center"});
		const r = g.querySelector("rect").getBoundingClientRect();
		return {ID: g.dataset.id, X: r.x + r.width / 2, Y: r.y + r.height / 2, W: r.width};
	})()`)
	if target.ID == "" {
		t.Fatal("no flame frame to click")
	}
	do(t, ctx, "click the frame", chromedp.MouseClickXY(target.X, target.Y))
	zoomed := eval[struct {
		Zoom    string
		W, Full float64
		Hidden  int
		Info    string
	}](t, ctx, `(() => {
		const svg = document.getElementById("flame");
		const g = svg.querySelector('g.f[data-id="`+target.ID+`"]');
		return {Zoom: svg.dataset.zoom, W: g.querySelector("rect").getBoundingClientRect().width,
			Full: svg.getBoundingClientRect().width,
			Hidden: [...svg.querySelectorAll("g.f")].filter(f => f.style.display === "none").length,
			Info: document.getElementById("flame-info").textContent};
	})()`)
	t.Logf("clicked frame %s: width %.0f px → %.0f px of %.0f; %d frames hidden; info %q", target.ID, target.W, zoomed.W, zoomed.Full, zoomed.Hidden, zoomed.Info)
	if zoomed.Zoom != target.ID {
		t.Errorf("after the click data-zoom is %q, want %q", zoomed.Zoom, target.ID)
	}
	if zoomed.W < zoomed.Full*0.98 || zoomed.W <= target.W*1.5 {
		t.Errorf("clicked frame is %.0f px wide after the zoom (was %.0f, graph %.0f)", zoomed.W, target.W, zoomed.Full)
	}
	if zoomed.Hidden == 0 || !strings.HasPrefix(zoomed.Info, "Zoomed into ") {
		t.Errorf("zoom hid %d frames, info %q", zoomed.Hidden, zoomed.Info)
	}
	// Escape zooms back out.
	do(t, ctx, "press Escape", chromedp.KeyEvent("\u001b"))
	if z := eval[string](t, ctx, `document.getElementById("flame").dataset.zoom`); z != "0" {
		t.Errorf("after Escape data-zoom is %q, want 0", z)
	}

	errs, reqs, dialogs := ev.snapshot()
	t.Logf("console errors: %d, requests: %v, dialogs: %d", len(errs), reqs, len(dialogs))
	for _, e := range errs {
		t.Errorf("console: %s", e)
	}
	for _, u := range reqs {
		if u != pageURL {
			t.Errorf("the page requested %s; only the page itself may be loaded", u)
		}
	}
	if len(reqs) != 1 {
		t.Errorf("%d requests (%v), want exactly the page", len(reqs), reqs)
	}
	if len(dialogs) > 0 {
		t.Errorf("dialogs opened: %v", dialogs)
	}
}

// A snapshot full of markup is shown as text: no script runs, nothing is
// requested.
func TestHTMLHostileInBrowser(t *testing.T) {
	_, after := fixtureSnapshots(t)
	h := hostile()
	h.Profiles = after.Profiles // so the flame graph is there to wait for
	r, err := Build(h, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := browser(t)
	pageURL, ev := open(t, ctx, r, "hostile.html")
	if n := eval[int](t, ctx, `document.querySelectorAll("img, body script").length`); n != 1 {
		t.Errorf("%d img or script elements, want only the report's own script", n)
	}
	text := eval[string](t, ctx, `document.body.innerText`)
	if !strings.Contains(text, `<script>alert("x")</script>`) {
		t.Error("the hostile text is not shown as text")
	}
	errs, reqs, dialogs := ev.snapshot()
	if len(errs) > 0 || len(dialogs) > 0 {
		t.Errorf("console %v, dialogs %v", errs, dialogs)
	}
	for _, u := range reqs {
		if u != pageURL {
			t.Errorf("the page requested %s", u)
		}
	}
}
