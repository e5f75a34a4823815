package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/gotune/gotune/compare"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/safetext"
	"github.com/gotune/gotune/snapshot"
	"github.com/gotune/gotune/themes"
)

// diffPair is one profile kind's diff flames (absolute and normalized),
// what each side's profile covers, and the zoom and selection the user is
// at.
type diffPair struct {
	kind      profile.Kind
	sides     [2]compare.ProfileSide // before, after
	abs, norm *diffFlame
	err       string
	ic        icicle[*diffNode]
}

func (p *diffPair) flame(normalized bool) *diffFlame {
	if normalized && p.norm != nil {
		return p.norm
	}
	return p.abs
}

// cmpProfilesScreen shows one profile kind's diff flame at a time (p and
// P switch kinds), absolute or normalized (n), with the selected frame's
// before, after and change, and the functions that changed most.
type cmpProfilesScreen struct {
	s          *shared
	pairs      []*diffPair
	kind       int
	normalized bool

	// layout: a kind/mode line, the sides' spans, the legend and the
	// breadcrumb, then the icicle with the frame panel beside it (wide)
	// or below it (tall).
	w, h           int
	spanRows       int // 1: both spans on one line; 2: a line each
	top            int // first icicle row in the body
	iw, ih, panelW int
	panelBelow     bool
}

// newCmpProfilesScreen builds the diff flames of c's profiles from the
// profiles the snapshots hold, parsed when they were read.
func newCmpProfilesScreen(s *shared, c *compare.Comparison, before, after *snapshot.Snapshot) *cmpProfilesScreen {
	ps := &cmpProfilesScreen{s: s}
	for _, pd := range c.Profiles {
		p := &diffPair{kind: pd.Kind, sides: [2]compare.ProfileSide{pd.Before, pd.After}, err: pd.Error}
		ps.pairs = append(ps.pairs, p)
		if pd.Error != "" || pd.Absolute == nil {
			if p.err == "" {
				p.err = "no diff"
			}
			continue
		}
		b, a := before.Profile(pd.Kind), after.Profile(pd.Kind)
		if b == nil || a == nil || b.Profile == nil || a.Profile == nil {
			p.err = "a side's profile could not be read"
			continue
		}
		base, cur := safeProfile(b.Profile), safeProfile(a.Profile)
		var err error
		if p.abs, err = buildDiffFlame(pd.Kind, base, cur, pd.Absolute, c.MinChange); err != nil {
			p.err = err.Error()
			continue
		}
		if pd.Normalized != nil {
			p.norm, _ = buildDiffFlame(pd.Kind, base, cur, pd.Normalized, c.MinChange)
		}
		p.ic.tree, p.ic.focus = p.abs, p.abs.root
		if len(p.abs.root.children) > 0 {
			p.ic.sel = p.abs.root.children[0]
		}
	}
	return ps
}

func (ps *cmpProfilesScreen) title() string { return "Profiles" }
func (ps *cmpProfilesScreen) typing() bool  { return false }

func (ps *cmpProfilesScreen) helpKeys() []key.Binding {
	k := ps.s.keys
	return []key.Binding{k.Compare.Normalize, k.Compare.Kind, k.Nav.Up, k.Nav.Down, k.Nav.Left, k.Nav.Right, k.Flame.Zoom, k.Flame.ZoomOut}
}

// tabHint is the mode, at the right of the tab line.
func (ps *cmpProfilesScreen) tabHint() string {
	mode := "absolute"
	if ps.normalized {
		mode = "normalized"
	}
	return ps.s.theme.Muted.S(mode + " (n)")
}

func (ps *cmpProfilesScreen) setSize(w, h int) {
	ps.w, ps.h = w, h
	// One line holds both spans when every kind's fit; else a line each
	// when there is room, so the icicle keeps its height across kinds.
	ps.spanRows = 1
	for _, p := range ps.pairs {
		if ansi.StringWidthWc(ps.spanLine(p)) > w && h >= 16 {
			ps.spanRows = 2
		}
	}
	ps.top = 3 + ps.spanRows
	ps.panelW, ps.panelBelow = 0, false
	ps.iw, ps.ih = w, h-ps.top
	switch {
	case w >= 100:
		ps.panelW = min(48, w/3)
		ps.iw = w - ps.panelW - 1
	case h >= 16:
		ps.panelBelow = true
		ps.ih -= 6
	}
	ps.relayout()
}

func (ps *cmpProfilesScreen) pair() *diffPair {
	if ps.kind < 0 || ps.kind >= len(ps.pairs) {
		return nil
	}
	return ps.pairs[ps.kind]
}

func (ps *cmpProfilesScreen) relayout() {
	p := ps.pair()
	if p == nil || p.abs == nil {
		return
	}
	p.ic.tree = p.flame(ps.normalized)
	p.ic.layout(ps.iw, ps.ih, p.flame(ps.normalized).label)
}

func (ps *cmpProfilesScreen) update(msg tea.Msg) tea.Cmd {
	p := ps.pair()
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		ps.key(msg)
	case tea.MouseWheelMsg:
		if p != nil {
			if msg.Mouse().Button == tea.MouseWheelUp {
				p.ic.moveVertical(-3)
			} else {
				p.ic.moveVertical(3)
			}
		}
	case tea.MouseClickMsg:
		// The root gives the body's coordinates.
		if mo := msg.Mouse(); p != nil && p.abs != nil && p.ic.clickAt(mo.X, mo.Y-ps.top) {
			ps.relayout()
		}
	}
	return nil
}

func (ps *cmpProfilesScreen) key(msg tea.KeyPressMsg) {
	k := ps.s.keys
	p := ps.pair()
	switch {
	case key.Matches(msg, k.Compare.Normalize):
		ps.setNormalized(!ps.normalized)
	case key.Matches(msg, k.Compare.Kind) && len(ps.pairs) > 0:
		d := 1
		if msg.String() == "P" {
			d = len(ps.pairs) - 1
		}
		ps.kind = (ps.kind + d) % len(ps.pairs)
		ps.relayout()
	case p == nil || p.abs == nil:
	case key.Matches(msg, k.Flame.Zoom):
		if p.ic.sel != nil && p.ic.sel != p.ic.focus {
			p.ic.focus = p.ic.sel
			ps.relayout()
		}
	case key.Matches(msg, k.Flame.ZoomOut):
		if p.ic.focus != nil && p.ic.focus.parent != nil {
			p.ic.focus = p.ic.focus.parent
			ps.relayout()
		}
	case key.Matches(msg, k.Nav.Up):
		p.ic.moveVertical(-1)
	case key.Matches(msg, k.Nav.Down):
		p.ic.moveVertical(1)
	case key.Matches(msg, k.Nav.Left):
		p.ic.moveHorizontal(-1)
	case key.Matches(msg, k.Nav.Right):
		p.ic.moveHorizontal(1)
	}
}

// setNormalized switches every kind's mode, keeping each zoom and
// selection by path: both modes have the same frames.
func (ps *cmpProfilesScreen) setNormalized(on bool) {
	ps.normalized = on
	for _, p := range ps.pairs {
		if p.abs == nil {
			continue
		}
		fp, sp := pathOf(p.ic.focus), pathOf(p.ic.sel)
		root := p.flame(on).root
		p.ic.focus, p.ic.sel = findPath(root, fp), findPath(root, sp)
	}
	ps.relayout()
}

// spanLine says what each side's profile covers, both on one line.
func (ps *cmpProfilesScreen) spanLine(p *diffPair) string {
	t := ps.s.theme
	return t.Muted.S("before ") + safetext.Line(p.sides[0].Text()) + t.Faint.S(" │ ") +
		t.Muted.S("after ") + safetext.Line(p.sides[1].Text())
}

// spanLines are the sides' spans in spanRows lines.
func (ps *cmpProfilesScreen) spanLines(p *diffPair) []string {
	t := ps.s.theme
	if ps.spanRows == 1 {
		return []string{truncateText(ps.spanLine(p), ps.w)}
	}
	return []string{t.Muted.S("before ") + safetext.Line(p.sides[0].Text()), t.Muted.S("after  ") + safetext.Line(p.sides[1].Text())}
}

func (ps *cmpProfilesScreen) view() string {
	t := ps.s.theme
	if len(ps.pairs) == 0 {
		return t.Muted.S("The snapshots share no profile kind: nothing to compare frame by frame.")
	}
	p := ps.pair()
	bw := ps.w
	// The kind line: every kind, the current one highlighted.
	var kinds []string
	for i, q := range ps.pairs {
		name := string(q.kind)
		if i == ps.kind {
			kinds = append(kinds, t.TabActive.S(" "+name+" "))
		} else {
			kinds = append(kinds, t.Muted.S(" "+name+" "))
		}
	}
	kindLine := strings.Join(kinds, "") + t.Muted.S(" (p)")
	if p.abs == nil {
		lines := append([]string{kindLine}, ps.spanLines(p)...)
		return strings.Join(append(lines, "", t.Crit.S(safetext.Line(p.err))), "\n")
	}
	df := p.flame(ps.normalized)
	mode := "absolute: Δ = after − before"
	if df.normalized {
		mode = fmt.Sprintf("normalized: after ×%.3f to the before total", df.ratio)
	}
	lines := []string{joinRight(kindLine, t.Muted.S(df.sampleType.String()+" · "+mode), bw)}
	lines = append(lines, ps.spanLines(p)...)
	lines = append(lines, ps.legend(df, bw), ps.breadcrumb(p, bw))
	icicle := p.ic.paint(func(n *diffNode) (themes.Paint, bool) {
		if n == p.ic.sel {
			return t.FlameSelected, true
		}
		switch df.class(n) {
		case profile.ChangeGrew:
			return t.DiffGrew, true
		case profile.ChangeShrank:
			return t.DiffShrank, true
		case profile.ChangeNew:
			return t.DiffNew, true
		case profile.ChangeGone:
			return t.DiffGone, true
		}
		return t.DiffSame, true
	}, t.Faint)
	var panel []string
	if ps.panelW > 0 {
		panel = ps.framePanel(p, df, ps.panelW)
	} else if ps.panelBelow {
		panel = ps.framePanel(p, df, bw)
	}
	for i := 0; i < ps.ih; i++ {
		l := ""
		if i < len(icicle) {
			l = icicle[i]
		}
		if ps.panelW > 0 {
			l = pad(l, ps.iw)
			pl := ""
			if i < len(panel) {
				pl = panel[i]
			}
			l += t.Faint.S("│") + pl
		}
		lines = append(lines, l)
	}
	if ps.panelBelow {
		lines = append(lines, t.Faint.S(strings.Repeat("─", bw)))
		lines = append(lines, panel...)
	}
	return strings.Join(lines, "\n")
}

// legend says what the colours and signs mean, the mode, and the noise
// floor.
func (ps *cmpProfilesScreen) legend(df *diffFlame, w int) string {
	t := ps.s.theme
	items := t.DiffGrew.S("▲grew") + " " + t.DiffShrank.S("▼shrank") + " " + t.DiffNew.S("+new") + " " + t.DiffGone.S("×gone") + " " + t.DiffSame.S("within noise")
	for _, floor := range []string{
		fmt.Sprintf("noise floor: |Δ| < %s (%.1f%% of the before total, %s)", df.format(df.floor), df.minChange*100, df.format(df.baseTotal)),
		fmt.Sprintf("noise floor |Δ| < %s (%.1f%%)", df.format(df.floor), df.minChange*100),
	} {
		if l := items + t.Muted.S(" · "+floor); ansi.StringWidthWc(l) <= w {
			return l
		}
	}
	return t.Muted.S(fmt.Sprintf("floor %.1f%% ", df.minChange*100)) + items
}

func (ps *cmpProfilesScreen) breadcrumb(p *diffPair, w int) string {
	t := ps.s.theme
	if p.ic.focus == nil {
		return ""
	}
	var names []string
	for n := p.ic.focus; n != nil; n = n.parent {
		names = append(names, safetext.Line(shortName(n.name)))
	}
	for i, j := 0, len(names)-1; i < j; i, j = i+1, j-1 {
		names[i], names[j] = names[j], names[i]
	}
	s := strings.Join(names, " › ")
	if ansi.StringWidthWc(s) > w-12 && w > 13 {
		s = ansi.TruncateLeftWc(s, ansi.StringWidthWc(s)-(w-13), "…")
	}
	zoom := ""
	if p.ic.focus.parent != nil {
		zoom = t.Muted.S(" (zoomed; esc zooms out)")
	}
	return t.Muted.S(s) + zoom
}

// framePanel describes the selected frame (before, after, change) and
// lists the functions that changed most.
func (ps *cmpProfilesScreen) framePanel(p *diffPair, df *diffFlame, w int) []string {
	t := ps.s.theme
	var out []string
	add := func(s string) { out = append(out, " "+ansi.TruncateWc(s, max(1, w-1), "…")) }
	if n := p.ic.sel; n != nil {
		v := df.vals[n]
		c := df.class(n)
		name := safetext.Line(n.name)
		if ps.panelBelow {
			add(t.Bold.S(name))
			add(fmt.Sprintf("%s %s  %s %s  %s %s  %s", t.Muted.S("before"), df.format(v.before), t.Muted.S("after"), df.format(v.after),
				t.Muted.S("Δ"), df.deltaText(v.after-v.before), changeText(c)))
		} else {
			for i := 0; i < 2 && name != ""; i++ {
				cut := ansi.TruncateWc(name, max(1, w-1), "")
				add(t.Bold.S(cut))
				name = name[len(cut):]
			}
			add(t.Muted.S("before ") + padLeft(df.format(v.before), 10))
			add(t.Muted.S("after  ") + padLeft(df.format(v.after), 10))
			add(t.Muted.S("Δ      ") + padLeft(df.deltaText(v.after-v.before), 10) + "  " + changeText(c))
		}
	}
	add("")
	add(t.Accent.S(fmt.Sprintf("Changed functions (%d)", len(df.changes))))
	if len(df.changes) == 0 {
		add(t.Muted.S("  no change beyond the noise floor"))
	}
	limit := 12
	if ps.panelBelow {
		limit = 1
	}
	for i, r := range df.changes {
		if i >= limit {
			add(t.Muted.S(fmt.Sprintf("  … %d more", len(df.changes)-i)))
			break
		}
		add(fmt.Sprintf("%s %s %s", marker(r.Change), padLeft(df.deltaText(r.DeltaCum), 16), safetext.Line(shortName(r.Name))))
	}
	return out
}

func changeText(c profile.Change) string {
	switch c {
	case profile.ChangeNoise:
		return "within noise"
	case profile.ChangeNoDelta:
		return "unchanged"
	}
	return string(c)
}
