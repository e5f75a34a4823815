package agent

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of WriteOptions.
const (
	DefaultMaxLease = time.Hour
	DefaultLease    = 5 * time.Minute
	// JournalCapacity is how many journal entries the agent keeps in
	// memory; WriteOptions.Journal receives all of them.
	JournalCapacity = 1024
	maxWriteBody    = 4 << 10
)

// WriteOptions configure EnableWrites.
type WriteOptions struct {
	// TokenFile is where the token is written. "" means
	// DefaultTokenDir(os.Getenv)/<pid>.token, where gotune finds it by PID;
	// with any other path, gotune must be told it (--token-file).
	TokenFile string
	// Settings lists what clients may change; nil means AllSettings.
	Settings []Setting
	// MaxLease bounds every lease (0: DefaultMaxLease). A change lives at
	// most this long unless renewed or kept.
	MaxLease time.Duration
	// DefaultLease applies to a write that names no lease (0:
	// DefaultLease, or MaxLease if that is shorter).
	DefaultLease time.Duration
	// Journal, if not nil, receives every journal entry as one JSON line,
	// under the agent's lock (a log file, say). The agent keeps the last
	// JournalCapacity entries in memory either way.
	Journal io.Writer
	// BlockProfileRate is the rate the program itself passed to
	// runtime.SetBlockProfileRate, if any: Go cannot read it back, so the
	// agent reports and restores this value.
	BlockProfileRate int
}

// writer is the state of enabled writes.
type writer struct {
	opts      WriteOptions
	token     []byte
	tokenFile string
	allowed   []Setting

	refused     atomic.Int64
	mu          sync.Mutex
	closed      bool
	lastRefusal string
	settings    *settingState
	nextID      int64
	changes     map[int64]*change   // every change, ended ones too
	active      map[Setting]*change // the active change of each setting
	journal     []JournalEntry      // ring: the last JournalCapacity entries
	seq         int64
	dropped     int64
}

type change struct {
	Change
	timer *time.Timer
}

var (
	writes   atomic.Pointer[writer]
	enableMu sync.Mutex // serializes EnableWrites and DisableWrites
)

// EnableWrites lets clients holding the agent's token change GOGC,
// GOMEMLIMIT, GOMAXPROCS and the mutex and block profile rates of this
// process, through POST SettingsPath. Until it is called, and after
// DisableWrites, every write is refused.
//
// It makes a random token and writes it to the token file (mode 0600 in a
// 0700 directory owned by this process's user) and returns that file's
// path. A client must send the token as "Authorization: Bearer <token>",
// and over a connection whose ends are not both loopback the request must
// also come over TLS. Each change carries a lease: the agent reverts it on
// its own when the lease ends unless the client renews or keeps it. Call
// DisableWrites (for instance deferred in main) to revert what is still
// leased and remove the token file; after SIGKILL the file stays until the
// next EnableWrites on this host removes it.
func EnableWrites(opts WriteOptions) (tokenFile string, err error) {
	enableMu.Lock()
	defer enableMu.Unlock()
	if writes.Load() != nil {
		return "", errors.New("agent: writes are already enabled")
	}
	if opts.MaxLease <= 0 {
		opts.MaxLease = DefaultMaxLease
	}
	if opts.DefaultLease <= 0 {
		opts.DefaultLease = DefaultLease
	}
	opts.DefaultLease = min(opts.DefaultLease, opts.MaxLease)
	allowed := AllSettings
	if opts.Settings != nil {
		allowed = nil
		for _, s := range opts.Settings {
			if !slices.Contains(AllSettings, s) {
				return "", fmt.Errorf("agent: unknown setting %q", s)
			}
			if !slices.Contains(allowed, s) {
				allowed = append(allowed, s)
			}
		}
	}
	path := opts.TokenFile
	if path == "" {
		dir, err := DefaultTokenDir(os.Getenv)
		if err != nil {
			return "", fmt.Errorf("agent: no directory for the token file (%w); set WriteOptions.TokenFile or $%s", err, TokenDirEnv)
		}
		path = TokenFilePath(dir, os.Getpid())
	}
	token, err := newToken()
	if err != nil {
		return "", fmt.Errorf("agent: make token: %w", err)
	}
	if err := writeTokenFile(path, token); err != nil {
		return "", fmt.Errorf("agent: write token file %s: %w", path, err)
	}
	w := &writer{
		opts: opts, token: []byte(token), tokenFile: path, allowed: allowed,
		settings: newSettingState(opts.BlockProfileRate),
		changes:  map[int64]*change{}, active: map[Setting]*change{},
	}
	w.mu.Lock()
	w.record(JournalEntry{Event: EventEnable, Note: "token file " + path})
	w.mu.Unlock()
	writes.Store(w)
	return path, nil
}

// DisableWrites refuses writes from now on, reverts every change still
// under a lease (kept changes stay), and removes the token file.
func DisableWrites() {
	enableMu.Lock()
	defer enableMu.Unlock()
	w := writes.Swap(nil)
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range w.activeInOrder() {
		if c.State == StateLeased {
			w.revertLocked(c, EventDisable, StateReverted, "", "writes disabled")
		}
	}
	w.closed = true
	removeTokenFile(w.tokenFile, string(w.token))
}

// activeInOrder returns the active changes, newest first, so dependent
// changes (GOGC=off after a memory limit) are undone before what they need.
func (w *writer) activeInOrder() []*change {
	var cs []*change
	for _, c := range w.active {
		cs = append(cs, c)
	}
	slices.SortFunc(cs, func(a, b *change) int { return int(b.ID - a.ID) })
	return cs
}

// record appends e to the journal (w.mu held).
func (w *writer) record(e JournalEntry) {
	w.seq++
	e.Seq, e.Time = w.seq, time.Now()
	if w.opts.Journal != nil {
		if b, err := json.Marshal(e); err == nil {
			_, _ = w.opts.Journal.Write(append(b, '\n'))
		}
	}
	// A client holding a change renews it every few seconds: in memory,
	// consecutive renewals of one change fold into one entry (Renewals
	// counts them), so they do not push the writes out of the journal.
	if n := len(w.journal); e.Event == EventRenew && n > 0 {
		if last := &w.journal[n-1]; last.Event == EventRenew && last.ChangeID == e.ChangeID {
			e.Seq, e.Renewals = last.Seq, last.Renewals+1
			*last = e
			return
		}
	}
	if e.Event == EventRenew {
		e.Renewals = 1
	}
	if len(w.journal) == JournalCapacity {
		w.journal = slices.Delete(w.journal, 0, 1)
		w.dropped++
	}
	w.journal = append(w.journal, e)
}

// refusal is a refused request: its HTTP status and reply.
type refusal struct {
	status int
	ErrorReply
}

func refuse(status int, code, format string, args ...any) *refusal {
	return &refusal{status, ErrorReply{Code: code, Error: fmt.Sprintf(format, args...)}}
}

func (r *refusal) write(w http.ResponseWriter) {
	if r.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="gotune agent"`)
	}
	writeJSON(w, r.status, r.ErrorReply)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // messages name <token> and paths; no HTML here
	_ = enc.Encode(v)
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(status)
	_, _ = io.WriteString(w, b.String())
}

// authorize checks, in this order, that writes are enabled, that the
// connection is loopback or TLS, and the token.
func authorize(req *http.Request) (*writer, *refusal) {
	w := writes.Load()
	if w == nil {
		return nil, refuse(http.StatusForbidden, CodeWritesDisabled,
			"writes are not enabled in this program: it must call agent.EnableWrites")
	}
	var ref *refusal
	switch {
	case req.TLS == nil && !loopbackConn(req):
		ref = refuse(http.StatusForbidden, CodeTLSRequired,
			"this connection is not loopback (%s to %s): writes need TLS", req.RemoteAddr, localAddr(req))
	default:
		auth := req.Header.Get("Authorization")
		tok, ok := strings.CutPrefix(auth, "Bearer ")
		switch {
		case !ok || tok == "":
			ref = refuse(http.StatusUnauthorized, CodeTokenMissing, "no token: send Authorization: Bearer <token from %s>", w.tokenFile)
		case subtle.ConstantTimeCompare([]byte(tok), w.token) != 1:
			ref = refuse(http.StatusUnauthorized, CodeTokenWrong, "wrong token: the token is in %s", w.tokenFile)
		}
	}
	if ref != nil {
		w.refused.Add(1)
		w.mu.Lock()
		w.lastRefusal = time.Now().UTC().Format(time.RFC3339) + " " + ref.Code + " from " + req.RemoteAddr
		w.mu.Unlock()
		return nil, ref
	}
	return w, nil
}

func localAddr(req *http.Request) string {
	if a, ok := req.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		return a.String()
	}
	return "unknown"
}

// loopbackConn reports whether both ends of the request's connection are
// on this host: loopback TCP addresses, or a Unix socket. A request through
// a reverse proxy on this host looks local: do not put one in front of the
// agent (the token is still needed).
func loopbackConn(req *http.Request) bool {
	local, _ := req.Context().Value(http.LocalAddrContextKey).(net.Addr)
	switch a := local.(type) {
	case *net.UnixAddr:
		return true
	case *net.TCPAddr:
		if !a.IP.IsLoopback() {
			return false
		}
	default:
		return false
	}
	host, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// SettingsHandler serves SettingsPath: GET the settings and active changes,
// POST a WriteRequest. Both need the token (see EnableWrites).
func SettingsHandler() http.Handler { return http.HandlerFunc(serveSettings) }

// JournalHandler serves JournalPath: GET the journal, with the token.
func JournalHandler() http.Handler { return http.HandlerFunc(serveJournal) }

func serveSettings(rw http.ResponseWriter, req *http.Request) {
	w, ref := authorize(req)
	if ref != nil {
		ref.write(rw)
		return
	}
	switch req.Method {
	case http.MethodGet, http.MethodHead:
		writeJSON(rw, http.StatusOK, w.status())
	case http.MethodPost:
		var wr WriteRequest
		dec := json.NewDecoder(http.MaxBytesReader(rw, req.Body, maxWriteBody))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&wr); err != nil {
			refuse(http.StatusBadRequest, CodeBadRequest, "bad write request: %v", err).write(rw)
			return
		}
		c, ref := w.do(wr, req.RemoteAddr)
		if ref != nil {
			ref.write(rw)
			return
		}
		writeJSON(rw, http.StatusOK, c)
	default:
		rw.Header().Set("Allow", "GET, HEAD, POST")
		refuse(http.StatusMethodNotAllowed, CodeBadRequest, "use GET or POST").write(rw)
	}
}

func serveJournal(rw http.ResponseWriter, req *http.Request) {
	w, ref := authorize(req)
	if ref != nil {
		ref.write(rw)
		return
	}
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		rw.Header().Set("Allow", "GET, HEAD")
		refuse(http.StatusMethodNotAllowed, CodeBadRequest, "the journal is read-only, use GET").write(rw)
		return
	}
	w.mu.Lock()
	j := Journal{Format: ControlFormatVersion, PID: os.Getpid(), Entries: slices.Clone(w.journal)}
	j.Dropped = w.dropped
	w.mu.Unlock()
	writeJSON(rw, http.StatusOK, j)
}

// status describes the settings now.
func (w *writer) status() Settings {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := Settings{
		Format: ControlFormatVersion, PID: os.Getpid(), Writable: w.allowed,
		DefaultLease: w.opts.DefaultLease.Seconds(), MaxLease: w.opts.MaxLease.Seconds(),
		Limits: measureLimits(), TokenFile: w.tokenFile,
		RefusedRequests: w.refused.Load(), LastRefusalReason: w.lastRefusal,
	}
	for _, name := range AllSettings {
		s.Values = append(s.Values, w.settings.value(name))
	}
	for _, c := range w.activeInOrder() {
		s.Active = append(s.Active, c.Change)
	}
	return s
}

// do carries out one write request.
func (w *writer) do(r WriteRequest, remote string) (Change, *refusal) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return Change{}, refuse(http.StatusForbidden, CodeWritesDisabled, "writes were disabled")
	}
	lease, ref := w.lease(r)
	if ref != nil {
		return Change{}, ref
	}
	if r.Action == ActionSet {
		return w.set(r, lease, remote)
	}
	c := w.changes[r.ID]
	if c == nil {
		if r.Action != ActionRenew && r.Action != ActionKeep && r.Action != ActionRevert {
			return Change{}, refuse(http.StatusBadRequest, CodeBadRequest, "unknown action %q (want set, renew, keep or revert)", r.Action)
		}
		return Change{}, refuse(http.StatusNotFound, CodeNoSuchChange, "no change %d", r.ID)
	}
	if !c.Active() {
		return c.Change, refuse(http.StatusConflict, CodeNoSuchChange, "change %d is no longer active: %s at %s", c.ID, c.State, c.EndedAt.UTC().Format(time.RFC3339))
	}
	switch r.Action {
	case ActionRenew:
		if c.State != StateLeased {
			return c.Change, refuse(http.StatusConflict, CodeBadRequest, "change %d was kept: it has no lease to renew", c.ID)
		}
		c.LeaseExpires = time.Now().Add(lease)
		c.timer.Reset(lease)
		w.record(JournalEntry{Event: EventRenew, ChangeID: c.ID, Setting: c.Setting, From: c.Value, To: c.Value,
			FromDefault: c.Default, ToDefault: c.Default, LeaseEnds: c.LeaseExpires, Remote: remote})
	case ActionKeep:
		c.State, c.LeaseExpires = StateKept, time.Time{}
		c.timer.Stop()
		w.record(JournalEntry{Event: EventKeep, ChangeID: c.ID, Setting: c.Setting, From: c.Value, To: c.Value,
			FromDefault: c.Default, ToDefault: c.Default, Remote: remote})
	case ActionRevert:
		w.revertLocked(c, EventRevert, StateReverted, remote, "")
	default:
		return Change{}, refuse(http.StatusBadRequest, CodeBadRequest, "unknown action %q (want set, renew, keep or revert)", r.Action)
	}
	return c.Change, nil
}

func (w *writer) lease(r WriteRequest) (time.Duration, *refusal) {
	if r.Action != ActionSet && r.Action != ActionRenew {
		return 0, nil
	}
	if math.IsNaN(r.LeaseSeconds) || r.LeaseSeconds < 0 {
		return 0, refuse(http.StatusBadRequest, CodeBadRequest, "lease_seconds must be positive")
	}
	if r.LeaseSeconds == 0 {
		return w.opts.DefaultLease, nil
	}
	if r.LeaseSeconds > w.opts.MaxLease.Seconds() {
		return 0, refuse(http.StatusUnprocessableEntity, CodeOutOfBounds, "a lease of %gs is longer than this program allows (%s); renew it instead, or keep the change", r.LeaseSeconds, w.opts.MaxLease)
	}
	return max(time.Duration(r.LeaseSeconds*float64(time.Second)), time.Millisecond), nil
}

func (w *writer) set(r WriteRequest, lease time.Duration, remote string) (Change, *refusal) {
	s := r.Setting
	if !slices.Contains(AllSettings, s) {
		return Change{}, refuse(http.StatusBadRequest, CodeBadRequest, "unknown setting %q", s)
	}
	if !slices.Contains(w.allowed, s) {
		return Change{}, refuse(http.StatusForbidden, CodeNotWritable, "this program does not allow changing %s", s)
	}
	v := r.Value
	if s == GOGC && v < 0 {
		v = -1
	}
	warnings, err := w.settings.check(s, v, r.Default, measureLimits())
	if err != nil {
		return Change{}, refuse(http.StatusUnprocessableEntity, CodeOutOfBounds, "%v", err)
	}
	prev := w.settings.value(s)
	restore := prev
	if old := w.active[s]; old != nil {
		restore = SettingValue{Value: old.Restore, Default: old.RestoreDefault}
		old.timer.Stop()
		old.State, old.EndedAt = StateSuperseded, time.Now()
		w.record(JournalEntry{Event: EventSupersed, ChangeID: old.ID, Setting: s, From: old.Value, To: old.Value,
			FromDefault: old.Default, ToDefault: old.Default, Remote: remote, Note: fmt.Sprintf("replaced by change %d", w.nextID+1)})
	}
	now := w.settings.apply(s, v, r.Default)
	w.nextID++
	c := &change{Change: Change{
		ID: w.nextID, Setting: s, Value: now.Value, Default: now.Default,
		Previous: prev.Value, PreviousDefault: prev.Default,
		Restore: restore.Value, RestoreDefault: restore.Default,
		State: StateLeased, SetAt: time.Now(), Warnings: warnings,
	}}
	c.LeaseExpires = c.SetAt.Add(lease)
	id := c.ID
	c.timer = time.AfterFunc(lease, func() { w.expire(id) })
	w.changes[id] = c
	w.active[s] = c
	w.record(JournalEntry{Event: EventSet, ChangeID: id, Setting: s, From: prev.Value, To: now.Value,
		FromDefault: prev.Default, ToDefault: now.Default, LeaseEnds: c.LeaseExpires, Remote: remote,
		Note: strings.Join(warnings, "; ")})
	return c.Change, nil
}

// expire reverts change id if its lease has ended.
func (w *writer) expire(id int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.changes[id]
	if w.closed || c == nil || c.State != StateLeased {
		return
	}
	if left := time.Until(c.LeaseExpires); left > 0 { // renewed as the timer fired
		c.timer.Reset(left)
		return
	}
	w.revertLocked(c, EventExpire, StateExpired, "", "lease ended")
}

// revertLocked puts back what change c replaced, unless the program has
// changed the setting itself since (then it is left alone). Removing a
// memory limit also reverts an active GOGC=off that relied on it.
func (w *writer) revertLocked(c *change, event, state, remote, note string) {
	c.timer.Stop()
	delete(w.active, c.Setting)
	c.EndedAt = time.Now()
	cur := w.settings.value(c.Setting)
	// GOMAXPROCS at its default follows the CPU limit on its own, and the
	// block profile rate cannot be read: neither can be compared.
	comparable := cur.Known && !(c.Setting == GOMAXPROCS && c.Default)
	if comparable && (cur.Value != c.Value || cur.Default != c.Default) {
		c.State = StateLeftAlone
		w.record(JournalEntry{Event: EventLeave, ChangeID: c.ID, Setting: c.Setting, From: cur.Value, To: cur.Value,
			FromDefault: cur.Default, ToDefault: cur.Default, Remote: remote,
			Note: fmt.Sprintf("the program changed %s from %d to %d itself; not reverted", c.Setting, c.Value, cur.Value)})
		return
	}
	if c.Setting == GOMEMLIMIT && c.Restore == noMemoryLimit {
		if g := w.active[GOGC]; g != nil && g.Value < 0 {
			w.revertLocked(g, event, state, remote, "reverted with the memory limit GOGC=off relied on")
		}
	}
	now := w.settings.apply(c.Setting, c.Restore, c.RestoreDefault)
	c.State = state
	w.record(JournalEntry{Event: event, ChangeID: c.ID, Setting: c.Setting, From: cur.Value, To: now.Value,
		FromDefault: cur.Default, ToDefault: now.Default, Remote: remote, Note: note})
}
