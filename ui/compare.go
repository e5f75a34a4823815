package ui

import (
	"context"
	"errors"
	"fmt"
	"io"
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

// CompareOptions configure the compare view.
type CompareOptions struct {
	Theme   string
	NoColor bool
	// BeforeLabel and AfterLabel name the two files (their paths), shown
	// when a snapshot has no name of its own.
	BeforeLabel, AfterLabel string
}

// Compare view tabs.
const (
	cmpMetrics = iota
	cmpProfiles
	cmpGoroutines
	cmpSettings
	cmpFindings
)

var compareTabs = []string{"Metrics", "Profiles", "Goroutines", "Settings", "Findings"}

// diffPair is one profile kind's diff flames (absolute and normalized) and
// the zoom and selection the user is at.
type diffPair struct {
	kind      profile.Kind
	abs, norm *diffFlame
	err       string
	ic        icicle
}

func (p *diffPair) flame(normalized bool) *diffFlame {
	if normalized && p.norm != nil {
		return p.norm
	}
	return p.abs
}

// CompareModel is the root model of `gotune diff` on a terminal: two
// snapshots side by side in five tabs. Everything it shows is computed
// before the program starts; Update only moves through it.
type CompareModel struct {
	c       *compare.Comparison
	opts    CompareOptions
	theme   *themes.Theme
	themeOK bool
	keys    *keyMap
	w, h    int
	tab     int
	help    bool
	offset  [5]int // scroll of the list tabs
	tabs    [][2]int

	pairs      []*diffPair
	kind       int
	normalized bool
	// profile tab layout
	iw, ih, panelW int
	panelBelow     bool
	top            int // first icicle row in the body
}

// NewCompare builds the compare view of c, the comparison of before and
// after. It parses both snapshots' profiles to build the diff flames.
func NewCompare(c *compare.Comparison, before, after *snapshot.Snapshot, opts CompareOptions) *CompareModel {
	m := &CompareModel{c: c, opts: opts, keys: newKeyMap(), w: 80, h: 24}
	m.theme = themes.Choose(opts.Theme, opts.NoColor, true)
	m.themeOK = opts.NoColor || (opts.Theme != "" && opts.Theme != themes.Auto)
	for _, pd := range c.Profiles {
		p := &diffPair{kind: pd.Kind, err: pd.Error}
		m.pairs = append(m.pairs, p)
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
		base, cur := b.Profile, a.Profile
		var err error
		if p.abs, err = buildDiffFlame(pd.Kind, base, cur, pd.Absolute, c.MinChange); err != nil {
			p.err = err.Error()
			continue
		}
		if pd.Normalized != nil {
			p.norm, _ = buildDiffFlame(pd.Kind, base, cur, pd.Normalized, c.MinChange)
		}
		p.ic.focus = p.abs.root
		if len(p.abs.root.children) > 0 {
			p.ic.sel = p.abs.root.children[0]
		}
	}
	m.layout()
	return m
}

// RunCompare shows the compare view in the alternate screen until the user
// quits or ctx ends.
func RunCompare(ctx context.Context, c *compare.Comparison, before, after *snapshot.Snapshot, opts CompareOptions, in io.Reader, out io.Writer) error {
	p := tea.NewProgram(NewCompare(c, before, after, opts), tea.WithContext(ctx), tea.WithInput(in), tea.WithOutput(out))
	_, err := p.Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil
	}
	return err
}

// Init asks for the background colour when the theme depends on it.
func (m *CompareModel) Init() tea.Cmd {
	if !m.themeOK {
		return tea.RequestBackgroundColor
	}
	return nil
}

func (m *CompareModel) bodySize() (int, int) { return max(0, m.w), max(0, m.h-chromeTop-chromeBottom) }

func (m *CompareModel) layout() {
	bw, bh := m.bodySize()
	m.tabs = m.tabs[:0]
	x := 0
	for _, l := range m.tabLabels() {
		m.tabs = append(m.tabs, [2]int{x, x + ansi.StringWidthWc(l)})
		x += ansi.StringWidthWc(l)
	}
	// Profiles: a kind/mode line, the legend, the breadcrumb, then the
	// icicle with the frame panel beside it (wide) or below it (tall).
	m.top = 3
	m.panelW, m.panelBelow = 0, false
	m.iw, m.ih = bw, bh-m.top
	switch {
	case bw >= 100:
		m.panelW = min(48, bw/3)
		m.iw = bw - m.panelW - 1
	case bh >= 16:
		m.panelBelow = true
		m.ih -= 6
	}
	m.relayout()
}

func (m *CompareModel) pair() *diffPair {
	if m.kind < 0 || m.kind >= len(m.pairs) {
		return nil
	}
	return m.pairs[m.kind]
}

func (m *CompareModel) relayout() {
	p := m.pair()
	if p == nil || p.abs == nil {
		return
	}
	df := p.flame(m.normalized)
	p.ic.layout(m.iw, m.ih, df.label)
}

// Update routes a message.
func (m *CompareModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.w, m.h = msg.Width, msg.Height
		m.layout()
	case tea.BackgroundColorMsg:
		if !m.themeOK {
			m.theme = themes.Choose(m.opts.Theme, m.opts.NoColor, msg.IsDark())
			m.themeOK = true
		}
	case tea.KeyPressMsg:
		return m, m.key(msg)
	case tea.MouseClickMsg:
		m.click(msg.Mouse())
	case tea.MouseWheelMsg:
		d := 3
		if msg.Mouse().Button == tea.MouseWheelUp {
			d = -3
		}
		if m.tab == cmpProfiles {
			if p := m.pair(); p != nil {
				p.ic.moveVertical(d)
			}
		} else {
			m.offset[m.tab] = max(0, m.offset[m.tab]+d)
		}
	}
	return m, nil
}

func (m *CompareModel) key(msg tea.KeyPressMsg) tea.Cmd {
	k := m.keys
	if msg.String() == "ctrl+c" {
		return tea.Quit
	}
	if m.help {
		m.help = false
		if key.Matches(msg, k.Global.Quit) {
			return tea.Quit
		}
		return nil
	}
	switch {
	case key.Matches(msg, k.Global.Quit):
		return tea.Quit
	case key.Matches(msg, k.Global.Help):
		m.help = true
		return nil
	case key.Matches(msg, k.Compare.Tabs):
		m.tab = int(msg.String()[0] - '1')
		return nil
	case key.Matches(msg, k.Global.Next):
		m.tab = (m.tab + 1) % len(compareTabs)
		return nil
	case key.Matches(msg, k.Global.Prev):
		m.tab = (m.tab + len(compareTabs) - 1) % len(compareTabs)
		return nil
	}
	if m.tab == cmpProfiles {
		m.profileKey(msg)
		return nil
	}
	_, bh := m.bodySize()
	o := &m.offset[m.tab]
	switch {
	case key.Matches(msg, k.Nav.Up):
		*o--
	case key.Matches(msg, k.Nav.Down):
		*o++
	case key.Matches(msg, k.Nav.PageUp):
		*o -= bh / 2
	case key.Matches(msg, k.Nav.PageDown):
		*o += bh / 2
	case key.Matches(msg, k.Nav.Home):
		*o = 0
	}
	*o = max(0, *o)
	return nil
}

func (m *CompareModel) profileKey(msg tea.KeyPressMsg) {
	k := m.keys
	p := m.pair()
	switch {
	case key.Matches(msg, k.Compare.Normalize):
		m.setNormalized(!m.normalized)
	case key.Matches(msg, k.Compare.Kind) && len(m.pairs) > 0:
		d := 1
		if msg.String() == "P" {
			d = len(m.pairs) - 1
		}
		m.kind = (m.kind + d) % len(m.pairs)
		m.relayout()
	case p == nil || p.abs == nil:
	case key.Matches(msg, k.Flame.Zoom):
		if p.ic.sel != nil && p.ic.sel != p.ic.focus {
			p.ic.focus = p.ic.sel
			m.relayout()
		}
	case key.Matches(msg, k.Flame.ZoomOut):
		if p.ic.focus != nil && p.ic.focus.parent != nil {
			p.ic.focus = p.ic.focus.parent
			m.relayout()
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
func (m *CompareModel) setNormalized(on bool) {
	m.normalized = on
	for _, p := range m.pairs {
		if p.abs == nil {
			continue
		}
		fp, sp := pathOf(p.ic.focus), pathOf(p.ic.sel)
		root := p.flame(on).root
		p.ic.focus, p.ic.sel = findPath(root, fp), findPath(root, sp)
	}
	m.relayout()
}

func (m *CompareModel) click(mo tea.Mouse) {
	if mo.Y == chromeTop-1 {
		for i, r := range m.tabs {
			if mo.X >= r[0] && mo.X < r[1] {
				m.tab = i
			}
		}
		return
	}
	p := m.pair()
	if m.tab != cmpProfiles || p == nil || p.abs == nil {
		return
	}
	if p.ic.clickAt(mo.X, mo.Y-chromeTop-m.top) {
		m.relayout()
	}
}

// View renders the whole screen.
func (m *CompareModel) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.MouseMode = tea.MouseModeCellMotion
	v.WindowTitle = "gotune diff"
	return v
}

func (m *CompareModel) render() string {
	w, h := m.w, m.h
	if w < 20 || h < 6 {
		return fit("gotune: the terminal is too small ("+fmt.Sprint(w, "×", h)+"); 20×6 at least", w, h)
	}
	t := m.theme
	_, bh := m.bodySize()
	var body string
	switch {
	case m.help:
		body = m.helpView()
	case m.tab == cmpMetrics:
		body = m.scrolled(m.metricsLines(w), bh)
	case m.tab == cmpProfiles:
		body = m.profilesView()
	case m.tab == cmpGoroutines:
		body = m.scrolled(m.goroutineLines(w), bh)
	case m.tab == cmpSettings:
		body = m.scrolled(m.settingLines(), bh)
	case m.tab == cmpFindings:
		body = m.scrolled(m.findingLines(), bh)
	}
	lines := []string{m.titleLine(w), m.sidesLine(w), m.tabLine(w)}
	lines = append(lines, fitLines(body, w, bh)...)
	hint := t.Key.S("?") + t.Muted.S(" help ") + t.Key.S("q") + t.Muted.S(" quit")
	lines = append(lines, joinRight(m.summary(), hint, w))
	return fit(strings.Join(lines, "\n"), w, h)
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

func (m *CompareModel) titleLine(w int) string {
	t := m.theme
	return ansi.TruncateWc(t.Title.S("gotune diff")+" "+t.Bold.S(sideName(m.c.Before, m.opts.BeforeLabel))+
		t.Muted.S(" → ")+t.Bold.S(sideName(m.c.After, m.opts.AfterLabel)), w, "…")
}

func (m *CompareModel) sidesLine(w int) string {
	t := m.theme
	side := func(s compare.Side) string {
		return fmt.Sprintf("%s · %s, %d samples", safetext.Line(s.Target), shortDuration(s.Window.Duration()), s.Samples)
	}
	if m.c.Before.Target == m.c.After.Target {
		return t.Muted.S(truncateText(fmt.Sprintf("%s · before %s, %d samples · after %s, %d samples", safetext.Line(m.c.Before.Target),
			shortDuration(m.c.Before.Window.Duration()), m.c.Before.Samples, shortDuration(m.c.After.Window.Duration()), m.c.After.Samples), w))
	}
	return t.Muted.S(truncateText("before "+side(m.c.Before)+" │ after "+side(m.c.After), w))
}

func (m *CompareModel) tabLabels() []string {
	labels := make([]string, len(compareTabs))
	for i, name := range compareTabs {
		if m.w < 70 {
			name = name[:2]
		}
		labels[i] = fmt.Sprintf(" %d %s ", i+1, name)
	}
	return labels
}

func (m *CompareModel) tabLine(w int) string {
	t := m.theme
	var b strings.Builder
	for i, l := range m.tabLabels() {
		if i == m.tab {
			b.WriteString(t.TabActive.S(l))
		} else {
			b.WriteString(t.TabInactive.S(l))
		}
	}
	right := ""
	if m.tab == cmpProfiles {
		mode := "absolute"
		if m.normalized {
			mode = "normalized"
		}
		right = t.Muted.S(mode + " (n)")
	}
	return joinRight(b.String(), right, w)
}

// summary is the status line: what changed, in one line.
func (m *CompareModel) summary() string {
	t := m.theme
	beyond := 0
	for _, mc := range m.c.Metrics {
		if mc.Beyond {
			beyond++
		}
	}
	count := map[string]int{}
	for _, f := range m.c.Findings {
		count[f.Change]++
	}
	return t.Muted.S(fmt.Sprintf("%d metrics beyond noise · %d settings · goroutine groups: %d changed · findings: %d resolved, %d new, %d still",
		beyond, len(m.c.Settings), len(m.c.Groups), count["resolved"], count["new"], count["still"]))
}

// scrolled windows lines at the tab's offset, clamping it.
func (m *CompareModel) scrolled(lines []string, h int) string {
	o := &m.offset[m.tab]
	*o = min(*o, max(0, len(lines)-h))
	return strings.Join(lines[*o:], "\n")
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

func (m *CompareModel) metricsLines(w int) []string {
	t := m.theme
	wide, narrow := w >= 100, w < 60
	head := pad("METRIC", 18)
	if !narrow {
		head += padLeft("BEFORE", 11) + padLeft("AFTER", 11)
	}
	head += padLeft("CHANGE", 19)
	if wide {
		head += padLeft("NOISE ±", 12)
	}
	lines := []string{t.Header.S(head + "  ")}
	for _, mc := range m.c.Metrics {
		stat := func(s *compare.Stats) string {
			if s == nil {
				return "-"
			}
			return compare.FormatValue(mc.Unit, s.Mean)
		}
		l := pad(mc.Name, 18)
		if !narrow {
			l += padLeft(stat(mc.Before), 11) + padLeft(stat(mc.After), 11)
		}
		l += padLeft(compare.FormatDelta(mc), 19)
		if wide {
			noise := "-"
			if mc.Before != nil && mc.After != nil {
				noise = compare.FormatValue(mc.Unit, mc.Noise)
			}
			l += padLeft(noise, 12)
		}
		var verdict string
		switch {
		case mc.Before == nil || mc.After == nil:
			verdict = t.Muted.S("not measured")
		case mc.Beyond && mc.Delta > 0:
			verdict = t.Warn.S("▲ beyond noise")
		case mc.Beyond:
			verdict = t.Warn.S("▼ beyond noise")
		default:
			verdict = t.Muted.S("· within noise")
		}
		if narrow {
			verdict = strings.Replace(strings.Replace(verdict, "beyond noise", "", 1), "within noise", "", 1)
		}
		lines = append(lines, l+"  "+verdict)
	}
	lines = append(lines, "", t.Muted.S("A change is beyond the noise when the difference of the means exceeds two standard errors"),
		t.Muted.S("of the windows' own variation (NOISE ±, Welch)."))
	return lines
}

func (m *CompareModel) goroutineLines(w int) []string {
	t := m.theme
	if len(m.c.Groups) == 0 {
		return []string{t.Muted.S("No goroutine group appeared, grew, shrank or vanished.")}
	}
	lines := []string{t.Header.S(pad("CHANGE", 10) + padLeft("BEFORE", 7) + padLeft("AFTER", 7) + padLeft("Δ", 7) + "  " + pad("STATE", 16) + "TOP FRAMES")}
	for _, g := range m.c.Groups {
		ch := pad(g.Change, 10)
		switch g.Change {
		case "appeared", "grew":
			ch = t.Crit.S(ch)
		default:
			ch = t.OK.S(ch)
		}
		lines = append(lines, ch+padLeft(fmt.Sprint(g.Before), 7)+padLeft(fmt.Sprint(g.After), 7)+
			padLeft(fmt.Sprintf("%+d", g.After-g.Before), 7)+"  "+pad(safetext.Line(g.State), 16)+safetext.Line(g.Top))
	}
	return lines
}

func (m *CompareModel) settingLines() []string {
	t := m.theme
	if len(m.c.Settings) == 0 {
		return []string{t.Muted.S("No setting, GO* variable or Go version changed.")}
	}
	nw := 8
	for _, s := range m.c.Settings {
		nw = max(nw, ansi.StringWidthWc(safetext.Line(s.Name))+2)
	}
	lines := []string{t.Header.S(pad("SETTING", nw) + "BEFORE → AFTER")}
	for _, s := range m.c.Settings {
		lines = append(lines, pad(safetext.Line(s.Name), nw)+safetext.Line(dash(s.Before))+t.Muted.S(" → ")+t.Bold.S(safetext.Line(dash(s.After))))
	}
	return lines
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (m *CompareModel) findingLines() []string {
	t := m.theme
	if len(m.c.Findings) == 0 {
		return []string{t.Muted.S("No findings on either side (a snapshot saved without advice has none).")}
	}
	var lines []string
	for _, change := range []string{"new", "resolved", "still"} {
		var group []compare.FindingChange
		for _, f := range m.c.Findings {
			if f.Change == change {
				group = append(group, f)
			}
		}
		if len(group) == 0 {
			continue
		}
		title := map[string]string{"new": "New", "resolved": "Resolved", "still": "Still there"}[change]
		paint := map[string]themes.Paint{"new": t.Crit, "resolved": t.OK, "still": t.Warn}[change]
		lines = append(lines, paint.S(fmt.Sprintf("%s (%d)", title, len(group))))
		for _, f := range group {
			lines = append(lines, "  "+pad(safetext.Line(f.Severity), 6)+pad(safetext.Line(f.ID), 22)+" "+safetext.Line(f.Title))
		}
		lines = append(lines, "")
	}
	return lines
}

func (m *CompareModel) profilesView() string {
	t := m.theme
	if len(m.pairs) == 0 {
		return t.Muted.S("The snapshots share no profile kind: nothing to compare frame by frame.")
	}
	p := m.pair()
	// The kind line: every kind, the current one highlighted.
	var kinds []string
	for i, q := range m.pairs {
		name := string(q.kind)
		if i == m.kind {
			kinds = append(kinds, t.TabActive.S(" "+name+" "))
		} else {
			kinds = append(kinds, t.Muted.S(" "+name+" "))
		}
	}
	bw, _ := m.bodySize()
	kindLine := strings.Join(kinds, "") + t.Muted.S(" (p)")
	if p.abs == nil {
		return strings.Join([]string{kindLine, "", t.Crit.S(safetext.Line(p.err))}, "\n")
	}
	df := p.flame(m.normalized)
	mode := "absolute: Δ = after − before"
	if df.normalized {
		mode = fmt.Sprintf("normalized: after ×%.3f to the before total", df.ratio)
	}
	lines := []string{joinRight(kindLine, t.Muted.S(df.sampleType.String()+" · "+mode), bw), m.legend(df, bw), m.breadcrumb(p, df, bw)}
	icicle := p.ic.paint(func(n *flameNode) themes.Paint {
		if n == p.ic.sel {
			return t.FlameSelected
		}
		switch df.class(n) {
		case profile.ChangeGrew:
			return t.DiffGrew
		case profile.ChangeShrank:
			return t.DiffShrank
		case profile.ChangeNew:
			return t.DiffNew
		case profile.ChangeGone:
			return t.DiffGone
		}
		return t.DiffSame
	})
	var panel []string
	if m.panelW > 0 {
		panel = m.framePanel(p, df, m.panelW)
	} else if m.panelBelow {
		panel = m.framePanel(p, df, bw)
	}
	for i := 0; i < m.ih; i++ {
		l := ""
		if i < len(icicle) {
			l = icicle[i]
		}
		if m.panelW > 0 {
			l = pad(l, m.iw)
			pl := ""
			if i < len(panel) {
				pl = panel[i]
			}
			l += t.Faint.S("│") + pl
		}
		lines = append(lines, l)
	}
	if m.panelBelow {
		lines = append(lines, t.Faint.S(strings.Repeat("─", bw)))
		lines = append(lines, panel...)
	}
	return strings.Join(lines, "\n")
}

// legend says what the colours and signs mean, the mode, and the noise
// floor.
func (m *CompareModel) legend(df *diffFlame, w int) string {
	t := m.theme
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

func (m *CompareModel) breadcrumb(p *diffPair, df *diffFlame, w int) string {
	t := m.theme
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
func (m *CompareModel) framePanel(p *diffPair, df *diffFlame, w int) []string {
	t := m.theme
	var out []string
	add := func(s string) { out = append(out, " "+ansi.TruncateWc(s, max(1, w-1), "…")) }
	if n := p.ic.sel; n != nil {
		v := df.vals[n]
		c := df.class(n)
		name := safetext.Line(n.name)
		if m.panelBelow {
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
	if m.panelBelow {
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

func (m *CompareModel) helpView() string {
	t := m.theme
	k := m.keys
	var b strings.Builder
	b.WriteString(t.Title.S("Keys") + t.Muted.S(" — any key closes this help") + "\n\n")
	section := func(title string, bs []key.Binding) {
		b.WriteString(t.Bold.S(title) + "\n")
		for _, kb := range bs {
			hp := kb.Help()
			fmt.Fprintf(&b, "  %s %s\n", t.Key.S(fmt.Sprintf("%-10s", hp.Key)), hp.Desc)
		}
		b.WriteString("\n")
	}
	section("Everywhere", []key.Binding{k.Compare.Tabs, k.Global.Next, k.Global.Prev, k.Global.Help, k.Global.Quit})
	section("Profiles", []key.Binding{k.Compare.Normalize, k.Compare.Kind, k.Nav.Up, k.Nav.Down, k.Nav.Left, k.Nav.Right, k.Flame.Zoom, k.Flame.ZoomOut})
	section("Lists", []key.Binding{k.Nav.Up, k.Nav.Down, k.Nav.PageUp, k.Nav.PageDown})
	b.WriteString(t.Muted.S("Mouse: click a tab or a frame (a selected frame zooms); the wheel scrolls."))
	return b.String()
}
