package advisor

import (
	"fmt"
	"math"
	"slices"

	"github.com/gotune/gotune/collectors/effective"
	"github.com/gotune/gotune/session"
)

var gomaxprocsRules = []rule{
	{ID: "gomaxprocs-above-quota", Area: AreaGOMAXPROCS, Title: "GOMAXPROCS is above the CPU quota and the cgroup is throttled",
		Source: srcGo125Procs, MinSamples: MinSamplesRate, check: checkAboveQuota},
	{ID: "gomaxprocs-fractional-quota", Area: AreaGOMAXPROCS, Title: "A CPU quota under 2 CPUs where Go ≥1.25 picks GOMAXPROCS=2, with throttling",
		Source: srcGo125Procs, MinSamples: MinSamplesRate, check: checkFractionalQuota},
	{ID: "containermaxprocs-off", Area: AreaGOMAXPROCS, Title: "Go's container-aware GOMAXPROCS is off (containermaxprocs=0 from an old go.mod, or an explicit GOMAXPROCS) under a lower CPU quota",
		Source: srcGo125Procs, MinSamples: MinSamplesFacts, check: checkContainerMaxprocsOff},
	{ID: "automaxprocs-go125", Area: AreaGOMAXPROCS, Title: "go.uber.org/automaxprocs on Go ≥1.25: it freezes GOMAXPROCS and turns off the runtime's own updates",
		Source: srcGo125Procs, MinSamples: MinSamplesFacts, check: checkAutomaxprocs},
	{ID: "parent-quota-tighter", Area: AreaGOMAXPROCS, Title: "A parent cgroup's CPU quota is tighter than the leaf Go reads",
		Source: srcGoLeafCgroup, MinSamples: MinSamplesFacts, check: checkParentQuota},
	{ID: "cpu-saturated", Area: AreaGOMAXPROCS, Title: "CPU saturation: more runnable goroutines than GOMAXPROCS with high scheduling latency",
		Source: srcSchedMetrics, MinSamples: MinSamplesRate, check: checkCPUSaturated},
}

// needProcs returns GOMAXPROCS, or records that the running rule could
// not run without it.
func (c *check) needProcs() (int, bool) {
	p, ok := c.gomaxprocs()
	if !ok {
		c.cannot("GOMAXPROCS is unknown: no /sched/gomaxprocs:threads "+c.via()+" (go_sched_gomaxprocs_threads) and no environment read", enableAgent+"; or "+enablePID)
	}
	return p, ok
}

// needQuota returns the CPU quotas, or records that the running rule
// could not run without the cgroup CPU facts.
func (c *check) needQuota() (cpuQuota, bool) {
	q, ok := c.cpuQuota()
	if !ok {
		c.cannot("no cgroup CPU facts (quota, throttling): a URL target's cgroup is out of reach", enablePID)
	}
	return q, ok
}

// needBuild returns the build info, or records that the running rule
// could not run without it.
func (c *check) needBuild() bool {
	if c.in.Facts.Build == nil {
		c.cannot("no build info of the executable (Go version, DefaultGODEBUG, linked modules)", enablePID+" (it reads /proc/PID/exe)")
		return false
	}
	return true
}

// needThrottle records that the running rule found a quota to check but
// no throttling figures.
func (c *check) needThrottle() {
	c.cannot("no throttling figures (cpu.stat nr_throttled, nr_periods) for the cgroup", enablePID+"; cgroup v1 needs the cpu controller mounted")
}

// throttleEvidence returns the throttling evidence and whether it is above
// the threshold.
func (c *check) throttled() (frac float64, ev []Evidence, ok bool) {
	r, src, ok := c.throttle()
	if !ok {
		return 0, nil, false
	}
	ev = []Evidence{
		c.ev("throttled periods", r.ThrottledFraction, "fraction", pct(r.ThrottledFraction)+" of CFS periods", src+" (nr_throttled ÷ nr_periods)"),
		c.ev("throttled time", r.ThrottledSeconds, "seconds/s", secs(r.ThrottledSeconds)+" per second", src+" (throttled_usec / throttled_time)"),
	}
	return r.ThrottledFraction, ev, r.ThrottledFraction >= c.cfg.ThrottleHigh
}

func (c *check) explainedProcs() (effective.Setting, bool) {
	if s := c.in.Facts.Settings; s != nil {
		return s.GOMAXPROCS, true
	}
	return effective.Setting{}, false
}

func procsEvidence(p int, c *check) Evidence {
	text := fmt.Sprint(p)
	if s, ok := c.explainedProcs(); ok {
		text += ": " + s.Reason
	}
	e := c.settingEvidence("GOMAXPROCS", session.GOMAXPROCS, float64(p), text)
	e.Unit = "threads"
	return e
}

// fractionalCase is the Go ≥1.25 default of 2 under a quota below 2.
func (c *check) fractionalCase(p int, q cpuQuota) bool {
	s, _ := c.explainedProcs()
	return c.goMinor() >= 25 && q.effective > 0 && q.effective < MinQuotaGOMAXPROCS && p == MinQuotaGOMAXPROCS && s.Source != effective.FromEnv
}

func checkAboveQuota(c *check) *Finding {
	p, ok := c.needProcs()
	if !ok {
		return nil
	}
	q, ok := c.needQuota()
	if !ok {
		return nil
	}
	if q.effective <= 0 || float64(p) <= math.Ceil(q.effective) || c.fractionalCase(p, q) {
		return nil
	}
	frac, ev, hot := c.throttled()
	if ev == nil {
		c.needThrottle()
		return nil
	}
	if !hot {
		return nil
	}
	want := max(1, int(math.Floor(q.effective)))
	f := &Finding{Severity: Warn, Title: fmt.Sprintf("GOMAXPROCS=%d on a %s-CPU quota: the quota runs out in %s of periods and every thread stalls", p, trimFloat(q.effective), pct(frac))}
	if frac >= 0.5 {
		f.Severity = Crit
	}
	f.Evidence = append([]Evidence{procsEvidence(p, c), fact("CPU quota", q.effective, "cpus", trimFloat(q.effective)+" CPUs on "+q.from, "cpu.max / cpu.cfs_quota_us ÷ cpu.cfs_period_us")}, ev...)
	f.Action = Action{Kind: ActionEnv, Text: fmt.Sprintf("GOMAXPROCS=%d", want), Note: "the quota rounded down, so parallel bursts cannot exhaust it"}
	if c.goMinor() >= 25 {
		f.Alternatives = []Action{{Kind: ActionEnv, Text: "unset GOMAXPROCS", Note: "Go ≥1.25 then follows the quota by itself (rounded up, at least 2)"}}
	}
	f.Predicted = c.throttlePrediction(frac, q.effective)
	if a, ok := c.raiseQuota(q.effective); ok {
		f.Alternatives = append(f.Alternatives, a)
	}
	f.Confidence = Medium
	return f
}

// cpuBoundAtQuota is the share of the quota the process used: at 90% or
// more it is CPU-bound at its quota, and fewer Ps move its waiting from
// throttled periods into Go's run queue rather than removing it (measured by
// TestExperimentCgroupThrottling: throttling 47% → 1.5%, p99 latency up).
const cpuBoundAtQuota = 0.9

// throttlePrediction says what a lower GOMAXPROCS does to throttling, and,
// honestly, to latency: that depends on whether the work fits the quota.
func (c *check) throttlePrediction(now, quota float64) *Prediction {
	p := &Prediction{Metric: "throttled-fraction", Unit: "fraction", Low: 0, High: c.cfg.ThrottleHigh}
	use := statsOf(c.w.derived(session.ProcessCPUFrac))
	if use.n > 0 && quota > 0 && use.mean >= cpuBoundAtQuota*quota {
		// CPU-bound at the quota: with Ps ≤ the quota, only the runtime's
		// threads without a P (sysmon, the netpoller) push a period over
		// it, so short throttles remain in some periods but throttled time
		// all but vanishes (measured: 624 ms/s → 3 ms/s, periods 100% → 16%).
		now := 0.0
		if r, _, ok := c.throttle(); ok {
			now = r.ThrottledSeconds
		}
		p.Metric, p.Unit, p.High = "throttled-time", "seconds/s", maxThrottledTimeAfter
		if ps := max(1, math.Floor(quota)); ps > quota {
			// A quota below one CPU: one P still runs a whole CPU's worth,
			// so its thread is throttled for what exceeds the quota in
			// each period (measured with a 0.5-CPU quota: 522 → 247 ms/s).
			p.High = ps - quota + maxThrottledTimeAfter
			p.Text = fmt.Sprintf("throttled time falls from %s/s to at most %s/s: with a %s-CPU quota even one P can run more than the quota allows, so throttling remains; the process uses %.2f of its quota and stays CPU-bound, so request latency need not improve (it can get worse) — give it at least one CPU",
				secs(now), secs(p.High), trimFloat(quota), use.mean)
			return p
		}
		p.Text = fmt.Sprintf("throttled time falls from %s/s to under %s/s (short throttles may remain in some periods); but the process uses %.2f of its %s-CPU quota, so it stays CPU-bound: goroutines then wait in Go's run queue instead of in throttled periods and request latency need not improve (it can get worse) — give it more CPU for latency",
			secs(now), secs(maxThrottledTimeAfter), use.mean, trimFloat(quota))
		return p
	}
	p.Text = fmt.Sprintf("throttled periods fall from %s to under %s, and with them the stalls of up to the rest of a 100 ms CFS period that throttled threads wait; the work fits the quota", pct(now), pct(c.cfg.ThrottleHigh))
	return p
}

// maxThrottledTimeAfter bounds the throttled time per second predicted once
// Ps no longer exceed the quota of a CPU-bound process: 5% of wall time
// (heuristic, an order of magnitude above what TestExperimentCgroupThrottling
// measures).
const maxThrottledTimeAfter = 0.05

// raiseQuota is the alternative for a process CPU-bound at its quota.
func (c *check) raiseQuota(quota float64) (Action, bool) {
	use := statsOf(c.w.derived(session.ProcessCPUFrac))
	if use.n == 0 || use.mean < cpuBoundAtQuota*quota {
		return Action{}, false
	}
	want := max(2, int(math.Ceil(quota))+1)
	return Action{Kind: ActionCommand, Text: fmt.Sprintf("raise the CPU quota to %d CPUs (cgroup v2 cpu.max \"%d 100000\"; Kubernetes resources.limits.cpu: %d)", want, want*100000, want),
		Note: "the process is CPU-bound at its quota: more CPU, not fewer Ps, lowers its latency"}, true
}

func trimFloat(v float64) string { return fmt.Sprintf("%.3g", v) }

func checkFractionalQuota(c *check) *Finding {
	p, ok := c.needProcs()
	if !ok {
		return nil
	}
	q, ok := c.needQuota()
	if !ok {
		return nil
	}
	if c.in.Facts.Build == nil && q.effective > 0 && q.effective < MinQuotaGOMAXPROCS && p == MinQuotaGOMAXPROCS {
		c.needBuild() // the Go version decides whether 2 is Go's own choice
		return nil
	}
	if !c.fractionalCase(p, q) {
		return nil
	}
	frac, ev, hot := c.throttled()
	if ev == nil {
		c.needThrottle()
		return nil
	}
	if !hot {
		return nil
	}
	f := &Finding{Severity: Warn, Title: fmt.Sprintf("A %s-CPU quota, but Go ≥1.25 never picks fewer than 2 for a quota: GOMAXPROCS=2 exhausts it in %s of periods", trimFloat(q.effective), pct(frac))}
	f.Evidence = append([]Evidence{procsEvidence(p, c), fact("CPU quota", q.effective, "cpus", trimFloat(q.effective)+" CPUs on "+q.from, "cpu.max / cpu.cfs_quota_us ÷ cpu.cfs_period_us")}, ev...)
	f.Action = Action{Kind: ActionEnv, Text: "GOMAXPROCS=1", Note: "one P cannot burn a sub-2-CPU quota in parallel bursts"}
	f.Alternatives = []Action{{Kind: ActionCommand, Text: "raise the CPU quota to 2 CPUs (cgroup v2 cpu.max \"200000 100000\")", Note: "if the work needs more than one CPU: then GOMAXPROCS=2 fits it"}}
	f.Predicted = c.throttlePrediction(frac, q.effective)
	f.Confidence = Medium
	return f
}

func checkContainerMaxprocsOff(c *check) *Finding {
	p, ok := c.needProcs()
	if !ok {
		return nil
	}
	q, ok := c.needQuota()
	if !ok || q.leaf <= 0 {
		return nil
	}
	if !c.needBuild() || c.goMinor() < 25 {
		return nil
	}
	def := max(MinQuotaGOMAXPROCS, int(math.Ceil(q.leaf)))
	if p <= def {
		return nil
	}
	s, _ := c.explainedProcs()
	val, from := c.godebug("containermaxprocs")
	var why string
	var act Action
	switch {
	case s.Source == effective.FromEnv || c.in.Facts.Env["GOMAXPROCS"] != "":
		why = fmt.Sprintf("GOMAXPROCS=%s is set in the environment", c.in.Facts.Env["GOMAXPROCS"])
		act = Action{Kind: ActionEnv, Text: "unset GOMAXPROCS", Note: fmt.Sprintf("Go then picks %d from the quota and follows quota changes", def)}
	case val == "0" && from == "build":
		why = "the build's DefaultGODEBUG has containermaxprocs=0: its go.mod says go 1.24 or older (or a //go:debug line)"
		act = Action{Kind: ActionCode, Text: "go mod edit -go=1.25", Note: "or add //go:debug containermaxprocs=1 above package main; rebuild"}
	case val == "0":
		why = "GODEBUG=containermaxprocs=0 is set in the environment"
		act = Action{Kind: ActionEnv, Text: "remove containermaxprocs=0 from GODEBUG"}
	default:
		return nil
	}
	f := &Finding{Severity: Info, Title: fmt.Sprintf("Go ignores the %s-CPU quota: %s, so GOMAXPROCS is %d instead of %d", trimFloat(q.leaf), why, p, def)}
	frac, ev, hot := c.throttled()
	if hot {
		f.Severity = Warn
	}
	f.Evidence = append([]Evidence{procsEvidence(p, c), fact("CPU quota (leaf)", q.leaf, "cpus", trimFloat(q.leaf)+" CPUs on "+q.leafPath, "cpu.max / cpu.cfs_quota_us")}, ev...)
	if b := c.in.Facts.Build; b != nil {
		f.Evidence = append(f.Evidence, fact("build", float64(c.goMinor()), "", b.GoVersion+", DefaultGODEBUG="+b.GODEBUG, "build info of the executable"))
	}
	f.Action = act
	f.Alternatives = []Action{{Kind: ActionEnv, Text: fmt.Sprintf("GOMAXPROCS=%d", def), Note: "a fixed value, if the program cannot be rebuilt"}}
	if hot {
		f.Predicted = c.throttlePrediction(frac, q.leaf)
	} else {
		f.Predicted = &Prediction{Text: fmt.Sprintf("GOMAXPROCS becomes %d and follows quota changes; fewer threads contend for the quota", def), Metric: "gomaxprocs", Unit: "threads", Low: float64(def), High: float64(def)}
	}
	f.Confidence = High
	return f
}

func checkAutomaxprocs(c *check) *Finding {
	if !c.needBuild() {
		return nil
	}
	b := c.in.Facts.Build
	if !slices.Contains(b.Deps, effective.AutomaxprocsModule) && !slices.ContainsFunc(b.Tuners, func(t string) bool {
		return len(t) >= len(effective.AutomaxprocsModule) && t[:len(effective.AutomaxprocsModule)] == effective.AutomaxprocsModule
	}) {
		return nil
	}
	if c.goMinor() < 25 {
		return nil
	}
	// automaxprocs (maxprocs.Set) does nothing when GOMAXPROCS is in the
	// environment, and nothing without a CPU quota on the process's own
	// cgroup ("Leaving GOMAXPROCS=N: CPU quota undefined"): then the
	// runtime's own updates stay on and Go still follows the affinity
	// mask. Only under a quota does its runtime.GOMAXPROCS call freeze the
	// value.
	s, _ := c.explainedProcs()
	if _, env := c.in.Facts.Env["GOMAXPROCS"]; env || s.Source == effective.FromEnv {
		return nil
	}
	q, ok := c.cpuQuota()
	if !ok {
		c.cannot(effective.AutomaxprocsModule+" is linked, but without the cgroup CPU facts gotune cannot tell whether a CPU quota made it set (and freeze) GOMAXPROCS", enablePID)
		return nil
	}
	if q.leaf <= 0 {
		return nil // no quota: automaxprocs left GOMAXPROCS alone
	}
	set := max(1, int(math.Floor(q.leaf)))
	goWould := max(MinQuotaGOMAXPROCS, int(math.Ceil(q.leaf)))
	if pr := c.in.Facts.Process; pr != nil && len(pr.CPUsAllowed) > 0 {
		goWould = min(goWould, len(pr.CPUsAllowed))
		set = min(set, len(pr.CPUsAllowed))
	}
	f := &Finding{Severity: Info, Title: fmt.Sprintf("%s set GOMAXPROCS=%d from the %s-CPU quota of a %s binary and froze it: Go now does this itself (it would pick %d and follow quota changes)",
		effective.AutomaxprocsModule, set, trimFloat(q.leaf), b.GoVersion, goWould)}
	f.Evidence = []Evidence{
		fact("build", float64(c.goMinor()), "", b.GoVersion+" links "+effective.AutomaxprocsModule, "build info of the executable"),
		fact("CPU quota (leaf)", q.leaf, "cpus", trimFloat(q.leaf)+" CPUs on "+q.leafPath, "cpu.max / cpu.cfs_quota_us ÷ cpu.cfs_period_us (automaxprocs and Go read the leaf)"),
	}
	if p, ok := c.gomaxprocs(); ok {
		f.Evidence = append(f.Evidence, procsEvidence(p, c))
	}
	f.Action = Action{Kind: ActionCode, Text: `remove the import _ "go.uber.org/automaxprocs" (and go mod tidy)`,
		Note: "Go ≥1.25 sets GOMAXPROCS from the CPU quota itself and updates it when the quota or affinity changes; automaxprocs's runtime.GOMAXPROCS call turns those updates off"}
	f.Predicted = &Prediction{Text: fmt.Sprintf("GOMAXPROCS becomes %d (the quota rounded up, at least 2) instead of %d, and tracks later quota changes", goWould, set),
		Metric: "gomaxprocs", Unit: "threads", Low: float64(goWould), High: float64(goWould)}
	f.Confidence = High
	return f
}

func checkParentQuota(c *check) *Finding {
	p, ok := c.needProcs()
	if !ok {
		return nil
	}
	q, ok := c.needQuota()
	if !ok || q.effective <= 0 || q.from == q.leafPath || (q.leaf > 0 && q.leaf <= q.effective) {
		return nil
	}
	if float64(p) <= math.Ceil(q.effective) {
		return nil
	}
	want := max(1, int(math.Ceil(q.effective)))
	f := &Finding{Severity: Warn, Title: fmt.Sprintf("%s limits the process to %s CPUs, but Go reads only its own cgroup, so GOMAXPROCS is %d", q.from, trimFloat(q.effective), p)}
	f.Evidence = []Evidence{procsEvidence(p, c),
		fact("effective CPU quota", q.effective, "cpus", trimFloat(q.effective)+" CPUs on "+q.from, "cpu.max / cpu.cfs_quota_us of the ancestors"),
		fact("leaf CPU quota", q.leaf, "cpus", leafQuotaText(q), "cpu.max / cpu.cfs_quota_us of "+q.leafPath)}
	frac, ev, hot := c.throttled()
	f.Evidence = append(f.Evidence, ev...)
	f.Action = Action{Kind: ActionEnv, Text: fmt.Sprintf("GOMAXPROCS=%d", want), Note: "or set the quota on the process's own cgroup, where Go reads it"}
	if hot {
		f.Predicted = c.throttlePrediction(frac, q.effective)
	} else {
		f.Predicted = &Prediction{Text: fmt.Sprintf("GOMAXPROCS matches the %s CPUs the process can use", trimFloat(q.effective))}
	}
	f.Confidence = High
	return f
}

func leafQuotaText(q cpuQuota) string {
	if q.leaf <= 0 {
		return "none"
	}
	return trimFloat(q.leaf) + " CPUs"
}

func checkCPUSaturated(c *check) *Finding {
	p, ok := c.needProcs()
	if !ok {
		return nil
	}
	run := statsOf(c.w.values(session.GoroutinesRunnable))
	if run.n == 0 {
		c.cannot("no runnable-goroutine count "+c.via()+" (/sched/goroutines/runnable needs Go ≥1.26 and a source that serves it)", enableAgent)
		return nil
	}
	p99, ok := c.w.quantile(session.SchedLatencies, 0.99)
	if !ok {
		if !c.has(session.SchedLatencies) && !c.hasHistogram(session.SchedLatencies) {
			c.cannot("no scheduling-latency histogram "+c.via()+" (/sched/latencies)", enableAgent)
		}
		return nil
	}
	cores, ok := c.processCores()
	if !ok {
		c.cannot("no process CPU figure "+c.via()+": runnable goroutines alone do not tell saturation from a host that starves the process",
			enablePID+"; or serve process_cpu_seconds_total or the gotune agent")
		return nil
	}
	if run.mean <= float64(p) || p99 < c.cfg.SchedLatencyHigh.Seconds() {
		return nil
	}
	// Saturation needs the Ps busy: runnable goroutines above GOMAXPROCS
	// while the process uses little CPU wait on the host (other processes,
	// throttling), not on too few Ps.
	capacity := float64(p)
	if pr := c.in.Facts.Process; pr != nil && len(pr.CPUsAllowed) > 0 {
		capacity = min(capacity, float64(len(pr.CPUsAllowed)))
	}
	if q, ok := c.cpuQuota(); ok && q.effective > 0 {
		capacity = min(capacity, q.effective)
	}
	if cores < c.cfg.SaturatedBusy*capacity {
		return nil
	}
	f := &Finding{Severity: Warn, Title: fmt.Sprintf("%.1f goroutines wait to run on %d Ps on average, the process uses %.2f cores, and p99 scheduling latency is %s", run.mean, p, cores, secs(p99))}
	o, _ := c.origin(session.ProcessCPU)
	f.Evidence = []Evidence{
		c.evm("runnable goroutines", session.GoroutinesRunnable, run.mean, "goroutines", fmt.Sprintf("%.1f on average (max %.0f)", run.mean, run.max)),
		c.evm("scheduling latency p99", session.SchedLatencies, p99, "seconds", secs(p99)),
		procsEvidence(p, c),
		c.ev("process CPU", cores, "cores", fmt.Sprintf("%.2f cores, %s of the %s CPUs it can use", cores, pct(cores/capacity), trimFloat(capacity)), o+", per second"),
	}
	avail := 0
	if pr := c.in.Facts.Process; pr != nil {
		avail = len(pr.CPUsAllowed)
	}
	if q, ok := c.cpuQuota(); ok && q.effective > 0 && avail > 0 {
		avail = min(avail, int(math.Floor(q.effective)))
	}
	if avail > p {
		f.Action = Action{Kind: ActionEnv, Text: fmt.Sprintf("GOMAXPROCS=%d", avail), Note: "the process may use more CPUs than it has Ps"}
		f.Predicted = &Prediction{Text: fmt.Sprintf("up to %d× the CPU for runnable goroutines; scheduling latency falls if the extra CPUs are idle", avail/p)}
	} else {
		f.Action = Action{Kind: ActionCommand, Text: "give the process more CPUs (raise the quota or scale out), or cut CPU per request: gotune top " + c.arg() + " --kind profile --cum"}
		f.Predicted = &Prediction{Text: "scheduling latency falls once CPU demand is below GOMAXPROCS"}
	}
	f.Confidence = Medium
	return f
}
