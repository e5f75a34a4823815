// Package sources finds the source files a profile names on this machine,
// for profile.NewListing: as recorded (absolute paths of a local build),
// under a search path (pprof's -source_path, with its heuristics), in the
// module cache and in GOROOT (paths of another machine's build, and
// -trimpath builds' "module@version/file.go" and "runtime/proc.go").
package sources

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"unicode"
)

// MaxFileSize bounds the size of a source file read, so a profile naming
// a huge file cannot exhaust memory.
const MaxFileSize = 16 << 20

// Finder looks for source files. The zero value looks at recorded paths
// only; Default fills in GOROOT and the module cache.
type Finder struct {
	// SearchPath are directories to look in (pprof -source_path): a
	// relative name is tried under each directory and its parents, and a
	// recorded path containing a directory's base name is re-rooted
	// there.
	SearchPath []string
	// TrimPath are prefixes removed from recorded paths before searching
	// (pprof -trim_path).
	TrimPath []string
	// GOROOT is the local Go installation, for the standard library.
	GOROOT string
	// ModCache is the local module cache (GOMODCACHE).
	ModCache string
}

// Default returns a Finder with GOROOT and the module cache of this
// machine (from $GOROOT, $GOMODCACHE, $GOPATH or their defaults) and the
// given search path.
func Default(searchPath ...string) *Finder {
	f := &Finder{SearchPath: searchPath, GOROOT: os.Getenv("GOROOT"), ModCache: os.Getenv("GOMODCACHE")}
	if f.GOROOT == "" {
		f.GOROOT = runtime.GOROOT()
	}
	if f.ModCache == "" {
		gopath := os.Getenv("GOPATH")
		if gopath == "" {
			if home, err := os.UserHomeDir(); err == nil {
				gopath = filepath.Join(home, "go")
			}
		} else {
			gopath = filepath.SplitList(gopath)[0]
		}
		if gopath != "" {
			f.ModCache = filepath.Join(gopath, "pkg", "mod")
		}
	}
	return f
}

// ErrNotFound is wrapped by ReadSource when no candidate exists.
var ErrNotFound = errors.New("source file not found")

// ReadSource returns the content of the source file named file in a
// profile.
func (f *Finder) ReadSource(file string) ([]byte, error) {
	path, err := f.Find(file)
	if err != nil {
		return nil, err
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, MaxFileSize)
	}
	return data, nil
}

// Find returns the local path of file, the first candidate that is a
// regular file.
func (f *Finder) Find(file string) (string, error) {
	for _, c := range f.Candidates(file) {
		if st, err := os.Stat(c); err == nil && st.Mode().IsRegular() {
			return c, nil
		}
	}
	return "", fmt.Errorf("%w: %s", ErrNotFound, file)
}

// Candidates lists where file may be, most likely first.
func (f *Finder) Candidates(file string) []string {
	var out []string
	add := func(p string) {
		if p != "" {
			out = append(out, filepath.Clean(p))
		}
	}
	name := filepath.ToSlash(file)
	for _, pre := range []string{"/proc/self/cwd/./", "/proc/self/cwd/"} {
		name = strings.TrimPrefix(name, pre)
	}
	for _, t := range f.TrimPath {
		t = filepath.ToSlash(t)
		if !strings.HasSuffix(t, "/") {
			t += "/"
		}
		if strings.HasPrefix(name, t) {
			name = name[len(t):]
			break
		}
	}
	if filepath.IsAbs(name) {
		add(name)
	}
	// pprof's trimPath heuristic, then the name under each directory of
	// the search path and its parents (openSourceFile), then every
	// suffix of the name under each directory.
	for _, dir := range f.SearchPath {
		if want := "/" + filepath.Base(dir) + "/"; strings.Contains(name, want) {
			add(filepath.Join(dir, name[strings.Index(name, want)+len(want):]))
		}
		if !filepath.IsAbs(name) {
			for d := dir; ; {
				add(filepath.Join(d, name))
				parent := filepath.Dir(d)
				if parent == d {
					break
				}
				d = parent
			}
		}
		for rest := strings.TrimPrefix(name, "/"); ; {
			i := strings.IndexByte(rest, '/')
			if i < 0 {
				break
			}
			rest = rest[i+1:]
			add(filepath.Join(dir, rest))
		}
	}
	// The module cache: a path under another machine's pkg/mod, or a
	// -trimpath "module@version/file" (whose module path the cache
	// stores case-encoded).
	if f.ModCache != "" {
		if i := strings.LastIndex(name, "/pkg/mod/"); i >= 0 {
			add(filepath.Join(f.ModCache, name[i+len("/pkg/mod/"):]))
		}
		if !filepath.IsAbs(name) && strings.Contains(name, "@") {
			add(filepath.Join(f.ModCache, name))
			if enc, ok := encodePath(name); ok && enc != name {
				add(filepath.Join(f.ModCache, enc))
			}
		}
	}
	// GOROOT: another installation's .../src/pkg/file.go, or a -trimpath
	// standard-library name ("runtime/proc.go", first element without a
	// dot).
	if f.GOROOT != "" {
		src := filepath.Join(f.GOROOT, "src")
		for rest := name; ; {
			i := strings.Index(rest, "/src/")
			if i < 0 {
				break
			}
			rest = rest[i+len("/src/"):]
			add(filepath.Join(src, rest))
		}
		if first, _, ok := strings.Cut(name, "/"); ok && !filepath.IsAbs(name) && !strings.Contains(first, ".") && !strings.Contains(name, "@") {
			add(filepath.Join(src, name))
		}
	}
	return dedup(out)
}

// encodePath case-encodes the module part (before the first "@") of a
// module cache path the way golang.org/x/mod/module.EscapePath does:
// "!" followed by the lower-case letter for each upper-case one.
func encodePath(p string) (string, bool) {
	at := strings.IndexByte(p, '@')
	if at < 0 {
		return p, false
	}
	var b strings.Builder
	for _, r := range p[:at] {
		if unicode.IsUpper(r) {
			b.WriteByte('!')
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		b.WriteRune(r)
	}
	b.WriteString(p[at:])
	return b.String(), true
}

func dedup(ss []string) []string {
	seen := map[string]bool{}
	out := ss[:0]
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
