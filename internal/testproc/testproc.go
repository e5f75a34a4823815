// Package testproc builds and starts real Go programs for tests: the targets
// under testdata/targets and gotune itself. Binaries are built once per test
// binary run; every started process is killed when its test ends.
package testproc

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	mu    sync.Mutex
	built = map[string]string{}
	dir   string
)

// ModuleRoot returns the directory holding go.mod.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Build compiles the package at pkg (a path relative to the module root,
// such as "./testdata/targets/metricsserver" or ".") and returns the binary.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if bin, ok := built[pkg]; ok {
		return bin
	}
	if dir == "" {
		removeStaleDirs()
		d, err := os.MkdirTemp("", "gotune-testbin-")
		if err != nil {
			t.Fatal(err)
		}
		dir = d
	}
	name := strings.Trim(strings.ReplaceAll(pkg, "/", "_"), "._")
	if name == "" {
		name = "gotune"
	}
	bin := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	cmd.Dir = ModuleRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	built[pkg] = bin
	return bin
}

// removeStaleDirs deletes binary folders that earlier test runs left (a
// test binary cannot remove its own when it exits): those over an hour old.
func removeStaleDirs() {
	old, _ := filepath.Glob(filepath.Join(os.TempDir(), "gotune-testbin-*"))
	for _, d := range old {
		if fi, err := os.Stat(d); err == nil && time.Since(fi.ModTime()) > time.Hour {
			os.RemoveAll(d)
		}
	}
}

// Proc is a started process whose first stdout line was read.
type Proc struct {
	Cmd       *exec.Cmd
	FirstLine string
	Stderr    *lockedBuffer
	done      chan struct{}
}

// PID returns the process ID.
func (p *Proc) PID() int { return p.Cmd.Process.Pid }

// Kill sends SIGKILL and waits for the process to be reaped.
func (p *Proc) Kill() {
	_ = p.Cmd.Process.Kill()
	<-p.done
}

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Wait waits up to d for the process to end and reports whether it did.
func (p *Proc) Wait(d time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(d):
		return false
	}
}

// Start runs bin with args and env (added to the test's environment),
// waits up to 20 s for its first stdout line, and kills it at cleanup.
func Start(t testing.TB, bin string, env []string, args ...string) *Proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &Proc{Cmd: cmd, Stderr: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stderr = p.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(p.Kill)
	lines := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		lines <- strings.TrimSpace(line)
		_, _ = io.Copy(io.Discard, r)
	}()
	select {
	case l := <-lines:
		if l == "" {
			t.Fatalf("%s printed no first line; stderr:\n%s", bin, p.Stderr.String())
		}
		p.FirstLine = l
	case <-time.After(20 * time.Second):
		t.Fatalf("%s printed nothing within 20s; stderr:\n%s", bin, p.Stderr.String())
	}
	return p
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Eventually polls cond every 50 ms until it is true or d passes, then
// fails with msg. Tests use it instead of sleeping.
func Eventually(t testing.TB, d time.Duration, cond func() bool, msg string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: "+msg, append([]any{d}, args...)...)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Must is a small helper for setup errors.
func Must(t testing.TB, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatal(fmt.Errorf("%s: %w", what, err))
	}
}
