package cgroup

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseProcCgroup(t *testing.T) {
	ms, err := parseProcCgroup([]byte("12:cpu,cpuacct:/docker/a\n1:name=systemd:/x\n0::/user.slice/a b\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 3 || !slices.Equal(ms[0].Controllers, []string{"cpu", "cpuacct"}) || ms[0].ID != 12 ||
		ms[2].ID != 0 || ms[2].Controllers != nil || ms[2].Path != "/user.slice/a b" {
		t.Errorf("parseProcCgroup = %+v", ms)
	}
	for _, in := range []string{"", "\n", "x::/", "0:/", "0::relative", "-1::/"} {
		if ms, err := parseProcCgroup([]byte(in)); err == nil {
			t.Errorf("parseProcCgroup(%q) = %+v, want error", in, ms)
		}
	}
}

func TestParseMountinfo(t *testing.T) {
	in := `27 1 253:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:15 - cgroup cgroup rw,cpu,cpuacct
41 31 0:38 /my\040pod /sys/fs/cgroup/un\134ified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
42 31 0:39 / /mnt/x rw - cgroup2 none
`
	ms, err := parseMountinfo([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 3 {
		t.Fatalf("got %d cgroup mounts: %+v", len(ms), ms)
	}
	if ms[0].MountPoint != "/sys/fs/cgroup/cpu,cpuacct" || ms[0].FSType != "cgroup" || !slices.Equal(ms[0].Options, []string{"rw", "cpu", "cpuacct"}) {
		t.Errorf("v1 mount = %+v", ms[0])
	}
	if ms[1].Root != "/my pod" || ms[1].MountPoint != `/sys/fs/cgroup/un\ified` || ms[1].FSType != "cgroup2" {
		t.Errorf("escaped mount = %+v", ms[1])
	}
	if ms[2].Options != nil {
		t.Errorf("options of a line without super options = %q", ms[2].Options)
	}
	for _, in := range []string{
		"1 2 3 / /x rw\n", // no " - "
		"1 2 3 /x rw - cgroup2 cgroup2 rw\n",
		"1 2 3 relative /x rw - cgroup2 cgroup2 rw\n",
		`1 2 3 / /x\04 rw - cgroup2 cgroup2 rw` + "\n",
		`1 2 3 / /x\999 rw - cgroup2 cgroup2 rw` + "\n",
	} {
		if ms, err := parseMountinfo([]byte(in)); err == nil {
			t.Errorf("parseMountinfo(%q) = %+v, want error", in, ms)
		}
	}
}

func TestParseCgroupFiles(t *testing.T) {
	if q, err := parseCPUMax([]byte("max 100000\n")); err != nil || q.Limited || q.PeriodUsec != 100000 {
		t.Errorf("cpu.max max = %+v, %v", q, err)
	}
	if q, err := parseCPUMax([]byte("250000 100000\n")); err != nil || q.Cores() != 2.5 {
		t.Errorf("cpu.max = %+v, %v", q, err)
	}
	for _, in := range []string{"", "max", "0 100000", "-5 100000", "100 0", "a b", "1 2 3"} {
		if q, err := parseCPUMax([]byte(in)); err == nil {
			t.Errorf("parseCPUMax(%q) = %+v, want error", in, q)
		}
	}
	if q, err := parseV1Quota([]byte("-1\n"), []byte("100000\n")); err != nil || q.Limited {
		t.Errorf("v1 quota -1 = %+v, %v", q, err)
	}
	for _, limit := range []string{"max\n", "9223372036854771712\n", "9223372036854710272\n"} {
		if n, lim, err := parseMemoryLimit([]byte(limit)); err != nil || lim || n != 0 {
			t.Errorf("parseMemoryLimit(%q) = %d, %v, %v; want unlimited", limit, n, lim, err)
		}
	}
	if n, lim, err := parseMemoryLimit([]byte("536870912\n")); err != nil || !lim || n != 512<<20 {
		t.Errorf("parseMemoryLimit = %d, %v, %v", n, lim, err)
	}
	kv, err := parseFlatKeyed([]byte("nr_periods 5\nnr_throttled 2\nthrottled_usec 7\nweird x\n\n"))
	if err != nil || kv["nr_periods"] != 5 || kv["throttled_usec"] != 7 || len(kv) != 3 {
		t.Errorf("parseFlatKeyed = %v, %v", kv, err)
	}
	if _, err := parseFlatKeyed([]byte("a 1 2\n")); err == nil {
		t.Error("parseFlatKeyed accepted three fields")
	}
}

func seedFiles(f *testing.F, pattern string) {
	paths, _ := filepath.Glob(filepath.Join(hostDir, pattern))
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
}

func FuzzMountinfo(f *testing.F) {
	seedFiles(f, "*/proc/self/mountinfo")
	if b, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`41 31 0:38 /my\040pod /sys/fs/cgroup/un\134ified rw - cgroup2 cgroup2 rw` + "\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ms, err := parseMountinfo(b)
		if err != nil {
			return
		}
		for _, m := range ms {
			if !strings.HasPrefix(m.Root, "/") || !strings.HasPrefix(m.MountPoint, "/") || (m.FSType != "cgroup" && m.FSType != "cgroup2") {
				t.Fatalf("accepted %+v", m)
			}
			// Whatever findMount returns must be a path below the mount.
			if _, rel, ok := findMount(ms, V2, "cpu", m.Root+"/x"); ok && !strings.HasPrefix(rel, "/") {
				t.Fatalf("findMount rel %q", rel)
			}
		}
	})
}

func FuzzProcCgroup(f *testing.F) {
	seedFiles(f, "*/proc/*/cgroup")
	if b, err := os.ReadFile("/proc/self/cgroup"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ms, err := parseProcCgroup(b)
		if err != nil {
			return
		}
		for _, m := range ms {
			if m.ID < 0 || !strings.HasPrefix(m.Path, "/") {
				t.Fatalf("accepted %+v", m)
			}
		}
	})
}

// FuzzCgroupFile feeds one input to every parser of a cgroup interface file.
func FuzzCgroupFile(f *testing.F) {
	for _, pat := range []string{"*/sys/fs/cgroup/*/cpu.*", "*/sys/fs/cgroup/*/*/memory.*", "*/sys/fs/cgroup/*/*/*/cpu.*"} {
		seedFiles(f, pat)
	}
	f.Add([]byte("max 100000\n"))
	f.Add([]byte("9223372036854771712\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if q, err := parseCPUMax(b); err == nil && (q.PeriodUsec <= 0 || q.Limited && q.QuotaUsec <= 0 || q.Cores() <= 0) {
			t.Fatalf("parseCPUMax accepted %+v", q)
		}
		if q, err := parseV1Quota(b, b); err == nil && (q.PeriodUsec <= 0 || q.Cores() <= 0) {
			t.Fatalf("parseV1Quota accepted %+v", q)
		}
		if n, lim, err := parseMemoryLimit(b); err == nil && !lim && n != 0 {
			t.Fatalf("parseMemoryLimit: unlimited with value %d", n)
		}
		parseUint(b)
		if kv, err := parseFlatKeyed(b); err == nil {
			for k := range kv {
				if k == "" || bytes.ContainsAny([]byte(k), " \t\n") {
					t.Fatalf("key %q", k)
				}
			}
			throttlingFrom(kv, V1)
			throttlingFrom(kv, V2)
		}
	})
}
