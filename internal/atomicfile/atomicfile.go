// Package atomicfile writes the files gotune saves (snapshots, reports,
// extracted profiles) so that a crash never leaves half a file and nobody
// but their owner can read them: they hold a process's command line,
// settings and profiles.
package atomicfile

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Modes of what gotune saves: owner only, whatever the umask (a stricter
// umask still narrows them).
const (
	FileMode = 0o600
	DirMode  = 0o700
)

// Write saves what write produces to path atomically: it writes a
// temporary file in the same directory (mode FileMode), fsyncs it, renames
// it over path and fsyncs the directory, so path holds either the previous
// file or the complete new one, even if the process is killed mid-write.
// Missing parent directories are created with DirMode. what names the file
// in errors ("snapshot", "report").
func Write(path, what string, write func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	if err := MkdirAll(dir); err != nil {
		return fmt.Errorf("save %s: %w", what, err)
	}
	// CreateTemp opens with 0600 (less any umask bits).
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("save %s: %w", what, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := write(tmp); err != nil {
		return fmt.Errorf("save %s %s: %w", what, path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("save %s %s: fsync: %w", what, path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save %s %s: %w", what, path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save %s %s: %w", what, path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // make the rename durable; not all filesystems support it
		d.Close()
	}
	return nil
}

// MkdirAll creates dir and its missing parents with DirMode.
func MkdirAll(dir string) error { return os.MkdirAll(dir, DirMode) }

// WriteFile writes data to path with FileMode (not atomically: for files
// extracted into a directory the user named).
func WriteFile(path string, data []byte) error { return os.WriteFile(path, data, FileMode) }
