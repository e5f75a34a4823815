package ui

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"regexp"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/safetext"
	"github.com/gotune/gotune/themes"
)

var captureSteps = []int{1, 2, 3, 5, 10, 15, 30, 60}

// flameMode is what the Flame screen's body shows.
type flameMode int

const (
	modeFlame   flameMode = iota // the icicle and the side panel
	modePeek                     // callers and callees of one function
	modeList                     // the source listing of one function
	modeHistory                  // the profiles fetched in this session
)

// flameScreen is the icicle view of one profile, with its peek, source
// and history views, refinement and export.
type flameScreen struct {
	s    *shared
	w, h int

	gen         int // request generation: answers to older requests are dropped
	loading     profile.Kind
	building    string // a rebuild of the shown profile runs: "refining", "inverting"
	captureFrom time.Time
	captureSecs int
	cancel      context.CancelFunc
	err         error
	notice      string

	// opts is what the next build uses: the refinements, granularity and
	// orientation the user chose (the sample type is the data's).
	opts viewOptions
	data *flameData
	// tree is data.tree with the subtrees the user zoomed into built
	// deeper (profile.Tree.Expand); node ids stay valid across expansions.
	tree      *profile.Tree
	expanded  map[profile.NodeID]bool
	expanding bool // one expansion at a time
	icicle[profile.NodeID]

	searching  bool
	query      string
	matches    map[profile.NodeID]bool
	matchValue int64
	matchKnown bool   // matchValue is computed (large profiles: in a command)
	searchBusy string // the query whose share is being computed

	// peeks caches each function's callers and callees for data (the side
	// panel and the peek view): a selection's peek is computed once.
	peeks    map[string]*profile.PeekNode
	peekBusy bool

	mode    flameMode
	pk      peekView
	ls      listView
	hist    historyView
	refine  *refinePrompt
	export  *exportPrompt
	cellGen int // bumped when what the icicle paints changes

	// layout, recomputed on resize, zoom, data or search change
	top                 int // first icicle row within the body
	iw, ih, panelW      int
	panelBelow          bool
	palette             *themes.Theme
	cells               []string // rendered icicle rows, cached per layout/selection/theme
	cellsSel            profile.NodeID
	cellsScroll, cellsG int
}

func newFlameScreen(s *shared) *flameScreen {
	return &flameScreen{s: s, refine: newRefinePrompt(s), export: newExportPrompt(s)}
}

func (f *flameScreen) title() string { return "Flame" }
func (f *flameScreen) typing() bool  { return f.searching || f.refine.open || f.export.open }

func (f *flameScreen) helpKeys() []key.Binding {
	k := f.s.keys
	var bs []key.Binding
	for _, kk := range k.Flame.Kinds {
		bs = append(bs, kk.binding)
	}
	return append(bs, k.Flame.Longer, k.Flame.SampleType, k.Flame.Refresh, k.Nav.Up, k.Nav.Down, k.Nav.Left, k.Nav.Right,
		k.Flame.Zoom, k.Flame.ZoomOut, k.Flame.ResetZoom, k.Flame.Search, k.Flame.NextMatch, k.Flame.PrevMatch,
		k.Flame.Refine, k.Flame.ClearRefine, k.Flame.Granularity, k.Flame.Invert,
		k.Flame.Peek, k.Flame.List, k.Flame.History, k.Flame.Export)
}

func (f *flameScreen) setSize(w, h int) {
	f.w, f.h = w, h
	f.relayout()
}

func (f *flameScreen) capturing() bool { return f.loading.Timed() }

func (f *flameScreen) progressText() string {
	el := f.s.now.Sub(f.captureFrom).Seconds()
	frac := math.Min(1, math.Max(0, el/float64(f.captureSecs)))
	const n = 10
	done := int(frac * n)
	return fmt.Sprintf("capturing CPU %d/%ds [%s%s] esc cancels", int(math.Min(el, float64(f.captureSecs))), f.captureSecs,
		strings.Repeat("█", done), strings.Repeat("░", n-done))
}

// fetch starts loading kind, superseding any request in flight.
func (f *flameScreen) fetch(kind profile.Kind, sampleIndex string) tea.Cmd {
	sess := f.s.sess
	if sess == nil || !sess.HasProfiles() {
		return nil
	}
	if f.cancel != nil {
		f.cancel()
	}
	f.gen++
	f.err, f.notice, f.building = nil, "", ""
	f.loading = kind
	ctx, cancel := context.WithCancel(f.s.ctx)
	f.cancel = cancel
	secs := f.s.cpuSeconds
	o := f.opts
	o.SampleIndex = sampleIndex
	if kind.Timed() {
		f.captureFrom = f.s.now
		f.captureSecs = secs
		return tea.Batch(fetchProfile(ctx, sess, f.gen, kind, secs, o), captureTick(f.gen))
	}
	return fetchProfile(ctx, sess, f.gen, kind, secs, o)
}

// rebuild aggregates the shown profile again with f.opts (a refinement,
// another granularity or orientation or sample type).
func (f *flameScreen) rebuild(what string) tea.Cmd {
	if f.data == nil {
		return nil
	}
	f.gen++
	f.building, f.err, f.notice = what, nil, ""
	return rebuildProfile(f.data.capture, f.gen, f.opts)
}

func (f *flameScreen) update(msg tea.Msg) tea.Cmd {
	cmd := f.handle(msg)
	if c := f.wantPeek(); c != nil {
		return tea.Batch(cmd, c)
	}
	return cmd
}

func (f *flameScreen) handle(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case activatedMsg:
		if f.data == nil && f.loading == "" && f.err == nil {
			return f.fetch(profile.KindHeap, "")
		}
	case profileMsg:
		if msg.gen != f.gen {
			return nil
		}
		f.loading, f.building = "", ""
		if f.cancel != nil {
			f.cancel()
			f.cancel = nil
		}
		if msg.err != nil {
			if errors.Is(msg.err, errCaptureCancelled) {
				f.notice = "CPU capture cancelled"
			} else {
				f.err = msg.err
			}
			if f.data != nil {
				f.opts = f.data.opts // what is shown
			}
			return nil
		}
		f.setData(msg.data)
		var share, list tea.Cmd
		if f.query != "" && !f.matchKnown && !f.searching {
			share = f.searchShare()
		}
		if f.mode == modeList && f.ls.name != "" {
			list = f.openList(f.ls.name) // the same function in the new profile
		}
		return tea.Batch(f.wantExpand(), share, list)
	case captureTickMsg:
		if msg.gen == f.gen && f.capturing() {
			f.s.now = f.s.clock()
			return captureTick(f.gen)
		}
	case expandedMsg:
		return f.onExpanded(msg)
	case peekMsg:
		f.peekBusy = false
		if msg.data == f.data {
			pk := msg.peek
			f.peeks[msg.name] = &pk
		}
	case searchMsg:
		f.searchBusy = ""
		if msg.data == f.data && msg.query == f.query {
			f.matchValue, f.matchKnown = msg.value, true
		} else if f.data != nil && f.query != "" && !f.matchKnown {
			return f.searchShare()
		}
	case listedMsg:
		f.ls.done(msg, f.data, f.listH())
	case refineMsg:
		if msg.opts.Options == f.opts.Options && msg.opts.Inverted == f.opts.Inverted {
			return nil
		}
		f.opts = msg.opts
		return f.rebuild("refining")
	case exportedMsg:
		msg.note(f.s)
	case jumpToFrameMsg:
		f.mode = modeFlame
		f.jumpTo(msg.name)
		return f.wantExpand()
	case tea.MouseClickMsg:
		if f.mode == modeFlame {
			f.click(msg.Mouse().X, msg.Mouse().Y)
			return f.wantExpand()
		}
	case tea.MouseWheelMsg:
		d := 1
		if msg.Mouse().Button == tea.MouseWheelUp {
			d = -1
		}
		switch f.mode {
		case modeFlame:
			f.moveVertical(d)
		case modePeek:
			f.pk.move(d, f.peekRows())
		case modeList:
			f.ls.scroll(3*d, f.listH())
		case modeHistory:
			f.hist.move(d)
		}
	case tea.PasteMsg:
		switch {
		case f.refine.open:
			f.refine.paste(msg.Content)
		case f.export.open:
			f.export.paste(msg.Content)
		case f.searching:
			f.setQuery(f.query + strings.NewReplacer("\r", "", "\n", "").Replace(msg.Content))
		}
	case tea.KeyPressMsg:
		return f.key(msg)
	}
	return nil
}

func (f *flameScreen) key(msg tea.KeyPressMsg) tea.Cmd {
	k := f.s.keys
	switch {
	case f.searching:
		f.searchKey(msg)
		if !f.searching && f.query != "" && !f.matchKnown {
			return f.searchShare()
		}
		return nil
	case f.refine.open:
		if o, ok := f.refine.update(msg); ok {
			return func() tea.Msg { return refineMsg{opts: o} }
		}
		return nil
	case f.export.open:
		return f.export.update(msg)
	}
	for _, kk := range k.Flame.Kinds {
		if key.Matches(msg, kk.binding) {
			if kk.kind.Timed() && f.capturing() {
				return nil // one capture at a time; esc cancels it
			}
			f.mode = modeFlame
			return f.fetch(kk.kind, "")
		}
	}
	switch {
	case key.Matches(msg, k.Flame.ZoomOut) && f.capturing():
		f.cancel()
		return nil
	case key.Matches(msg, k.Flame.Refresh):
		if f.data != nil {
			return f.fetch(f.data.kind, f.data.sampleType)
		}
		return f.fetch(profile.KindHeap, "")
	case key.Matches(msg, k.Flame.Longer):
		f.s.cpuSeconds = stepCapture(f.s.cpuSeconds, 1)
		return nil
	case key.Matches(msg, k.Flame.Shorter):
		f.s.cpuSeconds = stepCapture(f.s.cpuSeconds, -1)
		return nil
	case key.Matches(msg, k.Flame.History):
		f.mode = modeHistory
		f.hist.open(f.s.sess, f.data)
		return nil
	}
	if f.data == nil {
		return nil
	}
	// Keys that act on the profile shown, in every mode.
	switch {
	case key.Matches(msg, k.Flame.SampleType):
		if d := f.data; len(d.sampleTypes) > 1 {
			next := d.sampleTypes[0]
			for i, st := range d.sampleTypes {
				if st == d.sampleType {
					next = d.sampleTypes[(i+1)%len(d.sampleTypes)]
				}
			}
			f.opts.SampleIndex = next
			return f.rebuild("aggregating " + next)
		}
		return nil
	case key.Matches(msg, k.Flame.Refine):
		f.refine.start(f.opts)
		return nil
	case key.Matches(msg, k.Flame.ClearRefine):
		if f.opts.Refined() {
			o := f.opts
			o.Options = profile.Options{SampleIndex: o.SampleIndex, Granularity: o.Granularity}
			return func() tea.Msg { return refineMsg{opts: o} }
		}
		return nil
	case key.Matches(msg, k.Flame.Granularity):
		o := f.opts
		o.Granularity = (o.Granularity + 1) % (profile.Addresses + 1)
		return func() tea.Msg { return refineMsg{opts: o} }
	case key.Matches(msg, k.Flame.Invert):
		o := f.opts
		o.Inverted = !o.Inverted
		return func() tea.Msg { return refineMsg{opts: o} }
	case key.Matches(msg, k.Flame.Export):
		f.export.start(f.data, exportProfile)
		return nil
	}
	switch f.mode {
	case modePeek:
		return f.peekKey(msg)
	case modeList:
		return f.listKey(msg)
	case modeHistory:
		return f.historyKey(msg)
	}
	switch {
	case key.Matches(msg, k.Flame.Search):
		f.searching = true
		f.setQuery("")
	case key.Matches(msg, k.Flame.NextMatch):
		f.nextMatch(1)
	case key.Matches(msg, k.Flame.PrevMatch):
		f.nextMatch(-1)
	case key.Matches(msg, k.Flame.Zoom):
		if f.sel != f.focus {
			f.focus = f.sel
			f.relayout()
			return f.wantExpand()
		}
	case key.Matches(msg, k.Flame.ZoomOut):
		if p := f.tree.Parent(f.focus); p != profile.NoNode {
			f.focus = p
			f.relayout()
		}
	case key.Matches(msg, k.Flame.ResetZoom):
		if f.focus != profile.Root {
			f.focus = profile.Root
			f.relayout()
		}
	case key.Matches(msg, k.Flame.Peek):
		if f.sel != profile.Root {
			f.openPeek(f.tree.Name(f.sel))
		}
	case key.Matches(msg, k.Flame.List):
		if f.sel != profile.Root {
			return f.openList(f.tree.Name(f.sel))
		}
	case key.Matches(msg, k.Nav.Up):
		f.moveVertical(-1)
	case key.Matches(msg, k.Nav.Down):
		f.moveVertical(1)
	case key.Matches(msg, k.Nav.Left):
		f.moveHorizontal(-1)
	case key.Matches(msg, k.Nav.Right):
		f.moveHorizontal(1)
	case key.Matches(msg, k.Nav.PageUp):
		f.moveVertical(-max(1, f.ih-1))
	case key.Matches(msg, k.Nav.PageDown):
		f.moveVertical(max(1, f.ih-1))
	}
	return nil
}

func stepCapture(cur, dir int) int {
	for i, s := range captureSteps {
		if s >= cur {
			if s > cur && dir < 0 {
				return captureSteps[max(0, i-1)]
			}
			return captureSteps[max(0, min(len(captureSteps)-1, i+dir))]
		}
	}
	return captureSteps[len(captureSteps)-1]
}

func (f *flameScreen) searchKey(msg tea.KeyPressMsg) {
	switch msg.String() {
	case "enter":
		f.searching = false
		f.nextMatchFrom(profile.NoNode, 1)
	case "esc":
		f.searching = false
		f.setQuery("")
	case "backspace":
		if f.query != "" {
			r := []rune(f.query)
			f.setQuery(string(r[:len(r)-1]))
		}
	default:
		if msg.Text != "" {
			f.setQuery(f.query + msg.Text)
		}
	}
}

// setQuery marks the built frames matching q. Their share of the total
// (every sample with a matching frame, built or not) is computed here on
// small profiles, else in a command when the query is entered.
func (f *flameScreen) setQuery(q string) {
	f.query = q
	f.matches, f.matchValue, f.matchKnown = nil, 0, false
	f.cellGen++
	re := searchRegexp(q)
	if f.data == nil || re == nil {
		return
	}
	if !f.data.large() {
		var nodes []profile.NodeID
		f.matchValue, nodes = f.tree.Search(re)
		f.matchKnown = true
		f.matches = make(map[profile.NodeID]bool, len(nodes))
		for _, n := range nodes {
			f.matches[n] = true
		}
		return
	}
	f.markMatches(re)
}

// markMatches marks the built nodes whose name matches re.
func (f *flameScreen) markMatches(re *regexp.Regexp) {
	f.matches = map[profile.NodeID]bool{}
	seen := map[string]bool{}
	for n := 1; n < f.tree.Len(); n++ {
		name := f.tree.Name(profile.NodeID(n))
		m, ok := seen[name]
		if !ok {
			m = re.MatchString(name)
			seen[name] = m
		}
		if m {
			f.matches[profile.NodeID(n)] = true
		}
	}
	f.cellGen++
}

// searchShare computes the query's share in a command, one at a time.
func (f *flameScreen) searchShare() tea.Cmd {
	if f.searchBusy != "" || f.data == nil {
		return nil
	}
	f.searchBusy = f.query
	return searchTree(f.data, f.tree, f.query)
}

// setData shows a new profile. The zoom and selection are kept by path
// when the new tree has the same shape of names (same kind, granularity
// and orientation), else the selection by name.
func (f *flameScreen) setData(d *flameData) {
	var focusPath, selPath []string
	selName := ""
	old := f.data
	if old != nil && f.sel != profile.Root {
		selName = f.tree.Name(f.sel)
	}
	samePaths := old != nil && old.kind == d.kind && old.opts.Granularity == d.opts.Granularity && old.opts.Inverted == d.opts.Inverted
	if samePaths {
		focusPath, selPath = treePath(f.tree, f.focus), treePath(f.tree, f.sel)
	}
	if !samePaths && f.mode == modePeek {
		f.mode = modeFlame // its names are another profile's or granularity's
	}
	f.data, f.tree = d, d.tree
	f.opts = d.opts
	f.s.profile = d
	f.expanded = map[profile.NodeID]bool{}
	f.peeks = map[string]*profile.PeekNode{}
	f.peekBusy = false
	if d.peek != nil {
		f.peeks[d.tree.Name(d.first)] = d.peek
	}
	f.icicle.tree = treeSource{d.tree}
	f.focus, f.sel, f.scroll = profile.Root, d.first, 0
	switch {
	case samePaths && (focusPath != nil || selPath != nil):
		f.focus = findTreePath(d.tree, focusPath)
		f.sel = findTreePath(d.tree, selPath)
		if f.sel == f.focus && selPath == nil {
			f.sel = d.first
		}
	case selName != "":
		if ns := nodesNamed(d.tree, selName); len(ns) > 0 {
			f.sel = ns[0]
		}
	}
	f.setQuery(f.query)
	f.relayout()
}

// jumpTo selects the largest frame of a function and zooms to its caller;
// a function with no frame built (below the tree's cut) opens its peek.
func (f *flameScreen) jumpTo(name string) {
	if f.data == nil {
		return
	}
	ns := nodesNamed(f.tree, name)
	if len(ns) == 0 {
		f.openPeek(name)
		return
	}
	best := ns[0]
	f.sel, f.focus = best, best
	if p := f.tree.Parent(best); p != profile.NoNode {
		f.focus = p
	}
	f.relayout()
}

// relayout places the frames of the zoomed subtree in the icicle.
func (f *flameScreen) relayout() {
	f.rows = nil
	f.cells = nil
	f.cellGen++
	// Above the icicle: the profile, the refinements when set, and the
	// breadcrumb.
	f.top = 2
	if f.data != nil && len(chips(f.data.opts)) > 0 {
		f.top = 3
	}
	f.panelW, f.panelBelow = 0, false
	f.iw, f.ih = f.w, f.h-f.top
	switch {
	case f.w >= 100:
		f.panelW = min(44, f.w/3)
		f.iw = f.w - f.panelW - 1
	case f.h >= 16:
		f.panelBelow = true
		f.ih -= 5
	}
	if f.data == nil {
		return
	}
	t := f.tree
	f.layout(f.iw, f.ih, func(n profile.NodeID) string { return safetext.Line(shortName(t.Name(n))) })
}

// wantExpand builds the zoomed subtree deeper when it has frames not
// built: at once on small profiles, else in a command.
func (f *flameScreen) wantExpand() tea.Cmd {
	n := f.focus
	if f.data == nil || n == profile.Root || f.expanded[n] || f.expanding || !f.hasUnbuilt(n) {
		return nil
	}
	if !f.data.large() {
		f.tree = f.tree.Expand(n, profile.DefaultTreeFraction)
		f.expanded[n] = true
		f.icicle.tree = treeSource{f.tree}
		f.afterTreeChange()
		return nil
	}
	f.expanding = true
	return expandTree(f.data, f.tree, n)
}

// hasUnbuilt reports whether n's subtree has children not built.
func (f *flameScreen) hasUnbuilt(n profile.NodeID) bool {
	if f.tree.Expandable(n) {
		return true
	}
	for _, c := range f.tree.Children(n) {
		if f.hasUnbuilt(c) {
			return true
		}
	}
	return false
}

func (f *flameScreen) onExpanded(msg expandedMsg) tea.Cmd {
	f.expanding = false
	if msg.data != f.data {
		return nil
	}
	if msg.base == f.tree {
		f.tree = msg.tree
		f.expanded[msg.node] = true
		f.icicle.tree = treeSource{f.tree}
		f.afterTreeChange()
	}
	return f.wantExpand()
}

// afterTreeChange lays out the expanded tree and marks its matches.
func (f *flameScreen) afterTreeChange() {
	if re := searchRegexp(f.query); re != nil {
		f.markMatches(re)
	}
	f.relayout()
}

// wantPeek asks for the peek the side panel or the peek view shows, when
// it is not cached: computed here on small profiles, else in a command,
// one at a time (the next selection's is asked when it ends).
func (f *flameScreen) wantPeek() tea.Cmd {
	if f.data == nil || f.peekBusy {
		return nil
	}
	name := ""
	switch {
	case f.mode == modePeek:
		name = f.pk.name
	case f.mode == modeFlame && f.sel != profile.Root:
		name = f.tree.Name(f.sel)
	}
	if name == "" || f.peeks[name] != nil {
		return nil
	}
	if !f.data.large() {
		pk := peekName(f.data, f.tree, name)
		f.peeks[name] = &pk
		return nil
	}
	f.peekBusy = true
	return peekFunction(f.data, f.tree, name)
}

// nextMatch selects the next (d=1) or previous (d=-1) matching frame
// after the selection, in reading order, scrolling to it.
func (f *flameScreen) nextMatch(d int) { f.nextMatchFrom(f.sel, d) }

// nextMatchFrom selects the match after (or before) from; the first (or
// last) when from is not a match.
func (f *flameScreen) nextMatchFrom(from profile.NodeID, d int) {
	if len(f.matches) == 0 {
		return
	}
	order := f.order(func(n profile.NodeID) bool { return f.matches[n] })
	if len(order) == 0 {
		return
	}
	next := order[0]
	if d < 0 {
		next = order[len(order)-1]
	}
	for i, n := range order {
		if n == from {
			next = order[(i+d+len(order))%len(order)]
			break
		}
	}
	f.selectNode(next)
}

func (f *flameScreen) click(x, y int) {
	if f.clickAt(x, y-f.top) {
		f.relayout()
	}
}

func (f *flameScreen) view() string {
	t := f.s.theme
	var lines []string
	lines = append(lines, f.infoLine())
	if f.data != nil && f.top == 3 {
		lines = append(lines, chipsLine(t, f.data.opts, f.w))
	}
	if f.data == nil {
		lines = append(lines, f.breadcrumb(), "", f.emptyText())
		return f.withPrompts(lines)
	}
	switch f.mode {
	case modePeek:
		lines = append(lines, f.peekView(f.h-len(lines))...)
		return f.withPrompts(lines)
	case modeList:
		lines = append(lines, f.listView(f.h-len(lines))...)
		return f.withPrompts(lines)
	case modeHistory:
		lines = append(lines, f.historyView(f.h-len(lines))...)
		return f.withPrompts(lines)
	}
	lines = append(lines, f.breadcrumb())
	icicle := f.renderIcicle()
	var panel []string
	if f.panelW > 0 || f.panelBelow {
		pw := f.panelW
		if f.panelBelow {
			pw = f.w
		}
		panel = f.sidePanel(pw)
	}
	for i := 0; i < f.ih; i++ {
		l := ""
		if i < len(icicle) {
			l = icicle[i]
		}
		if f.panelW > 0 {
			pad := f.iw - cellWidth(l)
			if pad > 0 {
				l += strings.Repeat(" ", pad)
			}
			p := ""
			if i < len(panel) {
				p = panel[i]
			}
			l += t.Faint.S("│") + p
		}
		lines = append(lines, l)
	}
	if f.panelBelow {
		lines = append(lines, t.Faint.S(strings.Repeat("─", f.w)))
		lines = append(lines, panel...)
	}
	return f.withPrompts(lines)
}

// withPrompts joins the body's lines, the refine or export prompt over
// the bottom ones.
func (f *flameScreen) withPrompts(lines []string) string {
	return overlayPrompt(lines, f.w, f.h, f.refine, f.export)
}

// overlayPrompt joins a screen's lines with the open refine or export
// prompt drawn over the bottom ones (the Flame and Top screens).
func overlayPrompt(lines []string, w, h int, refine *refinePrompt, export *exportPrompt) string {
	var pl []string
	switch {
	case refine.open:
		pl = refine.view(w, h)
	case export.open:
		pl = export.view(w)
	}
	if len(pl) > 0 {
		for len(lines) < h {
			lines = append(lines, "")
		}
		lines = lines[:h]
		pl = pl[:min(len(pl), h)]
		copy(lines[h-len(pl):], pl)
	}
	return strings.Join(lines, "\n")
}

func (f *flameScreen) emptyText() string {
	t := f.s.theme
	if f.s.sess == nil || !f.s.sess.HasProfiles() {
		hint := ""
		if f.s.sess != nil {
			hint = f.s.sess.Hint()
		}
		if hint == "" {
			hint = "import net/http/pprof in the target to enable profiles"
		}
		return t.Warn.S("this target serves no profiles: ") + safetext.Line(hint)
	}
	if f.loading != "" {
		return t.Muted.S("fetching the " + f.loading.Title() + " profile…")
	}
	var b strings.Builder
	b.WriteString(t.Muted.S("press "))
	for i, kk := range f.s.keys.Flame.Kinds {
		if i > 0 {
			b.WriteString(t.Muted.S(", "))
		}
		b.WriteString(t.Key.S(kk.binding.Help().Key))
		if kk.kind.Timed() {
			b.WriteString(t.Muted.S(fmt.Sprintf(" to capture %ds of %s", f.s.cpuSeconds, kk.kind.Title())))
		} else {
			b.WriteString(t.Muted.S(" " + string(kk.kind)))
		}
	}
	return b.String()
}

func (f *flameScreen) infoLine() string {
	t := f.s.theme
	var left string
	if d := f.data; d != nil {
		left = t.Bold.S(d.label()) + t.Muted.S(" · total "+d.format(d.total)+" · "+fmt.Sprint(f.tree.Len())+" frames")
		if !d.fetchedAt.IsZero() {
			left += t.Muted.S(" · " + d.fetchedAt.Local().Format("15:04:05"))
		}
	}
	switch {
	case f.searching || f.query != "":
		cursor := ""
		if f.searching {
			cursor = "█"
		}
		s := t.Key.S("/") + safetext.Line(f.query) + cursor
		if f.query != "" {
			share := "…"
			if f.data != nil && f.matchKnown {
				share = f.data.share(f.matchValue)
			}
			s += t.Muted.S(fmt.Sprintf("  %d frames · ", len(f.matches))) + t.Accent.S(share+" of total")
		}
		left += "  " + s
	case f.err != nil:
		left += "  " + t.Crit.S(safetext.Line(f.err.Error()))
	case f.notice != "":
		left += "  " + t.Warn.S(f.notice)
	case f.loading != "" && !f.capturing():
		left += "  " + t.Muted.S("fetching "+f.loading.Title()+"…")
	case f.building != "":
		left += "  " + t.Muted.S(f.building+"…")
	}
	right := t.Muted.S(fmt.Sprintf("CPU capture %ds (+/-)", f.s.cpuSeconds))
	return joinRight(left, right, f.w)
}

func (f *flameScreen) breadcrumb() string {
	t := f.s.theme
	if f.data == nil {
		return ""
	}
	var names []string
	for n := f.focus; n != profile.NoNode; n = f.tree.Parent(n) {
		names = append(names, safetext.Line(shortName(f.tree.Name(n))))
	}
	for i, j := 0, len(names)-1; i < j; i, j = i+1, j-1 {
		names[i], names[j] = names[j], names[i]
	}
	s := strings.Join(names, " › ")
	if ansi.StringWidthWc(s) > f.w-12 && f.w > 13 {
		s = ansi.TruncateLeftWc(s, ansi.StringWidthWc(s)-(f.w-13), "…")
	}
	var hint []string
	if f.focus != profile.Root {
		hint = append(hint, "zoomed, "+f.data.share(f.tree.Value(f.focus))+"; esc zooms out, z resets")
	}
	if first, last, total, ok := f.scrollHint(); ok {
		hint = append(hint, fmt.Sprintf("rows %d-%d of %d", first, last, total))
	}
	if len(hint) == 0 {
		return t.Muted.S(s)
	}
	return t.Muted.S(s) + t.Muted.S(" ("+strings.Join(hint, " · ")+")")
}

func (f *flameScreen) renderIcicle() []string {
	if f.cells != nil && f.cellsSel == f.sel && f.palette == f.s.theme && f.cellsScroll == f.scroll && f.cellsG == f.cellGen {
		return f.cells
	}
	t := f.s.theme
	out := f.paint(func(n profile.NodeID) (themes.Paint, bool) {
		switch {
		case n == f.sel:
			return t.FlameSelected, true
		case f.matches[n]:
			return t.FlameMatch, true
		}
		return t.Flame[nameHash(f.tree.Name(n))%uint32(len(t.Flame))], false
	}, t.Faint)
	f.cells, f.cellsSel, f.palette, f.cellsScroll, f.cellsG = out, f.sel, t, f.scroll, f.cellGen
	return out
}

func nameHash(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}

// sidePanel describes the selected frame: flat, cum, share, callers and
// callees of its function over the whole profile (its peek, cached per
// function).
func (f *flameScreen) sidePanel(w int) []string {
	t := f.s.theme
	d, n := f.data, f.sel
	if w < 10 {
		return nil
	}
	var out []string
	add := func(s string) { out = append(out, " "+ansi.TruncateWc(s, w-1, "…")) }
	if n == profile.Root {
		add(t.Bold.S("root") + t.Muted.S(" total "+d.format(d.total)))
		if v := f.tree.Value(profile.Root); v != d.total {
			add(t.Muted.S("shown ") + d.format(v) + t.Muted.S(" "+d.share(v)+" (refined)"))
		}
		return out
	}
	name := f.tree.Name(n)
	here := f.tree.Value(n)
	pk := f.peeks[name]
	parent := shortName(f.tree.Name(f.tree.Parent(n)))
	if f.panelBelow {
		add(t.Bold.S(safetext.Line(name)))
		if pk == nil {
			add(t.Muted.S("here ") + d.share(here) + t.Muted.S(" of "+safetext.Line(parent)+" · callers and callees…"))
			return out
		}
		add(fmt.Sprintf("%s %s %s   %s %s %s   %s %s of %s",
			t.Muted.S("flat"), d.format(pk.Flat), d.share(pk.Flat), t.Muted.S("cum"), d.format(pk.Cum), d.share(pk.Cum),
			t.Muted.S("here"), d.share(here), safetext.Line(parent)))
		add(t.Muted.S("callers ") + relList(pk.Callers, 3))
		add(t.Muted.S("callees ") + relList(pk.Callees, 3))
		return out
	}
	// Wrap the full name over up to three lines.
	rest := safetext.Line(name)
	for i := 0; i < 3 && rest != ""; i++ {
		cut := ansi.TruncateWc(rest, w-1, "")
		if cut == "" {
			break
		}
		add(t.Bold.S(cut))
		rest = rest[len(cut):]
	}
	add("")
	if pk == nil {
		add(t.Muted.S("here  ") + fmt.Sprintf("%10s %7s", d.format(here), d.share(here)))
		add("")
		add(t.Muted.S("callers and callees…"))
		return out
	}
	add(t.Muted.S("flat  ") + fmt.Sprintf("%10s %7s", d.format(pk.Flat), d.share(pk.Flat)))
	add(t.Muted.S("cum   ") + fmt.Sprintf("%10s %7s", d.format(pk.Cum), d.share(pk.Cum)))
	add(t.Muted.S("here  ") + fmt.Sprintf("%10s %7s", d.format(here), d.share(here)))
	if tr := f.tree.Trimmed(n); tr != 0 {
		add(t.Muted.S("other ") + fmt.Sprintf("%10s %7s", d.format(tr), d.share(tr)) + t.Muted.S(" (…)"))
	}
	add("")
	rel := func(title string, rs []profile.PeekEdge) {
		add(t.Accent.S(title))
		if len(rs) == 0 {
			add(t.Muted.S("  none"))
		}
		for i, r := range rs {
			if i >= 6 {
				add(t.Muted.S(fmt.Sprintf("  … %d more (p peeks)", len(rs)-i)))
				break
			}
			add(fmt.Sprintf("%7s ", d.share(r.Value)) + safetext.Line(shortName(r.Name)))
		}
		add("")
	}
	rel("Callers", pk.Callers)
	rel("Callees", pk.Callees)
	return out
}

func relList(rs []profile.PeekEdge, n int) string {
	var parts []string
	for i, r := range rs {
		if i >= n {
			parts = append(parts, fmt.Sprintf("+%d", len(rs)-n))
			break
		}
		parts = append(parts, safetext.Line(shortName(r.Name)))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
