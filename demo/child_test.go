//go:build linux

package demo

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gotune/gotune/internal/testproc"
)

// smallChildArgs keep the child light: tests run on 2 CPUs next to others.
// They go through Config.Args, so the tests also check that a child parses
// what a parent renders.
var smallChildArgs = Config{
	AllocRate:            4 << 20,
	Workers:              1,
	CacheBytes:           4 << 20,
	LeakEvery:            100 * time.Millisecond,
	MutexWorkers:         2,
	MutexProfileFraction: 5,
}.Args()

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// testBinaries builds testdata/targets/demochild (a stand-in for `gotune
// demo --serve`) and testdata/targets/demoparent once per test run.
func testBinaries(t *testing.T) (child, parent string) {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "gotune-demo-test-")
		if buildErr != nil {
			return
		}
		gocmd := filepath.Join(runtime.GOROOT(), "bin", "go")
		for _, name := range []string{"demochild", "demoparent"} {
			cmd := exec.Command(gocmd, "build", "-o", filepath.Join(binDir, name), "./testdata/targets/"+name)
			cmd.Dir = ".."
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = errors.New("go build " + name + ": " + err.Error() + "\n" + string(out))
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, "demochild"), filepath.Join(binDir, "demoparent")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// alive reports whether pid runs: it exists and is not a zombie (an orphan
// whose new parent has not reaped it yet has exited all the same).
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	s := string(stat)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z' && s[i+2] != 'X'
	}
	return true
}

// killAtEnd makes sure pid is gone when the test ends, whatever happened.
func killAtEnd(t *testing.T, pid int) {
	t.Cleanup(func() {
		if alive(pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
}

func TestStartChild(t *testing.T) {
	child, _ := testBinaries(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := StartChild(ctx, child, smallChildArgs, append(os.Environ(), "GOGC=150"))
	if err != nil {
		t.Fatal(err)
	}
	killAtEnd(t, c.PID)
	if !strings.HasPrefix(c.URL, "http://127.0.0.1:") {
		t.Errorf("child URL %q, want http://127.0.0.1:PORT", c.URL)
	}
	hc := &http.Client{Timeout: testproc.MinWait}
	defer hc.CloseIdleConnections()
	doc, m := agentMetrics(t, hc, c.URL)
	if doc.PID != c.PID {
		t.Errorf("agent at %s reports pid %d, child PID is %d", c.URL, doc.PID, c.PID)
	}
	if gogc := m["/gc/gogc:percent"]; gogc != 150 {
		t.Errorf("child runs with GOGC %.0f, want 150 from its environment", gogc)
	}
	if err := c.Stop(); err != nil {
		t.Errorf("Stop = %v, want a clean exit", err)
	}
	select {
	case <-c.Done():
	default:
		t.Error("Done not closed after Stop returned")
	}
	if err := c.Wait(); err != nil {
		t.Errorf("Wait after Stop = %v, want nil (exit status 0)", err)
	}
	if alive(c.PID) {
		t.Errorf("child %d still running after Stop", c.PID)
	}
	if err := c.Stop(); err != nil {
		t.Errorf("second Stop = %v, want the first result (nil)", err)
	}
}

func TestStartChildStoppedByContext(t *testing.T) {
	child, _ := testBinaries(t)
	ctx, cancel := context.WithCancel(context.Background())
	c, err := StartChild(ctx, child, smallChildArgs, nil)
	if err != nil {
		t.Fatal(err)
	}
	killAtEnd(t, c.PID)
	cancel()
	select {
	case <-c.Done():
	case <-time.After(DefaultStopTimeout + 5*time.Second):
		t.Fatalf("child %d still running after its context was cancelled", c.PID)
	}
	if err := c.Wait(); err != nil {
		t.Errorf("Wait = %v, want a clean exit on SIGTERM", err)
	}
}

func TestStartChildReportsEarlyExit(t *testing.T) {
	child, _ := testBinaries(t)
	_, err := StartChild(context.Background(), child, []string{"--no-such-flag"}, nil)
	if err == nil {
		t.Fatal("StartChild with a bad flag = nil error, want the child's failure")
	}
	for _, want := range []string{"exited before printing its URL", "exit status 1", "unknown flag: --no-such-flag"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}

	_, err = ChildSpec{Exe: filepath.Join(t.TempDir(), "missing")}.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("StartChild of a missing binary = %v, want an error naming it", err)
	}
}

func TestStartChildTimeout(t *testing.T) {
	// A child that never prints its URL: a shell script that sleeps.
	script := filepath.Join(t.TempDir(), "silent")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho starting >&2\nexec sleep 60\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := ChildSpec{Exe: script, StartTimeout: 500 * time.Millisecond}.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "no URL on its stdout within 500ms") || !strings.Contains(err.Error(), "starting") {
		t.Errorf("StartChild of a silent child = %v, want a timeout error with its stderr", err)
	}
}

// TestChildDiesWithParent kills the parent with SIGKILL (no chance to clean
// up) and checks the child goes too: by the parent-death signal, and by the
// pipe alone when the death signal is off.
func TestChildDiesWithParent(t *testing.T) {
	child, parent := testBinaries(t)
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"death signal and pipe", nil},
		{"pipe only", []string{"--no-death-signal"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := append(append(tt.args, child), smallChildArgs...)
			cmd := exec.Command(parent, args...)
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
			})
			line, err := bufio.NewReader(stdout).ReadString('\n')
			if err != nil {
				t.Fatalf("read parent output: %v (stderr: %s)", err, stderr.String())
			}
			fields := strings.Fields(line)
			if len(fields) != 2 {
				t.Fatalf("parent printed %q, want \"PID URL\"", line)
			}
			pid, err := strconv.Atoi(fields[0])
			if err != nil {
				t.Fatalf("parent printed %q: %v", line, err)
			}
			killAtEnd(t, pid)
			hc := &http.Client{Timeout: testproc.MinWait}
			defer hc.CloseIdleConnections()
			if doc, _ := agentMetrics(t, hc, fields[1]); doc.PID != pid {
				t.Fatalf("agent at %s reports pid %d, want the child %d", fields[1], doc.PID, pid)
			}

			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			_ = cmd.Wait()
			// WatchParent gives the child parentGoneGrace to shut down
			// cleanly; Serve needs well under a second.
			eventually(t, 15*time.Second, "child exits after its parent is killed", func() (bool, string) {
				return !alive(pid), "child " + strconv.Itoa(pid) + " still running"
			})
		})
	}
}

func TestWatchParent(t *testing.T) {
	if got := WatchParent(context.Background()); got != context.Background() {
		t.Error("WatchParent without " + ParentFDEnv + " returned a new context")
	}

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	exited := make(chan int, 1)
	exitProcess = func(code int) { exited <- code }
	parentGoneGrace = 50 * time.Millisecond
	t.Cleanup(func() { exitProcess, parentGoneGrace = os.Exit, 5*time.Second })
	// WatchParent owns the descriptor it is given: hand it a duplicate so
	// r's own Close does not close it a second time.
	fd, err := syscall.Dup(int(r.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	t.Setenv(ParentFDEnv, strconv.Itoa(fd))
	ctx := WatchParent(context.Background())
	if _, set := os.LookupEnv(ParentFDEnv); set {
		t.Error(ParentFDEnv + " still set after WatchParent: the child's own children would inherit it")
	}
	select {
	case <-ctx.Done():
		t.Fatal("context done while the parent end is open")
	case <-time.After(100 * time.Millisecond):
	}
	w.Close()
	select {
	case <-ctx.Done():
	case <-time.After(testproc.MinWait):
		t.Fatal("context not done after the parent end closed")
	}
	select {
	case code := <-exited:
		if code != 1 {
			t.Errorf("exit code %d, want 1", code)
		}
	case <-time.After(testproc.MinWait):
		t.Fatal("no forced exit after the grace period")
	}
}
