package advisor

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gotune/gotune/collectors/cgroup"
	"github.com/gotune/gotune/collectors/discover"
	"github.com/gotune/gotune/collectors/effective"
	"github.com/gotune/gotune/collectors/numa"
	"github.com/gotune/gotune/profile"
)

// memCgroup is a cgroup with only a memory limit.
func memCgroup(limit float64) *cgroup.Stats {
	return &cgroup.Stats{PID: 4242, Memory: &cgroup.Memory{Limit: uint64(limit), Limited: true, From: "/app.slice/app.service"}}
}

// cpuCgroup is a cgroup with a CPU quota (in CPUs) on the leaf.
func cpuCgroup(quota float64) *cgroup.Stats {
	q := cgroup.CPUQuota{QuotaUsec: int64(quota * 100000), PeriodUsec: 100000, Limited: true}
	leaf := cgroup.CPULevel{Path: "/app.slice/app.service", Quota: q, HasQuota: true, HasThrottling: true}
	return &cgroup.Stats{PID: 4242, CPU: &cgroup.CPU{Levels: []cgroup.CPULevel{leaf}, Effective: q, From: leaf.Path}}
}

func build(goVersion, godebug string, deps ...string) *discover.Build {
	return &discover.Build{GoVersion: goVersion, GODEBUG: godebug, Deps: deps}
}

// explain runs the effective-settings explanation the PID collectors publish.
func explain(env map[string]string, b *discover.Build, procs int, quota float64) *effective.Explanation {
	in := effective.Input{Env: env, AffinityCPUs: procs, CPUQuota: quota, Live: effective.Live{GOMAXPROCS: effective.LiveValue(float64(procs), true)}}
	if b != nil {
		in.GoVersion, in.DefaultGODEBUG, in.Deps = b.GoVersion, b.GODEBUG, b.Deps
	}
	e := effective.Explain(in)
	return &e
}

func throttle(frac float64) *cgroup.ThrottleRates {
	return &cgroup.ThrottleRates{PeriodsPerSecond: 10, ThrottledFraction: frac, ThrottledSeconds: frac * 0.5}
}

type ruleCase struct {
	name  string
	id    string
	fires bool
	in    func(t *testing.T) Input
	check func(t *testing.T, f Finding) // optional, when it fires
}

func ruleCases() []ruleCase {
	withSynth := func(mod func(*synth), facts func(t *testing.T, f *Facts)) func(t *testing.T) Input {
		return func(t *testing.T) Input {
			s := busy()
			if mod != nil {
				mod(&s)
			}
			in := Input{Points: s.points()}
			if facts != nil {
				facts(t, &in.Facts)
			}
			return in
		}
	}
	quietHost := func(mod func(*synth)) func(*synth) {
		return func(s *synth) {
			*s = healthy()
			if mod != nil {
				mod(s)
			}
		}
	}
	mallocStacks := map[string][]string{
		"malloc": {"runtime.mallocgcSmallNoscan", "runtime.mallocgc", "runtime.makeslice", "main.buildResponse", "main.handle"},
		"work":   {"main.checksum", "main.handle"},
	}
	allocs := allocsProfile(map[string][]string{
		"resp":  {"runtime.mallocgc", "main.buildResponse", "main.handle"},
		"parse": {"main.parseRequest", "main.handle"},
		"cache": {"main.newCacheEntry", "main.main"},
	}, map[string]int64{"resp": 750 << 20, "parse": 220 << 20, "cache": 30 << 20})
	leakStart := []profile.GoroutineGroup{
		{Count: 5, Frames: []profile.Frame{{Func: "runtime.gopark", Line: 1}, {Func: "main.leakyWorker", File: "/src/main/leak.go", Line: 47}}},
		{Count: 4, Frames: []profile.Frame{{Func: "runtime.gopark", Line: 1}, {Func: "main.serve", Line: 10}}},
	}
	leakEnd := []profile.GoroutineGroup{
		{Count: 35, Frames: leakStart[0].Frames},
		{Count: 4, Frames: leakStart[1].Frames},
	}
	return []ruleCase{
		// GOGC
		{name: "busy demo", id: "gc-cpu-high", fires: true, in: withSynth(nil, nil), check: func(t *testing.T, f Finding) {
			if f.Severity != Crit || f.Action.Kind != ActionEnv || !strings.HasPrefix(f.Action.Text, "GOGC=") || f.Predicted == nil || f.Predicted.High > DefaultGCCPUTarget {
				t.Errorf("want a crit GOGC env action predicting GC CPU under the target, got %s %q %+v", f.Severity, f.Action.Text, f.Predicted)
			}
		}},
		{name: "5% GC CPU", id: "gc-cpu-high", in: withSynth(func(s *synth) { s.cpuPerCycle = 0.05 }, nil)},
		{name: "no memory headroom", id: "gc-cpu-high", in: withSynth(nil, func(t *testing.T, f *Facts) { f.Cgroup = memCgroup(260 * mb) })},
		{name: "assists 9%", id: "gc-assist-high", fires: true, in: withSynth(func(s *synth) { s.assist = 0.3 }, nil)},
		{name: "assists 1.5%", id: "gc-assist-high", in: withSynth(func(s *synth) { s.assist = 0.05 }, nil)},
		{name: "mallocgc 30%", id: "alloc-heavy", fires: true, in: func(t *testing.T) Input {
			return Input{Points: busy().points(), Profiles: Profiles{CPU: cpuProfile(mallocStacks, map[string]int64{"malloc": 30, "work": 70}), Allocs: allocs}}
		}, check: func(t *testing.T, f Finding) {
			if !strings.Contains(f.Action.Text, "main.buildResponse (75.0%)") || strings.Contains(f.Action.Text, "runtime.") {
				t.Errorf("action should name main.buildResponse first and no runtime frame: %q", f.Action.Text)
			}
		}},
		{name: "mallocgc 10%", id: "alloc-heavy", in: func(t *testing.T) Input {
			return Input{Points: busy().points(), Profiles: Profiles{CPU: cpuProfile(mallocStacks, map[string]int64{"malloc": 10, "work": 90}), Allocs: allocs}}
		}},
		{name: "GOGC=off, no limit", id: "gogc-off-no-limit", fires: true, in: withSynth(func(s *synth) { s.gogc = -1 }, nil)},
		{name: "GOGC=off with a limit", id: "gogc-off-no-limit", in: withSynth(func(s *synth) { s.gogc, s.memLimit = -1, 512*mb }, nil)},

		// GOMEMLIMIT
		{name: "1 GiB container, no GOMEMLIMIT", id: "memlimit-missing", fires: true,
			in: withSynth(nil, func(t *testing.T, f *Facts) { f.Cgroup = memCgroup(1 << 30) }), check: func(t *testing.T, f Finding) {
				if f.Action.Text != "GOMEMLIMIT=921MiB" {
					t.Errorf("action %q, want GOMEMLIMIT=921MiB (90%% of 1 GiB)", f.Action.Text)
				}
			}},
		{name: "container with GOMEMLIMIT", id: "memlimit-missing",
			in: withSynth(func(s *synth) { s.memLimit = 900 * mb }, func(t *testing.T, f *Facts) { f.Cgroup = memCgroup(1 << 30) })},
		{name: "limiter engaged", id: "memlimit-too-tight", fires: true,
			in: withSynth(func(s *synth) { s.memLimit, s.limiterAt = 180*mb, 1e6 }, nil), check: func(t *testing.T, f Finding) {
				if f.Severity != Crit || strings.Contains(strings.ToLower(f.Action.Text), "lower gomemlimit") {
					t.Errorf("want crit and no advice to lower the limit: %s %q", f.Severity, f.Action.Text)
				}
			}},
		{name: "loose limit, GC CPU 30%", id: "memlimit-too-tight", in: withSynth(func(s *synth) { s.memLimit = 1 << 30 }, nil)},
		{name: "live heap 81% of limit", id: "live-heap-near-limit", fires: true, in: withSynth(func(s *synth) { s.memLimit = 130 * mb }, nil)},
		{name: "live heap 10% of limit", id: "live-heap-near-limit", in: withSynth(func(s *synth) { s.memLimit = 1 << 30 }, nil)},
		{name: "GOMEMLIMIT above container", id: "memlimit-mismatch", fires: true,
			in: withSynth(func(s *synth) { s.memLimit = 2 << 30 }, func(t *testing.T, f *Facts) { f.Cgroup = memCgroup(1 << 30) }), check: func(t *testing.T, f Finding) {
				if f.Severity != Crit {
					t.Errorf("severity %s, want crit", f.Severity)
				}
			}},
		{name: "GOMEMLIMIT 88% of container", id: "memlimit-mismatch",
			in: withSynth(func(s *synth) { s.memLimit = 900 * mb }, func(t *testing.T, f *Facts) { f.Cgroup = memCgroup(1 << 30) })},

		// GOMAXPROCS
		{name: "8 Ps on 2 CPUs, go1.24, throttled", id: "gomaxprocs-above-quota", fires: true,
			in: withSynth(func(s *synth) { s.procs = 8 }, func(t *testing.T, f *Facts) {
				f.Cgroup, f.Throttle, f.Build = cpuCgroup(2), throttle(0.3), build("go1.24.4", "")
			}), check: func(t *testing.T, f Finding) {
				if f.Action.Text != "GOMAXPROCS=2" {
					t.Errorf("action %q, want GOMAXPROCS=2", f.Action.Text)
				}
			}},
		{name: "8 Ps on 2 CPUs, barely throttled", id: "gomaxprocs-above-quota",
			in: withSynth(func(s *synth) { s.procs = 8 }, func(t *testing.T, f *Facts) {
				f.Cgroup, f.Throttle, f.Build = cpuCgroup(2), throttle(0.02), build("go1.24.4", "")
			})},
		{name: "quota 1, go1.26 picks 2, throttled", id: "gomaxprocs-fractional-quota", fires: true,
			in: withSynth(func(s *synth) { s.procs = 2 }, func(t *testing.T, f *Facts) {
				f.Cgroup, f.Throttle, f.Build = cpuCgroup(1), throttle(0.4), build("go1.26.8", "")
				f.Settings = explain(map[string]string{}, f.Build, 2, 1)
			}), check: func(t *testing.T, f Finding) {
				if f.Action.Text != "GOMAXPROCS=1" {
					t.Errorf("action %q, want GOMAXPROCS=1", f.Action.Text)
				}
			}},
		{name: "quota 1, GOMAXPROCS=2 from env", id: "gomaxprocs-fractional-quota",
			in: withSynth(func(s *synth) { s.procs = 2 }, func(t *testing.T, f *Facts) {
				f.Cgroup, f.Throttle, f.Build = cpuCgroup(1), throttle(0.4), build("go1.26.8", "")
				f.Env = map[string]string{"GOMAXPROCS": "2"}
				f.Settings = explain(f.Env, f.Build, 2, 1)
			})},
		{name: "old go.mod under a quota", id: "containermaxprocs-off", fires: true,
			in: withSynth(func(s *synth) { s.procs = 8 }, func(t *testing.T, f *Facts) {
				f.Cgroup, f.Build = cpuCgroup(2), build("go1.26.8", "containermaxprocs=0,updatemaxprocs=0")
				f.Env = map[string]string{}
			}), check: func(t *testing.T, f Finding) {
				if f.Action.Kind != ActionCode || !strings.Contains(f.Action.Text, "go mod edit -go=1.25") || f.Severity != Info {
					t.Errorf("want an info go.mod action, got %s %q", f.Severity, f.Action.Text)
				}
			}},
		{name: "container-aware default", id: "containermaxprocs-off",
			in: withSynth(func(s *synth) { s.procs = 2 }, func(t *testing.T, f *Facts) {
				f.Cgroup, f.Build, f.Env = cpuCgroup(2), build("go1.26.8", ""), map[string]string{}
			})},
		{name: "automaxprocs on go1.25 under a 1.5-CPU quota", id: "automaxprocs-go125", fires: true,
			in: withSynth(func(s *synth) { s.procs = 1 }, func(t *testing.T, f *Facts) {
				f.Build, f.Cgroup, f.Env = build("go1.25.3", "", effective.AutomaxprocsModule), cpuCgroup(1.5), map[string]string{}
			}), check: func(t *testing.T, f Finding) {
				if f.Predicted == nil || f.Predicted.Low != 2 || !strings.Contains(f.Title, "GOMAXPROCS=1") {
					t.Errorf("want automaxprocs's 1 (⌊1.5⌋) against Go's own 2 (⌈1.5⌉): %q %+v", f.Title, f.Predicted)
				}
			}},
		{name: "automaxprocs on go1.24", id: "automaxprocs-go125",
			in: withSynth(nil, func(t *testing.T, f *Facts) {
				f.Build, f.Cgroup = build("go1.24.9", "", effective.AutomaxprocsModule), cpuCgroup(1.5)
			})},
		// A real idle server: Go 1.25, automaxprocs linked, no CPU quota
		// (automaxprocs logged "Leaving GOMAXPROCS=2: CPU quota undefined"),
		// GOMAXPROCS 2 from the 2-CPU affinity mask.
		{name: "automaxprocs on a host without a CPU quota", id: "automaxprocs-go125",
			in: withSynth(func(s *synth) { *s = idleServer() }, func(t *testing.T, f *Facts) {
				f.Build, f.Env = build("go1.25.3", "", effective.AutomaxprocsModule), map[string]string{}
				f.Cgroup = &cgroup.Stats{PID: 4242, CPU: &cgroup.CPU{Levels: []cgroup.CPULevel{{Path: "/user.slice", HasThrottling: true}}}}
				f.Settings = explain(f.Env, f.Build, 2, 0)
			})},
		{name: "pod quota 1 CPU, container 4", id: "parent-quota-tighter", fires: true,
			in: withSynth(func(s *synth) { s.procs = 4 }, func(t *testing.T, f *Facts) { f.Cgroup = cgroupOf(t, "v2-parent-tighter") }),
			check: func(t *testing.T, f Finding) {
				if f.Action.Text != "GOMAXPROCS=1" {
					t.Errorf("action %q, want GOMAXPROCS=1", f.Action.Text)
				}
			}},
		{name: "pod quota 1 CPU, GOMAXPROCS 1", id: "parent-quota-tighter",
			in: withSynth(func(s *synth) { s.procs = 1 }, func(t *testing.T, f *Facts) { f.Cgroup = cgroupOf(t, "v2-parent-tighter") })},
		{name: "6 runnable on 2 busy Ps, p99 100 ms", id: "cpu-saturated", fires: true,
			in: withSynth(func(s *synth) { s.runnable, s.schedP99, s.cpu = 6, 0.05, 1.9 }, nil)},
		{name: "6 runnable on 2 busy Ps, p99 1 ms", id: "cpu-saturated",
			in: withSynth(func(s *synth) { s.runnable, s.schedP99, s.cpu = 6, 0.0005, 1.9 }, nil)},
		// A real idle server on a loaded 2-core host: the runnable count
		// above GOMAXPROCS and a 50 ms p99 scheduling latency, at 0.01
		// cores of process CPU: its goroutines wait on the host, not on Ps.
		{name: "idle server at 0.01 cores", id: "cpu-saturated",
			in: withSynth(func(s *synth) { *s = idleServer(); s.runnable, s.schedP99 = 3, 0.05 }, nil)},

		// NUMA
		{name: "two sockets, 31% remote", id: "numa-remote-memory", fires: true,
			in: withSynth(nil, func(t *testing.T, f *Facts) { f.Topology, f.NUMASettings, f.NUMAProcess = numaOf(t, "numa-2node") }),
			check: func(t *testing.T, f Finding) {
				if !strings.Contains(f.Action.Text, "numactl --cpunodebind=0 --membind=0") || len(f.Alternatives) == 0 || !strings.Contains(f.Alternatives[0].Text, "--interleave=all") {
					t.Errorf("want numactl bind and interleave actions, got %q %+v", f.Action.Text, f.Alternatives)
				}
			}},
		{name: "two sockets, memory local", id: "numa-remote-memory",
			in: withSynth(nil, func(t *testing.T, f *Facts) {
				f.Topology, f.NUMASettings, f.NUMAProcess = numaOf(t, "numa-2node")
				np := *f.NUMAProcess
				np.ThreadNodes = []numa.ThreadNodes{{Node: 0, Threads: 4}}
				f.NUMAProcess = &np
			})},
		{name: "balancing, 50 ms pauses", id: "numa-balancing-pauses", fires: true,
			in: withSynth(func(s *synth) { s.pauseP99 = 0.05 }, func(t *testing.T, f *Facts) { f.Topology, f.NUMASettings, f.NUMAProcess = numaOf(t, "numa-2node") })},
		{name: "balancing, short pauses", id: "numa-balancing-pauses",
			in: withSynth(func(s *synth) { s.pauseP99 = 0.0005 }, func(t *testing.T, f *Facts) { f.Topology, f.NUMASettings, f.NUMAProcess = numaOf(t, "numa-2node") })},
		{name: "2 GiB heap, THP never", id: "thp-heap-size", fires: true,
			in: withSynth(func(s *synth) { s.live = 1 << 30 }, func(t *testing.T, f *Facts) {
				f.NUMASettings = &numa.Settings{THPEnabled: "never", THPDefrag: "madvise"}
			})},
		{name: "200 MiB heap, THP never", id: "thp-heap-size",
			in: withSynth(nil, func(t *testing.T, f *Facts) {
				f.NUMASettings = &numa.Settings{THPEnabled: "never", THPDefrag: "madvise"}
			})},
		{name: "small heap, THP always, RSS 3× Go memory", id: "thp-heap-size", fires: true,
			in: withSynth(func(s *synth) { s.rss = 900 * mb }, func(t *testing.T, f *Facts) {
				f.NUMASettings = &numa.Settings{THPEnabled: "always", THPDefrag: "madvise"}
			})},
		{name: "small heap, THP always, RSS ≈ Go memory", id: "thp-heap-size",
			in: withSynth(nil, func(t *testing.T, f *Facts) {
				f.NUMASettings = &numa.Settings{THPEnabled: "always", THPDefrag: "madvise"}
			})},

		// Goroutines, mutexes, finalizers
		{name: "one leaked goroutine a second", id: "goroutine-leak", fires: true,
			in: func(t *testing.T) Input {
				s := healthy()
				s.goroutines = func(i int) float64 { return float64(20 + i) }
				return Input{Points: s.points(), Profiles: Profiles{GoroutinesStart: leakStart, GoroutinesEnd: leakEnd}}
			}, check: func(t *testing.T, f Finding) {
				if !strings.Contains(f.Title, "main.leakyWorker") || !strings.Contains(f.Action.Text, "main.leakyWorker") {
					t.Errorf("the growing group should be named: %q / %q", f.Title, f.Action.Text)
				}
			}},
		{name: "goroutines breathing with load", id: "goroutine-leak",
			in: withSynth(quietHost(func(s *synth) { s.goroutines = func(i int) float64 { return float64(30 + 15*(i%4)) } }), nil)},
		{name: "mutex wait 3 s/s, no profile", id: "mutex-wait-high", fires: true,
			in: withSynth(func(s *synth) { s.mutexWait = 3 }, nil), check: func(t *testing.T, f Finding) {
				if f.Action.Text != "runtime.SetMutexProfileFraction(5)" {
					t.Errorf("without a mutex profile the action should enable it: %q", f.Action.Text)
				}
			}},
		{name: "mutex wait 3 s/s, profile", id: "mutex-wait-high", fires: true,
			in: func(t *testing.T) Input {
				s := busy()
				s.mutexWait = 3
				mp := mutexProfile(map[string][]string{"c": {"sync.(*Mutex).Unlock", "main.contendedCounter"}}, map[string]int64{"c": 9e9})
				return Input{Points: s.points(), Profiles: Profiles{Mutex: mp}}
			}, check: func(t *testing.T, f Finding) {
				if !strings.Contains(f.Action.Text, "main.contendedCounter") {
					t.Errorf("the lock holder should be named: %q", f.Action.Text)
				}
			}},
		{name: "mutex wait 10 ms/s", id: "mutex-wait-high", in: withSynth(func(s *synth) { s.mutexWait = 0.01 }, nil)},
		{name: "finalizers pile up", id: "finalizer-backlog", fires: true,
			in: withSynth(func(s *synth) {
				s.finalizers = func(i int) (float64, float64) { return float64(100 * i), float64(10 * i) }
			}, nil)},
		{name: "finalizers keep up", id: "finalizer-backlog",
			in: withSynth(func(s *synth) {
				s.finalizers = func(i int) (float64, float64) { return float64(100 * i), float64(100*i - 3) }
			}, nil)},
	}
}

func TestRules(t *testing.T) {
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range append(ruleCases(), traceRuleCases()...) {
		if tc.fires {
			fires[tc.id] = true
		} else {
			quiet[tc.id] = true
		}
		t.Run(tc.id+"/"+tc.name, func(t *testing.T) {
			r := Advise(tc.in(t), Config{})
			f, ok := r.Find(tc.id)
			if ok != tc.fires {
				var ids []string
				for _, f := range r.Findings {
					ids = append(ids, f.ID)
				}
				t.Fatalf("%s fired = %v, want %v (findings: %v; skipped: %v)", tc.id, ok, tc.fires, ids, r.Skipped)
			}
			if !ok {
				return
			}
			validFinding(t, f)
			if tc.check != nil {
				tc.check(t, f)
			}
		})
	}
	for _, ri := range Rules() {
		if !fires[ri.ID] || !quiet[ri.ID] {
			t.Errorf("rule %s lacks a fixture where it fires (%v) or one where it does not (%v)", ri.ID, fires[ri.ID], quiet[ri.ID])
		}
	}
}

// validFinding checks what every finding must carry (the list).
func validFinding(t *testing.T, f Finding) {
	t.Helper()
	if f.Severity < Info || f.Severity > Crit || f.Title == "" || f.Area == "" || f.Source.Text == "" || f.Source.URL == "" {
		t.Errorf("%s: incomplete finding header: %+v", f.ID, f)
	}
	if len(f.Evidence) == 0 {
		t.Errorf("%s: no evidence", f.ID)
	}
	for _, e := range f.Evidence {
		if e.Name == "" || e.Text == "" || e.Source == "" {
			t.Errorf("%s: evidence without name, text or source: %+v", f.ID, e)
		}
	}
	if f.Action.Text == "" || (f.Action.Kind != ActionEnv && f.Action.Kind != ActionCode && f.Action.Kind != ActionCommand) {
		t.Errorf("%s: action %+v", f.ID, f.Action)
	}
	if f.Predicted == nil || f.Predicted.Text == "" || f.Predicted.Low > f.Predicted.High {
		t.Errorf("%s: prediction %+v", f.ID, f.Predicted)
	}
	if f.Confidence != High && f.Confidence != Medium && f.Confidence != Low {
		t.Errorf("%s: confidence %q", f.ID, f.Confidence)
	}
}

// healthyInput is an idle, healthy process with every fact a PID attach
// gives: no rule may fire on it.
func healthyInput(t *testing.T) Input {
	s := healthy()
	b := build("go1.26.8", "")
	env := map[string]string{}
	topo, set, np := numaOf(t, "numa-1node")
	groups := []profile.GoroutineGroup{{Count: 4, Frames: []profile.Frame{{Func: "runtime.gopark"}, {Func: "net/http.(*Server).Serve"}}}}
	return Input{Points: s.points(),
		Facts: Facts{Cgroup: &cgroup.Stats{PID: 4242, CPU: &cgroup.CPU{Levels: []cgroup.CPULevel{{Path: "/"}}}, Memory: &cgroup.Memory{}},
			Throttle: throttle(0), Build: b, Env: env, Settings: explain(env, b, 2, 0),
			Topology: topo, NUMASettings: set, NUMAProcess: np},
		Profiles: Profiles{
			CPU:             cpuProfile(map[string][]string{"idle": {"main.tick", "main.main"}}, map[string]int64{"idle": 3}),
			Allocs:          allocsProfile(map[string][]string{"a": {"main.tick"}}, map[string]int64{"a": 1 << 20}),
			Mutex:           mutexProfile(map[string][]string{}, nil),
			GoroutinesStart: groups, GoroutinesEnd: groups,
		}}
}

func TestHealthyProcessHasNoFindings(t *testing.T) {
	r := Advise(healthyInput(t), Config{})
	for _, f := range r.Findings {
		t.Errorf("%s fired on a healthy process: %s", f.ID, f.Title)
	}
	if wi := r.WhatIf; wi != nil && wi.Recommended >= 0 {
		t.Errorf("what-if recommends %s for a healthy process", wi.Rows[wi.Recommended].Setting)
	}
}

func TestFindingsSortedBySeverity(t *testing.T) {
	s := busy()
	s.gogc, s.mutexWait = -1, 0.2
	r := Advise(Input{Points: s.points()}, Config{})
	if len(r.Findings) < 2 {
		t.Fatalf("want several findings, got %+v", r.Findings)
	}
	if !slices.IsSortedFunc(r.Findings, func(a, b Finding) int { return int(b.Severity - a.Severity) }) {
		t.Errorf("findings not sorted by severity: %+v", r.Findings)
	}
	if r.Worst() != Crit || len(r.AtLeast(Crit)) == 0 {
		t.Errorf("worst %s, want crit", r.Worst())
	}
}

func TestConfigThresholdsApply(t *testing.T) {
	s := busy()
	s.cpuPerCycle = 0.05 // 5% GC CPU: quiet by default
	in := Input{Points: s.points()}
	if _, ok := Advise(in, Config{}).Find("gc-cpu-high"); ok {
		t.Fatal("gc-cpu-high fired at 5% with the default threshold")
	}
	r := Advise(in, Config{GCCPUHigh: 0.03, GCCPUTarget: 0.02})
	if _, ok := r.Find("gc-cpu-high"); !ok {
		t.Errorf("gc-cpu-high did not fire at 5%% with GCCPUHigh 3%%: %+v %v", r.Findings, r.Skipped)
	}
}

func TestReportJSONRoundTrip(t *testing.T) {
	r := Advise(Input{Points: busy().points()}, Config{})
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Findings) != len(r.Findings) || back.Findings[0].Severity != r.Findings[0].Severity || !strings.Contains(string(b), `"severity":"crit"`) {
		t.Errorf("JSON round trip lost findings or severities: %s", b)
	}
}

// Every rule ID is documented in docs/advice.md.
func TestRulesDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "advice.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, ri := range Rules() {
		if !strings.Contains(string(doc), "`"+ri.ID+"`") {
			t.Errorf("docs/advice.md does not document %s", ri.ID)
		}
	}
	for _, c := range []string{"MinSamplesFacts", "MinSamplesRate", "MinSamplesGC", "MinSamplesTrend", "`" + WhatIfID + "`", "report.skips"} {
		if !strings.Contains(string(doc), c) {
			t.Errorf("docs/advice.md does not mention %s", c)
		}
	}
}
