// Package testproc builds and starts real Go programs for tests: the targets
// under testdata/targets and gotune itself, the way net/http/httptest starts
// servers. Binaries are built once per test binary run; every started
// process is killed and reaped when its test ends. It is the one helper for
// real processes in every package's tests.
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

// Targets under testdata/targets/ (see each main.go), for Target.
const (
	GopsAgent   = "gopsagent"   // gops agent, port file in $GOPS_CONFIG_DIR
	PprofServer = "pprofserver" // net/http/pprof on 127.0.0.1:0
	GotuneAgent = "gotuneagent" // gotune agent on 127.0.0.1:0
	PlainSleep  = "plainsleep"  // no agent, no server
	OldGoMod    = "oldgomod"    // DefaultGODEBUG containermaxprocs=0,updatemaxprocs=0
	HostFigures = "hostfigures" // known RSS, threads, CPU and listening ports
	// Hostile: argv, profiles, labels, agent document and 500 bodies
	// carrying terminal escapes (internal/hostile); prints
	// "ready <pid> <url> <error-url>".
	Hostile = "hostile"
)

// Target is the package path of the target named name, for Build.
func Target(name string) string { return "./testdata/targets/" + name }

// BuildInto builds the target named name (see Target) and returns a copy of
// the binary in dir (the shared cached binary when dir is ""): tests that
// start targets as another user, or that need their own path, use a dir of
// their own.
func BuildInto(t testing.TB, name, dir string) string {
	t.Helper()
	bin := Build(t, Target(name))
	if dir == "" {
		return bin
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, name)
	if err := os.WriteFile(out, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return out
}

// Proc is a started process. It is reaped by testproc: wait for it with
// Kill or Wait, never with Cmd.Wait.
type Proc struct {
	Cmd *exec.Cmd
	PID int
	// FirstLine is the first line it printed (Start), or the "ready" line
	// (StartWith with WaitReady).
	FirstLine string
	// Ready holds the fields of a "ready ..." line after "ready": the PID,
	// then an address or port.
	Ready  []string
	Stderr *lockedBuffer
	done   chan struct{}
}

// Addr is the address or port the target printed after its PID, or "".
func (p *Proc) Addr() string {
	if len(p.Ready) < 2 {
		return ""
	}
	return p.Ready[1]
}

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
	return StartWith(t, bin, Options{Env: env, FirstLine: true}, args...)
}

// Options tune StartWith.
type Options struct {
	Env []string // added to the test process's environment
	// Credential runs the target as another user (root only); the binary's
	// directories must be reachable by that user (see ShareDir).
	Credential *Credential
	// FirstLine waits for the first stdout line; WaitReady for a line
	// starting with "ready" followed by the PID. Neither: programs such as
	// sleep(1) that print nothing.
	FirstLine, WaitReady bool
	// Argv0 replaces the program name the target sees (and /proc/PID/cmdline
	// shows) when not "".
	Argv0 string
}

// StartWith runs bin with args as opts says, and kills and reaps it at
// cleanup.
func StartWith(t testing.TB, bin string, opts Options, args ...string) *Proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), opts.Env...)
	if opts.Argv0 != "" {
		cmd.Args[0] = opts.Argv0
	}
	if opts.Credential != nil {
		setCredential(t, cmd, opts.Credential)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &Proc{Cmd: cmd, Stderr: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stderr = p.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	p.PID = cmd.Process.Pid
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(p.Kill)
	if !opts.FirstLine && !opts.WaitReady {
		go func() { _, _ = io.Copy(io.Discard, stdout) }()
		return p
	}
	lines := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		for {
			line, err := r.ReadString('\n')
			line = strings.TrimSpace(line)
			if opts.FirstLine || strings.HasPrefix(line, "ready") || err != nil {
				lines <- line
				break
			}
		}
		_, _ = io.Copy(io.Discard, r)
	}()
	const wait = 30 * time.Second
	select {
	case l := <-lines:
		if l == "" {
			t.Fatalf("%s printed no first line; stderr:\n%s", bin, p.Stderr.String())
		}
		p.FirstLine = l
	case <-time.After(wait):
		t.Fatalf("%s printed nothing within %s; stderr:\n%s", bin, wait, p.Stderr.String())
	}
	if opts.WaitReady {
		f := strings.Fields(p.FirstLine)
		if len(f) < 2 || f[0] != "ready" || f[1] != fmt.Sprint(p.PID) {
			t.Fatalf("%s printed %q, want \"ready %d ...\"", bin, p.FirstLine, p.PID)
		}
		p.Ready = f[1:]
	}
	return p
}

// StartMany starts n copies of bin that print a ready line (see
// Options.WaitReady), for tests and benchmarks of a box with many Go
// processes, and returns their PIDs.
func StartMany(t testing.TB, bin string, n int, opts Options, args ...string) map[int]bool {
	t.Helper()
	opts.WaitReady = true
	pids := make(map[int]bool, n)
	for range n {
		pids[StartWith(t, bin, opts, args...).PID] = true
	}
	return pids
}

// ShareDir makes dir and its parents up to (not including) the filesystem
// root traversable by every user, so a target started as another user can
// exec a binary built into a t.TempDir().
func ShareDir(t testing.TB, dir string) {
	t.Helper()
	for d := dir; d != "/" && d != "."; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o011 != 0o011 {
			if err := os.Chmod(d, fi.Mode().Perm()|0o011); err != nil {
				t.Fatal(err)
			}
		}
	}
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

// MinWait is the least a test waits for something before it fails: a
// limit is a guard against a hang, never a speed check. CI runs the suite
// under -race on a 2-core machine that may be busy, where a step that
// takes a second at rest has taken tens (a whole pair of suites once ran
// 2.4 times slower than the same pair an hour before).
const MinWait = 2 * time.Minute

// Eventually polls cond every 50 ms until it is true or d (at least
// MinWait) passes, then fails with msg. Tests use it instead of sleeping.
func Eventually(t testing.TB, d time.Duration, cond func() bool, msg string, args ...any) {
	t.Helper()
	d = max(d, MinWait)
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
