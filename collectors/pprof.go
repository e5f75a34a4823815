package collectors

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

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

// Fetch returns the body of one profile: gzipped protobuf for Debug 0 (its
// gzip stream checked end to end, so a truncated or non-profile body is an
// error here, not later), text otherwise.
func (c *PprofClient) Fetch(ctx context.Context, req ProfileRequest) ([]byte, error) {
	if !req.Kind.Valid() {
		_, err := profile.ParseKind(string(req.Kind))
		return nil, err
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
			return nil, ErrCPUProfileBusy
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
		return nil, err
	}
	if req.Debug > 0 {
		if looksLikeHTML(body) && !bytes.HasPrefix(body, []byte("goroutine ")) {
			return nil, &FetchError{URL: u, Reason: "returned an HTML page, not a text profile",
				Hint: "is this the pprof endpoint, or a login or proxy page?"}
		}
		return body, nil
	}
	if err := CheckProfile(body); err != nil {
		return nil, &FetchError{URL: u, Reason: err.Error(), Err: err, Hint: profileHint(body)}
	}
	return body, nil
}

func profileHint(body []byte) string {
	if looksLikeHTML(body) {
		return "is this the pprof endpoint, or a login or proxy page?"
	}
	return ""
}

// CheckProfile verifies that body is a complete pprof profile: gzip that
// inflates to its end with a good checksum (pprof profiles are always
// gzipped over HTTP), or an uncompressed protobuf. It reads at most
// the profile package's inflated budget (DefaultMaxInflated unless
// GOTUNE_PROFILE_BUDGET changes it), so a body fetched is one the decoder
// takes.
func CheckProfile(body []byte) error {
	if len(body) == 0 {
		return errors.New("empty response, not a profile")
	}
	if looksLikeHTML(body) {
		return errors.New("got an HTML page, not a profile")
	}
	if len(body) < 2 || body[0] != 0x1f || body[1] != 0x8b {
		// Uncompressed protobuf: a profile starts with field 1
		// (sample_type, wire type 2) or another low field number.
		if body[0]&0x7 == 2 && body[0]>>3 >= 1 && body[0]>>3 <= 14 {
			return nil
		}
		return errors.New("not a pprof profile (neither gzip nor protobuf)")
	}
	limit := int64(DefaultMaxInflated)
	if b := profile.DefaultBudget(); b.Err() != nil {
		return b.Err()
	} else if b.Inflated > 0 {
		limit = b.Inflated
	} else {
		limit = math.MaxInt64 - 1 // lifted
	}
	n, err := profile.InflatedSize(body, limit)
	if err != nil {
		if errors.Is(err, gzip.ErrHeader) {
			return fmt.Errorf("not a pprof profile: %w", err)
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return errors.New("profile is truncated (gzip stream ends early)")
		}
		return fmt.Errorf("profile is corrupt: %w", err)
	}
	if n > limit {
		return &profile.BudgetError{What: "profile", Budget: "inflated", Limit: limit, Seen: n, AtLeast: true}
	}
	if n == 0 {
		return errors.New("profile is empty after decompression")
	}
	return nil
}
