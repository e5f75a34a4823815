package ui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/gotune/gotune/capture"
	"github.com/gotune/gotune/safetext"
	"github.com/gotune/gotune/session"
	"github.com/gotune/gotune/snapshot"
	"github.com/gotune/gotune/themes"
)

// saveDeadline bounds the profile fetches of a save: a slow target must
// not keep the user waiting for long, and what was fetched is kept.
const saveDeadline = 20 * time.Second

// saveResultFor is how long "saved to PATH" stays in the status line.
const saveResultFor = 20 * time.Second

// saveRequest is everything a save needs, copied out of the model so the
// command shares nothing mutable with Update.
type saveRequest struct {
	sess    *capture.Session
	name    string
	path    string
	version string
	// lost: the target is gone; save what the session holds, fetch nothing.
	lost bool
}

// savedMsg says how a save ended.
type savedMsg struct {
	path     string
	points   int
	profiles int
	notes    []string
	err      error
}

func (m savedMsg) Error() string {
	if m.err == nil {
		return ""
	}
	return m.err.Error()
}

// saveTickMsg turns the spinner while a save runs.
type saveTickMsg struct{}

func saveTick() tea.Cmd {
	return tea.Tick(150*time.Millisecond, func(time.Time) tea.Msg { return saveTickMsg{} })
}

// saveWindow is how a save takes the session's window: the Advice
// screen's window (everything since attach, held profiles reused while
// recent), plus the goroutine dump, within saveDeadline.
func saveWindow(lost bool) capture.WindowOptions {
	o := adviceWindow
	o.Dump, o.Deadline, o.HeldOnly = true, saveDeadline, lost
	return o
}

// saveSnapshot takes the session's window (never a new CPU profile: one is
// saved only when the user captured it), builds its snapshot with the
// advisor's report, and writes the file atomically.
func saveSnapshot(ctx context.Context, req saveRequest) tea.Cmd {
	return func() tea.Msg {
		if req.sess == nil {
			return savedMsg{path: req.path, err: errors.New("nothing to save: no target is attached")}
		}
		w, err := req.sess.Window(ctx, saveWindow(req.lost))
		if err != nil {
			if errors.Is(err, capture.ErrNoSample) {
				err = errors.New("nothing to save yet: no sample has been read from the target")
			}
			return savedMsg{path: req.path, err: err}
		}
		if req.lost {
			w.Notes = append(w.Notes, "profiles: not fetched, the target was lost; saved what the dashboard held")
		}
		s := w.Snapshot(capture.SnapshotOptions{Name: req.name, GotuneVersion: req.version})
		if err := snapshot.Write(req.path, s); err != nil {
			return savedMsg{path: req.path, err: err}
		}
		return savedMsg{path: req.path, points: len(s.Series.Points), profiles: len(s.Profiles), notes: s.Manifest.Notes}
	}
}

// savePrompt is the small form `s` opens: a name and a path. While a save
// runs it keeps the spinner; afterwards, the result for the status line.
type savePrompt struct {
	s          *shared
	open       bool
	name, path *textField
	field      int  // 0 name, 1 path
	pathEdited bool // the path no longer follows the name
	target     string

	saving   bool
	savingTo string
	spin     int

	result   string
	failed   bool
	resultAt time.Time
}

var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

func newSavePrompt(s *shared) *savePrompt {
	return &savePrompt{s: s, name: &textField{}, path: &textField{}}
}

// pathTarget names the target in a default file name: the command and
// PID, else the URL's host and port, else the attachment's name.
func pathTarget(att string, tg session.Target) string {
	if tg.PID != 0 && tg.Command != "" {
		cmd := strings.Fields(tg.Command)[0]
		return filepath.Base(cmd) + "-pid" + strconv.Itoa(tg.PID)
	}
	if tg.URL != "" {
		u := tg.URL
		if i := strings.Index(u, "://"); i >= 0 {
			u = u[i+3:]
		}
		if i := strings.LastIndex(u, "@"); i >= 0 {
			u = u[i+1:] // never credentials in a file name
		}
		return strings.TrimSuffix(u, "/")
	}
	return att
}

// start opens the prompt with the default path.
func (p *savePrompt) start() tea.Cmd {
	p.open = true
	p.field = 0
	p.pathEdited = false
	p.target = pathTarget(p.s.name(), p.s.snap.Target)
	p.name.set("")
	p.path.set(snapshot.DefaultPath(p.target, p.s.now))
	return nil
}

// update handles a key while the prompt is open. It returns the save
// request when Enter confirms.
func (p *savePrompt) update(msg tea.KeyPressMsg) (tea.Cmd, *saveRequest) {
	k := p.s.keys.Save
	switch {
	case key.Matches(msg, k.Cancel):
		p.open = false
		return nil, nil
	case key.Matches(msg, k.Confirm):
		path := strings.TrimSpace(p.path.String())
		if path == "" {
			p.result, p.failed, p.resultAt = "give the snapshot a path", true, p.s.now
			return nil, nil
		}
		if strings.HasPrefix(path, "~/") {
			if home := os.Getenv("HOME"); home != "" {
				path = filepath.Join(home, path[2:])
			}
		}
		p.open = false
		return nil, &saveRequest{name: strings.TrimSpace(p.name.String()), path: path}
	case key.Matches(msg, p.s.keys.Save.NextField):
		p.field = 1 - p.field
		return nil, nil
	}
	p.edit(func(f *textField) bool { return f.key(msg) })
	return nil, nil
}

// paste inserts pasted text into the field being edited.
func (p *savePrompt) paste(text string) {
	text = strings.NewReplacer("\r", "", "\n", "").Replace(text)
	p.edit(func(f *textField) bool { f.insert(text); return text != "" })
}

// edit applies a change to the current field. While the path has not been
// edited, it follows the name: "before GOGC=200" saves as
// before-GOGC-200-TIME.gotune in the default directory.
func (p *savePrompt) edit(change func(*textField) bool) {
	if p.field == 1 {
		if change(p.path) {
			p.pathEdited = true
		}
		return
	}
	if change(p.name) && !p.pathEdited {
		label := p.target
		if n := strings.TrimSpace(p.name.String()); n != "" {
			label = n
		}
		p.path.set(snapshot.DefaultPath(label, p.s.now))
	}
}

// view renders the prompt as lines for the bottom of the body.
func (p *savePrompt) view(w int) []string {
	t := p.s.theme
	label := func(s string, i int) string {
		if p.field == i {
			return t.Key.S(s)
		}
		return t.Muted.S(s)
	}
	hint := t.Key.S("enter") + t.Muted.S(" save · ") + t.Key.S("tab") + t.Muted.S(" name/path · ") + t.Key.S("esc") + t.Muted.S(" cancel")
	return []string{
		t.Faint.S(strings.Repeat("─", w)),
		t.Title.S("Save a snapshot") + t.Muted.S(" of this session: series, profiles, goroutines, findings"),
		" " + label("name ", 0) + " " + p.name.view(w-8, p.field == 0, t.Selected),
		" " + label("path ", 1) + " " + p.path.view(w-8, p.field == 1, t.Selected),
		" " + hint,
	}
}

// statusText is the save's part of the status line: the spinner while it
// runs, then where it went (or why it failed) for a while.
func (p *savePrompt) statusText() string {
	t := p.s.theme
	switch {
	case p.saving:
		return t.Warn.S(spinner[p.spin%len(spinner)] + " saving to " + homeShort(p.savingTo) + "…")
	case p.result != "" && p.s.now.Sub(p.resultAt) < saveResultFor:
		if p.failed {
			return t.Crit.S(p.result)
		}
		return t.OK.S(p.result)
	}
	return ""
}

// done records a save's outcome.
func (p *savePrompt) done(msg savedMsg) {
	p.saving = false
	p.resultAt = p.s.now
	if msg.err != nil {
		p.result, p.failed = "save failed: "+safetext.Line(msg.err.Error()), true
		return
	}
	p.result, p.failed = "saved to "+safetext.Line(homeShort(msg.path)), false
	if len(msg.notes) > 0 {
		p.result += fmt.Sprintf(" (%d not captured: see the manifest's notes)", len(msg.notes))
	}
}

// request fills in what a save needs from the dashboard's state.
func (p *savePrompt) request(r *saveRequest, version string) saveRequest {
	r.sess, r.version = p.s.sess, version
	if st, ok := p.s.snap.StatusOf("metrics"); ok && st.Lost {
		r.lost = true
	}
	return *r
}

// homeShort writes a path under the home directory as ~/...
func homeShort(path string) string {
	home := os.Getenv("HOME")
	if home == "" || home == "/" {
		return path
	}
	if rest, ok := strings.CutPrefix(path, home+string(filepath.Separator)); ok {
		return "~" + string(filepath.Separator) + rest
	}
	return path
}

// textField is a one-line editor: the few keys a name and a path need
// (bubbles' textinput would pull in a clipboard module this build does not
// carry).
type textField struct {
	value []rune
	pos   int
}

func (f *textField) set(s string) { f.value, f.pos = []rune(s), len([]rune(s)) }

func (f *textField) String() string { return string(f.value) }

func (f *textField) insert(s string) {
	r := []rune(s)
	f.value = append(f.value[:f.pos], append(r, f.value[f.pos:]...)...)
	f.pos += len(r)
}

// key edits the field; it reports whether the value changed.
func (f *textField) key(msg tea.KeyPressMsg) bool {
	before := string(f.value)
	switch msg.String() {
	case "left", "ctrl+b":
		f.pos = max(0, f.pos-1)
	case "right", "ctrl+f":
		f.pos = min(len(f.value), f.pos+1)
	case "home", "ctrl+a":
		f.pos = 0
	case "end", "ctrl+e":
		f.pos = len(f.value)
	case "backspace", "ctrl+h":
		if f.pos > 0 {
			f.value = append(f.value[:f.pos-1], f.value[f.pos:]...)
			f.pos--
		}
	case "delete", "ctrl+d":
		if f.pos < len(f.value) {
			f.value = append(f.value[:f.pos], f.value[f.pos+1:]...)
		}
	case "ctrl+u":
		f.value, f.pos = f.value[f.pos:], 0
	case "ctrl+k":
		f.value = f.value[:f.pos]
	case "ctrl+w", "alt+backspace":
		i := f.pos
		for i > 0 && f.value[i-1] == ' ' {
			i--
		}
		for i > 0 && f.value[i-1] != ' ' && f.value[i-1] != '/' {
			i--
		}
		f.value = append(f.value[:i], f.value[f.pos:]...)
		f.pos = i
	default:
		if msg.Text != "" && !strings.ContainsAny(msg.Text, "\r\n\t") {
			f.insert(msg.Text)
		}
	}
	return string(f.value) != before
}

// view shows at most w cells of the field, scrolled so the cursor (a
// painted cell) stays visible.
func (f *textField) view(w int, focused bool, cursor themes.Paint) string {
	w = max(4, w)
	off := 0
	if f.pos >= w {
		off = f.pos - w + 1
	}
	end := min(len(f.value), off+w)
	if !focused {
		s := string(f.value[off:end])
		if end < len(f.value) {
			s = ansi.TruncateWc(string(f.value[off:]), w, "…")
		}
		return s
	}
	under := " "
	if f.pos < len(f.value) {
		under = string(f.value[f.pos])
	}
	after := ""
	if f.pos+1 <= end {
		after = string(f.value[min(f.pos+1, end):end])
	}
	return string(f.value[off:f.pos]) + cursor.S(under) + after
}
