package ui

import (
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/safetext"
	"github.com/gotune/gotune/themes"
)

// refineField is one of pprof's filters in the refine prompt.
type refineField struct {
	name string // as go tool pprof's flag, and gotune top's
	help string
	get  func(*profile.Options) *string
}

var refineFields = []refineField{
	{"focus", "keep samples with a frame matching", func(o *profile.Options) *string { return &o.Focus }},
	{"ignore", "drop samples with a frame matching", func(o *profile.Options) *string { return &o.Ignore }},
	{"hide", "remove matching frames from stacks", func(o *profile.Options) *string { return &o.Hide }},
	{"show", "keep only matching frames", func(o *profile.Options) *string { return &o.Show }},
	{"show-from", "drop the callers of the outermost match", func(o *profile.Options) *string { return &o.ShowFrom }},
	{"tagfocus", "keep samples with labels matching (key=regexp)", func(o *profile.Options) *string { return &o.TagFocus }},
	{"tagignore", "drop samples with labels matching (key=regexp)", func(o *profile.Options) *string { return &o.TagIgnore }},
}

// refinePrompt edits the refinements of every view of the profile: go tool
// pprof's -focus, -ignore, -hide, -show, -show_from, -tagfocus and
// -tagignore, typed as regexps, checked before they are applied.
type refinePrompt struct {
	s      *shared
	open   bool
	base   viewOptions
	fields []*textField
	field  int
	err    string
}

func newRefinePrompt(s *shared) *refinePrompt {
	p := &refinePrompt{s: s}
	for range refineFields {
		p.fields = append(p.fields, &textField{})
	}
	return p
}

// start opens the prompt on o's refinements, at the first one set (else
// focus).
func (p *refinePrompt) start(o viewOptions) {
	p.open, p.base, p.err, p.field = true, o, "", -1
	for i, rf := range refineFields {
		v := *rf.get(&o.Options)
		p.fields[i].set(v)
		if v != "" && p.field < 0 {
			p.field = i
		}
	}
	p.field = max(0, p.field)
}

// options are the base options with the fields' refinements.
func (p *refinePrompt) options() viewOptions {
	o := p.base
	for i, rf := range refineFields {
		*rf.get(&o.Options) = strings.TrimSpace(p.fields[i].String())
	}
	return o
}

// update handles a key while the prompt is open; ok with the options to
// apply when Enter confirms valid ones.
func (p *refinePrompt) update(msg tea.KeyPressMsg) (viewOptions, bool) {
	switch msg.String() {
	case "esc":
		p.open = false
	case "enter":
		o := p.options()
		if err := o.Validate(); err != nil {
			p.err = err.Error()
			return viewOptions{}, false
		}
		p.open = false
		return o, true
	case "tab", "down":
		p.field = (p.field + 1) % len(p.fields)
	case "shift+tab", "up":
		p.field = (p.field + len(p.fields) - 1) % len(p.fields)
	default:
		if p.fields[p.field].key(msg) {
			p.err = ""
		}
	}
	return viewOptions{}, false
}

func (p *refinePrompt) paste(text string) {
	p.fields[p.field].insert(strings.NewReplacer("\r", "", "\n", "").Replace(text))
}

// view renders the prompt in at most h lines of w cells: every filter
// when they fit, else the one being edited.
func (p *refinePrompt) view(w, h int) []string {
	t := p.s.theme
	hint := t.Key.S("enter") + t.Muted.S(" apply · ") + t.Key.S("tab/↑↓") + t.Muted.S(" next filter · ") + t.Key.S("esc") + t.Muted.S(" cancel")
	head := []string{t.Faint.S(strings.Repeat("─", w)),
		t.Title.S("Refine") + t.Muted.S(" every view of this profile: regexps, as go tool pprof's filters (empty: off)")}
	row := func(i int) string {
		rf := refineFields[i]
		label := t.Muted.S(pad(rf.name, 10))
		if i == p.field {
			label = t.Key.S(pad(rf.name, 10))
		}
		val := p.fields[i].view(max(4, w-14), i == p.field, t.Selected)
		if i != p.field {
			val = safetext.Line(val)
			if val == "" {
				val = t.Faint.S(rf.help)
			}
		}
		return " " + label + " " + val
	}
	var rows []string
	if h >= len(head)+len(refineFields)+2 {
		for i := range refineFields {
			rows = append(rows, row(i))
		}
	} else {
		rows = append(rows, row(p.field))
	}
	tail := []string{" " + hint}
	if p.err != "" {
		tail = []string{" " + t.Crit.S(safetext.Line(p.err))}
	}
	out := append(append(head, rows...), tail...)
	if len(out) > h {
		out = out[len(out)-h:]
	}
	return out
}

// chips are the view options that differ from pprof's defaults, as
// pprof's flags: "focus=main\.", "lines", "inverted".
func chips(o viewOptions) []string {
	out := o.Filters()
	if o.Granularity != profile.Functions {
		out = append(out, o.Granularity.String())
	}
	if o.Inverted {
		out = append(out, "inverted")
	}
	return out
}

// chipsLine shows the view options as chips, with the keys that change
// them.
func chipsLine(t *themes.Theme, o viewOptions, w int) string {
	var b strings.Builder
	for _, c := range chips(o) {
		b.WriteString(t.TabInactive.S(" " + safetext.Line(c) + " "))
		b.WriteByte(' ')
	}
	keys := t.Key.S("f") + t.Muted.S(" refine · ") + t.Key.S("F") + t.Muted.S(" clear · ") + t.Key.S("v") + t.Muted.S(" granularity · ") + t.Key.S("i") + t.Muted.S(" invert")
	return joinRight(b.String(), keys, w)
}
