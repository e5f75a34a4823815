package collectors

import (
	"context"
	"errors"
	"time"

	"github.com/gotune/gotune/session"
)

// Runner calls one collection function on its own cadence: a deadline per
// call, at most one call in flight (a tick or trigger that arrives while a
// call runs is dropped and counted), exponential backoff after failures, and
// its status published to the store after every call. A call that fails
// with ErrProcessGone ends it (Status.Exited).
type Runner struct {
	Source     string        // what is collected, e.g. "metrics"
	Interval   time.Duration // cadence when healthy
	Timeout    time.Duration // deadline of one call
	MaxBackoff time.Duration // cap of the backoff after failures
	Store      *session.Store
	// Collect does one call. It returns how the data was read (e.g.
	// "agent") for the status line.
	Collect func(ctx context.Context) (via string, err error)
	// Pace, if set, is asked after every call for the interval to use
	// from now on (0: keep Interval) and a note for the status: a source
	// whose reads cost the target more is read less often, and says so.
	Pace func() (time.Duration, string)

	trigger chan struct{}
	status  session.Status
}

// NewRunner returns a runner; Run starts it.
func NewRunner(source string, interval time.Duration, store *session.Store, collect func(ctx context.Context) (string, error)) *Runner {
	if interval <= 0 {
		interval = time.Second
	}
	return &Runner{
		Source:     source,
		Interval:   interval,
		Timeout:    max(interval, DefaultTimeout),
		MaxBackoff: 30 * time.Second,
		Store:      store,
		Collect:    collect,
		trigger:    make(chan struct{}, 1),
	}
}

// Trigger asks for a call now. It never blocks; it returns false when a
// trigger is already pending (the request is coalesced into it).
func (r *Runner) Trigger() bool {
	select {
	case r.trigger <- struct{}{}:
		return true
	default:
		return false
	}
}

type callResult struct {
	via     string
	err     error
	started time.Time
	took    time.Duration
}

// Run loops until ctx is done. The first call starts at once.
func (r *Runner) Run(ctx context.Context) {
	r.status = session.Status{Source: r.Source, Interval: r.Interval}
	ticker := time.NewTicker(r.Interval)
	defer ticker.Stop()
	done := make(chan callResult, 1)
	busy := false
	var notBefore time.Time // backoff: no call before this instant

	start := func() {
		busy = true
		go func() {
			cctx, cancel := context.WithTimeout(ctx, r.Timeout)
			defer cancel()
			t0 := time.Now()
			via, err := r.Collect(cctx)
			done <- callResult{via: via, err: err, started: t0, took: time.Since(t0)}
		}()
	}
	wantCall := func() {
		if busy {
			r.status.Dropped++
			r.publish()
			return
		}
		if time.Now().Before(notBefore) {
			return // backing off
		}
		start()
	}

	start()
	for {
		select {
		case <-ctx.Done():
			if busy {
				<-done // the call's context is a child of ctx: it ends promptly
			}
			return
		case <-ticker.C:
			wantCall()
		case <-r.trigger:
			wantCall()
		case res := <-done:
			busy = false
			now := time.Now()
			if res.via != "" {
				r.status.Via = res.via
			}
			if res.err == nil {
				r.status.LastOK = now
				r.status.Latency = res.took
				r.status.Failures = 0
				r.status.Backoff = 0
				r.status.Lost = false
				notBefore = time.Time{}
			} else if ctx.Err() == nil {
				r.status.LastErr = res.err.Error()
				r.status.LastErrAt = now
				r.status.Failures++
				r.status.Backoff = r.backoff(r.status.Failures)
				notBefore = now.Add(r.status.Backoff)
				if IsUnreachable(res.err) && !r.status.LastOK.IsZero() && !r.status.Lost {
					r.status.Lost = true
					r.status.LostAt = now
				}
				if errors.Is(res.err, ErrProcessGone) {
					// Gone for good (a PID names one process): say so
					// once and stop; nothing is retried.
					if !r.status.Lost {
						r.status.Lost, r.status.LostAt = true, now
					}
					r.status.Exited = true
					r.status.Backoff = 0
					r.publish()
					return
				}
			}
			if r.Pace != nil {
				iv, note := r.Pace()
				if iv <= 0 {
					iv = r.Interval
				}
				if iv != r.status.Interval {
					r.status.Interval = iv
					ticker.Reset(iv)
				}
				r.status.Note = note
			}
			r.publish()
		}
	}
}

// backoff doubles from one interval per consecutive failure, capped. The
// first failure waits nothing extra, so a passing fault costs one tick.
func (r *Runner) backoff(failures int) time.Duration {
	if failures <= 1 {
		return 0
	}
	d := max(r.Interval, r.status.Interval)
	for i := 1; i < failures && d < r.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, r.MaxBackoff)
}

func (r *Runner) publish() {
	if r.Store != nil {
		r.Store.SetStatus(r.status)
	}
}
