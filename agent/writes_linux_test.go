package agent

import (
	"os"
	"path/filepath"
	"testing"
)

func TestContainerMemoryLimit(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		want  int64
	}{
		{"v2 leaf and ancestor", map[string]string{
			"proc/self/cgroup":             "0::/a/b\n",
			"proc/self/mountinfo":          "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
			"sys/fs/cgroup/a/b/memory.max": "max\n",
			"sys/fs/cgroup/a/memory.max":   "536870912\n",
			"sys/fs/cgroup/memory.max":     "1073741824\n",
		}, 512 << 20},
		{"v1 hybrid, unlimited leaf", map[string]string{
			"proc/self/cgroup":    "4:memory:/svc/x\n0::/\n",
			"proc/self/mountinfo": "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n",
			"sys/fs/cgroup/memory/svc/x/memory.limit_in_bytes": "9223372036854771712\n",
			"sys/fs/cgroup/memory/svc/memory.limit_in_bytes":   "268435456\n",
		}, 256 << 20},
		{"container namespace: the mount is our group", map[string]string{
			"proc/self/cgroup":         "0::/\n",
			"proc/self/mountinfo":      "30 23 0:26 /kubepods/pod1 /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
			"sys/fs/cgroup/memory.max": "2147483648\n",
		}, 2 << 30},
		{"no limit", map[string]string{
			"proc/self/cgroup":         "0::/\n",
			"proc/self/mountinfo":      "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n",
			"sys/fs/cgroup/memory.max": "max\n",
		}, 0},
	}
	old := cgroupRoot
	defer func() { cgroupRoot = old }()
	for _, c := range cases {
		root := t.TempDir()
		for name, body := range c.files {
			p := filepath.Join(root, name)
			os.MkdirAll(filepath.Dir(p), 0o755)
			os.WriteFile(p, []byte(body), 0o644)
		}
		cgroupRoot = root
		if got := containerMemoryLimit(); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}
