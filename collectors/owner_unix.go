//go:build unix

package collectors

import (
	"io/fs"
	"syscall"
)

// fileOwner is the uid owning a file.
func fileOwner(fi fs.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}
