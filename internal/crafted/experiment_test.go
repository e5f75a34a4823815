//go:build experiment

// The memory experiment: the real gotune binary on each crafted input of
// issue 12, its peak RSS (the child's rusage ru_maxrss) against the
// 1 GB budget. It generates hundreds of MB and runs for minutes, so it
// runs only when asked:
//
//	go test -tags experiment -run TestPeakRSS -v -timeout 30m ./internal/crafted/
//
// It needs GNU time at /usr/bin/time (see runGotune).
//
// GOTUNE_EXPERIMENT=name,name runs only the cases named.
package crafted_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/internal/crafted"
	"github.com/gotune/gotune/internal/testproc"
	"github.com/gotune/gotune/measurement"
)

// peakBudget is the bound: at most 1 GB for any input within the
// default caps.
const peakBudget = 1e9

type run struct {
	exit   int
	peak   int64 // bytes
	wall   time.Duration
	stderr string
	stdout string
}

// runGotune runs bin with args and returns its exit status and peak RSS.
// The child runs under GNU time (/usr/bin/time -f %M), which reports its
// child's ru_maxrss: os/exec starts a child with CLONE_VM, and Linux
// records the parent's high-water RSS at exec as the child's own, so this
// test process's generated inputs would count in gotune's figure. time is
// small: what it forks from does not matter.
func runGotune(t *testing.T, bin string, args ...string) run {
	t.Helper()
	rssFile := filepath.Join(t.TempDir(), "maxrss")
	cmd := exec.Command("/usr/bin/time", append([]string{"-f", "%M", "-o", rssFile, bin}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := run{wall: time.Since(start), stderr: errb.String(), stdout: out.String()}
	if err != nil {
		if ee, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("%s: %v", bin, err)
		} else {
			r.exit = ee.ExitCode()
		}
	}
	kib, err := os.ReadFile(rssFile)
	if err != nil {
		t.Fatalf("/usr/bin/time wrote no figure: %v", err)
	}
	f := strings.Fields(string(kib))
	r.peak = int64(atoi(f[len(f)-1])) << 10 // KiB
	return r
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

func wanted(name string) bool {
	only := os.Getenv("GOTUNE_EXPERIMENT")
	if only == "" {
		return true
	}
	for n := range strings.SplitSeq(only, ",") {
		if strings.TrimSpace(n) == name {
			return true
		}
	}
	return false
}

func writeFile(t *testing.T, path string, write func(f *os.File) error) int64 {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := write(f); err != nil {
		t.Fatal(err)
	}
	fi, _ := f.Stat()
	f.Close()
	return fi.Size()
}

func TestPeakRSS(t *testing.T) {
	gotune := testproc.Build(t, ".")
	target := testproc.Build(t, testproc.Target("craftedpprof"))
	dir := t.TempDir()
	report := func(name, input string, r run) {
		t.Helper()
		t.Logf("%-28s input %-40s exit %d  peak RSS %-9s wall %s\n\t%s", name, input, r.exit,
			measurement.Bytes(float64(r.peak)), r.wall.Round(100*time.Millisecond), firstLine(r.stderr+"\n"+r.stdout))
		if r.peak > peakBudget {
			t.Errorf("%s: peak RSS %s, over the 1 GB budget", name, measurement.Bytes(float64(r.peak)))
		}
	}
	// serve writes each kind's profile of samples samples (the test's
	// memory stays small: they stream to files) and serves them.
	serve := func(samples string) (*testproc.Proc, string) {
		pdir := filepath.Join(dir, "profiles-"+samples)
		os.MkdirAll(pdir, 0o700)
		for kind, types := range kindTypes {
			writeFile(t, filepath.Join(pdir, kind+".pb.gz"), func(f *os.File) error {
				_, err := crafted.Profile{Samples: atoi(samples), Stacks: 64, ValueRange: 64, Level: 6, Types: types, Seed: uint64(len(kind))}.WriteTo(f)
				return err
			})
		}
		p := testproc.StartWith(t, target, testproc.Options{WaitReady: true}, "-dir", pdir)
		f := strings.Fields(p.FirstLine) // ready PID ADDR HEAPBYTES
		return p, "http://" + f[2] + " (" + samples + " samples, heap " + measurement.Bytes(float64(atoi(f[3]))) + " gzipped)"
	}

	// 3 M samples in about 11 MB of gzip, every profile endpoint (the
	// issue: advise 2.7 GB, snapshot 4.7 GB).
	if wanted("3M") {
		p, desc := serve("3000000")
		url := "http://" + strings.Fields(p.FirstLine)[2]
		report("advise, 3M samples", desc, runGotune(t, gotune, "advise", url, "--window", "2s", "--cpu-profile", "1s"))
		report("snapshot, 3M samples", desc, runGotune(t, gotune, "snapshot", url, "--window", "2s", "-o", filepath.Join(dir, "3m.gotune")))
		p.Kill()
	}
	// The largest profiles the budgets accept: 1.9 M samples on every
	// endpoint, each decoded.
	if wanted("1.9M") {
		p, desc := serve("1900000")
		url := "http://" + strings.Fields(p.FirstLine)[2]
		report("advise, 1.9M samples", desc, runGotune(t, gotune, "advise", url, "--window", "2s", "--cpu-profile", "1s"))
		snap := filepath.Join(dir, "1.9m.gotune")
		report("snapshot, 1.9M samples", desc, runGotune(t, gotune, "snapshot", url, "--window", "2s", "-o", snap))
		p.Kill()
		if _, err := os.Stat(snap); err == nil {
			report("diff, 1.9M snapshots", snap+" twice", runGotune(t, gotune, "diff", snap, snap, "--format", "text"))
		}
	}
	// About 25 MB of gzip (the issue: advise 5.3 GB), read from a file.
	if wanted("25MB") {
		path := filepath.Join(dir, "25mb.pb.gz")
		n := writeFile(t, path, func(f *os.File) error {
			_, err := crafted.Profile{Samples: 4_700_000, Stacks: 64, ValueRange: 64, Level: 6, Types: []string{"alloc_objects", "alloc_space", "inuse_objects", "inuse_space"}}.WriteTo(f)
			return err
		})
		report("top, 25 MB profile", measurement.Bytes(float64(n))+" gzip, 4.7M samples", runGotune(t, gotune, "top", path))
	}
	// A 480 MiB string table (the issue: 0.5–1.9 GB).
	if wanted("strings") {
		path := filepath.Join(dir, "strings.pb.gz")
		n := writeFile(t, path, func(f *os.File) error {
			_, err := crafted.Profile{Samples: 10, StringBytes: 480 << 20}.WriteTo(f)
			return err
		})
		report("top, 480 MiB string table", measurement.Bytes(float64(n))+" gzip", runGotune(t, gotune, "top", path))
		// Within the budgets: 120 MiB of strings.
		path = filepath.Join(dir, "strings120.pb.gz")
		n = writeFile(t, path, func(f *os.File) error {
			_, err := crafted.Profile{Samples: 10, StringBytes: 120 << 20}.WriteTo(f)
			return err
		})
		report("top, 120 MiB string table", measurement.Bytes(float64(n))+" gzip", runGotune(t, gotune, "top", path))
	}
	// Six 511 MiB entries in a 3 MB file (the issue: diff 8.7 GB).
	if wanted("six") {
		var es []crafted.SnapshotEntry
		for _, k := range []string{"heap", "allocs", "goroutine", "mutex", "block", "threadcreate"} {
			es = append(es, crafted.SnapshotEntry{Name: "profiles/" + k + ".pb.gz", Kind: "profile", Profile: k, Size: 511 << 20})
		}
		path := filepath.Join(dir, "six.gotune")
		n := writeFile(t, path, func(f *os.File) error {
			_, err := crafted.Snapshot{Format: "gotune-snapshot", Version: 2, Entries: es}.WriteTo(f)
			return err
		})
		report("diff, six 511 MiB entries", measurement.Bytes(float64(n))+" file, twice", runGotune(t, gotune, "diff", path, path, "--format", "text"))
	}
	// A 500 MB series (the issue: 17 MB file, 6.3 GB), and one within
	// the JSON entry budget but not its decoded estimate.
	if wanted("series") {
		for _, c := range []struct {
			name         string
			points, keys int
		}{{"500 MB series", 300_000, 200}, {"60 MB series", 30_000, 200}, {"20 MB series", 12_000, 200}} {
			series := crafted.SeriesJSON(c.points, c.keys)
			path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "")+".gotune")
			n := writeFile(t, path, func(f *os.File) error {
				_, err := crafted.Snapshot{Format: "gotune-snapshot", Version: 2, Entries: []crafted.SnapshotEntry{{Name: "series.json", Kind: "series", Data: series}}}.WriteTo(f)
				return err
			})
			desc := measurement.Bytes(float64(n)) + " file, " + measurement.Bytes(float64(len(series))) + " series"
			series = nil
			report("diff, "+c.name, desc, runGotune(t, gotune, "diff", path, path, "--format", "text"))
			report("report, "+c.name, desc, runGotune(t, gotune, "report", path, "-o", filepath.Join(dir, "r.md")))
		}
	}
	// Goroutine dumps over the size budget and near the frames budget.
	if wanted("dump") {
		for _, n := range []int{200_000, 160_000} {
			path := filepath.Join(dir, "dump.txt")
			size := writeFile(t, path, func(f *os.File) error {
				_, err := crafted.GoroutineDump(f, n, 10)
				return err
			})
			report(fmt.Sprintf("goroutines, %dk dump", n/1000), measurement.Bytes(float64(size))+fmt.Sprintf(" text, %.1fM frames", float64(n*10)/1e6), runGotune(t, gotune, "goroutines", path))
		}
	}
}

// kindTypes are each pprof endpoint's sample types, as craftedpprof's.
var kindTypes = map[string][]string{
	"heap":         {"alloc_objects", "alloc_space", "inuse_objects", "inuse_space"},
	"allocs":       {"alloc_objects", "alloc_space", "inuse_objects", "inuse_space"},
	"goroutine":    {"goroutine"},
	"threadcreate": {"threadcreate"},
	"mutex":        {"contentions", "delay"},
	"block":        {"contentions", "delay"},
	"profile":      {"samples", "cpu"},
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}
