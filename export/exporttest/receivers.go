package exporttest

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/exp/api/remote"
	writev2 "github.com/prometheus/client_golang/exp/api/remote/genproto/v2"
	"google.golang.org/protobuf/encoding/protowire"
)

// FaultServer is an HTTP receiver on a fixed loopback port that a test can
// take down, bring back, slow down or make refuse.
type FaultServer struct {
	t       testing.TB
	port    int
	handler http.Handler

	mu     sync.Mutex
	srv    *http.Server
	status int           // answer every request with this status (0: serve)
	hang   time.Duration // hold every request this long, then drop it
	hits   int           // requests seen
}

// NewFaultServer serves h on a fixed loopback port once Up is called.
func NewFaultServer(t testing.TB, h http.Handler) *FaultServer {
	f := &FaultServer{t: t, port: FreePort(t), handler: h}
	t.Cleanup(f.Down)
	return f
}

// URL is its base URL.
func (f *FaultServer) URL() string { return fmt.Sprintf("http://127.0.0.1:%d", f.port) }

// Up starts listening (again) on the same port.
func (f *FaultServer) Up() {
	f.t.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the port may linger for a moment after down
		if ln, err = net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", f.port)); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		f.t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(f.serve)}
	f.mu.Lock()
	f.srv = srv
	f.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// Down closes the listener and every connection, as a crash would.
func (f *FaultServer) Down() {
	f.mu.Lock()
	srv := f.srv
	f.srv = nil
	f.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// Set answers every request with status (0: serve) or holds each for
// hang and then drops it.
func (f *FaultServer) Set(status int, hang time.Duration) {
	f.mu.Lock()
	f.status, f.hang = status, hang
	f.mu.Unlock()
}

// Requests is how many requests it has seen.
func (f *FaultServer) Requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits
}

func (f *FaultServer) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	status, hang := f.status, f.hang
	f.hits++
	f.mu.Unlock()
	if hang > 0 {
		select {
		case <-r.Context().Done():
		case <-time.After(hang):
		}
		// No answer: drop the connection.
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
			}
		}
		return
	}
	if status != 0 {
		_, _ = io.Copy(io.Discard, r.Body)
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "0")
		}
		http.Error(w, "refused by the test: status "+strconv.Itoa(status), status)
		return
	}
	f.handler.ServeHTTP(w, r)
}

// ---- Pyroscope ingest ----

// Ingest is one request to the Pyroscope receiver, parsed as the server
// would (Pyroscope server HTTP API, Ingestion: name=app{labels}, from,
// until, format; pprof in the multipart field "profile").
type Ingest struct {
	App         string
	Labels      map[string]string
	From, Until int64
	Format      string
	SpyName     string
	SampleRate  string
	Profile     []byte
}

// PyroscopeReceiver is a Pyroscope /ingest handler that keeps what it
// parsed and refuses (400) what it cannot parse.
type PyroscopeReceiver struct {
	mu  sync.Mutex
	got []Ingest
	bad []string
}

// Ingests are the requests received, in order.
func (p *PyroscopeReceiver) Ingests() []Ingest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Ingest(nil), p.got...)
}

// Refused are the errors of the requests it could not parse.
func (p *PyroscopeReceiver) Refused() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.bad...)
}

func (p *PyroscopeReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	in, err := ParseIngest(r)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.bad = append(p.bad, err.Error())
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	p.got = append(p.got, in)
}

// ParseIngest parses an ingest request as the server does.
func ParseIngest(r *http.Request) (Ingest, error) {
	if r.Method != http.MethodPost || r.URL.Path != "/ingest" {
		return Ingest{}, fmt.Errorf("%s %s: want POST /ingest", r.Method, r.URL.Path)
	}
	q := r.URL.Query()
	var in Ingest
	name := q.Get("name")
	app, rest, ok := strings.Cut(name, "{")
	if !ok || !strings.HasSuffix(rest, "}") || app == "" {
		return in, fmt.Errorf("name %q: want app{labels}", name)
	}
	in.App = app
	in.Labels = map[string]string{}
	if body := strings.TrimSuffix(rest, "}"); body != "" {
		for _, kv := range strings.Split(body, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" || strings.ContainsAny(v, "{}=,") {
				return in, fmt.Errorf("label %q in name %q", kv, name)
			}
			in.Labels[k] = v
		}
	}
	var err error
	if in.From, err = strconv.ParseInt(q.Get("from"), 10, 64); err != nil {
		return in, fmt.Errorf("from %q: %v", q.Get("from"), err)
	}
	if in.Until, err = strconv.ParseInt(q.Get("until"), 10, 64); err != nil {
		return in, fmt.Errorf("until %q: %v", q.Get("until"), err)
	}
	if in.Until < in.From {
		return in, errors.New("until before from")
	}
	in.Format, in.SpyName, in.SampleRate = q.Get("format"), q.Get("spyName"), q.Get("sampleRate")
	if err := r.ParseMultipartForm(64 << 20); err != nil {
		return in, fmt.Errorf("multipart: %v", err)
	}
	f, _, err := r.FormFile("profile")
	if err != nil {
		return in, fmt.Errorf("form field profile: %v", err)
	}
	defer f.Close()
	in.Profile, err = io.ReadAll(f)
	return in, err
}

// ---- Prometheus remote-write ----

// PromSample is one sample a remote-write receiver stored.
type PromSample struct {
	Labels map[string]string
	V      float64
	Ms     int64
}

// RemoteWriteStore decodes what client_golang/exp's NewWriteHandler hands it
// (already snappy-decoded): 1.0 with a wire decoder of its own, 2.0 with
// the generated types.
type RemoteWriteStore struct {
	mu      sync.Mutex
	samples []PromSample
	types   map[string]string // metric name → metadata type
}

// All are the samples stored, in order.
func (s *RemoteWriteStore) All() []PromSample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]PromSample(nil), s.samples...)
}

// Store implements remote.writeStorage.
func (s *RemoteWriteStore) Store(r *http.Request, msgType remote.WriteMessageType) (*remote.WriteResponse, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	var got []PromSample
	types := map[string]string{}
	switch msgType {
	case remote.WriteV2MessageType:
		var req writev2.Request
		if err := req.UnmarshalVT(body); err != nil {
			return nil, err
		}
		for _, ts := range req.Timeseries {
			ls := map[string]string{}
			for i := 0; i+1 < len(ts.LabelsRefs); i += 2 {
				ls[req.Symbols[ts.LabelsRefs[i]]] = req.Symbols[ts.LabelsRefs[i+1]]
			}
			if ts.Metadata != nil {
				types[ls["__name__"]] = ts.Metadata.Type.String()
			}
			for _, sm := range ts.Samples {
				got = append(got, PromSample{Labels: ls, V: sm.Value, Ms: sm.Timestamp})
			}
		}
	default:
		if got, err = decodeV1(body, types); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	s.samples = append(s.samples, got...)
	if s.types == nil {
		s.types = map[string]string{}
	}
	for k, v := range types {
		s.types[k] = v
	}
	s.mu.Unlock()
	resp := remote.NewWriteResponse()
	resp.Samples = len(got)
	return resp, nil
}

// decodeV1 reads a prometheus.WriteRequest.
func decodeV1(b []byte, types map[string]string) ([]PromSample, error) {
	var out []PromSample
	err := eachField(b, func(num protowire.Number, v []byte) error {
		switch num {
		case 1:
			ls := map[string]string{}
			var samples []PromSample
			err := eachField(v, func(num protowire.Number, v []byte) error {
				switch num {
				case 1:
					var k, val string
					err := eachField(v, func(num protowire.Number, v []byte) error {
						if num == 1 {
							k = string(v)
						} else if num == 2 {
							val = string(v)
						}
						return nil
					})
					ls[k] = val
					return err
				case 2:
					var sm PromSample
					for len(v) > 0 {
						n, typ, l := protowire.ConsumeTag(v)
						if l < 0 {
							return errors.New("bad sample tag")
						}
						v = v[l:]
						switch {
						case n == 1 && typ == protowire.Fixed64Type:
							x, l := protowire.ConsumeFixed64(v)
							sm.V, v = math.Float64frombits(x), v[l:]
						case n == 2 && typ == protowire.VarintType:
							x, l := protowire.ConsumeVarint(v)
							sm.Ms, v = int64(x), v[l:]
						default:
							return errors.New("bad sample field")
						}
					}
					samples = append(samples, sm)
				}
				return nil
			})
			for i := range samples {
				samples[i].Labels = ls
			}
			out = append(out, samples...)
			return err
		case 3:
			var typ uint64
			var name string
			for len(v) > 0 {
				n, wt, l := protowire.ConsumeTag(v)
				if l < 0 {
					return errors.New("bad metadata tag")
				}
				v = v[l:]
				if wt == protowire.VarintType {
					x, l := protowire.ConsumeVarint(v)
					if n == 1 {
						typ = x
					}
					v = v[l:]
					continue
				}
				x, l := protowire.ConsumeBytes(v)
				if n == 2 {
					name = string(x)
				}
				v = v[l:]
			}
			types[name] = map[uint64]string{1: "COUNTER", 2: "GAUGE"}[typ]
		}
		return nil
	})
	return out, err
}

// eachField calls fn for every length-delimited field of b.
func eachField(b []byte, fn func(protowire.Number, []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errors.New("bad tag")
		}
		b = b[n:]
		if typ != protowire.BytesType {
			n = protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return errors.New("bad field")
			}
			b = b[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return errors.New("bad bytes")
		}
		if err := fn(num, v); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// NewRemoteWriteReceiver serves remote-write 1.0 and 2.0 at
// /api/v1/write into the returned store.
func NewRemoteWriteReceiver() (*RemoteWriteStore, http.Handler) {
	s := &RemoteWriteStore{}
	mux := http.NewServeMux()
	mux.Handle("/api/v1/write", remote.NewWriteHandler(s, remote.MessageTypes{remote.WriteV1MessageType, remote.WriteV2MessageType}))
	return s, mux
}

// Types are the metadata types received by metric name.
func (s *RemoteWriteStore) Types() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for k, v := range s.types {
		out[k] = v
	}
	return out
}
