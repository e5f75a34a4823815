package snapshot

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gotune/gotune/advisor"
	"github.com/gotune/gotune/internal/atomicfile"
	"github.com/gotune/gotune/profile"
)

// Budgets of what Read accepts, checked before and while a file is read,
// so a crafted file (a small zip of huge entries) cannot make gotune use
// unbounded memory. A file over a budget is refused with a message that
// names it. Profiles are at most what gotune fetches (collectors'
// DefaultMaxBody, 64 MiB); the JSON entries hold a window's series and
// groups, tens of MiB for hours of samples.
const (
	MaxFileSize     = 1 << 30   // the file itself
	MaxEntrySize    = 128 << 20 // one entry, inflated
	MaxManifestSize = 4 << 20   // manifest.json, inflated
	MaxJSONEntry    = 64 << 20  // series, groups, findings, inflated (each decodes to several times its size)
	MaxTotalSize    = 512 << 20 // every entry together, inflated
	MaxJSONDecoded  = 256 << 20 // what the JSON entries decode to, estimated (jsonCost)
	// MaxRatio is the largest inflated/compressed ratio of a deflated
	// entry: JSON compresses 5–20×, far below it; a zip bomb far above.
	MaxRatio = 200
	// MaxTraceEntry is an execution trace's budget: what gotune fetches
	// at most (collectors.DefaultMaxTrace).
	MaxTraceEntry = 256 << 20
)

// entry is one archive member before writing.
type entry struct {
	file File
	data []byte
}

func (s *Snapshot) entries() ([]entry, error) {
	var es []entry
	add := func(f File, data []byte) {
		sum := sha256.Sum256(data)
		f.Size, f.SHA256 = int64(len(data)), hex.EncodeToString(sum[:])
		es = append(es, entry{f, data})
	}
	series, err := json.Marshal(s.Series)
	if err != nil {
		return nil, fmt.Errorf("encode metric series: %w", err)
	}
	add(File{Name: SeriesEntry, Kind: "series"}, series)
	for _, k := range s.Kinds() {
		c := s.Profiles[k]
		if len(c.Raw) == 0 {
			continue
		}
		if !validProfileName(string(k)) {
			return nil, fmt.Errorf("profile name %q: only letters, digits and -", k)
		}
		add(File{Name: ProfilesDir + string(k) + ".pb.gz", Kind: "profile", Profile: k, Scope: c.Scope, From: wallUTC(c.From), To: wallUTC(c.To)}, c.Raw)
	}
	if len(s.GoroutineDump) > 0 {
		add(File{Name: GoroutineDump, Kind: "goroutine-dump", Profile: profile.KindGoroutine}, s.GoroutineDump)
	}
	if len(s.Goroutines) > 0 {
		b, err := json.Marshal(s.Goroutines)
		if err != nil {
			return nil, fmt.Errorf("encode goroutine groups: %w", err)
		}
		add(File{Name: GoroutineEntry, Kind: "goroutines"}, b)
	}
	if len(s.GoroutinesStart) > 0 {
		b, err := json.Marshal(s.GoroutinesStart)
		if err != nil {
			return nil, fmt.Errorf("encode goroutine groups: %w", err)
		}
		add(File{Name: StartGroups, Kind: "goroutines-start"}, b)
	}
	if t := s.Trace; t != nil && len(t.Raw) > 0 {
		b, err := json.Marshal(t)
		if err != nil {
			return nil, fmt.Errorf("encode the trace summary: %w", err)
		}
		add(File{Name: TraceEntry, Kind: "trace", From: wallUTC(t.From), To: wallUTC(t.To)}, t.Raw)
		add(File{Name: TraceSummaryEntry, Kind: "trace-summary"}, b)
	}
	if s.Advice != nil {
		b, err := json.Marshal(s.Advice)
		if err != nil {
			return nil, fmt.Errorf("encode the advisor's report: %w", err)
		}
		add(File{Name: FindingsEntry, Kind: "findings"}, b)
	}
	return es, nil
}

func validProfileName(n string) bool {
	if n == "" || len(n) > 64 {
		return false
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// Encode writes s as a .gotune archive to w. The manifest's Format,
// FormatVersion and Files are filled in here.
func Encode(w io.Writer, s *Snapshot) error {
	es, err := s.entries()
	if err != nil {
		return err
	}
	m := s.Manifest
	m.Format, m.FormatVersion = Format, FormatVersion
	m.Files = make([]File, len(es))
	for i, e := range es {
		m.Files[i] = e.file
	}
	mj, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode manifest: %w", err)
	}
	zw := zip.NewWriter(w)
	write := func(name string, data []byte, compress bool) error {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: m.Created}
		if !compress {
			h.Method = zip.Store // profiles are gzipped already
		}
		fw, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		_, err = fw.Write(data)
		return err
	}
	if err := write(ManifestEntry, mj, true); err != nil {
		return err
	}
	for _, e := range es {
		if err := write(e.file.Name, e.data, e.file.Kind != "profile"); err != nil {
			return fmt.Errorf("write %s: %w", e.file.Name, err)
		}
	}
	return zw.Close()
}

// Write saves s to path atomically (atomicfile.Write): path holds either
// the previous file or the complete new one, even if the process is killed
// mid-write, readable by its owner only.
func Write(path string, s *Snapshot) error {
	return atomicfile.Write(path, "snapshot", func(w io.Writer) error { return Encode(w, s) })
}

// FormatError says a file is not a readable snapshot, and why.
type FormatError struct {
	Path   string
	Reason string
	Err    error
}

func (e *FormatError) Error() string {
	if e.Path == "" {
		return e.Reason
	}
	return e.Path + ": " + e.Reason
}

func (e *FormatError) Unwrap() error { return e.Err }

// ErrNewerFormat is wrapped by the error for a file written by a newer gotune.
var ErrNewerFormat = errors.New("newer snapshot format")

// Read loads and checks the snapshot at path, within DefaultBudget. It
// reads each entry once.
func Read(path string) (*Snapshot, error) { return ReadAfter(path, 0) }

// ReadAfter is Read for a command that holds held bytes of profiles and
// snapshots already (Footprint of one read before): the profiles decoded
// count them against the profile package's Held budget.
func ReadAfter(path string, held int64) (*Snapshot, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open snapshot: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("open snapshot: %w", err)
	}
	if fi.IsDir() {
		return nil, &FormatError{Path: path, Reason: "is a directory, not a snapshot file"}
	}
	b, err := DefaultBudget()
	if err != nil {
		return nil, err
	}
	if err := b.over("the file", "file", fi.Size()); err != nil {
		err.(*FormatError).Path = path
		return nil, err
	}
	s, err := DecodeWithin(f, fi.Size(), b, held)
	if err != nil {
		var fe *FormatError
		if errors.As(err, &fe) {
			fe.Path = path
		}
		return nil, err
	}
	return s, nil
}

// Decode reads a snapshot archive of the given size, within
// DefaultBudget.
func Decode(r io.ReaderAt, size int64) (*Snapshot, error) {
	b, err := DefaultBudget()
	if err != nil {
		return nil, err
	}
	return DecodeWithin(r, size, b, 0)
}

// DecodeWithin is Decode within budget b, for a command that holds held
// bytes already (ReadAfter). Every entry's inflated size is checked
// against its budget and the total before it is read, its compression
// ratio before it is inflated, and its bytes while it is read; profiles
// are decoded within profile.DefaultBudget, counting held and the
// entries read so far.
func DecodeWithin(r io.ReaderAt, size int64, b Budget, held int64) (*Snapshot, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		reason := "not a gotune snapshot (not a zip archive)"
		if errors.Is(err, zip.ErrFormat) && size > 0 {
			reason = "not a gotune snapshot, or truncated (no zip directory at its end)"
		}
		return nil, &FormatError{Reason: reason, Err: err}
	}
	members := map[string]*zip.File{}
	for _, f := range zr.File {
		members[f.Name] = f
	}
	mf, ok := members[ManifestEntry]
	if !ok {
		return nil, &FormatError{Reason: "not a gotune snapshot: no " + ManifestEntry}
	}
	if err := b.over(ManifestEntry, "manifest", int64(min(mf.UncompressedSize64, 1<<62))); err != nil {
		return nil, err
	}
	mlimit := b.Manifest
	if mlimit <= 0 {
		mlimit = int64(min(mf.UncompressedSize64, 1<<62))
	}
	mj, err := readMember(mf, mlimit, false)
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(mj, &m); err != nil {
		return nil, &FormatError{Reason: "corrupt manifest: " + err.Error(), Err: err}
	}
	if m.Format != Format {
		return nil, &FormatError{Reason: fmt.Sprintf("not a gotune snapshot (format %q)", m.Format)}
	}
	if m.FormatVersion > FormatVersion {
		return nil, &FormatError{Reason: fmt.Sprintf("written by a newer gotune (%s, snapshot format %d); this gotune reads format %d and older: upgrade gotune",
			m.GotuneVersion, m.FormatVersion, FormatVersion), Err: ErrNewerFormat}
	}
	if m.FormatVersion < 1 {
		return nil, &FormatError{Reason: fmt.Sprintf("invalid snapshot format version %d", m.FormatVersion)}
	}
	s := &Snapshot{Manifest: m, Profiles: map[profile.Kind]*profile.Captured{}}
	var total int64
	for _, file := range m.Files {
		zf, ok := members[file.Name]
		if !ok {
			return nil, &FormatError{Reason: fmt.Sprintf("incomplete: %s is listed in the manifest but missing", file.Name)}
		}
		if file.Size < 0 {
			return nil, &FormatError{Reason: fmt.Sprintf("corrupt manifest: %s has size %d", file.Name, file.Size)}
		}
		budget := "entry"
		switch file.Kind {
		case "profile", "goroutine-dump":
		case "trace":
			budget = "trace"
		default:
			budget = "json-entry"
		}
		if err := b.over(file.Name, budget, file.Size); err != nil {
			return nil, err
		}
		if total += file.Size; b.over("", "total", total) != nil {
			return nil, b.over("the snapshot's entries together", "total", total)
		}
		if zf.Method != zip.Store && zf.CompressedSize64 > 0 && b.Ratio > 0 && uint64(file.Size)/zf.CompressedSize64 > uint64(b.Ratio) {
			ratio := int64(uint64(file.Size) / zf.CompressedSize64)
			be := &BudgetError{What: file.Name, Budget: "ratio", Limit: b.Ratio, Seen: ratio, Compressed: int64(zf.CompressedSize64)}
			return nil, &FormatError{Reason: be.Error(), Err: be}
		}
		data, err := readMember(zf, file.Size, true)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(data)
		if int64(len(data)) != file.Size || hex.EncodeToString(sum[:]) != file.SHA256 {
			return nil, &FormatError{Reason: fmt.Sprintf("corrupt: %s does not match its checksum in the manifest", file.Name)}
		}
		switch file.Kind {
		case "series", "goroutines", "goroutines-start", "trace-summary", "findings":
			s.jsonBytes += jsonCost(data)
			if err := b.over(file.Name+" decoded (estimated, with the JSON entries before it)", "json-decoded", s.jsonBytes); err != nil {
				return nil, err
			}
		}
		switch file.Kind {
		case "series":
			if err := json.Unmarshal(data, &s.Series); err != nil {
				return nil, &FormatError{Reason: "corrupt metric series: " + err.Error(), Err: err}
			}
		case "profile":
			s.addProfile(file, data, profile.DefaultBudget().After(held+s.Footprint()))
		case "goroutine-dump":
			s.GoroutineDump = data
		case "goroutines":
			if err := json.Unmarshal(data, &s.Goroutines); err != nil {
				s.Goroutines = nil
				s.Problems = append(s.Problems, "goroutine groups: "+err.Error())
			}
		case "goroutines-start":
			if err := json.Unmarshal(data, &s.GoroutinesStart); err != nil {
				s.GoroutinesStart = nil
				s.Problems = append(s.Problems, "goroutine groups at the start: "+err.Error())
			}
		case "trace", "trace-summary":
			s.addTrace(file, data)
		case "findings":
			var r advisor.Report
			if err := json.Unmarshal(data, &r); err != nil {
				s.Problems = append(s.Problems, "advisor findings: "+err.Error())
			} else {
				s.Advice = &r
			}
		}
	}
	return s, nil
}

// addProfile decodes one profile entry. A profile that does not parse is
// kept (its bytes still extract) and named in Problems.
func (s *Snapshot) addProfile(f File, data []byte, b profile.Budget) {
	scope := f.Scope
	if scope == "" {
		scope = profile.ScopeSinceStart // format 1: as the target served it
		if f.Profile == profile.KindCPU {
			scope = profile.ScopeCapture
		}
	}
	c := &profile.Captured{Kind: f.Profile, Raw: data, Scope: scope, From: f.From, To: f.To, FetchedAt: f.To}
	p, err := profile.ParseBytesWithin(data, b)
	if err != nil {
		s.Problems = append(s.Problems, fmt.Sprintf("%s profile: %v", f.Profile, err))
	} else {
		c.Profile = p
	}
	s.Profiles[f.Profile] = c
}

// readMember reads one entry, refusing more than limit bytes; zip checks
// the entry's CRC-32 when it reaches the end. With exact, limit is the
// size the manifest gives: the entry is read into one buffer of that
// size (a stream that lies about its size fails before more is
// allocated), instead of one growing by doubling, which would touch
// twice the memory.
func readMember(f *zip.File, limit int64, exact bool) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, &FormatError{Reason: fmt.Sprintf("corrupt: cannot open %s: %v", f.Name, err), Err: err}
	}
	defer rc.Close()
	var data []byte
	var n int64
	if exact {
		data = make([]byte, limit)
		n, err = readFull(rc, data)
		if err == nil { // full: one byte more is a lie, EOF checks the CRC
			var one [1]byte
			var m int64
			m, err = readFull(rc, one[:])
			n += m
		}
		if errors.Is(err, io.EOF) {
			err = nil
		}
	} else {
		var buf bytes.Buffer
		n, err = io.Copy(&buf, io.LimitReader(rc, limit+1))
		data = buf.Bytes()
	}
	if err != nil {
		reason := fmt.Sprintf("corrupt: %s: %v", f.Name, err)
		if errors.Is(err, zip.ErrChecksum) {
			reason = fmt.Sprintf("corrupt: %s fails its CRC check", f.Name)
		} else if errors.Is(err, io.ErrUnexpectedEOF) {
			reason = fmt.Sprintf("truncated: %s ends early", f.Name)
		}
		return nil, &FormatError{Reason: reason, Err: err}
	}
	if n > limit {
		return nil, &FormatError{Reason: fmt.Sprintf("corrupt: %s is larger than its manifest says", f.Name)}
	}
	return data[:n], nil
}

// readFull reads into p until it is full (nil) or r ends (io.EOF, with
// what was read) or fails. Unlike io.ReadFull it does not turn a short
// entry's clean end into io.ErrUnexpectedEOF, which here means a
// truncated deflate stream.
func readFull(r io.Reader, p []byte) (int64, error) {
	n := 0
	for n < len(p) {
		k, err := r.Read(p[n:])
		n += k
		if err != nil {
			return int64(n), err
		}
	}
	return int64(n), nil
}

// Extract writes the snapshot's profiles to dir as <name>.pb.gz files (the
// execution trace as trace.out, the goroutine dump as
// goroutine-debug2.txt) and returns their paths.
func Extract(s *Snapshot, dir string) ([]string, error) {
	if err := atomicfile.MkdirAll(dir); err != nil {
		return nil, fmt.Errorf("extract: %w", err)
	}
	var out []string
	for _, k := range s.Kinds() {
		if !validProfileName(string(k)) { // a hostile manifest cannot escape dir
			return out, fmt.Errorf("extract: bad profile name %q", k)
		}
		p := filepath.Join(dir, string(k)+".pb.gz")
		if err := atomicfile.WriteFile(p, s.Profiles[k].Raw); err != nil {
			return out, fmt.Errorf("extract: %w", err)
		}
		out = append(out, p)
	}
	if s.Trace != nil && len(s.Trace.Raw) > 0 {
		p := filepath.Join(dir, filepath.Base(TraceEntry))
		if err := atomicfile.WriteFile(p, s.Trace.Raw); err != nil {
			return out, fmt.Errorf("extract: %w", err)
		}
		out = append(out, p)
	}
	if len(s.GoroutineDump) > 0 {
		p := filepath.Join(dir, strings.TrimPrefix(GoroutineDump, ProfilesDir))
		if err := atomicfile.WriteFile(p, s.GoroutineDump); err != nil {
			return out, fmt.Errorf("extract: %w", err)
		}
		out = append(out, p)
	}
	return out, nil
}

// DefaultPath is where a snapshot of target goes when the user accepts the
// default: $XDG_DATA_HOME/gotune/snapshots (else ~/.local/share/...), named
// after the target and the time.
func DefaultPath(target string, now time.Time) string {
	dir := os.Getenv("XDG_DATA_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = os.TempDir()
		}
		dir = filepath.Join(home, ".local", "share")
	}
	safe := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			return r
		}
		return '-'
	}, target)
	if len(safe) > 60 {
		safe = safe[:60]
	}
	return filepath.Join(dir, "gotune", "snapshots", fmt.Sprintf("%s-%s.gotune", strings.Trim(safe, "-."), now.Format("20060102-150405")))
}
