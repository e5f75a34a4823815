package export

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pprofile"

	"github.com/gotune/gotune/capture"
	"github.com/gotune/gotune/collectors"
	"github.com/gotune/gotune/collectors/discover"
	"github.com/gotune/gotune/internal/testproc"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/session"
)

// fixture loads a committed profile from testdata/profiles as a capture.
func fixture(t testing.TB, kind profile.Kind) *profile.Captured {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(testproc.ModuleRoot(t), "testdata", "profiles", string(kind)+".pb.gz"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := profile.ParseBytes(raw)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(0, p.TimeNanos)
	return &profile.Captured{Kind: kind, Raw: raw, Profile: p, Scope: profile.ScopeInstant, From: at, To: at.Add(time.Duration(p.DurationNanos)), FetchedAt: at}
}

// pprofTotals sums each sample type's values over all samples, as
// `go tool pprof -sample_index=N -top` reports its total.
func pprofTotals(p *profile.Profile) map[string]int64 {
	out := map[string]int64{}
	for i := range p.NumSamples() {
		for t, v := range p.Values(i) {
			out[p.SampleTypes[t].String()] += v
		}
	}
	return out
}

// otlpTotals sums each OTLP profile's sample values by its sample type,
// for the profiles whose gotune.profile.kind attribute is kind.
func otlpTotals(pd pprofile.Profiles, kind profile.Kind) map[string]int64 {
	out := map[string]int64{}
	dict := pd.Dictionary()
	str := func(i int32) string { return dict.StringTable().At(int(i)) }
	rps := pd.ResourceProfiles()
	for i := range rps.Len() {
		sps := rps.At(i).ScopeProfiles()
		for j := range sps.Len() {
			ps := sps.At(j).Profiles()
			for k := range ps.Len() {
				p := ps.At(k)
				if profileAttr(pd, p, "gotune.profile.kind") != string(kind) {
					continue
				}
				st := str(p.SampleType().TypeStrindex()) + "/" + str(p.SampleType().UnitStrindex())
				for s := range p.Samples().Len() {
					vs := p.Samples().At(s).Values()
					for v := range vs.Len() {
						out[st] += vs.At(v)
					}
				}
			}
		}
	}
	return out
}

func profileAttr(pd pprofile.Profiles, p pprofile.Profile, key string) string {
	dict := pd.Dictionary()
	for i := range p.AttributeIndices().Len() {
		a := dict.AttributeTable().At(int(p.AttributeIndices().At(i)))
		if dict.StringTable().At(int(a.KeyStrindex())) == key {
			return a.Value().AsString()
		}
	}
	return ""
}

// liveSession runs the export test target and a capture session on it:
// a few metric points and the requested profiles, as the dashboard would
// hold them.
type liveSession struct {
	target   session.Target
	points   []session.Point
	profiles []*profile.Captured
}

func captureLive(t *testing.T, kinds ...profile.Kind) liveSession {
	t.Helper()
	bin := testproc.Build(t, "./testdata/targets/exporttarget")
	proc := testproc.Start(t, bin, []string{"GOGC=150"})
	addr := strings.Fields(proc.FirstLine)[2]
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tg, err := collectors.Open(ctx, "http://"+addr, discover.Overrides{})
	testproc.Must(t, err, "open target")
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	s := capture.Start(wctx, tg, capture.Options{Interval: 100 * time.Millisecond})
	for _, k := range kinds {
		if _, err := s.Profile(ctx, k, capture.ProfileOptions{Seconds: 1}); err != nil {
			t.Fatalf("fetch %s profile: %v", k, err)
		}
	}
	testproc.Eventually(t, 30*time.Second, func() bool {
		sn := s.Snapshot()
		return len(sn.Points) >= 4 && sn.Points[len(sn.Points)-1].Values[session.GOGC] > 0
	}, "no metric points from the agent")
	stop()
	sn := s.Snapshot()
	ls := liveSession{target: sn.Target, points: sn.Points}
	if ls.target.PID == 0 {
		ls.target.PID = proc.PID
	}
	for _, k := range kinds {
		ls.profiles = append(ls.profiles, s.Held(k))
	}
	return ls
}

// ---- the test collector ----

var (
	collectorOnce sync.Once
	collectorBin  string
	collectorErr  error
	collectorTook time.Duration
)

// buildCollector builds testdata/otelcol once per test binary run. go
// build's cache makes a rebuild on the same machine a link step.
func buildCollector(t *testing.T) string {
	t.Helper()
	collectorOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gotune-otelcol-")
		if err != nil {
			collectorErr = err
			return
		}
		collectorBin = filepath.Join(dir, "otelcol")
		start := time.Now()
		cmd := exec.Command("go", "build", "-o", collectorBin, ".")
		cmd.Dir = filepath.Join(testproc.ModuleRoot(t), "export", "testdata", "otelcol")
		out, err := cmd.CombinedOutput()
		collectorTook = time.Since(start)
		if err != nil {
			collectorErr = fmt.Errorf("go build the test collector: %v\n%s", err, out)
		}
	})
	if collectorErr != nil {
		t.Fatal(collectorErr)
	}
	t.Logf("test collector built in %s (go build cache)", collectorTook.Round(time.Millisecond))
	return collectorBin
}

// freePort returns a loopback port nobody listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// collector is one run of the test collector.
type collector struct {
	t          *testing.T
	cmd        *exec.Cmd
	grpc, http int
	out        string // file exporter output (JSON lines)
	log        *bytes.Buffer
	done       chan struct{}
}

func (c *collector) httpURL() string  { return fmt.Sprintf("http://127.0.0.1:%d", c.http) }
func (c *collector) grpcAddr() string { return fmt.Sprintf("127.0.0.1:%d", c.grpc) }

// startCollector runs the collector on the given ports (0: pick) with
// profiles enabled, writing what it receives to a new file in dir, and
// waits until both receivers listen.
func startCollector(t *testing.T, dir string, grpcPort, httpPort int) *collector {
	t.Helper()
	bin := buildCollector(t)
	if grpcPort == 0 {
		grpcPort = freePort(t)
	}
	if httpPort == 0 {
		httpPort = freePort(t)
	}
	n, _ := filepath.Glob(filepath.Join(dir, "out-*.jsonl"))
	out := filepath.Join(dir, fmt.Sprintf("out-%d.jsonl", len(n)))
	cfg := fmt.Sprintf(`receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:%d
      http:
        endpoint: 127.0.0.1:%d
exporters:
  file:
    path: %s
    flush_interval: 50ms
  debug:
    verbosity: basic
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    metrics:
      receivers: [otlp]
      exporters: [file, debug]
    profiles:
      receivers: [otlp]
      exporters: [file, debug]
`, grpcPort, httpPort, out)
	cfgPath := filepath.Join(dir, fmt.Sprintf("config-%d.yaml", len(n)))
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	c := &collector{t: t, grpc: grpcPort, http: httpPort, out: out, log: &bytes.Buffer{}, done: make(chan struct{})}
	c.cmd = exec.Command(bin, "--config=file:"+cfgPath, "--feature-gates=service.profilesSupport")
	c.cmd.Stdout = &lockedWriter{w: c.log}
	c.cmd.Stderr = c.cmd.Stdout
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = c.cmd.Wait(); close(c.done) }()
	t.Cleanup(c.kill)
	testproc.Eventually(t, 30*time.Second, func() bool {
		return listening(c.grpc) && listening(c.http)
	}, "the collector did not listen on %d and %d; log:\n%s", c.grpc, c.http, c.logText())
	return c
}

func listening(port int) bool {
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// stop shuts the collector down gracefully (SIGTERM: the file exporter
// flushes).
func (c *collector) stop() {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(20 * time.Second):
		c.kill()
	}
}

// kill ends it at once (SIGKILL), as a crash would.
func (c *collector) kill() {
	_ = c.cmd.Process.Kill()
	<-c.done
}

var logMu sync.Mutex

type lockedWriter struct{ w *bytes.Buffer }

func (l *lockedWriter) Write(p []byte) (int, error) {
	logMu.Lock()
	defer logMu.Unlock()
	return l.w.Write(p)
}

func (c *collector) logText() string {
	logMu.Lock()
	defer logMu.Unlock()
	return c.log.String()
}

// received parses the file exporter's output: one OTLP JSON document a
// line, profiles or metrics.
func (c *collector) received() ([]pprofile.Profiles, []pmetric.Metrics) {
	return parseFileExport(c.t, c.out)
}

func parseFileExport(t *testing.T, path string) ([]pprofile.Profiles, []pmetric.Metrics) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		t.Fatal(err)
	}
	// The collector may be writing while the test reads: a last line
	// without its newline is not complete yet and is left for the next read.
	if i := bytes.LastIndexByte(data, '\n'); i < len(data)-1 {
		data = data[:i+1]
	}
	var profs []pprofile.Profiles
	var mets []pmetric.Metrics
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 256<<20)
	for sc.Scan() {
		line := sc.Bytes()
		switch {
		case bytes.Contains(line, []byte(`"resourceProfiles"`)):
			pd, err := (&pprofile.JSONUnmarshaler{}).UnmarshalProfiles(line)
			if err != nil {
				t.Fatalf("parse file exporter profiles: %v", err)
			}
			profs = append(profs, pd)
		case bytes.Contains(line, []byte(`"resourceMetrics"`)):
			md, err := (&pmetric.JSONUnmarshaler{}).UnmarshalMetrics(line)
			if err != nil {
				t.Fatalf("parse file exporter metrics: %v", err)
			}
			mets = append(mets, md)
		}
	}
	return profs, mets
}

// metricValues indexes received metric values by name and timestamp.
func metricValues(mds []pmetric.Metrics) map[string]map[int64]float64 {
	out := map[string]map[int64]float64{}
	for _, md := range mds {
		rms := md.ResourceMetrics()
		for i := range rms.Len() {
			sms := rms.At(i).ScopeMetrics()
			for j := range sms.Len() {
				ms := sms.At(j).Metrics()
				for k := range ms.Len() {
					m := ms.At(k)
					var dps pmetric.NumberDataPointSlice
					switch m.Type() {
					case pmetric.MetricTypeGauge:
						dps = m.Gauge().DataPoints()
					case pmetric.MetricTypeSum:
						dps = m.Sum().DataPoints()
					default:
						continue
					}
					if out[m.Name()] == nil {
						out[m.Name()] = map[int64]float64{}
					}
					for d := range dps.Len() {
						out[m.Name()][dps.At(d).Timestamp().AsTime().UnixNano()] = dps.At(d).DoubleValue()
					}
				}
			}
		}
	}
	return out
}

// checkMetrics asserts every value of every point arrived unchanged.
func checkMetrics(t *testing.T, got map[string]map[int64]float64, points []session.Point) int {
	t.Helper()
	n := 0
	for _, p := range points {
		ts := p.Time.UnixNano()
		for name, v := range p.Values {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			g, ok := got[name][ts]
			if !ok {
				t.Errorf("metric %s at %s: not received", name, p.Time.Format(time.RFC3339Nano))
				continue
			}
			if g != v {
				t.Errorf("metric %s at %s: received %v, session has %v", name, p.Time.Format(time.RFC3339Nano), g, v)
			}
			n++
		}
		for name, v := range p.Derived {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			if g := got[DerivedPrefix+name][ts]; g != v {
				t.Errorf("derived %s: received %v, session has %v", name, g, v)
			}
			n++
		}
	}
	return n
}
