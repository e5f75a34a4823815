//go:build unix

package testproc

import (
	"os/exec"
	"syscall"
	"testing"
)

// Credential is the user and group a target runs as.
type Credential = syscall.Credential

func setCredential(_ testing.TB, cmd *exec.Cmd, c *Credential) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c}
}
