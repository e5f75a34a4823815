package ui

import (
	"context"
	"fmt"
	"reflect"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/gotune/gotune/capture"
	"github.com/gotune/gotune/hostview"
)

// fleet is the root model's host mode: the host overview (the picker
// screen) in front, and one dashboard per attached process behind it.
// Each dashboard is a whole Model of its own (every screen, its own
// capture session and clock) that keeps running while another is shown
// or the overview is: its session stays alive until its row's session is
// closed (x) or gotune quits. The root routes keys to the dashboard in
// front and every message a dashboard's commands return back to that
// dashboard (routedMsg), so a CPU capture started on one process lands on
// its own Flame screen whatever is shown when it ends.
type fleet struct {
	src    HostSource
	dashes map[int]*attachment // by PID
	cur    *attachment         // in front; nil: the overview
	gen    int
}

// attachment is one attached process's dashboard.
type attachment struct {
	pid    int
	gen    int // tells a re-attached PID's dashboard from the one before
	m      *Model
	cancel context.CancelFunc // ends its session and its commands
}

// routedMsg carries a message a dashboard's command returned back to it.
type routedMsg struct {
	pid, gen int
	msg      tea.Msg
}

// fleetAttachedMsg is the end of an attach from the overview.
type fleetAttachedMsg struct {
	pid, gen int
	sess     *capture.Session
	err      error
	ctx      context.Context
	cancel   context.CancelFunc
}

// initFleet puts a root model without a session into host mode.
func (m *Model) initFleet() {
	src := m.opts.Host
	if src == nil && m.opts.Scan != nil {
		src = &scanSource{scan: m.opts.Scan}
	}
	if src == nil {
		return
	}
	f := &fleet{src: src, dashes: map[int]*attachment{}}
	m.fleet = f
	p := m.picker
	p.src = src
	p.open = m.openRow
	p.close = m.closeRow
	p.attached = func(pid int) bool { return f.dashes[pid] != nil }
}

// openRow shows the dashboard of a row, attaching to it first when none
// is open.
func (m *Model) openRow(r hostview.Row) tea.Cmd {
	f := m.fleet
	if d := f.dashes[r.PID]; d != nil {
		f.cur = d
		m.picker.visible = false
		return nil
	}
	proc, ok := f.src.Process(r.PID)
	attach := m.picker.attachFn
	if !ok || attach == nil {
		m.picker.attaching = ""
		m.picker.note = fmt.Sprintf("pid %d: not found at the last scan", r.PID)
		return nil
	}
	f.gen++
	gen, pid := f.gen, r.PID
	ctx, cancel := context.WithCancel(m.s.ctx)
	return func() tea.Msg {
		sess, err := attach(ctx, proc)
		return fleetAttachedMsg{pid: pid, gen: gen, sess: sess, err: err, ctx: ctx, cancel: cancel}
	}
}

// closeRow ends the session of pid's dashboard.
func (m *Model) closeRow(pid int) bool {
	f := m.fleet
	d := f.dashes[pid]
	if d == nil {
		return false
	}
	d.cancel()
	f.src.Release(pid)
	delete(f.dashes, pid)
	return true
}

// fleetUpdate handles what host mode handles differently; ok false hands
// msg to the root's own Update (the overview, the size, the clock).
func (m *Model) fleetUpdate(msg tea.Msg) (tea.Cmd, bool) {
	f := m.fleet
	switch msg := msg.(type) {
	case routedMsg:
		d := f.dashes[msg.pid]
		if d == nil || d.gen != msg.gen {
			return nil, true // its session was closed
		}
		_, cmd := d.m.Update(msg.msg)
		return route(d.pid, d.gen, cmd), true
	case fleetAttachedMsg:
		m.picker.attaching = ""
		if msg.err != nil || msg.sess == nil {
			msg.cancel()
			m.picker.err = msg.err
			return nil, true
		}
		child := New(msg.ctx, m.childOptions(msg.sess))
		child.fleetChild = true
		child.s.theme, child.themeOK = m.s.theme, m.themeOK
		child.Update(tea.WindowSizeMsg{Width: m.width, Height: m.height})
		d := &attachment{pid: msg.pid, gen: msg.gen, m: child, cancel: msg.cancel}
		if old := f.dashes[msg.pid]; old != nil {
			old.cancel()
		}
		f.dashes[msg.pid] = d
		f.cur = d
		m.picker.visible = false
		f.src.Use(msg.pid, msg.sess.Store())
		return route(d.pid, d.gen, child.Init()), true
	case tea.WindowSizeMsg, tea.BackgroundColorMsg:
		for _, d := range f.dashes {
			d.m.Update(msg)
		}
		return nil, false
	case tea.KeyPressMsg:
		if f.cur == nil {
			return nil, false
		}
		if msg.String() == "ctrl+c" {
			return tea.Quit, true
		}
		if c := f.cur.m; key.Matches(msg, m.s.keys.Picker.Back) && !c.help && !c.save.open && !c.current().typing() {
			f.cur = nil
			return m.picker.show(), true
		}
		return m.toCurrent(msg), true
	case tea.MouseClickMsg, tea.MouseWheelMsg, tea.PasteMsg:
		if f.cur == nil {
			return nil, false
		}
		return m.toCurrent(msg), true
	}
	return nil, false
}

func (m *Model) toCurrent(msg tea.Msg) tea.Cmd {
	d := m.fleet.cur
	_, cmd := d.m.Update(msg)
	return route(d.pid, d.gen, cmd)
}

// childOptions are a dashboard's options: the root's, with its session.
func (m *Model) childOptions(sess *capture.Session) Options {
	o := m.opts
	o.Session, o.Scan, o.Attach, o.Host = sess, nil, nil, nil
	return o
}

// teaPackage is Bubble Tea's import path: its own messages (quit, the
// background colour request, batches) pass through routing unchanged.
var teaPackage = reflect.TypeFor[tea.QuitMsg]().PkgPath()

// route makes cmd's message come back as a routedMsg for the dashboard
// (pid, gen); batches and sequences are routed command by command.
func route(pid, gen int, cmd tea.Cmd) tea.Cmd {
	if cmd == nil {
		return nil
	}
	return func() tea.Msg {
		msg := cmd()
		if msg == nil {
			return nil
		}
		if b, ok := msg.(tea.BatchMsg); ok {
			out := make(tea.BatchMsg, len(b))
			for i, c := range b {
				out[i] = route(pid, gen, c)
			}
			return out
		}
		t := reflect.TypeOf(msg)
		if t.PkgPath() == teaPackage {
			// tea.Sequence's message is a []tea.Cmd of an unexported type.
			if t.Kind() == reflect.Slice && t.Elem() == reflect.TypeFor[tea.Cmd]() {
				v := reflect.ValueOf(msg)
				out := reflect.MakeSlice(t, v.Len(), v.Len())
				for i := range v.Len() {
					c, _ := v.Index(i).Interface().(tea.Cmd)
					out.Index(i).Set(reflect.ValueOf(route(pid, gen, c)))
				}
				return out.Interface()
			}
			return msg
		}
		return routedMsg{pid: pid, gen: gen, msg: msg}
	}
}
