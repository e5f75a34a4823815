package ui

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/gotune/gotune/capture"
	"github.com/gotune/gotune/collectors/effective"
	"github.com/gotune/gotune/measurement"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/profile/sources"
	"github.com/gotune/gotune/safetext"
	"github.com/gotune/gotune/session"
	"github.com/gotune/gotune/themes"
)

// screen is the contract every screen meets.
type screen interface {
	title() string
	// setSize gives the body's size; layout is computed here, once.
	setSize(w, h int)
	// update gets key and mouse messages while the screen is active and
	// every data message always.
	update(msg tea.Msg) tea.Cmd
	// view renders exactly the size last set.
	view() string
	helpKeys() []key.Binding
	// typing is true while a text field takes every key, so digits and q
	// reach it instead of switching screens or quitting.
	typing() bool
}

// shared is what every screen reads: the capture session (where the data
// lives: samples, profiles, the window's start), the theme, the latest
// snapshot, the clock, the chart window and the profile the flame and top
// screens show. Only the root model and the screens (in Update) write it;
// the session is a read-only dependency that commands ask for data.
type shared struct {
	ctx        context.Context
	theme      *themes.Theme
	keys       *keyMap
	sess       *capture.Session // nil while the picker shows
	snap       *session.Snapshot
	now        time.Time
	window     time.Duration
	attachedAt time.Time
	profile    *flameData // what the flame and top screens show
	cpuSeconds int
	interval   time.Duration
	active     int // the visible screen
	clock      func() time.Time
	sources    profile.Sources // where source listings read files
	// note is a screen's word for the status line (an export's path),
	// shown for noteFor.
	note    string
	noteErr bool
	noteAt  time.Time
	// notePath is the path note ends with, and noteShort the words to put
	// before it when note is too wide: the path is what a person needs.
	notePath, noteShort string
}

// noteFor is how long a screen's note stays in the status line.
const noteFor = 20 * time.Second

// setNote puts text in the status line for a while.
func (s *shared) setNote(text string, failed bool) {
	s.note, s.noteErr, s.noteAt = text, failed, s.clock()
	s.notePath, s.noteShort = "", ""
}

// setPathNote puts "long path" in the status line; where that is too wide,
// "short path", else short and the end of the path (fitNote).
func (s *shared) setPathNote(long, short, path string) {
	s.setNote(long+" "+path, false)
	s.notePath, s.noteShort = path, short
}

// fitNote is the status line's note in w cells: a path note drops its
// longer words first, then the start of the path, so that the file's name
// shows whole.
func (s *shared) fitNote(w int) string {
	note := safetext.Line(s.note)
	if s.notePath == "" || ansi.StringWidthWc(note) <= w {
		return note
	}
	path := safetext.Line(s.notePath)
	short := safetext.Line(s.noteShort) + " "
	if n := short + path; ansi.StringWidthWc(n) <= w {
		return n
	}
	room := w - ansi.StringWidthWc(short) - 1 // 1 for "…"
	if room < 12 {
		return note // too narrow to help: the line is cut at its end
	}
	rs := []rune(path)
	i := len(rs)
	for i > 0 && ansi.StringWidthWc(string(rs[i-1:])) <= room {
		i--
	}
	return short + "…" + string(rs[i:])
}

// attached reports whether a target is being watched.
func (s *shared) attached() bool { return s.sess != nil }

// name is the watched target's name.
func (s *shared) name() string {
	if s.sess == nil {
		return ""
	}
	return s.sess.Name()
}

// Screen indexes.
const (
	scrOverview = iota
	scrFlame
	scrTop
	scrGoroutines
	scrAdvice
	scrTrace
)

// tabHinter is a screen with a hint for the right end of the tab line
// (the chart window, a diff's mode).
type tabHinter interface{ tabHint() string }

// Model is the root model of every terminal front end: the live dashboard
// (with the process picker before a target is chosen) and, with
// Options.Compare, the compare view of two snapshots. It owns key and
// mouse routing, the header, the tab line, the help overlay, the status
// line and the theme; the screens own what is between.
type Model struct {
	opts    Options
	cmp     *Comparison // compare mode; nil when live
	s       *shared
	clock   func() time.Time
	screens []screen
	picker  *pickerScreen
	active  int
	help    bool
	width   int
	height  int
	tabs    [][2]int // x ranges of the tab labels, for clicks
	themeOK bool     // the theme is final (not waiting for the background)

	flame      *flameScreen      // nil in compare mode
	goroutines *goroutinesScreen // nil in compare mode
	trace      *traceScreen      // nil in compare mode
	save       *savePrompt

	// frame is the last rendered screen, valid while frameOK: rebuilt
	// only after a message that may have changed it.
	frame      string
	frameOK    bool
	snapAt     time.Time   // when the last snapshot arrived
	export     exportState // E: what was sent to --export (engineexport.go)
	fleet      *fleet      // host mode: the overview and the dashboards behind it (fleet.go)
	fleetChild bool        // a dashboard behind the overview: 0 returns to it
}

// Chrome lines around the body: header, settings, tabs above; status
// below.
const chromeTop, chromeBottom = 3, 1

var windows = []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute}

// New returns the root model. ctx bounds every command it starts.
func New(ctx context.Context, opts Options) *Model {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.CPUSeconds <= 0 {
		opts.CPUSeconds = 10
	}
	if opts.Interval <= 0 {
		opts.Interval = time.Second
	}
	s := &shared{ctx: ctx, keys: newKeyMap(), window: windows[0], cpuSeconds: opts.CPUSeconds,
		interval: opts.Interval, now: opts.Now(), clock: opts.Now, sources: sources.Default(opts.SourcePath...)}
	// Dark until the terminal says otherwise: most terminals are dark, and
	// the answer (if any) arrives within milliseconds.
	s.theme = themes.Choose(opts.Theme, opts.NoColor, true)
	m := &Model{opts: opts, s: s, clock: opts.Now, width: 80, height: 24}
	m.themeOK = opts.NoColor || (opts.Theme != "" && opts.Theme != themes.Auto)
	m.save = newSavePrompt(s)
	if opts.Compare != nil {
		m.cmp = opts.Compare
		m.screens = newCompareScreens(s, m.cmp)
		m.layout()
		return m
	}
	m.flame = newFlameScreen(s)
	m.goroutines = newGoroutinesScreen(s)
	m.trace = newTraceScreen(s)
	m.screens = []screen{newOverviewScreen(s), m.flame, newTopScreen(s), m.goroutines, newAdviceScreen(s, opts.Apply), m.trace}
	if opts.Session != nil {
		m.s.sess = opts.Session
		m.s.attachedAt = m.s.now
		m.s.snap = m.s.sess.Snapshot()
	} else {
		m.picker = newPickerScreen(s)
		m.picker.scanFn, m.picker.attachFn = opts.Scan, opts.Attach
		m.initFleet()
	}
	m.layout()
	return m
}

// Init starts the feed, the clock and, with no target yet, the scan; a
// comparison has everything already and only asks for the background.
func (m *Model) Init() tea.Cmd {
	var cmds []tea.Cmd
	if m.cmp == nil {
		cmds = append(cmds, tick(time.Second))
	}
	if !m.themeOK {
		cmds = append(cmds, tea.RequestBackgroundColor)
	}
	if m.s.attached() {
		cmds = append(cmds, m.startWatching())
	} else if m.fleet != nil {
		cmds = append(cmds, m.picker.refresh())
	} else if m.opts.Scan != nil {
		cmds = append(cmds, scanProcesses(m.s.ctx, m.opts.Scan))
	}
	return tea.Batch(cmds...)
}

// startWatching arms the snapshot feed. The goroutine baseline is the
// session's (taken at its start from the goroutine profile).
func (m *Model) startWatching() tea.Cmd {
	return waitForSnapshot(m.s.ctx, m.s.sess)
}

func (m *Model) layout() {
	bw, bh := m.bodySize()
	m.tabs = m.tabs[:0]
	x := 0
	for _, l := range m.tabLabels(m.width) {
		m.tabs = append(m.tabs, [2]int{x, x + ansi.StringWidthWc(l)})
		x += ansi.StringWidthWc(l)
	}
	for _, sc := range m.screens {
		sc.setSize(bw, bh)
	}

	if m.picker != nil {
		m.picker.setSize(bw, bh)
	}
}

func (m *Model) bodySize() (int, int) {
	return max(0, m.width), max(0, m.height-chromeTop-chromeBottom)
}

// Update routes a message.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if m.fleet != nil {
		if cmd, ok := m.fleetUpdate(msg); ok {
			m.frameOK = false
			return m, cmd
		}
	}
	if t, ok := msg.(tickMsg); ok {
		return m, m.tick(t)
	}
	m.frameOK = false // any other message may change what is shown
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.layout()
		return m, nil
	case tea.BackgroundColorMsg:
		if !m.themeOK {
			m.s.theme = themes.Choose(m.opts.Theme, m.opts.NoColor, msg.IsDark())
			m.themeOK = true
		}
		return m, nil
	case snapshotMsg:
		m.s.snap = msg.snap
		m.s.now = m.clock()
		m.snapAt = m.s.now
		return m, tea.Batch(m.broadcast(msg), waitForSnapshot(m.s.ctx, m.s.sess))
	case scanMsg, attachedMsg:
		if am, ok := msg.(attachedMsg); ok && am.err == nil && am.sess != nil {
			m.s.sess = am.sess
			m.s.attachedAt = m.clock()
			m.s.snap = am.sess.Snapshot()
			m.picker = nil
			m.active, m.s.active = scrOverview, scrOverview
			m.layout()
			return m, m.startWatching()
		}
		if m.picker != nil {
			return m, m.picker.update(msg)
		}
		return m, nil
	case engineExportedMsg:
		m.exported(msg)
		return m, nil
	case savedMsg:
		m.s.now = m.clock()
		m.save.done(msg)
		return m, nil
	case saveTickMsg:
		if m.save.saving {
			m.save.spin++
			return m, saveTick()
		}
		return m, nil
	case tea.PasteMsg:
		if m.save.open {
			m.save.paste(msg.Content)
			return m, nil
		}
		return m, m.broadcast(msg)
	case jumpToFrameMsg:
		m.active, m.s.active = scrFlame, scrFlame
		return m, m.flame.update(msg)
	case tea.KeyPressMsg:
		return m, m.key(msg)
	case tea.MouseClickMsg:
		return m, m.click(msg)
	case tea.MouseWheelMsg:
		if sc := m.current(); sc != nil {
			return m, sc.update(msg)
		}
		return m, nil
	}
	return m, m.broadcast(msg)
}

func (m *Model) current() screen {
	if m.picker != nil {
		return m.picker
	}
	return m.screens[m.active]
}

func (m *Model) broadcast(msg tea.Msg) tea.Cmd {
	var cmds []tea.Cmd
	for _, sc := range m.screens {
		if c := sc.update(msg); c != nil {
			cmds = append(cmds, c)
		}
	}
	if m.picker != nil {
		if c := m.picker.update(msg); c != nil {
			cmds = append(cmds, c)
		}
	}
	return tea.Batch(cmds...)
}

func (m *Model) key(msg tea.KeyPressMsg) tea.Cmd {
	k := m.s.keys
	if msg.String() == "ctrl+c" {
		return tea.Quit
	}
	if m.save.open {
		cmd, req := m.save.update(msg)
		if req != nil {
			m.save.saving, m.save.savingTo, m.save.spin = true, req.path, 0
			return tea.Batch(saveSnapshot(m.s.ctx, m.save.request(req, m.opts.Version)), saveTick())
		}
		return cmd
	}
	sc := m.current()
	if sc.typing() {
		return sc.update(msg)
	}
	if m.help {
		// Any key closes the overlay; q still quits.
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
	}
	if m.picker != nil {
		return sc.update(msg)
	}
	switch {
	case key.Matches(msg, k.Global.Screens):
		return m.switchTo(int(msg.String()[0] - '1'))
	case key.Matches(msg, k.Global.Next):
		return m.switchTo((m.active + 1) % len(m.screens))
	case key.Matches(msg, k.Global.Prev):
		return m.switchTo((m.active + len(m.screens) - 1) % len(m.screens))
	case m.cmp != nil:
		// A comparison is read-only: nothing to save, no live window.
	case key.Matches(msg, k.Global.Export):
		return m.startExport()
	case key.Matches(msg, k.Global.Save):
		if m.save.saving {
			return nil // one save at a time; the status line shows it
		}
		return m.save.start()
	case key.Matches(msg, k.Global.Window) && m.active == scrOverview:
		for i, w := range windows {
			if w == m.s.window {
				m.s.window = windows[(i+1)%len(windows)]
				break
			}
		}
		return nil
	}
	return sc.update(msg)
}

// activated is sent to a screen when it becomes visible, so it can fetch
// what it shows.
type activatedMsg struct{}

func (m *Model) switchTo(i int) tea.Cmd {
	if i < 0 || i >= len(m.screens) {
		return nil
	}
	m.active = i
	m.s.active = i
	return m.screens[i].update(activatedMsg{})
}

func (m *Model) click(msg tea.MouseClickMsg) tea.Cmd {
	mo := msg.Mouse()
	if m.picker == nil && mo.Y == chromeTop-1 {
		for i, r := range m.tabs {
			if mo.X >= r[0] && mo.X < r[1] {
				return m.switchTo(i)
			}
		}
		return nil
	}
	_, bh := m.bodySize()
	if mo.Y < chromeTop || mo.Y >= chromeTop+bh {
		return nil
	}
	mo.Y -= chromeTop
	return m.current().update(tea.MouseClickMsg(mo))
}

// tick advances the clock and lets the screens start their periodic
// refreshes. While snapshots arrive every interval they advance the clock
// themselves: the tick then leaves it, so the screen changes once per
// interval instead of twice (the ages it shows are those of the last
// snapshot) and, when no screen started anything, the frame is not built
// again nor redrawn.
func (m *Model) tick(msg tickMsg) tea.Cmd {
	now := m.clock()
	fresh := m.s.attached() && !m.snapAt.IsZero() && now.Sub(m.snapAt) < m.s.interval+m.s.interval/2
	if !fresh {
		m.s.now = now
		m.frameOK = false
	}
	cmd := m.broadcast(msg)
	if cmd != nil {
		m.frameOK = false
	}
	return tea.Batch(cmd, tick(time.Second))
}

// View renders the whole screen: the frame built after the last change
// (Bubble Tea asks for a frame after every message).
func (m *Model) View() tea.View {
	if m.fleet != nil && m.fleet.cur != nil {
		return m.fleet.cur.m.View()
	}
	if m.export.used {
		// The exporters' counters move on their own goroutines, with no
		// message: draw them fresh.
		m.frameOK = false
	}
	if !m.frameOK {
		// Fields from outside were made safe where they entered; safeFrame
		// is the backstop for one that was missed.
		m.frame, m.frameOK = safeFrame(m.render()), true
	}
	v := tea.NewView(m.frame)
	v.AltScreen = true
	v.MouseMode = tea.MouseModeCellMotion
	v.WindowTitle = "gotune"
	switch {
	case m.cmp != nil:
		v.WindowTitle = "gotune diff"
	case m.s.attached():
		// The name holds a command line other users control: a BEL in it
		// would end the title and run the rest as terminal commands.
		v.WindowTitle = "gotune · " + safetext.Line(m.s.name())
	}
	return v
}

// render builds the screen's text: exactly height lines, none wider than
// width, trailing spaces trimmed.
func (m *Model) render() string {
	w, h := m.width, m.height
	if w < 20 || h < 6 {
		return fit("gotune: the terminal is too small ("+fmt.Sprint(w, "×", h)+"); 20×6 at least", w, h)
	}
	var lines []string
	lines = append(lines, m.headerLines(w)...)
	lines = append(lines, m.tabLine(w))
	_, bh := m.bodySize()
	var body string
	switch {
	case m.help:
		body = m.helpView(w, bh)
	default:
		body = m.current().view()
	}
	bodyLines := fitLines(body, w, bh)
	if m.save.open && !m.help {
		// The prompt covers the bottom of the body; the screen stays
		// visible above it.
		pl := fitLines(strings.Join(m.save.view(w), "\n"), w, min(bh, 5))
		copy(bodyLines[max(0, bh-len(pl)):], pl)
	}
	body = strings.Join(bodyLines, "\n")
	lines = append(lines, body)
	lines = append(lines, m.statusLine(w))
	return fit(strings.Join(lines, "\n"), w, h)
}

// fit cuts s to w×h.
func fit(s string, w, h int) string { return strings.Join(fitLines(s, w, h), "\n") }

// fitLines splits s into exactly h lines, each truncated to w cells with
// trailing spaces trimmed.
func fitLines(s string, w, h int) []string {
	src := strings.Split(s, "\n")
	out := make([]string, h)
	for i := 0; i < h && i < len(src); i++ {
		l := src[i]
		// Every cell takes at least one byte: a short line cannot be too
		// wide, and measuring is the costliest part of a frame.
		if len(l) > w && cellWidth(l) > w {
			l = ansi.TruncateWc(l, w, "")
		}
		out[i] = trimRight(l)
	}
	return out
}

// trimRight trims trailing spaces that carry no style. Spaces inside an
// escape-closed run (a selected row's background) are kept.
func trimRight(s string) string { return strings.TrimRight(s, " ") }

func (m *Model) headerLines(w int) []string {
	t := m.s.theme
	if m.cmp != nil {
		return m.cmp.headerLines(m.s, w)
	}
	if !m.s.attached() {
		return m.picker.headerLines(w)
	}
	snap := m.s.snap
	var parts []string
	name := m.s.name()
	parts = append(parts, t.Title.S("gotune")+" "+t.Bold.S(safetext.Line(name)))
	if snap != nil {
		tg := snap.Target
		if tg.Command != "" && !strings.Contains(name, tg.Command) {
			parts = append(parts, safetext.Line(tg.Command))
		}
		if tg.PID != 0 && !strings.Contains(name, fmt.Sprint("pid ", tg.PID)) {
			parts = append(parts, fmt.Sprintf("pid %d", tg.PID))
		}
		if tg.URL != "" && !strings.Contains(name, tg.URL) {
			parts = append(parts, safetext.Line(tg.URL))
		}
		if tg.GoVersion != "" {
			parts = append(parts, safetext.Line(tg.GoVersion))
		}
		if !tg.StartTime.IsZero() {
			parts = append(parts, "up "+shortDuration(m.s.now.Sub(tg.StartTime)))
		}
	}
	l1 := strings.Join(parts, t.Faint.S(" · "))
	if st, ok := snap.StatusOf("metrics"); ok && st.Lost {
		lost := t.Crit.S("target lost at " + st.LostAt.Local().Format("15:04:05"))
		if st.Exited {
			lost = t.Crit.S("target exited at " + st.LostAt.Local().Format("15:04:05"))
		}
		l1 = joinRight(l1, lost, w)
	}
	return []string{l1, m.settingsLine(w)}
}

// settingsLine shows GOGC, GOMEMLIMIT and GOMAXPROCS with why each has its
// value: the full reasons when they fit, else where each comes from.
func (m *Model) settingsLine(w int) string {
	t := m.s.theme
	var ex effective.Explanation
	if e := m.s.snap.Facts.Settings; e != nil {
		ex = *e
	} else {
		p := m.s.snap.Latest()
		if p == nil {
			return t.Muted.S("waiting for the first sample…")
		}
		ex = effective.Explain(effective.Input{Live: session.LiveSettings(p.Values), GoVersion: m.s.snap.Target.GoVersion})
	}
	set := ex.Settings()
	render := func(full bool) string {
		var b strings.Builder
		for i, s := range set {
			if i > 0 {
				b.WriteString(t.Faint.S(" · "))
			}
			b.WriteString(t.Muted.S(s.Name+" ") + t.Bold.S(s.Value))
			why := string(s.Source)
			if s.Source == effective.Unknown && s.Live {
				why = "live; origin unknown"
			}
			if full {
				why = s.Reason
			}
			if why != "" {
				b.WriteString(t.Muted.S(" (" + why + ")"))
			}
		}
		return b.String()
	}
	if l := render(true); ansi.StringWidthWc(l) <= w {
		return l
	}
	return render(false)
}

// tabLabels are the screen tabs, shortened on narrow terminals.
func (m *Model) tabLabels(w int) []string {
	labels := make([]string, len(m.screens))
	for i, sc := range m.screens {
		labels[i] = fmt.Sprintf(" %d %s ", i+1, sc.title())
		if w < 70 {
			labels[i] = fmt.Sprintf(" %d %s ", i+1, sc.title()[:2])
		}
	}
	return labels
}

func (m *Model) tabLine(w int) string {
	t := m.s.theme
	if m.picker != nil {
		return t.TabActive.S(" Processes ")
	}
	var b strings.Builder
	for i, label := range m.tabLabels(w) {
		if i == m.active {
			b.WriteString(t.TabActive.S(label))
		} else {
			b.WriteString(t.TabInactive.S(label))
		}
	}
	right := ""
	switch {
	case m.flame != nil && m.flame.capturing():
		// A capture shows on every screen: it is the one thing running.
		right = t.Warn.S(m.flame.progressText())
	case m.trace != nil && m.trace.capturing():
		right = t.Warn.S(m.trace.progressText())
	default:
		if th, ok := m.current().(tabHinter); ok {
			right = th.tabHint()
		}
	}
	return joinRight(b.String(), right, w)
}

func (m *Model) statusLine(w int) string {
	t := m.s.theme
	hint := t.Key.S("?") + t.Muted.S(" help ") + t.Key.S("q") + t.Muted.S(" quit")
	if m.fleetChild {
		hint = t.Key.S("0") + t.Muted.S(" processes ") + hint
	}
	if m.cmp != nil {
		return joinRight(m.cmp.statusText(m.s), hint, w)
	}
	if !m.s.attached() {
		return joinRight(m.picker.statusText(), hint, w)
	}
	var parts []string
	snap := m.s.snap
	for _, st := range snap.Status {
		parts = append(parts, m.statusText(st))
	}
	if len(parts) == 0 {
		parts = append(parts, t.Muted.S("connecting…"))
	}
	if st := m.s.note; st != "" && m.s.now.Sub(m.s.noteAt) < noteFor {
		paint := t.OK
		if m.s.noteErr {
			paint = t.Crit
		}
		parts = append([]string{paint.S(m.s.fitNote(w))}, parts...)
		hint = ""
	}
	if st := m.exportStatus(); st != "" {
		parts = append([]string{st}, parts...)
	}
	if r := snap.RestartInPoints(); r != nil {
		parts = append([]string{t.Warn.S(r.String())}, parts...)
	}
	if st := m.save.statusText(); st != "" {
		// The path matters more than the hint while it shows.
		parts = append([]string{st}, parts...)
		hint = ""
	}
	return joinRight(strings.Join(parts, t.Faint.S(" │ ")), hint, w)
}

// statusText says what one source last did: "metrics via agent · 1s · ok
// 0.4s ago", or its error, or that the target is lost.
func (m *Model) statusText(st session.Status) string {
	t := m.s.theme
	name := st.Source
	if st.Via != "" {
		name += " via " + st.Via
	}
	if st.Interval > 0 {
		name += " · " + shortDuration(st.Interval)
	}
	switch {
	case st.Exited:
		return t.Crit.S(fmt.Sprintf("%s · target exited at %s; not followed to another process (attach to the new one)", name, st.LostAt.Local().Format("15:04:05")))
	case st.Lost:
		s := fmt.Sprintf("%s · target lost at %s, retrying", name, st.LostAt.Local().Format("15:04:05"))
		if st.Backoff > 0 {
			s += " every " + shortDuration(st.Backoff)
		}
		return t.Crit.S(s)
	case st.Failures > 0:
		// LastErr quotes what the target answered (an error body).
		return t.Warn.S(fmt.Sprintf("%s · failing (%d×): %s", name, st.Failures, safetext.Line(st.LastErr)))
	case st.LastOK.IsZero():
		return t.Muted.S(name + " · waiting")
	}
	age := m.s.now.Sub(st.LastOK)
	if age < 0 {
		age = 0
	}
	return t.Muted.S(name+" · ") + t.OK.S("ok") + t.Muted.S(" "+measurement.Seconds(age.Seconds())+" ago")
}

func (m *Model) helpView(w, h int) string {
	t := m.s.theme
	k := m.s.keys
	global := []key.Binding{k.Global.Screens, k.Global.Next, k.Global.Prev, k.Global.Window, k.Global.Save, k.Global.Export, k.Global.Help, k.Global.Quit}
	if m.fleetChild {
		global = append(global, k.Picker.Back)
	}
	if m.picker != nil {
		global = []key.Binding{k.Global.Help, k.Global.Quit} // the overview takes every other key
	}
	mouse := "Mouse: click a tab, a row or a frame; the wheel scrolls lists."
	if m.cmp != nil {
		global = []key.Binding{k.Global.Screens, k.Global.Next, k.Global.Prev, k.Global.Help, k.Global.Quit}
		mouse = "Mouse: click a tab or a frame (a selected frame zooms); the wheel scrolls."
	}
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
	section("Everywhere", global)
	sc := m.current()
	section(sc.title(), sc.helpKeys())
	b.WriteString(t.Muted.S(mouse))
	return helpColumns(b.String(), w, h)
}

// helpColumns flows help text that is taller than h into two columns
// (the title stays on top) when the terminal is wide enough.
func helpColumns(text string, w, h int) string {
	lines := strings.Split(text, "\n")
	if len(lines) <= h || w < 60 {
		return text
	}
	head, body := lines[:2], lines[2:]
	if (len(body)+1)/2 > h-len(head) {
		// Still too tall: drop the blank lines between sections.
		body = slices.DeleteFunc(slices.Clone(body), func(l string) bool { return l == "" })
	}
	n := (len(body) + 1) / 2
	cw := w / 2
	out := append([]string(nil), head...)
	for i := range n {
		l := ansi.TruncateWc(body[i], cw-1, "…")
		if i+n < len(body) {
			l = pad(l, cw) + body[i+n]
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

// joinRight puts right at the right edge of a w-wide line after left,
// dropping right when they do not fit.
func joinRight(left, right string, w int) string {
	lw, rw := ansi.StringWidthWc(left), ansi.StringWidthWc(right)
	if right == "" {
		return left
	}
	if lw+rw+2 > w {
		if rw+10 > w {
			return left
		}
		left = ansi.TruncateWc(left, w-rw-2, "…")
		lw = ansi.StringWidthWc(left)
	}
	return left + strings.Repeat(" ", w-lw-rw) + right
}

// shortDuration renders 1m, 5m, 2m05s, 1s, 1h02m.
func shortDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(math.Round(d.Seconds())))
	case d < time.Hour:
		if d%time.Minute == 0 {
			return fmt.Sprintf("%dm", int(d.Minutes()))
		}
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%02dh", int(d.Hours())/24, int(d.Hours())%24)
}
