package effective_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gotune/gotune/collectors/discover"
	"github.com/gotune/gotune/collectors/effective"
	"github.com/gotune/gotune/collectors/gops"
	"github.com/gotune/gotune/collectors/proc"
	"github.com/gotune/gotune/internal/testproc"
)

// A real gops target started with GOGC=100 and GOMAXPROCS=1: after gops
// setgc 50, the explanation says GOGC was changed at run time, and
// GOMAXPROCS (live from gops stats) comes from the environment.
func TestExplainRealGopsTarget(t *testing.T) {
	ctx := context.Background()
	bin := testproc.BuildInto(t, testproc.GopsAgent, "")
	p := testproc.StartWith(t, bin, testproc.Options{WaitReady: true, Env: []string{"GOPS_CONFIG_DIR=" + t.TempDir(), "GOGC=100", "GOMAXPROCS=1"}})

	row, err := discover.Resolve(ctx, p.PID, discover.Overrides{}, discover.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if row.Reach.GopsAddr == "" {
		t.Fatalf("no gops agent found: %+v", row.Reach)
	}
	c := gops.NewClient(row.Reach.GopsAddr)
	if prev, err := c.SetGC(ctx, 50); err != nil || prev != 100 {
		t.Fatalf("SetGC(50) = %d, %v; want previous 100", prev, err)
	}
	// gops has no read-only way to get GOGC; setting the same value again
	// is idempotent and its reply reports the value in force.
	live, err := c.SetGC(ctx, 50)
	if err != nil {
		t.Fatal(err)
	}
	stats, err := c.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}

	affinity, err := proc.SchedAffinity(p.PID)
	if err != nil {
		t.Fatal(err)
	}
	e := effective.Explain(effective.Input{
		Env:            row.Env(),
		GoVersion:      row.Build.GoVersion,
		DefaultGODEBUG: row.Build.GODEBUG,
		Deps:           row.Build.Deps,
		Live:           effective.Live{GOGC: effective.LiveValue(float64(live), true), GOMAXPROCS: effective.LiveValue(float64(stats.GOMAXPROCS), stats.Has("GOMAXPROCS"))},
		AffinityCPUs:   len(affinity),
		CPUQuota:       0,
	})
	if g := e.GOGC; g.Source != effective.ChangedAtRunTime || g.Value != "50" || g.Env != "100" || !strings.Contains(g.Reason, "changed at run time") {
		t.Errorf("GOGC = %+v", g)
	}
	if m := e.GOMAXPROCS; m.Source != effective.FromEnv || m.Value != "1" || !m.Live {
		t.Errorf("GOMAXPROCS = %+v", m)
	}
	// gops reports no GOMEMLIMIT: inferred from the (empty) environment.
	if l := e.GOMEMLIMIT; l.Source != effective.GoDefault || l.Live || l.Value != "no limit" {
		t.Errorf("GOMEMLIMIT = %+v", l)
	}
	for _, s := range e.Settings() {
		t.Logf("%s = %s (%s): %s", s.Name, s.Value, s.Source, s.Reason)
	}
}

// A binary whose go.mod predates Go 1.25 carries containermaxprocs=0 in its
// build info; with a CPU quota the explanation says the quota is ignored.
func TestExplainContainermaxprocsFromBuildInfo(t *testing.T) {
	b, err := discover.ReadBuild(testproc.BuildInto(t, testproc.OldGoMod, ""))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.GODEBUG, "containermaxprocs=0") {
		t.Fatalf("DefaultGODEBUG = %q", b.GODEBUG)
	}
	e := effective.Explain(effective.Input{
		Env:            map[string]string{},
		GoVersion:      b.GoVersion,
		DefaultGODEBUG: b.GODEBUG,
		Live:           effective.Live{GOMAXPROCS: effective.LiveValue(8, true)},
		AffinityCPUs:   8,
		CPUQuota:       2,
	})
	if m := e.GOMAXPROCS; m.Source != effective.GoDefault || m.Value != "8" || !strings.Contains(m.Reason, "containermaxprocs=0") || !strings.Contains(m.Reason, "it would be 2") {
		t.Errorf("GOMAXPROCS = %+v", m)
	}
	// The same quota for a binary built with Go 1.25 defaults lowers it.
	e = effective.Explain(effective.Input{Env: map[string]string{}, GoVersion: b.GoVersion, Live: effective.Live{GOMAXPROCS: effective.LiveValue(2, true)}, AffinityCPUs: 8, CPUQuota: 2})
	if m := e.GOMAXPROCS; m.Source != effective.ContainerDefault {
		t.Errorf("GOMAXPROCS without containermaxprocs=0 = %+v", m)
	}
}
