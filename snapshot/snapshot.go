// Package snapshot reads and writes .gotune files: one file holding
// everything captured from a target over a window — a versioned manifest
// (target facts, effective settings, cgroup and NUMA facts), the metric
// series, standard pprof profiles, goroutine groups and the advisor's
// findings — so two captures can be compared as a whole and shared.
//
// A .gotune file is a zip archive. Its first entry is manifest.json, which
// lists every other entry with its size and SHA-256; zip's own CRC-32 guards
// each entry too. Writes are atomic (temporary file, fsync, rename). The
// format is documented in docs/snapshot-format.md.
package snapshot

import (
	"slices"
	"time"

	"github.com/gotune/gotune/advisor"
	"github.com/gotune/gotune/collectors/cgroup"
	"github.com/gotune/gotune/collectors/discover"
	"github.com/gotune/gotune/collectors/effective"
	"github.com/gotune/gotune/collectors/numa"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/trace"
)

// Format names the file type inside the manifest.
const Format = "gotune-snapshot"

// FormatVersion is the version this gotune writes and the newest it reads.
// Readers refuse newer versions with a message to upgrade. Version 2 added
// each profile's scope and span (windowed allocs, mutex and block
// profiles); version 1 files read as profiles served since process start.
const FormatVersion = 2

// Entry names inside the archive.
const (
	ManifestEntry  = "manifest.json"
	SeriesEntry    = "series.json"
	GoroutineEntry = "goroutines.json"
	StartGroups    = "goroutines-start.json"
	FindingsEntry  = "findings.json"
	ProfilesDir    = "profiles/"
	GoroutineDump  = "profiles/goroutine-debug2.txt"
	// TraceEntry is the execution trace as the target wrote it (a file
	// go tool trace opens); TraceSummaryEntry its trace.Captured JSON
	// (where it came from, its span, gotune's analysis).
	TraceEntry        = "trace/trace.out"
	TraceSummaryEntry = "trace/summary.json"
)

// Manifest describes a snapshot. Everything in it has been redacted
// (see Redact) before it is written.
type Manifest struct {
	Format        string    `json:"format"`
	FormatVersion int       `json:"format_version"`
	GotuneVersion string    `json:"gotune_version"`
	Created       time.Time `json:"created"`
	Name          string    `json:"name,omitempty"` // a label the user chose, e.g. "before GOGC=200"
	Window        Window    `json:"window"`
	Target        Target    `json:"target"`
	// Settings is the effective GOGC, GOMEMLIMIT and GOMAXPROCS with why,
	// when known.
	Settings *effective.Explanation `json:"settings,omitempty"`
	// Env holds the target's GO* environment variables only.
	Env map[string]string `json:"env,omitempty"`
	// Host facts as the collectors published them; absent for URL targets.
	Cgroup *cgroup.Stats `json:"cgroup,omitempty"`
	// CgroupStart is the cgroup reading at the window's start, for
	// throttling over the whole window.
	CgroupStart  *cgroup.Stats         `json:"cgroup_start,omitempty"`
	Throttle     *cgroup.ThrottleRates `json:"cgroup_rates,omitempty"`
	NUMATopology *numa.Topology        `json:"numa_topology,omitempty"`
	NUMASettings *numa.Settings        `json:"numa_settings,omitempty"`
	NUMAProcess  *numa.Process         `json:"numa_process,omitempty"`
	// Notes say what could not be captured and why (for example a profile
	// the target does not serve).
	Notes []string `json:"notes,omitempty"`
	// Changes are the live setting changes gotune applied during the
	// window, with their predictions and measured outcomes (change.go).
	Changes []Change `json:"changes,omitempty"`
	// Files lists every other entry of the archive.
	Files []File `json:"files"`
}

// Window is the capture window.
type Window struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Duration is the window's length.
func (w Window) Duration() time.Duration { return w.End.Sub(w.Start) }

// Target is what was captured.
type Target struct {
	Name       string    `json:"name"`
	URL        string    `json:"url,omitempty"` // credentials masked
	PID        int       `json:"pid,omitempty"`
	Command    string    `json:"command,omitempty"` // secret-looking flag values masked
	GoVersion  string    `json:"go_version,omitempty"`
	StartTime  time.Time `json:"start_time,omitzero"`
	MetricsVia string    `json:"metrics_via,omitempty"`
	// Build is the build info, when read.
	Build *discover.Build `json:"build,omitempty"`
}

// Uptime is how long the process had run at t, 0 when its start is
// unknown.
func (t Target) Uptime(at time.Time) time.Duration {
	if t.StartTime.IsZero() || at.Before(t.StartTime) {
		return 0
	}
	return at.Sub(t.StartTime)
}

// File is one archive entry.
type File struct {
	Name    string       `json:"name"`
	Kind    string       `json:"kind"`              // "series", "profile", "goroutine-dump", "goroutines", "findings", "trace", "trace-summary"
	Profile profile.Kind `json:"profile,omitempty"` // heap, allocs, goroutine, cpu, mutex, block, threadcreate
	// Scope and From/To say what span a profile's values cover (format
	// 2; a format 1 profile is "since-start" with no span).
	Scope  profile.Scope `json:"scope,omitempty"`
	From   time.Time     `json:"from,omitzero"`
	To     time.Time     `json:"to,omitzero"`
	Size   int64         `json:"size"`
	SHA256 string        `json:"sha256"`
}

// Point is one sample of the metric series.
type Point struct {
	Time    time.Time          `json:"time"`
	Source  string             `json:"source"`
	Values  map[string]float64 `json:"values"`
	Derived map[string]float64 `json:"derived,omitempty"`
	Missing []string           `json:"missing,omitempty"`
	// Origins says where each figure came from (an estimate's origin
	// starts with "estimate: ").
	Origins map[string]string `json:"origins,omitempty"`
	// Restart marks the first point read from a new process (restart.go):
	// nothing here is derived from the points before it.
	Restart *Restart `json:"restart,omitempty"`
}

// Series is the metric series of the window. Histograms are kept for the
// last point only (the distributions at the end of the window); rates and
// quantiles per interval are in Derived.
type Series struct {
	Points     []Point              `json:"points"`
	Histograms map[string]Histogram `json:"histograms,omitempty"`
}

// Histogram is a runtime/metrics histogram; ±Inf bounds are written as the
// strings "+Inf" and "-Inf".
type Histogram struct {
	Buckets []Float  `json:"buckets"`
	Counts  []uint64 `json:"counts"`
}

// Snapshot is the content of a .gotune file, decoded.
type Snapshot struct {
	Manifest Manifest
	Series   Series
	// Profiles holds each profile kind's gzipped pprof protobuf with the
	// span its values cover; Read parses them.
	Profiles map[profile.Kind]*profile.Captured
	// GoroutineDump is the debug=2 text dump, when captured.
	GoroutineDump []byte
	// Goroutines are the goroutine groups at the end of the window.
	Goroutines []profile.GoroutineGroup
	// GoroutinesStart are the groups of the goroutine profile at the
	// window's start (no states), for the leak rule.
	GoroutinesStart []profile.GoroutineGroup
	// Trace is the execution trace taken inside the window, with its
	// analysis; nil when none was.
	Trace *trace.Captured
	// Advice is the advisor's report over the window; nil when the
	// snapshot was saved without one.
	Advice *advisor.Report
	// Problems are parts Read could not decode (a profile that does not
	// parse, findings of another format); the rest of the snapshot stands.
	Problems []string

	jsonBytes int64 // the inflated JSON entries decoded, for Footprint
}

// Profile returns the profile of kind k, or nil.
func (s *Snapshot) Profile(k profile.Kind) *profile.Captured {
	if s == nil {
		return nil
	}
	return s.Profiles[k]
}

// Kinds lists the profile kinds the snapshot holds, in display order.
func (s *Snapshot) Kinds() []profile.Kind {
	var out []profile.Kind
	for _, ki := range profile.Kinds() {
		if s.Profiles[ki.Kind] != nil {
			out = append(out, ki.Kind)
		}
	}
	var other []profile.Kind
	for k := range s.Profiles {
		if !k.Valid() {
			other = append(other, k)
		}
	}
	slices.Sort(other)
	return append(out, other...)
}
