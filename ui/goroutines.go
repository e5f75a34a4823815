package ui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/gotune/gotune/capture"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/safetext"
)

// Refresh of the goroutine profile while the screen is visible (it is
// never polled while hidden): at least every goroutineRefresh, and at most
// a 1/goroutineCostShare share of wall time spent answering (a target with
// 200k goroutines takes about 0.4 s of CPU per profile, PINS.md), backing
// off after a failure up to goroutineMaxBackoff. The debug=2 dump, which
// stops the world while every stack is written, is never refreshed on its
// own.
const (
	goroutineRefresh    = 5 * time.Second
	goroutineCostShare  = 100
	goroutineMaxBackoff = time.Minute
)

// goroutinesScreen lists goroutine groups, marking those that grew since
// attach.
type goroutinesScreen struct {
	s    *shared
	w, h int

	groups  []profile.GoroutineGroup
	total   int
	at      time.Time
	err     error
	loading bool
	dump    bool          // the groups came from the debug=2 dump
	took    time.Duration // how long the last read took
	next    time.Duration // when to read again after at; 0: do not
	// growth is, per group index, how many goroutines its stack gained
	// since the session's start (shown on the first group of each stack;
	// the start comes from the goroutine profile, which has no states).
	growth map[int]int
	baseAt time.Time

	cursor, offset int
	expanded       map[string]bool
}

func newGoroutinesScreen(s *shared) *goroutinesScreen {
	return &goroutinesScreen{s: s, expanded: map[string]bool{}}
}

func (g *goroutinesScreen) title() string { return "Goroutines" }
func (g *goroutinesScreen) typing() bool  { return false }

func (g *goroutinesScreen) helpKeys() []key.Binding {
	k := g.s.keys
	return []key.Binding{k.Nav.Up, k.Nav.Down, k.Nav.PageUp, k.Nav.PageDown, k.Goroutines.Expand, k.Goroutines.Refresh, k.Goroutines.Dump}
}

func (g *goroutinesScreen) setSize(w, h int) { g.w, g.h = w, h }

// groupKey identifies a group across dumps: state and stack functions.
func groupKey(gr *profile.GoroutineGroup) string {
	var b strings.Builder
	b.WriteString(gr.State)
	for _, f := range gr.Frames {
		b.WriteByte('\x00')
		b.WriteString(f.Func)
	}
	if gr.CreatedBy != nil {
		b.WriteString("\x00<")
		b.WriteString(gr.CreatedBy.Func)
	}
	return b.String()
}

// computeGrowth compares the groups with the session's start groups.
func (g *goroutinesScreen) computeGrowth() {
	start := g.s.sess.StartGroups()
	if start == nil {
		g.growth = nil
		return
	}
	base := map[string]int{}
	for i := range start {
		base[capture.StackKey(&start[i])] += start[i].Count
	}
	now := map[string]int{}
	first := map[string]int{}
	for i := range g.groups {
		k := capture.StackKey(&g.groups[i])
		if _, ok := first[k]; !ok {
			first[k] = i
		}
		now[k] += g.groups[i].Count
	}
	g.growth = map[int]int{}
	for k, i := range first {
		if d := now[k] - base[k]; d > 0 {
			g.growth[i] = d
		}
	}
	g.baseAt = g.s.sess.Started()
}

// fetch reads the goroutine profile (dump: the debug=2 dump) unless a
// read is running or the target has no profiles.
func (g *goroutinesScreen) fetch(dump bool) tea.Cmd {
	if g.loading || g.s.sess == nil || !g.s.sess.HasProfiles() {
		return nil
	}
	g.loading = true
	if dump {
		return fetchGoroutines(g.s.ctx, g.s.sess)
	}
	return fetchGoroutineProfile(g.s.ctx, g.s.sess)
}

// due reports whether the goroutine profile should be read again now.
func (g *goroutinesScreen) due() bool {
	return !g.at.IsZero() && g.next > 0 && g.s.now.Sub(g.at) >= g.next
}

// schedule sets when to read again after a read that took took: never
// after the dump; backing off after a failure; else no more often than
// keeps the target's cost to a 1/goroutineCostShare share.
func (g *goroutinesScreen) schedule(msg goroutinesMsg) {
	switch {
	case msg.dump:
		g.next = 0
	case msg.err != nil:
		g.next = min(goroutineMaxBackoff, max(2*g.next, 2*goroutineRefresh))
	default:
		g.next = max(goroutineRefresh, goroutineCostShare*msg.took)
	}
}

func (g *goroutinesScreen) update(msg tea.Msg) tea.Cmd {
	k := g.s.keys
	switch msg := msg.(type) {
	case activatedMsg:
		if g.at.IsZero() || g.due() {
			return g.fetch(false)
		}
	case goroutinesMsg:
		g.loading = false
		g.at, g.took = msg.at, msg.took
		g.schedule(msg)
		if msg.err != nil {
			g.err = msg.err
			return nil
		}
		g.err = nil
		g.groups, g.total, g.dump = msg.groups, msg.total, msg.dump
		g.computeGrowth()
	case tickMsg:
		if g.s.active == scrGoroutines && g.due() {
			return g.fetch(false)
		}
	case tea.MouseClickMsg:
		if i, ok := g.rowAt(msg.Mouse().Y); ok {
			if i == g.cursor {
				g.toggle()
			}
			g.cursor = i
		}
	case tea.MouseWheelMsg:
		if msg.Mouse().Button == tea.MouseWheelUp {
			g.cursor--
		} else {
			g.cursor++
		}
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, k.Nav.Up):
			g.cursor--
		case key.Matches(msg, k.Nav.Down):
			g.cursor++
		case key.Matches(msg, k.Nav.PageUp):
			g.cursor -= max(1, g.h/2)
		case key.Matches(msg, k.Nav.PageDown):
			g.cursor += max(1, g.h/2)
		case key.Matches(msg, k.Nav.Home):
			g.cursor = 0
		case key.Matches(msg, k.Nav.End):
			g.cursor = len(g.groups) - 1
		case key.Matches(msg, k.Goroutines.Expand):
			g.toggle()
		case key.Matches(msg, k.Goroutines.Refresh):
			return g.fetch(g.dump)
		case key.Matches(msg, k.Goroutines.Dump):
			return g.fetch(true)
		}
	}
	g.cursor = max(0, min(g.cursor, len(g.groups)-1))
	return nil
}

func (g *goroutinesScreen) toggle() {
	if g.cursor < len(g.groups) {
		k := groupKey(&g.groups[g.cursor])
		g.expanded[k] = !g.expanded[k]
	}
}

// lines renders every group (and expanded stacks) and returns, for each
// line, the group it belongs to.
func (g *goroutinesScreen) lines() ([]string, []int) {
	t := g.s.theme
	var out []string
	var owner []int
	funcW := max(10, g.w-44)
	for i := range g.groups {
		gr := &g.groups[i]
		k := groupKey(gr)
		grew := ""
		if g.growth != nil {
			if d := g.growth[i]; d > 0 {
				grew = t.Warn.S(fmt.Sprintf("▲%-5d", d))
			} else {
				grew = "      "
			}
		}
		state := safetext.Line(gr.State)
		if state == "" {
			// The goroutine profile has no states: show its labels.
			var ls []string
			for _, l := range gr.Labels {
				ls = append(ls, l.Key+"="+l.Value)
			}
			state = safetext.Line(strings.Join(ls, ","))
			if state == "" {
				state = "-"
			}
		}
		wait := ""
		if gr.MaxWait > 0 {
			wait = fmt.Sprintf("%d", gr.MinWait)
			if gr.MaxWait != gr.MinWait {
				wait += fmt.Sprintf("-%d", gr.MaxWait)
			}
			wait += "m"
		}
		fn := "?"
		if len(gr.Frames) > 0 {
			fn = safetext.Line(shortName(userFrame(gr.Frames).Func))
		}
		creator := ""
		if gr.CreatedBy != nil {
			creator = " ← " + safetext.Line(shortName(gr.CreatedBy.Func))
		}
		mark := "▸"
		if g.expanded[k] {
			mark = "▾"
		}
		row := fmt.Sprintf("%s %s%6d  %-16s %6s  %s", mark, grew, gr.Count, ansi.TruncateWc(state, 16, "…"), wait,
			ansi.TruncateWc(fn+t.Muted.S(creator), funcW, "…"))
		if i == g.cursor {
			plain := ansi.Strip(row)
			row = t.Selected.S(plain + strings.Repeat(" ", max(0, g.w-ansi.StringWidthWc(plain))))
		}
		out = append(out, row)
		owner = append(owner, i)
		if g.expanded[k] {
			for _, f := range gr.Frames {
				out = append(out, "      "+safetext.Line(f.Func))
				owner = append(owner, i)
				out = append(out, t.Muted.S(fmt.Sprintf("          %s:%d", safetext.Line(f.File), f.Line)))
				owner = append(owner, i)
			}
			if gr.CreatedBy != nil {
				out = append(out, t.Muted.S("      created by "+safetext.Line(gr.CreatedBy.Func)))
				owner = append(owner, i)
			}
		}
	}
	return out, owner
}

// userFrame is the innermost frame outside the runtime, which names what
// the goroutine is doing better than gopark.
func userFrame(fs []profile.Frame) profile.Frame {
	for _, f := range fs {
		if !strings.HasPrefix(f.Func, "runtime.") && !strings.HasPrefix(f.Func, "sync.") &&
			!strings.HasPrefix(f.Func, "internal/") && !strings.HasPrefix(f.Func, "time.Sleep") {
			return f
		}
	}
	return fs[0]
}

func (g *goroutinesScreen) listTop() int { return 2 }

func (g *goroutinesScreen) rowAt(y int) (int, bool) {
	lines, owner := g.lines()
	start := g.scroll(owner, len(lines))
	i := start + y - g.listTop()
	if y < g.listTop() || i >= len(owner) {
		return 0, false
	}
	return owner[i], true
}

// scroll returns the first line shown so the cursor's group is visible.
func (g *goroutinesScreen) scroll(owner []int, n int) int {
	lh := max(1, g.h-g.listTop())
	first := 0
	for i, o := range owner {
		if o == g.cursor {
			first = i
			break
		}
	}
	start := 0
	if first >= lh {
		start = first - lh/3
	}
	return max(0, min(start, max(0, n-lh)))
}

func (g *goroutinesScreen) view() string {
	t := g.s.theme
	if g.s.sess == nil || !g.s.sess.HasProfiles() {
		hint := ""
		if g.s.sess != nil {
			hint = safetext.Line(g.s.sess.Hint())
		}
		return t.Warn.S("this target serves no goroutine profile: ") + hint
	}
	var head string
	switch {
	case g.groups == nil && g.err == nil:
		return t.Muted.S("reading the goroutine profile…")
	case g.groups == nil:
		return t.Crit.S(safetext.Line(g.err.Error()))
	}
	head = t.Bold.S(fmt.Sprintf("%d goroutines in %d groups", g.total, len(g.groups)))
	if !g.at.IsZero() {
		src := "goroutine profile"
		if g.dump {
			src = "debug=2 dump"
		}
		head += t.Muted.S(fmt.Sprintf(" · %s read %s in %s", src, g.at.Local().Format("15:04:05"), shortDuration(g.took)))
	}
	if !g.baseAt.IsZero() {
		head += t.Muted.S(" · ▲ grew since attach (" + g.baseAt.Local().Format("15:04:05") + ", from the goroutine profile)")
	}
	if g.err != nil {
		head += "  " + t.Crit.S(safetext.Line(g.err.Error()))
	}
	hdr := t.Muted.S(fmt.Sprintf("  %-6s%6s  %-16s %6s  %s", "grew", "count", "state", "wait", "function ← creator"))
	if !g.dump {
		// The profile has no states or waits; say how to get them and
		// what it costs.
		hdr = t.Muted.S("  ") + t.Key.S("d") + t.Muted.S(" reads the debug=2 dump (states, wait times, creators): it stops the target while every stack is written")
	}
	lines, owner := g.lines()
	start := g.scroll(owner, len(lines))
	end := min(len(lines), start+max(1, g.h-g.listTop()))
	return strings.Join(append([]string{head, hdr}, lines[start:end]...), "\n")
}
