package sources

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFind(t *testing.T) {
	root := t.TempDir()
	goroot := filepath.Join(root, "goroot")
	modcache := filepath.Join(root, "mod")
	project := filepath.Join(root, "src", "myproject")
	write(t, filepath.Join(goroot, "src", "runtime", "proc.go"), "runtime\n")
	write(t, filepath.Join(modcache, "github.com", "!burnt!sushi", "toml@v1.2.0", "decode.go"), "toml\n")
	write(t, filepath.Join(modcache, "golang.org", "x", "sync@v0.1.0", "errgroup", "errgroup.go"), "errgroup\n")
	write(t, filepath.Join(project, "cmd", "server", "main.go"), "main\n")
	local := filepath.Join(root, "local.go")
	write(t, local, "local\n")
	f := &Finder{SearchPath: []string{project}, GOROOT: goroot, ModCache: modcache, TrimPath: []string{"/build/ci"}}
	for _, c := range []struct{ file, want string }{
		{local, "local\n"},
		{"/proc/self/cwd/" + local[1:], "local\n"},
		// Another machine's GOROOT, and a -trimpath standard library path.
		{"/build-host/go/src/runtime/proc.go", "runtime\n"},
		{"runtime/proc.go", "runtime\n"},
		// Another machine's module cache, and a -trimpath module path
		// (case-encoded in the cache).
		{"/home/ci/go/pkg/mod/golang.org/x/sync@v0.1.0/errgroup/errgroup.go", "errgroup\n"},
		{"github.com/BurntSushi/toml@v1.2.0/decode.go", "toml\n"},
		// The search path: pprof's base-name heuristic, a relative name, a
		// trimmed prefix, and a suffix of a path from elsewhere.
		{"/home/someone/work/myproject/cmd/server/main.go", "main\n"},
		{"cmd/server/main.go", "main\n"},
		{"/build/ci/cmd/server/main.go", "main\n"},
		{"/opt/checkout/cmd/server/main.go", "main\n"},
	} {
		got, err := f.ReadSource(c.file)
		if err != nil || string(got) != c.want {
			t.Errorf("ReadSource(%q) = %.40q, %v; want %q", c.file, got, err, c.want)
		}
	}
	if _, err := f.ReadSource("/nowhere/x.go"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing file: %v", err)
	}
	big := filepath.Join(root, "big.go")
	if err := os.WriteFile(big, make([]byte, MaxFileSize+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ReadSource(big); err == nil {
		t.Error("a file over MaxFileSize was read")
	}
}
