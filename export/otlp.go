package export

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/pprofile/pprofileotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/gotune/gotune/safetext"
)

// OTLP paths of the collector's OTLP/HTTP receiver (receiver/otlpreceiver
// v0.165.0: /v1/metrics, and /v1development/profiles while profiles are in
// development).
const (
	OTLPMetricsPath  = "/v1/metrics"
	OTLPProfilesPath = "/v1development/profiles"
)

// maxResponse bounds what is read of a receiver's answer.
const maxResponse = 64 << 10

// OTLPConfig configures an OTLP sink.
type OTLPConfig struct {
	// Endpoint: for HTTP a base URL ("http://127.0.0.1:4318"), for gRPC
	// host:port ("127.0.0.1:4317").
	Endpoint string
	// GRPC selects OTLP/gRPC (insecure, loopback or a trusted network);
	// else OTLP/HTTP with protobuf bodies.
	GRPC bool
	// Headers are added to every request (HTTP headers or gRPC metadata),
	// e.g. an authorization token. They are never shown.
	Headers map[string]string
	// HTTP is the client for OTLP/HTTP; a plain one when nil. Timeouts come
	// from the Exporter's per-request context.
	HTTP *http.Client
}

// NewOTLP returns a sink for an OpenTelemetry collector: profiles and
// metrics, over gRPC or HTTP.
func NewOTLP(c OTLPConfig) (Sink, error) {
	if c.Endpoint == "" {
		return nil, errors.New("otlp: no endpoint")
	}
	if c.GRPC {
		if strings.Contains(c.Endpoint, "://") {
			return nil, fmt.Errorf("otlp gRPC endpoint %q: want host:port", c.Endpoint)
		}
		return &otlpGRPC{cfg: c}, nil
	}
	u, err := httpURL("otlp HTTP endpoint", c.Endpoint, "http://host:port")
	if err != nil {
		return nil, err
	}
	if c.HTTP == nil {
		c.HTTP = &http.Client{}
	}
	return &otlpHTTP{cfg: c, base: strings.TrimRight(u.String(), "/")}, nil
}

// httpURL parses an http or https URL with a host.
func httpURL(what, s, want string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s %q: want %s", what, s, want)
	}
	return u, nil
}

// encodeOTLP encodes an item as an OTLP export request (protobuf).
func encodeOTLP(it Item) (Payload, error) {
	switch it.Signal {
	case SignalProfiles:
		pd, n, err := ProfilesToOTLP(it.Profile, it.Origin)
		if err != nil {
			return Payload{}, err
		}
		body, err := pprofileotlp.NewExportRequestFromProfiles(pd).MarshalProto()
		if err != nil {
			return Payload{}, err
		}
		return Payload{Signal: SignalProfiles, Kind: string(it.Profile.Kind), Data: n, Body: body}, nil
	case SignalMetrics:
		md, n := MetricsToOTLP(it.Points, it.Origin)
		body, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
		if err != nil {
			return Payload{}, err
		}
		return Payload{Signal: SignalMetrics, Data: n, Body: body}, nil
	}
	return Payload{}, fmt.Errorf("otlp: unknown signal %q", it.Signal)
}

type otlpHTTP struct {
	cfg  OTLPConfig
	base string
}

func (s *otlpHTTP) Kind() string        { return "otlp-http" }
func (s *otlpHTTP) Endpoint() string    { return s.base }
func (s *otlpHTTP) Accepts(Signal) bool { return true }

// Encode gzips the request (the collector's confighttp decodes
// Content-Encoding: gzip); spilled requests stay compressed on disk.
func (s *otlpHTTP) Encode(it Item) (Payload, error) {
	p, err := encodeOTLP(it)
	if err != nil {
		return p, err
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(p.Body); err != nil {
		return Payload{}, err
	}
	if err := zw.Close(); err != nil {
		return Payload{}, err
	}
	p.Body = buf.Bytes()
	p.Meta = map[string]string{"content-encoding": "gzip"}
	return p, nil
}

func (s *otlpHTTP) Send(ctx context.Context, p Payload) (Result, error) {
	path := OTLPMetricsPath
	if p.Signal == SignalProfiles {
		path = OTLPProfilesPath
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+path, bytes.NewReader(p.Body))
	if err != nil {
		return Result{}, &SendError{Err: err}
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	if ce := p.Meta["content-encoding"]; ce != "" {
		req.Header.Set("Content-Encoding", ce)
	}
	if p.Signal == SignalProfiles {
		req.Header.Set(pprofileotlp.DevelopmentVersionHeader, pprofileotlp.DevelopmentVersion)
	}
	for k, v := range s.cfg.Headers {
		req.Header.Set(k, v)
	}
	resp, err := s.cfg.HTTP.Do(req)
	if err != nil {
		err = transportError(err)
		return Result{}, &SendError{Retryable: true, Err: fmt.Errorf("otlp POST %s%s: %w", s.base, path, err)}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if resp.StatusCode/100 == 2 {
		return otlpPartial(p.Signal, body), nil
	}
	msg := rpcStatusMessage(body)
	if msg == "" {
		msg = strings.TrimSpace(string(body))
	}
	err = fmt.Errorf("otlp POST %s%s: status %d: %s", s.base, path, resp.StatusCode, safetext.Line(truncate(msg, 300)))
	if resp.StatusCode == http.StatusNotFound && p.Signal == SignalProfiles {
		err = fmt.Errorf("%w (is the collector's profiles pipeline on? it needs --feature-gates=service.profilesSupport)", err)
	}
	return Result{}, httpStatusError(resp, err)
}

// httpStatusError classifies an HTTP failure: 408, 429 and 5xx are worth
// retrying (OTLP/HTTP spec, "Retryable Response Codes", lists 429, 502,
// 503, 504; Prometheus remote-write retries every 5xx; we retry both), any
// other status would be refused again.
func httpStatusError(resp *http.Response, err error) *SendError {
	c := resp.StatusCode
	se := &SendError{Err: err, Retryable: c == http.StatusRequestTimeout || c == http.StatusTooManyRequests || c/100 == 5}
	if ra := resp.Header.Get("Retry-After"); ra != "" && se.Retryable {
		if secs, perr := strconv.Atoi(ra); perr == nil {
			se.RetryAfter = time.Duration(secs) * time.Second
		} else if t, perr := http.ParseTime(ra); perr == nil {
			se.RetryAfter = time.Until(t)
		}
	}
	return se
}

// otlpPartial reads an OTLP export response for a partial success.
func otlpPartial(sig Signal, body []byte) Result {
	if len(body) == 0 {
		return Result{}
	}
	if sig == SignalProfiles {
		r := pprofileotlp.NewExportResponse()
		if r.UnmarshalProto(body) != nil {
			return Result{}
		}
		return Result{Rejected: r.PartialSuccess().RejectedProfiles(), Message: r.PartialSuccess().ErrorMessage()}
	}
	r := pmetricotlp.NewExportResponse()
	if r.UnmarshalProto(body) != nil {
		return Result{}
	}
	return Result{Rejected: r.PartialSuccess().RejectedDataPoints(), Message: r.PartialSuccess().ErrorMessage()}
}

// rpcStatusMessage reads the message (field 2) of a google.rpc.Status, the
// body OTLP/HTTP receivers answer errors with; "" if body is not one.
func rpcStatusMessage(b []byte) string {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return ""
		}
		b = b[n:]
		if num == 2 && typ == protowire.BytesType {
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return ""
			}
			return string(v)
		}
		n = protowire.ConsumeFieldValue(num, typ, b)
		if n < 0 {
			return ""
		}
		b = b[n:]
	}
	return ""
}

// transportError drops the request URL (and its query) from a client
// error: the endpoint is already in the message.
func transportError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

type otlpGRPC struct {
	cfg  OTLPConfig
	once sync.Once
	conn *grpc.ClientConn
	err  error
}

func (s *otlpGRPC) Kind() string                    { return "otlp-grpc" }
func (s *otlpGRPC) Endpoint() string                { return s.cfg.Endpoint }
func (s *otlpGRPC) Accepts(Signal) bool             { return true }
func (s *otlpGRPC) Encode(it Item) (Payload, error) { return encodeOTLP(it) }

// Close closes the gRPC connection.
func (s *otlpGRPC) Close() error {
	if s.conn != nil {
		return s.conn.Close()
	}
	return nil
}

func (s *otlpGRPC) Send(ctx context.Context, p Payload) (Result, error) {
	s.once.Do(func() {
		// NewClient does not dial: the connection is made (and remade
		// after the collector restarts) by the calls.
		// gRPC's default reconnect backoff grows to 120 s: after an
		// outage the collector would sit idle that long. Our queue paces
		// retries; the channel should reconnect promptly.
		s.conn, s.err = grpc.NewClient(s.cfg.Endpoint,
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithConnectParams(grpc.ConnectParams{
				Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 5 * time.Second},
				MinConnectTimeout: 5 * time.Second,
			}))
	})
	if s.err != nil {
		return Result{}, &SendError{Err: fmt.Errorf("otlp gRPC %s: %w", s.cfg.Endpoint, s.err)}
	}
	if len(s.cfg.Headers) > 0 {
		md := metadata.MD{}
		for k, v := range s.cfg.Headers {
			md.Set(strings.ToLower(k), v)
		}
		ctx = metadata.NewOutgoingContext(ctx, md)
	}
	var res Result
	var err error
	switch p.Signal {
	case SignalProfiles:
		req := pprofileotlp.NewExportRequest()
		if err := req.UnmarshalProto(p.Body); err != nil {
			return Result{}, &SendError{Err: fmt.Errorf("decode queued request: %w", err)}
		}
		var r pprofileotlp.ExportResponse
		r, err = pprofileotlp.NewGRPCClient(s.conn).Export(ctx, req)
		if err == nil {
			res = Result{Rejected: r.PartialSuccess().RejectedProfiles(), Message: r.PartialSuccess().ErrorMessage()}
		}
	case SignalMetrics:
		req := pmetricotlp.NewExportRequest()
		if err := req.UnmarshalProto(p.Body); err != nil {
			return Result{}, &SendError{Err: fmt.Errorf("decode queued request: %w", err)}
		}
		var r pmetricotlp.ExportResponse
		r, err = pmetricotlp.NewGRPCClient(s.conn).Export(ctx, req)
		if err == nil {
			res = Result{Rejected: r.PartialSuccess().RejectedDataPoints(), Message: r.PartialSuccess().ErrorMessage()}
		}
	default:
		return Result{}, &SendError{Err: fmt.Errorf("otlp: unknown signal %q", p.Signal)}
	}
	if err == nil {
		return res, nil
	}
	return Result{}, grpcError(s.cfg.Endpoint, p.Signal, err)
}

// grpcError classifies a gRPC failure by the OTLP/gRPC spec's table of
// retryable codes (Canceled, DeadlineExceeded, Aborted, OutOfRange,
// Unavailable, DataLoss; ResourceExhausted when the server can recover);
// the rest (InvalidArgument, Unimplemented, Unauthenticated, ...) fail for
// good.
func grpcError(endpoint string, sig Signal, err error) *SendError {
	st, _ := status.FromError(err)
	wrapped := fmt.Errorf("otlp gRPC %s %s: %s: %s", endpoint, sig, st.Code(), safetext.Line(truncate(st.Message(), 300)))
	if st.Code() == codes.Unimplemented && sig == SignalProfiles {
		wrapped = fmt.Errorf("%w (is the collector's profiles pipeline on? it needs --feature-gates=service.profilesSupport)", wrapped)
	}
	switch st.Code() {
	case codes.Canceled, codes.DeadlineExceeded, codes.Aborted, codes.OutOfRange,
		codes.Unavailable, codes.DataLoss, codes.ResourceExhausted:
		return &SendError{Retryable: true, Err: wrapped}
	}
	return &SendError{Err: wrapped}
}
