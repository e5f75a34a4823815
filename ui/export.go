package ui

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	pprof "github.com/google/pprof/profile"

	"github.com/gotune/gotune/internal/atomicfile"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/snapshot"
)

// exportFormat is what the export prompt writes.
type exportFormat int

const (
	exportProfile exportFormat = iota // the profile as .pb.gz, refined
	exportFolded                      // folded stacks
	exportTop                         // the top table as text
)

var exportFormats = []struct {
	name, ext string
}{
	{"profile (.pb.gz, opens in go tool pprof)", ".pb.gz"},
	{"folded stacks (flamegraph.pl, speedscope)", ".folded.txt"},
	{"top table (text, as go tool pprof -top)", ".top.txt"},
}

// exportPrompt writes the current view of the profile to a file: the
// profile itself (its samples refined as the view is: go tool pprof opens
// it and shows what the dashboard shows), its folded stacks, or its top
// table. Files are written atomically and owner-only.
type exportPrompt struct {
	s          *shared
	open       bool
	data       *flameData
	format     exportFormat
	path       *textField
	pathEdited bool
	busy       bool
}

func newExportPrompt(s *shared) *exportPrompt { return &exportPrompt{s: s, path: &textField{}} }

func (p *exportPrompt) start(d *flameData, f exportFormat) {
	p.open, p.data, p.format, p.pathEdited = true, d, f, false
	p.path.set(p.defaultPath())
}

// defaultPath is beside the snapshots, in an exports directory: the
// target, the profile kind and the time.
func (p *exportPrompt) defaultPath() string {
	snap := snapshot.DefaultPath("x", p.s.now)
	dir := filepath.Join(filepath.Dir(filepath.Dir(snap)), "exports")
	target := "profile"
	if p.s.snap != nil {
		target = pathTarget(p.s.name(), p.s.snap.Target)
	}
	name := filepath.Base(snapshot.DefaultPath(target+"-"+string(p.data.kind), p.s.now))
	name = strings.TrimSuffix(name, ".gotune") + exportFormats[p.format].ext
	return filepath.Join(dir, name)
}

func (p *exportPrompt) update(msg tea.KeyPressMsg) tea.Cmd {
	switch msg.String() {
	case "esc":
		p.open = false
	case "tab", "shift+tab":
		d := 1
		if msg.String() == "shift+tab" {
			d = len(exportFormats) - 1
		}
		p.format = (p.format + exportFormat(d)) % exportFormat(len(exportFormats))
		if !p.pathEdited {
			p.path.set(p.defaultPath())
		} else {
			p.path.set(swapExt(p.path.String(), exportFormats[p.format].ext))
		}
	case "enter":
		path := expandHome(strings.TrimSpace(p.path.String()))
		if path == "" || p.data == nil {
			return nil
		}
		p.open = false
		p.busy = true
		p.s.setNote("exporting to "+homeShort(path)+"…", false)
		return writeExport(p.data, p.format, path)
	default:
		if p.path.key(msg) {
			p.pathEdited = true
		}
	}
	return nil
}

func (p *exportPrompt) paste(text string) {
	p.path.insert(strings.NewReplacer("\r", "", "\n", "").Replace(text))
	p.pathEdited = true
}

func (p *exportPrompt) view(w int) []string {
	t := p.s.theme
	var opts []string
	for i, f := range exportFormats {
		name, _, _ := strings.Cut(f.name, " (")
		if exportFormat(i) == p.format {
			opts = append(opts, t.TabActive.S(" "+name+" "))
		} else {
			opts = append(opts, t.Muted.S(" "+name+" "))
		}
	}
	what := "the view shown"
	if p.data != nil {
		what = p.data.label()
		if c := chips(p.data.opts); len(c) > 0 {
			what += " · " + strings.Join(c, " ")
		}
	}
	return []string{
		t.Faint.S(strings.Repeat("─", w)),
		t.Title.S("Export ") + t.Muted.S(truncateText(what, max(1, w-8))),
		" " + t.Muted.S("format ") + strings.Join(opts, " ") + t.Muted.S("  "+exportFormats[p.format].name[strings.Index(exportFormats[p.format].name, "("):]),
		" " + t.Key.S("path   ") + p.path.view(w-9, true, t.Selected),
		" " + t.Key.S("enter") + t.Muted.S(" write · ") + t.Key.S("tab") + t.Muted.S(" format · ") + t.Key.S("esc") + t.Muted.S(" cancel"),
	}
}

// swapExt replaces path's export extension with ext.
func swapExt(path, ext string) string {
	for _, f := range exportFormats {
		if strings.HasSuffix(path, f.ext) {
			return strings.TrimSuffix(path, f.ext) + ext
		}
	}
	return path
}

// expandHome reads ~/ as the home directory.
func expandHome(path string) string {
	if rest, ok := strings.CutPrefix(path, "~/"); ok {
		if home := homeDir(); home != "" {
			return filepath.Join(home, rest)
		}
	}
	return path
}

func homeDir() string { return os.Getenv("HOME") }

// exportedMsg says how an export ended.
type exportedMsg struct {
	path, what string
	bytes      int64
	err        error
}

// note puts the outcome in the status line.
func (m exportedMsg) note(s *shared) {
	if m.err != nil {
		s.setNote("export failed: "+m.err.Error(), true)
		return
	}
	s.setPathNote("exported "+m.what+" to", "exported to", homeShort(m.path))
}

// writeExport writes d in format to path, atomically and owner-only.
func writeExport(d *flameData, format exportFormat, path string) tea.Cmd {
	return func() tea.Msg {
		var what string
		var write func(io.Writer) error
		switch format {
		case exportProfile:
			what = "the profile"
			data, err := refinedProfile(d.capture.Raw, d.opts.Options)
			if err != nil {
				return exportedMsg{path: path, err: err}
			}
			write = func(w io.Writer) error { _, err := w.Write(data); return err }
		case exportFolded:
			what = "folded stacks"
			write = func(w io.Writer) error { return profile.WriteFolded(w, d.prof, d.opts.Options) }
		default:
			what = "the top table"
			write = func(w io.Writer) error { return writeTopTable(w, d) }
		}
		cw := &countWriter{}
		err := atomicfile.Write(path, what, func(w io.Writer) error {
			cw.w = w
			return write(cw)
		})
		return exportedMsg{path: path, what: what, bytes: cw.n, err: err}
	}
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// writeTopTable writes the top table the Top screen shows as gotune top
// (and go tool pprof -top) print it, with the view's refinements.
func writeTopTable(w io.Writer, d *flameData) error {
	var b bytes.Buffer
	p := d.prof
	if len(p.Mappings) > 0 && p.Mappings[0].File != "" {
		fmt.Fprintf(&b, "File: %s\n", filepath.Base(p.Mappings[0].File))
	}
	fmt.Fprintf(&b, "Type: %s\n", d.sampleType)
	if p.TimeNanos != 0 {
		fmt.Fprintf(&b, "Time: %s\n", time.Unix(0, p.TimeNanos).UTC().Format("2006-01-02 15:04:05 MST"))
	}
	if p.DurationNanos != 0 {
		fmt.Fprintf(&b, "Duration: %s\n", profile.FormatValue(p.DurationNanos, "nanoseconds", "auto"))
	}
	if fs := d.opts.Filters(); len(fs) > 0 {
		b.WriteString("Active filters:\n")
		for _, f := range fs {
			fmt.Fprintf(&b, "   %s\n", f)
		}
	}
	t, err := profile.NewTop(p, profile.TopOptions{Options: d.opts.Options, NodeFraction: profile.DefaultNodeFraction})
	if err != nil {
		return err
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return err
	}
	return t.WriteText(w, "")
}

// refinedProfile is raw (a gzipped pprof protobuf) with o's refinements
// applied by google/pprof's own filters, in go tool pprof's order
// (internal/driver.applyFocus: focus, ignore, hide, show; show_from; tag
// filters), written back gzipped. Without refinements it is raw itself.
func refinedProfile(raw []byte, o profile.Options) ([]byte, error) {
	if !o.Refined() {
		return raw, nil
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	p, err := pprof.ParseData(raw)
	if err != nil {
		return nil, err
	}
	rx := func(s string) *regexp.Regexp {
		if s == "" {
			return nil
		}
		return regexp.MustCompile(s) // validated above
	}
	p.FilterSamplesByName(rx(o.Focus), rx(o.Ignore), rx(o.Hide), rx(o.Show))
	if o.ShowFrom != "" {
		p.ShowFrom(rx(o.ShowFrom))
	}
	if o.TagFocus != "" || o.TagIgnore != "" {
		p.FilterSamplesByTag(tagMatch(o.TagFocus), tagMatch(o.TagIgnore))
	}
	var b bytes.Buffer
	if err := p.Write(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// tagMatch is internal/driver.compileTagFilter for string labels (the
// only ones gotune keeps; Options.Validate rejects numeric ranges):
// "regexp[,regexp...]" must each match some "key:value" of the sample,
// "key=regexp[,regexp...]" needs one of them to match a value of key.
func tagMatch(filter string) pprof.TagMatch {
	if filter == "" {
		return nil
	}
	wantKey := ""
	if k, v, ok := strings.Cut(filter, "="); ok {
		wantKey, filter = k, v
	}
	var rfx []*regexp.Regexp
	for _, f := range strings.Split(filter, ",") {
		rfx = append(rfx, regexp.MustCompile(f))
	}
	if wantKey == "" {
		return func(s *pprof.Sample) bool {
		next:
			for _, rx := range rfx {
				for key, vals := range s.Label {
					for _, val := range vals {
						if rx.MatchString(key + ":" + val) {
							continue next
						}
					}
				}
				return false
			}
			return true
		}
	}
	return func(s *pprof.Sample) bool {
		for _, val := range s.Label[wantKey] {
			if slices.ContainsFunc(rfx, func(rx *regexp.Regexp) bool { return rx.MatchString(val) }) {
				return true
			}
		}
		return false
	}
}
