package collectors

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/gotune/gotune/collectors/effective"
	"github.com/gotune/gotune/session"
)

// URLTarget collects from a Go service over HTTP: metrics from the best
// source it offers (detected on the first call, again after the source
// stops making sense) and profiles through its pprof endpoints.
type URLTarget struct {
	Base  string
	Pprof *PprofClient
	opts  HTTPSourceOptions

	source MetricsSource // touched only by the runner's single in-flight call

	// KeepHistograms, when not nil, names the only histograms a sample
	// keeps (see PIDTarget.KeepHistograms).
	KeepHistograms []string
}

// NewURLTarget accepts "http://host:port", "host:port" or a /debug/pprof URL.
func NewURLTarget(target string, opts HTTPSourceOptions) (*URLTarget, error) {
	base, err := NormalizeBase(target)
	if err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	p := NewPprofClient(base)
	p.HTTP = opts.HTTP
	return &URLTarget{Base: base, Pprof: p, opts: opts}, nil
}

// CollectMetrics reads one sample into store. It is a Runner's Collect.
func (t *URLTarget) CollectMetrics(store *session.Store) func(ctx context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		fresh := t.source == nil
		s, via, err := t.readOnce(ctx)
		if err != nil {
			return via, err
		}
		if fresh {
			t.describe(store, t.source)
		}
		// Over HTTP only the live values are known, not where they come
		// from; the explanation says so ("origin unknown"). Published
		// before the sample, so a reader never sees a sample without it.
		ex := effective.Explain(effective.Input{Live: session.LiveSettings(s.Values), CPUQuota: -1, Remote: true})
		store.UpdateFacts(func(f *session.Facts) { f.Settings = &ex })
		keepHistograms(&s, t.KeepHistograms)
		store.Append(s)
		return via, nil
	}
}

// readOnce reads one sample, detecting the source on first use and again
// after a reachable target stops answering sensibly (a restart into another
// build, a proxy page): a refused connection keeps the source.
func (t *URLTarget) readOnce(ctx context.Context) (session.Sample, string, error) {
	if t.source == nil {
		src, s, err := DetectMetrics(ctx, t.Base, t.opts)
		if err != nil {
			return session.Sample{}, "", err
		}
		t.source = src
		return s, src.Via(), nil
	}
	via := t.source.Via()
	s, err := t.source.Read(ctx)
	if err != nil {
		var fe *FetchError
		timedOut := errors.As(err, &fe) && isTimeout(fe)
		if !IsUnreachable(err) && !timedOut {
			t.source = nil
		}
		return s, via, err
	}
	return s, via, nil
}

func isTimeout(fe *FetchError) bool { return strings.HasPrefix(fe.Reason, "no answer within") }

func (t *URLTarget) describe(store *session.Store, src MetricsSource) {
	tg := session.Target{URL: Redact(t.Base)}
	if a, ok := src.(*AgentSource); ok {
		tg.PID = a.Last.PID
		tg.GoVersion = a.Last.GoVersion
		tg.StartTime = a.Last.StartTime
	}
	store.SetTarget(tg)
}

// MetricsRunner returns a runner that reads t's metrics into store; set its
// fields, then start it with go r.Run(ctx).
func (t *URLTarget) MetricsRunner(store *session.Store, interval time.Duration) *Runner {
	return NewRunner("metrics", interval, store, t.CollectMetrics(store))
}

// Watch starts a metrics runner for t on store; it stops when ctx is done.
func (t *URLTarget) Watch(ctx context.Context, store *session.Store, interval time.Duration) {
	go t.MetricsRunner(store, interval).Run(ctx)
}
