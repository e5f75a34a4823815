package gcstart

import (
	"math"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// The child reports its settings before and after the first collection:
// Defer must turn the collector off under a FirstAt limit, and the first
// collection must restore the runtime's defaults.
func TestDeferThenRestoreOnFirstGC(t *testing.T) {
	if os.Getenv("GCSTART_CHILD") == "1" {
		Defer()
		before := debug.SetGCPercent(-1)
		debug.SetGCPercent(before)
		lim := debug.SetMemoryLimit(-1)
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		gcs := ms.NumGC
		runtime.GC()
		// The cleanup runs on the runtime's cleanup goroutine after the
		// collection; give it all the time a busy machine needs.
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
			mu.Lock()
			d := deferred
			mu.Unlock()
			if !d {
				break
			}
			runtime.GC()
		}
		after := debug.SetGCPercent(-1)
		afterLim := debug.SetMemoryLimit(-1)
		if before != -1 || lim != FirstAt || gcs != 0 || after != 100 || afterLim != math.MaxInt64 {
			t.Fatalf("before: GOGC %d limit %d after %d GCs; after the first GC: GOGC %d limit %d", before, lim, gcs, after, afterLim)
		}
		return
	}
	inChild(t, "TestDeferThenRestoreOnFirstGC", "GCSTART_CHILD=1")
}

// With GOGC set, Defer changes nothing.
func TestDeferLeavesTheUsersGOGC(t *testing.T) {
	if os.Getenv("GCSTART_CHILD") == "2" {
		Defer()
		if g := debug.SetGCPercent(-1); g != 150 {
			t.Fatalf("GOGC %d, want the environment's 150", g)
		}
		return
	}
	inChild(t, "TestDeferLeavesTheUsersGOGC", "GCSTART_CHILD=2", "GOGC=150")
}

// Restore before the first collection ends the deferral for good: the
// collection's cleanup must not undo a setting made after it.
func TestRestoreThenLaterSettingsStay(t *testing.T) {
	if os.Getenv("GCSTART_CHILD") == "3" {
		Defer()
		Restore()
		debug.SetGCPercent(250)
		for range 3 {
			runtime.GC()
			runtime.Gosched()
		}
		if g := debug.SetGCPercent(-1); g != 250 {
			t.Fatalf("GOGC %d after the first GC, want the 250 set after Restore", g)
		}
		return
	}
	inChild(t, "TestRestoreThenLaterSettingsStay", "GCSTART_CHILD=3")
}

// inChild runs test name again in a child process with env added to this
// environment less GOGC and GOMEMLIMIT (Defer acts once per process).
func inChild(t *testing.T, name string, env ...string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run", "^"+name+"$", "-test.v")
	cmd.Env = append(withoutGC(os.Environ()), env...)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "PASS") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func withoutGC(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "GOGC=") && !strings.HasPrefix(kv, "GOMEMLIMIT=") {
			out = append(out, kv)
		}
	}
	return out
}
