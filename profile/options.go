package profile

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Granularity says what one node of a view stands for.
type Granularity int

const (
	Functions Granularity = iota // one node per function (pprof's default)
	Files                        // one node per source file (-files)
	Lines                        // one node per function and source line (-lines)
	Addresses                    // one node per program counter and frame (-addresses)
)

// ParseGranularity accepts "functions", "files", "lines" and "addresses"
// (and the singular forms).
func ParseGranularity(s string) (Granularity, error) {
	switch strings.ToLower(s) {
	case "", "function", "functions":
		return Functions, nil
	case "file", "files":
		return Files, nil
	case "line", "lines":
		return Lines, nil
	case "address", "addresses", "addr":
		return Addresses, nil
	}
	return 0, fmt.Errorf("granularity %q: want functions, files, lines or addresses", s)
}

func (g Granularity) String() string {
	switch g {
	case Files:
		return "files"
	case Lines:
		return "lines"
	case Addresses:
		return "addresses"
	}
	return "functions"
}

// Options select and refine what every view of a profile (top, call tree,
// folded stacks, peek, list, diff) aggregates, with the meaning of
// `go tool pprof`'s flags of the same names:
//
//   - Focus keeps samples with a frame matching it, Ignore drops samples
//     with one (-focus, -ignore). A frame matches when its function name or
//     source file name does, or its location's mapping (binary) does.
//   - Hide removes matching frames from stacks, Show keeps only matching
//     frames (-hide, -show); a sample left with no frame is dropped.
//   - ShowFrom drops the frames above (callers of) the outermost frame
//     matching it, and samples with no such frame (-show_from).
//   - TagFocus and TagIgnore select samples by their string labels
//     (-tagfocus, -tagignore): "regexp[,regexp...]" must each match some
//     "key:value" of the sample; "key=regexp[,regexp...]" needs one of the
//     regexps to match a value of label key.
//
// They are applied in pprof's order (focus/ignore/hide/show, then
// show_from, then tags), before aggregation at Granularity. As in pprof
// without -relative_percentages, percentages stay relative to the total of
// the unfiltered profile.
type Options struct {
	SampleIndex string // sample type name or number; "" is the default type
	Granularity Granularity
	Focus       string
	Ignore      string
	Hide        string
	Show        string
	ShowFrom    string
	TagFocus    string
	TagIgnore   string
}

// Refined reports whether any refinement (filter) is set.
func (o Options) Refined() bool {
	return o.Focus != "" || o.Ignore != "" || o.Hide != "" || o.Show != "" || o.ShowFrom != "" || o.TagFocus != "" || o.TagIgnore != ""
}

// Validate reports the first option that does not compile ("parse focus
// regexp: ..."), so a front end can check what a person types before
// aggregating.
func (o Options) Validate() error {
	_, err := compileRefine(o)
	return err
}

// Filters lists the refinements that are set as pprof prints them under
// "Active filters:" ("focus=main\.").
func (o Options) Filters() []string {
	var out []string
	for _, f := range []struct{ k, v string }{{"focus", o.Focus}, {"ignore", o.Ignore}, {"hide", o.Hide}, {"show", o.Show}, {"show_from", o.ShowFrom}, {"tagfocus", o.TagFocus}, {"tagignore", o.TagIgnore}} {
		if f.v != "" {
			out = append(out, f.k+"="+f.v)
		}
	}
	return out
}

// refine is Options compiled.
type refine struct {
	focus, ignore, hide, show, showFrom *regexp.Regexp
	tagFocus, tagIgnore                 func([]Label) bool
}

func compileRefine(o Options) (*refine, error) {
	r := &refine{}
	for _, c := range []struct {
		name string
		expr string
		dst  **regexp.Regexp
	}{{"focus", o.Focus, &r.focus}, {"ignore", o.Ignore, &r.ignore}, {"hide", o.Hide, &r.hide}, {"show", o.Show, &r.show}, {"show_from", o.ShowFrom, &r.showFrom}} {
		if c.expr == "" {
			continue
		}
		re, err := regexp.Compile(c.expr)
		if err != nil {
			return nil, fmt.Errorf("parse %s regexp: %w", c.name, err)
		}
		*c.dst = re
	}
	var err error
	if r.tagFocus, err = compileTagFilter("tagfocus", o.TagFocus); err != nil {
		return nil, err
	}
	if r.tagIgnore, err = compileTagFilter("tagignore", o.TagIgnore); err != nil {
		return nil, err
	}
	return r, nil
}

// byName reports whether the frame filters that select samples by their
// locations (pprof's FilterSamplesByName) are set.
func (r *refine) byName() bool {
	return r.focus != nil || r.ignore != nil || r.hide != nil || r.show != nil
}

// tags reports whether sample labels pass the tag filters.
func (r *refine) tags(ls []Label) bool {
	if r.tagFocus != nil && !r.tagFocus(ls) {
		return false
	}
	return r.tagIgnore == nil || !r.tagIgnore(ls)
}

// ErrNumericTagFilter is returned for a tag filter that pprof reads as a
// numeric range ("bytes=1kb:", "64kb"): gotune keeps string labels only.
var ErrNumericTagFilter = errors.New("numeric tag filters are not supported (gotune keeps string labels only)")

// compileTagFilter re-creates internal/driver.compileTagFilter for string
// labels.
func compileTagFilter(name, value string) (func([]Label) bool, error) {
	if value == "" {
		return nil, nil
	}
	var wantKey string
	if k, v, ok := strings.Cut(value, "="); ok {
		wantKey, value = k, v
	}
	if isTagRange(value) {
		return nil, fmt.Errorf("%s %q: %w", name, value, ErrNumericTagFilter)
	}
	var rfx []*regexp.Regexp
	for _, tagf := range strings.Split(value, ",") {
		fx, err := regexp.Compile(tagf)
		if err != nil {
			return nil, fmt.Errorf("parse %s regexp: %w", name, err)
		}
		rfx = append(rfx, fx)
	}
	if wantKey == "" {
		// Every regexp must match some "key:value" of the sample.
		return func(ls []Label) bool {
		next:
			for _, rx := range rfx {
				for _, l := range ls {
					if rx.MatchString(l.Key + ":" + l.Value) {
						continue next
					}
				}
				return false
			}
			return true
		}, nil
	}
	return func(ls []Label) bool {
		for _, l := range ls {
			if l.Key == wantKey && slices.ContainsFunc(rfx, func(rx *regexp.Regexp) bool { return rx.MatchString(l.Value) }) {
				return true
			}
		}
		return false
	}, nil
}

var tagFilterRangeRx = regexp.MustCompile("([+-]?[[:digit:]]+)([[:alpha:]]+)?")

// isTagRange reports whether pprof's parseTagFilterRange reads filter as a
// numeric range rather than a regexp.
func isTagRange(filter string) bool {
	ranges := tagFilterRangeRx.FindAllStringSubmatch(filter, 2)
	if len(ranges) == 0 {
		return false
	}
	if _, err := strconv.ParseInt(ranges[0][1], 10, 64); err != nil {
		return false
	}
	if len(ranges) == 1 {
		m := ranges[0][0]
		return filter == m || filter == m+":" || filter == ":"+m
	}
	if filter != ranges[0][0]+":"+ranges[1][0] {
		return false
	}
	_, unit := Scale(1, ranges[0][2], ranges[0][2])
	_, unit2 := Scale(1, ranges[1][2], unit)
	return unit == unit2
}
