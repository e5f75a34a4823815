package collectors

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gotune/gotune/collectors/discover"
	"github.com/gotune/gotune/redact"
	"github.com/gotune/gotune/session"
)

// Target is anything gotune can attach to: a URL or a local PID.
type Target interface {
	// Name says what is watched, for people: "pid 4242 (/srv/api)" or a URL.
	Name() string
	// Watch starts the target's runners writing into store until ctx ends.
	Watch(ctx context.Context, store *session.Store, interval time.Duration)
	// Profiles returns what fetches the target's profiles (net/http/pprof,
	// else a gops agent), or nil when it serves none.
	Profiles() ProfileFetcher
}

// Name implements Target.
func (t *URLTarget) Name() string { return Redact(t.Base) }

// Profiles implements Target: the pprof client.
func (t *URLTarget) Profiles() ProfileFetcher {
	if t.Pprof == nil {
		return nil
	}
	return t.Pprof
}

// Name implements Target.
// Its command line has its secrets masked: the name is printed, logged by
// CI and saved.
func (t *PIDTarget) Name() string {
	cmd := redact.Command(t.Process.Command)
	if args := t.Process.Args(); len(args) > 0 {
		cmd = strings.Join(redact.Args(args), " ")
	}
	return fmt.Sprintf("pid %d (%s)", t.PID, cmd)
}

// Profiles implements Target: the pprof client where net/http/pprof
// answered, else the gops agent (heap, CPU, goroutines), else nil.
func (t *PIDTarget) Profiles() ProfileFetcher {
	switch {
	case t.Pprof != nil:
		return t.Pprof
	case t.gopsFetch != nil:
		return t.gopsFetch
	}
	return nil
}

// attachProbeTimeout bounds each probe of attach PID.
const attachProbeTimeout = time.Second

// Open resolves target, a PID or a URL, into a Target. Overrides apply to
// PIDs only (attach --url, --gops-port).
func Open(ctx context.Context, target string, ov discover.Overrides) (Target, error) {
	if pid, err := strconv.Atoi(target); err == nil {
		if pid <= 0 {
			return nil, fmt.Errorf("%d is not a process ID", pid)
		}
		// One process: probes may wait longer than gotune ps's 300 ms, so a
		// busy target's endpoints are not missed.
		t, err := NewPIDTarget(ctx, pid, ov, discover.Options{CPUWindow: -1, ProbeTimeout: attachProbeTimeout})
		if err != nil {
			return nil, fmt.Errorf("attach to pid %d: %w", pid, err)
		}
		return t, nil
	}
	if ov.URL != "" || ov.GopsPort != 0 {
		return nil, fmt.Errorf("--url and --gops-port go with a PID target; for a URL target, name the URL as TARGET")
	}
	return NewURLTarget(target, HTTPSourceOptions{})
}
