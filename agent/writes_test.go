package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// request builds a request that arrived over a connection between local
// and remote, with token (none if "") and body (GET if nil).
func request(t *testing.T, path, token string, body any, local, remote string) *http.Request {
	t.Helper()
	method, rd := http.MethodGet, &bytes.Reader{}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		method, rd = http.MethodPost, bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, path, rd)
	req.RemoteAddr = remote
	la, err := net.ResolveTCPAddr("tcp", local)
	if err != nil {
		t.Fatal(err)
	}
	req = req.WithContext(context.WithValue(req.Context(), http.LocalAddrContextKey, la))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req
}

type reply struct {
	code int
	body []byte
}

func serveReq(h http.Handler, req *http.Request) reply {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return reply{rec.Code, rec.Body.Bytes()}
}

func (r reply) errCode(t *testing.T) string {
	t.Helper()
	var e ErrorReply
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("status %d, body %q is not an ErrorReply: %v", r.code, r.body, err)
	}
	return e.Code
}

// enable turns writes on for one test, with the token file in a temporary
// directory, and restores GOGC, GOMEMLIMIT and GOMAXPROCS afterwards.
func enable(t *testing.T, opts WriteOptions) (token string) {
	t.Helper()
	gogc, limit, procs := debug.SetGCPercent(100), debug.SetMemoryLimit(-1), runtime.GOMAXPROCS(0)
	debug.SetGCPercent(gogc)
	t.Cleanup(func() {
		DisableWrites()
		debug.SetGCPercent(gogc)
		debug.SetMemoryLimit(limit)
		runtime.GOMAXPROCS(procs)
	})
	if opts.TokenFile == "" {
		opts.TokenFile = filepath.Join(t.TempDir(), "agent", "self.token")
	}
	path, err := EnableWrites(opts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

const lo, peer = "127.0.0.1:6060", "127.0.0.1:40000"

func TestWriteRefusals(t *testing.T) {
	h := SettingsHandler()
	set := WriteRequest{Action: ActionSet, Setting: GOGC, Value: 55, LeaseSeconds: 60}
	before := debug.SetGCPercent(100)
	debug.SetGCPercent(before)

	// Not enabled: refused whatever the token.
	if r := serveReq(h, request(t, SettingsPath, strings.Repeat("a", 64), set, lo, peer)); r.code != 403 || r.errCode(t) != CodeWritesDisabled {
		t.Fatalf("writes not enabled: status %d %s", r.code, r.body)
	}
	tok := enable(t, WriteOptions{})
	cases := []struct {
		name          string
		token         string
		local, remote string
		status        int
		code          string
	}{
		{"no token", "", lo, peer, 401, CodeTokenMissing},
		{"wrong token", strings.Repeat("0", 64), lo, peer, 401, CodeTokenWrong},
		{"token prefix", tok[:32], lo, peer, 401, CodeTokenWrong},
		{"non-loopback local address", tok, "192.0.2.2:6060", "192.0.2.9:40000", 403, CodeTLSRequired},
		{"remote peer on a wildcard listener", tok, "192.0.2.2:6060", peer, 403, CodeTLSRequired},
		{"loopback listener, remote peer", tok, lo, "192.0.2.9:40000", 403, CodeTLSRequired},
	}
	for _, c := range cases {
		r := serveReq(h, request(t, SettingsPath, c.token, set, c.local, c.remote))
		if r.code != c.status || r.errCode(t) != c.code {
			t.Errorf("%s: status %d %s, want %d %s", c.name, r.code, r.body, c.status, c.code)
		}
		if now := debug.SetGCPercent(-1); now != before {
			t.Errorf("%s: GOGC changed to %d", c.name, now)
		}
		debug.SetGCPercent(before)
	}
	// TLS on a non-loopback connection is enough.
	req := request(t, SettingsPath, tok, set, "192.0.2.2:6060", "192.0.2.9:40000")
	req.TLS = &tlsState
	if r := serveReq(h, req); r.code != 200 {
		t.Fatalf("over TLS: status %d %s", r.code, r.body)
	}
	if got := gogcPercent(); got != 55 {
		t.Errorf("GOGC after the write over TLS = %d, want 55", got)
	}
	w := writes.Load()
	if n := w.refused.Load(); n != int64(len(cases)) {
		t.Errorf("refused count %d, want %d", n, len(cases))
	}
}

func TestTokenFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "gotune", "agent")
	if err := os.MkdirAll(dir, 0o755); err != nil { // too open: the agent tightens it
		t.Fatal(err)
	}
	tok := enable(t, WriteOptions{TokenFile: TokenFilePath(dir, os.Getpid())})
	fi, err := os.Stat(TokenFilePath(dir, os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", fi.Mode().Perm())
	}
	di, _ := os.Stat(dir)
	if di.Mode().Perm() != 0o700 {
		t.Errorf("token dir mode %v, want 0700", di.Mode().Perm())
	}
	if len(tok) != 64 {
		t.Errorf("token %q: want 64 hex digits", tok)
	}
	// A stale file of a process that does not exist is removed by the next
	// EnableWrites; ours is removed by DisableWrites.
	DisableWrites()
	if _, err := os.Stat(TokenFilePath(dir, os.Getpid())); !os.IsNotExist(err) {
		t.Errorf("token file still there after DisableWrites: %v", err)
	}
	stale := TokenFilePath(dir, 1<<22+12345) // above pid_max's default
	os.WriteFile(stale, []byte("x\n"), 0o600)
	enable(t, WriteOptions{TokenFile: TokenFilePath(dir, os.Getpid())})
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale token file of a dead PID kept: %v", err)
	}
}

func TestDefaultTokenDir(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{TokenDirEnv: "/run/x", "XDG_RUNTIME_DIR": "/run/user/1", "HOME": "/home/a"}, "/run/x"},
		{map[string]string{"XDG_RUNTIME_DIR": "/run/user/1", "HOME": "/home/a"}, "/run/user/1/gotune/agent"},
		{map[string]string{"XDG_RUNTIME_DIR": "relative", "HOME": "/home/a"}, "/home/a/.config/gotune/agent"},
		{map[string]string{"XDG_CONFIG_HOME": "/cfg", "HOME": "/home/a"}, "/cfg/gotune/agent"},
		{map[string]string{}, ""},
	}
	for _, c := range cases {
		got, err := DefaultTokenDir(func(k string) string { return c.env[k] })
		if got != c.want || (c.want == "") != (err != nil) {
			t.Errorf("%v: %q, %v; want %q", c.env, got, err, c.want)
		}
	}
}

var tlsState = tlsConnectionState()

func TestBounds(t *testing.T) {
	st := &settingState{}
	const mib = 1 << 20
	l := Limits{HeapLiveBytes: 100 * mib, NonHeapBytes: 10 * mib, MinMemoryLimit: 120 * mib, MinGOGC: MinGOGC, MaxGOMAXPROCS: 4, ContainerMemoryBytes: 1024 * mib}
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	debug.SetMemoryLimit(math.MaxInt64)
	cases := []struct {
		s       Setting
		v       int64
		def     bool
		refused string // part of the refusal, "" when accepted
		warns   string // part of a warning
	}{
		{GOGC, -1, false, "without a memory limit", ""},
		{GOGC, 5, false, "below gotune's floor", ""},
		{GOGC, 100, false, "", ""},
		{GOGC, 1000, false, "above the container's memory limit", ""}, // goal 1.1 GiB
		{GOMEMLIMIT, 119 * mib, false, "below the live heap", ""},
		{GOMEMLIMIT, 120 * mib, false, "", ""},
		{GOMEMLIMIT, 2048 * mib, false, "above the container's memory limit", ""},
		{GOMEMLIMIT, 1000 * mib, false, "", "leaves less than 5 %"},
		{GOMEMLIMIT, 0, false, "must be positive", ""},
		{GOMEMLIMIT, math.MaxInt64, false, "", ""},
		{GOMAXPROCS, 0, false, "between 1 and", ""},
		{GOMAXPROCS, 5, false, "between 1 and", ""},
		{GOMAXPROCS, 2, false, "", "turns off Go's automatic updates"},
		{GOMAXPROCS, 0, true, "", "stops the world"},
		{GOGC, 0, true, "no default", ""},
		{MutexProfileFraction, -1, false, "must be 0", ""},
		{MutexProfileFraction, 1, false, "", "records every event"},
		{BlockProfileRate, 10000, false, "", ""},
		{Setting("GODEBUG"), 1, false, "unknown setting", ""},
	}
	for _, c := range cases {
		warns, err := st.check(c.s, c.v, c.def, l)
		switch {
		case c.refused != "" && (err == nil || !strings.Contains(err.Error(), c.refused)):
			t.Errorf("%s=%d: error %v, want one with %q", c.s, c.v, err, c.refused)
		case c.refused == "" && err != nil:
			t.Errorf("%s=%d refused: %v", c.s, c.v, err)
		case c.warns != "" && !strings.Contains(strings.Join(warns, "|"), c.warns):
			t.Errorf("%s=%d: warnings %q, want %q", c.s, c.v, warns, c.warns)
		}
	}
	// With a memory limit, GOGC=off is allowed; removing the limit while
	// GOGC is off is not.
	debug.SetMemoryLimit(500 * mib)
	if _, err := st.check(GOGC, -1, false, l); err != nil {
		t.Errorf("GOGC=off with a limit: %v", err)
	}
	debug.SetGCPercent(-1)
	if _, err := st.check(GOMEMLIMIT, math.MaxInt64, false, l); err == nil {
		t.Error("no limit accepted while GOGC=off")
	}
}

func TestMeasuredLimitRefusesBelowLiveHeap(t *testing.T) {
	held := make([][]byte, 32)
	for i := range held {
		held[i] = make([]byte, 1<<20)
	}
	runtime.GC()
	l := measureLimits()
	runtime.KeepAlive(held)
	if l.HeapLiveBytes < 32<<20 || l.MinMemoryLimit < l.HeapLiveBytes+l.NonHeapBytes+memoryLimitRoomMin {
		t.Fatalf("limits %+v: want live heap ≥ 32 MiB and a floor above live + non-heap + 4 MiB", l)
	}
	tok := enable(t, WriteOptions{})
	r := serveReq(SettingsHandler(), request(t, SettingsPath, tok, WriteRequest{Action: ActionSet, Setting: GOMEMLIMIT, Value: 16 << 20}, lo, peer))
	if r.code != http.StatusUnprocessableEntity || r.errCode(t) != CodeOutOfBounds || !bytes.Contains(r.body, []byte("below the live heap")) {
		t.Errorf("GOMEMLIMIT=16MiB with 32 MiB live: status %d %s", r.code, r.body)
	}
	if lim := debug.SetMemoryLimit(-1); lim != math.MaxInt64 {
		t.Errorf("limit changed to %d", lim)
	}
	runtime.KeepAlive(held)
}

// post sends a write and decodes the change.
func post(t *testing.T, tok string, wr WriteRequest) (Change, reply) {
	t.Helper()
	r := serveReq(SettingsHandler(), request(t, SettingsPath, tok, wr, lo, peer))
	var c Change
	if r.code == 200 {
		if err := json.Unmarshal(r.body, &c); err != nil {
			t.Fatal(err)
		}
	}
	return c, r
}

func journal(t *testing.T, tok string) Journal {
	t.Helper()
	r := serveReq(JournalHandler(), request(t, JournalPath, tok, nil, lo, peer))
	var j Journal
	if r.code != 200 || json.Unmarshal(r.body, &j) != nil {
		t.Fatalf("journal: status %d %s", r.code, r.body)
	}
	return j
}

func events(j Journal) string {
	var s []string
	for _, e := range j.Entries {
		s = append(s, e.Event)
	}
	return strings.Join(s, " ")
}

// Leases run on the agent's own clock: synctest's fake clock lets the
// test step past them without sleeping.
func TestLeaseExpiresAndRenews(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log bytes.Buffer
		tok := enable(t, WriteOptions{MaxLease: time.Minute, Journal: &log})
		c, r := post(t, tok, WriteRequest{Action: ActionSet, Setting: GOGC, Value: 40, LeaseSeconds: 10})
		if r.code != 200 || c.Previous != 100 || c.Value != 40 || c.State != StateLeased {
			t.Fatalf("set: %d %s", r.code, r.body)
		}
		time.Sleep(8 * time.Second)
		for range 3 {
			rc, r := post(t, tok, WriteRequest{Action: ActionRenew, ID: c.ID, LeaseSeconds: 10})
			if r.code != 200 || rc.LeaseExpires.Sub(c.SetAt) != 18*time.Second {
				t.Fatalf("renew: %d %s; want the lease to end 18 s after the set", r.code, r.body)
			}
		}
		time.Sleep(9 * time.Second) // 17 s after the set: only the renewal holds it
		synctest.Wait()
		if got := gogcPercent(); got != 40 {
			t.Fatalf("GOGC = %d before the renewed lease ends, want 40", got)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if got := gogcPercent(); got != 100 {
			t.Fatalf("GOGC = %d after the lease, want 100 restored", got)
		}
		j := journal(t, tok)
		if got := events(j); got != "enable set renew expire" {
			t.Errorf("journal events %q", got)
		}
		if e := j.Entries[2]; e.Renewals != 3 {
			t.Errorf("folded renewals = %d, want 3", e.Renewals)
		}
		if e := j.Entries[3]; e.From != 40 || e.To != 100 || e.ChangeID != c.ID || e.Time.Sub(c.SetAt) != 18*time.Second {
			t.Errorf("expire entry %+v: want 40→100 at set+18s", e)
		}
		if n := strings.Count(log.String(), "\n"); n != 6 { // enable, set, 3 renewals, expire
			t.Errorf("journal writer got %d lines, want 6:\n%s", n, log.String())
		}
		if _, r := post(t, tok, WriteRequest{Action: ActionRenew, ID: c.ID, LeaseSeconds: 10}); r.code != http.StatusConflict {
			t.Errorf("renew after expiry: %d %s", r.code, r.body)
		}
		if _, r := post(t, tok, WriteRequest{Action: ActionSet, Setting: GOGC, Value: 40, LeaseSeconds: 61}); r.code != http.StatusUnprocessableEntity {
			t.Errorf("lease beyond MaxLease: %d %s", r.code, r.body)
		}
	})
}

func TestSupersedeKeepRevert(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tok := enable(t, WriteOptions{})
		a, _ := post(t, tok, WriteRequest{Action: ActionSet, Setting: GOGC, Value: 50, LeaseSeconds: 30})
		b, _ := post(t, tok, WriteRequest{Action: ActionSet, Setting: GOGC, Value: 200, LeaseSeconds: 30})
		if b.Previous != 50 || b.Restore != 100 {
			t.Errorf("second change: previous %d restore %d, want 50 and 100", b.Previous, b.Restore)
		}
		if _, r := post(t, tok, WriteRequest{Action: ActionKeep, ID: a.ID}); r.code != http.StatusConflict {
			t.Errorf("keep of a superseded change: %d", r.code)
		}
		k, _ := post(t, tok, WriteRequest{Action: ActionKeep, ID: b.ID})
		if k.State != StateKept || !k.LeaseExpires.IsZero() {
			t.Errorf("kept: %+v", k)
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		if got := gogcPercent(); got != 200 {
			t.Errorf("kept GOGC = %d an hour later, want 200", got)
		}
		rv, _ := post(t, tok, WriteRequest{Action: ActionRevert, ID: b.ID})
		if rv.State != StateReverted || gogcPercent() != 100 {
			t.Errorf("revert: %+v, GOGC %d", rv, gogcPercent())
		}

		// The program changes the value itself: a due revert leaves it.
		c, _ := post(t, tok, WriteRequest{Action: ActionSet, Setting: GOGC, Value: 70, LeaseSeconds: 5})
		debug.SetGCPercent(90)
		time.Sleep(6 * time.Second)
		synctest.Wait()
		if got := gogcPercent(); got != 90 {
			t.Errorf("GOGC = %d, want the program's 90 left alone", got)
		}
		s := writes.Load().status()
		if len(s.Active) != 0 {
			t.Errorf("active changes left: %+v", s.Active)
		}
		j := journal(t, tok)
		if got := events(j); got != "enable set supersede set keep revert set leave_alone" {
			t.Errorf("journal events %q", got)
		}
		_ = c
		debug.SetGCPercent(100)

		// Removing a memory limit reverts the GOGC=off that relies on it.
		m, r := post(t, tok, WriteRequest{Action: ActionSet, Setting: GOMEMLIMIT, Value: 1 << 40, LeaseSeconds: 5})
		if r.code != 200 {
			t.Fatalf("limit: %d %s", r.code, r.body)
		}
		off, r := post(t, tok, WriteRequest{Action: ActionSet, Setting: GOGC, Value: -1, LeaseSeconds: 30})
		if r.code != 200 || off.Value != -1 {
			t.Fatalf("GOGC=off under a limit: %d %s", r.code, r.body)
		}
		time.Sleep(6 * time.Second)
		synctest.Wait()
		if g, lim := gogcPercent(), debug.SetMemoryLimit(-1); g != 100 || lim != math.MaxInt64 {
			t.Errorf("after the limit's lease: GOGC %d limit %d, want 100 and none", g, lim)
		}
		_ = m
	})
}

func TestGOMAXPROCSDefault(t *testing.T) {
	tok := enable(t, WriteOptions{})
	n := runtime.GOMAXPROCS(0)
	c, r := post(t, tok, WriteRequest{Action: ActionSet, Setting: GOMAXPROCS, Value: 1, LeaseSeconds: 30})
	if r.code != 200 || c.Value != 1 || c.Previous != int64(n) || len(c.Warnings) != 2 {
		t.Fatalf("GOMAXPROCS=1: %d %s", r.code, r.body)
	}
	d, r := post(t, tok, WriteRequest{Action: ActionSet, Setting: GOMAXPROCS, Default: true, LeaseSeconds: 30})
	if r.code != 200 || !d.Default || d.PreviousDefault || d.Restore != int64(n) {
		t.Fatalf("GOMAXPROCS default: %d %s", r.code, r.body)
	}
	if got := int64(runtime.GOMAXPROCS(0)); got != d.Value {
		t.Errorf("GOMAXPROCS %d, change says %d", got, d.Value)
	}
	if _, r := post(t, tok, WriteRequest{Action: ActionRevert, ID: d.ID}); r.code != 200 || runtime.GOMAXPROCS(0) != n {
		t.Errorf("revert: %d, GOMAXPROCS %d want %d", r.code, runtime.GOMAXPROCS(0), n)
	}
}

func TestNotWritableAndBadRequests(t *testing.T) {
	tok := enable(t, WriteOptions{Settings: []Setting{GOGC}})
	for _, c := range []struct {
		body   string
		status int
		code   string
	}{
		{`{"action":"set","setting":"GOMEMLIMIT","value":1}`, 403, CodeNotWritable},
		{`{"action":"set","setting":"GOGC","value":50,"sneaky":1}`, 400, CodeBadRequest},
		{`{"action":"explode"}`, 400, CodeBadRequest},
		{`{"action":"revert","id":99}`, 404, CodeNoSuchChange},
		{`{"action":"set","setting":"GOGC","value":50,"lease_seconds":-1}`, 400, CodeBadRequest},
		{`not json`, 400, CodeBadRequest},
		{`{"action":"set","setting":"GOGC","value":50,"pad":"` + strings.Repeat("x", 5000) + `"}`, 400, CodeBadRequest},
	} {
		req := request(t, SettingsPath, tok, nil, lo, peer)
		req.Method, req.Body = http.MethodPost, ioNopCloser(c.body)
		r := serveReq(SettingsHandler(), req)
		if r.code != c.status || r.errCode(t) != c.code {
			t.Errorf("%.60s: %d %s, want %d %s", c.body, r.code, r.body, c.status, c.code)
		}
	}
	if got := gogcPercent(); got != 100 {
		t.Errorf("GOGC %d after refused writes", got)
	}
}

func TestFlightRecorderHandler(t *testing.T) {
	h := FlightRecorderHandler()
	if r := serveReq(h, httptest.NewRequest(http.MethodGet, FlightRecorderPath, nil)); r.code != 404 || r.errCode(t) != CodeFlightRecorderDisabled {
		t.Fatalf("disabled: %d %s", r.code, r.body)
	}
	if err := EnableFlightRecorder(FlightRecorderOptions{MinAge: time.Second, MaxBytes: 4 << 20}); err != nil {
		t.Fatal(err)
	}
	defer DisableFlightRecorder()
	if err := EnableFlightRecorder(FlightRecorderOptions{}); err == nil {
		t.Error("second EnableFlightRecorder accepted")
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { time.Sleep(time.Millisecond) })
	}
	wg.Wait()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, FlightRecorderPath, nil))
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/octet-stream" || !bytes.HasPrefix(rec.Body.Bytes(), []byte("go 1.")) {
		t.Fatalf("snapshot: %d %q %q", rec.Code, rec.Header().Get("Content-Type"), rec.Body.Bytes()[:min(16, rec.Body.Len())])
	}
	// One snapshot at a time.
	f := flight.Load()
	f.mu.Lock()
	r := serveReq(h, httptest.NewRequest(http.MethodGet, FlightRecorderPath, nil))
	f.mu.Unlock()
	if r.code != http.StatusConflict || r.errCode(t) != CodeFlightRecorderBusy {
		t.Errorf("concurrent snapshot: %d %s", r.code, r.body)
	}
	DisableFlightRecorder()
	if r := serveReq(h, httptest.NewRequest(http.MethodGet, FlightRecorderPath, nil)); r.code != 404 {
		t.Errorf("after disable: %d", r.code)
	}
}

// BenchmarkFlightRecorderPingPong is the flight recorder's worst case: two
// goroutines hand a value back and forth, so every operation is two
// scheduler events the tracer records. Compare off and on:
//
//	go test -run '^$' -bench FlightRecorderPingPong -count 6 ./agent
func BenchmarkFlightRecorderPingPong(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "off"
		if on {
			name = "on"
		}
		b.Run(name, func(b *testing.B) {
			if on {
				if err := EnableFlightRecorder(FlightRecorderOptions{MinAge: 10 * time.Second}); err != nil {
					b.Fatal(err)
				}
				defer DisableFlightRecorder()
			}
			ping, pong := make(chan int), make(chan int)
			go func() {
				for v := range ping {
					pong <- v + 1
				}
				close(pong)
			}()
			for b.Loop() {
				ping <- 1
				<-pong
			}
			close(ping)
			<-pong
		})
	}
}
