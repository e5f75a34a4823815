package collectors

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gotune/gotune/agent"
	"github.com/gotune/gotune/internal/testproc"
	"github.com/gotune/gotune/session"
)

// Every test here runs the gotuneagent target as a real process and talks
// to it over a real socket, as gotune does.

type agentTarget struct {
	p    *testproc.Proc
	pid  int
	base string
	home string // the target's $HOME: its token file is under .config/gotune/agent
}

func (a agentTarget) tokenFile() string {
	return agent.TokenFilePath(filepath.Join(a.home, ".config", "gotune", "agent"), a.pid)
}

type targetOpts struct {
	cred *syscall.Credential
	env  []string
}

// startAgentTarget runs gotuneagent with args, its HOME in a fresh
// directory (owned by the target's user).
func startAgentTarget(t *testing.T, o targetOpts, args ...string) agentTarget {
	t.Helper()
	bin := testproc.Build(t, "./testdata/targets/gotuneagent")
	home := t.TempDir()
	if o.cred != nil {
		testproc.ShareDir(t, filepath.Dir(bin))
		testproc.ShareDir(t, home)
		if err := os.Chown(home, int(o.cred.Uid), int(o.cred.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	env := append([]string{"HOME=" + home, "XDG_RUNTIME_DIR=", "XDG_CONFIG_HOME=", agent.TokenDirEnv + "=", "GOGC=100"}, o.env...)
	p := testproc.StartWith(t, bin, testproc.Options{WaitReady: true, Env: env, Credential: o.cred}, args...)
	scheme := "http://"
	for _, a := range args {
		if a == "-tls-cert-out" {
			scheme = "https://"
		}
	}
	return agentTarget{p: p, pid: p.PID, base: scheme + p.Addr(), home: home}
}

// gogc reads the target's GOGC from its metrics document.
func gogc(t *testing.T, base string) float64 {
	t.Helper()
	s, err := NewAgentSource(base, HTTPSourceOptions{}).Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	v, ok := s.Values[session.GOGC]
	if !ok {
		t.Fatal("no GOGC in the agent document")
	}
	return v
}

func client(t *testing.T, a agentTarget) *AgentClient {
	t.Helper()
	tok, err := FindAgentToken(t.Context(), a.pid, "")
	if err != nil {
		t.Fatal(err)
	}
	if tok.Path != a.tokenFile() {
		t.Fatalf("token found at %s, want %s", tok.Path, a.tokenFile())
	}
	return NewAgentClient(a.base, tok, HTTPSourceOptions{})
}

func wantCode(t *testing.T, what string, err error, code string) *AgentError {
	t.Helper()
	var ae *AgentError
	if !errors.As(err, &ae) || ae.Code != code {
		t.Fatalf("%s: error %v, want agent code %s", what, err, code)
	}
	return ae
}

func journalEvents(j agent.Journal) string {
	var s []string
	for _, e := range j.Entries {
		s = append(s, e.Event)
	}
	return strings.Join(s, " ")
}

func TestAgentWriteWithoutTokenRefused(t *testing.T) {
	a := startAgentTarget(t, targetOpts{}, "-writes")
	// A plain POST, as curl would send it, with no Authorization header.
	body := `{"action":"set","setting":"GOGC","value":50}`
	resp, err := http.Post(a.base+agent.SettingsPath, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var r agent.ErrorReply
	json.NewDecoder(resp.Body).Decode(&r)
	resp.Body.Close()
	if resp.StatusCode != 401 || r.Code != agent.CodeTokenMissing || resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("no token: status %d code %q", resp.StatusCode, r.Code)
	}
	// Through the client with no token: the same refusal, with a hint.
	_, err = NewAgentClient(a.base, AgentToken{}, HTTPSourceOptions{}).Set(t.Context(), agent.GOGC, 50, time.Minute)
	ae := wantCode(t, "client without token", err, agent.CodeTokenMissing)
	if !strings.Contains(ae.Error(), a.tokenFile()) {
		t.Errorf("message does not say where the token is: %v", ae)
	}
	if v := gogc(t, a.base); v != 100 {
		t.Errorf("GOGC = %v after refused writes, want 100", v)
	}
	s, _ := client(t, a).Settings(t.Context())
	if s.RefusedRequests != 2 || len(s.Active) != 0 {
		t.Errorf("agent counts %d refusals and %d active changes, want 2 and 0", s.RefusedRequests, len(s.Active))
	}
}

func TestAgentWriteWrongTokenRefused(t *testing.T) {
	a := startAgentTarget(t, targetOpts{}, "-writes")
	good := client(t, a)
	for _, bad := range []string{strings.Repeat("0", 64), good.token[:63] + "x", good.token + "0", "Bearer " + good.token} {
		c := NewAgentClient(a.base, AgentToken{Token: bad}, HTTPSourceOptions{})
		_, err := c.Set(t.Context(), agent.GOGC, 50, time.Minute)
		wantCode(t, "wrong token", err, agent.CodeTokenWrong)
		_, err = c.Journal(t.Context())
		wantCode(t, "journal with a wrong token", err, agent.CodeTokenWrong)
	}
	if v := gogc(t, a.base); v != 100 {
		t.Errorf("GOGC = %v after refused writes, want 100", v)
	}
	j, err := good.Journal(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got := journalEvents(j); got != "enable" {
		t.Errorf("journal after refused writes: %q, want only the enable entry", got)
	}
}

func TestAgentWritesNotEnabledRefused(t *testing.T) {
	a := startAgentTarget(t, targetOpts{}) // the read-only agent
	c := NewAgentClient(a.base, AgentToken{Token: strings.Repeat("a", 64)}, HTTPSourceOptions{})
	_, err := c.Set(t.Context(), agent.GOGC, 50, time.Minute)
	ae := wantCode(t, "writes not enabled", err, agent.CodeWritesDisabled)
	if !strings.Contains(ae.Error(), "agent.EnableWrites") {
		t.Errorf("message does not say what the program must do: %v", ae)
	}
	if v := gogc(t, a.base); v != 100 {
		t.Errorf("GOGC = %v, want 100", v)
	}
	if _, err := os.Stat(a.tokenFile()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a read-only agent wrote a token file: %v", err)
	}
	acc := FindWriteAccess(t.Context(), WriteTarget{AgentBase: a.base, PID: a.pid})
	if acc.Tuner != nil || !strings.Contains(acc.ReadOnly, "agent.EnableWrites") || !strings.Contains(acc.ReadOnly, "only at start") {
		t.Errorf("write access: tuner %v, reason %q", acc.Tuner, acc.ReadOnly)
	}
}

// The token file belongs to the target's user with mode 0600 in a 0700
// directory, gotune running as root (or that user) finds it by PID,
// another user cannot read it, and it is removed when the program disables
// writes at exit.
func TestAgentTokenFileOwnerAndMode(t *testing.T) {
	// As root the target runs as nobody; otherwise as ourselves.
	uid := uint32(os.Geteuid())
	var cred *syscall.Credential
	if uid == 0 {
		uid, cred = 65534, &syscall.Credential{Uid: 65534, Gid: 65534}
	}
	a := startAgentTarget(t, targetOpts{cred: cred}, "-writes")
	fi, err := os.Stat(a.tokenFile())
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if fi.Mode().Perm() != 0o600 || st.Uid != uid {
		t.Errorf("token file %s: mode %v uid %d, want 0600 and uid %d", a.tokenFile(), fi.Mode().Perm(), st.Uid, uid)
	}
	di, _ := os.Stat(filepath.Dir(a.tokenFile()))
	if dst := di.Sys().(*syscall.Stat_t); di.Mode().Perm() != 0o700 || dst.Uid != uid {
		t.Errorf("token dir: mode %v uid %d, want 0700 and uid %d", di.Mode().Perm(), dst.Uid, uid)
	}
	c := client(t, a) // found through the target's environment
	ch, err := c.Set(t.Context(), agent.GOGC, 60, time.Minute)
	if err != nil || ch.Previous != 100 || gogc(t, a.base) != 60 {
		t.Fatalf("set as root with the found token: %+v, %v", ch, err)
	}

	// Another unprivileged user plays gotune: it cannot read the token.
	if cred != nil {
		bin := testproc.Build(t, "./testdata/targets/agentwriter")
		testproc.ShareDir(t, filepath.Dir(bin))
		cmd := exec.Command(bin, "-pid", strconv.Itoa(a.pid), "-base", a.base, "-token-file", a.tokenFile())
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65533, Gid: 65533}}
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "permission denied") || !strings.Contains(string(out), "uid 65534") {
			t.Errorf("agentwriter as uid 65533: %v\n%s", err, out)
		}
	} else {
		t.Log("not root: the other-user part (another uid cannot read the token) is left out")
	}

	// A clean exit reverts the leased change and removes the token file.
	a.p.Cmd.Process.Signal(syscall.SIGTERM)
	a.p.Wait(30 * time.Second)
	if _, err := os.Stat(a.tokenFile()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("token file left after exit: %v", err)
	}
}

func TestFindAgentTokenRefusesStaleAndOpenFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.token")
	tok := strings.Repeat("ab", 32)
	os.WriteFile(path, []byte(tok+"\n"), 0o600)
	if got, err := FindAgentToken(t.Context(), os.Getpid(), path); err != nil || got.Token != tok {
		t.Fatalf("fresh token file: %+v, %v", got, err)
	}
	old := time.Now().Add(-24 * time.Hour)
	os.Chtimes(path, old, old) // before this process started
	if _, err := FindAgentToken(t.Context(), os.Getpid(), path); err == nil || !strings.Contains(err.Error(), "earlier process") {
		t.Errorf("stale token file: %v", err)
	}
	os.Chtimes(path, time.Now(), time.Now())
	os.Chmod(path, 0o644)
	if _, err := FindAgentToken(t.Context(), os.Getpid(), path); err == nil || !strings.Contains(err.Error(), "readable by others") {
		t.Errorf("world-readable token file: %v", err)
	}
	if _, err := FindAgentToken(t.Context(), os.Getpid(), filepath.Join(dir, "none")); err == nil || !strings.Contains(err.Error(), "agent.EnableWrites") {
		t.Errorf("missing token file: %v", err)
	}
}

// nonLoopbackIPv4 returns an address of this host that is not loopback.
func nonLoopbackIPv4(t *testing.T) net.IP {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			return n.IP
		}
	}
	t.Fatal("this host has no non-loopback IPv4 address to test remote connections with")
	return nil
}

func TestAgentRemoteWithoutTLSRefused(t *testing.T) {
	ip := nonLoopbackIPv4(t)
	a := startAgentTarget(t, targetOpts{}, "-writes", "-listen", "0.0.0.0:0")
	_, port, _ := net.SplitHostPort(a.p.Addr())
	tok, err := FindAgentToken(t.Context(), a.pid, "")
	if err != nil {
		t.Fatal(err)
	}
	remote := NewAgentClient("http://"+net.JoinHostPort(ip.String(), port), tok, HTTPSourceOptions{})
	_, err = remote.Set(t.Context(), agent.GOGC, 50, time.Minute)
	ae := wantCode(t, "plain HTTP over "+ip.String(), err, agent.CodeTLSRequired)
	if !strings.Contains(ae.Error(), "HTTPS") {
		t.Errorf("message does not say how to fix it: %v", ae)
	}
	if v := gogc(t, "http://127.0.0.1:"+port); v != 100 {
		t.Errorf("GOGC = %v after the refused remote write", v)
	}
	acc := FindWriteAccess(t.Context(), WriteTarget{AgentBase: remote.Base, PID: a.pid})
	if acc.Tuner != nil || !strings.Contains(acc.ReadOnly, "TLS") {
		t.Errorf("write access over %s: %q", remote.Base, acc.ReadOnly)
	}
	// The same listener over loopback accepts the same token.
	local := NewAgentClient("http://127.0.0.1:"+port, tok, HTTPSourceOptions{})
	if ch, err := local.Set(t.Context(), agent.GOGC, 50, time.Minute); err != nil || ch.Value != 50 {
		t.Fatalf("loopback write on the same listener: %+v, %v", ch, err)
	}

	// Over TLS the remote address is accepted.
	certFile := filepath.Join(t.TempDir(), "cert.pem")
	b := startAgentTarget(t, targetOpts{}, "-writes", "-listen", net.JoinHostPort(ip.String(), "0"), "-tls-cert-out", certFile)
	pem, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	hc := NewHTTPClient()
	hc.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: pool}
	btok, err := FindAgentToken(t.Context(), b.pid, "")
	if err != nil {
		t.Fatal(err)
	}
	tc := NewAgentClient(b.base, btok, HTTPSourceOptions{HTTP: hc})
	ch, err := tc.Set(t.Context(), agent.GOGC, 70, time.Minute)
	if err != nil || ch.Value != 70 || ch.Previous != 100 {
		t.Fatalf("write over TLS to %s: %+v, %v", b.base, ch, err)
	}
	j, err := tc.Journal(t.Context())
	if err != nil || len(j.Entries) != 2 || !strings.HasPrefix(j.Entries[1].Remote, ip.String()+":") {
		t.Errorf("journal over TLS: %+v, %v; want the set from %s", j.Entries, err, ip)
	}
}

// Every accepted write is in the journal, in order, with what it changed;
// refused ones are not (they are counted instead).
func TestAgentJournalListsEveryWrite(t *testing.T) {
	logFile := filepath.Join(t.TempDir(), "journal.jsonl")
	a := startAgentTarget(t, targetOpts{}, "-writes", "-journal", logFile, "-live", "16")
	c := client(t, a)
	ctx := t.Context()
	first, err := NewAgentSource(a.base, HTTPSourceOptions{}).Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	procs := int64(first.Values[session.GOMAXPROCS])
	must := func(ch agent.Change, err error) agent.Change {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return ch
	}
	g1 := must(c.Set(ctx, agent.GOGC, 50, time.Minute))
	must(c.Renew(ctx, g1.ID, time.Minute))
	must(c.Renew(ctx, g1.ID, time.Minute))
	g2 := must(c.Set(ctx, agent.GOGC, 80, time.Minute))
	m := must(c.Set(ctx, agent.MutexProfileFraction, 5, time.Minute))
	must(c.Keep(ctx, m.ID))
	p := must(c.Set(ctx, agent.GOMAXPROCS, 1, time.Minute))
	must(c.Revert(ctx, g2))
	must(c.Revert(ctx, p))
	// Refused: out of bounds, and without a token.
	_, err = c.Set(ctx, agent.GOMEMLIMIT, 1<<20, time.Minute)
	wantCode(t, "GOMEMLIMIT 1 MiB", err, agent.CodeOutOfBounds)
	NewAgentClient(a.base, AgentToken{}, HTTPSourceOptions{}).Set(ctx, agent.GOGC, 10, time.Minute)

	j, err := c.Journal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		event    string
		id       int64
		setting  agent.Setting
		from, to int64
	}{
		{agent.EventEnable, 0, "", 0, 0},
		{agent.EventSet, g1.ID, agent.GOGC, 100, 50},
		{agent.EventRenew, g1.ID, agent.GOGC, 50, 50},
		{agent.EventSupersed, g1.ID, agent.GOGC, 50, 50},
		{agent.EventSet, g2.ID, agent.GOGC, 50, 80},
		{agent.EventSet, m.ID, agent.MutexProfileFraction, 0, 5},
		{agent.EventKeep, m.ID, agent.MutexProfileFraction, 5, 5},
		{agent.EventSet, p.ID, agent.GOMAXPROCS, procs, 1},
		{agent.EventRevert, g2.ID, agent.GOGC, 80, 100},
		{agent.EventRevert, p.ID, agent.GOMAXPROCS, 1, procs},
	}
	if len(j.Entries) != len(want) {
		t.Fatalf("journal has %d entries, want %d: %s", len(j.Entries), len(want), journalEvents(j))
	}
	for i, w := range want {
		e := j.Entries[i]
		from, to := w.from, w.to
		if e.Event != w.event || e.ChangeID != w.id || e.Setting != w.setting || e.From != from || e.To != to {
			t.Errorf("entry %d: %s #%d %s %d→%d, want %s #%d %s %d→%d", i, e.Event, e.ChangeID, e.Setting, e.From, e.To, w.event, w.id, w.setting, from, to)
		}
		if e.Event != agent.EventEnable && !strings.HasPrefix(e.Remote, "127.0.0.1:") {
			t.Errorf("entry %d has no client address: %+v", i, e)
		}
	}
	if r := j.Entries[2].Renewals; r != 2 {
		t.Errorf("renewals folded into entry 2: %d, want 2", r)
	}
	// The journal file gets every entry, each renewal on its own line.
	f, err := os.Open(logFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []agent.JournalEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e agent.JournalEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("journal file line %q: %v", sc.Text(), err)
		}
		lines = append(lines, e)
	}
	if len(lines) != len(want)+1 || lines[3].Event != agent.EventRenew || lines[3].Seq != 4 {
		t.Errorf("journal file: %d lines, want %d (two renewals apart)", len(lines), len(want)+1)
	}
	s, err := c.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.RefusedRequests != 1 || len(s.Active) != 1 || s.Active[0].ID != m.ID || s.Active[0].State != agent.StateKept {
		t.Errorf("settings: %d refused (the out-of-bounds write is a checked refusal, not counted), active %+v", s.RefusedRequests, s.Active)
	}
	if v := gogc(t, a.base); v != 100 {
		t.Errorf("GOGC = %v after the revert, want 100", v)
	}
}

// playGotune starts agentwriter against a: it sets setting=value under
// lease and renews it until stopped.
func playGotune(t *testing.T, a agentTarget, setting string, value int64, lease time.Duration) (*exec.Cmd, int64) {
	t.Helper()
	bin := testproc.Build(t, "./testdata/targets/agentwriter")
	cmd := exec.Command(bin, "-pid", strconv.Itoa(a.pid), "-base", a.base, "-setting", setting,
		"-value", strconv.FormatInt(value, 10), "-lease", lease.String())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	var id, v, prev int64
	if _, serr := fmt.Sscanf(line, "held %d %d %d", &id, &v, &prev); err != nil || serr != nil || v != value {
		t.Fatalf("agentwriter printed %q (%v)", line, err)
	}
	return cmd, id
}

// gotune is killed with SIGKILL while it holds a change: nothing reverts
// it from gotune's side, and the agent reverts it on its own when the lease
// ends.
func TestAgentLeaseRevertsAfterGotuneSIGKILL(t *testing.T) {
	a := startAgentTarget(t, targetOpts{}, "-writes")
	own := client(t, a)
	before := gogc(t, a.base)
	const lease = 6 * time.Second // renewed every 2 s: slack for a loaded machine
	writer, id := playGotune(t, a, "GOGC", 50, lease)
	during := gogc(t, a.base)
	// Wait for one renewal: gotune was alive and holding the change.
	testproc.Eventually(t, 30*time.Second, func() bool {
		j, err := own.Journal(t.Context())
		return err == nil && strings.Contains(journalEvents(j), agent.EventRenew)
	}, "a lease renewal")
	writer.Process.Kill()
	writer.Wait()
	killed := time.Now()
	atKill := gogc(t, a.base)
	testproc.Eventually(t, lease+30*time.Second, func() bool { return gogc(t, a.base) == 100 }, "GOGC back to 100")
	after := gogc(t, a.base)
	t.Logf("GOGC before %v, during %v, right after SIGKILL %v, after the lease %v (reverted %v after the kill)", before, during, atKill, after, time.Since(killed).Round(100*time.Millisecond))
	if before != 100 || during != 50 || after != 100 {
		t.Fatalf("GOGC before %v during %v after %v; want 100, 50, 100", before, during, after)
	}
	j, err := own.Journal(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got := journalEvents(j); got != "enable set renew expire" {
		t.Fatalf("journal %q, want enable set renew expire", got)
	}
	for _, e := range j.Entries {
		t.Logf("journal %d %s %-6s change %d %s %d→%d lease ends %s remote %q %s", e.Seq, e.Time.Format("15:04:05.000"), e.Event, e.ChangeID, e.Setting, e.From, e.To, e.LeaseEnds.Format("15:04:05.000"), e.Remote, e.Note)
	}
	t.Logf("gotune killed at %s", killed.Format("15:04:05.000"))
	renew, expire := j.Entries[2], j.Entries[3]
	if expire.ChangeID != id || expire.From != 50 || expire.To != 100 || expire.Remote != "" {
		t.Errorf("expire entry %+v: want change %d 50→100 by the agent itself", expire, id)
	}
	// The agent reverted once the last renewal's lease had run out, with
	// gotune already dead.
	if expire.Time.Before(renew.LeaseEnds) || expire.Time.Before(killed.Add(-time.Second)) {
		t.Errorf("expired at %v: before the lease end %v or long before the kill at %v", expire.Time, renew.LeaseEnds, killed)
	}
}

// gotune exits normally: it reverts the change itself.
func TestAgentRevertsWhenGotuneExits(t *testing.T) {
	a := startAgentTarget(t, targetOpts{}, "-writes")
	own := client(t, a)
	writer, id := playGotune(t, a, "GOGC", 40, time.Minute)
	if v := gogc(t, a.base); v != 40 {
		t.Fatalf("GOGC = %v while held, want 40", v)
	}
	writer.Process.Signal(syscall.SIGTERM)
	if err := writer.Wait(); err != nil {
		t.Fatalf("agentwriter exit: %v", err)
	}
	if v := gogc(t, a.base); v != 100 {
		t.Errorf("GOGC = %v after gotune exited, want 100", v)
	}
	j, _ := own.Journal(t.Context())
	last := j.Entries[len(j.Entries)-1]
	if last.Event != agent.EventRevert || last.ChangeID != id || last.Remote == "" {
		t.Errorf("last journal entry %+v, want the client's revert of %d", last, id)
	}
}

func TestAgentBoundsInRealProcess(t *testing.T) {
	a := startAgentTarget(t, targetOpts{}, "-writes", "-live", "64")
	c := client(t, a)
	ctx := t.Context()
	s, err := c.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Limits.HeapLiveBytes < 60<<20 || s.Limits.MinMemoryLimit <= s.Limits.HeapLiveBytes {
		t.Fatalf("limits %+v: want ≥ 60 MiB live and a floor above it", s.Limits)
	}
	_, err = c.Set(ctx, agent.GOMEMLIMIT, 32<<20, time.Minute)
	if ae := wantCode(t, "GOMEMLIMIT below the live heap", err, agent.CodeOutOfBounds); !strings.Contains(ae.Message, "below the live heap") {
		t.Errorf("message: %s", ae.Message)
	}
	_, err = c.Set(ctx, agent.GOGC, -1, time.Minute)
	wantCode(t, "GOGC=off without a limit", err, agent.CodeOutOfBounds)
	lim, err := c.Set(ctx, agent.GOMEMLIMIT, s.Limits.MinMemoryLimit+64<<20, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	off, err := c.Set(ctx, agent.GOGC, -1, time.Minute)
	// runtime/metrics reports GOGC=off as the largest uint64.
	if err != nil || off.Value != -1 || gogc(t, a.base) < 1<<63 {
		t.Fatalf("GOGC=off under a limit: %+v, %v", off, err)
	}
	// Reverting the limit takes GOGC=off with it.
	if _, err := c.Revert(ctx, lim); err != nil {
		t.Fatal(err)
	}
	if v := gogc(t, a.base); v != 100 {
		t.Errorf("GOGC = %v after the memory limit it relied on was reverted, want 100", v)
	}
	p, err := c.Set(ctx, agent.GOMAXPROCS, 1, time.Minute)
	if err != nil || len(p.Warnings) != 2 || !strings.Contains(strings.Join(p.Warnings, " "), "stops the world") {
		t.Errorf("GOMAXPROCS=1: %+v, %v; want the stop-the-world and automatic-update warnings", p, err)
	}

	// Above the container's limit: put the target in a memory cgroup.
	t.Run("container limit", func(t *testing.T) {
		const limit = 512 << 20
		if err := joinMemoryCgroup(t, a.pid, limit); err != nil {
			t.Skipf("cannot make a memory cgroup here (%v); TestContainerMemoryLimit in package agent covers the reader", err)
		}
		s, err := c.Settings(ctx)
		if err != nil || s.Limits.ContainerMemoryBytes != limit {
			t.Fatalf("container limit %d, %v; want %d", s.Limits.ContainerMemoryBytes, err, limit)
		}
		_, err = c.Set(ctx, agent.GOMEMLIMIT, limit+1<<20, time.Minute)
		if ae := wantCode(t, "GOMEMLIMIT above the container", err, agent.CodeOutOfBounds); !strings.Contains(ae.Message, "above the container's memory limit of 512.0 MiB") {
			t.Errorf("message: %s", ae.Message)
		}
		ch, err := c.Set(ctx, agent.GOMEMLIMIT, limit*96/100, time.Minute)
		if err != nil || len(ch.Warnings) != 1 || !strings.Contains(ch.Warnings[0], "5-10 %") {
			t.Errorf("GOMEMLIMIT at 96 %% of the container: %+v, %v; want a headroom warning", ch, err)
		}
	})
}

// joinMemoryCgroup moves pid into a new memory cgroup with limit bytes
// (cgroup v1 memory controller or v2), removed at cleanup.
func joinMemoryCgroup(t *testing.T, pid int, limit int64) error {
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return err
	}
	var dir, file string
	for line := range strings.SplitSeq(strings.TrimSpace(string(self)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) == 3 && strings.Contains(","+parts[1]+",", ",memory,") {
			dir, file = filepath.Join("/sys/fs/cgroup/memory", parts[2]), "memory.limit_in_bytes"
		}
	}
	if dir == "" {
		for line := range strings.SplitSeq(strings.TrimSpace(string(self)), "\n") {
			if p, ok := strings.CutPrefix(line, "0::"); ok {
				dir, file = filepath.Join("/sys/fs/cgroup", p), "memory.max"
			}
		}
	}
	if dir == "" {
		return errors.New("no memory cgroup in /proc/self/cgroup")
	}
	child := filepath.Join(dir, fmt.Sprintf("gotune-test-%d", pid))
	if err := os.Mkdir(child, 0o755); err != nil {
		return err
	}
	t.Cleanup(func() {
		// The target is killed by its own cleanup, registered earlier and
		// so run later: move it out first so the group can go.
		os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644)
		os.Remove(child)
	})
	if err := os.WriteFile(filepath.Join(child, file), []byte(strconv.FormatInt(limit, 10)), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(child, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644)
}

func TestFlightRecorderSnapshot(t *testing.T) {
	a := startAgentTarget(t, targetOpts{}, "-flight", "-flight-min-age", "2s", "-churn", "4")
	time.Sleep(1500 * time.Millisecond) // let the window hold some of the churn
	fetched := time.Now()
	var buf bytes.Buffer
	if _, err := NewTraceClient(a.base).Fetch(t.Context(), TraceRequest{FlightRecorder: true}, &buf); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if len(b) < 1024 || !strings.HasPrefix(string(b), "go 1.") {
		t.Fatalf("snapshot of %d bytes starting %q", len(b), b[:min(len(b), 16)])
	}
	// Go's own trace tool reads it, and it holds the target's goroutines.
	file := filepath.Join(t.TempDir(), "trace")
	os.WriteFile(file, b, 0o644)
	out, err := exec.Command("go", "tool", "trace", "-d=parsed", file).CombinedOutput()
	if err != nil {
		t.Fatalf("go tool trace: %v\n%.2000s", err, out)
	}
	text := string(out)
	if !strings.Contains(text, "main.main.func1") { // it blocks on its ticker every 10 ms
		t.Errorf("the trace has no events from the target's churn goroutine (main.main.func1)")
	}
	// Its clock syncs lie before the fetch: the window looks back.
	var first time.Time
	for line := range strings.SplitSeq(text, "\n") {
		if i := strings.Index(line, " Wall="); i >= 0 && strings.Contains(line, " Sync ") {
			if w, err := time.Parse(time.RFC3339Nano, strings.Fields(line[i+6:])[0]); err == nil {
				first = w
				break
			}
		}
	}
	if first.IsZero() || !first.Before(fetched) {
		t.Errorf("first sync at %v, fetched at %v: want a window before the fetch", first, fetched)
	}

	if _, err := NewTraceClient(a.base).Fetch(t.Context(), TraceRequest{FlightRecorder: true, MaxBytes: 1024}, io.Discard); err == nil || !strings.Contains(err.Error(), "1.0 KiB budget") {
		t.Errorf("1 KiB budget: %v", err)
	}
	plain := startAgentTarget(t, targetOpts{})
	_, err = NewTraceClient(plain.base).Fetch(t.Context(), TraceRequest{FlightRecorder: true}, io.Discard)
	if ae := wantCode(t, "flight recorder off", err, agent.CodeFlightRecorderDisabled); !strings.Contains(ae.Error(), "call agent.EnableFlightRecorder(") {
		t.Errorf("message: %v", ae)
	}
}

func TestFindWriteAccessPaths(t *testing.T) {
	ctx := t.Context()
	a := startAgentTarget(t, targetOpts{}, "-writes", "-settings", "GOGC,GOMEMLIMIT")
	// PID known (attach by PID) and PID from the metrics document (URL).
	for _, pid := range []int{a.pid, 0} {
		acc := FindWriteAccess(ctx, WriteTarget{AgentBase: a.base, PID: pid})
		if acc.Tuner == nil || acc.Tuner.Via() != "gotune agent" || len(acc.Writable) != 2 || acc.Settings.PID != a.pid {
			t.Fatalf("pid %d: %+v", pid, acc)
		}
		ch, err := acc.Tuner.Set(ctx, agent.GOGC, 75, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := acc.Tuner.Revert(ctx, ch); err != nil || gogc(t, a.base) != 100 {
			t.Fatalf("revert: %v", err)
		}
	}
	// A setting the program left out.
	acc := FindWriteAccess(ctx, WriteTarget{AgentBase: a.base, PID: a.pid})
	_, err := acc.Tuner.Set(ctx, agent.GOMAXPROCS, 1, time.Minute)
	wantCode(t, "GOMAXPROCS not allowed", err, agent.CodeNotWritable)

	// gops only: GOGC through its own request.
	gbin := testproc.BuildInto(t, testproc.GopsAgent, "")
	g := testproc.StartWith(t, gbin, testproc.Options{WaitReady: true, Env: []string{"GOPS_CONFIG_DIR=" + t.TempDir(), "GOGC=100"}})
	plain := startAgentTarget(t, targetOpts{})
	acc = FindWriteAccess(ctx, WriteTarget{AgentBase: plain.base, GopsAddr: "127.0.0.1:" + g.Addr()})
	if acc.Tuner == nil || acc.Tuner.Via() != "gops agent" || !strings.Contains(acc.ReadOnly, "agent.EnableWrites") || acc.Notes[0] != GopsLimitations {
		t.Fatalf("gops access: %+v", acc)
	}
	if _, err := acc.Tuner.Set(ctx, agent.GOMEMLIMIT, 1<<30, 0); err == nil || !strings.Contains(err.Error(), "GOGC only") {
		t.Errorf("GOMEMLIMIT via gops: %v", err)
	}
	ch, err := acc.Tuner.Set(ctx, agent.GOGC, 30, 0)
	if err != nil || ch.Previous != 100 {
		t.Fatalf("GOGC via gops: %+v, %v", ch, err)
	}
	if _, err := acc.Tuner.Revert(ctx, ch); err != nil {
		t.Fatal(err)
	}
	ch2, err := acc.Tuner.Set(ctx, agent.GOGC, 100, 0) // reports what the revert left
	if err != nil || ch2.Previous != 100 {
		t.Errorf("after revert via gops GOGC was %d, want 100 (%v)", ch2.Previous, err)
	}

	// A server without the agent's write endpoints (pprof only, or an
	// agent from before them) answers 404.
	pp := testproc.StartWith(t, testproc.BuildInto(t, testproc.PprofServer, ""), testproc.Options{WaitReady: true})
	acc = FindWriteAccess(ctx, WriteTarget{AgentBase: "http://" + pp.Addr(), PID: pp.PID})
	if acc.Tuner != nil || !strings.Contains(acc.ReadOnly, "no gotune agent with live changes") {
		t.Errorf("pprof-only server: %+v", acc)
	}

	// Neither: read-only, saying why.
	acc = FindWriteAccess(ctx, WriteTarget{})
	if acc.Tuner != nil || !strings.Contains(acc.ReadOnly, "only at start") {
		t.Errorf("no agent: %+v", acc)
	}
}
