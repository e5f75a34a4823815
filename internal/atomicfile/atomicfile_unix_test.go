//go:build unix

package atomicfile

import (
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Under umask 022 and 077 a saved file is 0600 and the directories made
// for it 0700.
func TestModesUnderUmask(t *testing.T) {
	for _, mask := range []int{0o022, 0o077, 0o002} {
		old := syscall.Umask(mask)
		dir := filepath.Join(t.TempDir(), "a", "b")
		path := filepath.Join(dir, "x.gotune")
		err := Write(path, "test", func(w io.Writer) error { _, err := w.Write([]byte("data")); return err })
		syscall.Umask(old)
		if err != nil {
			t.Fatal(err)
		}
		for p, want := range map[string]os.FileMode{path: 0o600, dir: 0o700, filepath.Dir(dir): 0o700} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != want {
				t.Errorf("umask %03o: %s is %03o, want %03o", mask, p, got, want)
			}
		}
		if b, _ := os.ReadFile(path); string(b) != "data" {
			t.Errorf("content %q", b)
		}
	}
}
