package demo

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ParentFDEnv names the environment variable through which StartChild tells
// the child which file descriptor is its end of the parent pipe.
const ParentFDEnv = "GOTUNE_PARENT_FD"

// Defaults of ChildSpec.
const (
	DefaultStartTimeout = 15 * time.Second // building a 64 MiB cache takes well under 1 s
	DefaultStopTimeout  = 5 * time.Second  // Serve's own shutdown grace is 3 s
)

// ChildSpec describes a workload child process. Most callers use StartChild.
type ChildSpec struct {
	Exe  string   // the binary, usually os.Executable()
	Args []string // appended after "demo --serve 127.0.0.1:0"
	Env  []string // the child's environment; nil means os.Environ()

	StartTimeout time.Duration // for the child to print its URL; 0 = DefaultStartTimeout
	StopTimeout  time.Duration // for the child to exit after SIGTERM; 0 = DefaultStopTimeout

	// NoDeathSignal leaves out the Linux parent-death signal, so the child
	// relies on the parent pipe alone (tests of that path use it).
	NoDeathSignal bool
}

// Child is a running workload child process.
type Child struct {
	URL string // base URL of its pprof and agent server, e.g. http://127.0.0.1:40123
	PID int

	cmd         *exec.Cmd
	parentPipe  *os.File // our end of the pipe the child watches; never written
	output      *tailBuffer
	stopTimeout time.Duration
	done        chan struct{}
	waitErr     error
	stopOnce    sync.Once
	stopErr     error
}

// StartChild runs `exe demo --serve 127.0.0.1:0 args...` with environment
// env (nil = os.Environ()) and returns once the child has printed its base
// URL. The child never outlives this process: on Linux it gets SIGKILL when
// the parent dies (Pdeathsig), and everywhere it exits when its end of a
// pipe from the parent reports EOF (see WatchParent). When ctx is done the
// child is stopped as by Stop.
func StartChild(ctx context.Context, exe string, args []string, env []string) (*Child, error) {
	return ChildSpec{Exe: exe, Args: args, Env: env}.Start(ctx)
}

// Start runs the child described by s; see StartChild.
func (s ChildSpec) Start(ctx context.Context) (*Child, error) {
	if s.StartTimeout <= 0 {
		s.StartTimeout = DefaultStartTimeout
	}
	if s.StopTimeout <= 0 {
		s.StopTimeout = DefaultStopTimeout
	}
	env := s.Env
	if env == nil {
		env = os.Environ()
	}
	pipeR, pipeW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("demo: start child: parent pipe: %w", err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		pipeR.Close()
		pipeW.Close()
		return nil, fmt.Errorf("demo: start child: stdout pipe: %w", err)
	}

	args := append([]string{"demo", "--serve", "127.0.0.1:0"}, s.Args...)
	cmd := exec.Command(s.Exe, args...)
	// ExtraFiles[0] is fd 3 in the child.
	cmd.ExtraFiles = []*os.File{pipeR}
	cmd.Env = append(withoutVar(env, ParentFDEnv), ParentFDEnv+"=3")
	cmd.Stdout = outW
	output := newTailBuffer(8 << 10)
	cmd.Stderr = output
	// A grandchild holding stderr open must not make Wait hang.
	cmd.WaitDelay = time.Second
	cmd.SysProcAttr = childSysProcAttr(!s.NoDeathSignal)

	c := &Child{
		cmd:         cmd,
		parentPipe:  pipeW,
		output:      output,
		stopTimeout: s.StopTimeout,
		done:        make(chan struct{}),
	}
	started := make(chan error, 1)
	// The parent-death signal fires when the thread that forked the child
	// exits, not the process (golang/go#27505). Go may end a thread when a
	// goroutine locked to it exits, so fork from a locked thread that stays
	// alive, blocked in wait4, for as long as the child runs.
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		c.waitErr = cmd.Wait()
		close(c.done)
	}()
	err = <-started
	pipeR.Close() // the child has its copy; ours would hide the parent's death
	outW.Close()
	if err != nil {
		pipeW.Close()
		outR.Close()
		return nil, fmt.Errorf("demo: start child %s: %w", s.Exe, err)
	}
	c.PID = cmd.Process.Pid

	url, err := c.readURL(ctx, outR, s.StartTimeout)
	if err != nil {
		c.kill()
		return nil, fmt.Errorf("demo: start child %s (pid %d): %w%s", s.Exe, c.PID, err, c.stderrSuffix())
	}
	c.URL = url
	go func() {
		select {
		case <-ctx.Done():
			_ = c.Stop()
		case <-c.done:
		}
	}()
	return c, nil
}

// readURL reads the child's first stdout line, then keeps draining stdout
// into the output tail so the child never blocks on a full pipe.
func (c *Child) readURL(ctx context.Context, out *os.File, timeout time.Duration) (string, error) {
	type line struct {
		s   string
		err error
	}
	first := make(chan line, 1)
	go func() {
		defer out.Close()
		r := bufio.NewReader(out)
		s, err := r.ReadString('\n')
		first <- line{strings.TrimSpace(s), err}
		if err == nil {
			_, _ = io.Copy(c.output, r)
		}
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case l := <-first:
		if l.err != nil {
			// EOF on stdout: the child is exiting; collect its status.
			select {
			case <-c.done:
				return "", fmt.Errorf("exited before printing its URL: %v", c.waitErr)
			case <-timer.C:
				return "", errors.New("closed its stdout without printing its URL")
			}
		}
		if !strings.HasPrefix(l.s, "http://") && !strings.HasPrefix(l.s, "https://") {
			return "", fmt.Errorf("first line of output is %q, want its base URL", l.s)
		}
		return l.s, nil
	case <-timer.C:
		return "", fmt.Errorf("no URL on its stdout within %s", timeout)
	case <-ctx.Done():
		return "", fmt.Errorf("waiting for its URL: %w", ctx.Err())
	}
}

// Done is closed when the child has exited.
func (c *Child) Done() <-chan struct{} { return c.done }

// Wait waits for the child to exit and returns its exit status as
// exec.Cmd.Wait does.
func (c *Child) Wait() error {
	<-c.done
	return c.waitErr
}

// Output returns the last few KiB the child wrote to stderr (and to stdout
// after its URL), for error messages.
func (c *Child) Output() string { return c.output.String() }

// Stop asks the child to exit with SIGTERM, waits up to the stop timeout,
// then kills it. It returns nil when the child exited cleanly, an error
// saying what happened otherwise. Calling it again returns the same result.
func (c *Child) Stop() error {
	c.stopOnce.Do(func() { c.stopErr = c.stop() })
	return c.stopErr
}

func (c *Child) stop() error {
	defer c.parentPipe.Close()
	select {
	case <-c.done:
		return c.exitError("had already exited")
	default:
	}
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		c.kill()
		return fmt.Errorf("demo: stop child (pid %d): SIGTERM: %w", c.PID, err)
	}
	timer := time.NewTimer(c.stopTimeout)
	defer timer.Stop()
	select {
	case <-c.done:
		return c.exitError("on SIGTERM")
	case <-timer.C:
		c.kill()
		return fmt.Errorf("demo: stop child (pid %d): still running %s after SIGTERM, killed%s", c.PID, c.stopTimeout, c.stderrSuffix())
	}
}

func (c *Child) exitError(when string) error {
	if c.waitErr == nil {
		return nil
	}
	return fmt.Errorf("demo: child (pid %d) %s: %w%s", c.PID, when, c.waitErr, c.stderrSuffix())
}

// kill sends SIGKILL and waits for the child to be reaped.
func (c *Child) kill() {
	_ = c.cmd.Process.Kill()
	<-c.done
	c.parentPipe.Close()
}

func (c *Child) stderrSuffix() string {
	s := strings.TrimSpace(c.output.String())
	if s == "" {
		return ""
	}
	return "; its output ends with:\n" + s
}

// WatchParent is for the child side of StartChild. If ParentFDEnv is set it
// returns a context that is cancelled when the parent process goes away (its
// end of the pipe closes), so the child shuts down cleanly; if the process is
// still running a few seconds later, it exits with status 1. Without
// ParentFDEnv it returns ctx unchanged. It unsets ParentFDEnv so processes
// the child starts do not inherit it. Call it once, early in main.
func WatchParent(ctx context.Context) context.Context {
	v, ok := os.LookupEnv(ParentFDEnv)
	if !ok {
		return ctx
	}
	os.Unsetenv(ParentFDEnv)
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return ctx
	}
	f := os.NewFile(uintptr(fd), "gotune-parent-pipe")
	if f == nil {
		return ctx
	}
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		defer f.Close()
		_, _ = io.Copy(io.Discard, f) // the parent never writes: this returns on EOF
		cancel()
		time.AfterFunc(parentGoneGrace, func() { exitProcess(1) })
	}()
	return ctx
}

// parentGoneGrace is how long a child whose parent died has to shut down
// cleanly before WatchParent exits the process.
var parentGoneGrace = 5 * time.Second

// exitProcess is os.Exit; tests of WatchParent replace it.
var exitProcess = os.Exit

// withoutVar returns env without entries for name.
func withoutVar(env []string, name string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
