// Command hostile is a test target for gotune's terminal safety: a Go
// program whose every outside-controlled text carries terminal escape
// sequences. Its argv (and argv0, as the test starts it) carry what the
// test passes; the profiles it serves have function names, file names,
// sample labels and goroutine labels carrying Payload; its goroutines run
// under pprof labels carrying Payload (GODEBUG tracebacklabels=1 puts them
// into the debug=2 dump too); its gotune agent document says its
// go_version is Payload; and a second port answers every request with
// HTTP 500 and a short body carrying ErrorBody.
//
// Payload (package internal/hostile) holds OSC 0 and OSC 2 (window title),
// OSC 52 (clipboard write), OSC 8 (hyperlink), CSI (clear screen, cursor
// moves), SGR 8 (conceal), and 8-bit C1 controls both as UTF-8 runes
// (U+009B, U+009D) and as raw bytes 0x9b and 0x9d (invalid UTF-8). Its
// visible words are INJECTED, PWNED, CONCEALED and LINK: a sanitizer
// keeps them, so a test can tell "shown inert" from "dropped".
//
// Some runtime figures of the agent document are changed too, so that
// gotune's advisor names the crafted stacks: a mutex wait of 2 s/s and a
// goroutine count growing 20 a second (the crafted goroutine group grows
// alike).
//
// Served on the first port: /debug/pprof/{heap,allocs,profile,mutex,block}
// as crafted protos (cumulative ones grow with each request, so window
// deltas are not empty), /debug/pprof/goroutine as the real profile plus
// crafted samples (proto), the real debug=1 and debug=2 texts plus a
// crafted group each, /debug/pprof/trace (the real one),
// /debug/pprof/cmdline, and the gotune agent's real document with its
// strings changed (and everything an HTTP 500 with ErrorBody after POST /hostile/fail,
// until POST /hostile/fail?off). It ignores its arguments, prints
// "ready <pid> <url> <error-url>" and serves until killed.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/pprof"
	"os"
	rpprof "runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	gprofile "github.com/google/pprof/profile"

	"github.com/gotune/gotune/agent"
	"github.com/gotune/gotune/internal/hostile"
)

// The payload and its pieces (see package internal/hostile).
const (
	Payload   = hostile.Payload
	ErrorBody = hostile.ErrorBody
	osc0      = hostile.OSC0
	osc52     = hostile.OSC52
	osc8      = hostile.OSC8
	conceal   = hostile.Conceal
	c1Raw     = hostile.C1Raw
)

// The crafted stacks, leaf first: names the flame, top and goroutine
// screens show.
var (
	leafFunc = "main.INJECTEDleaf" + Payload
	midFunc  = "github.com/evil/pkg.(*T).Mid" + conceal + osc8
	rootFunc = "main.main"
	evilFile = "/src/evil" + osc52 + c1Raw + ".go"
)

var (
	requests atomic.Int64
	started  = time.Now()
	// failing makes every endpoint of the first port answer 500 with
	// ErrorBody, so a dashboard already attached shows its sources and
	// fetches failing with that body.
	failing atomic.Bool
)

// leaking is how many goroutines the crafted goroutine group holds now: it
// grows 20 a second, so gotune's leak rule names the group (by its hostile
// function name) and its mutex rule the contended function.
func leaking() int64 { return 7 + int64(time.Since(started).Seconds()*20) }

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	errLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	// The runtime reads GODEBUG again when it changes: the debug=2 dump
	// then prints each goroutine's labels (quoted).
	_ = os.Setenv("GODEBUG", "tracebacklabels=1")
	startLabelledGoroutines()

	mux := http.NewServeMux()
	for _, kind := range []string{"heap", "allocs", "mutex", "block"} {
		mux.HandleFunc("/debug/pprof/"+kind, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("debug") != "" {
				http.Error(w, "debug text is not served for "+kind, http.StatusNotFound)
				return
			}
			writeProfile(w, crafted(kind, requests.Add(1)))
		})
	}
	mux.HandleFunc("/debug/pprof/profile", func(w http.ResponseWriter, r *http.Request) {
		// A CPU profile takes the time asked for (at most 30 s), as the
		// real one does.
		secs, _ := strconv.Atoi(r.URL.Query().Get("seconds"))
		if secs <= 0 {
			secs = 30
		}
		select {
		case <-time.After(time.Duration(min(secs, 30)) * time.Second):
		case <-r.Context().Done():
			return
		}
		writeProfile(w, crafted("profile", requests.Add(1)))
	})
	mux.HandleFunc("/debug/pprof/goroutine", goroutine)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc(agent.Path, agentDocument)
	// POST /hostile/fail: from now on every other endpoint answers HTTP
	// 500 with ErrorBody (a test turns it on once the dashboard is
	// attached); POST /hostile/fail?off turns it off.
	mux.HandleFunc("/hostile/fail", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST", http.StatusMethodNotAllowed)
			return
		}
		failing.Store(!r.URL.Query().Has("off"))
	})

	errMux := http.NewServeMux()
	errMux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(ErrorBody))
	})

	fmt.Printf("ready %d http://%s http://%s\n", os.Getpid(), ln.Addr(), errLn.Addr())
	go func() { _ = (&http.Server{Handler: errMux, ReadHeaderTimeout: 10 * time.Second}).Serve(errLn) }()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() && r.URL.Path != "/hostile/fail" {
			errMux.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
	_ = (&http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}).Serve(ln)
}

// startLabelledGoroutines parks goroutines under pprof labels whose keys
// and values carry Payload, so the runtime's own goroutine profile, debug=1
// and debug=2 texts carry them.
func startLabelledGoroutines() {
	ready := make(chan struct{})
	for i := range 3 {
		go rpprof.Do(context.Background(), rpprof.Labels("job", Payload, "INJECTEDkey"+osc0, "v"+strconv.Itoa(i)), func(context.Context) {
			ready <- struct{}{}
			hostileWorker()
		})
	}
	for range 3 {
		<-ready
	}
}

var never = make(chan struct{})

//go:noinline
func hostileWorker() { <-never }

// crafted is a profile of kind whose stacks and labels carry Payload.
// Cumulative kinds grow with n (the request count) so that two fetches
// differ.
func crafted(kind string, n int64) *gprofile.Profile {
	fns := []*gprofile.Function{
		{ID: 1, Name: leafFunc, SystemName: leafFunc, Filename: evilFile},
		{ID: 2, Name: midFunc, SystemName: midFunc, Filename: evilFile},
		{ID: 3, Name: rootFunc, SystemName: rootFunc, Filename: "/src/main" + osc0 + ".go"},
	}
	locs := make([]*gprofile.Location, len(fns))
	for i, f := range fns {
		locs[i] = &gprofile.Location{ID: uint64(i + 1), Address: uint64(0x1000 * (i + 1)), Line: []gprofile.Line{{Function: f, Line: int64(10 + i)}}}
	}
	p := &gprofile.Profile{Function: fns, Location: locs, TimeNanos: time.Now().UnixNano()}
	labels := map[string][]string{"handler": {Payload}, "INJECTEDkey" + osc52: {"v"}}
	stack := []*gprofile.Location{locs[0], locs[1], locs[2]}
	short := []*gprofile.Location{locs[1], locs[2]}
	vt := func(t, u string) *gprofile.ValueType { return &gprofile.ValueType{Type: t, Unit: u} }
	switch kind {
	case "heap", "allocs":
		p.SampleType = []*gprofile.ValueType{vt("alloc_objects", "count"), vt("alloc_space", "bytes"), vt("inuse_objects", "count"), vt("inuse_space", "bytes")}
		p.PeriodType, p.Period = vt("space", "bytes"), 512*1024
		if kind == "allocs" {
			p.DefaultSampleType = "alloc_space"
		}
		p.Sample = []*gprofile.Sample{
			{Location: stack, Value: []int64{1000 * n, 64 << 20 * n, 500, 32 << 20}, Label: labels},
			{Location: short, Value: []int64{100 * n, 8 << 20 * n, 50, 4 << 20}},
		}
	case "profile":
		p.SampleType = []*gprofile.ValueType{vt("samples", "count"), vt("cpu", "nanoseconds")}
		p.PeriodType, p.Period = vt("cpu", "nanoseconds"), 10_000_000
		p.DurationNanos = int64(time.Second)
		p.Sample = []*gprofile.Sample{
			{Location: stack, Value: []int64{80, 800_000_000}, Label: labels},
			{Location: short, Value: []int64{20, 200_000_000}},
		}
	case "mutex", "block":
		p.SampleType = []*gprofile.ValueType{vt("contentions", "count"), vt("delay", "nanoseconds")}
		p.PeriodType, p.Period = vt("contentions", "count"), 1
		p.Sample = []*gprofile.Sample{
			{Location: stack, Value: []int64{100 * n, int64(50*time.Millisecond) * n}, Label: labels},
			{Location: short, Value: []int64{10 * n, int64(5*time.Millisecond) * n}},
		}
	}
	return p
}

func writeProfile(w http.ResponseWriter, p *gprofile.Profile) {
	w.Header().Set("Content-Type", "application/octet-stream")
	if err := p.Write(w); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

// goroutine serves the real goroutine profile with crafted goroutines
// added: a proto sample, a debug=1 record and a debug=2 goroutine whose
// function names, files, state and labels carry Payload.
func goroutine(w http.ResponseWriter, r *http.Request) {
	debug, _ := strconv.Atoi(r.URL.Query().Get("debug"))
	var real bytes.Buffer
	if err := rpprof.Lookup("goroutine").WriteTo(&real, debug); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	switch debug {
	case 0:
		p, err := gprofile.Parse(&real)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		c := crafted("heap", 1)
		next := uint64(len(p.Location) + 1)
		for _, f := range c.Function {
			f.ID += uint64(len(p.Function)) + 1000
			p.Function = append(p.Function, f)
		}
		for _, l := range c.Location {
			l.ID = next
			next++
			p.Location = append(p.Location, l)
		}
		p.Sample = append(p.Sample, &gprofile.Sample{Location: c.Sample[0].Location, Value: []int64{leaking()},
			Label: map[string][]string{"job": {Payload}, "INJECTEDkey" + osc0: {"v"}}})
		writeProfile(w, p)
	case 1:
		// The real text, then one record as the runtime writes them
		// (labels quoted with %q, as runtime/pprof does), with raw names.
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		text := real.String()
		n := strings.Index(text, "\n") // "goroutine profile: total N"
		total, _ := strconv.Atoi(strings.TrimPrefix(text[:n], "goroutine profile: total "))
		fmt.Fprintf(w, "goroutine profile: total %d\n", total+7)
		fmt.Fprintf(w, "7 @ 0x1000 0x2000 0x3000\n# labels: {%q:%q}\n#\t0x1000\t%s+0x10\t%s:10\n#\t0x2000\t%s+0x10\t%s:11\n#\t0x3000\t%s+0x10\t/src/main.go:12\n\n",
			"job", Payload, leafFunc, evilFile, midFunc, evilFile, rootFunc)
		fmt.Fprint(w, text[n+1:])
	default:
		// The real dump, then one goroutine as a crash dump or a
		// hand-made file would hold it: raw names, a state and labels.
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, real.String())
		fmt.Fprintf(w, "\ngoroutine 999999 [chan receive%s, 5 minutes labels:{%q: %q}]:\n%s(...)\n\t%s:10 +0x10\n%s()\n\t%s:11 +0x10\ncreated by %s in goroutine 1\n\t/src/main.go:12 +0x10\n",
			"INJECTEDstate"+osc0+conceal+c1Raw, "job", Payload, leafFunc, evilFile, midFunc, evilFile, rootFunc)
	}
}

// agentDocument serves the real agent document with its strings carrying
// Payload: go_version, and one metric name more.
func agentDocument(w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	agent.Handler().ServeHTTP(rec, r)
	var doc agent.Document
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	doc.GoVersion = "go1.26" + Payload
	// Figures that make the advisor speak of the crafted stacks: mutex
	// wait of 2 s/s (the mutex profile names the contended function) and a
	// growing goroutine count (the growing group is named).
	for i, m := range doc.Metrics {
		switch m.Name {
		case "/sync/mutex/wait/total:seconds":
			doc.Metrics[i].Value = agent.Float(2 * time.Since(started).Seconds())
		case "/sched/goroutines:goroutines":
			doc.Metrics[i].Value += agent.Float(leaking())
		}
	}
	doc.Metrics = append(doc.Metrics, agent.Metric{Name: "/INJECTED" + osc0 + ":bytes", Kind: "uint64", Value: 1})
	b, err := json.Marshal(doc)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	// encoding/json writes invalid UTF-8 as U+FFFD; put the raw C1 bytes
	// back into go_version, as a hostile agent could send them.
	b = bytes.Replace(b, []byte(`\ufffd2J\ufffd0;PWNED`), []byte("\x9b2J\x9d0;PWNED"), -1)
	w.Header().Set("Content-Type", agent.ContentType)
	_, _ = w.Write(b)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "hostile:", err)
	os.Exit(1)
}
