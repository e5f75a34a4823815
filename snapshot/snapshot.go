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
	"encoding/json"
	"time"
)

// Format names the file type inside the manifest.
const Format = "gotune-snapshot"

// FormatVersion is the version this gotune writes and the newest it reads.
// Readers refuse newer versions with a message to upgrade.
const FormatVersion = 1

// Entry names inside the archive.
const (
	ManifestEntry  = "manifest.json"
	SeriesEntry    = "series.json"
	GoroutineEntry = "goroutines.json"
	FindingsEntry  = "findings.json"
	ProfilesDir    = "profiles/"
	GoroutineDump  = "profiles/goroutine-debug2.txt"
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
	// Settings is the effective GOGC, GOMEMLIMIT and GOMAXPROCS with why
	// (collectors/effective.Explanation), when known.
	Settings json.RawMessage `json:"settings,omitempty"`
	// Env holds the target's GO* environment variables only.
	Env map[string]string `json:"env,omitempty"`
	// Host facts as the collectors published them (cgroup.Stats,
	// numa.Topology, numa.Settings, numa.Process, cgroup.ThrottleRates).
	Cgroup       json.RawMessage `json:"cgroup,omitempty"`
	Throttle     json.RawMessage `json:"cgroup_rates,omitempty"`
	NUMATopology json.RawMessage `json:"numa_topology,omitempty"`
	NUMASettings json.RawMessage `json:"numa_settings,omitempty"`
	NUMAProcess  json.RawMessage `json:"numa_process,omitempty"`
	// Notes say what could not be captured and why (for example a profile
	// the target does not serve).
	Notes []string `json:"notes,omitempty"`
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
	// Build is the build info (discover.Build), when read.
	Build json.RawMessage `json:"build,omitempty"`
}

// File is one archive entry.
type File struct {
	Name    string `json:"name"`
	Kind    string `json:"kind"`              // "series", "profile", "goroutine-dump", "goroutines", "findings"
	Profile string `json:"profile,omitempty"` // heap, allocs, goroutine, cpu, mutex, block, threadcreate
	Size    int64  `json:"size"`
	SHA256  string `json:"sha256"`
}

// Point is one sample of the metric series.
type Point struct {
	Time    time.Time          `json:"time"`
	Source  string             `json:"source"`
	Values  map[string]float64 `json:"values"`
	Derived map[string]float64 `json:"derived,omitempty"`
	Missing []string           `json:"missing,omitempty"`
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

// Snapshot is the content of a .gotune file.
type Snapshot struct {
	Manifest Manifest
	Series   Series
	// Profiles maps a profile name (heap, allocs, goroutine, cpu, mutex,
	// block) to its gzipped pprof protobuf, exactly as the target served it.
	Profiles map[string][]byte
	// GoroutineDump is the debug=2 text dump, when captured.
	GoroutineDump []byte
	// Goroutines and Findings are JSON documents of the profile and advisor
	// packages (profile.GoroutineGroup list; advisor report), kept raw so
	// this package depends on neither.
	Goroutines json.RawMessage
	Findings   json.RawMessage
}
