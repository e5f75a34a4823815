package bundle

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gotune/gotune/measurement"
	"github.com/gotune/gotune/snapshot"
)

// DefaultMaxBytes caps a bundle directory.
const DefaultMaxBytes = 1 << 30

// IndexName is the directory's index: one JSON object per event (fired,
// suppressed, cleared, written, evicted, failed), appended.
const IndexName = "index.jsonl"

// indexMax rotates the index (to index.jsonl.1) beyond this size, so a
// watch of weeks keeps a bounded index too.
const indexMax = 4 << 20

// Dir is a directory of bundles with a cap on their total size.
type Dir struct {
	path string
	max  int64

	mu    sync.Mutex
	files []bundleFile // oldest first
	total int64
}

type bundleFile struct {
	name  string
	size  int64 // with its trace
	mod   time.Time
	trace bool // NAME.trace beside it
}

// OpenDir opens (making it) a bundle directory capped at maxBytes
// (DefaultMaxBytes when 0); bundles already there count. What a crashed
// run left (a write under way, a trace without its bundle) is removed:
// one watch per directory.
func OpenDir(path string, maxBytes int64) (*Dir, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, fmt.Errorf("bundle directory: %w", err)
	}
	d := &Dir{path: path, max: maxBytes}
	ents, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("bundle directory: %w", err)
	}
	names := map[string]bool{}
	for _, e := range ents {
		names[e.Name()] = true
	}
	for _, e := range ents {
		// What a crash left: a write under way, or a trace whose bundle
		// was never renamed into place.
		if n := e.Name(); strings.HasPrefix(n, ".writing-") ||
			strings.HasSuffix(n, TraceExt) && !strings.HasPrefix(n, ".") && !names[strings.TrimSuffix(n, TraceExt)+".gotune"] {
			_ = os.Remove(filepath.Join(path, n))
			continue
		}
		if !isBundle(e.Name()) {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		f := bundleFile{name: e.Name(), size: fi.Size(), mod: fi.ModTime()}
		if ti, err := os.Stat(filepath.Join(path, tracePath(e.Name()))); err == nil {
			f.trace, f.size = true, f.size+ti.Size()
		}
		d.files = append(d.files, f)
		d.total += f.size
	}
	slices.SortFunc(d.files, func(a, b bundleFile) int { return a.mod.Compare(b.mod) })
	return d, nil
}

func isBundle(name string) bool {
	return strings.HasSuffix(name, ".gotune") && !strings.HasPrefix(name, ".")
}

// Path is the directory.
func (d *Dir) Path() string { return d.path }

// Usage is the bundles' total size and count.
func (d *Dir) Usage() (int64, int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.total, len(d.files)
}

// tracePath is the trace beside bundle file name.
func tracePath(name string) string { return strings.TrimSuffix(name, ".gotune") + TraceExt }

// Written is a bundle on disk.
type Written struct {
	Path  string
	Bytes int64 // with its trace
	// Trace is the execution trace beside it ("" for none).
	Trace string
	// Evicted are the older bundles removed to stay within the cap.
	Evicted []string
}

// Write saves s as name (a file name; ".gotune" is added): written to a
// hidden name first (atomically, as snapshot.Write does), then the
// oldest bundles are removed until it fits under the cap, then renamed
// into place. A bundle larger than the cap alone is removed and refused
// (ErrTooBig). A non-empty trace is saved beside it as NAME.trace, the
// two counted as one against the cap and evicted together.
func (d *Dir) Write(name string, s *snapshot.Snapshot, trace []byte) (Written, error) {
	name = safeName(name) + ".gotune"
	tmp := filepath.Join(d.path, ".writing-"+name)
	if err := snapshot.Write(tmp, s); err != nil {
		return Written{}, err
	}
	fi, err := os.Stat(tmp)
	if err != nil {
		return Written{}, err
	}
	size := fi.Size() + int64(len(trace))
	if size > d.max {
		os.Remove(tmp)
		return Written{Bytes: size}, fmt.Errorf("%w: %s, the cap is %s", ErrTooBig, measurement.Bytes(float64(size)), measurement.Bytes(float64(d.max)))
	}
	var tmpTrace string
	if len(trace) > 0 {
		tmpTrace = filepath.Join(d.path, ".writing-"+tracePath(name))
		if err := writeSynced(tmpTrace, trace); err != nil {
			os.Remove(tmp)
			os.Remove(tmpTrace)
			return Written{}, fmt.Errorf("the bundle's trace: %w", err)
		}
	}
	cleanup := func() {
		os.Remove(tmp)
		if tmpTrace != "" {
			os.Remove(tmpTrace)
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	w := Written{Path: filepath.Join(d.path, name), Bytes: size}
	for d.total+size > d.max && len(d.files) > 0 {
		old := d.files[0]
		d.files = d.files[1:]
		if err := os.Remove(filepath.Join(d.path, old.name)); err != nil && !os.IsNotExist(err) {
			cleanup()
			return Written{}, fmt.Errorf("make room for a bundle: %w", err)
		}
		if old.trace {
			_ = os.Remove(filepath.Join(d.path, tracePath(old.name)))
		}
		d.total -= old.size
		w.Evicted = append(w.Evicted, old.name)
	}
	// The trace first: a bundle in place has its trace in place.
	if tmpTrace != "" {
		w.Trace = filepath.Join(d.path, tracePath(name))
		if err := os.Rename(tmpTrace, w.Trace); err != nil {
			cleanup()
			return Written{}, err
		}
	}
	if err := os.Rename(tmp, w.Path); err != nil {
		cleanup()
		if w.Trace != "" {
			os.Remove(w.Trace)
		}
		return Written{}, err
	}
	d.files = append(d.files, bundleFile{name: name, size: size, mod: time.Now(), trace: tmpTrace != ""})
	d.total += size
	return w, nil
}

// writeSynced writes data to path and syncs it.
func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if serr := f.Sync(); err == nil {
		err = serr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// safeName keeps letters, digits, '-', '.' and '_' of a name.
func safeName(s string) string {
	out := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.', r == '_':
			return r
		}
		return '-'
	}, s)
	out = strings.Trim(out, "-.")
	if len(out) > 100 {
		out = out[:100]
	}
	if out == "" {
		out = "bundle"
	}
	return out
}

// IndexEntry is one line of the index.
type IndexEntry struct {
	Time    time.Time `json:"time"`
	Event   string    `json:"event"` // fired, suppressed, cleared, written, evicted, failed
	Target  string    `json:"target"`
	PID     int       `json:"pid,omitempty"`
	Rule    string    `json:"rule,omitempty"`
	Episode int       `json:"episode,omitempty"`
	Reason  string    `json:"reason,omitempty"`
	File    string    `json:"file,omitempty"`
	// Trace is the execution trace beside the bundle (written).
	Trace string `json:"trace,omitempty"`
	Bytes int64  `json:"bytes,omitempty"`
	// TookSeconds is how long the capture took (written).
	TookSeconds float64  `json:"took_seconds,omitempty"`
	Profiles    []string `json:"profiles,omitempty"`
	Notes       []string `json:"notes,omitempty"`
	Error       string   `json:"error,omitempty"`
	// CooldownUntil is when the rule may fire again (fired, suppressed).
	CooldownUntil time.Time `json:"cooldown_until,omitzero"`
}

// Append adds an entry to the index, rotating it beyond indexMax.
func (d *Dir) Append(e IndexEntry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	p := filepath.Join(d.path, IndexName)
	if fi, err := os.Stat(p); err == nil && fi.Size()+int64(len(b)) > indexMax {
		_ = os.Rename(p, p+".1")
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(append(b, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// ReadIndex reads a directory's index (for tests and tools).
func ReadIndex(dir string) ([]IndexEntry, error) {
	b, err := os.ReadFile(filepath.Join(dir, IndexName))
	if err != nil {
		return nil, err
	}
	var out []IndexEntry
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if line == "" {
			continue
		}
		var e IndexEntry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			return out, fmt.Errorf("%s: %w", IndexName, err)
		}
		out = append(out, e)
	}
	return out, nil
}
