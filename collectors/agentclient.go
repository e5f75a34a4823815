package collectors

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gotune/gotune/agent"
	"github.com/gotune/gotune/collectors/gops"
	"github.com/gotune/gotune/collectors/proc"
	"github.com/gotune/gotune/safetext"
)

// Limits of gotune's side of the agent's opt-in endpoints.
const (
	// DefaultAgentWriteTimeout bounds one settings call. A write takes the
	// agent microseconds (a GOMAXPROCS change stops the world briefly).
	DefaultAgentWriteTimeout = 5 * time.Second
	// maxControlBody caps settings and journal replies (a full journal of
	// agent.JournalCapacity entries is about 300 KiB).
	maxControlBody = 4 << 20
	// tokenStartSlack: a token file older than its process's start time
	// (which /proc gives to 10 ms and the clock may have stepped since) by
	// more than this was left by an earlier process with the same PID.
	tokenStartSlack = 2 * time.Second
)

// AgentError is a refusal by the agent's opt-in endpoints, with what a
// person can do about it.
type AgentError struct {
	Op      string // "set GOGC", "journal", "flight recorder snapshot", ...
	URL     string
	Status  int
	Code    string // agent.Code*, "" when the reply had none (an older agent)
	Message string // the agent's own words, made safe for a terminal
	Hint    string
}

func (e *AgentError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "agent %s at %s: ", e.Op, e.URL)
	if e.Message != "" {
		b.WriteString(e.Message)
	} else {
		fmt.Fprintf(&b, "status %d %s", e.Status, http.StatusText(e.Status))
	}
	if e.Hint != "" {
		b.WriteString(" (")
		b.WriteString(e.Hint)
		b.WriteString(")")
	}
	return b.String()
}

// AgentErrorCode returns the agent's refusal code in err, or "".
func AgentErrorCode(err error) string {
	var ae *AgentError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}

// hintFor says what to do about a refusal.
func hintFor(code string, status int, path, tokenFile string) string {
	switch code {
	case agent.CodeWritesDisabled:
		return "the program did not enable live changes: it must call agent.EnableWrites(agent.WriteOptions{...}); until then gotune can only read it"
	case agent.CodeTLSRequired:
		return "the agent is reached over a non-loopback address: serve it over HTTPS, or run gotune on the target's host and attach over 127.0.0.1"
	case agent.CodeTokenMissing, agent.CodeTokenWrong:
		where := "the agent's token file"
		if tokenFile != "" {
			where = tokenFile
		}
		return "the token is in " + where + ", readable only by the target's user: run gotune as that user (or root), or pass --token-file"
	case agent.CodeNotWritable:
		return "the program's agent.WriteOptions.Settings leave this setting out"
	case agent.CodeFlightRecorderDisabled:
		return "the program did not enable the flight recorder: call agent.EnableFlightRecorder(agent.FlightRecorderOptions{...})"
	case agent.CodeFlightRecorderBusy:
		return "another client is fetching a snapshot; try again in a moment"
	case "":
		if status == http.StatusNotFound && path == agent.FlightRecorderPath {
			return "the program did not enable the flight recorder: call agent.EnableFlightRecorder(agent.FlightRecorderOptions{...}) (an agent older than the flight recorder also answers 404)"
		}
		if status == http.StatusNotFound {
			return "this server has no gotune agent with live changes: the program must import github.com/gotune/gotune/agent (a recent version) and call agent.EnableWrites"
		}
	}
	return ""
}

// AgentToken is the token of one agent, read from its token file.
type AgentToken struct {
	PID   int
	Path  string
	Token string
}

// TokenError says why gotune cannot use an agent's token.
type TokenError struct {
	PID    int
	Tried  []string // token file paths looked at
	Reason string
	Hint   string
	Err    error
}

func (e *TokenError) Error() string {
	s := fmt.Sprintf("agent token of process %d: %s", e.PID, e.Reason)
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

func (e *TokenError) Unwrap() error { return e.Err }

// FindAgentToken reads the token of process pid's agent. With explicit
// (--token-file) only that file is read; otherwise the agent's own rule
// (agent.DefaultTokenDir) is applied to the target's environment from
// /proc/PID/environ, then to ours. The file must belong to the process's
// user, be readable by no one else, and be younger than the process.
func FindAgentToken(ctx context.Context, pid int, explicit string) (AgentToken, error) {
	return findAgentToken(ctx, proc.Host, pid, explicit)
}

func findAgentToken(ctx context.Context, fsys proc.FS, pid int, explicit string) (AgentToken, error) {
	p, err := fsys.ProcessSummary(ctx, pid)
	if err != nil {
		return AgentToken{}, &TokenError{PID: pid, Reason: "cannot read the process: " + err.Error(), Err: err}
	}
	var paths []string
	add := func(p string) {
		if p != "" && !slices.Contains(paths, p) {
			paths = append(paths, p)
		}
	}
	envNote := ""
	if explicit != "" {
		add(explicit)
	} else {
		env, err := readEnvKeys(fsys, pid, agent.TokenDirEnv, "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "HOME")
		if err != nil {
			envNote = "; the target's environment is unreadable: " + err.Error()
		} else if dir, err := agent.DefaultTokenDir(func(k string) string { return env[k] }); err == nil {
			add(agent.TokenFilePath(dir, pid))
		}
		if dir, err := agent.DefaultTokenDir(os.Getenv); err == nil {
			add(agent.TokenFilePath(dir, pid))
		}
	}
	te := &TokenError{PID: pid, Tried: paths}
	asUser := fmt.Sprintf("run gotune as the target's user (uid %d) or root", p.UID)
	for _, path := range paths {
		fi, err := os.Stat(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case errors.Is(err, fs.ErrPermission):
			te.Reason, te.Hint, te.Err = "permission denied looking at "+path, asUser, err
			return AgentToken{}, te
		case err != nil:
			te.Reason, te.Err = err.Error(), err
			return AgentToken{}, te
		}
		if uid, ok := fileOwner(fi); ok && p.UID >= 0 && uid != p.UID {
			te.Reason = fmt.Sprintf("%s belongs to uid %d, but the process runs as uid %d: not trusting it", path, uid, p.UID)
			return AgentToken{}, te
		}
		if fi.Mode().Perm()&0o077 != 0 {
			te.Reason = fmt.Sprintf("%s has mode %v, readable by others (the agent writes 0600): not trusting it", path, fi.Mode().Perm())
			return AgentToken{}, te
		}
		if !p.StartTime.IsZero() && fi.ModTime().Before(p.StartTime.Add(-tokenStartSlack)) {
			te.Reason = fmt.Sprintf("%s is older than process %d: an earlier process with that PID left it (writes are not enabled in this one, or it keeps its token elsewhere)", path, pid)
			return AgentToken{}, te
		}
		b, err := os.ReadFile(path)
		if err != nil {
			te.Reason, te.Err = "read "+path+": "+err.Error(), err
			if errors.Is(err, fs.ErrPermission) {
				te.Hint = asUser
			}
			return AgentToken{}, te
		}
		tok := strings.TrimSpace(string(b))
		if _, err := hex.DecodeString(tok); err != nil || len(tok) != 64 {
			te.Reason = path + " does not hold an agent token"
			return AgentToken{}, te
		}
		return AgentToken{PID: pid, Path: path, Token: tok}, nil
	}
	te.Reason = "no token file (looked at " + strings.Join(paths, ", ") + ")" + envNote
	te.Hint = "the program must call agent.EnableWrites; if it set WriteOptions.TokenFile, pass that path with --token-file"
	if len(paths) == 0 {
		te.Reason = "no place to look for a token file" + envNote
	}
	return AgentToken{}, te
}

// readEnvKeys returns the variables named keys from /proc/PID/environ;
// nothing else is copied out (environments hold secrets).
func readEnvKeys(fsys proc.FS, pid int, keys ...string) (map[string]string, error) {
	root := fsys.Root
	if root == "" {
		root = "/"
	}
	b, err := os.ReadFile(filepath.Join(root, "proc", strconv.Itoa(pid), "environ"))
	if err != nil {
		return nil, err
	}
	env := map[string]string{}
	for len(b) > 0 {
		var kv []byte
		kv, b, _ = bytes.Cut(b, []byte{0})
		name, value, ok := bytes.Cut(kv, []byte{'='})
		if ok && slices.Contains(keys, string(name)) {
			env[string(name)] = string(value)
		}
	}
	return env, nil
}

// AgentClient is gotune's client of an agent's settings and journal.
// Every call has its own deadline; refusals are *AgentError.
type AgentClient struct {
	Base      string // e.g. http://127.0.0.1:6060
	TokenFile string // where the token came from, for messages
	token     string
	opts      HTTPSourceOptions
}

// NewAgentClient returns a client for the agent at base (see
// NormalizeBase) using tok. opts.Timeout (default
// DefaultAgentWriteTimeout) bounds each call; give opts.HTTP a TLS
// configuration for an agent served over HTTPS.
func NewAgentClient(base string, tok AgentToken, opts HTTPSourceOptions) *AgentClient {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultAgentWriteTimeout
	}
	opts = opts.withDefaults()
	return &AgentClient{Base: strings.TrimRight(base, "/"), TokenFile: tok.Path, token: tok.Token, opts: opts}
}

// Via names the write path for people.
func (c *AgentClient) Via() string { return "gotune agent" }

// Settings reads the agent's settings, active changes and bounds.
func (c *AgentClient) Settings(ctx context.Context) (agent.Settings, error) {
	var s agent.Settings
	err := c.call(ctx, "settings", http.MethodGet, agent.SettingsPath, nil, &s)
	return s, err
}

// Set changes setting s to value for lease (0: the agent's default lease).
// For GOGC, -1 is off; for GOMEMLIMIT, math.MaxInt64 is no limit.
func (c *AgentClient) Set(ctx context.Context, s agent.Setting, value int64, lease time.Duration) (agent.Change, error) {
	return c.write(ctx, "set "+string(s), agent.WriteRequest{Action: agent.ActionSet, Setting: s, Value: value, LeaseSeconds: lease.Seconds()})
}

// SetDefault returns GOMAXPROCS to Go's default (automatic updates on).
func (c *AgentClient) SetDefault(ctx context.Context, s agent.Setting, lease time.Duration) (agent.Change, error) {
	return c.write(ctx, "set "+string(s)+" to its default", agent.WriteRequest{Action: agent.ActionSet, Setting: s, Default: true, LeaseSeconds: lease.Seconds()})
}

// Renew pushes the end of change id's lease to now + lease.
func (c *AgentClient) Renew(ctx context.Context, id int64, lease time.Duration) (agent.Change, error) {
	return c.write(ctx, "renew change "+strconv.FormatInt(id, 10), agent.WriteRequest{Action: agent.ActionRenew, ID: id, LeaseSeconds: lease.Seconds()})
}

// Keep ends change id's lease: the value stays after gotune leaves.
func (c *AgentClient) Keep(ctx context.Context, id int64) (agent.Change, error) {
	return c.write(ctx, "keep change "+strconv.FormatInt(id, 10), agent.WriteRequest{Action: agent.ActionKeep, ID: id})
}

// Revert restores what change ch replaced.
func (c *AgentClient) Revert(ctx context.Context, ch agent.Change) (agent.Change, error) {
	return c.write(ctx, "revert change "+strconv.FormatInt(ch.ID, 10), agent.WriteRequest{Action: agent.ActionRevert, ID: ch.ID})
}

// Writable lists what the agent lets gotune change (from Settings).
func (c *AgentClient) Writable(ctx context.Context) ([]agent.Setting, error) {
	s, err := c.Settings(ctx)
	return s.Writable, err
}

// Journal reads the agent's journal.
func (c *AgentClient) Journal(ctx context.Context) (agent.Journal, error) {
	var j agent.Journal
	err := c.call(ctx, "journal", http.MethodGet, agent.JournalPath, nil, &j)
	return j, err
}

// Hold keeps change id alive while gotune runs: it renews the lease every
// third of lease until ctx is done (it then returns nil) or a renewal fails
// (it returns the error; the agent reverts on its own when the lease ends).
// If gotune dies or loses the connection, renewals stop and the agent
// reverts within lease. The caller reverts or keeps after Hold returns.
func (c *AgentClient) Hold(ctx context.Context, id int64, lease time.Duration) error {
	if lease <= 0 {
		return errors.New("agent hold: the lease must be positive")
	}
	t := time.NewTicker(max(lease/3, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if _, err := c.Renew(ctx, id, lease); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
	}
}

func (c *AgentClient) write(ctx context.Context, op string, r agent.WriteRequest) (agent.Change, error) {
	var ch agent.Change
	err := c.call(ctx, op, http.MethodPost, agent.SettingsPath, r, &ch)
	return ch, err
}

func (c *AgentClient) call(ctx context.Context, op, method, path string, in, out any) error {
	u := c.Base + path
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return &FetchError{URL: u, Reason: "bad URL: " + err.Error(), Err: err}
	}
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.opts.HTTP.Do(req)
	if err != nil {
		return classifyTransportError(ctx, u, c.opts.Timeout, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxControlBody+1))
	if err != nil {
		return classifyTransportError(ctx, u, c.opts.Timeout, err)
	}
	if len(b) > maxControlBody {
		return tooLarge(u, maxControlBody)
	}
	if resp.StatusCode != http.StatusOK {
		return refusalError(op, u, path, resp.StatusCode, b, c.TokenFile)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return &FetchError{URL: u, Reason: "not a gotune agent reply: " + err.Error(), Err: err, Hint: profileHint(b)}
	}
	return nil
}

func refusalError(op, u, path string, status int, body []byte, tokenFile string) *AgentError {
	e := &AgentError{Op: op, URL: u, Status: status}
	var r agent.ErrorReply
	if json.Unmarshal(body, &r) == nil && r.Code != "" {
		e.Code, e.Message = r.Code, safetext.Line(r.Error)
	} else if s := strings.TrimSpace(string(body)); s != "" && len(s) < 200 && !looksLikeHTML(body) {
		e.Message = fmt.Sprintf("status %d: %s", status, safetext.Line(s))
	}
	e.Hint = hintFor(e.Code, status, path, tokenFile)
	return e
}

// Tuner changes a running target's settings. AgentClient (every setting,
// leases, journal) and GopsTuner (GOGC only) implement it.
type Tuner interface {
	// Via names the write path for people.
	Via() string
	// Set changes s to value for lease (0: the write path's default).
	Set(ctx context.Context, s agent.Setting, value int64, lease time.Duration) (agent.Change, error)
	// Revert restores what ch replaced.
	Revert(ctx context.Context, ch agent.Change) (agent.Change, error)
}

// GopsTuner changes GOGC through a gops agent's own setgc request, the
// only setting gops can change. gops has no authentication, no lease and
// no journal: gotune must revert on exit itself, and if gotune is killed
// the value stays.
type GopsTuner struct {
	Client *gops.Client
}

// GopsLimitations is what gotune tells a person about writes via gops.
const GopsLimitations = "via gops: GOGC only, without authentication, lease or journal; if gotune is killed, the value stays"

// Via names the write path for people.
func (g GopsTuner) Via() string { return "gops agent" }

// Set sets GOGC (-1 is off). The lease is not enforced by the target.
func (g GopsTuner) Set(ctx context.Context, s agent.Setting, value int64, lease time.Duration) (agent.Change, error) {
	if s != agent.GOGC {
		return agent.Change{}, fmt.Errorf("gops can change GOGC only, not %s: the program must import github.com/gotune/gotune/agent and call agent.EnableWrites", s)
	}
	if value < 0 {
		value = -1
	}
	prev, err := g.Client.SetGC(ctx, int(value))
	if err != nil {
		return agent.Change{}, err
	}
	now := time.Now()
	return agent.Change{Setting: agent.GOGC, Value: value, Previous: int64(prev), Restore: int64(prev),
		State: agent.StateKept, SetAt: now, Warnings: []string{GopsLimitations}}, nil
}

// Revert sets GOGC back to ch.Restore.
func (g GopsTuner) Revert(ctx context.Context, ch agent.Change) (agent.Change, error) {
	if ch.Setting != agent.GOGC {
		return ch, fmt.Errorf("gops can change GOGC only, not %s", ch.Setting)
	}
	if _, err := g.Client.SetGC(ctx, int(ch.Restore)); err != nil {
		return ch, err
	}
	ch.State, ch.EndedAt = agent.StateReverted, time.Now()
	return ch, nil
}

// WriteTarget is what gotune knows about a target when it looks for a way
// to change its settings.
type WriteTarget struct {
	AgentBase string // base URL of a gotune agent, "" if none
	// PID of the process; 0 to take it from the agent's metrics document
	// (only when AgentBase is a loopback address: the token file is on
	// this host).
	PID       int
	TokenFile string // --token-file; "" to find it by PID
	GopsAddr  string // a gops agent's host:port, "" if none
	HTTP      HTTPSourceOptions
}

// WriteAccess is how gotune can change a target's settings.
type WriteAccess struct {
	Tuner    Tuner // nil: read-only
	Writable []agent.Setting
	Settings *agent.Settings // from the agent, when Via is the agent
	// ReadOnly says why gotune cannot write (Tuner nil), or why it falls
	// back to gops, in words a person can act on.
	ReadOnly string
	Notes    []string
}

// FindWriteAccess finds how gotune can change the target's settings: the
// gotune agent when the program enabled writes and gotune can read its
// token, else a gops agent (GOGC only), else none, saying why.
func FindWriteAccess(ctx context.Context, t WriteTarget) WriteAccess {
	var why []string
	if t.AgentBase != "" {
		a, reason := agentAccess(ctx, t)
		if a != nil {
			return *a
		}
		why = append(why, reason)
	}
	if t.GopsAddr != "" {
		return WriteAccess{Tuner: GopsTuner{Client: gops.NewClient(t.GopsAddr)}, Writable: []agent.Setting{agent.GOGC},
			ReadOnly: strings.Join(why, "; "), Notes: []string{GopsLimitations}}
	}
	if len(why) == 0 {
		why = append(why, "no gotune agent and no gops agent in this process")
	}
	why = append(why, "GOGC and GOMEMLIMIT are read from the environment only at start: set them there and restart, or have the program import github.com/gotune/gotune/agent and call agent.EnableWrites")
	return WriteAccess{ReadOnly: strings.Join(why, "; ")}
}

func agentAccess(ctx context.Context, t WriteTarget) (*WriteAccess, string) {
	probe := NewAgentClient(t.AgentBase, AgentToken{}, t.HTTP)
	_, err := probe.Settings(ctx)
	code := AgentErrorCode(err)
	switch {
	case err == nil:
		return nil, "the agent accepted a request without a token: refusing to use it"
	case code == agent.CodeTokenMissing:
		// Writes are enabled: find the token.
	case code != "":
		var ae *AgentError
		errors.As(err, &ae)
		if ae.Hint == "" {
			return nil, ae.Error()
		}
		return nil, ae.Message + " (" + ae.Hint + ")"
	default:
		return nil, err.Error()
	}
	pid := t.PID
	if pid == 0 {
		doc, err := agentDocument(ctx, t)
		if err != nil {
			return nil, "writes are enabled, but the agent's PID is unknown: " + err.Error()
		}
		if !loopbackURL(t.AgentBase) && t.TokenFile == "" {
			return nil, "writes are enabled, but the agent is on another host: its token file is there (copy it and pass --token-file)"
		}
		pid = doc.PID
	}
	tok, err := FindAgentToken(ctx, pid, t.TokenFile)
	if err != nil {
		return nil, "writes are enabled, but " + err.Error()
	}
	c := NewAgentClient(t.AgentBase, tok, t.HTTP)
	s, err := c.Settings(ctx)
	if err != nil {
		return nil, err.Error()
	}
	if t.PID != 0 && s.PID != t.PID {
		return nil, fmt.Sprintf("the agent at %s serves process %d, not %d", t.AgentBase, s.PID, t.PID)
	}
	return &WriteAccess{Tuner: c, Writable: s.Writable, Settings: &s}, ""
}

func agentDocument(ctx context.Context, t WriteTarget) (agent.Document, error) {
	o := t.HTTP.withDefaults()
	body, _, err := get(ctx, o.HTTP, strings.TrimRight(t.AgentBase, "/")+agent.Path, o.Timeout, o.MaxBody, "application/json")
	if err != nil {
		return agent.Document{}, err
	}
	return DecodeAgentDocument(body)
}

func loopbackURL(base string) bool {
	u, err := url.Parse(base)
	if err != nil {
		return false
	}
	h := u.Hostname()
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
