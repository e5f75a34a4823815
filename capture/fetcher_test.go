package capture

import (
	"context"
	"testing"
	"time"

	"github.com/gotune/gotune/collectors"
	"github.com/gotune/gotune/profile"
)

// fixedCPUFetcher records CPU profiles of a fixed length whatever is
// asked, as a gops agent does (30 s).
type fixedCPUFetcher struct {
	growingFetcher
	asked []int
}

func (f *fixedCPUFetcher) CPUProfileSeconds() int { return 30 }

func (f *fixedCPUFetcher) Fetch(ctx context.Context, req collectors.ProfileRequest) (collectors.Fetched, error) {
	if req.Kind.Timed() {
		f.asked = append(f.asked, req.Seconds)
	}
	return f.growingFetcher.Fetch(ctx, req)
}

// A fetcher whose CPU profile has its own length gets asked for it, and
// the capture's span is that length, not what the front end wanted.
func TestFixedLengthCPUProfileSpan(t *testing.T) {
	f := &fixedCPUFetcher{growingFetcher: growingFetcher{t: t}}
	clock := t0
	sess := New(recordedStore(5), f, Options{Name: "gops target", Now: func() time.Time { return clock }})
	c, err := sess.Profile(t.Context(), profile.KindCPU, ProfileOptions{Seconds: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.asked) != 1 || f.asked[0] != 30 {
		t.Errorf("asked for %v s, want 30", f.asked)
	}
	if got := c.To.Sub(c.From); got != 30*time.Second || c.Scope != profile.ScopeCapture {
		t.Errorf("span %s (%s), want 30s", got, c.Scope)
	}
}
