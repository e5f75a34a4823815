//go:build !linux

package agent

// containerMemoryLimit: cgroups exist on Linux only.
func containerMemoryLimit() int64 { return 0 }
