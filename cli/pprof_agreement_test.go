//go:build unix

package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The tests in this file run gotune top (and --peek, --list) and gotune
// folded with go tool pprof's refinements and granularity, and go tool
// pprof itself with the same flags on the same files: the reports must
// agree line for line (values in exact units), and the folded stacks must
// add up to what pprof shows.

// pprofOut runs go tool pprof with args in a temporary directory (no
// symbolization, no saved copies) and returns its standard output.
func pprofOut(t *testing.T, args ...string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("runs go tool pprof")
	}
	for i, a := range args {
		if !strings.HasPrefix(a, "-") {
			args[i], _ = filepath.Abs(a) // pprof runs in a temporary directory
		}
	}
	cmd := exec.Command("go", append([]string{"tool", "pprof"}, args...)...)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "PPROF_TMPDIR="+t.TempDir(), "PPROF_BINARY_PATH=/nonexistent")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go tool pprof %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

var inlineRE = regexp.MustCompile(` \((partial-)?inline\)$`)

// comparable drops what gotune top does not print as pprof does: the
// build ID, the duration (pprof adds the total samples to it), and the
// inline markers of -top rows (-peek's edges keep theirs).
func comparable(out string) string {
	var keep []string
	peek := strings.Contains(out, "calls calls% + context")
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "Build ID: ") || strings.HasPrefix(l, "Duration: ") {
			continue
		}
		if !peek {
			l = inlineRE.ReplaceAllString(l, "")
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, "\n")
}

// refineCase is one set of flags, in gotune's spelling; pprof's is derived.
type refineCase struct {
	name  string
	file  string
	flags []string // --focus X, --granularity lines, ...
}

// pprofFlags translates gotune's flags to go tool pprof's: --show-from is
// -show_from, --granularity G is -G, --sample-index is -sample_index.
func pprofFlags(flags []string) []string {
	var out []string
	for i := 0; i < len(flags); i++ {
		f := strings.TrimPrefix(flags[i], "--")
		switch f {
		case "cum":
			out = append(out, "-cum")
			continue
		case "granularity":
			out = append(out, "-"+flags[i+1])
			i++
			continue
		}
		out = append(out, "-"+strings.ReplaceAll(f, "-", "_")+"="+flags[i+1])
		i++
	}
	return out
}

// exactUnit is the unit that prints a profile's values as integers.
func exactUnit(file string) string {
	switch filepath.Base(file) {
	case "cpu.pb.gz", "mutex.pb.gz", "block.pb.gz":
		return "ns"
	case "heap.pb.gz", "allocs.pb.gz":
		return "B"
	}
	return "count"
}

var refineCases = []refineCase{
	{"cpu/show-from", "cpu.pb.gz", []string{"--show-from", `main\.burnCPU`}},
	{"cpu/show-from+hide", "cpu.pb.gz", []string{"--show-from", `runtime\.main`, "--hide", `main\.run$`}},
	{"cpu/focus+ignore", "cpu.pb.gz", []string{"--focus", "burnCPU", "--ignore", "spin"}},
	{"cpu/hide+show", "cpu.pb.gz", []string{"--hide", `runtime\.`, "--show", `main\.`}},
	{"cpu/lines+show-from", "cpu.pb.gz", []string{"--granularity", "lines", "--show-from", `main\.run`}},
	{"cpu/addresses", "cpu.pb.gz", []string{"--granularity", "addresses"}},
	{"cpu/cum+focus", "cpu.pb.gz", []string{"--cum", "--focus", "fib|spin"}},
	{"heap/alloc_space+lines+focus", "heap.pb.gz", []string{"--sample-index", "alloc_space", "--granularity", "lines", "--focus", "alloc"}},
	{"goroutine/tagfocus", "goroutine.pb.gz", []string{"--tagfocus", "worker=labelled"}},
	{"goroutine/tagfocus-key-value", "goroutine.pb.gz", []string{"--tagfocus", "worker:lab"}},
	{"goroutine/tagignore", "goroutine.pb.gz", []string{"--cum", "--tagignore", "worker=."}},
	{"goroutine/show-from", "goroutine.pb.gz", []string{"--show-from", "gopark"}},
	{"mutex/hide", "mutex.pb.gz", []string{"--hide", "sync"}},
	{"block/focus", "block.pb.gz", []string{"--focus", "contend"}},
}

func TestTopAgreesWithPprof(t *testing.T) {
	t.Parallel()
	for _, c := range refineCases {
		t.Run(c.name, func(t *testing.T) {
			file := profiles + c.file
			unit := exactUnit(file)
			got := runCLI(t, append(append([]string{"top", "--nodecount", "15", "--unit", unit}, c.flags...), file)...)
			want := pprofOut(t, append(append([]string{"-top", "-nodecount=15", "-unit=" + unit}, pprofFlags(c.flags)...), file)...)
			if comparable(got) != comparable(want) {
				t.Errorf("gotune top %s differs from go tool pprof -top %s:\n--- gotune\n%s--- pprof\n%s",
					strings.Join(c.flags, " "), strings.Join(pprofFlags(c.flags), " "), got, want)
			}
			if !strings.Contains(got, "Showing nodes") || strings.Count(got, "\n") < 5 {
				t.Errorf("the case shows no rows:\n%s", got)
			}
		})
	}
}

var shownRE = regexp.MustCompile(`Showing nodes accounting for (-?\d+)`)

// TestFoldedAgreesWithPprof: with the same refinements, the folded stacks'
// values add up to the total pprof shows with every node kept, and each
// line's frames are the view's (hidden frames gone, show_from cut).
func TestFoldedAgreesWithPprof(t *testing.T) {
	t.Parallel()
	for _, c := range refineCases {
		var flags []string
		for i := 0; i < len(c.flags); i++ {
			if c.flags[i] == "--cum" {
				continue
			}
			flags = append(flags, c.flags[i], c.flags[i+1])
			i++
		}
		t.Run(c.name, func(t *testing.T) {
			file := profiles + c.file
			unit := exactUnit(file)
			folded := runCLI(t, append(append([]string{"folded"}, flags...), file)...)
			var sum int64
			lines := strings.Split(strings.TrimSuffix(folded, "\n"), "\n")
			for _, l := range lines {
				i := strings.LastIndexByte(l, ' ')
				v, err := strconv.ParseInt(l[i+1:], 10, 64)
				if err != nil {
					t.Fatalf("folded line %q: %v", l, err)
				}
				sum += v
				for j := 0; j < len(flags); j += 2 {
					switch flags[j] {
					case "--hide":
						for _, fr := range strings.Split(l[:i], ";") {
							if regexp.MustCompile(flags[j+1]).MatchString(fr) {
								t.Errorf("--hide %s: frame %q kept in %q", flags[j+1], fr, l)
							}
						}
					case "--show-from":
						if fr, _, _ := strings.Cut(l[:i], ";"); !regexp.MustCompile(flags[j+1]).MatchString(fr) {
							t.Errorf("--show-from %s: the line starts at %q", flags[j+1], fr)
						}
					}
				}
			}
			out := pprofOut(t, append(append([]string{"-top", "-nodefraction=0", "-unit=" + unit}, pprofFlags(flags)...), file)...)
			m := shownRE.FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("no shown total in go tool pprof's output:\n%s", out)
			}
			if want, _ := strconv.ParseInt(m[1], 10, 64); sum != want || sum == 0 {
				t.Errorf("folded stacks add up to %d; go tool pprof shows %d", sum, want)
			}
		})
	}
}

func TestPeekAndListAgreeWithPprof(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		file  string
		flags []string
	}{
		{"peek/cpu", "cpu.pb.gz", []string{"--peek", `main\.(fib|burnCPU)$`}},
		{"peek/cpu+hide", "cpu.pb.gz", []string{"--peek", `main\.burnCPU$`, "--hide", "hashLoop"}},
		{"peek/heap+lines", "heap.pb.gz", []string{"--peek", `allocTree`, "--granularity", "lines"}},
		{"peek/goroutine+tagfocus", "goroutine.pb.gz", []string{"--peek", `gopark`, "--tagfocus", "worker=labelled"}},
		{"list/cpu", "cpu.pb.gz", []string{"--list", `main\.fib$`, "--source-path", root}},
		{"list/cpu+focus", "cpu.pb.gz", []string{"--list", `main\.burnCPU$`, "--focus", "spin", "--source-path", root}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			file := profiles + c.file
			unit := exactUnit(file)
			got := runCLI(t, append(append([]string{"top", "--unit", unit}, c.flags...), file)...)
			want := pprofOut(t, append(append([]string{"-unit=" + unit}, pprofFlags(c.flags)...), file)...)
			if comparable(got) != comparable(want) {
				t.Errorf("gotune top %s differs from go tool pprof %s:\n--- gotune\n%s--- pprof\n%s",
					strings.Join(c.flags, " "), strings.Join(pprofFlags(c.flags), " "), got, want)
			}
			if strings.HasPrefix(c.name, "list/") && strings.Contains(got, "Error: ") {
				t.Errorf("the listing found no source:\n%s", got)
			}
		})
	}
}
