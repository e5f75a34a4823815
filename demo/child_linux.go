package demo

import "syscall"

// childSysProcAttr puts the child in its own process group (terminal signals
// such as Ctrl-C go to gotune, which stops the child itself) and, with
// deathSignal, asks the kernel to SIGKILL it when the parent dies.
func childSysProcAttr(deathSignal bool) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true}
	if deathSignal {
		a.Pdeathsig = syscall.SIGKILL
	}
	return a
}
