// Package discovertest builds and starts the real target processes that
// gotune's attach and discovery tests run against (testdata/targets/*), the
// way net/http/httptest starts servers. Every process it starts is killed
// and reaped when the test ends.
package discovertest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Targets under testdata/targets/ (see each main.go).
const (
	GopsAgent   = "gopsagent"   // gops agent, port file in $GOPS_CONFIG_DIR
	PprofServer = "pprofserver" // net/http/pprof on 127.0.0.1:0
	GotuneAgent = "gotuneagent" // gotune agent on 127.0.0.1:0
	PlainSleep  = "plainsleep"  // no agent, no server
	OldGoMod    = "oldgomod"    // DefaultGODEBUG containermaxprocs=0,updatemaxprocs=0
	HostFigures = "hostfigures" // 64 MiB resident, 4 locked threads, CPU use, two listeners
)

// ModuleRoot returns the directory holding gotune's go.mod, found upward
// from the test's working directory.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/gotune/gotune\n") {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("discovertest: gotune's go.mod not found above the working directory")
		}
		dir = parent
	}
}

// Build compiles testdata/targets/<name> into dir (t.TempDir() when "") and
// returns the binary's path.
func Build(t testing.TB, name, dir string) string {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	out := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", out, "./testdata/targets/"+name)
	cmd.Dir = ModuleRoot(t)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("discovertest: build %s: %v\n%s", name, err, b)
	}
	return out
}

// Proc is a started target.
type Proc struct {
	Cmd   *exec.Cmd
	PID   int
	Ready []string // fields of the "ready ..." line after "ready": pid, then address or port
}

// Addr is the address or port the target printed after its PID, or "".
func (p *Proc) Addr() string {
	if len(p.Ready) < 2 {
		return ""
	}
	return p.Ready[1]
}

// Options tune Start.
type Options struct {
	Env []string // added to the test process's environment
	// Credential runs the target as another user (root only); the binary's
	// directories must be reachable by that user (see ShareDir).
	Credential *Credential
	// WaitReady waits for a line starting with "ready"; false for programs
	// such as sleep(1) that print nothing.
	WaitReady bool
	// Argv0 replaces the program name the target sees (and /proc/PID/cmdline
	// shows) when not "".
	Argv0 string
}

// Start runs path with args and, when opts.WaitReady, waits up to 30 s for
// its "ready" line. The process is killed and reaped at cleanup.
func Start(t testing.TB, path string, opts Options, args ...string) *Proc {
	t.Helper()
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), opts.Env...)
	if opts.Argv0 != "" {
		cmd.Args[0] = opts.Argv0
	}
	cmd.Stderr = os.Stderr
	if opts.Credential != nil {
		setCredential(t, cmd, opts.Credential)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("discovertest: start %s: %v", path, err)
	}
	p := &Proc{Cmd: cmd, PID: cmd.Process.Pid}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	if !opts.WaitReady {
		go drain(stdout)
		return p
	}
	ready := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) > 0 && f[0] == "ready" {
				ready <- f[1:]
				break
			}
		}
		close(ready)
		drain(stdout)
	}()
	select {
	case f, ok := <-ready:
		if !ok {
			t.Fatalf("discovertest: %s exited before printing ready", path)
		}
		p.Ready = f
	case <-time.After(30 * time.Second):
		t.Fatalf("discovertest: %s not ready after 30s", path)
	}
	if len(p.Ready) == 0 || p.Ready[0] != fmt.Sprint(p.PID) {
		t.Fatalf("discovertest: %s printed ready %v, want its PID %d first", path, p.Ready, p.PID)
	}
	return p
}

func drain(r interface{ Read([]byte) (int, error) }) {
	buf := make([]byte, 4096)
	for {
		if _, err := r.Read(buf); err != nil {
			return
		}
	}
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
