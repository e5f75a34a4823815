package trace

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/profile"
)

func TestWriteTextOnRealTrace(t *testing.T) {
	s := analyzeFile(t, caseTrace(t, "stw", caseDuration))
	var buf bytes.Buffer
	if err := WriteText(&buf, s); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"Execution trace: go 1.26 trace,",
		"Stop-the-world pauses: ",
		"GC sweep termination [GC ",
		"last to stop: G",
		"main.stwCase.func1",
		"Minimum mutator utilisation",
		"Scheduler latency (runnable → running):",
		"Time off the CPU, by reason",
		"GC: ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
	// The JSON form round-trips.
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back Summary
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Pauses.Count != s.Pauses.Count || back.Pauses.List[0].Duration != s.Pauses.List[0].Duration || len(back.MMU) != len(s.MMU) {
		t.Errorf("JSON round trip lost figures")
	}
	if !strings.Contains(string(b), `"pauses":{"count":`) || !strings.Contains(string(b), `"window_ns":1000000`) {
		t.Errorf("JSON field names changed: %.300s", b)
	}
}

// Names from the trace cannot drive the terminal.
func TestWriteTextSanitizes(t *testing.T) {
	evil := "main.\x1b]0;pwned\x07f\u202e"
	s := &Summary{Format: "go 1.26 trace", Duration: time.Second, GOMAXPROCS: 1,
		Pauses: Pauses{Count: 1, List: []Pause{{Reason: "read mem stats\x1b[2J", Duration: time.Millisecond,
			Stack:      []profile.Frame{{Func: evil, File: "/x/\x1b[31mevil.go", Line: 1}},
			Running:    []RunningGoroutine{{Goroutine: 2, Name: evil}},
			LastToStop: &RunningGoroutine{Goroutine: 2, Name: evil, StoppedAfter: time.Microsecond, Stack: []profile.Frame{{Func: evil}}},
			States:     GoroutineStates{Waiting: map[string]int{"chan\x1b[0m": 1}}}}},
		Blocking: Blocking{Reasons: []ReasonTotal{{Category: CatSync}}, Groups: []StackGroup{{Category: CatSync, State: "sync\x07", Frames: []profile.Frame{{Func: evil}}}}},
	}
	var buf bytes.Buffer
	if err := WriteText(&buf, s); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(buf.String(), "\x1b\x07\u202e") {
		t.Errorf("control characters reached the output:\n%q", buf.String())
	}
	if !strings.Contains(buf.String(), "pwned") {
		t.Errorf("the name should stay visible, made inert:\n%s", buf.String())
	}
}

func TestRankFiles(t *testing.T) {
	stw := caseTrace(t, "stw", caseDuration)
	lock := caseTrace(t, "lock", caseDuration)
	junk := filepath.Join(t.TempDir(), "junk.trace")
	if err := os.WriteFile(junk, []byte("not a trace at all, just text\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rs := RankFiles(context.Background(), []string{lock, junk, stw}, Options{})
	if len(rs) != 3 || rs[0].Name != stw || rs[1].Name != lock || rs[2].Name != junk {
		t.Fatalf("order %v, want stw, lock, junk", []string{rs[0].Name, rs[1].Name, rs[2].Name})
	}
	if rs[0].Worst == nil || rs[0].Worst.Duration < 10*time.Millisecond || rs[0].WorstGC == nil || rs[2].Err == "" {
		t.Errorf("entries %+v", rs)
	}
	if rs[0].Summary != nil {
		t.Error("RankFiles keeps whole summaries")
	}
	var buf bytes.Buffer
	if err := WriteRanking(&buf, rs); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"worst pause", "GC sweep termination", "not a Go execution trace", filepath.Base(stw)} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("ranking lacks %q:\n%s", want, buf.String())
		}
	}
}
