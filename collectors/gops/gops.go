// Package gops talks to a gops agent (github.com/google/gops/agent) running
// inside a target process, without importing gops: its client package is not
// importable, and the wire protocol is small.
//
// The protocol, as served by gops v0.3.29 agent.listen and agent.handle: the
// client opens a TCP connection, writes one signal byte (plus a varint
// payload for SetGCPercent), and the agent writes its reply and closes the
// connection. The agent serves ONE connection at a time in its accept loop
// and reads the signal byte without a deadline, so every call here sets a
// deadline, writes the signal at once, and bounds the reply size. A CPU
// profile blocks the agent for 30 s and a trace for 5 s: they are only sent
// by CPUProfile and Trace, which polling code must never call.
//
// The package also finds an agent's port file (FindPortFile). The mapping
// of its memstats and stats replies onto runtime/metrics names lives with
// the other metrics sources in package collectors.
package gops

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// Signal bytes, copied from github.com/google/gops@v0.3.29/signal/signal.go.
const (
	sigStackTrace   = byte(0x1)
	sigGC           = byte(0x2)
	sigMemStats     = byte(0x3)
	sigVersion      = byte(0x4)
	sigHeapProfile  = byte(0x5)
	sigCPUProfile   = byte(0x6)
	sigStats        = byte(0x7)
	sigTrace        = byte(0x8)
	sigSetGCPercent = byte(0x10)
	// 0x9 (BinaryDump: the whole executable) is deliberately not spoken.
)

// Reply size caps. Text replies are a few hundred bytes; a goroutine dump
// (debug=2) or heap profile of a big service can be tens of MB.
const (
	smallReplyLimit   = 64 << 10
	largeReplyLimit   = 128 << 20
	defaultTimeout    = 3 * time.Second
	profileTimeout    = 30 * time.Second
	cpuProfileSeconds = 30 // fixed by the agent: time.Sleep(30 * time.Second)
	traceSeconds      = 5  // fixed by the agent: time.Sleep(5 * time.Second)
)

// ErrReplyTooLarge is returned when the agent sends more than the call's cap.
var ErrReplyTooLarge = errors.New("gops reply exceeds size limit")

// Client speaks to one gops agent. Calls are serialized: the agent serves one
// connection at a time, so a second concurrent call would only queue in its
// listen backlog; here it waits for the first (honouring its context)
// instead. The zero Timeout means 3 s for light calls.
type Client struct {
	Addr    string        // host:port of the agent, e.g. "127.0.0.1:40123"
	Timeout time.Duration // per light call (version, stats, memstats, gc, setgc)

	once sync.Once
	sem  chan struct{}
}

// NewClient returns a client for the agent at addr (host:port). A zero
// Client with Addr set works too.
func NewClient(addr string) *Client {
	return &Client{Addr: addr}
}

func (c *Client) lightTimeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return defaultTimeout
}

// Version returns the target's runtime.Version(), e.g. "go1.26.8".
func (c *Client) Version(ctx context.Context) (string, error) {
	b, err := c.call(ctx, "version", []byte{sigVersion}, c.lightTimeout(), smallReplyLimit)
	if err != nil {
		return "", err
	}
	v := string(bytes.TrimSpace(b))
	if v == "" {
		return "", fmt.Errorf("gops version from %s: empty reply", c.Addr)
	}
	return v, nil
}

// Stats returns goroutines, threads, GOMAXPROCS and CPU count.
func (c *Client) Stats(ctx context.Context) (Stats, error) {
	b, err := c.call(ctx, "stats", []byte{sigStats}, c.lightTimeout(), smallReplyLimit)
	if err != nil {
		return Stats{}, err
	}
	s, err := ParseStats(b)
	if err != nil {
		return Stats{}, fmt.Errorf("gops stats from %s: %w", c.Addr, err)
	}
	return s, nil
}

// MemStats returns the target's runtime.MemStats as the agent prints them.
// The agent calls runtime.ReadMemStats, a short stop-the-world: fine at 1 Hz.
func (c *Client) MemStats(ctx context.Context) (MemStats, error) {
	b, err := c.call(ctx, "memstats", []byte{sigMemStats}, c.lightTimeout(), smallReplyLimit)
	if err != nil {
		return MemStats{}, err
	}
	m, err := ParseMemStats(b)
	if err != nil {
		return MemStats{}, fmt.Errorf("gops memstats from %s: %w", c.Addr, err)
	}
	return m, nil
}

// Stack returns every goroutine's stack (pprof goroutine profile, debug=2).
func (c *Client) Stack(ctx context.Context) ([]byte, error) {
	return c.call(ctx, "stack", []byte{sigStackTrace}, profileTimeout, largeReplyLimit)
}

// HeapProfile returns the heap profile as a gzipped pprof protobuf.
func (c *Client) HeapProfile(ctx context.Context) ([]byte, error) {
	return c.call(ctx, "heap profile", []byte{sigHeapProfile}, profileTimeout, largeReplyLimit)
}

// GC runs runtime.GC in the target and waits for it to finish. This is a
// write action: call it only on an explicit user request.
func (c *Client) GC(ctx context.Context) error {
	b, err := c.call(ctx, "gc", []byte{sigGC}, profileTimeout, smallReplyLimit)
	if err != nil {
		return err
	}
	if string(bytes.TrimSpace(b)) != "ok" {
		return fmt.Errorf("gops gc on %s: unexpected reply %q", c.Addr, truncate(b, 80))
	}
	return nil
}

// SetGC sets the target's GC percent (debug.SetGCPercent; negative turns the
// GC off) and returns the previous value. This is a write action: call it
// only on an explicit user request. The agent reads the percent as a signed
// varint (binary.ReadVarint) right after the signal byte.
func (c *Client) SetGC(ctx context.Context, percent int) (previous int, err error) {
	msg := binary.AppendVarint([]byte{sigSetGCPercent}, int64(percent))
	b, err := c.call(ctx, "setgc", msg, c.lightTimeout(), smallReplyLimit)
	if err != nil {
		return 0, err
	}
	set, prev, err := ParseSetGCReply(b)
	if err != nil {
		return 0, fmt.Errorf("gops setgc on %s: %w", c.Addr, err)
	}
	if set != percent {
		return prev, fmt.Errorf("gops setgc on %s: asked for %d, agent set %d", c.Addr, percent, set)
	}
	return prev, nil
}

// CPUProfile records a CPU profile. The agent always profiles for 30 s and
// serves nothing else meanwhile, so this is an explicit, user-initiated
// action only: never call it from a polling loop.
func (c *Client) CPUProfile(ctx context.Context) ([]byte, error) {
	return c.call(ctx, "cpu profile", []byte{sigCPUProfile}, cpuProfileSeconds*time.Second+profileTimeout, largeReplyLimit)
}

// Trace records a 5 s execution trace; like CPUProfile it blocks the agent
// and must never be called from a polling loop.
func (c *Client) Trace(ctx context.Context) ([]byte, error) {
	return c.call(ctx, "trace", []byte{sigTrace}, traceSeconds*time.Second+profileTimeout, largeReplyLimit)
}

// call sends msg on a fresh connection and reads the reply until the agent
// closes it, within timeout (or ctx's deadline, whichever is first).
func (c *Client) call(ctx context.Context, what string, msg []byte, timeout time.Duration, limit int64) ([]byte, error) {
	c.once.Do(func() { c.sem = make(chan struct{}, 1) })
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("gops %s on %s: waiting for the previous call: %w", what, c.Addr, ctx.Err())
	}
	defer func() { <-c.sem }()

	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", c.Addr)
	if err != nil {
		return nil, fmt.Errorf("gops %s: connect to agent at %s: %w", what, c.Addr, err)
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil {
		return nil, fmt.Errorf("gops %s on %s: %w", what, c.Addr, err)
	}
	// Cancellation (not only the deadline) must unblock the read.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	if _, err := conn.Write(msg); err != nil {
		return nil, fmt.Errorf("gops %s: send to %s: %w", what, c.Addr, err)
	}
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(conn, limit+1))
	if err != nil {
		switch {
		case errors.Is(ctx.Err(), context.Canceled):
			return nil, fmt.Errorf("gops %s on %s: %w", what, c.Addr, ctx.Err())
		case ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded):
			// The socket deadline and the context's fire at the same instant.
			return nil, fmt.Errorf("gops %s on %s: no reply within %v (the agent serves one request at a time; is a CPU profile or trace running?): %w", what, c.Addr, timeout, context.DeadlineExceeded)
		}
		return nil, fmt.Errorf("gops %s: read reply from %s: %w", what, c.Addr, err)
	}
	if n > limit {
		return nil, fmt.Errorf("gops %s from %s: %w (%d bytes)", what, c.Addr, ErrReplyTooLarge, limit)
	}
	return buf.Bytes(), nil
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
