package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gotune/gotune/export"
	"github.com/gotune/gotune/safetext"
	"github.com/gotune/gotune/session"
	"github.com/gotune/gotune/snapshot"
)

// ExportEnv names the environment variable that gives the export
// destinations when no --export flag does (comma-separated).
const ExportEnv = "GOTUNE_EXPORT"

// exportDestinations are the flag's destinations, else the environment's.
func exportDestinations(flag []string) []string {
	if len(flag) > 0 {
		return flag
	}
	var out []string
	for _, s := range strings.Split(os.Getenv(ExportEnv), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// openExporters starts one exporter per destination; with spillRoot, each
// spills to a directory of its own under it (one directory per
// destination, as export requires).
func openExporters(dests []string, spillRoot string) (export.Group, error) {
	var g export.Group
	for i, d := range dests {
		sink, err := export.ParseDestination(d)
		if err != nil {
			_ = g.Close(context.Background())
			return nil, fmt.Errorf("--export: %w", err)
		}
		o := export.Options{}
		if spillRoot != "" {
			o.SpillDir = filepath.Join(spillRoot, strconv.Itoa(i)+"-"+sink.Kind())
		}
		ex, err := export.New(sink, o)
		if err != nil {
			_ = g.Close(context.Background())
			return nil, fmt.Errorf("--export %s: %w", d, err)
		}
		g = append(g, ex)
	}
	return g, nil
}

// closeExporters flushes g within budget and prints each exporter's
// counters; it fails when anything could not be sent.
func closeExporters(g export.Group, budget time.Duration, w io.Writer) error {
	if len(g) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	cerr := g.Close(ctx)
	var lost int64
	left := 0
	for _, st := range g.Stats() {
		fmt.Fprintf(w, "export %s\n", st.String())
		lost += st.Lost()
		left += st.Spilled + st.Queued
	}
	switch {
	case lost > 0:
		return fmt.Errorf("export: %d items could not be sent (see the counters above)", lost)
	case cerr != nil:
		return fmt.Errorf("export: %s", safetext.Line(cerr.Error()))
	case left > 0:
		return fmt.Errorf("export: %d requests are still on disk, to be sent by the next run", left)
	}
	return nil
}

// profileOrigin labels a snapshot's profiles: its target, and the labels
// a person chose.
func snapshotTarget(s *snapshot.Snapshot) session.Target {
	t := s.Manifest.Target
	return session.Target{URL: t.URL, PID: t.PID, Command: t.Command, GoVersion: t.GoVersion, StartTime: t.StartTime}
}

// enqueueSnapshotProfiles queues every profile of s, in kind order.
func enqueueSnapshotProfiles(g export.Group, s *snapshot.Snapshot, o export.Origin) (int, error) {
	n := 0
	var first error
	for _, k := range s.Kinds() {
		c := s.Profile(k)
		if c == nil {
			continue
		}
		if err := g.EnqueueProfile(c, o); err != nil && first == nil {
			first = fmt.Errorf("%s profile: %w", k, err)
		}
		n++
	}
	return n, first
}
