package profile

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Sources reads the source files a Listing shows, given their names as a
// profile records them. Package profile does no I/O; package
// profile/sources has one that looks in a search path, the module cache
// and GOROOT.
type Sources interface {
	ReadSource(file string) ([]byte, error)
}

// ListOptions shape a Listing. Options.Granularity is ignored: a listing is
// by line, as pprof's list forces -lines.
type ListOptions struct {
	Options
	// Match selects the functions to list: a regexp matched against
	// function names (pprof -list).
	Match string
	// SearchPath is pprof's -source_path: a routine's file is named as
	// pprof names it, trimmed to what follows a search directory's base
	// name (internal/report.trimPath). Sources are read as recorded.
	SearchPath []string
}

// SourceLine is one line of a routine's listing.
type SourceLine struct {
	Line int    `json:"line"`
	Flat int64  `json:"flat"`
	Cum  int64  `json:"cum"`
	Text string `json:"text,omitempty"`
}

// Routine is the listing of one function in one source file.
type Routine struct {
	Function string `json:"function"`
	// File is the file as the profile names it; "" when the profile has
	// no file for the function (then there are no lines).
	File string `json:"file"`
	// Flat and Cum sum the function's lines in this file.
	Flat int64 `json:"flat"`
	Cum  int64 `json:"cum"`
	// Lines are, when the source was read, the lines pprof shows (from
	// the function's first line to five lines past its last sampled one,
	// with their text); otherwise only the lines with samples, without
	// text, and Err says why.
	Lines []SourceLine `json:"lines"`
	Err   error        `json:"-"`
}

// Listing is `go tool pprof -list`: per-line flat and cum values of the
// functions matching a regexp, with their source when it can be read.
type Listing struct {
	SampleType ValueType `json:"sample_type"`
	// Total is the percentage denominator, as in Top.
	Total    int64     `json:"total"`
	Routines []Routine `json:"routines"`
}

// listMargin is internal/report.getSourceFromFile's margin: lines shown
// before the first and after the last sampled line.
const listMargin = 5

// NewListing builds the listing of the functions of p matching o.Match,
// reading sources through src (nil: no source text). As pprof's, it fails
// when no function with samples matches.
func NewListing(p *Profile, o ListOptions, src Sources) (*Listing, error) {
	re, err := regexp.Compile(o.Match)
	if err != nil {
		return nil, fmt.Errorf("parsing argument regexp %s: %w", o.Match, err)
	}
	r, err := compileRefine(o.Options)
	if err != nil {
		return nil, err
	}
	vi, err := p.SampleIndex(o.SampleIndex)
	if err != nil {
		return nil, err
	}
	v := newNodeSet().prepare(p, vi, Lines, r)
	fnName := func(n int32) string {
		if fn := v.ns.info[n].fn; fn >= 0 {
			return p.Functions[fn].Name
		}
		return ""
	}
	nn := len(v.ns.names)
	matched := make([]bool, nn)
	for n := range nn {
		matched[n] = re.MatchString(fnName(int32(n)))
	}
	flat, cum := make([]int64, nn), make([]int64, nn)
	seen := make([]uint32, nn)
	gen := uint32(0)
	var buf []int32
	for s := range p.NumSamples() {
		w := v.weight(s)
		if w == 0 {
			continue
		}
		var ok bool
		if buf, ok = v.path(s, buf[:0]); !ok || len(buf) == 0 {
			continue
		}
		gen++
		if gen == 0 {
			clear(seen)
			gen = 1
		}
		for _, n := range buf {
			if matched[n] && seen[n] != gen {
				seen[n] = gen
				cum[n] += w
			}
		}
		if leaf := buf[len(buf)-1]; matched[leaf] {
			flat[leaf] += w
		}
	}

	// internal/report.printSource: functions by name, then their files.
	type key struct{ fn, file string }
	groups := map[key][]int32{}
	var keys []key
	for n := range nn {
		if !matched[n] || flat[n] == 0 && cum[n] == 0 {
			continue
		}
		k := key{fn: fnName(int32(n))}
		if fn := v.ns.info[n].fn; fn >= 0 {
			k.file = cleanFile(p.Functions[fn].Filename)
		}
		if groups[k] == nil {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], int32(n))
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("no matches found for regexp: %s", o.Match)
	}
	slices.SortFunc(keys, func(a, b key) int { return cmp.Or(cmp.Compare(a.fn, b.fn), cmp.Compare(a.file, b.file)) })
	l := &Listing{SampleType: p.SampleTypes[vi], Total: total(p, vi, weigher{ratio: 1})}
	texts := map[string][]string{}
	errs := map[string]error{}
	for i, k := range keys {
		if k.file == "" {
			// "No source information": the function has no file, unless
			// another of its nodes has one.
			if i+1 < len(keys) && keys[i+1].fn == k.fn || i > 0 && keys[i-1].fn == k.fn {
				continue
			}
			l.Routines = append(l.Routines, Routine{Function: k.fn})
			continue
		}
		ns := groups[k]
		rt := Routine{Function: k.fn, File: TrimPath(k.file, o.SearchPath)}
		lineFlat, lineCum := map[int]int64{}, map[int]int64{}
		for _, n := range ns {
			rt.Flat += flat[n]
			rt.Cum += cum[n]
			ln := int(v.ns.info[n].line)
			lineFlat[ln] += flat[n]
			lineCum[ln] += cum[n]
		}
		if _, ok := texts[k.file]; !ok && errs[k.file] == nil {
			texts[k.file], errs[k.file] = readLines(src, k.file)
		}
		if err := errs[k.file]; err != nil {
			rt.Err = err
			for _, ln := range sortedLines(lineFlat) {
				rt.Lines = append(rt.Lines, SourceLine{Line: ln, Flat: lineFlat[ln], Cum: lineCum[ln]})
			}
			l.Routines = append(l.Routines, rt)
			continue
		}
		start, end := listRange(p, v, ns)
		text := texts[k.file]
		for ln := start; ln <= end && ln <= len(text); ln++ {
			rt.Lines = append(rt.Lines, SourceLine{Line: ln, Flat: lineFlat[ln], Cum: lineCum[ln], Text: text[ln-1]})
		}
		l.Routines = append(l.Routines, rt)
	}
	return l, nil
}

// listRange is internal/report.getSourceFromFile's choice of lines: from
// the function's start line (or five lines before the first sampled line)
// to five lines after the last.
func listRange(p *Profile, v *view, ns []int32) (start, end int) {
	startLine := func(n int32) int {
		if fn := v.ns.info[n].fn; fn >= 0 {
			return int(p.Functions[fn].StartLine)
		}
		return 0
	}
	line := func(n int32) int { return int(v.ns.info[n].line) }
	if s := startLine(ns[0]); s != 0 {
		start = s
	} else {
		start = line(ns[0]) - listMargin
	}
	end = line(ns[0]) + listMargin
	for _, n := range ns {
		nodeStart := startLine(n)
		if nodeStart == 0 {
			nodeStart = line(n) - listMargin
		}
		if nodeEnd := line(n) + listMargin; nodeStart < start {
			start = nodeStart
		} else if nodeEnd > end {
			end = nodeEnd
		}
	}
	return max(start, 1), end
}

func sortedLines(m map[int]int64) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// errNoSources is a listing's error when no Sources were given.
var errNoSources = errors.New("no source files available")

// readLines splits a file into lines as bufio.Scanner does (pprof's
// sourceReader).
func readLines(src Sources, file string) ([]string, error) {
	if src == nil {
		return nil, errNoSources
	}
	data, err := src.ReadSource(file)
	if err != nil {
		return nil, err
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, len(data)+1)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines, sc.Err()
}

// WriteText writes l like `go tool pprof -list` does, in unit ("" scales
// each value on its own, as pprof's list does). A routine whose source was
// not read shows pprof's error line, then its sampled lines without text.
func (l *Listing) WriteText(w io.Writer, unit string) error {
	if unit == "" {
		unit = "auto"
	}
	f := func(v int64) string { return FormatValue(v, l.SampleType.Unit, unit) }
	dot := func(v int64) string {
		if v == 0 {
			return "."
		}
		return f(v)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Total: %s\n", f(l.Total))
	for _, rt := range l.Routines {
		if rt.File == "" {
			fmt.Fprintf(&b, "No source information for %s\n", rt.Function)
			continue
		}
		fmt.Fprintf(&b, "ROUTINE ======================== %s in %s\n", rt.Function, rt.File)
		fmt.Fprintf(&b, "%10s %10s (flat, cum) %s of Total\n", f(rt.Flat), f(rt.Cum), Percent(rt.Cum, l.Total))
		if rt.Err != nil {
			fmt.Fprintf(&b, " Error: %v\n", rt.Err)
		}
		for _, ln := range rt.Lines {
			fmt.Fprintf(&b, "%10s %10s %6d:%s\n", dot(ln.Flat), dot(ln.Cum), ln.Line, ln.Text)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// TrimPath is go tool pprof's heuristic for naming a file when a source
// path is given (internal/report.trimPath without -trim_path): what
// follows "/BASE/" in path, for the base name of the first search
// directory that occurs in it; else path itself.
func TrimPath(path string, search []string) string {
	sPath := filepath.ToSlash(path)
	for _, dir := range search {
		if dir == "" {
			continue
		}
		want := "/" + filepath.Base(dir) + "/"
		if i := strings.Index(sPath, want); i != -1 {
			return path[i+len(want):]
		}
	}
	return path
}
