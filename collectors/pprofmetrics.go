package collectors

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gotune/gotune/measurement"
	"github.com/gotune/gotune/session"
)

// PprofMetricsSource reads runtime figures from a plain net/http/pprof
// server, the most common set-up, which serves no metrics page:
//
//   - /debug/pprof/heap?debug=1 ends with the runtime's MemStats
//     (runtime/pprof writeHeapInternal prints "# runtime.MemStats" and one
//     "# Name = value" line per field after the profile's records): heap in
//     use (HeapAlloc, not live), the heap goal (NextGC), GC cycles (NumGC),
//     the last 256 pauses (PauseNs, made into a pause histogram as for
//     expvar) and GCCPUFraction with LastGC (GC CPU, see session.Derive).
//   - /debug/pprof/goroutine?debug=1 starts with "goroutine profile: total
//     N"; only that first line is read.
//
// Both cost the target more than a metrics page: heap?debug=1 calls
// runtime.ReadMemStats (a short stop-the-world) and prints every heap
// profile record, so its size and cost grow with the heap profile; the
// goroutine profile walks every goroutine's stack. So each is read on its
// own cadence, which grows with the last fetch's latency and size
// (pprofPacer), and the heap page is read within a byte budget: a page
// larger than MaxHeapPage is not read to its end (its MemStats trailer is
// at the end), and it is tried again only rarely.
type PprofMetricsSource struct {
	Base  string // http://host:port
	label string // "pprof :6060"
	opts  HTTPSourceOptions
	// MaxHeapPage is the byte budget of one heap?debug=1 page.
	MaxHeapPage int64

	mu         sync.Mutex
	pauses     pauseHistogram
	heapPace   pprofPacer
	gorPace    pprofPacer
	last       session.Sample // the last reading of each part, carried between fetches
	haveHeap   bool
	haveGor    bool
	skipGor    bool // another member gives the goroutine count
	lastHeapAt time.Time
	lastGorAt  time.Time
}

// Pacing of the pprof endpoints. A fetch may cost the target at most
// pprofCostShare of one core, taking the fetch's latency (loopback: mostly
// the target's own work) as its cost: interval ≥ latency ÷ share. Bigger
// pages are read less often too (pprofBytesPerSecond), and the interval
// never exceeds pprofMaxInterval except after a page over the budget.
// Measured (BenchmarkScrapeTargetCPU): a heap profile of 2000 allocation
// sites makes a 7 MB page that costs the target 1.5–1.8 s of CPU per read, so
// the cap is long enough to keep even that under 1 %.
const (
	pprofCostShare      = 0.01
	pprofBytesPerSecond = 1 << 20
	pprofMaxInterval    = 5 * time.Minute
	pprofOverBudgetWait = 10 * time.Minute
	// DefaultMaxHeapPage is the byte budget of one heap?debug=1 page.
	DefaultMaxHeapPage = 8 << 20
)

// pprofPacer spaces the fetches of one pprof endpoint.
type pprofPacer struct {
	interval  time.Duration    // current minimum spacing
	latency   time.Duration    // the cost estimate: the least of the recent latencies
	latencies [4]time.Duration // of the last fetches, newest at n%4
	n         int
	size      int64 // bytes of the last fetch
	over      bool  // the last page was over the budget
}

// after records a fetch and sets the spacing: max(base, latency ÷
// pprofCostShare, size ÷ pprofBytesPerSecond), capped at pprofMaxInterval.
// The latency taken is the least of the last four: on a busy host one
// fetch can wait long for a CPU without costing the target more.
func (p *pprofPacer) after(base, latency time.Duration, size int64, overBudget bool) {
	p.latencies[p.n%len(p.latencies)] = latency
	p.n++
	p.latency = latency
	for i := range min(p.n, len(p.latencies)) {
		p.latency = min(p.latency, p.latencies[i])
	}
	p.size, p.over = size, overBudget
	latency = p.latency
	iv := max(base, time.Duration(float64(latency)/pprofCostShare), time.Duration(float64(size)/pprofBytesPerSecond*float64(time.Second)))
	iv = min(iv, pprofMaxInterval)
	if overBudget {
		iv = pprofOverBudgetWait
	}
	p.interval = iv.Round(100 * time.Millisecond)
}

// due reports whether a fetch may start at now, last having been at last.
// Half a base interval of slack keeps a runner ticking at the pacer's own
// interval from skipping every other tick.
func (p *pprofPacer) due(now, last time.Time, base time.Duration) bool {
	return last.IsZero() || now.Sub(last) >= p.interval-base/2
}

// NewPprofMetricsSource reads from the pprof endpoints under base.
func NewPprofMetricsSource(base string, opts HTTPSourceOptions) *PprofMetricsSource {
	return &PprofMetricsSource{Base: base, label: endpointLabel("pprof", base), opts: opts.withDefaults(), MaxHeapPage: DefaultMaxHeapPage}
}

func (p *PprofMetricsSource) Via() string { return "pprof" }

// Interval is the spacing the heap page needs now (the slower of the two
// endpoints), base when there is no reason to slow down.
func (p *PprofMetricsSource) Interval(base time.Duration) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	iv := max(base, p.heapPace.interval)
	if !p.skipGor {
		iv = max(iv, p.gorPace.interval)
	}
	return iv
}

// Note says how often the endpoints are read and why, for the status line.
func (p *PprofMetricsSource) Note(base time.Duration) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var parts []string
	say := func(what string, pc pprofPacer) {
		switch {
		case pc.over:
			parts = append(parts, fmt.Sprintf("%s %s is over the %s budget: its MemStats are not read (tried again every %s)",
				p.label, what, measurement.Bytes(float64(p.MaxHeapPage)), pprofOverBudgetWait))
		case pc.interval > base:
			parts = append(parts, fmt.Sprintf("%s %s every %s (%s in %s, kept under %.0f%% of a core on the target)",
				p.label, what, pc.interval, measurement.Bytes(float64(pc.size)), pc.latency.Round(time.Millisecond), pprofCostShare*100))
		}
	}
	say("heap?debug=1", p.heapPace)
	if !p.skipGor {
		say("goroutine?debug=1", p.gorPace)
	}
	return strings.Join(parts, "; ")
}

// Read fetches what is due and returns the latest reading of both parts;
// a part not due this time is carried from its last fetch (its values are
// as of then; the pacer's interval says how old at most).
func (p *PprofMetricsSource) Read(ctx context.Context) (session.Sample, error) {
	return p.read(ctx, time.Second, false)
}

// read fetches the parts that are due, or both when forced (the runner
// already waits the pacer's interval between calls: see FusedSource.Pace).
func (p *PprofMetricsSource) read(ctx context.Context, base time.Duration, force bool) (session.Sample, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	var errs []error
	if force && !p.heapPace.over || p.heapPace.due(now, p.lastHeapAt, base) {
		t0 := time.Now()
		ms, n, err := p.fetchHeapMemStats(ctx)
		p.lastHeapAt = t0
		over := errors.Is(err, errOverBudget)
		p.heapPace.after(base, time.Since(t0), n, over)
		if err != nil {
			errs = append(errs, err)
		} else {
			p.setHeap(ms, now)
		}
	}
	if !p.skipGor && (force || p.gorPace.due(now, p.lastGorAt, base)) {
		t0 := time.Now()
		n, size, err := p.fetchGoroutineTotal(ctx)
		p.lastGorAt = t0
		p.gorPace.after(base, time.Since(t0), size, false)
		if err != nil {
			errs = append(errs, err)
		} else {
			if p.last.Values == nil {
				p.last = session.Sample{Values: map[string]float64{}, Origins: map[string]string{}}
			}
			p.last.Values[session.Goroutines] = float64(n)
			p.last.Origins[session.Goroutines] = p.label + " goroutine?debug=1"
			p.haveGor = true
		}
	}
	if !p.haveHeap && !p.haveGor {
		return session.Sample{}, errors.Join(errs...)
	}
	s := session.Sample{Time: now, Source: "pprof", Values: make(map[string]float64, len(p.last.Values)),
		Histograms: map[string]*session.Histogram{}, Origins: make(map[string]string, len(p.last.Origins))}
	for k, v := range p.last.Values {
		s.Values[k] = v
	}
	for k, h := range p.last.Histograms {
		s.Histograms[k] = h
	}
	for k, o := range p.last.Origins {
		s.Origins[k] = o
	}
	s.Missing = missing(&s)
	if len(errs) > 0 {
		return s, &PartialError{Source: p.label, Err: errors.Join(errs...)}
	}
	return s, nil
}

// setHeap keeps a MemStats reading as the heap part of the last reading.
func (p *PprofMetricsSource) setHeap(ms expvarMemStats, now time.Time) {
	hs := p.pauses.sample(ms, now)
	gor, hadGor := p.last.Values[session.Goroutines]
	gorFrom := p.last.Origins[session.Goroutines]
	p.last = session.Sample{Values: hs.Values, Histograms: hs.Histograms, Origins: map[string]string{}}
	from := p.label + " heap?debug=1 MemStats"
	for k := range p.last.Values {
		p.last.Origins[k] = from
	}
	for k := range p.last.Histograms {
		p.last.Origins[k] = from + " PauseNs"
	}
	if hadGor {
		p.last.Values[session.Goroutines] = gor
		p.last.Origins[session.Goroutines] = gorFrom
	}
	p.haveHeap = true
}

// PartialError says one part of a source failed while the rest was read.
type PartialError struct {
	Source string
	Err    error
}

func (e *PartialError) Error() string { return e.Source + ": " + e.Err.Error() }
func (e *PartialError) Unwrap() error { return e.Err }

var errOverBudget = errors.New("over the byte budget")

// fetchHeapMemStats reads heap?debug=1 within the byte budget and parses
// its MemStats trailer. It returns the bytes read.
func (p *PprofMetricsSource) fetchHeapMemStats(ctx context.Context) (expvarMemStats, int64, error) {
	u := p.Base + "/debug/pprof/heap?debug=1"
	var ms expvarMemStats
	var parseErr error
	n, err := stream(ctx, p.opts.HTTP, u, p.opts.Timeout, func(r io.Reader) (int64, error) {
		cr := &countingReader{r: io.LimitReader(r, p.MaxHeapPage+1)}
		ms, parseErr = ParseHeapMemStats(cr)
		if cr.n > p.MaxHeapPage {
			return cr.n, &FetchError{URL: u, Reason: fmt.Sprintf("the page is larger than the %s budget; its MemStats (at its end) were not read", measurement.Bytes(float64(p.MaxHeapPage))),
				Hint: "the heap profile has many records; gotune reads it again only every " + pprofOverBudgetWait.String(), Err: errOverBudget}
		}
		return cr.n, nil
	})
	if err != nil {
		return ms, n, err
	}
	if parseErr != nil {
		return ms, n, &FetchError{URL: u, Reason: parseErr.Error(), Err: parseErr}
	}
	return ms, n, nil
}

// fetchGoroutineTotal reads the first line of goroutine?debug=1.
func (p *PprofMetricsSource) fetchGoroutineTotal(ctx context.Context) (int, int64, error) {
	u := p.Base + "/debug/pprof/goroutine?debug=1"
	var total int
	var parseErr error
	n, err := stream(ctx, p.opts.HTTP, u, p.opts.Timeout, func(r io.Reader) (int64, error) {
		br := bufio.NewReaderSize(io.LimitReader(r, 4096), 4096)
		line, _ := br.ReadString('\n')
		total, parseErr = ParseGoroutineTotal(line)
		return int64(len(line)), nil
	})
	if err != nil {
		return 0, n, err
	}
	if parseErr != nil {
		return 0, n, &FetchError{URL: u, Reason: parseErr.Error(), Err: parseErr}
	}
	return total, n, nil
}

// ParseGoroutineTotal reads "goroutine profile: total N".
func ParseGoroutineTotal(line string) (int, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(line), "goroutine profile: total ")
	if !ok {
		return 0, fmt.Errorf("not a goroutine profile (debug=1): starts %q", truncateText(line, 60))
	}
	n, err := strconv.Atoi(strings.TrimSpace(rest))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("goroutine total %q is not a count", truncateText(rest, 30))
	}
	return n, nil
}

// ParseHeapMemStats reads a heap?debug=1 page up to its end and returns
// the MemStats of its trailer. Record lines are skipped without being kept.
func ParseHeapMemStats(r io.Reader) (expvarMemStats, error) {
	var ms expvarMemStats
	br := bufio.NewReaderSize(r, 64<<10)
	first, err := br.ReadSlice('\n')
	if err != nil && len(first) == 0 {
		return ms, errors.New("empty page, not a heap profile")
	}
	if !bytes.HasPrefix(first, []byte("heap profile: ")) {
		if looksLikeHTML(first) {
			return ms, errors.New("got an HTML page, not a heap profile (debug=1)")
		}
		return ms, fmt.Errorf("not a heap profile (debug=1): starts %q", truncateText(string(first), 60))
	}
	inTrailer := false
	seen := map[string]bool{}
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A record's stack line longer than the buffer: skip the rest.
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			continue
		}
		if len(line) > 0 {
			l := strings.TrimSpace(string(line))
			switch {
			case l == "# runtime.MemStats":
				inTrailer = true
			case inTrailer && strings.HasPrefix(l, "# "):
				if k, v, ok := strings.Cut(l[2:], " = "); ok {
					if setMemStat(&ms, k, v) {
						seen[k] = true
					}
				}
			}
		}
		if err != nil {
			break
		}
	}
	if !inTrailer {
		return ms, errors.New("the heap profile has no MemStats trailer (cut short?)")
	}
	for _, k := range []string{"HeapAlloc", "NextGC", "NumGC"} {
		if !seen[k] {
			return ms, fmt.Errorf("the heap profile's MemStats have no %s", k)
		}
	}
	return ms, nil
}

// setMemStat sets one "# Name = value" field of the trailer.
func setMemStat(ms *expvarMemStats, k, v string) bool {
	u := func(dst *uint64) bool {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return false
		}
		*dst = n
		return true
	}
	u32 := func(dst *uint32) bool {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return false
		}
		*dst = uint32(n)
		return true
	}
	switch k {
	case "HeapAlloc":
		return u(&ms.HeapAlloc)
	case "NextGC":
		return u(&ms.NextGC)
	case "NumGC":
		return u32(&ms.NumGC)
	case "NumForcedGC":
		return u32(&ms.NumForcedGC)
	case "TotalAlloc":
		return u(&ms.TotalAlloc)
	case "Mallocs":
		return u(&ms.Mallocs)
	case "Frees":
		return u(&ms.Frees)
	case "HeapObjects":
		return u(&ms.HeapObjects)
	case "Sys":
		return u(&ms.Sys)
	case "LastGC":
		return u(&ms.LastGC)
	case "GCCPUFraction":
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || !(f >= 0 && f <= 1) { // NaN too
			return false
		}
		ms.GCCPUFraction = f
		return true
	case "PauseNs":
		inner, ok := strings.CutPrefix(v, "[")
		inner, ok2 := strings.CutSuffix(inner, "]")
		if !ok || !ok2 {
			return false
		}
		f := strings.Fields(inner)
		if len(f) != len(ms.PauseNs) {
			return false
		}
		var a [256]uint64
		for i, s := range f {
			n, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				return false
			}
			a[i] = n
		}
		ms.PauseNs = a
		ms.havePauses = true
		return true
	}
	return false
}

// stream GETs rawURL and hands the body to read, which may stop early (the
// connection is then closed, which also stops the target writing).
func stream(ctx context.Context, c *http.Client, rawURL string, timeout time.Duration, read func(io.Reader) (int64, error)) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return 0, &FetchError{URL: rawURL, Reason: "bad URL: " + err.Error(), Err: err}
	}
	req.Header.Set("User-Agent", userAgent)
	resp, err := c.Do(req)
	if err != nil {
		return 0, classifyTransportError(ctx, rawURL, timeout, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return 0, statusError(rawURL, resp.StatusCode, string(msg))
	}
	n, err := read(resp.Body)
	if err != nil {
		return n, err
	}
	if ctx.Err() != nil {
		return n, classifyTransportError(ctx, rawURL, timeout, ctx.Err())
	}
	return n, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

func truncateText(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
