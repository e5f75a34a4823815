package collectors

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"

	"github.com/gotune/gotune/profile"
)

// ProfileRequest says which profile to fetch from /debug/pprof/<Kind>.
type ProfileRequest struct {
	Kind    profile.Kind
	Seconds int           // duration of a timed profile (CPU); default 10
	Debug   int           // 0: gzipped protobuf; 1, 2: text (goroutine debug=2 is the full dump)
	GC      bool          // heap: run a GC first (gc=1) for an up-to-date in-use profile
	Timeout time.Duration // overrides the client's timeout (a CPU profile adds Seconds)
}

// PprofClient fetches profiles from a net/http/pprof server. It allows one
// CPU profile at a time per client: a second one would fail on the target
// anyway ("cpu profiling already in use") and doubles the overhead.
type PprofClient struct {
	Base    string // e.g. http://127.0.0.1:6060
	HTTP    *http.Client
	Timeout time.Duration // per call; default DefaultTimeout
	MaxBody int64         // default DefaultMaxBody

	cpu sync.Mutex
}

// NewPprofClient returns a client for the pprof endpoints under base.
func NewPprofClient(base string) *PprofClient {
	if b, err := NormalizeBase(base); err == nil {
		base = b
	}
	return &PprofClient{Base: base, HTTP: NewHTTPClient(), Timeout: DefaultTimeout, MaxBody: DefaultMaxBody}
}

// ErrCPUProfileBusy is returned when a CPU profile is already being captured
// through this client.
var ErrCPUProfileBusy = errors.New("a CPU profile is already being captured from this target; wait for it to finish")

// URL returns the endpoint URL for req.
func (c *PprofClient) URL(req ProfileRequest) string {
	q := url.Values{}
	if req.Kind.Timed() {
		q.Set("seconds", strconv.Itoa(cpuSeconds(req)))
	}
	if req.Debug > 0 {
		q.Set("debug", strconv.Itoa(req.Debug))
	}
	if req.GC {
		q.Set("gc", "1")
	}
	u := c.Base + "/debug/pprof/" + req.Kind.Endpoint()
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

func cpuSeconds(req ProfileRequest) int {
	if req.Seconds <= 0 {
		return 10
	}
	return req.Seconds
}

// Fetch returns the body of one profile: for Debug 0 gzipped protobuf and
// its decoding (DecodeFetched: a truncated or non-profile body is an error
// here, not later), text otherwise.
func (c *PprofClient) Fetch(ctx context.Context, req ProfileRequest) (Fetched, error) {
	if !req.Kind.Valid() {
		_, err := profile.ParseKind(string(req.Kind))
		return Fetched{}, err
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if req.Timeout > 0 {
		timeout = req.Timeout
	}
	if req.Kind.Timed() {
		if !c.cpu.TryLock() {
			return Fetched{}, ErrCPUProfileBusy
		}
		defer c.cpu.Unlock()
		timeout += time.Duration(cpuSeconds(req)) * time.Second
	}
	maxBody := c.MaxBody
	if maxBody <= 0 {
		maxBody = DefaultMaxBody
	}
	httpc := c.HTTP
	if httpc == nil {
		httpc = NewHTTPClient()
	}
	u := c.URL(req)
	body, _, err := get(ctx, httpc, u, timeout, maxBody, "")
	if err != nil {
		return Fetched{}, err
	}
	if req.Debug > 0 {
		if looksLikeHTML(body) && !bytes.HasPrefix(body, []byte("goroutine ")) {
			return Fetched{}, &FetchError{URL: u, Reason: "returned an HTML page, not a text profile",
				Hint: "is this the pprof endpoint, or a login or proxy page?"}
		}
		return Fetched{Raw: body}, nil
	}
	f, err := DecodeFetched(body)
	if err != nil {
		return Fetched{}, &FetchError{URL: u, Reason: err.Error(), Err: err, Hint: profileHint(body)}
	}
	return f, nil
}

func profileHint(body []byte) string {
	if looksLikeHTML(body) {
		return "is this the pprof endpoint, or a login or proxy page?"
	}
	return ""
}

// Fetched is one fetch's answer: the body as served and, for a protobuf
// profile (Debug 0), its decoding. The decoder inflates a gzip body once,
// checking its length and CRC as it goes, so a fetched profile is checked
// and decoded in one pass, not inflated once to check and again to read.
type Fetched struct {
	Raw     []byte
	Profile *profile.Profile // nil for a text body (Debug > 0)
}

// DecodeFetched checks that body is a complete pprof profile, gzip that
// inflates to its end with a good checksum (pprof profiles are always
// gzipped over HTTP) or an uncompressed protobuf, and decodes it, within
// the profile package's budget (profile.DefaultBudget: GOTUNE_PROFILE_BUDGET
// changes it). Its errors say what is wrong with the body.
func DecodeFetched(body []byte) (Fetched, error) {
	if len(body) == 0 {
		return Fetched{}, errors.New("empty response, not a profile")
	}
	if looksLikeHTML(body) {
		return Fetched{}, errors.New("got an HTML page, not a profile")
	}
	if len(body) < 2 || body[0] != 0x1f || body[1] != 0x8b {
		// Uncompressed protobuf: a profile starts with field 1
		// (sample_type, wire type 2) or another low field number.
		if body[0]&0x7 != 2 || body[0]>>3 < 1 || body[0]>>3 > 14 {
			return Fetched{}, errors.New("not a pprof profile (neither gzip nor protobuf)")
		}
	}
	p, err := profile.ParseBytes(body)
	switch {
	case err == nil:
		return Fetched{Raw: body, Profile: p}, nil
	case profile.IsBudgetError(err):
		return Fetched{}, err
	case errors.Is(err, io.ErrUnexpectedEOF):
		return Fetched{}, fmt.Errorf("profile is truncated (gzip stream ends early): %w", err)
	case errors.Is(err, gzip.ErrChecksum), errors.As(err, new(flate.CorruptInputError)):
		return Fetched{}, fmt.Errorf("profile is corrupt: %w", err)
	}
	return Fetched{}, err
}
