package collectors

import (
	"context"
	"fmt"
	"time"
)

// ProfileSet is what FetchProfileSet brought back: gzipped pprof profiles by
// name (heap, allocs, goroutine, mutex, block, cpu), the goroutine debug=2
// dump, and a note for each profile that could not be fetched.
type ProfileSet struct {
	Profiles      map[string][]byte
	GoroutineDump []byte
	Notes         []string
}

// SnapshotProfiles are the profiles a snapshot holds besides CPU.
var SnapshotProfiles = []string{"heap", "allocs", "goroutine", "mutex", "block"}

// ProfileFetcher fetches one profile. *PprofClient implements it; the
// dashboard's fetcher is one too.
type ProfileFetcher interface {
	Fetch(ctx context.Context, req ProfileRequest) ([]byte, error)
}

// FetchProfileSet fetches the snapshot profiles one after the other (never
// several at once: each costs the target), plus a CPU profile of cpu (0: none)
// first. A profile that fails is noted, not fatal; the error is returned
// only when nothing at all could be fetched.
func FetchProfileSet(ctx context.Context, c *PprofClient, cpu time.Duration) (ProfileSet, error) {
	if c == nil {
		return ProfileSet{Profiles: map[string][]byte{}}, fmt.Errorf("the target serves no net/http/pprof endpoint; no profiles")
	}
	return FetchProfilesExcept(ctx, c, cpu, nil)
}

// FetchProfilesExcept is FetchProfileSet without the profiles named in have
// (snapshot names: heap, allocs, goroutine, mutex, block; "goroutine-debug2"
// for the dump), for a caller that holds some already, such as the
// dashboard saving what it shows.
func FetchProfilesExcept(ctx context.Context, c ProfileFetcher, cpu time.Duration, have map[string]bool) (ProfileSet, error) {
	set := ProfileSet{Profiles: map[string][]byte{}}
	if c == nil {
		return set, fmt.Errorf("the target serves no net/http/pprof endpoint; no profiles")
	}
	var firstErr error
	note := func(kind string, err error) {
		set.Notes = append(set.Notes, fmt.Sprintf("%s profile: %v", kind, err))
		if firstErr == nil {
			firstErr = err
		}
	}
	if cpu > 0 {
		secs := max(1, int(cpu.Round(time.Second)/time.Second))
		if b, err := c.Fetch(ctx, ProfileRequest{Kind: "profile", Seconds: secs}); err == nil {
			set.Profiles["cpu"] = b
		} else {
			note("cpu", err)
		}
	}
	fetched := 0
	for _, kind := range SnapshotProfiles {
		if ctx.Err() != nil {
			break
		}
		if have[kind] {
			continue
		}
		fetched++
		if b, err := c.Fetch(ctx, ProfileRequest{Kind: kind}); err == nil {
			set.Profiles[kind] = b
		} else {
			note(kind, err)
		}
	}
	if !have[GoroutineDumpName] {
		fetched++
		if b, err := c.Fetch(ctx, ProfileRequest{Kind: "goroutine", Debug: 2}); err == nil {
			set.GoroutineDump = b
		} else {
			note("goroutine debug=2", err)
		}
	}
	if fetched > 0 && len(set.Profiles) == 0 && set.GoroutineDump == nil {
		return set, firstErr
	}
	return set, nil
}

// GoroutineDumpName names the debug=2 goroutine dump in FetchProfilesExcept's
// have.
const GoroutineDumpName = "goroutine-debug2"
