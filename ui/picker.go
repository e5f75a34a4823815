package ui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/gotune/gotune/collectors/discover"
	"github.com/gotune/gotune/measurement"
	"github.com/gotune/gotune/safetext"
)

// pickerScreen lists the Go processes on the host (what `gotune ps`
// shows); Enter attaches to the selected one.
type pickerScreen struct {
	s    *shared
	w, h int

	scanFn   ScanFunc
	attachFn AttachFunc

	procs     []discover.Process
	shown     []int // indexes into procs after the filter
	err       error
	scanning  bool
	attaching string
	scannedAt time.Time

	filtering bool
	filter    string
	cursor    int
	offset    int
}

func newPickerScreen(s *shared) *pickerScreen { return &pickerScreen{s: s, scanning: true} }

func (p *pickerScreen) title() string { return "Processes" }
func (p *pickerScreen) typing() bool  { return p.filtering }

func (p *pickerScreen) helpKeys() []key.Binding {
	k := p.s.keys
	return []key.Binding{k.Nav.Up, k.Nav.Down, k.Picker.Filter, k.Picker.Attach, k.Picker.Refresh}
}

func (p *pickerScreen) setSize(w, h int) { p.w, p.h = w, h; p.clamp() }

func (p *pickerScreen) listH() int { return max(1, p.h-2) }

func (p *pickerScreen) clamp() {
	p.cursor = max(0, min(p.cursor, len(p.shown)-1))
	if p.cursor < p.offset {
		p.offset = p.cursor
	}
	if p.cursor >= p.offset+p.listH() {
		p.offset = p.cursor - p.listH() + 1
	}
	p.offset = max(0, p.offset)
}

// applyFilter keeps the Go processes whose PID, user, reach or command
// contain the filter (case-insensitive).
func (p *pickerScreen) applyFilter() {
	p.shown = p.shown[:0]
	f := strings.ToLower(p.filter)
	for i, pr := range p.procs {
		if pr.GoVersion == "" {
			continue
		}
		hay := strings.ToLower(fmt.Sprint(pr.PID, " ", pr.User, " ", pr.Reach.String(), " ", pr.Command))
		if f == "" || strings.Contains(hay, f) {
			p.shown = append(p.shown, i)
		}
	}
	p.clamp()
}

func (p *pickerScreen) update(msg tea.Msg) tea.Cmd {
	k := p.s.keys
	switch msg := msg.(type) {
	case scanMsg:
		p.scanning = false
		p.scannedAt = p.s.now
		p.err = msg.err
		if msg.err == nil {
			p.procs = msg.procs
		}
		p.applyFilter()
	case attachedMsg:
		p.attaching = ""
		p.err = msg.err
	case tea.MouseClickMsg:
		i := msg.Mouse().Y - 2 + p.offset
		if i >= 0 && i < len(p.shown) {
			if i == p.cursor {
				return p.attach()
			}
			p.cursor = i
		}
	case tea.MouseWheelMsg:
		if msg.Mouse().Button == tea.MouseWheelUp {
			p.cursor--
		} else {
			p.cursor++
		}
		p.clamp()
	case tea.KeyPressMsg:
		if p.filtering {
			switch msg.String() {
			case "enter":
				p.filtering = false
				return p.attach()
			case "esc":
				p.filtering = false
				p.filter = ""
			case "backspace":
				if r := []rune(p.filter); len(r) > 0 {
					p.filter = string(r[:len(r)-1])
				}
			case "up":
				p.cursor--
			case "down":
				p.cursor++
			default:
				p.filter += msg.Text
			}
			p.applyFilter()
			return nil
		}
		switch {
		case key.Matches(msg, k.Picker.Filter):
			p.filtering = true
		case key.Matches(msg, k.Picker.Attach):
			return p.attach()
		case key.Matches(msg, k.Picker.Refresh):
			if !p.scanning && p.scanFn != nil {
				p.scanning = true
				return scanProcesses(p.s.ctx, p.scanFn)
			}
		case key.Matches(msg, k.Nav.Up):
			p.cursor--
		case key.Matches(msg, k.Nav.Down):
			p.cursor++
		case key.Matches(msg, k.Nav.Home):
			p.cursor = 0
		case key.Matches(msg, k.Nav.End):
			p.cursor = len(p.shown) - 1
		}
		p.clamp()
	}
	return nil
}

func (p *pickerScreen) attach() tea.Cmd {
	if p.attaching != "" || p.cursor >= len(p.shown) || p.attachFn == nil {
		return nil
	}
	pr := p.procs[p.shown[p.cursor]]
	p.attaching = fmt.Sprintf("pid %d", pr.PID)
	p.err = nil
	return attachProcess(p.s.ctx, p.attachFn, pr)
}

func (p *pickerScreen) statusText() string {
	t := p.s.theme
	switch {
	case p.attaching != "":
		return t.Warn.S("attaching to " + p.attaching + "…")
	case p.err != nil:
		return t.Crit.S(safetext.Line(p.err.Error())) // may quote what a target answered
	case p.scanning:
		return t.Muted.S("scanning for Go processes…")
	}
	return t.Muted.S(fmt.Sprintf("%d Go processes · scanned %s", len(p.shown), p.scannedAt.Local().Format("15:04:05")))
}

func (p *pickerScreen) view() string {
	t := p.s.theme
	var lines []string
	f := t.Key.S("/") + t.Muted.S(" filter")
	if p.filtering || p.filter != "" {
		cur := ""
		if p.filtering {
			cur = "█"
		}
		f = t.Key.S("/") + p.filter + cur
	}
	lines = append(lines, f+t.Muted.S("   enter attaches · r scans again"))
	cmdW := max(10, p.w-62)
	hdr := fmt.Sprintf("%-7s %s", "PID", "COMMAND")
	if p.w >= 70 {
		hdr = fmt.Sprintf("%-7s %-6s %-7s %6s %5s %7s  %-16s %s", "PID", "USER", "GO", "UPTIME", "CPU%", "RSS", "REACH", "COMMAND")
	}
	lines = append(lines, t.Muted.S(hdr))
	if len(p.shown) == 0 && !p.scanning {
		lines = append(lines, t.Muted.S("no Go processes match"))
	}
	for i := p.offset; i < len(p.shown) && i < p.offset+p.listH(); i++ {
		pr := p.procs[p.shown[i]]
		cpu := "-"
		if pr.CPUPercent != nil {
			cpu = strconv.FormatFloat(*pr.CPUPercent, 'f', 1, 64)
		}
		up := "-"
		if !pr.StartTime.IsZero() {
			up = shortDuration(time.Duration(pr.UptimeSeconds) * time.Second)
		}
		// Command lines and user names belong to other users' processes.
		cmd := safetext.Line(pr.Command)
		row := fmt.Sprintf("%-7d %s", pr.PID, cmd)
		if p.w >= 70 {
			row = fmt.Sprintf("%-7d %-6s %-7s %6s %5s %7s  %-16s %s", pr.PID, ansi.TruncateWc(safetext.Line(pr.User), 6, "…"),
				safetext.Line(strings.TrimPrefix(pr.GoVersion, "go")), up, cpu, rssText(pr.RSSBytes),
				ansi.TruncateWc(safetext.Line(pr.Reach.String()), 16, "…"), ansi.TruncateWc(cmd, cmdW, "…"))
		}
		if i == p.cursor {
			row = t.Selected.S(row + strings.Repeat(" ", max(0, p.w-ansi.StringWidthWc(row))))
		}
		lines = append(lines, row)
	}
	return strings.Join(lines, "\n")
}

func rssText(n uint64) string {
	if n == 0 {
		return "-"
	}
	return strings.ReplaceAll(measurement.Bytes(float64(n)), " ", "")
}
