package profile

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/internal/testproc"
)

// TestMain lets the test binary stand in for gotune's commands in the
// side-by-side benchmark (GOTUNE_PROFILE_CMD=top|folded|flame|floor,
// GOTUNE_PROFILE_FILE=path): the same code `gotune top` and `gotune
// folded` run, measured as processes like go tool pprof.
func TestMain(m *testing.M) {
	if cmd := os.Getenv("GOTUNE_PROFILE_CMD"); cmd != "" {
		if err := runCommand(cmd, os.Getenv("GOTUNE_PROFILE_FILE")); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runCommand(cmd, file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	out := bufio.NewWriterSize(os.Stdout, 64<<10)
	defer out.Flush()
	if cmd == "floor" {
		sum, err := floorWalk(data)
		fmt.Fprintln(out, sum)
		return err
	}
	p, err := ParseBytes(data)
	if err != nil {
		return err
	}
	switch cmd {
	case "top": // gotune top FILE
		t, err := NewTop(p, TopOptions{NodeFraction: DefaultNodeFraction})
		if err != nil {
			return err
		}
		return t.WriteText(out, "")
	case "folded": // gotune folded FILE
		return WriteFolded(out, p, Options{})
	case "flame": // what the Flame screen needs for its first frame
		tr, err := NewTree(p, TreeOptions{MinFraction: DefaultTreeFraction})
		if err != nil {
			return err
		}
		t, err := NewTop(p, TopOptions{})
		if err != nil {
			return err
		}
		fmt.Fprintln(out, tr.Len(), len(t.Rows), tr.Peek(tr.Children(Root)[0]).Cum)
		return nil
	}
	return fmt.Errorf("unknown command %q", cmd)
}

// BenchmarkVersusPprof runs gotune's readers and go tool pprof side by side
// on generated heap profiles of deep, mostly unique stacks
// (testdata/targets/bigheap) and logs wall time, CPU time and peak RSS of
// each process:
//
//   - floor: one inflate and a bare protobuf walk of the file;
//   - gotune top vs go tool pprof -top;
//   - gotune folded vs go tool pprof -traces;
//   - flame: parse, trimmed tree, top table and one side-panel peek.
//
// It is a benchmark, not a test, because it takes minutes:
//
//	go test -run XXX -bench VersusPprof -benchtime 1x ./profile/
//
// GOTUNE_SPEED_SAMPLES lists the sample counts (default 100000,600000);
// GOTUNE_SPEED_RUNS the runs of each command (default 3, the fastest is
// kept: the machine is shared).
func BenchmarkVersusPprof(b *testing.B) {
	counts := []int{100000, 600000}
	if s := os.Getenv("GOTUNE_SPEED_SAMPLES"); s != "" {
		counts = counts[:0]
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(f)
			if err != nil {
				b.Fatal(err)
			}
			counts = append(counts, n)
		}
	}
	runs := 3
	if s := os.Getenv("GOTUNE_SPEED_RUNS"); s != "" {
		runs, _ = strconv.Atoi(s)
	}
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	pprofBin, err := exec.Command("go", "tool", "-n", "pprof").Output()
	if err != nil {
		b.Fatalf("locate go tool pprof: %v", err)
	}
	pprofPath := strings.TrimSpace(string(pprofBin))
	dir := b.TempDir()
	for b.Loop() {
		for _, n := range counts {
			prof := filepath.Join(dir, fmt.Sprintf("big%d.pb.gz", n))
			if _, err := os.Stat(prof); err != nil {
				buildAndRun(b, "../testdata/targets/bigheap", "-samples", strconv.Itoa(n), "-o", prof)
			}
			st, _ := os.Stat(prof)
			gotune := func(cmd string) testproc.Usage {
				return fastest(b, runs, func() testproc.Usage {
					return measure(b, []string{"GOTUNE_PROFILE_CMD=" + cmd, "GOTUNE_PROFILE_FILE=" + prof}, self)
				})
			}
			pprof := func(flag string) testproc.Usage {
				return fastest(b, runs, func() testproc.Usage { return measure(b, nil, pprofPath, flag, prof) })
			}
			floor := gotune("floor")
			rows := []struct {
				key, name string
				u         testproc.Usage
			}{
				{"floor", "floor (inflate + bare walk)", floor},
				{"top", "gotune top", gotune("top")},
				{"pprof-top", "go tool pprof -top", pprof("-top")},
				{"folded", "gotune folded", gotune("folded")},
				{"pprof-traces", "go tool pprof -traces", pprof("-traces")},
				{"flame", "flame screen data", gotune("flame")},
			}
			// Printed, not logged: the benchmark log is cut after a few
			// lines.
			fmt.Printf("%d samples (%.1f MB gzipped)         wall ms    cpu ms  max RSS MB\n", n, float64(st.Size())/(1<<20))
			for _, r := range rows {
				fmt.Printf("  %-32s %9.0f %9.0f %11.1f\n", r.name, ms(r.u.Wall), ms(r.u.CPU), r.u.RSSMB)
				b.ReportMetric(ms(r.u.Wall), fmt.Sprintf("%dk-%s-wall-ms", n/1000, r.key))
			}
			fmt.Printf("  gotune top / floor: wall %.2f, cpu %.2f\n", ms(rows[1].u.Wall)/ms(floor.Wall), ms(rows[1].u.CPU)/ms(floor.CPU))
			fmt.Printf("  gotune folded / go tool pprof -traces: wall %.2f, cpu %.2f\n", ms(rows[3].u.Wall)/ms(rows[4].u.Wall), ms(rows[3].u.CPU)/ms(rows[4].u.CPU))
		}
	}
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// fastest runs f n times and keeps the run with the least CPU time (the
// wall time and RSS of that run go with it).
func fastest(b *testing.B, n int, f func() testproc.Usage) testproc.Usage {
	b.Helper()
	var best testproc.Usage
	for i := range max(n, 1) {
		u := f()
		if i == 0 || u.CPU < best.CPU {
			best = u
		}
	}
	return best
}

func measure(b *testing.B, env []string, bin string, args ...string) testproc.Usage {
	b.Helper()
	return testproc.Measure(b, append([]string{"PPROF_TMPDIR=" + b.TempDir()}, env...), bin, args...)
}
