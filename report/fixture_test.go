package report

import (
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gotune/gotune/advisor"
	"github.com/gotune/gotune/collectors/cgroup"
	"github.com/gotune/gotune/collectors/effective"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/session"
	"github.com/gotune/gotune/snapshot"
)

var update = flag.Bool("update", false, "rewrite the fixture snapshots under testdata/snapshots and the goldens under report/testdata")

// The fixture snapshots are committed under the repository's
// testdata/snapshots (the CLI's tests read them too). They are built from
// the committed profile fixtures and synthetic series with fixed times, and
// go through snapshot.FromSession, so the secrets planted below are
// redacted exactly as in a real capture.
const (
	snapshotsDir = "../testdata/snapshots"
	profilesDir  = "../testdata/profiles"
)

// Planted secrets: none may appear in any report.
var plantedSecrets = []string{"hunter2", "s3cr3t-proxy", "t0k3n-in-url", "AKIAFAKEKEY", "pw-in-url", "env-secret-value"}

var t0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// fixtureSnapshots returns the committed before and after snapshots,
// rewriting them first with -update.
func fixtureSnapshots(t *testing.T) (before, after *snapshot.Snapshot) {
	t.Helper()
	paths := [2]string{filepath.Join(snapshotsDir, "before.gotune"), filepath.Join(snapshotsDir, "after.gotune")}
	if *update {
		if err := os.MkdirAll(snapshotsDir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, s := range []*snapshot.Snapshot{buildFixture(t, false), buildFixture(t, true)} {
			if err := snapshot.Write(paths[i], s); err != nil {
				t.Fatal(err)
			}
		}
	}
	var out [2]*snapshot.Snapshot
	for i, p := range paths {
		s, err := snapshot.Read(p)
		if err != nil {
			t.Fatalf("%v (run go test ./report/ -update to create the fixtures)", err)
		}
		out[i] = s
	}
	return out[0], out[1]
}

func readProfile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(profilesDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// buildFixture makes the "before" snapshot (GOGC=100, no memory limit, GC
// busy, a goroutine leak) or the "after" one (GOGC=400 GOMEMLIMIT=768MiB).
func buildFixture(t *testing.T, after bool) *snapshot.Snapshot {
	t.Helper()
	gogc, limit, gcCPU, name := 100.0, float64(math.MaxInt64), 0.22, "before GOGC=100"
	env := map[string]string{
		"GOGC":                  "100",
		"GOPROXY":               "https://ci:s3cr3t-proxy@proxy.example.com",
		"GOAUTH":                "netrc env-secret-value",
		"AWS_SECRET_ACCESS_KEY": "AKIAFAKEKEY",
		"DATABASE_URL":          "postgres://app:hunter2@db/app",
	}
	if after {
		gogc, limit, gcCPU, name = 400, 768<<20, 0.06, "after GOGC=400 GOMEMLIMIT=768MiB"
		env["GOGC"], env["GOMEMLIMIT"] = "400", "768MiB"
	}
	start := t0
	if after {
		start = t0.Add(time.Hour)
	}
	const n = 60
	sess := &session.Snapshot{
		Target: session.Target{
			URL:       "http://admin:pw-in-url@127.0.0.1:6060/?token=t0k3n-in-url",
			PID:       4242,
			Command:   "/srv/api --config /etc/api.yaml --db-password=hunter2 --listen :8080",
			GoVersion: "go1.26.8",
			StartTime: t0.Add(-2 * time.Hour),
		},
		Status: []session.Status{{Source: "metrics", Via: "agent"}},
		Facts: session.Facts{
			Env: env,
			Settings: &effective.Explanation{
				GOGC:       effective.Setting{Name: "GOGC", Value: env["GOGC"], Live: true, Source: effective.FromEnv, Reason: "set in the environment", Env: env["GOGC"]},
				GOMEMLIMIT: effective.Setting{Name: "GOMEMLIMIT", Value: "no limit", Live: true, Source: effective.GoDefault, Reason: "Go's default: no memory limit (GOMEMLIMIT unset)"},
				GOMAXPROCS: effective.Setting{Name: "GOMAXPROCS", Value: "2", Live: true, Source: effective.ContainerDefault, Reason: "Go's default: the cgroup CPU quota of 2 CPUs <limits>"},
			},
			Cgroup: &cgroup.Stats{PID: 4242, Mode: cgroup.ModeV2,
				CPU:    &cgroup.CPU{Levels: []cgroup.CPULevel{{Path: "/api.slice", HasQuota: true, Quota: cgroup.CPUQuota{QuotaUsec: 200000, PeriodUsec: 100000, Limited: true}}}, Effective: cgroup.CPUQuota{QuotaUsec: 200000, PeriodUsec: 100000, Limited: true}, From: "/api.slice"},
				Memory: &cgroup.Memory{Levels: []cgroup.MemoryLevel{{Path: "/api.slice", Limit: 1 << 30, Limited: true}}, Limit: 1 << 30, Limited: true, From: "/api.slice"}},
		},
	}
	if after {
		ex := *sess.Facts.Settings
		ex.GOMEMLIMIT = effective.Setting{Name: "GOMEMLIMIT", Value: "768MiB", Live: true, Source: effective.FromEnv, Reason: "set in the environment", Env: "768MiB"}
		sess.Facts.Settings = &ex
	}
	cycles := 0.0
	for i := range n {
		phase := float64(i%10) / 10
		live := 48<<20 + 8<<20*math.Sin(float64(i)/7)
		rate := 2.0 * (1 - 0.7*bool01(after))
		cycles += rate
		p := session.Point{Sample: session.Sample{Time: start.Add(time.Duration(i) * time.Second), Source: "agent",
			Values: map[string]float64{
				session.HeapLive:    live,
				session.HeapGoal:    live * (1 + gogc/100),
				session.HeapObjects: live * (1 + phase*gogc/100),
				session.GOMEMLIMIT:  limit,
				session.GOGC:        gogc,
				session.GOMAXPROCS:  2,
				session.GCCycles:    cycles,
				session.Goroutines:  40 + float64(i/3),
				session.ProcessRSS:  160<<20 + live*(gogc/100),
			}},
			Derived: map[string]float64{
				session.GCCPU:          gcCPU + 0.02*math.Cos(float64(i)/5),
				session.GCRate:         rate + 0.3*math.Sin(float64(i)/3),
				session.PauseP99:       0.0004 + 0.0002*phase,
				session.SchedLatP99:    0.002 + 0.001*math.Sin(float64(i)/4),
				session.ProcessCPUFrac: 0.8 + 0.2*math.Cos(float64(i)/6),
				session.AllocRate:      150 << 20,
			}}
		if i == 37 {
			p.Derived[session.PauseP99] = 0.012 // one slow pause the curve must keep
		}
		sess.Points = append(sess.Points, p)
	}
	s := snapshot.FromSession(sess, name, "v0.1.0-test", start, start.Add((n-1)*time.Second))
	s.Manifest.Notes = []string{"block profile: not served (the program never called runtime.SetBlockProfileRate)"}
	end := start.Add((n - 1) * time.Second)
	prof := func(k profile.Kind, file string) *profile.Captured {
		raw := readProfile(t, file)
		p, err := profile.ParseBytes(raw)
		if err != nil {
			t.Fatal(err)
		}
		c := &profile.Captured{Kind: k, Raw: raw, Profile: p, Scope: profile.ScopeInstant, From: end, To: end, FetchedAt: end}
		switch {
		case k.Timed():
			c.Scope, c.From = profile.ScopeCapture, end.Add(-10*time.Second)
		case k.Cumulative():
			c.Scope, c.From = profile.ScopeWindow, start
		}
		return c
	}
	s.Profiles = map[profile.Kind]*profile.Captured{}
	add := func(k profile.Kind, file string) { s.Profiles[k] = prof(k, file) }
	if after {
		add(profile.KindCPU, "cpu.pb.gz")
		add(profile.KindHeap, "heap.pb.gz")
		add(profile.KindAllocs, "allocs.pb.gz")
		add(profile.KindGoroutine, "goroutine.pb.gz")
	} else {
		add(profile.KindCPU, "cpu_base.pb.gz")
		add(profile.KindHeap, "heap_base.pb.gz")
		add(profile.KindGoroutine, "goroutine.pb.gz")
		add(profile.KindMutex, "mutex.pb.gz")
	}
	s.GoroutineDump = readProfile(t, "goroutine.txt")
	gs, err := profile.ParseGoroutineDumpBytes(s.GoroutineDump)
	if err != nil {
		t.Fatal(err)
	}
	groups := profile.GroupGoroutines(gs, profile.GroupOptions{})
	if !after && len(groups) > 2 {
		groups = groups[1:] // one group fewer before, so the comparison has a change
	}
	s.Goroutines = groups
	adv := fixtureAdvice(start, after)
	s.Advice = &adv
	return s
}

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixtureAdvice is a fixed advisor report, so the goldens do not move when
// the advisor's rules are tuned.
func fixtureAdvice(start time.Time, after bool) advisor.Report {
	win := advisor.Span{From: start, To: start.Add(59 * time.Second)}
	gcHigh := advisor.Finding{ID: "gc-cpu-high", Area: advisor.AreaGOGC, Severity: advisor.Warn,
		Title: "The GC uses 22% of the CPU",
		Evidence: []advisor.Evidence{
			{Name: "GC CPU", Value: 0.22, Unit: "fraction", Text: "22.0%", Window: win, Source: "/cpu/classes/gc/total:cpu-seconds ÷ /cpu/classes/total:cpu-seconds"},
			{Name: "allocation rate", Value: 150 << 20, Unit: "bytes/s", Text: "150 MiB/s", Window: win, Source: "/gc/heap/allocs:bytes"},
		},
		Action:       advisor.Action{Kind: advisor.ActionEnv, Text: "GOGC=400", Note: "restart the process with it"},
		Alternatives: []advisor.Action{{Kind: advisor.ActionCode, Text: "debug.SetGCPercent(400)"}},
		Predicted:    &advisor.Prediction{Text: "GC CPU 5.1–7.9% (from 22%), peak heap about 240 MiB", Metric: session.GCCPU, Unit: "fraction", Low: 0.051, High: 0.079},
		Confidence:   advisor.High,
		Source:       advisor.Citation{Text: "A Guide to the Go Garbage Collector, GOGC", URL: "https://go.dev/doc/gc-guide#GOGC"},
	}
	leak := advisor.Finding{ID: "goroutine-leak", Area: advisor.AreaRuntime, Severity: advisor.Crit,
		Title:      "Goroutines grow by 20 a minute in main.chanWaiter <leak>",
		Evidence:   []advisor.Evidence{{Name: "goroutine growth", Value: 0.33, Unit: "goroutines/s", Text: "+20/min (r² 0.98)", Window: win, Source: session.Goroutines}},
		Action:     advisor.Action{Kind: advisor.ActionCode, Text: "close the channel main.chanWaiter waits on | or cancel its context", Note: "the group grows in every dump"},
		Confidence: advisor.Medium,
		Source:     advisor.Citation{Text: "gotune goroutine growth rule"},
	}
	memLimit := advisor.Finding{ID: "memlimit-missing", Area: advisor.AreaGOMEMLIMIT, Severity: advisor.Warn,
		Title:      "No GOMEMLIMIT under a 1 GiB container limit",
		Evidence:   []advisor.Evidence{{Name: "container memory limit", Value: 1 << 30, Unit: "bytes", Text: "1.0 GiB", Source: "memory.max"}},
		Action:     advisor.Action{Kind: advisor.ActionEnv, Text: "GOMEMLIMIT=921MiB"},
		Predicted:  &advisor.Prediction{Text: "the GC works harder before an OOM kill instead of after"},
		Confidence: advisor.Medium,
		Source:     advisor.Citation{Text: "A Guide to the Go Garbage Collector, Memory limit", URL: "https://go.dev/doc/gc-guide#Memory_limit"},
	}
	thp := advisor.Finding{ID: "thp-always", Area: advisor.AreaNUMA, Severity: advisor.Info,
		Title:      "Transparent huge pages are set to always",
		Evidence:   []advisor.Evidence{{Name: "THP", Text: "always", Source: "/sys/kernel/mm/transparent_hugepage/enabled"}},
		Action:     advisor.Action{Kind: advisor.ActionCommand, Text: "echo madvise > /sys/kernel/mm/transparent_hugepage/enabled"},
		Confidence: advisor.Low,
		Source:     advisor.Citation{Text: "Go GC guide, Linux transparent huge pages"},
	}
	wi := &advisor.WhatIf{
		Observed: advisor.GCObservation{GOGC: 100, Procs: 2, LiveHeap: 48 << 20, Roots: 1 << 20, AllocRate: 150 << 20,
			Cycles: 120, CPUPerCycle: 0.22, Runway: 0.9, HeapGoal: advisor.Estimate{Value: 97 << 20, Low: 90 << 20, High: 104 << 20},
			GCCPU: advisor.Estimate{Value: 0.22, Low: 0.2, High: 0.24}, CycleRate: advisor.Estimate{Value: 2, Low: 1.8, High: 2.2}, Segments: 6, Noise: 0.04},
		Rows: []advisor.WhatIfRow{
			{Setting: "GOGC=100", GOGC: 100, Current: true, HeapGoal: advisor.Estimate{Value: 97 << 20, Low: 92 << 20, High: 102 << 20},
				PeakMemory: advisor.Estimate{Value: 130 << 20, Low: 125 << 20, High: 135 << 20},
				CycleRate:  advisor.Estimate{Value: 2, Low: 1.6, High: 2.4}, GCCPU: advisor.Estimate{Value: 0.22, Low: 0.15, High: 0.29}},
			{Setting: "GOGC=200", GOGC: 200, HeapGoal: advisor.Estimate{Value: 146 << 20, Low: 139 << 20, High: 153 << 20},
				PeakMemory: advisor.Estimate{Value: 179 << 20, Low: 172 << 20, High: 186 << 20},
				CycleRate:  advisor.Estimate{Value: 1, Low: 0.8, High: 1.2}, GCCPU: advisor.Estimate{Value: 0.11, Low: 0.08, High: 0.14}},
			{Setting: "GOGC=400", GOGC: 400, HeapGoal: advisor.Estimate{Value: 243 << 20, Low: 231 << 20, High: 255 << 20},
				PeakMemory: advisor.Estimate{Value: 276 << 20, Low: 264 << 20, High: 288 << 20},
				CycleRate:  advisor.Estimate{Value: 0.5, Low: 0.4, High: 0.6}, GCCPU: advisor.Estimate{Value: 0.055, Low: 0.04, High: 0.07}},
		},
		Target: 0.1, Budget: 921 << 20, Recommended: 2,
		Reason: "GOGC=400 is the setting with the least memory (peak 276 MiB) whose GC CPU stays under 10.0% (predicted 4.0%–7.0%) within the 921 MiB memory budget",
	}
	if after {
		return advisor.Report{Window: win, Samples: 60, Findings: []advisor.Finding{thp},
			Skipped: []string{"GC what-if model: only 3 GC cycles in the window (the model needs 4)"}}
	}
	return advisor.Report{Window: win, Samples: 60, Findings: []advisor.Finding{leak, gcHigh, memLimit, thp}, WhatIf: wi,
		Skipped: []string{"NUMA: a single node"}}
}
