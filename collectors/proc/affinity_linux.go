package proc

import "golang.org/x/sys/unix"

// SchedAffinity returns the CPUs the live thread pid (a PID names its main
// thread) may run on, from sched_getaffinity(2). It reads the running
// kernel, not FS.Root; status's Cpus_allowed_list gives the same set for a
// fixture tree.
func SchedAffinity(pid int) ([]int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(pid, &set); err != nil {
		return nil, err
	}
	cpus := make([]int, 0, set.Count())
	for cpu := 0; len(cpus) < set.Count(); cpu++ {
		if set.IsSet(cpu) {
			cpus = append(cpus, cpu)
		}
	}
	return cpus, nil
}
