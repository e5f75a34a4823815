package ui

import (
	"errors"
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/gotune/gotune/capture"
	"github.com/gotune/gotune/export"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/safetext"
	"github.com/gotune/gotune/session"
)

// Exporter is where E sends the session's profiles and recent series.
// export.Group implements it. Enqueueing never blocks: the exporter
// sends in the background, and its Stats say how far it got.
type Exporter interface {
	EnqueueProfile(c *profile.Captured, o export.Origin) error
	EnqueueMetrics(points []session.Point, o export.Origin) error
	Stats() []export.Stats
}

// engineExportedMsg says what e queued.
type engineExportedMsg struct {
	profiles []profile.Kind
	points   int
	upTo     time.Time // the newest point queued
	err      error
}

// exportState is the dashboard's export: what was sent up to when, and
// the last answer, for the status line.
type exportState struct {
	used     bool
	upTo     time.Time
	last     *engineExportedMsg
	lastAt   time.Time
	noTarget bool
}

// exportSession queues the profiles the session holds (the newest of each
// kind) and the points newer than since, labelled with the session's
// target and GOGC, trigger "manual".
func exportSession(ex Exporter, sess *capture.Session, since time.Time, service string) tea.Cmd {
	return func() tea.Msg {
		snap := sess.Snapshot()
		o := export.OriginOf(snap, service, "manual", "")
		var msg engineExportedMsg
		var errs []error
		for _, ki := range profile.Kinds() {
			c := sess.Held(ki.Kind)
			if c == nil {
				continue
			}
			if err := ex.EnqueueProfile(c, o); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", ki.Kind, err))
				continue
			}
			msg.profiles = append(msg.profiles, ki.Kind)
		}
		var pts []session.Point
		for _, p := range snap.Points {
			if p.Time.After(since) {
				pts = append(pts, p)
			}
		}
		if len(pts) > 0 {
			if err := ex.EnqueueMetrics(pts, o); err != nil {
				errs = append(errs, fmt.Errorf("metrics: %w", err))
			} else {
				msg.points, msg.upTo = len(pts), pts[len(pts)-1].Time
			}
		}
		msg.err = errors.Join(errs...)
		return msg
	}
}

// startExport handles e.
func (m *Model) startExport() tea.Cmd {
	st := &m.export
	st.used = true
	if m.opts.Export == nil {
		st.noTarget = true
		return nil
	}
	if !m.s.attached() {
		return nil
	}
	return exportSession(m.opts.Export, m.s.sess, st.upTo, m.opts.ExportService)
}

func (m *Model) exported(msg engineExportedMsg) {
	st := &m.export
	st.last, st.lastAt = &msg, m.clock()
	if msg.upTo.After(st.upTo) {
		st.upTo = msg.upTo
	}
}

// exportStatus is the status line's export part: what E queued last, and
// every destination's counters (sent, queued, on disk, lost), or its
// failure; "" before the first E.
func (m *Model) exportStatus() string {
	st := &m.export
	t := m.s.theme
	if !st.used {
		return ""
	}
	if st.noTarget {
		return t.Warn.S("E: no export destination; start gotune with --export URL or set GOTUNE_EXPORT")
	}
	var parts []string
	if l := st.last; l != nil && m.clock().Sub(st.lastAt) < 5*time.Second {
		parts = append(parts, fmt.Sprintf("exported %d profiles, %d points", len(l.profiles), l.points))
	}
	for _, s := range m.opts.Export.Stats() {
		p := fmt.Sprintf("%s: %d sent, %d queued", s.Kind, s.Sent, s.Queued+s.Spilled)
		if n := s.Lost(); n > 0 {
			p += fmt.Sprintf(", %d lost", n)
		}
		switch {
		case s.Failing:
			parts = append(parts, t.Warn.S(p+", retrying: "+safetext.Line(s.LastError)))
		case s.Lost() > 0:
			parts = append(parts, t.Crit.S(p+": "+safetext.Line(s.LastError)))
		default:
			parts = append(parts, t.Muted.S(p))
		}
	}
	if l := st.last; l != nil && l.err != nil {
		parts = append(parts, t.Crit.S(safetext.Line(l.err.Error())))
	}
	return strings.Join(parts, t.Faint.S(" · "))
}
