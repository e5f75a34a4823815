//go:build !unix

package testproc

import (
	"os/exec"
	"testing"
)

// Credential is the user and group a target runs as; only Unix can start
// a process as another user this way.
type Credential struct{ Uid, Gid uint32 }

func setCredential(t testing.TB, _ *exec.Cmd, _ *Credential) {
	t.Fatal("testproc: starting a target as another user needs Unix credentials")
}
