package numa

import (
	"os"
	"path/filepath"
	"testing"
)

func TestParseNumaMapsErrors(t *testing.T) {
	for _, in := range []string{
		"zz default N0=1\n",
		"7f00\n",
		"7f00 default N0=x kernelpagesize_kB=4\n",
		"7f00 default N0=1 kernelpagesize_kB=0\n",
		"7f00 default N1024=1\n",
		"7f00 default N0=18446744073709551615 kernelpagesize_kB=4\n",
		"7f00 default N0=9223372036854775807\n7f01 default N0=9223372036854775807\n",
	} {
		if m, err := parseNumaMaps([]byte(in)); err == nil {
			t.Errorf("parseNumaMaps(%q) = %+v, want error", in, m)
		}
	}
}

func TestParseNumaMapsIgnoresUnknownTokens(t *testing.T) {
	m, err := parseNumaMaps([]byte("7f00 prefer:1 anon=3 swapcache=1 writeback=0 newtoken=5 N1=3 kernelpagesize_kB=4\n"))
	if err != nil || len(m.Nodes) != 1 || m.Nodes[0] != (NodeMemory{Node: 1, Pages: 3, Bytes: 3 * 4096, AnonBytes: 3 * 4096}) {
		t.Errorf("parseNumaMaps = %+v, %v", m, err)
	}
}

func TestParseSysfsFiles(t *testing.T) {
	if v, err := parseBracketed([]byte("always defer [defer+madvise] madvise never\n")); err != nil || v != "defer+madvise" {
		t.Errorf("parseBracketed = %q, %v", v, err)
	}
	for _, in := range []string{"", "always madvise never", "[]", "a ] [b"} {
		if v, err := parseBracketed([]byte(in)); err == nil {
			t.Errorf("parseBracketed(%q) = %q, want error", in, v)
		}
	}
	if d, err := parseDistances([]byte("10 21 31\n")); err != nil || len(d) != 3 || d[2] != 31 {
		t.Errorf("parseDistances = %v, %v", d, err)
	}
	for _, in := range []string{"", "10 x", "-1", "256"} {
		if d, err := parseDistances([]byte(in)); err == nil {
			t.Errorf("parseDistances(%q) = %v, want error", in, d)
		}
	}
	mi, err := parseMeminfo([]byte("Node 1 MemTotal:  100 kB\nNode 1 MemFree:  40 kB\nNode 1 HugePages_Total:     3\n"))
	if err != nil || mi["MemTotal"] != 102400 || mi["MemFree"] != 40960 || mi["HugePages_Total"] != 3 {
		t.Errorf("parseMeminfo = %v, %v", mi, err)
	}
	for _, in := range []string{"", "MemFree: 1 kB\n", "MemTotal: x kB\n", "MemTotal:\n"} {
		if mi, err := parseMeminfo([]byte(in)); err == nil {
			t.Errorf("parseMeminfo(%q) = %v, want error", in, mi)
		}
	}
}

func seedFiles(f *testing.F, patterns ...string) {
	for _, pat := range patterns {
		paths, _ := filepath.Glob(pat)
		for _, p := range paths {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
}

func FuzzNumaMaps(f *testing.F) {
	seedFiles(f, filepath.Join(hostDir, "*/proc/*/numa_maps"), "/proc/self/numa_maps")
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseNumaMaps(b)
		if err != nil {
			return
		}
		var sum, policy uint64
		for i, n := range m.Nodes {
			if n.Node < 0 || n.Node >= maxNode || (i > 0 && m.Nodes[i-1].Node >= n.Node) || n.AnonBytes > n.Bytes || n.HugeBytes > n.Bytes {
				t.Fatalf("bad node %+v in %+v", n, m.Nodes)
			}
			sum += n.Bytes
		}
		for _, v := range m.PolicyBytes {
			policy += v
		}
		if sum != m.Bytes || policy != m.Bytes {
			t.Fatalf("node sum %d, policy sum %d, total %d", sum, policy, m.Bytes)
		}
	})
}

// FuzzNodeFiles feeds one input to every parser of /sys NUMA and THP files.
func FuzzNodeFiles(f *testing.F) {
	seedFiles(f,
		filepath.Join(hostDir, "*/sys/devices/system/node/node*/*"),
		filepath.Join(hostDir, "*/sys/kernel/mm/transparent_hugepage/*"),
		"/sys/devices/system/node/node0/meminfo", "/proc/meminfo")
	f.Fuzz(func(t *testing.T, b []byte) {
		if v, err := parseBracketed(b); err == nil && v == "" {
			t.Fatal("empty choice accepted")
		}
		if d, err := parseDistances(b); err == nil && len(d) == 0 {
			t.Fatal("empty distances accepted")
		}
		if mi, err := parseMeminfo(b); err == nil {
			if _, ok := mi["MemTotal"]; !ok {
				t.Fatal("meminfo without MemTotal accepted")
			}
		}
	})
}
