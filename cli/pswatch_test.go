//go:build unix

package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/gotune/gotune/internal/testproc"
)

// TestPsWatch runs `gotune ps --watch` headless against a real target
// that leaks goroutines: NDJSON, one object per refresh, the target's row
// with the agent's figures and their origins; then the table form.
func TestPsWatch(t *testing.T) {
	p := testproc.StartWith(t, testproc.Build(t, testproc.Target("episodes")), testproc.Options{WaitReady: true}, "-leak-rate", "40")
	resp, err := http.Get("http://" + p.Addr() + "/control?leak=on")
	testproc.Must(t, err, "start the leak")
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	pid := strconv.Itoa(p.PID)

	var out, errb bytes.Buffer
	if err := Run(context.Background(), []string{"ps", "--watch", "--json", "--count", "4", "--interval", "500ms", "--filter", pid}, &out, &errb); err != nil {
		t.Fatalf("ps --watch --json: %v\n%s", err, errb.String())
	}
	var objs []psWatchJSON
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var o psWatchJSON
		if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
			t.Fatalf("line %d is not JSON: %v\n%s", len(objs)+1, err, sc.Text())
		}
		objs = append(objs, o)
	}
	if len(objs) != 4 {
		t.Fatalf("%d refreshes printed, want 4", len(objs))
	}
	first, last := objs[0], objs[3]
	if len(last.Rows) != 1 || last.Rows[0].PID != p.PID {
		t.Fatalf("the filter kept %+v", last.Rows)
	}
	r := last.Rows[0]
	if r.Via != "agent" || r.Goroutines == nil || r.HeapGoal == nil || r.RSS == nil || r.CPU == nil {
		t.Fatalf("row: %+v", r)
	}
	if !strings.Contains(r.Goroutines.Origin, "/sched/goroutines:goroutines via agent") {
		t.Errorf("goroutines origin %q", r.Goroutines.Origin)
	}
	g0 := first.Rows[0].Goroutines.Value
	if r.Goroutines.Value <= g0 {
		t.Errorf("the leak did not show: %v goroutines, then %v", g0, r.Goroutines.Value)
	}
	if !last.At.After(first.At) || last.TookMillis <= 0 || last.Reads < 1 {
		t.Errorf("refresh figures: %+v", last)
	}

	out.Reset()
	if err := Run(context.Background(), []string{"ps", "--watch", "--count", "1", "--filter", pid}, &out, &errb); err != nil {
		t.Fatalf("ps --watch: %v\n%s", err, errb.String())
	}
	s := out.String()
	if !strings.Contains(s, "1 Go processes · refresh") || !strings.Contains(s, "GOROUTINES") {
		t.Errorf("table:\n%s", s)
	}
	var row string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, pid+" ") {
			row = l
		}
	}
	if !strings.HasSuffix(strings.TrimSpace(row), "agent") {
		t.Errorf("no row for %s ending in its source:\n%s", pid, s)
	}
	if err := Run(context.Background(), []string{"ps", "--watch", "--sort", "bogus"}, &out, &errb); err == nil || !strings.Contains(err.Error(), "gc-cpu") {
		t.Errorf("--sort bogus: %v", err)
	}
}
