package ui

import (
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/safetext"
)

// Profiles enter the dashboard here. Their strings (function and file
// names, labels, sample types) were written by the target and reach the
// terminal through every view built from them (flame, top, the frame
// panel, search, the compare view's diff flames), so each profile is made
// safe once as it arrives rather than view by view: every control
// character becomes U+FFFD (safetext.Line). The session keeps the original
// for the advisor, snapshots and go tool pprof.

// safeProfile returns p with every string terminal-safe (p itself when
// nothing needed it).
func safeProfile(p *profile.Profile) *profile.Profile { return p.MapStrings(safetext.Line) }

// safeCaptured returns c with its profile terminal-safe, sharing the rest.
func safeCaptured(c *profile.Captured) *profile.Captured {
	if c == nil || c.Profile == nil {
		return c
	}
	p := safeProfile(c.Profile)
	if p == c.Profile {
		return c
	}
	cc := *c
	cc.Profile = p
	return &cc
}
