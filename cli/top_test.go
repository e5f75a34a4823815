//go:build unix

package cli

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/charmbracelet/x/exp/golden"
)

const profiles = "../testdata/profiles/"

// runCLI runs gotune with args and returns stdout, failing on error.
func runCLI(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if err := Run(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatalf("gotune %s: %v\nstderr: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

func runCLIError(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := Run(context.Background(), args, &stdout, &stderr)
	if err == nil {
		t.Fatalf("gotune %s: want an error, got output:\n%s", strings.Join(args, " "), stdout.String())
	}
	return err.Error()
}

func TestTopGolden(t *testing.T) {
	cases := []struct {
		name string
		args []string
	}{
		{"heap", []string{"top", profiles + "heap.pb.gz"}},
		{"heap_json", []string{"top", "--json", profiles + "heap.pb.gz"}},
		{"heap_alloc_space_nodecount", []string{"top", "--sample-index", "alloc_space", "--nodecount", "5", profiles + "heap.pb.gz"}},
		{"cpu_cum", []string{"top", "--cum", "--nodecount", "6", profiles + "cpu.pb.gz"}},
		{"cpu_focus_lines", []string{"top", "--focus", "fib|spin", "--granularity", "lines", profiles + "cpu.pb.gz"}},
		{"cpu_diff", []string{"top", "--diff-base", profiles + "cpu_base.pb.gz", profiles + "cpu.pb.gz"}},
		{"heap_diff_normalize_json", []string{"top", "--json", "--diff-base", profiles + "heap_base.pb.gz", "--normalize", profiles + "heap.pb.gz"}},
		{"goroutine", []string{"top", profiles + "goroutine.pb.gz"}},
		{"mutex_json", []string{"top", "--json", profiles + "mutex.pb.gz"}},
		{"goroutine_tagfocus_show_from", []string{"top", "--tagfocus", "worker=labelled", "--show-from", "chanrecv$", profiles + "goroutine.pb.gz"}},
		{"cpu_peek", []string{"top", "--peek", `main\.burnCPU$`, profiles + "cpu.pb.gz"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			golden.RequireEqual(t, runCLI(t, c.args...))
		})
	}
}

func TestFoldedGolden(t *testing.T) {
	for _, name := range []string{"cpu", "heap", "goroutine"} {
		t.Run(name, func(t *testing.T) {
			golden.RequireEqual(t, runCLI(t, "folded", profiles+name+".pb.gz"))
		})
	}
	for name, args := range map[string][]string{
		"cpu_show_from_lines": {"--show-from", `main\.burnCPU`, "--granularity", "lines"},
		"goroutine_tagignore": {"--tagignore", "worker=.", "--hide", `runtime\.`},
	} {
		t.Run(name, func(t *testing.T) {
			file := profiles + strings.Split(name, "_")[0] + ".pb.gz"
			golden.RequireEqual(t, runCLI(t, append(append([]string{"folded"}, args...), file)...))
		})
	}
}

func TestTopErrors(t *testing.T) {
	dir := t.TempDir()
	bad := dir + "/heap.pb.gz"
	if err := os.WriteFile(bad, []byte("\x1f\x8bgarbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"top", bad}, "read " + bad + ": not a pprof profile: gzip: "},
		{[]string{"top", dir + "/missing.pb.gz"}, "no such file or directory"},
		{[]string{"top", "--diff-base", profiles + "heap.pb.gz", profiles + "cpu.pb.gz"}, "profile mismatch: cannot compare a heap profile"},
		{[]string{"top", "--normalize", profiles + "cpu.pb.gz"}, "--normalize needs --diff-base"},
		{[]string{"top", "--sample-index", "nope", profiles + "cpu.pb.gz"}, `sample index "nope" must be one of: samples, cpu`},
		{[]string{"top", "--focus", "(", profiles + "cpu.pb.gz"}, "parse focus regexp"},
		{[]string{"folded", profiles + "README.md"}, "not a pprof profile"},
		{[]string{"folded", "--show-from", "(", profiles + "cpu.pb.gz"}, "parse show_from regexp"},
		{[]string{"top", "--tagfocus", "bytes=1kb:", profiles + "heap.pb.gz"}, "numeric tag filters are not supported"},
		{[]string{"top", "--granularity", "stacks", profiles + "cpu.pb.gz"}, "want functions, files, lines or addresses"},
		{[]string{"top", "--peek", "x", "--list", "y", profiles + "cpu.pb.gz"}, "--peek and --list exclude each other"},
		{[]string{"top", "--peek", "nothing-matches-this", profiles + "cpu.pb.gz"}, "no matches found for regexp"},
	} {
		if got := runCLIError(t, c.args...); !strings.Contains(got, c.want) {
			t.Errorf("gotune %s: error %q, want it to contain %q", strings.Join(c.args, " "), got, c.want)
		}
	}
}

// TestTopURL serves a fixture from a fake net/http/pprof endpoint and checks
// that base URLs, full URLs and --kind fetch the right profile.
func TestTopURL(t *testing.T) {
	heap, err := os.ReadFile(profiles + "heap.pb.gz")
	if err != nil {
		t.Fatal(err)
	}
	cpu, err := os.ReadFile(profiles + "cpu.pb.gz")
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.RequestURI())
		switch r.URL.Path {
		case "/debug/pprof/heap":
			w.Write(heap)
		case "/debug/pprof/profile":
			w.Write(cpu)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	fromFile := runCLI(t, "top", profiles+"heap.pb.gz")
	if got := runCLI(t, "top", srv.URL); got != fromFile {
		t.Errorf("top BASE_URL differs from top FILE:\n%s\nvs\n%s", got, fromFile)
	}
	if got := runCLI(t, "top", srv.URL+"/debug/pprof/heap"); got != fromFile {
		t.Errorf("top FULL_URL differs from top FILE")
	}
	cpuFile := runCLI(t, "top", profiles+"cpu.pb.gz")
	if got := runCLI(t, "top", "--kind", "profile", "--seconds", "1", srv.URL); got != cpuFile {
		t.Errorf("top --kind profile differs from the CPU file")
	}
	want := []string{"/debug/pprof/heap", "/debug/pprof/heap", "/debug/pprof/profile?seconds=1"}
	if strings.Join(paths, " ") != strings.Join(want, " ") {
		t.Errorf("requested %q, want %q", paths, want)
	}
	if got := runCLIError(t, "top", "--kind", "block", srv.URL); !strings.Contains(got, "404") {
		t.Errorf("missing endpoint: error %q, want a 404", got)
	}
}
