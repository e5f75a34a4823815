package profile

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/golden"
)

func readDump(t testing.TB, path string) []Goroutine {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	gs, err := ParseGoroutineDumpBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	return gs
}

func TestParseGoroutineDumpFormats(t *testing.T) {
	t.Run("go1.17 panic, no creator goroutine", func(t *testing.T) {
		gs := readDump(t, "testdata/dumps/go1.17_panic.txt")
		if len(gs) != 4 {
			t.Fatalf("%d goroutines, want 4", len(gs))
		}
		g := gs[1]
		if g.ID != 6 || g.State != "chan receive" || g.WaitMinutes != 12 || g.CreatorID != 0 {
			t.Errorf("goroutine 6 = %+v", g)
		}
		if g.CreatedBy == nil || g.CreatedBy.Func != "main.main" || g.CreatedBy.File != "/home/u/app/main.go" || g.CreatedBy.Line != 9 {
			t.Errorf("created by = %+v", g.CreatedBy)
		}
		if len(g.Frames) != 1 || g.Frames[0] != (Frame{"main.worker", "0xc00001e0c0", "/home/u/app/main.go", 20}) {
			t.Errorf("frames = %+v", g.Frames)
		}
		if s := gs[3]; s.State != "syscall" || !s.LockedToThread || s.WaitMinutes != 40 {
			t.Errorf("goroutine 8 = %+v", s)
		}
		groups := GroupGoroutines(gs, GroupOptions{ExactArgs: true})
		if len(groups) != 4 {
			t.Errorf("%d groups with exact args, want 4 (the workers' args differ)", len(groups))
		}
		groups = GroupGoroutines(gs, GroupOptions{})
		if len(groups) != 3 || groups[0].Count != 2 || groups[0].MinWait != 3 || groups[0].MaxWait != 12 {
			t.Errorf("groups ignoring args = %+v", groups)
		}
	})
	t.Run("go1.23 GOTRACEBACK=system", func(t *testing.T) {
		gs := readDump(t, "testdata/dumps/go1.23_system.txt")
		if len(gs) != 5 {
			t.Fatalf("%d goroutines, want 5", len(gs))
		}
		if g := gs[0]; g.ID != 1 || g.State != "running" || !g.LockedToThread || g.Frames[0].Line != 26 || g.Frames[0].File != "/usr/local/go/src/runtime/debug/stack.go" {
			t.Errorf("goroutine 1 = %+v", g)
		}
		if g := gs[1]; g.State != "force gc (idle)" || g.CreatorID != 1 || len(g.Frames) != 4 || g.Frames[1].Args != "..." {
			t.Errorf("goroutine 2 = %+v", g)
		}
		if g := gs[4]; g.State != "running" || len(g.Frames) != 0 || g.CreatedBy == nil {
			t.Errorf("goroutine 20 (stack unavailable) = %+v", g)
		}
		groups := GroupGoroutines(gs, GroupOptions{})
		if groups[0].Count != 2 || groups[0].State != "GC worker (idle)" || groups[0].IDs[0] != 18 {
			t.Errorf("largest group = %+v", groups[0])
		}
	})
	t.Run("go1.26 states", func(t *testing.T) {
		gs := readDump(t, "testdata/dumps/go1.26_mixed.txt")
		want := []struct {
			state string
			wait  int
		}{{"running", 0}, {"sync.Mutex.Lock", 2}, {"sync.Mutex.Lock", 0}, {"chan receive (nil chan)", 0}, {"select (no cases)", 7}, {"chan receive (durable)", 1}, {"chan send", 61}}
		if len(gs) != len(want) {
			t.Fatalf("%d goroutines, want %d", len(gs), len(want))
		}
		for i, w := range want {
			if gs[i].State != w.state || gs[i].WaitMinutes != w.wait {
				t.Errorf("goroutine %d: state %q wait %d, want %q %d", gs[i].ID, gs[i].State, gs[i].WaitMinutes, w.state, w.wait)
			}
		}
		if g := gs[1]; g.Frames[2].Func != "main.(*Cache).Get" || g.Frames[2].Args != "0xc0000a2000, {0x4e1f2a, 0x3}" {
			t.Errorf("method frame = %+v", g.Frames[2])
		}
		if g := gs[5]; g.Frames[0].Func != "main.synctestWaiter[...]" {
			t.Errorf("generic frame = %+v", g.Frames[0])
		}
		if g := gs[6]; !g.Elided || len(g.Frames) != 3 {
			t.Errorf("elided goroutine = %+v", g)
		}
		groups := GroupGoroutines(gs, GroupOptions{})
		if groups[0].Count != 2 || groups[0].State != "sync.Mutex.Lock" || groups[0].MinWait != 0 || groups[0].MaxWait != 2 {
			t.Errorf("mutex group = %+v", groups[0])
		}
	})
}

func TestParseGoroutineDumpGarbage(t *testing.T) {
	for _, in := range []string{"", "hello", "goroutine", "goroutine x [running]:", "goroutine 1 running", "\x00\x01\x02"} {
		if _, err := ParseGoroutineDumpBytes([]byte(in)); err == nil {
			t.Errorf("%q: want an error", in)
		}
	}
	// Truncated in the middle of a frame: keep what is there.
	gs, err := ParseGoroutineDumpBytes([]byte("goroutine 5 [select]:\nmain.f(0x1"))
	if err != nil || len(gs) != 1 || gs[0].State != "select" {
		t.Errorf("truncated dump: %+v, %v", gs, err)
	}
}

// TestGoroutineGroupsFixtures checks the groups of the committed dump and
// profile against what profgen created (-n 100: 40 chan receive, half of them
// labelled, 30 select, 20 mutex, 10 sleep) and goldens the JSON.
func TestGoroutineGroupsFixtures(t *testing.T) {
	gs := readDump(t, fixtures+"/goroutine.txt")
	groups := GroupGoroutines(gs, GroupOptions{})
	checkParkedGroups(t, groups, 100, true)
	out, _ := json.MarshalIndent(groups, "", "  ")
	golden.RequireEqual(t, out)

	p := mustParseFile(t, fixtures+"/goroutine.pb.gz")
	pg, err := GoroutineGroupsFromProfile(p)
	if err != nil {
		t.Fatal(err)
	}
	checkParkedGroups(t, pg, 100, false)
	labelled := 0
	for _, g := range pg {
		if len(g.Labels) == 1 && g.Labels[0] == (Label{"worker", "labelled"}) {
			labelled += g.Count
		}
	}
	if labelled != 20 {
		t.Errorf("%d goroutines labelled worker=labelled in the profile, want 20", labelled)
	}
}

// checkParkedGroups checks the group counts of profgen's parkGoroutines(n).
func checkParkedGroups(t *testing.T, groups []GoroutineGroup, n int, withStates bool) {
	t.Helper()
	byFunc := map[string]int{}
	byState := map[string]int{}
	total := 0
	for _, g := range groups {
		total += g.Count
		byState[g.State] += g.Count
		for _, f := range g.Frames {
			if strings.HasPrefix(f.Func, "main.parkGoroutines.func") {
				byFunc[f.Func] += g.Count
			}
		}
	}
	want := map[string]int{
		"main.parkGoroutines.func1": n * 2 / 10, // labelled chan receive (pprof.Do)
		"main.parkGoroutines.func2": n * 2 / 10,
		"main.parkGoroutines.func3": n * 3 / 10,
		"main.parkGoroutines.func4": n * 2 / 10,
		"main.parkGoroutines.func5": n / 10,
	}
	for f, c := range want {
		if byFunc[f] != c {
			t.Errorf("%s: %d goroutines, want %d", f, byFunc[f], c)
		}
	}
	if total < n+1 {
		t.Errorf("%d goroutines in all, want at least %d", total, n+1)
	}
	if withStates {
		for s, c := range map[string]int{"chan receive": n * 4 / 10, "select": n * 3 / 10, "sync.Mutex.Lock": n * 2 / 10, "sleep": n / 10} {
			if byState[s] != c {
				t.Errorf("state %q: %d goroutines, want %d", s, byState[s], c)
			}
		}
	}
	if groups[0].Count != n*3/10 {
		t.Errorf("largest group has %d goroutines, want %d (select)", groups[0].Count, n*3/10)
	}
}

// TestGoroutineDump10k parses a real dump of a process with 10,000 parked
// goroutines and checks the groups against what the program created.
func TestGoroutineDump10k(t *testing.T) {
	if testing.Short() {
		t.Skip("runs profgen with 10,000 goroutines")
	}
	out := filepath.Join(t.TempDir(), "dump.txt")
	if b, err := exec.Command(profgen(t), "-kind", "goroutine-text", "-n", "10000", "-o", out).CombinedOutput(); err != nil {
		t.Fatalf("profgen: %v\n%s", err, b)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	gs, err := ParseGoroutineDumpBytes(data)
	parse := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	groups := GroupGoroutines(gs, GroupOptions{})
	all := time.Since(start)
	t.Logf("%d bytes, %d goroutines, %d groups: parse %v, parse+group %v", len(data), len(gs), len(groups), parse, all)
	checkParkedGroups(t, groups, 10000, true)
	if len(groups) != 6 {
		var b bytes.Buffer
		for _, g := range groups {
			b.WriteString(g.State + "\n")
		}
		t.Errorf("%d groups, want 6 (5 parked kinds + main):\n%s", len(groups), b.String())
	}
}

func BenchmarkParseGoroutineDump(b *testing.B) {
	data, err := os.ReadFile(fixtures + "/goroutine.txt")
	if err != nil {
		b.Fatal(err)
	}
	// Repeat the 101-goroutine fixture to about 10,000 goroutines.
	big := bytes.Repeat(append(data, '\n'), 100)
	b.SetBytes(int64(len(big)))
	for b.Loop() {
		gs, err := ParseGoroutineDumpBytes(big)
		if err != nil {
			b.Fatal(err)
		}
		GroupGoroutines(gs, GroupOptions{})
	}
}
