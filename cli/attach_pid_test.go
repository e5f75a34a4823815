//go:build unix

package cli

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gotune/gotune/collectors"
	"github.com/gotune/gotune/collectors/effective"
	"github.com/gotune/gotune/internal/testproc"
	"github.com/gotune/gotune/session"
)

// gotune attach PID --json reaches each kind of real process the right way;
// the plain binary gives OS-only samples with the hint.
func TestAttachPIDJSON(t *testing.T) {
	gopsDir := t.TempDir()
	t.Setenv("GOPS_CONFIG_DIR", gopsDir)
	cases := []struct {
		target   string
		via      string
		env      []string
		mustHave []string
		osOnly   bool
	}{
		{testproc.GotuneAgent, "agent", nil, []string{session.HeapLive, session.Goroutines}, false},
		// A plain net/http/pprof server: live figures from heap?debug=1 and
		// goroutine?debug=1 (issue 11: it used to be "via os").
		{testproc.PprofServer, "pprof", nil, []string{session.ProcessRSS, session.HeapObjects, session.HeapGoal, session.GCCycles, session.Goroutines}, false},
		{testproc.GopsAgent, "gops", []string{"GOPS_CONFIG_DIR=" + gopsDir}, []string{session.HeapObjects, session.Goroutines, session.GOMAXPROCS, session.MemStatsGCCPUFraction}, false},
		{testproc.PlainSleep, "os", nil, []string{session.ProcessRSS, session.ProcessCPU, collectors.ProcessThreads}, true},
	}
	for _, c := range cases {
		t.Run(c.target, func(t *testing.T) {
			bin := testproc.BuildInto(t, c.target, "")
			p := testproc.StartWith(t, bin, testproc.Options{Env: append([]string{"GOMAXPROCS=2"}, c.env...), WaitReady: c.target != testproc.PlainSleep})
			// The pprof endpoints are paced by what a read costs the
			// target (interval ≥ latency ÷ 1 %, collectors.pprofPacer):
			// on a busy machine one 45 ms read puts the next 4.5 s away.
			// So pprof needs one fresh record, and every record in the
			// 2.5 s after it must carry that read, the source fine.
			wantFresh := 3
			if c.via == "pprof" {
				wantFresh = 1
			}
			out := attachUntil(t, wantFresh, 2500*time.Millisecond, strconv.Itoa(p.PID), "--interval", "500ms")
			recs := decodeRecords(t, out)
			// On a loaded machine one read of the metrics source may time
			// out; that sample carries the OS figures only (via "os").
			// Most samples must come the expected way.
			var fresh, via []Record
			for _, r := range recs {
				if r.Fresh {
					fresh = append(fresh, r)
					if r.Source.Via == c.via {
						via = append(via, r)
					}
				}
			}
			if len(fresh) < wantFresh || len(via) < len(fresh)/2+1 {
				t.Fatalf("%d fresh records, %d via %s; want ≥ %d and most via %s:\n%s", len(fresh), len(via), c.via, wantFresh, c.via, out)
			}
			if c.via == "pprof" {
				seen := false
				for _, r := range recs {
					if r.Fresh && r.Source.Via == "pprof" {
						seen = true
					} else if seen && !r.Fresh && (r.Source.Via != "pprof" || !r.Source.OK || r.Source.LastOK == nil) {
						t.Errorf("a paced record says %+v, want the pprof source fine with its last read", r.Source)
					}
				}
			}
			last := via[len(via)-1]
			if last.PID != p.PID {
				t.Errorf("pid %d, want %d", last.PID, p.PID)
			}
			for _, name := range c.mustHave {
				if _, ok := last.Metrics[name]; !ok {
					t.Errorf("metric %s missing: %v", name, keys(last.Metrics))
				}
			}
			if rss := last.Metrics[session.ProcessRSS]; rss < 1<<20 {
				t.Errorf("RSS from /proc = %v", rss)
			}
			if (last.Hint != "") != c.osOnly || c.osOnly && !strings.Contains(last.Hint, `net/http/pprof`) {
				t.Errorf("hint %q, want one for OS-only targets only", last.Hint)
			}
			if last.Settings == nil || last.Settings.GOMAXPROCS.Value != "2" || last.Settings.GOMAXPROCS.Source != effective.FromEnv {
				t.Errorf("settings %+v, want GOMAXPROCS 2 from the environment", last.Settings)
			}
			// A CPU figure is a delta of two fresh reads; a paced pprof
			// source may have given one (above).
			if _, ok := last.Derived[session.ProcessCPUFrac]; !ok && len(via) >= 2 {
				t.Errorf("no CPU figure from /proc deltas: %v", last.Derived)
			}
		})
	}
}

func TestAttachPIDErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"attach", "0"}, "not a process ID"},
		{[]string{"attach", "999999999"}, "attach to pid 999999999"},
		{[]string{"attach", "1", "--gops-port", "70000"}, "not a TCP port"},
		{[]string{"attach", "http://127.0.0.1:1", "--url", "http://x"}, "go with a PID target"},
	} {
		_, _, err := runGotune(t, t.Context(), c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.args, err, c.want)
		}
	}
}

func keys(m map[string]float64) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
