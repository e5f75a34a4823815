package profile

import (
	"fmt"
	"strings"
	"time"
)

// Kind names a profile a Go process serves. Its string is the name gotune
// uses everywhere a person or a file sees it ("cpu", "heap", ...): snapshot
// entries (profiles/<kind>.pb.gz), JSON documents, flags.
type Kind string

// The profile kinds of runtime/pprof. Every fact about a kind lives in the
// kinds table below; adding a kind is one row there (and, when its endpoint
// is not a plain /debug/pprof/<name>, its fetch).
const (
	KindCPU          Kind = "cpu"
	KindHeap         Kind = "heap"
	KindAllocs       Kind = "allocs"
	KindGoroutine    Kind = "goroutine"
	KindMutex        Kind = "mutex"
	KindBlock        Kind = "block"
	KindThreadCreate Kind = "threadcreate"
)

// KindInfo is what gotune knows about one profile kind.
type KindInfo struct {
	Kind Kind
	// Endpoint is the path element under /debug/pprof/ that serves it.
	Endpoint string
	// Title names it for people: "CPU", "mutex contention".
	Title string
	// Timed profiles are captured over a duration (?seconds=N): the CPU
	// profile. One at a time per target.
	Timed bool
	// Cumulative profiles count from process start (allocs, mutex, block):
	// a window's share is the difference of two captures (see Delta).
	Cumulative bool
	// Snapshot kinds are fetched for every snapshot and advice window;
	// a timed kind only when asked for.
	Snapshot bool
	// Key is the key that opens it on the dashboard's Flame screen ("" for
	// none).
	Key string
}

// kinds is the one table of profile kinds, in display order.
var kinds = []KindInfo{
	{Kind: KindCPU, Endpoint: "profile", Title: "CPU", Timed: true, Key: "c"},
	{Kind: KindHeap, Endpoint: "heap", Title: "heap", Snapshot: true, Key: "m"},
	{Kind: KindAllocs, Endpoint: "allocs", Title: "allocations", Cumulative: true, Snapshot: true, Key: "a"},
	{Kind: KindGoroutine, Endpoint: "goroutine", Title: "goroutines", Snapshot: true},
	{Kind: KindMutex, Endpoint: "mutex", Title: "mutex contention", Cumulative: true, Snapshot: true, Key: "x"},
	{Kind: KindBlock, Endpoint: "block", Title: "blocking", Cumulative: true, Snapshot: true, Key: "b"},
	{Kind: KindThreadCreate, Endpoint: "threadcreate", Title: "thread creation"},
}

// Kinds lists every kind, in display order.
func Kinds() []KindInfo { return append([]KindInfo(nil), kinds...) }

// SnapshotKinds lists the kinds every snapshot holds (CPU only on request).
func SnapshotKinds() []Kind {
	var out []Kind
	for _, k := range kinds {
		if k.Snapshot {
			out = append(out, k.Kind)
		}
	}
	return out
}

// Info returns what is known about k; ok is false for an unknown kind.
func (k Kind) Info() (KindInfo, bool) {
	for _, ki := range kinds {
		if ki.Kind == k {
			return ki, true
		}
	}
	return KindInfo{}, false
}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { _, ok := k.Info(); return ok }

// Endpoint is the /debug/pprof/ path element of k; an unknown kind is its
// own endpoint.
func (k Kind) Endpoint() string {
	if ki, ok := k.Info(); ok {
		return ki.Endpoint
	}
	return string(k)
}

// Title names k for people.
func (k Kind) Title() string {
	if ki, ok := k.Info(); ok {
		return ki.Title
	}
	return string(k)
}

// Timed reports whether k is captured over a duration.
func (k Kind) Timed() bool { ki, _ := k.Info(); return ki.Timed }

// Cumulative reports whether k counts from process start.
func (k Kind) Cumulative() bool { ki, _ := k.Info(); return ki.Cumulative }

// Order is k's position in display order (unknown kinds last).
func (k Kind) Order() int {
	for i, ki := range kinds {
		if ki.Kind == k {
			return i
		}
	}
	return len(kinds)
}

// ParseKind reads a kind by name or by endpoint ("profile" is CPU).
func ParseKind(s string) (Kind, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	for _, ki := range kinds {
		if string(ki.Kind) == s || ki.Endpoint == s {
			return ki.Kind, nil
		}
	}
	names := make([]string, len(kinds))
	for i, ki := range kinds {
		names[i] = string(ki.Kind)
	}
	return "", fmt.Errorf("unknown profile kind %q (want one of %s)", s, strings.Join(names, ", "))
}

// Scope says what span of the process's life a profile's values cover.
type Scope string

const (
	// ScopeCapture: the seconds a timed profile was captured over.
	ScopeCapture Scope = "capture"
	// ScopeInstant: one moment (goroutines now; heap in-use as of the last
	// completed GC).
	ScopeInstant Scope = "instant"
	// ScopeSinceStart: counts since the process started, as served.
	ScopeSinceStart Scope = "since-start"
	// ScopeWindow: the difference of two captures of a cumulative profile,
	// the window between them (heap-style profiles: between the GCs that
	// completed before each capture).
	ScopeWindow Scope = "window"
)

// Captured is one profile as gotune fetched it: the bytes the target
// served (or, for a window, the difference of two captures), parsed, with
// the span its values cover.
type Captured struct {
	Kind Kind
	// Raw is a gzipped pprof protobuf that go tool pprof opens.
	Raw     []byte
	Profile *Profile
	Scope   Scope
	// From and To bound what the values cover: the capture for a timed
	// profile, the window for a delta, the fetch time for an instant
	// (From = To). From is zero for since-start profiles whose process
	// start is unknown.
	From, To time.Time
	// FetchedAt is when the (last) fetch finished.
	FetchedAt time.Time
}

// Seconds is the length of what the values cover, 0 for an instant or
// when unknown.
func (c *Captured) Seconds() float64 {
	if c == nil || c.From.IsZero() || c.To.IsZero() {
		return 0
	}
	return c.To.Sub(c.From).Seconds()
}
