package cli

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gotune/gotune/internal/testproc"
)

// syncBuffer is an output both the command and the test read while it
// runs.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startPprofOn starts the pprof-only target on addr once the port is free
// again (the kernel frees a killed process's port asynchronously).
func startPprofOn(t *testing.T, addr string) *testproc.Proc {
	t.Helper()
	deadline := time.Now().Add(testproc.MinWait)
	for {
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			ln.Close()
			return testproc.StartWith(t, testproc.BuildInto(t, testproc.PprofServer, ""), testproc.Options{WaitReady: true}, addr)
		}
		if time.Now().After(deadline) {
			t.Fatalf("port %s never became free: %v", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// gotune attach URL (--json and --plain) while the target restarts on the
// same port: the output says so once, with both PIDs, and goes on with
// the new process.
func TestAttachFollowsRestart(t *testing.T) {
	for _, mode := range []string{"--json", "--plain"} {
		t.Run(mode, func(t *testing.T) {
			addr := freeAddr(t)
			p1 := startPprofOn(t, addr)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var out, errb syncBuffer
			done := make(chan error, 1)
			go func() {
				done <- Run(ctx, []string{"attach", "http://" + addr, mode, "--interval", "250ms", "--duration", "3m"}, &out, &errb)
			}()
			testproc.Eventually(t, 60*time.Second, func() bool {
				o := out.String()
				if mode == "--plain" {
					i := strings.Index(o, "TIME ")
					return i >= 0 && strings.Count(o[i:], "\n") >= 3
				}
				return strings.Count(o, fmt.Sprintf(`"pid":%d,`, p1.PID)) >= 2
			}, "no records of pid %d:\n%s", p1.PID, &out)
			p1.Kill()
			p2 := startPprofOn(t, addr)
			marker := fmt.Sprintf("(PID %d → %d)", p1.PID, p2.PID)
			testproc.Eventually(t, 60*time.Second, func() bool {
				o := out.String()
				i := strings.Index(o, marker)
				return i >= 0 && strings.Count(o[i:], "\n") >= 4
			}, "no restart %s in the output:\n%s", marker, &out)
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("attach: %v\n%s", err, errb.String())
			}
			o := out.String()
			if n := strings.Count(o, "target restarted at"); n != 1 {
				t.Fatalf("%d restart notices, want 1:\n%s", n, o)
			}
			if mode == "--plain" {
				re := regexp.MustCompile(`(?m)^# target restarted at \d\d:\d\d:\d\d \(PID ` + strconv.Itoa(p1.PID) + ` → ` + strconv.Itoa(p2.PID) + `\): .*no rate spans the restart\n# http://` + regexp.QuoteMeta(addr) + ` · metrics via pprof`)
				if !re.MatchString(o) {
					t.Errorf("plain output lacks the restart line followed by the sources again:\n%s", o)
				}
				return
			}
			recs := decodeRecords(t, o)
			seen := -1
			for i, r := range recs {
				if r.Restart != nil {
					seen = i
					if r.Restart.FromPID != p1.PID || r.Restart.ToPID != p2.PID || r.PID != p2.PID || r.Restart.ToStart == nil || !strings.HasPrefix(r.Restart.Text, "target restarted at ") {
						t.Errorf("restart record %+v (pid %d)", r.Restart, r.PID)
					}
					continue
				}
				if !r.Fresh {
					continue
				}
				if want := map[bool]int{true: p1.PID, false: p2.PID}[seen < 0]; r.PID != want {
					t.Errorf("record %d names pid %d, want %d (restart at record %d)", i, r.PID, want, seen)
				}
			}
			if seen < 0 {
				t.Fatalf("no record carries the restart:\n%s", o)
			}
		})
	}
}

// gotune attach PID ends when the process exits: the last record says it
// exited, and a new process on the same port is not followed.
func TestAttachPIDEndsWhenProcessExits(t *testing.T) {
	addr := freeAddr(t)
	p1 := startPprofOn(t, addr)
	var out, errb syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- Run(t.Context(), []string{"attach", strconv.Itoa(p1.PID), "--json", "--interval", "250ms", "--duration", "3m"}, &out, &errb)
	}()
	testproc.Eventually(t, 60*time.Second, func() bool { return strings.Count(out.String(), `"fresh":true`) >= 2 }, "no records:\n%s", &out)
	p1.Kill()
	startPprofOn(t, addr)
	var err error
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		t.Fatalf("attach went on after the process exited:\n%s", out.String())
	}
	if err == nil || !strings.Contains(err.Error(), "exited at") || !strings.Contains(err.Error(), "does not follow another process by PID") {
		t.Fatalf("error %v, want one saying pid %d exited", err, p1.PID)
	}
	recs := decodeRecords(t, out.String())
	last := recs[len(recs)-1]
	if !last.Source.Exited || last.Exited == nil || last.PID != p1.PID || !strings.Contains(last.Source.Error, "process exited") {
		t.Errorf("last record %+v, want pid %d exited", last, p1.PID)
	}
	for _, r := range recs {
		if r.PID != p1.PID {
			t.Errorf("a record names pid %d", r.PID)
		}
	}
}
