package discover_test

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/gotune/gotune/collectors/discover"
	"github.com/gotune/gotune/internal/testproc"
)

// A URL target on this machine is traced to the process serving it; a URL
// of another machine is refused without a connection.
func TestLocalPID(t *testing.T) {
	ctx := context.Background()
	p := testproc.StartWith(t, testproc.BuildInto(t, testproc.PprofServer, ""), testproc.Options{WaitReady: true})
	_, port, err := net.SplitHostPort(p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"http://" + p.Addr(), "http://" + p.Addr() + "/debug/pprof/", p.Addr(), "http://localhost:" + port} {
		pid, err := discover.LocalPID(ctx, target, discover.Options{})
		if err != nil || pid != p.PID {
			t.Errorf("LocalPID(%s) = %d, %v; want %d", target, pid, err, p.PID)
		}
	}
	// 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never this machine.
	if _, err := discover.LocalPID(ctx, "http://192.0.2.1:6060", discover.Options{}); !errors.Is(err, discover.ErrNotLocal) {
		t.Errorf("LocalPID(TEST-NET) err = %v, want ErrNotLocal", err)
	}
	// A local port nobody listens on.
	if pid, err := discover.LocalPID(ctx, "http://127.0.0.1:1", discover.Options{}); err == nil {
		t.Errorf("LocalPID(:1) = %d, want an error", pid)
	}
}
