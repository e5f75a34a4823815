package gops_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/gotune/gotune/collectors/gops"
	"github.com/gotune/gotune/internal/testproc"
)

// startAgent runs the gopsagent target with its port file in a fresh dir.
func startAgent(t *testing.T, env ...string) (p *testproc.Proc, dir string, started time.Time) {
	t.Helper()
	bin := testproc.BuildInto(t, testproc.GopsAgent, "")
	dir = t.TempDir()
	started = time.Now().Add(-time.Second) // start time as /proc would report it: before exec
	p = testproc.StartWith(t, bin, testproc.Options{WaitReady: true, Env: append([]string{"GOPS_CONFIG_DIR=" + dir}, env...)})
	return p, dir, started
}

func TestRealAgent(t *testing.T) {
	p, dir, started := startAgent(t, "GOMAXPROCS=1", "GOGC=100")
	ctx := context.Background()

	a, err := gops.FindAgent(gops.Target{PID: p.PID, StartTime: started, UID: -1, Env: map[string]string{"GOPS_CONFIG_DIR": dir}})
	if err != nil {
		t.Fatal(err)
	}
	if want := "127.0.0.1:" + p.Addr(); a.Addr != want {
		t.Fatalf("FindAgent addr = %q, want %q (the port the target printed)", a.Addr, want)
	}
	if a.PortFile != filepath.Join(dir, strconv.Itoa(p.PID)) {
		t.Errorf("port file = %q", a.PortFile)
	}
	c := gops.NewClient(a.Addr)

	v, err := c.Version(ctx)
	if err != nil || v != runtime.Version() {
		t.Errorf("Version = %q, %v; want %q (built by the same toolchain)", v, err, runtime.Version())
	}

	st, err := c.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.GOMAXPROCS != 1 || st.NumCPU != runtime.NumCPU() || st.Goroutines < 2 || st.OSThreads < 1 {
		t.Errorf("Stats = %+v; want GOMAXPROCS 1 (from env), NumCPU %d, ≥2 goroutines", st, runtime.NumCPU())
	}

	m1, err := c.MemStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"alloc", "total-alloc", "sys", "heap-alloc", "heap-objects", "next-gc", "num-gc", "num-forced-gc", "last-gc", "gc-pause-total", "gc-cpu-fraction", "enable-gc"} {
		if !m1.Has(k) {
			t.Errorf("memstats reply lacks %q", k)
		}
	}
	if m1.HeapAlloc < 1<<20 || m1.Sys < m1.HeapSys || m1.HeapSys < m1.HeapInuse || m1.TotalAlloc < m1.HeapAlloc || m1.NextGC == 0 || !m1.EnableGC {
		t.Errorf("implausible memstats: %+v (the target keeps a 1 MiB buffer)", m1)
	}

	if err := c.GC(ctx); err != nil {
		t.Fatal(err)
	}
	m2, err := c.MemStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m2.NumForcedGC != m1.NumForcedGC+1 || m2.NumGC <= m1.NumGC {
		t.Errorf("after GC: forced %d→%d, total %d→%d; want one more forced cycle", m1.NumForcedGC, m2.NumForcedGC, m1.NumGC, m2.NumGC)
	}
	if m2.LastGC.IsZero() || time.Since(m2.LastGC) > time.Minute || m2.LastPauseEnd.IsZero() {
		t.Errorf("after GC: last-gc = %v, last pause end = %v; want just now", m2.LastGC, m2.LastPauseEnd)
	}

	prev, err := c.SetGC(ctx, 50)
	if err != nil || prev != 100 {
		t.Errorf("SetGC(50) = %d, %v; want previous 100 (GOGC=100)", prev, err)
	}
	prev, err = c.SetGC(ctx, -1) // negative varint: GC off
	if err != nil || prev != 50 {
		t.Errorf("SetGC(-1) = %d, %v; want previous 50", prev, err)
	}
	prev, err = c.SetGC(ctx, 300)
	if err != nil || prev != -1 {
		t.Errorf("SetGC(300) = %d, %v; want previous -1", prev, err)
	}

	stack, err := c.Stack(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(stack, []byte("goroutine 1 [")) || !bytes.Contains(stack, []byte("main.main()")) {
		t.Errorf("stack dump lacks goroutine 1 in main.main:\n%s", stack)
	}

	heap, err := c.HeapProfile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	prof, err := profile.ParseData(heap)
	if err != nil {
		t.Fatalf("heap profile does not parse: %v", err)
	}
	if len(prof.SampleType) != 4 || prof.SampleType[3].Type != "inuse_space" {
		t.Errorf("heap profile sample types = %v", prof.SampleType)
	}

	st, err = c.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.GOMAXPROCS != 1 || st.Goroutines < 2 {
		t.Errorf("Stats = %+v", st)
	}
}

// Concurrent calls are serialized by the client and all succeed.
func TestConcurrentCalls(t *testing.T) {
	p, dir, started := startAgent(t)
	a, err := gops.FindAgent(gops.Target{PID: p.PID, StartTime: started, UID: -1, Env: map[string]string{"GOPS_CONFIG_DIR": dir}})
	if err != nil {
		t.Fatal(err)
	}
	c := gops.NewClient(a.Addr)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			if _, err := c.Stats(context.Background()); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// fakeAgent accepts connections, records the request bytes (signal plus the
// varint for setgc) and answers with reply(signal).
type fakeAgent struct {
	ln   net.Listener
	mu   sync.Mutex
	got  [][]byte
	hold chan struct{} // when non-nil, never answer until closed
}

func newFakeAgent(t *testing.T, reply func(sig byte) []byte) *fakeAgent {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeAgent{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			r := bufio.NewReader(conn)
			sig, err := r.ReadByte()
			if err != nil {
				conn.Close()
				continue
			}
			req := []byte{sig}
			if sig == 0x10 {
				n, _ := binary.ReadVarint(r)
				req = binary.AppendVarint(req, n)
			}
			f.mu.Lock()
			f.got = append(f.got, req)
			hold := f.hold
			f.mu.Unlock()
			if hold != nil {
				<-hold
			}
			conn.Write(reply(sig))
			conn.Close()
		}
	}()
	return f
}

func (f *fakeAgent) requests() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([][]byte(nil), f.got...)
}

// Each call sends exactly the gops v0.3.29 signal byte (and setgc its
// signed varint), so CPU profile and trace bytes go out only from their
// own functions.
func TestSignalBytes(t *testing.T) {
	f := newFakeAgent(t, func(sig byte) []byte {
		switch sig {
		case 0x2:
			return []byte("ok")
		case 0x3:
			return []byte("heap-alloc: 10 bytes\n")
		case 0x7:
			return []byte("goroutines: 3\n")
		case 0x10:
			return []byte("New GC percent set to -7. Previous value was 100.\n")
		}
		return []byte("x")
	})
	c := gops.NewClient(f.ln.Addr().String())
	ctx := context.Background()
	calls := []struct {
		name string
		call func() error
		want []byte
	}{
		{"Stack", func() error { _, err := c.Stack(ctx); return err }, []byte{0x1}},
		{"GC", func() error { return c.GC(ctx) }, []byte{0x2}},
		{"MemStats", func() error { _, err := c.MemStats(ctx); return err }, []byte{0x3}},
		{"Version", func() error { _, err := c.Version(ctx); return err }, []byte{0x4}},
		{"HeapProfile", func() error { _, err := c.HeapProfile(ctx); return err }, []byte{0x5}},
		{"CPUProfile", func() error { _, err := c.CPUProfile(ctx); return err }, []byte{0x6}},
		{"Stats", func() error { _, err := c.Stats(ctx); return err }, []byte{0x7}},
		{"Trace", func() error { _, err := c.Trace(ctx); return err }, []byte{0x8}},
		{"SetGC", func() error { _, err := c.SetGC(ctx, -7); return err }, []byte{0x10, 13}}, // zigzag(-7) = 13
	}
	for i, tc := range calls {
		if err := tc.call(); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		got := f.requests()
		if len(got) != i+1 || !bytes.Equal(got[i], tc.want) {
			t.Fatalf("%s sent %v, want %v", tc.name, got[len(got)-1], tc.want)
		}
	}
}

// A busy or wedged agent (it serves one connection at a time) makes a call
// fail at its deadline, not hang.
func TestDeadline(t *testing.T) {
	f := newFakeAgent(t, func(byte) []byte { return []byte("late") })
	f.hold = make(chan struct{})
	t.Cleanup(func() { close(f.hold) })
	c := gops.NewClient(f.ln.Addr().String())
	c.Timeout = 200 * time.Millisecond
	start := time.Now()
	_, err := c.Stats(context.Background())
	// The bound catches a call that waits for the wedged agent (forever),
	// not a slow machine.
	if el := time.Since(start); err == nil || !errors.Is(err, context.DeadlineExceeded) || el > 30*time.Second {
		t.Fatalf("Stats on a wedged agent: %v after %v; want a deadline error after ~200ms", err, el)
	}
	if !strings.Contains(err.Error(), "one request at a time") {
		t.Errorf("error does not explain the agent is busy: %v", err)
	}
	// Cancellation unblocks too.
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	c.Timeout = time.Minute
	start = time.Now()
	// Well under the minute's timeout: the cancel ended it.
	if _, err := c.MemStats(ctx); err == nil || time.Since(start) > 30*time.Second {
		t.Fatalf("MemStats after cancel: %v after %v", err, time.Since(start))
	}
}

func TestReplyTooLarge(t *testing.T) {
	big := bytes.Repeat([]byte("a"), 200<<10)
	f := newFakeAgent(t, func(byte) []byte { return big })
	c := gops.NewClient(f.ln.Addr().String())
	if _, err := c.Version(context.Background()); !errors.Is(err, gops.ErrReplyTooLarge) {
		t.Fatalf("Version with a 200 KiB reply: %v, want ErrReplyTooLarge", err)
	}
}

func TestNoAgentListening(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = gops.NewClient(addr).Version(context.Background())
	if err == nil || !strings.Contains(err.Error(), "connect to agent at "+addr) {
		t.Fatalf("Version with nothing listening: %v", err)
	}
}

func TestStalePortFiles(t *testing.T) {
	bin := testproc.BuildInto(t, testproc.PlainSleep, "")
	started := time.Now().Add(-time.Second)
	live := testproc.StartWith(t, bin, testproc.Options{WaitReady: true})

	// A process that is gone: its PID has no /proc entry any more.
	gone := testproc.StartWith(t, bin, testproc.Options{WaitReady: true})
	gone.Kill()

	dir := t.TempDir()
	write := func(pid int, port string, mtime time.Time) {
		path := filepath.Join(dir, strconv.Itoa(pid))
		if err := os.WriteFile(path, []byte(port), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{"GOPS_CONFIG_DIR": dir}

	write(gone.PID, "4321", time.Now())
	_, err := gops.FindAgent(gops.Target{PID: gone.PID, UID: -1, Env: env})
	if !errors.Is(err, gops.ErrNoAgent) || !strings.Contains(err.Error(), "process not found") {
		t.Errorf("port file of a dead process: %v, want ErrNoAgent (process not found)", err)
	}

	write(live.PID, "4321", time.Now().Add(-time.Hour)) // left by an earlier process with this PID
	_, err = gops.FindAgent(gops.Target{PID: live.PID, StartTime: started, UID: -1, Env: env})
	if !errors.Is(err, gops.ErrNoAgent) || !strings.Contains(err.Error(), "before the process started") {
		t.Errorf("port file older than the process: %v, want ErrNoAgent (stale)", err)
	}

	write(live.PID, "4321", time.Now())
	_, err = gops.FindAgent(gops.Target{PID: live.PID, StartTime: started, UID: -1, Env: env, ListeningPorts: []int{6060}})
	if !errors.Is(err, gops.ErrNoAgent) || !strings.Contains(err.Error(), "port 4321 is not a listening socket") {
		t.Errorf("port file naming a port the process does not listen on: %v, want ErrNoAgent", err)
	}

	write(live.PID, "garbage", time.Now())
	if _, err = gops.FindAgent(gops.Target{PID: live.PID, StartTime: started, UID: -1, Env: env}); !errors.Is(err, gops.ErrNoAgent) {
		t.Errorf("port file with garbage: %v, want ErrNoAgent", err)
	}

	// The same file, fresh and naming a port it listens on, is accepted.
	write(live.PID, "4321\n", time.Now())
	a, err := gops.FindAgent(gops.Target{PID: live.PID, StartTime: started, UID: -1, Env: env, ListeningPorts: []int{4321}})
	if err != nil || a.Addr != "127.0.0.1:4321" {
		t.Errorf("fresh port file: %+v, %v", a, err)
	}

	// No file at all.
	if err := os.Remove(filepath.Join(dir, strconv.Itoa(live.PID))); err != nil {
		t.Fatal(err)
	}
	if _, err := gops.FindAgent(gops.Target{PID: live.PID, UID: -1, Env: env}); !errors.Is(err, gops.ErrNoAgent) {
		t.Errorf("no port file: %v", err)
	}
}

func TestPortFileDirs(t *testing.T) {
	t.Setenv("GOPS_CONFIG_DIR", "/ours")
	t.Setenv("XDG_CONFIG_HOME", "/xdg")
	got := gops.PortFileDirs(gops.Target{PID: 1, UID: -1, Env: map[string]string{"GOPS_CONFIG_DIR": "/theirs"}})
	want := []string{"/theirs", "/ours", "/xdg/gops"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("PortFileDirs = %v, want %v", got, want)
	}
	if os.Geteuid() == 0 {
		// As root, the owner's home is searched too: nobody's home per passwd.
		got = gops.PortFileDirs(gops.Target{PID: 1, UID: 65534})
		if len(got) < 3 || !strings.HasSuffix(got[len(got)-1], "/.config/gops") {
			t.Errorf("as root, PortFileDirs for uid 65534 = %v, want the owner's ~/.config/gops last", got)
		}
	}
}
