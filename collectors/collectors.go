// Package collectors talks to targets and the host: it fetches pprof
// profiles and runtime metrics over HTTP, runs each source on its own
// cadence with deadlines, drop-if-busy and backoff, and writes what it reads
// into a session.Store. It is the only package that does I/O against a
// target; failures become status data and errors a person can act on.
//
// A target's metrics come from every endpoint it has (FusedSource: the
// gotune agent, Prometheus, expvar, the pprof pages' MemStats, gops, on any
// of its ports), one series per metric by a fixed precedence, each value's
// origin recorded in the sample; profiles come through a ProfileFetcher
// (net/http/pprof, else gops).
//
// Subpackages read the host (proc, cgroup, numa), speak the gops protocol
// (gops) and find Go processes (discover).
package collectors

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/gotune/gotune/measurement"
	"github.com/gotune/gotune/redact"
)

// Limits on what gotune reads from a target. Every body read is capped, so a
// misbehaving or hostile target cannot make gotune use unbounded memory.
const (
	DefaultTimeout     = 5 * time.Second
	DefaultMaxBody     = 64 << 20  // profiles: a large heap profile is tens of MB
	DefaultMaxMetrics  = 8 << 20   // metrics pages
	DefaultMaxInflated = 256 << 20 // a gzip body may not inflate beyond this: profile's default inflated budget, which GOTUNE_PROFILE_BUDGET raises
	userAgent          = "gotune"
)

// FetchError is the error of one HTTP call against a target, with the
// context a person needs: which URL, what happened, and what to do.
type FetchError struct {
	URL    string
	Status int    // HTTP status, 0 if none was received
	Reason string // what happened, in words
	Hint   string // what to do about it, if we know
	Err    error  // underlying error, if any
	// Unreachable is true when nothing answered at the address (refused,
	// reset, no route): after earlier success this means the target is lost.
	Unreachable bool
}

func (e *FetchError) Error() string {
	var b strings.Builder
	b.WriteString(e.URL)
	b.WriteString(": ")
	b.WriteString(e.Reason)
	if e.Hint != "" {
		b.WriteString(" (")
		b.WriteString(e.Hint)
		b.WriteString(")")
	}
	return b.String()
}

func (e *FetchError) Unwrap() error { return e.Err }

// IsUnreachable reports whether err means nothing answered at the target.
func IsUnreachable(err error) bool {
	var fe *FetchError
	return errors.As(err, &fe) && fe.Unreachable
}

// IsNotFound reports whether err is an HTTP 404 from the target.
func IsNotFound(err error) bool {
	var fe *FetchError
	return errors.As(err, &fe) && fe.Status == http.StatusNotFound
}

// NewHTTPClient returns the client gotune uses for targets: no proxy from the
// environment would be wrong for loopback targets, so keep the default
// transport's behaviour but bound idle connections and never follow more
// than a few redirects.
func NewHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 4
	tr.ResponseHeaderTimeout = 0 // the per-call context deadline rules
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			// A redirect to another host or port takes gotune's requests
			// (and what they ask for) somewhere the user did not name.
			if from := via[0].URL; req.URL.Host != from.Host || req.URL.Scheme != from.Scheme {
				return &redirectError{to: Redact(req.URL.String()), reason: fmt.Sprintf("redirected to another host or port (%s); gotune follows redirects only on %s", Redact(req.URL.Scheme+"://"+req.URL.Host), from.Host)}
			}
			if len(via) >= 3 {
				return &redirectError{to: Redact(req.URL.String()), reason: "redirected more than 3 times (a redirect loop?)"}
			}
			return nil
		},
	}
}

// get performs one GET with its own deadline and reads at most maxBody bytes.
// A larger body is an error, never a silent truncation.
func get(ctx context.Context, c *http.Client, rawURL string, timeout time.Duration, maxBody int64, accept string) ([]byte, http.Header, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, nil, &FetchError{URL: rawURL, Reason: "bad URL: " + err.Error(), Err: err}
	}
	req.Header.Set("User-Agent", userAgent)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, classifyTransportError(ctx, rawURL, timeout, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, resp.Header, statusError(rawURL, resp.StatusCode, string(msg))
	}
	if resp.ContentLength > maxBody {
		return nil, resp.Header, tooLarge(rawURL, maxBody)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, resp.Header, classifyTransportError(ctx, rawURL, timeout, err)
	}
	if int64(len(body)) > maxBody {
		return nil, resp.Header, tooLarge(rawURL, maxBody)
	}
	return body, resp.Header, nil
}

// redirectError is a redirect gotune refused to follow.
type redirectError struct{ to, reason string }

func (e *redirectError) Error() string { return e.reason }

func tooLarge(rawURL string, maxBody int64) error {
	return &FetchError{URL: rawURL, Reason: fmt.Sprintf("response is larger than the %s gotune reads from this endpoint; not read", measurement.Bytes(float64(maxBody))),
		Hint: "the target may be serving something else here (a proxy or a file), or a very large profile"}
}

func statusError(rawURL string, status int, body string) error {
	e := &FetchError{URL: rawURL, Status: status, Reason: fmt.Sprintf("status %d %s", status, http.StatusText(status))}
	path := pathOf(rawURL)
	switch {
	case status == http.StatusNotFound && strings.Contains(path, "/debug/pprof"):
		e.Reason = fmt.Sprintf("404 from %s", path)
		e.Hint = `this server does not register net/http/pprof; add import _ "net/http/pprof" and serve http.DefaultServeMux`
	case status == http.StatusNotFound:
		e.Reason = fmt.Sprintf("404 from %s", path)
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		e.Hint = "the endpoint needs credentials gotune does not have"
	case strings.Contains(body, "profiling already in use"):
		e.Reason = "the target is already producing a CPU profile for another client"
		e.Hint = "wait for it to finish and try again"
	}
	if b := strings.TrimSpace(body); b != "" && e.Hint == "" && len(b) < 200 && !looksLikeHTML([]byte(b)) {
		e.Reason += ": " + b
	}
	return e
}

func classifyTransportError(ctx context.Context, rawURL string, timeout time.Duration, err error) error {
	e := &FetchError{URL: rawURL, Err: err}
	var op *net.OpError
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		e.Reason = fmt.Sprintf("no answer within %s", timeout)
		e.Hint = "the target may be overloaded, stopped (SIGSTOP) or not an HTTP server"
	case errors.As(err, new(*redirectError)):
		var re *redirectError
		errors.As(err, &re)
		e.Reason = re.reason
	case errors.Is(err, context.Canceled):
		e.Reason = "cancelled"
	case errors.Is(err, syscall.ECONNREFUSED):
		e.Reason = "connection refused"
		e.Hint = "nothing listens on that address; is the service running?"
		e.Unreachable = true
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		e.Reason = "connection closed by the target"
		e.Unreachable = true
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		e.Reason = "host unreachable"
		e.Unreachable = true
	case errors.As(err, &op) && op.Op == "dial":
		e.Reason = "cannot connect: " + op.Err.Error()
		e.Unreachable = true
	default:
		e.Reason = err.Error()
	}
	return e
}

func pathOf(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	return u.Path
}

// NormalizeBase turns "host:port", "http://host:port/" or a URL with a
// /debug/pprof path into the base URL every endpoint is joined to.
func NormalizeBase(target string) (string, error) {
	t := strings.TrimSpace(target)
	if t == "" {
		return "", errors.New("empty target")
	}
	if !strings.Contains(t, "://") {
		t = "http://" + t
	}
	u, err := url.Parse(t)
	if err != nil {
		return "", fmt.Errorf("target %q is not a URL: %w", target, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("target %q: only http and https URLs are supported", target)
	}
	if u.Host == "" {
		return "", fmt.Errorf("target %q has no host", target)
	}
	if i := strings.Index(u.Path, "/debug/"); i >= 0 {
		u.Path = u.Path[:i]
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawQuery, u.Fragment = "", ""
	return u.String(), nil
}

// Redact returns a URL with its credentials and secret query parameters
// masked, for display and storage.
func Redact(rawURL string) string { return redact.URL(rawURL) }

func looksLikeHTML(b []byte) bool {
	s := strings.TrimSpace(string(b[:min(len(b), 512)]))
	s = strings.ToLower(s)
	return strings.HasPrefix(s, "<!doctype html") || strings.HasPrefix(s, "<html") ||
		strings.HasPrefix(s, "<head") || strings.HasPrefix(s, "<body") || strings.HasPrefix(s, "<")
}
