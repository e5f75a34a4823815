package proc

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseStatTrickyComm(t *testing.T) {
	// A program may name itself anything, including ") R 1 2": only the
	// last ')' ends the command name.
	line := "77 (evil) S 1 (x) ) R 5 77 77 0 -1 4194304 1 0 0 0 250 50 0 0 20 0 9 0 1000 4096 12 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 6 0 0 0 0 0\n"
	s, err := parseStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	want := statLine{PID: 77, Comm: "evil) S 1 (x) ", State: 'R', PPID: 5, UTicks: 250, STicks: 50,
		NumThreads: 9, StartTicks: 1000, VSize: 4096, RSSPages: 12, Processor: 6}
	if s != want {
		t.Errorf("parseStat = %+v\nwant %+v", s, want)
	}
}

func TestParseStatOldKernel(t *testing.T) {
	// 24 fields: no processor (field 39) yet.
	s, err := parseStat([]byte("9 (a b) S 1 9 9 0 -1 0 0 0 0 0 3 4 0 0 20 0 1 0 55 100 2"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Comm != "a b" || s.Processor != -1 || s.UTicks != 3 || s.STicks != 4 || s.StartTicks != 55 || s.RSSPages != 2 {
		t.Errorf("parseStat = %+v", s)
	}
}

func TestParseStatErrors(t *testing.T) {
	for _, in := range []string{
		"",
		"12 cat R 1",
		"x (cat) R 1 1 1 0 -1 0 0 0 0 0 3 4 0 0 20 0 1 0 55 100 2",
		"1 (cat) R 1 1 1",
		"1 (cat) RR 1 1 1 0 -1 0 0 0 0 0 3 4 0 0 20 0 1 0 55 100 2",
		"1 (cat) R x 1 1 0 -1 0 0 0 0 0 3 4 0 0 20 0 1 0 55 100 2",
		"1 (cat) R 1 1 1 0 -1 0 0 0 0 0 -3 4 0 0 20 0 1 0 55 100 2",
		") 1 (",
	} {
		if s, err := parseStat([]byte(in)); err == nil {
			t.Errorf("parseStat(%q) = %+v, want error", in, s)
		}
	}
}

func TestParseStatusKernelThread(t *testing.T) {
	in := "Name:\tkworker/0:1-events\nUmask:\t0000\nState:\tI (idle)\nTgid:\t9\nPid:\t9\nPPid:\t2\nUid:\t0\t0\t0\t0\nThreads:\t1\nCpus_allowed_list:\t0\nMems_allowed_list:\t0\nvoluntary_ctxt_switches:\t88\nnonvoluntary_ctxt_switches:\t0\n"
	s, err := parseStatus([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "kworker/0:1-events" || s.VmRSS != 0 || s.VmHWM != 0 || s.PPID != 2 || s.Voluntary != 88 || !s.HasCPUs || s.UID != 0 {
		t.Errorf("parseStatus = %+v", s)
	}
}

func TestParseStatusErrors(t *testing.T) {
	for _, in := range []string{
		"",
		"no colons here\n",
		"Name:\tx\nVmRSS:\t12 MB\n",
		"Name:\tx\nThreads:\tmany\n",
		"Name:\tx\nUid:\t0\n",
		"Name:\tx\nCpus_allowed_list:\t3-1\n",
	} {
		if s, err := parseStatus([]byte(in)); err == nil {
			t.Errorf("parseStatus(%q) = %+v, want error", in, s)
		}
	}
}

func TestParseEnvironKeepsNothingElse(t *testing.T) {
	in := "SECRET=GOGC=1\x00GOGC=off\x00GO\x00GOX\x00=GOGC\x00go=lower\x00GOMEMLIMIT=1GiB"
	env := parseEnviron([]byte(in))
	if len(env) != 2 || env["GOGC"] != "off" || env["GOMEMLIMIT"] != "1GiB" {
		t.Errorf("parseEnviron = %v", env)
	}
}

func TestLookupUser(t *testing.T) {
	passwd := []byte("# comment\nroot:x:0:0:root:/root:/bin/bash\nbroken\nsvc:x:1000:1000::/home/svc:/bin/sh\nsvc2:x:10000:1::/:/bin/sh")
	for uid, want := range map[int]string{0: "root", 1000: "svc", 10000: "svc2", 100: ""} {
		if got, ok := lookupUser(passwd, uid); got != want || ok != (want != "") {
			t.Errorf("lookupUser(%d) = %q, %v", uid, got, ok)
		}
	}
}

func TestParseCmdline(t *testing.T) {
	if got := parseCmdline([]byte("a\x00b c\x00\x00")); !slices.Equal(got, []string{"a", "b c"}) {
		t.Errorf("parseCmdline = %q", got)
	}
	if got := parseCmdline(nil); got != nil {
		t.Errorf("parseCmdline(nil) = %q", got)
	}
}

func TestParseBootTime(t *testing.T) {
	if n, err := parseBootTime([]byte("cpu 1 2\nbtime 1795266337\nprocesses 3\n")); err != nil || n != 1795266337 {
		t.Errorf("parseBootTime = %d, %v", n, err)
	}
	for _, in := range []string{"", "cpu 1\n", "btime x\n", "btime -5\n"} {
		if _, err := parseBootTime([]byte(in)); err == nil {
			t.Errorf("parseBootTime(%q): want error", in)
		}
	}
}

// seeds adds every fixture file named name (stat, status, ...) under
// testdata/host to f, plus this machine's own copy.
func seeds(f *testing.F, name string) {
	paths, _ := filepath.Glob(filepath.Join(hostDir, "*", "proc", "*", name))
	more, _ := filepath.Glob(filepath.Join(hostDir, "*", "proc", "*", "task", "*", name))
	for _, p := range append(append(paths, more...), "/proc/self/"+name) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
}

func FuzzParseStat(f *testing.F) {
	seeds(f, "stat")
	f.Add([]byte("77 (evil) S 1 (x) ) R 5 77 77 0 -1 4194304 1 0 0 0 250 50 0 0 20 0 9 0 1000 4096 12"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := parseStat(b)
		if err != nil {
			return
		}
		if s.PID <= 0 || s.PPID < 0 || s.NumThreads < 0 || s.Processor < -1 {
			t.Fatalf("accepted %+v", s)
		}
		if !strings.Contains(string(b), "("+s.Comm+")") || strings.Contains(string(b[strings.LastIndex(string(b), ")")+1:]), ")") {
			t.Fatalf("comm %q is not what lies between the first '(' and the last ')'", s.Comm)
		}
	})
}

func FuzzParseStatus(f *testing.F) {
	seeds(f, "status")
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := parseStatus(b)
		if err != nil {
			return
		}
		for i := 1; i < len(s.CPUsAllowed); i++ {
			if s.CPUsAllowed[i] <= s.CPUsAllowed[i-1] {
				t.Fatalf("unsorted CPUs %v", s.CPUsAllowed)
			}
		}
	})
}

func FuzzParseEnviron(f *testing.F) {
	seeds(f, "environ")
	f.Add([]byte("GOGC=1\x00A=GOB\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for k, v := range parseEnviron(b) {
			if !strings.HasPrefix(k, "GO") || strings.ContainsAny(k+v, "\x00") || strings.Contains(k, "=") {
				t.Fatalf("returned %q=%q", k, v)
			}
		}
	})
}

// FuzzSmallFiles covers the remaining /proc and /etc parsers: /proc/stat
// (btime), cmdline and /etc/passwd.
func FuzzSmallFiles(f *testing.F) {
	for _, p := range []string{"/proc/stat", "/etc/passwd", "/proc/self/cmdline"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("btime 1795266337\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if n, err := parseBootTime(b); err == nil && n < 0 {
			t.Fatalf("negative btime %d", n)
		}
		for _, a := range parseCmdline(b) {
			if strings.Contains(a, "\x00") {
				t.Fatalf("NUL inside argument %q", a)
			}
		}
		if name, ok := lookupUser(b, 0); ok && (name == "" || strings.ContainsAny(name, ":\n")) {
			t.Fatalf("user name %q", name)
		}
	})
}
