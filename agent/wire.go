package agent

import "time"

// Paths of the opt-in endpoints. Each is registered on http.DefaultServeMux
// next to Path and answers with a refusal (403, or 404 for the flight
// recorder) until the program enables it; Register mounts them on another
// mux.
const (
	SettingsPath       = "/debug/gotune/settings"       // GET the settings and active changes; POST a write
	JournalPath        = "/debug/gotune/journal"        // GET every accepted write
	FlightRecorderPath = "/debug/gotune/flightrecorder" // GET a snapshot of the flight recorder
)

// ControlFormatVersion is the version of the JSON bodies of SettingsPath and
// JournalPath. It changes only when a field changes meaning or goes away.
const ControlFormatVersion = 1

// TokenDirEnv names the environment variable that overrides where the agent
// keeps its token file (see DefaultTokenDir). gotune reads it from the
// target's /proc/PID/environ.
const TokenDirEnv = "GOTUNE_AGENT_DIR"

// Setting names a runtime setting the agent can change.
type Setting string

// The settings the agent can write, named as the environment variables and
// runtime functions that set them.
const (
	GOGC                 Setting = "GOGC"                   // debug.SetGCPercent; -1 is off
	GOMEMLIMIT           Setting = "GOMEMLIMIT"             // debug.SetMemoryLimit, bytes; math.MaxInt64 is no limit
	GOMAXPROCS           Setting = "GOMAXPROCS"             // runtime.GOMAXPROCS; Default: runtime.SetDefaultGOMAXPROCS
	MutexProfileFraction Setting = "mutex_profile_fraction" // runtime.SetMutexProfileFraction; 0 is off
	BlockProfileRate     Setting = "block_profile_rate"     // runtime.SetBlockProfileRate, ns; 0 is off
)

// AllSettings lists every setting in a fixed order.
var AllSettings = []Setting{GOGC, GOMEMLIMIT, GOMAXPROCS, MutexProfileFraction, BlockProfileRate}

// Actions of a WriteRequest.
const (
	ActionSet    = "set"    // change Setting to Value (or Default), under a lease
	ActionRenew  = "renew"  // push change ID's lease end to now + LeaseSeconds
	ActionKeep   = "keep"   // end change ID's lease: the value stays
	ActionRevert = "revert" // restore what change ID replaced, now
)

// WriteRequest is the JSON body of a POST to SettingsPath.
type WriteRequest struct {
	Action  string  `json:"action"`
	Setting Setting `json:"setting,omitempty"` // set
	Value   int64   `json:"value,omitempty"`   // set
	// Default asks for Go's own default instead of Value; GOMAXPROCS only
	// (runtime.SetDefaultGOMAXPROCS, which also turns automatic updates on).
	Default bool `json:"default,omitempty"`
	// LeaseSeconds is how long the change holds before the agent reverts it
	// on its own (set, renew). 0 means the agent's DefaultLease; more than
	// its MaxLease is refused.
	LeaseSeconds float64 `json:"lease_seconds,omitempty"`
	ID           int64   `json:"id,omitempty"` // renew, keep, revert
}

// States of a Change.
const (
	StateLeased     = "leased"     // active; reverted at LeaseExpires unless renewed or kept
	StateKept       = "kept"       // active; the user kept it, no lease
	StateReverted   = "reverted"   // a client reverted it, or writes were disabled
	StateExpired    = "expired"    // the lease ended and the agent reverted it
	StateSuperseded = "superseded" // a later change of the same setting replaced it
	StateLeftAlone  = "left_alone" // due for revert, but the program had changed the value itself
)

// Change is one accepted write and what became of it.
type Change struct {
	ID      int64   `json:"id"`
	Setting Setting `json:"setting"`
	Value   int64   `json:"value"`             // the setting right after the write
	Default bool    `json:"default,omitempty"` // GOMAXPROCS returned to Go's default
	// Previous is the value right before this write.
	Previous        int64 `json:"previous"`
	PreviousDefault bool  `json:"previous_default,omitempty"`
	// Restore is what a revert puts back: the value before the first of a
	// chain of changes to this setting (a change that supersedes an active
	// one inherits its Restore, so reverting the last undoes them all).
	Restore        int64     `json:"restore"`
	RestoreDefault bool      `json:"restore_default,omitempty"`
	State          string    `json:"state"`
	SetAt          time.Time `json:"set_at"`
	LeaseExpires   time.Time `json:"lease_expires,omitzero"` // StateLeased only
	EndedAt        time.Time `json:"ended_at,omitzero"`      // when it stopped being active
	Warnings       []string  `json:"warnings,omitempty"`
}

// Active reports whether the change still holds.
func (c Change) Active() bool { return c.State == StateLeased || c.State == StateKept }

// SettingValue is a setting's current value.
type SettingValue struct {
	Setting Setting `json:"setting"`
	Value   int64   `json:"value"`
	Default bool    `json:"default,omitempty"` // GOMAXPROCS: Go's own default, updated automatically
	// Known is false when Go cannot report the value (the block profile
	// rate has no getter): Value is then what the agent last set, or the
	// program's declared WriteOptions.BlockProfileRate.
	Known bool `json:"known"`
}

// Limits are the bounds the agent enforces on writes, as measured now.
type Limits struct {
	HeapLiveBytes int64 `json:"heap_live_bytes"` // /gc/heap/live:bytes
	// NonHeapBytes is Go memory outside the heap (stacks, runtime
	// metadata, ...): /memory/classes/total minus /memory/classes/heap/*.
	NonHeapBytes int64 `json:"non_heap_bytes"`
	// MinMemoryLimit is the smallest GOMEMLIMIT accepted now.
	MinMemoryLimit int64 `json:"min_memory_limit"`
	// ContainerMemoryBytes is the cgroup memory limit (smallest over the
	// process's cgroup and its ancestors); 0 when none is known.
	ContainerMemoryBytes int64 `json:"container_memory_bytes,omitempty"`
	MinGOGC              int64 `json:"min_gogc"`
	MaxGOMAXPROCS        int64 `json:"max_gomaxprocs"` // runtime.NumCPU()
}

// Settings is the JSON body of a GET of SettingsPath.
type Settings struct {
	Format            int            `json:"format"`
	PID               int            `json:"pid"`
	Writable          []Setting      `json:"writable"`
	DefaultLease      float64        `json:"default_lease_seconds"`
	MaxLease          float64        `json:"max_lease_seconds"`
	Values            []SettingValue `json:"values"`
	Active            []Change       `json:"active,omitempty"`
	Limits            Limits         `json:"limits"`
	TokenFile         string         `json:"token_file"`
	RefusedRequests   int64          `json:"refused_requests"` // since writes were enabled, any reason
	LastRefusalReason string         `json:"last_refusal,omitempty"`
}

// Journal events.
const (
	EventSet      = "set"
	EventRenew    = "renew"
	EventKeep     = "keep"
	EventRevert   = "revert"      // reverted at a client's request
	EventExpire   = "expire"      // the lease ended; the agent reverted on its own
	EventLeave    = "leave_alone" // due for revert, left alone: the program had changed the value
	EventDisable  = "disable"     // writes were disabled; leased changes reverted
	EventEnable   = "enable"      // writes were enabled
	EventSupersed = "supersede"   // a later set of the same setting took over
)

// JournalEntry is one line of the journal: every accepted write and every
// revert the agent made.
type JournalEntry struct {
	Seq      int64     `json:"seq"`
	Time     time.Time `json:"time"`
	Event    string    `json:"event"`
	ChangeID int64     `json:"change_id,omitempty"`
	Setting  Setting   `json:"setting,omitempty"`
	// From and To are the setting's values before and after the event.
	From        int64     `json:"from"`
	To          int64     `json:"to"`
	FromDefault bool      `json:"from_default,omitempty"`
	ToDefault   bool      `json:"to_default,omitempty"`
	LeaseEnds   time.Time `json:"lease_ends,omitzero"`
	Remote      string    `json:"remote,omitempty"` // the client's address, when a client caused it
	Note        string    `json:"note,omitempty"`
	// Renewals counts the renewals this entry stands for: in memory,
	// consecutive renewals of one change are folded into one entry, which
	// keeps the sequence number of the first (WriteOptions.Journal gets
	// each).
	Renewals int `json:"renewals,omitempty"`
}

// Journal is the JSON body of a GET of JournalPath.
type Journal struct {
	Format int `json:"format"`
	PID    int `json:"pid"`
	// Dropped counts the oldest entries no longer held (the journal keeps
	// the last JournalCapacity; WriteOptions.Journal gets every one).
	Dropped int64          `json:"dropped,omitempty"`
	Entries []JournalEntry `json:"entries"`
}

// Codes of an ErrorReply, for clients that explain a refusal.
const (
	CodeWritesDisabled         = "writes_disabled"          // the program did not call EnableWrites
	CodeTLSRequired            = "tls_required"             // non-loopback connection without TLS
	CodeTokenMissing           = "token_missing"            // no Authorization: Bearer header
	CodeTokenWrong             = "token_wrong"              // a token that is not the agent's
	CodeBadRequest             = "bad_request"              // malformed body or unknown action
	CodeNotWritable            = "not_writable"             // the program did not allow this setting
	CodeOutOfBounds            = "out_of_bounds"            // refused to protect the process
	CodeNoSuchChange           = "no_such_change"           // unknown or ended change ID
	CodeFlightRecorderDisabled = "flight_recorder_disabled" // the program did not call EnableFlightRecorder
	CodeFlightRecorderBusy     = "flight_recorder_busy"     // another snapshot is being written
)

// ErrorReply is the JSON body of every refusal of the opt-in endpoints.
type ErrorReply struct {
	Code  string `json:"code"`
	Error string `json:"error"`
}
