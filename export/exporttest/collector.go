// Package exporttest holds the receivers export's tests run on loopback,
// for every package that tests an export: an HTTP server a test can take
// down, slow down or make refuse (FaultServer), a Pyroscope /ingest
// receiver that parses requests as Pyroscope's API documents them, a
// Prometheus remote-write receiver (client_golang/exp's handler), and the
// real OpenTelemetry collector built from export/testdata/otelcol, with
// parsers of its file exporter's output. Like net/http/httptest, it is
// for tests only.
package exporttest

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pprofile"

	"github.com/gotune/gotune/internal/testproc"
	"github.com/gotune/gotune/profile"
)

var (
	collectorOnce sync.Once
	collectorBin  string
	collectorErr  error
	collectorTook time.Duration
)

// BuildCollector builds testdata/otelcol once per test binary run. go
// build's cache makes a rebuild on the same machine a link step.
func BuildCollector(t testing.TB) string {
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

// FreePort returns a loopback port nobody listens on now.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Collector is one run of the test collector.
type Collector struct {
	t          testing.TB
	cmd        *exec.Cmd
	grpc, http int
	out        string // file exporter output (JSON lines)
	log        *bytes.Buffer
	done       chan struct{}
}

// Out is the file its file exporter writes (OTLP JSON lines).
func (c *Collector) Out() string { return c.out }

// HTTPURL is its OTLP/HTTP receiver; GRPCAddr its OTLP/gRPC one.
func (c *Collector) HTTPURL() string  { return fmt.Sprintf("http://127.0.0.1:%d", c.http) }
func (c *Collector) GRPCAddr() string { return fmt.Sprintf("127.0.0.1:%d", c.grpc) }

// StartCollector runs the collector on the given ports (0: pick) with
// profiles enabled, writing what it receives to a new file in dir, and
// waits until both receivers listen.
func StartCollector(t testing.TB, dir string, grpcPort, httpPort int) *Collector {
	t.Helper()
	bin := BuildCollector(t)
	if grpcPort == 0 {
		grpcPort = FreePort(t)
	}
	if httpPort == 0 {
		httpPort = FreePort(t)
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
	c := &Collector{t: t, grpc: grpcPort, http: httpPort, out: out, log: &bytes.Buffer{}, done: make(chan struct{})}
	c.cmd = exec.Command(bin, "--config=file:"+cfgPath, "--feature-gates=service.profilesSupport")
	c.cmd.Stdout = &lockedWriter{w: c.log}
	c.cmd.Stderr = c.cmd.Stdout
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = c.cmd.Wait(); close(c.done) }()
	t.Cleanup(c.Kill)
	testproc.Eventually(t, 30*time.Second, func() bool {
		return Listening(c.grpc) && Listening(c.http)
	}, "the collector did not listen on %d and %d; log:\n%s", c.grpc, c.http, c.LogText())
	return c
}

func Listening(port int) bool {
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

// Stop shuts the collector down gracefully (SIGTERM: the file exporter
// flushes).
func (c *Collector) Stop() {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(20 * time.Second):
		c.Kill()
	}
}

// Kill ends it at once (SIGKILL), as a crash would.
func (c *Collector) Kill() {
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

func (c *Collector) LogText() string {
	logMu.Lock()
	defer logMu.Unlock()
	return c.log.String()
}

// Received parses the file exporter's output: one OTLP JSON document a
// line, profiles or metrics.
func (c *Collector) Received() ([]pprofile.Profiles, []pmetric.Metrics) {
	return ParseFileExport(c.t, c.out)
}

// ParseFileExport reads the file exporter's OTLP JSON lines: profiles
// and metrics.
func ParseFileExport(t testing.TB, path string) ([]pprofile.Profiles, []pmetric.Metrics) {
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

// MetricValues indexes received metric values by name and timestamp.
func MetricValues(mds []pmetric.Metrics) map[string]map[int64]float64 {
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

// PprofTotals sums each sample type's values over all samples, as
// `go tool pprof -sample_index=N -top` reports its total.
func PprofTotals(p *profile.Profile) map[string]int64 {
	out := map[string]int64{}
	for i := range p.NumSamples() {
		for t, v := range p.Values(i) {
			out[p.SampleTypes[t].String()] += v
		}
	}
	return out
}

// OTLPTotals sums each OTLP profile's sample values by its sample type,
// for the profiles whose gotune.profile.kind attribute is kind.
func OTLPTotals(pd pprofile.Profiles, kind profile.Kind) map[string]int64 {
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
				if ProfileAttr(pd, p, "gotune.profile.kind") != string(kind) {
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

// ProfileAttr is the value of a profile's attribute key, or "".
func ProfileAttr(pd pprofile.Profiles, p pprofile.Profile, key string) string {
	dict := pd.Dictionary()
	for i := range p.AttributeIndices().Len() {
		a := dict.AttributeTable().At(int(p.AttributeIndices().At(i)))
		if dict.StringTable().At(int(a.KeyStrindex())) == key {
			return a.Value().AsString()
		}
	}
	return ""
}
