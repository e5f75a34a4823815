package snapshot

import (
	"encoding/json"
	"time"

	"github.com/gotune/gotune/advisor"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/session"
)

// Parts are what a capture collected besides the session: the profiles as
// the target served them, the goroutine dump, goroutine groups read at the
// start of the window, and notes on what could not be captured.
type Parts struct {
	Name          string
	GotuneVersion string
	TargetName    string // what the user attached to, e.g. "pid 42 (/srv/api ...)"; redacted here
	Start, End    time.Time
	Profiles      map[string][]byte // heap, allocs, goroutine, mutex, block, cpu
	// Parsed holds already parsed profiles by the same names, so callers
	// that have them (the dashboard) are not made to parse again.
	Parsed          map[string]*profile.Profile
	GoroutineDump   []byte
	GoroutinesStart []profile.GoroutineGroup // for the goroutine-leak rule; may be nil
	GoroutinesEnd   []profile.GoroutineGroup // used when there is no dump
	Notes           []string
	AdvisorConfig   advisor.Config
}

// Assemble builds a complete snapshot: the manifest and series from the
// session (redacted, see FromSession), the profiles, the goroutine groups,
// and the advisor's report over the whole session with the profiles.
func Assemble(sess *session.Snapshot, p Parts) *Snapshot {
	s := FromSession(sess, p.Name, p.GotuneVersion, p.Start, p.End)
	if p.TargetName != "" {
		s.Manifest.Target.Name = RedactCommand(p.TargetName)
	}
	notes := append([]string(nil), p.Notes...)
	for k, v := range p.Profiles {
		if len(v) > 0 {
			s.Profiles[k] = v
		}
	}
	groups := p.GoroutinesEnd
	if len(p.GoroutineDump) > 0 {
		s.GoroutineDump = p.GoroutineDump
		if gs, err := profile.ParseGoroutineDumpBytes(p.GoroutineDump); err == nil {
			groups = profile.GroupGoroutines(gs, profile.GroupOptions{})
		} else {
			notes = append(notes, "goroutine groups: "+err.Error())
		}
	}
	if len(groups) > 0 {
		if b, err := json.Marshal(groups); err == nil {
			s.Goroutines = b
		}
	}
	parsed := func(name string) *profile.Profile {
		if pp := p.Parsed[name]; pp != nil {
			return pp
		}
		if b := s.Profiles[name]; len(b) > 0 {
			pp, err := profile.ParseBytes(b)
			if err == nil {
				return pp
			}
			notes = append(notes, name+" profile: "+err.Error())
		}
		return nil
	}
	// The leak rule matches groups between the start and the end of the
	// window, so both ends must be grouped the same way: from goroutine
	// profiles (no states) when the start came from one.
	end := groups
	if gp := parsed("goroutine"); gp != nil && p.GoroutinesStart != nil {
		if g, err := profile.GoroutineGroupsFromProfile(gp); err == nil {
			end = g
		}
	}
	in := advisor.InputFrom(sess, 0)
	in.Profiles = advisor.Profiles{CPU: parsed("cpu"), Heap: parsed("heap"), Allocs: parsed("allocs"), Mutex: parsed("mutex"),
		GoroutinesStart: p.GoroutinesStart, GoroutinesEnd: end}
	cfg := p.AdvisorConfig
	if cfg == (advisor.Config{}) {
		cfg = advisor.DefaultConfig()
	}
	if b, err := json.Marshal(advisor.Advise(in, cfg)); err == nil {
		s.Findings = b
	} else {
		notes = append(notes, "findings: "+err.Error())
	}
	s.Manifest.Notes = notes
	return s
}
