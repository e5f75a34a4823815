// Package discover finds the Go processes on a host and works out how gotune
// can reach each: the gotune agent, net/http/pprof, a Prometheus or expvar
// page on one of its listening sockets, a gops agent through its port file,
// or only the OS view. It owns `gotune ps` (Scan) and the PID half of
// `gotune attach` (Resolve).
//
// Go processes are recognised by the build info of their executable: on
// Linux /proc/PID/exe, which debug/buildinfo reads even for deleted
// binaries; elsewhere the path the OS gives for it. The OS figures and the
// listening sockets come through collectors/proc and gopsutil on Linux,
// macOS, FreeBSD and Windows (docs/hosts.md says what each OS lacks). Processes of other users
// that gotune may not inspect are kept, with what could be read and why the
// rest could not, never dropped in silence.
package discover

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gotune/gotune/collectors/gops"
	"github.com/gotune/gotune/collectors/proc"
)

// Defaults for Options.
const (
	// DefaultCPUWindow is the interval between the two CPU-time readings
	// that give CPU %. Linux counts CPU time in 10 ms ticks, so 250 ms resolves
	// 4 % of a core, and the window overlaps the probes.
	DefaultCPUWindow = 250 * time.Millisecond
	// DefaultWorkers bounds how many processes are inspected, and how many
	// probe requests are in flight, at once.
	DefaultWorkers = 32
)

// EnableHint is the line gotune prints for a process it can reach only
// through the OS.
const EnableHint = `no profiles: add import _ "net/http/pprof" (and import _ "github.com/gotune/gotune/agent" for live runtime metrics) and serve them with go http.ListenAndServe("localhost:6060", nil)`

// Options tune Scan and Resolve. The zero value reads the live host.
type Options struct {
	Root         string        // directory holding proc/ and etc/: "/" when ""
	ProbeTimeout time.Duration // per probe request; DefaultProbeTimeout when 0
	CPUWindow    time.Duration // between the CPU readings; DefaultCPUWindow when 0, <0 for no CPU %
	Workers      int           // DefaultWorkers when 0
	NoProbe      bool          // do not connect to any socket (ps --no-probe)
	HTTP         *http.Client  // NewProbeClient() when nil
}

func (o Options) withDefaults() Options {
	if o.Root == "" {
		o.Root = "/"
	}
	if o.ProbeTimeout <= 0 {
		o.ProbeTimeout = DefaultProbeTimeout
	}
	if o.CPUWindow == 0 {
		o.CPUWindow = DefaultCPUWindow
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.HTTP == nil {
		o.HTTP = NewProbeClient()
	}
	return o
}

func (o Options) procRoot() string { return filepath.Join(o.Root, "proc") }

// Reach says how gotune can talk to a process. URL fields hold full URLs of
// the endpoints that answered; BaseURL is the one to hand to URL mode.
type Reach struct {
	BaseURL       string `json:"base_url,omitempty"`
	AgentURL      string `json:"agent_url,omitempty"`
	PprofURL      string `json:"pprof_url,omitempty"`
	PrometheusURL string `json:"prometheus_url,omitempty"`
	ExpvarURL     string `json:"expvar_url,omitempty"`
	GopsAddr      string `json:"gops_addr,omitempty"`
	GopsPortFile  string `json:"gops_port_file,omitempty"`
	// Listening are the TCP addresses the process listens on; nil when
	// they could not be read (see Unknown).
	Listening []string `json:"listening,omitempty"`
	// OSOnly is true when nothing but the OS reaches the process; Hint then
	// says how to enable profiles.
	OSOnly bool   `json:"os_only,omitempty"`
	Hint   string `json:"hint,omitempty"`
	// Unknown is why reachability could not be fully determined (another
	// user's sockets, another network namespace), or "".
	Unknown string `json:"unknown,omitempty"`

	baseRank int
}

// Metrics names the source gotune would read runtime metrics from, in
// order of preference: "agent", "prometheus", "expvar", "gops", "os".
func (r Reach) Metrics() string {
	switch {
	case r.AgentURL != "":
		return "agent"
	case r.PrometheusURL != "":
		return "prometheus"
	case r.ExpvarURL != "":
		return "expvar"
	case r.GopsAddr != "":
		return "gops"
	}
	return "os"
}

// String is the one-line summary `gotune ps` shows.
func (r Reach) String() string {
	var parts []string
	base := strings.TrimPrefix(r.BaseURL, "http://")
	if r.AgentURL != "" {
		parts = append(parts, "agent")
	}
	if r.PprofURL != "" {
		parts = append(parts, "pprof")
	}
	if r.PrometheusURL != "" && r.AgentURL == "" {
		parts = append(parts, "prometheus")
	}
	if r.ExpvarURL != "" && r.AgentURL == "" && r.PrometheusURL == "" {
		parts = append(parts, "expvar")
	}
	s := ""
	if len(parts) > 0 {
		s = strings.Join(parts, "+") + " " + base
	}
	if r.GopsAddr != "" {
		if s != "" {
			s += ", "
		}
		s += "gops " + r.GopsAddr
	}
	switch {
	case s != "" && r.Unknown != "":
		return s + " (partial)"
	case s != "":
		return s
	case r.Unknown != "":
		return "unknown"
	}
	return "OS only"
}

// Process is one row of `gotune ps`.
type Process struct {
	PID     int    `json:"pid"`
	User    string `json:"user,omitempty"`
	UID     int    `json:"uid"`
	Command string `json:"command"`
	Exe     string `json:"exe,omitempty"` // the executable's path (Linux: /proc/PID/exe target; may end in " (deleted)")
	// GoVersion is "" when the binary could not be read; such a row is
	// Partial and Reasons say why.
	GoVersion string    `json:"go_version,omitempty"`
	Build     *Build    `json:"build,omitempty"`
	StartTime time.Time `json:"start_time,omitzero"`
	// UptimeSeconds is 0 when the start time is unknown.
	UptimeSeconds float64 `json:"uptime_seconds,omitempty"`
	// CPUPercent is CPU use over the scan's window, in percent of one core;
	// nil when unknown.
	CPUPercent *float64 `json:"cpu_percent,omitempty"`
	RSSBytes   uint64   `json:"rss_bytes"`
	Threads    int      `json:"threads"`
	Reach      Reach    `json:"reach"`
	// Partial is true when some facts could not be read; Reasons say which
	// and why.
	Partial bool     `json:"partial,omitempty"`
	Reasons []string `json:"reasons,omitempty"`

	stat proc.ProcessStat
	env  map[string]string
	ns   string
}

func (p *Process) addReason(format string, args ...any) {
	r := fmt.Sprintf(format, args...)
	if !slices.Contains(p.Reasons, r) {
		p.Reasons = append(p.Reasons, r)
	}
	p.Partial = true
}

// Scan lists every Go process on the host (except gotune itself), sorted by
// PID, with its OS figures and how gotune can reach it. It takes about
// Options.CPUWindow (or the probe timeout, if longer) however many processes
// there are.
func Scan(ctx context.Context, opts Options) ([]Process, error) {
	opts = opts.withDefaults()
	fsys := proc.FS{Root: opts.Root}
	pids, err := fsys.PIDs(ctx)
	if err != nil {
		return nil, err
	}
	self := os.Getpid()
	pids = slices.DeleteFunc(pids, func(p int) bool { return p == self && opts.Root == "/" })

	in := inspector{opts: opts, fsys: fsys, sockets: newSocketFinder(opts, true), ourNS: ourNetNS(opts)}
	first := time.Now()
	found := make([]*Process, len(pids))
	parallel(ctx, len(pids), opts.Workers, func(i int) {
		found[i] = in.inspect(ctx, pids[i])
	})
	procs := slices.DeleteFunc(found, func(p *Process) bool { return p == nil })

	// Reachability (probes) overlaps the CPU window.
	done := make(chan struct{})
	go func() {
		defer close(done)
		sem := make(chan struct{}, opts.Workers)
		parallel(ctx, len(procs), opts.Workers, func(i int) {
			if procs[i].GoVersion == "" {
				// Not known to be Go: its sockets are none of our business.
				procs[i].Reach = Reach{Unknown: "not known to be a Go program"}
				return
			}
			procs[i].Reach = in.reach(ctx, procs[i], sem, Overrides{})
		})
	}()
	if opts.CPUWindow > 0 {
		select {
		case <-time.After(time.Until(first.Add(opts.CPUWindow))):
		case <-ctx.Done():
		}
		parallel(ctx, len(procs), opts.Workers, func(i int) {
			p := procs[i]
			cur, err := fsys.CPUReading(ctx, p.PID)
			if err != nil {
				return
			}
			if pct, ok := proc.CPUPercent(p.stat, cur); ok {
				p.CPUPercent = &pct
			}
		})
	}
	<-done
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]Process, len(procs))
	now := time.Now()
	for i, p := range procs {
		if !p.StartTime.IsZero() {
			p.UptimeSeconds = max(0, now.Sub(p.StartTime).Truncate(time.Second).Seconds())
		}
		out[i] = *p
	}
	slices.SortFunc(out, func(a, b Process) int { return a.PID - b.PID })
	return out, nil
}

// parallel runs f(0..n-1) on at most workers goroutines.
func parallel(ctx context.Context, n, workers int, f func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(n, workers) {
		wg.Go(func() {
			for i := range next {
				f(i)
			}
		})
	}
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
}

type inspector struct {
	opts    Options
	fsys    proc.FS
	sockets *socketFinder
	ourNS   string
}

// inspect reads one process; nil means "not a Go process" (or gone).
func (in *inspector) inspect(ctx context.Context, pid int) *Process {
	procRoot := in.opts.procRoot()
	var st proc.ProcessStat
	var stErr error
	read := false
	summary := func() (proc.ProcessStat, error) {
		if !read {
			st, stErr = in.fsys.ProcessSummary(ctx, pid)
			read = true
		}
		return st, stErr
	}
	// Build info first: most processes are not Go, and for them nothing
	// else needs reading.
	b, note, err := readProcessBuild(func() (string, error) { return buildPath(ctx, in.fsys, procRoot, pid) }, func() []string {
		st, _ := summary()
		return st.Cmdline
	})
	if read && errors.Is(stErr, fs.ErrPermission) {
		return hiddenRow(pid)
	}
	if err != nil && !errors.Is(err, fs.ErrPermission) {
		return nil // not Go, kernel thread, zombie, or exited meanwhile
	}
	if _, err := summary(); err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return hiddenRow(pid)
		}
		return nil // gone
	}
	p := &Process{
		PID:       pid,
		User:      st.User,
		UID:       st.UID,
		Command:   command(st),
		Exe:       in.exe(ctx, pid),
		StartTime: st.StartTime,
		RSSBytes:  st.RSS,
		Threads:   st.NumThreads,
		stat:      st,
	}
	if b != nil {
		p.Build, p.GoVersion = b, b.GoVersion
	}
	if note != "" {
		p.addReason("%s", note)
	}
	if err != nil {
		p.addReason("cannot tell whether it is a Go program: %s: permission denied%s", exeName(procRoot, pid), asRoot(p))
	}
	for _, m := range st.Missing {
		if m.PermissionDenied() {
			p.addReason("%s: permission denied%s", m.What, asRoot(p))
		} else {
			p.addReason("%s", m.Error())
		}
	}
	if env, err := in.fsys.Environ(ctx, pid); err == nil {
		p.env = env
	} else if errors.Is(err, fs.ErrPermission) {
		p.addReason("environment: permission denied%s", asRoot(p))
	}
	p.ns = netNS(procRoot, pid)
	return p
}

// exe is the executable's path as the OS names it ("/usr/bin/x", on Linux
// maybe with a " (deleted)" suffix), or "".
func (in *inspector) exe(ctx context.Context, pid int) string {
	s, err := in.fsys.Exe(ctx, pid)
	if err != nil {
		return ""
	}
	return s
}

// hiddenRow is the row of a process whose /proc entry is listed but not
// readable (proc mounted with hidepid=1): kept so it is not dropped in
// silence.
func hiddenRow(pid int) *Process {
	p := &Process{PID: pid, UID: -1, Command: "?", Reach: Reach{Unknown: "not known to be a Go program"}}
	p.addReason("/proc/%d: permission denied (proc is mounted with hidepid)%s", pid, asRoot(p))
	return p
}

func asRoot(p *Process) string {
	if runtime.GOOS == "windows" {
		return " (run gotune elevated, as an Administrator)"
	}
	if os.Geteuid() == 0 {
		return ""
	}
	if p.User != "" && p.UID != 0 {
		return " (run gotune as root or as " + p.User + ")"
	}
	return " (run gotune as root)"
}

func command(st proc.ProcessStat) string {
	if len(st.Cmdline) > 0 {
		return strings.Join(st.Cmdline, " ")
	}
	return "[" + st.Comm + "]"
}

// Overrides replace parts of detection (attach --url, --gops-port).
type Overrides struct {
	URL      string // base URL of the target's HTTP server
	GopsPort int    // port of its gops agent on 127.0.0.1
}

// reach works out how to talk to p. sem bounds probe requests across
// processes.
func (in *inspector) reach(ctx context.Context, p *Process, sem chan struct{}, ov Overrides) Reach {
	var r Reach
	listening, err := in.sockets.listening(ctx, p)
	switch {
	case err == nil:
		r.Listening = []string{}
		for _, a := range listening {
			r.Listening = append(r.Listening, a.String())
		}
	case errors.Is(err, fs.ErrPermission):
		r.Unknown = "its sockets: permission denied" + asRoot(p)
	default:
		r.Unknown = "its sockets: " + err.Error()
	}

	// gops: the port file, checked against start time and sockets.
	if ov.GopsPort > 0 {
		r.GopsAddr = netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(ov.GopsPort)).String()
	} else {
		t := gops.Target{PID: p.PID, StartTime: p.StartTime, UID: p.UID, Env: p.env, ProcRoot: gopsProcRoot(in.opts)}
		if r.Listening != nil && r.Unknown == "" {
			t.ListeningPorts = []int{}
			for _, a := range listening {
				t.ListeningPorts = append(t.ListeningPorts, int(a.Port()))
			}
		}
		if a, err := gops.FindAgent(t); err == nil {
			r.GopsAddr, r.GopsPortFile = a.Addr, a.PortFile
		}
	}

	// HTTP: the override, else every listening socket but the gops agent's
	// (an HTTP request would occupy its one-connection-at-a-time loop).
	var bases []string
	if ov.URL != "" {
		bases = []string{strings.TrimRight(ov.URL, "/")}
	} else if !in.opts.NoProbe {
		if in.ourNS != "" && p.ns != "" && p.ns != in.ourNS && len(listening) > 0 {
			r.Unknown = joinReason(r.Unknown, "it runs in another network namespace (a container?): its sockets are not reachable from here; use --url")
			listening = nil
		}
		for _, a := range listening {
			if r.GopsAddr != "" && strconv.Itoa(int(a.Port())) == portOf(r.GopsAddr) {
				continue
			}
			bases = append(bases, baseURLs(a)...)
		}
	}
	found := make([]Endpoints, len(bases))
	var wg sync.WaitGroup
	for i, base := range bases {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			found[i] = Probe(ctx, in.opts.HTTP, base, in.opts.ProbeTimeout)
			<-sem
		})
	}
	wg.Wait()
	seenPort := map[string]bool{}
	for _, e := range found {
		if !e.Any() || seenPort[portOf(e.Base)] { // [::] probed twice: keep the first that answered
			continue
		}
		seenPort[portOf(e.Base)] = true
		r.addEndpoints(e)
	}
	if r.AgentURL == "" && r.PprofURL == "" && r.PrometheusURL == "" && r.ExpvarURL == "" && r.GopsAddr == "" && r.Unknown == "" {
		r.OSOnly = true
		r.Hint = EnableHint
	}
	return r
}

func (r *Reach) addEndpoints(e Endpoints) {
	set := func(dst *string, ok bool, path string) {
		if ok && *dst == "" {
			*dst = e.Base + path
		}
	}
	set(&r.AgentURL, e.Agent, PathAgent)
	set(&r.PprofURL, e.Pprof, PathPprof)
	set(&r.PrometheusURL, e.Prometheus, PathPrometheus)
	set(&r.ExpvarURL, e.Expvar, PathExpvar)
	// The base URL gotune's URL mode should use: the server with the best
	// metrics source, preferring one that also serves pprof.
	if r.BaseURL == "" || rank(e) > r.baseRank {
		r.BaseURL, r.baseRank = e.Base, rank(e)
	}
}

func rank(e Endpoints) int {
	n := 0
	if e.Agent {
		n += 8
	}
	if e.Pprof {
		n += 4
	}
	if e.Prometheus {
		n += 2
	}
	if e.Expvar {
		n++
	}
	return n
}

func baseURLs(a netip.AddrPort) []string {
	var out []string
	for _, d := range dialAddrs(a) {
		out = append(out, "http://"+d.String())
	}
	return out
}

func portOf(hostport string) string {
	hostport = strings.TrimPrefix(hostport, "http://")
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 {
		return hostport[i+1:]
	}
	return ""
}

func joinReason(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// ErrNotGo is returned by Resolve for a process without Go build info.
var ErrNotGo = errors.New("not a Go program")

// Resolve works out how `gotune attach PID` reaches pid: its listening
// sockets probed for the gotune agent, pprof, Prometheus and expvar, its gops
// agent through a validated port file, else the OS only (Reach.Hint says how
// to enable profiles). Overrides replace the HTTP or gops detection. The
// returned Process holds the OS figures, build info and GO* environment
// facts (no CPU %: that needs two readings).
func Resolve(ctx context.Context, pid int, ov Overrides, opts Options) (Process, error) {
	opts = opts.withDefaults()
	fsys := proc.FS{Root: opts.Root}
	in := inspector{opts: opts, fsys: fsys, sockets: newSocketFinder(opts, false), ourNS: ourNetNS(opts)}
	st, err := fsys.ProcessSummary(ctx, pid)
	if err != nil {
		return Process{}, err
	}
	p := in.inspect(ctx, pid)
	if p == nil {
		return Process{}, fmt.Errorf("process %d (%s): %w: its executable has no Go build info", pid, command(st), ErrNotGo)
	}
	if ov.URL != "" {
		e := Probe(ctx, opts.HTTP, strings.TrimRight(ov.URL, "/"), opts.ProbeTimeout)
		if !e.Any() {
			return *p, fmt.Errorf("--url %s: none of %s, %s, %s, %s answered", ov.URL, PathAgent, PathPprof, PathPrometheus, PathExpvar)
		}
	}
	if ov.GopsPort < 0 || ov.GopsPort > 65535 {
		return *p, fmt.Errorf("--gops-port %d: not a TCP port", ov.GopsPort)
	}
	p.Reach = in.reach(ctx, p, make(chan struct{}, opts.Workers), ov)
	if !p.StartTime.IsZero() {
		p.UptimeSeconds = max(0, time.Since(p.StartTime).Truncate(time.Second).Seconds())
	}
	return *p, nil
}

// Inspect reads one Go process's OS figures, build info and GO*
// environment without probing how to reach it: the process behind a URL
// target, found by LocalPID. It fails with ErrNotGo for a process that is
// not a Go program (a proxy in front of the target).
func Inspect(ctx context.Context, pid int, opts Options) (Process, error) {
	opts = opts.withDefaults()
	fsys := proc.FS{Root: opts.Root}
	in := inspector{opts: opts, fsys: fsys}
	st, err := fsys.ProcessSummary(ctx, pid)
	if err != nil {
		return Process{}, err
	}
	p := in.inspect(ctx, pid)
	if p == nil {
		return Process{}, fmt.Errorf("process %d (%s): %w: its executable has no Go build info", pid, command(st), ErrNotGo)
	}
	if !p.StartTime.IsZero() {
		p.UptimeSeconds = max(0, time.Since(p.StartTime).Truncate(time.Second).Seconds())
	}
	return *p, nil
}

// Env returns the process's GO* environment as read at discovery (nil when
// unreadable). It never holds other variables.
func (p Process) Env() map[string]string { return p.env }

// Args is the command line as the argv vector (nil when unreadable):
// redaction works on it, since a value may hold spaces.
func (p Process) Args() []string { return p.stat.Cmdline }
