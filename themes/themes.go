// Package themes owns gotune's colours: one semantic palette per theme
// (dark, light, high contrast, monochrome) and the styles built from it once
// per theme. Every style the dashboard draws with comes from a Theme, so a
// theme change is one value swap and no view picks a colour of its own.
package themes

import (
	"fmt"
	"image/color"
	"strings"

	"charm.land/lipgloss/v2"
)

// Names of the themes, as --theme accepts them.
const (
	Dark         = "dark"
	Light        = "light"
	HighContrast = "high-contrast"
	Mono         = "mono"
	Auto         = "auto" // dark or light from the terminal's background
)

// Names lists the themes a user can choose.
var Names = []string{Dark, Light, HighContrast, Mono}

// Palette is the semantic colour set of a theme. A nil colour means "the
// terminal's default", which is what the monochrome theme uses everywhere.
type Palette struct {
	Fg, Muted, Faint color.Color // text, secondary text, rules and axes
	Accent           color.Color // titles, the active tab, keys in help
	OK, Warn, Crit   color.Color // health of a figure or a source
	SelFg, SelBg     color.Color // the selected row or frame
	MatchFg, MatchBg color.Color // search matches
	Series           []color.Color
	Flame            []color.Color // frame backgrounds, picked by a hash of the name
	FlameFg          color.Color
}

// Paint is a style reduced to the escape sequences around its text. It is
// built once from a lipgloss.Style, so drawing a cell is two string
// concatenations instead of a Render call: the flame view paints hundreds
// of cells per frame.
type Paint struct{ pre, post string }

// S paints s.
func (p Paint) S(s string) string {
	if p.pre == "" || s == "" {
		return s
	}
	return p.pre + s + p.post
}

// Open and Close are the escape sequences around painted text, for
// writers that build long lines themselves (charts).
func (p Paint) Open() string  { return p.pre }
func (p Paint) Close() string { return p.post }

func paintOf(st lipgloss.Style) Paint {
	out := st.Render("\x00")
	pre, post, ok := strings.Cut(out, "\x00")
	if !ok {
		return Paint{}
	}
	return Paint{pre: pre, post: post}
}

// Theme is a palette with the styles built from it.
type Theme struct {
	Name    string
	Palette Palette

	Text, Muted, Faint, Bold          Paint
	Title, Key, Accent                Paint
	TabActive, TabInactive            Paint
	OK, Warn, Crit                    Paint
	Selected, Match, SelectedMatch    Paint
	Series                            []Paint
	Flame                             []Paint
	FlameSelected, FlameMatch, Header Paint
	// Diff flame frames: grew, shrank, new, gone, and within the noise.
	DiffGrew, DiffShrank, DiffNew, DiffGone, DiffSame Paint
}

func style(fg, bg color.Color) lipgloss.Style {
	s := lipgloss.NewStyle()
	if fg != nil {
		s = s.Foreground(fg)
	}
	if bg != nil {
		s = s.Background(bg)
	}
	return s
}

// Build makes the styles of a palette. mono themes lean on attributes
// (bold, reverse, underline, faint) instead of colours.
func Build(name string, p Palette) *Theme {
	mono := p.Fg == nil && p.Accent == nil
	t := &Theme{Name: name, Palette: p}
	t.Text = paintOf(style(p.Fg, nil))
	t.Muted = paintOf(style(p.Muted, nil))
	t.Faint = paintOf(style(p.Faint, nil))
	t.Bold = paintOf(style(p.Fg, nil).Bold(true))
	t.Title = paintOf(style(p.Accent, nil).Bold(true))
	t.Key = paintOf(style(p.Accent, nil).Bold(true))
	t.Accent = paintOf(style(p.Accent, nil))
	t.Header = paintOf(style(p.Fg, nil).Bold(true))
	t.TabActive = paintOf(style(p.SelFg, p.Accent).Bold(true))
	t.TabInactive = paintOf(style(p.Muted, nil))
	t.OK = paintOf(style(p.OK, nil))
	t.Warn = paintOf(style(p.Warn, nil).Bold(true))
	t.Crit = paintOf(style(p.Crit, nil).Bold(true))
	t.Selected = paintOf(style(p.SelFg, p.SelBg).Bold(true))
	t.Match = paintOf(style(p.MatchFg, p.MatchBg))
	t.SelectedMatch = paintOf(style(p.MatchFg, p.MatchBg).Bold(true).Underline(true))
	t.FlameSelected = paintOf(style(p.SelFg, p.SelBg).Bold(true))
	t.FlameMatch = paintOf(style(p.MatchFg, p.MatchBg).Bold(true))
	if mono {
		t.Muted = paintOf(lipgloss.NewStyle().Faint(true))
		t.Faint = t.Muted
		t.TabActive = paintOf(lipgloss.NewStyle().Reverse(true).Bold(true))
		t.Warn = paintOf(lipgloss.NewStyle().Bold(true))
		t.Crit = paintOf(lipgloss.NewStyle().Bold(true).Underline(true))
		t.Selected = paintOf(lipgloss.NewStyle().Reverse(true).Bold(true))
		t.Match = paintOf(lipgloss.NewStyle().Underline(true))
		t.SelectedMatch = paintOf(lipgloss.NewStyle().Reverse(true).Underline(true))
		t.FlameSelected = paintOf(lipgloss.NewStyle().Bold(true).Underline(true))
		t.FlameMatch = paintOf(lipgloss.NewStyle().Underline(true))
		t.DiffGrew = paintOf(lipgloss.NewStyle().Reverse(true).Bold(true))
		t.DiffNew = paintOf(lipgloss.NewStyle().Reverse(true).Bold(true).Underline(true))
		t.DiffShrank = paintOf(lipgloss.NewStyle().Underline(true))
		t.DiffGone = paintOf(lipgloss.NewStyle().Faint(true).Strikethrough(true))
		t.DiffSame = Paint{}
		t.Series = []Paint{{}}
		t.Flame = []Paint{paintOf(lipgloss.NewStyle().Reverse(true))}
		return t
	}
	// Red for more, green for less, as pprof's and Pyroscope's diff
	// views; new and gone get their own hue so they stand out from a
	// frame that merely moved.
	t.DiffGrew = paintOf(style(p.SelFg, p.Crit))
	t.DiffNew = paintOf(style(p.SelFg, p.Warn).Bold(true))
	t.DiffShrank = paintOf(style(p.SelFg, p.OK))
	t.DiffGone = paintOf(style(p.SelFg, p.Accent))
	t.DiffSame = paintOf(style(p.FlameFg, p.Faint))
	for _, c := range p.Series {
		t.Series = append(t.Series, paintOf(style(c, nil)))
	}
	for _, c := range p.Flame {
		t.Flame = append(t.Flame, paintOf(style(p.FlameFg, c)))
	}
	return t
}

func hex(s string) color.Color { return lipgloss.Color(s) }

// DarkPalette is for dark terminal backgrounds.
func DarkPalette() Palette {
	return Palette{
		Fg: hex("#D8DEE9"), Muted: hex("#8A93A6"), Faint: hex("#4C566A"),
		Accent: hex("#7AA2F7"),
		OK:     hex("#9ECE6A"), Warn: hex("#E0AF68"), Crit: hex("#F7768E"),
		SelFg: hex("#1A1B26"), SelBg: hex("#7DCFFF"),
		MatchFg: hex("#1A1B26"), MatchBg: hex("#BB9AF7"),
		Series:  []color.Color{hex("#7DCFFF"), hex("#E0AF68"), hex("#F7768E"), hex("#9ECE6A"), hex("#BB9AF7")},
		Flame:   []color.Color{hex("#9E4A2F"), hex("#A8612A"), hex("#8C3B3B"), hex("#A0722E"), hex("#7F4A26")},
		FlameFg: hex("#F5E9DA"),
	}
}

// LightPalette is for light terminal backgrounds.
func LightPalette() Palette {
	return Palette{
		Fg: hex("#2E3440"), Muted: hex("#5C6370"), Faint: hex("#A0A8B7"),
		Accent: hex("#2F5DC4"),
		OK:     hex("#2E7D32"), Warn: hex("#A15C00"), Crit: hex("#C62828"),
		SelFg: hex("#FFFFFF"), SelBg: hex("#2F5DC4"),
		MatchFg: hex("#000000"), MatchBg: hex("#F2C94C"),
		Series:  []color.Color{hex("#1565C0"), hex("#C77700"), hex("#C62828"), hex("#2E7D32"), hex("#6A1B9A")},
		Flame:   []color.Color{hex("#F4B183"), hex("#F8CBAD"), hex("#F2A96B"), hex("#FAD7A0"), hex("#EFA88A")},
		FlameFg: hex("#1F1F1F"),
	}
}

// HighContrastPalette uses the strongest colours, for low-vision use and
// washed-out screens.
func HighContrastPalette() Palette {
	return Palette{
		Fg: hex("#FFFFFF"), Muted: hex("#E0E0E0"), Faint: hex("#B0B0B0"),
		Accent: hex("#00FFFF"),
		OK:     hex("#00FF00"), Warn: hex("#FFFF00"), Crit: hex("#FF3030"),
		SelFg: hex("#000000"), SelBg: hex("#FFFF00"),
		MatchFg: hex("#000000"), MatchBg: hex("#00FFFF"),
		Series:  []color.Color{hex("#00FFFF"), hex("#FFFF00"), hex("#FF00FF"), hex("#00FF00"), hex("#FFFFFF")},
		Flame:   []color.Color{hex("#FFFFFF"), hex("#C0C0C0")},
		FlameFg: hex("#000000"),
	}
}

// New returns the theme of that name.
func New(name string) (*Theme, error) {
	switch name {
	case Dark:
		return Build(Dark, DarkPalette()), nil
	case Light:
		return Build(Light, LightPalette()), nil
	case HighContrast:
		return Build(HighContrast, HighContrastPalette()), nil
	case Mono:
		return Build(Mono, Palette{}), nil
	}
	return nil, fmt.Errorf("unknown theme %q (want auto, %s)", name, strings.Join(Names, ", "))
}

// Valid reports whether name is a theme or "auto".
func Valid(name string) bool {
	if name == Auto || name == "" {
		return true
	}
	_, err := New(name)
	return err == nil
}

// Choose resolves the theme to use: monochrome when NO_COLOR is set (any
// non-empty value, https://no-color.org), else the requested one, else dark
// or light from the terminal's background.
func Choose(requested string, noColor, darkBackground bool) *Theme {
	if noColor {
		t, _ := New(Mono)
		return t
	}
	if requested != "" && requested != Auto {
		if t, err := New(requested); err == nil {
			return t
		}
	}
	if darkBackground {
		t, _ := New(Dark)
		return t
	}
	t, _ := New(Light)
	return t
}
