package export

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/exp/api/remote"
	writev2 "github.com/prometheus/client_golang/exp/api/remote/genproto/v2"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/gotune/gotune/session"
)

// RemoteWriteConfig configures a Prometheus remote-write sink.
type RemoteWriteConfig struct {
	// URL is the full write URL ("http://127.0.0.1:9090/api/v1/write").
	URL string
	// V2 sends Remote-Write 2.0 (io.prometheus.write.v2.Request, with
	// metadata and the created timestamp of counters); else 1.0
	// (prometheus.WriteRequest), which every receiver takes.
	V2 bool
	// Headers are added to every request (e.g. Authorization,
	// X-Scope-OrgID). Never shown.
	Headers map[string]string
	// HTTP is the client; a plain one when nil.
	HTTP *http.Client
}

// NewRemoteWrite returns a metrics sink speaking Prometheus remote-write
// through client_golang/exp's api/remote client (snappy, the protocol's
// headers, 2.0 response statistics). That client's own retries are turned
// off (one attempt per Send): the Exporter's queue retries, so a failing
// receiver never blocks the caller and nothing is dropped unseen.
//
// Each runtime metric becomes a series named by PromName with the Origin's
// labels; histograms are not sent (OTLP carries them; their quantiles are
// in the derived gotune_* series).
func NewRemoteWrite(c RemoteWriteConfig) (Sink, error) {
	u, err := httpURL("remote-write URL", c.URL, "http://host:port/path")
	if err != nil {
		return nil, err
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{}
	}
	if len(c.Headers) > 0 {
		base := hc.Transport
		if base == nil {
			base = http.DefaultTransport
		}
		cp := *hc
		cp.Transport = headerTransport{base: base, headers: c.Headers}
		hc = &cp
	}
	// The client joins its path to the base URL: give it the URL's path.
	path := u.Path
	u.Path, u.RawPath = "", ""
	api, err := remote.NewAPI(u.String(),
		remote.WithAPIHTTPClient(hc),
		remote.WithAPIPath(path),
		// One attempt: Write's backoff waits an hour, and the retry
		// callback cancels the call before it does.
		remote.WithAPIBackoff(remote.BackoffConfig{Min: time.Hour, Max: time.Hour}),
	)
	if err != nil {
		return nil, err
	}
	return &remoteWrite{cfg: c, api: api, endpoint: c.URL}, nil
}

type headerTransport struct {
	base    http.RoundTripper
	headers map[string]string
}

func (t headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range t.headers {
		r.Header.Set(k, v)
	}
	return t.base.RoundTrip(r)
}

type remoteWrite struct {
	cfg      RemoteWriteConfig
	api      *remote.API
	endpoint string
}

func (s *remoteWrite) Kind() string {
	if s.cfg.V2 {
		return "remote-write-v2"
	}
	return "remote-write"
}
func (s *remoteWrite) Endpoint() string        { return s.endpoint }
func (s *remoteWrite) Accepts(sig Signal) bool { return sig == SignalMetrics }

// promSeries is one series: sorted labels (with __name__) and samples.
type promSeries struct {
	name    string
	kind    metricKind
	help    string
	unit    string
	labels  []Label
	samples []promSample
}

type promSample struct {
	v  float64
	ms int64
}

func promSeriesOf(points []session.Point, o Origin) []promSeries {
	base := o.Labels()
	var out []promSeries
	for _, s := range collect(points) {
		if s.kind == kindHistogram {
			continue
		}
		name := PromName(s.name)
		ls := append([]Label{{"__name__", name}}, base...)
		sort.Slice(ls, func(i, j int) bool { return ls[i].Name < ls[j].Name })
		ps := promSeries{name: name, kind: s.kind, unit: unitOf(s.name), labels: ls,
			help: strings.TrimSpace(s.name + " " + descriptionOf(s.name))}
		for i, v := range s.values {
			ps.samples = append(ps.samples, promSample{v: v, ms: s.times[i].UnixMilli()})
		}
		out = append(out, ps)
	}
	return out
}

func (s *remoteWrite) Encode(it Item) (Payload, error) {
	if it.Signal != SignalMetrics {
		return Payload{}, ErrUnsupported
	}
	series := promSeriesOf(it.Points, it.Origin)
	var n int64
	for _, ps := range series {
		n += int64(len(ps.samples))
	}
	var body []byte
	if s.cfg.V2 {
		req := encodeV2(series, it.Origin)
		var err error
		if body, err = req.MarshalVT(); err != nil {
			return Payload{}, err
		}
	} else {
		body = encodeV1(series)
	}
	return Payload{Signal: SignalMetrics, Data: n, Body: body}, nil
}

// encodeV1 writes a prometheus.WriteRequest (remote-write 1.0 spec:
// timeseries = 1 {labels = 1 {name = 1, value = 2}, samples = 2 {value =
// 1 double, timestamp = 2 int64 ms}}, metadata = 3 {type = 1, metric_family_name
// = 2, help = 4, unit = 5}). Hand-encoded: the proto lives in the
// Prometheus server module, which gotune does not import.
func encodeV1(series []promSeries) []byte {
	var b []byte
	for _, ps := range series {
		var ts []byte
		for _, l := range ps.labels {
			var lb []byte
			lb = protowire.AppendTag(lb, 1, protowire.BytesType)
			lb = protowire.AppendString(lb, l.Name)
			lb = protowire.AppendTag(lb, 2, protowire.BytesType)
			lb = protowire.AppendString(lb, l.Value)
			ts = protowire.AppendTag(ts, 1, protowire.BytesType)
			ts = protowire.AppendBytes(ts, lb)
		}
		for _, sm := range ps.samples {
			var sb []byte
			sb = protowire.AppendTag(sb, 1, protowire.Fixed64Type)
			sb = protowire.AppendFixed64(sb, math.Float64bits(sm.v))
			sb = protowire.AppendTag(sb, 2, protowire.VarintType)
			sb = protowire.AppendVarint(sb, uint64(sm.ms))
			ts = protowire.AppendTag(ts, 2, protowire.BytesType)
			ts = protowire.AppendBytes(ts, sb)
		}
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendBytes(b, ts)
	}
	for _, ps := range series {
		var mb []byte
		mb = protowire.AppendTag(mb, 1, protowire.VarintType)
		mb = protowire.AppendVarint(mb, v1Type(ps.kind))
		mb = protowire.AppendTag(mb, 2, protowire.BytesType)
		mb = protowire.AppendString(mb, ps.name)
		mb = protowire.AppendTag(mb, 4, protowire.BytesType)
		mb = protowire.AppendString(mb, ps.help)
		mb = protowire.AppendTag(mb, 5, protowire.BytesType)
		mb = protowire.AppendString(mb, ps.unit)
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendBytes(b, mb)
	}
	return b
}

func v1Type(k metricKind) uint64 {
	if k == kindCounter {
		return 1 // COUNTER
	}
	return 2 // GAUGE
}

func encodeV2(series []promSeries, o Origin) *writev2.Request {
	st := writev2.NewSymbolTable()
	req := &writev2.Request{}
	var created int64
	if !o.Target.StartTime.IsZero() {
		created = o.Target.StartTime.UnixMilli()
	}
	for _, ps := range series {
		kv := make([]string, 0, 2*len(ps.labels))
		for _, l := range ps.labels {
			kv = append(kv, l.Name, l.Value)
		}
		ts := &writev2.TimeSeries{LabelsRefs: st.SymbolizeLabels(kv, nil)}
		for _, sm := range ps.samples {
			ts.Samples = append(ts.Samples, &writev2.Sample{Value: sm.v, Timestamp: sm.ms})
		}
		md := &writev2.Metadata{Type: writev2.Metadata_METRIC_TYPE_GAUGE, HelpRef: st.Symbolize(ps.help), UnitRef: st.Symbolize(ps.unit)}
		if ps.kind == kindCounter {
			md.Type = writev2.Metadata_METRIC_TYPE_COUNTER
			ts.CreatedTimestamp = created
		}
		ts.Metadata = md
		req.Timeseries = append(req.Timeseries, ts)
	}
	req.Symbols = st.Symbols()
	return req
}

// rawMessage hands already-encoded bytes to remote.API.Write (its
// gogo-style fast path: Size and MarshalToSizedBuffer).
type rawMessage []byte

func (m rawMessage) Size() int { return len(m) }
func (m rawMessage) MarshalToSizedBuffer(b []byte) (int, error) {
	return copy(b, m), nil
}

func (s *remoteWrite) Send(ctx context.Context, p Payload) (Result, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var retryErr error
	msgType := remote.WriteV1MessageType
	if s.cfg.V2 {
		msgType = remote.WriteV2MessageType
	}
	stats, err := s.api.Write(ctx, msgType, rawMessage(p.Body), remote.WithWriteRetryCallback(func(err error) {
		retryErr = err
		cancel()
	}))
	if retryErr != nil { // the client would retry: 5xx, 429 or a network error
		return Result{}, &SendError{Retryable: true, Err: fmt.Errorf("remote-write %s: %w", s.endpoint, retryErr)}
	}
	if err != nil {
		// The request's deadline (or Close) ended the attempt. The client
		// returns its retryable network error unwrapped then (its backoff
		// stops with the context before the retry callback runs), so
		// errors.Is does not see the deadline: ask the context.
		if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return Result{}, &SendError{Retryable: true, Err: fmt.Errorf("remote-write %s: %w", s.endpoint, err)}
		}
		// A 4xx, or a 2.0 answer that stored nothing.
		return Result{}, &SendError{Err: fmt.Errorf("remote-write %s: %s", s.endpoint, truncate(err.Error(), 400))}
	}
	var res Result
	if s.cfg.V2 && stats.Samples > 0 && int64(stats.Samples) < p.Data {
		res.Rejected = p.Data - int64(stats.Samples)
		res.Message = fmt.Sprintf("receiver stored %d of %d samples", stats.Samples, p.Data)
	}
	return res, nil
}
