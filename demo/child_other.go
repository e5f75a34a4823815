//go:build !linux

package demo

import "syscall"

// childSysProcAttr: outside Linux there is no parent-death signal; the
// parent pipe (WatchParent) alone ends the child.
func childSysProcAttr(bool) *syscall.SysProcAttr { return nil }
