package ui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/gotune/gotune/compare"
	"github.com/gotune/gotune/safetext"
	"github.com/gotune/gotune/snapshot"
)

// Comparison is what the compare mode of the root model shows: two
// snapshots side by side (`gotune diff` on a terminal). Everything it
// shows is computed when the model is built; Update only moves through it.
type Comparison struct {
	// Diff is compare.Compare(Before, After).
	Diff *compare.Comparison
	// Before and After hold the parsed profiles the diff flames are built
	// from.
	Before, After *snapshot.Snapshot
	// BeforeLabel and AfterLabel name the two files (their paths), shown
	// when a snapshot has no name of its own.
	BeforeLabel, AfterLabel string
}

// Compare screen indexes.
const (
	cmpMetrics = iota
	cmpProfiles
	cmpGoroutines
	cmpSettings
	cmpFindings
)

// newCompareScreens builds the five compare screens of cmp.
func newCompareScreens(s *shared, cmp *Comparison) []screen {
	c := cmp.Diff
	return []screen{
		newCmpMetricsScreen(s, c),
		newCmpProfilesScreen(s, c, cmp.Before, cmp.After),
		newCmpGoroutinesScreen(s, c),
		newCmpSettingsScreen(s, c),
		newCmpFindingsScreen(s, c),
	}
}

// headerLines are the compare header: the title (before → after) and the
// sides (target, window, samples).
func (cmp *Comparison) headerLines(s *shared, w int) []string {
	t := s.theme
	c := cmp.Diff
	title := ansi.TruncateWc(t.Title.S("gotune diff")+" "+t.Bold.S(sideName(c.Before, cmp.BeforeLabel))+
		t.Muted.S(" → ")+t.Bold.S(sideName(c.After, cmp.AfterLabel)), w, "…")
	var sides string
	if c.Before.Target == c.After.Target {
		sides = fmt.Sprintf("%s · before %s, %d samples · after %s, %d samples", safetext.Line(c.Before.Target),
			shortDuration(c.Before.Window.Duration()), c.Before.Samples, shortDuration(c.After.Window.Duration()), c.After.Samples)
	} else {
		side := func(sd compare.Side) string {
			return fmt.Sprintf("%s · %s, %d samples", safetext.Line(sd.Target), shortDuration(sd.Window.Duration()), sd.Samples)
		}
		sides = "before " + side(c.Before) + " │ after " + side(c.After)
	}
	return []string{title, t.Muted.S(truncateText(sides, w))}
}

func sideName(s compare.Side, label string) string {
	if s.Name != "" {
		return safetext.Line(s.Name)
	}
	if label != "" {
		return safetext.Line(label)
	}
	return safetext.Line(s.Target)
}

// statusText is the compare status line: what changed, in one line.
func (cmp *Comparison) statusText(s *shared) string {
	c := cmp.Diff
	beyond := 0
	for _, mc := range c.Metrics {
		if mc.Beyond {
			beyond++
		}
	}
	count := map[string]int{}
	for _, f := range c.Findings {
		count[f.Change]++
	}
	return s.theme.Muted.S(fmt.Sprintf("%d metrics beyond noise · %d settings · goroutine groups: %d changed · findings: %d resolved, %d new, %d still",
		beyond, len(c.Settings), len(c.Groups), count["resolved"], count["new"], count["still"]))
}

func truncateText(s string, w int) string { return ansi.TruncateWc(s, w, "…") }

// pad left-aligns s in w cells.
func pad(s string, w int) string {
	if n := ansi.StringWidthWc(s); n < w {
		return s + strings.Repeat(" ", w-n)
	}
	return s
}

// padLeft right-aligns s in w cells.
func padLeft(s string, w int) string {
	if n := ansi.StringWidthWc(s); n < w {
		return strings.Repeat(" ", w-n) + s
	}
	return s
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
