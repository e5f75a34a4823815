package export

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/session"
)

// ParseDestination reads a destination as front ends take it from a flag
// or a key prompt. The scheme says the protocol:
//
//	otlp+http://127.0.0.1:4318        OTLP/HTTP (profiles and metrics)
//	otlp+grpc://127.0.0.1:4317        OTLP/gRPC (profiles and metrics)
//	pyroscope+http://127.0.0.1:4040   Pyroscope /ingest (profiles)
//	remote-write+http://host:9090/api/v1/write     Prometheus remote-write 1.0 (metrics)
//	remote-write-v2+http://host:9090/api/v1/write  remote-write 2.0
//
// "+https" works wherever "+http" does.
func ParseDestination(s string) (Sink, error) {
	kind, rest, ok := strings.Cut(strings.TrimSpace(s), "+")
	if !ok {
		return nil, fmt.Errorf("export destination %q: want otlp+http://, otlp+grpc://, pyroscope+http://, remote-write+http:// or remote-write-v2+http://", s)
	}
	switch kind {
	case "otlp":
		if hostport, ok := strings.CutPrefix(rest, "grpc://"); ok {
			return NewOTLP(OTLPConfig{Endpoint: strings.TrimRight(hostport, "/"), GRPC: true})
		}
		return NewOTLP(OTLPConfig{Endpoint: rest})
	case "pyroscope":
		return NewPyroscope(PyroscopeConfig{URL: rest})
	case "remote-write":
		return NewRemoteWrite(RemoteWriteConfig{URL: rest})
	case "remote-write-v2":
		return NewRemoteWrite(RemoteWriteConfig{URL: rest, V2: true})
	}
	return nil, fmt.Errorf("export destination %q: unknown protocol %q", s, kind)
}

// Group fans items out to several Exporters, each taking the signals its
// sink accepts (profiles to Pyroscope, metrics to remote-write, both to an
// OTLP collector). A front end holds one Group for the session.
type Group []*Exporter

// EnqueueProfile queues c on every member that takes profiles. It never
// blocks; the error joins the members' refusals (already counted in their
// Stats).
func (g Group) EnqueueProfile(c *profile.Captured, o Origin) error {
	var errs []error
	for _, e := range g {
		if err := e.EnqueueProfile(c, o); err != nil && !errors.Is(err, ErrUnsupported) {
			errs = append(errs, fmt.Errorf("%s: %w", e.sink.Kind(), err))
		}
	}
	return errors.Join(errs...)
}

// EnqueueMetrics queues points on every member that takes metrics.
func (g Group) EnqueueMetrics(points []session.Point, o Origin) error {
	var errs []error
	for _, e := range g {
		if err := e.EnqueueMetrics(points, o); err != nil && !errors.Is(err, ErrUnsupported) {
			errs = append(errs, fmt.Errorf("%s: %w", e.sink.Kind(), err))
		}
	}
	return errors.Join(errs...)
}

// Stats returns every member's stats, in order.
func (g Group) Stats() []Stats {
	out := make([]Stats, len(g))
	for i, e := range g {
		out[i] = e.Stats()
	}
	return out
}

// Close closes every member within ctx (in parallel: one slow destination
// does not eat the others' time).
func (g Group) Close(ctx context.Context) error {
	errs := make([]error, len(g))
	done := make(chan struct{})
	for i, e := range g {
		go func() {
			errs[i] = e.Close(ctx)
			done <- struct{}{}
		}()
	}
	for range g {
		<-done
	}
	return errors.Join(errs...)
}

// FollowOptions pace Follow.
type FollowOptions struct {
	// Every is how often new points are queued; default 10 s. Points are
	// also queued once PointsPerBatch have gathered.
	Every time.Duration
	// PointsPerBatch; default 60.
	PointsPerBatch int
}

// Enqueuer is what Follow feeds: an *Exporter or a Group.
type Enqueuer interface {
	EnqueueMetrics(points []session.Point, o Origin) error
}

// Follow exports a live store's new points as they arrive (gotune watch
// --export): it wakes on the store's changes, and queues the points newer
// than the last ones it queued every FollowOptions.Every or PointsPerBatch
// points, until ctx ends, then queues what is left. origin is called for
// each batch, so labels (GOGC, phase) follow the target. It returns the
// number of points queued; refusals are counted in the exporters' Stats.
func Follow(ctx context.Context, store *session.Store, to Enqueuer, origin func(*session.Snapshot) Origin, o FollowOptions) int {
	if o.Every <= 0 {
		o.Every = 10 * time.Second
	}
	if o.PointsPerBatch <= 0 {
		o.PointsPerBatch = DefaultPointsPerRequest
	}
	changed, stop := store.Subscribe()
	defer stop()
	tick := time.NewTicker(o.Every)
	defer tick.Stop()
	var last time.Time
	queued := 0
	flush := func(force bool) {
		snap := store.Snapshot()
		var fresh []session.Point
		for _, p := range snap.Points {
			if p.Time.After(last) {
				fresh = append(fresh, p)
			}
		}
		if len(fresh) == 0 || !force && len(fresh) < o.PointsPerBatch {
			return
		}
		_ = to.EnqueueMetrics(fresh, origin(snap))
		last = fresh[len(fresh)-1].Time
		queued += len(fresh)
	}
	for {
		select {
		case <-ctx.Done():
			flush(true)
			return queued
		case <-tick.C:
			flush(true)
		case <-changed:
			flush(false)
		}
	}
}
