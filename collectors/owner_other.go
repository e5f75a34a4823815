//go:build !unix

package collectors

import "io/fs"

// fileOwner is not known off Unix: the token file's mode and age are
// still checked, and the directory is the user's own.
func fileOwner(fs.FileInfo) (int, bool) { return 0, false }
