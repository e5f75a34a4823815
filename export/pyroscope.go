package export

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/safetext"
)

// PyroscopeConfig configures a Pyroscope sink.
type PyroscopeConfig struct {
	// URL is the server's base URL ("http://127.0.0.1:4040"); /ingest is
	// appended.
	URL string
	// TenantID, when set, is sent as X-Scope-OrgID (multi-tenant mode).
	TenantID string
	// BasicAuthUser and BasicAuthPassword, or a bearer Token, when the
	// server sits behind an authenticating proxy. Never shown.
	BasicAuthUser, BasicAuthPassword string
	Token                            string
	// HTTP is the client; a plain one when nil.
	HTTP *http.Client
}

// NewPyroscope returns a sink that speaks Pyroscope's HTTP ingest API
// (POST /ingest, documented in "Pyroscope server HTTP API" > Ingestion):
// query parameters name=<application>{labels}, from and until (Unix
// seconds), format=pprof, spyName, sampleRate; the body a multipart form
// whose "profile" field holds the gzipped pprof as gotune captured it. So
// Pyroscope keeps the profile's own sample types and the labels (service,
// host, PID, Go version, GOGC, trigger, phase), and its diff view can
// compare phase="before" with phase="after".
//
// Only profiles; the pyroscope-go client is not used because its uploads
// are asynchronous and its errors only logged, which would hide drops.
func NewPyroscope(c PyroscopeConfig) (Sink, error) {
	u, err := httpURL("pyroscope URL", c.URL, "http://host:port")
	if err != nil {
		return nil, err
	}
	if c.HTTP == nil {
		c.HTTP = &http.Client{}
	}
	return &pyroscope{cfg: c, base: strings.TrimRight(u.String(), "/")}, nil
}

type pyroscope struct {
	cfg  PyroscopeConfig
	base string
}

func (s *pyroscope) Kind() string            { return "pyroscope" }
func (s *pyroscope) Endpoint() string        { return s.base }
func (s *pyroscope) Accepts(sig Signal) bool { return sig == SignalProfiles }

// PyroscopeName is the name query parameter for an Origin:
// service{host=...,pid=...,...}. Label values are restricted to
// [A-Za-z0-9._/:+-] (anything else becomes "_"), because the server splits
// the name on "{", "," and "=".
func PyroscopeName(o Origin) string {
	var b strings.Builder
	b.WriteString(pyroscopeValue(o.service()))
	b.WriteByte('{')
	first := true
	for _, l := range o.Labels() {
		if l.Name == "service_name" {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteString(l.Name)
		b.WriteByte('=')
		b.WriteString(pyroscopeValue(l.Value))
	}
	b.WriteByte('}')
	return b.String()
}

func pyroscopeValue(v string) string {
	out := []byte(v)
	for i, c := range out {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '_' || c == '/' || c == ':' || c == '+' || c == '-'
		if !ok {
			out[i] = '_'
		}
	}
	return string(out)
}

func (s *pyroscope) Encode(it Item) (Payload, error) {
	if it.Signal != SignalProfiles {
		return Payload{}, ErrUnsupported
	}
	c := it.Profile
	raw := c.Raw
	p := c.Profile
	if len(raw) == 0 {
		return Payload{}, errors.New("pyroscope: the profile has no pprof bytes")
	}
	if len(raw) < 2 || raw[0] != 0x1f || raw[1] != 0x8b {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(raw)
		_ = zw.Close()
		raw = buf.Bytes()
	}
	if p == nil {
		var err error
		if p, err = profile.ParseBytes(raw); err != nil {
			return Payload{}, fmt.Errorf("parse %s profile: %w", c.Kind, err)
		}
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("profile", "profile.pb.gz")
	if err != nil {
		return Payload{}, err
	}
	if _, err := fw.Write(raw); err != nil {
		return Payload{}, err
	}
	if err := mw.Close(); err != nil {
		return Payload{}, err
	}
	from, dur := profileSpan(c, p)
	until := from.Add(time.Duration(dur))
	if !until.After(from) {
		until = from.Add(1e9) // the API takes whole seconds; an instant covers its second
	}
	q := url.Values{}
	q.Set("name", PyroscopeName(it.Origin))
	q.Set("from", strconv.FormatInt(from.Unix(), 10))
	q.Set("until", strconv.FormatInt(max(until.Unix(), from.Unix()+1), 10))
	q.Set("format", "pprof")
	q.Set("spyName", "gotune")
	if c.Kind == profile.KindCPU && p.Period > 0 {
		q.Set("sampleRate", strconv.FormatInt(1e9/p.Period, 10))
	}
	var n int64
	for i := range p.NumSamples() {
		for _, v := range p.Values(i) {
			if v != 0 {
				n++
			}
		}
	}
	return Payload{
		Signal: SignalProfiles, Kind: string(c.Kind), Data: n, Body: body.Bytes(),
		Meta: map[string]string{"query": q.Encode(), "content-type": mw.FormDataContentType()},
	}, nil
}

func (s *pyroscope) Send(ctx context.Context, p Payload) (Result, error) {
	u := s.base + "/ingest?" + p.Meta["query"]
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(p.Body))
	if err != nil {
		return Result{}, &SendError{Err: err}
	}
	req.Header.Set("Content-Type", p.Meta["content-type"])
	if s.cfg.TenantID != "" {
		req.Header.Set("X-Scope-OrgID", s.cfg.TenantID)
	}
	switch {
	case s.cfg.Token != "":
		req.Header.Set("Authorization", "Bearer "+s.cfg.Token)
	case s.cfg.BasicAuthUser != "":
		req.SetBasicAuth(s.cfg.BasicAuthUser, s.cfg.BasicAuthPassword)
	}
	resp, err := s.cfg.HTTP.Do(req)
	if err != nil {
		err = transportError(err)
		return Result{}, &SendError{Retryable: true, Err: fmt.Errorf("pyroscope POST %s/ingest: %w", s.base, err)}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if resp.StatusCode/100 == 2 {
		return Result{}, nil
	}
	err = fmt.Errorf("pyroscope POST %s/ingest: status %d: %s", s.base, resp.StatusCode, safetext.Line(truncate(strings.TrimSpace(string(body)), 300)))
	return Result{}, httpStatusError(resp, err)
}
