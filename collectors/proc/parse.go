package proc

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"

	"github.com/gotune/gotune/collectors/cpulist"
)

// errFormat is wrapped by every parse error.
var errFormat = errors.New("unexpected format")

// statLine holds the fields of /proc/PID/stat (and task/TID/stat) gotune
// uses. Field numbers are those of man 5 proc_pid_stat.
type statLine struct {
	PID        int    // (1)
	Comm       string // (2) without the parentheses; may hold spaces and ')'
	State      byte   // (3)
	PPID       int    // (4)
	UTicks     uint64 // (14) user time, clock ticks
	STicks     uint64 // (15) system time, clock ticks
	NumThreads int    // (20)
	StartTicks uint64 // (22) start time after boot, clock ticks
	VSize      uint64 // (23) bytes
	RSSPages   int64  // (24)
	Processor  int    // (39) CPU last run on; -1 when the kernel omits it
}

// parseStat parses one /proc/PID/stat or /proc/PID/task/TID/stat line. The
// command name may contain spaces and parentheses, so the fields after it
// start after the LAST ')' (fs/proc/array.c do_task_stat prints comm
// unescaped between "(" and ")").
func parseStat(b []byte) (statLine, error) {
	var s statLine
	open := bytes.IndexByte(b, '(')
	end := bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return s, fmt.Errorf("stat: %w: no (comm)", errFormat)
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b[:open])))
	if err != nil || pid <= 0 {
		return s, fmt.Errorf("stat: %w: pid %q", errFormat, b[:open])
	}
	s.PID = pid
	s.Comm = string(b[open+1 : end])
	f := bytes.Fields(b[end+1:])
	// f[0] is field 3; field N is f[N-3].
	field := func(n int) []byte { return f[n-3] }
	if len(f) < 24-2 {
		return s, fmt.Errorf("stat: %w: %d fields after comm, want at least 22", errFormat, len(f))
	}
	if len(field(3)) != 1 {
		return s, fmt.Errorf("stat: %w: state %q", errFormat, field(3))
	}
	s.State = field(3)[0]
	var errs [9]error
	s.PPID, errs[0] = strconv.Atoi(string(field(4)))
	s.UTicks, errs[1] = strconv.ParseUint(string(field(14)), 10, 64)
	s.STicks, errs[2] = strconv.ParseUint(string(field(15)), 10, 64)
	s.NumThreads, errs[3] = strconv.Atoi(string(field(20)))
	s.StartTicks, errs[4] = strconv.ParseUint(string(field(22)), 10, 64)
	s.VSize, errs[5] = strconv.ParseUint(string(field(23)), 10, 64)
	s.RSSPages, errs[6] = strconv.ParseInt(string(field(24)), 10, 64)
	s.Processor = -1
	if len(f) >= 39-2 {
		s.Processor, errs[7] = strconv.Atoi(string(field(39)))
	}
	if err := errors.Join(errs[:]...); err != nil {
		return statLine{}, fmt.Errorf("stat: %w: %v", errFormat, err)
	}
	if s.PPID < 0 || s.NumThreads < 0 || (len(f) >= 39-2 && s.Processor < 0) {
		return statLine{}, fmt.Errorf("stat: %w: negative ppid, thread count or CPU", errFormat)
	}
	return s, nil
}

// statusFile holds the lines of /proc/PID/status gotune uses
// (fs/proc/array.c proc_pid_status; Documentation/filesystems/proc.rst
// table 1-2). Memory lines are absent for kernel threads and zombies.
type statusFile struct {
	Name        string
	Tgid, PID   int
	PPID        int
	UID, EUID   int // real and effective (first two numbers of "Uid:")
	VmRSS       uint64
	VmHWM       uint64
	Threads     int
	Voluntary   uint64 // voluntary_ctxt_switches: this task only
	Involuntary uint64 // nonvoluntary_ctxt_switches: this task only
	CPUsAllowed []int  // Cpus_allowed_list
	MemsAllowed []int  // Mems_allowed_list
	HasCPUs     bool
	HasMems     bool
}

// parseStatus parses /proc/PID/status ("Key:\tvalue" lines). Unknown keys
// are skipped; a known key with a malformed value is an error.
func parseStatus(b []byte) (statusFile, error) {
	var s statusFile
	s.UID, s.EUID = -1, -1
	for len(b) > 0 {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte{'\n'})
		key, val, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			continue
		}
		val = bytes.TrimSpace(val)
		var err error
		switch string(key) {
		case "Name":
			s.Name = string(val)
		case "Tgid":
			s.Tgid, err = strconv.Atoi(string(val))
		case "Pid":
			s.PID, err = strconv.Atoi(string(val))
		case "PPid":
			s.PPID, err = strconv.Atoi(string(val))
		case "Uid":
			f := bytes.Fields(val)
			if len(f) < 2 {
				err = errFormat
				break
			}
			if s.UID, err = strconv.Atoi(string(f[0])); err == nil {
				s.EUID, err = strconv.Atoi(string(f[1]))
			}
		case "VmRSS":
			s.VmRSS, err = parseKB(val)
		case "VmHWM":
			s.VmHWM, err = parseKB(val)
		case "Threads":
			s.Threads, err = strconv.Atoi(string(val))
		case "voluntary_ctxt_switches":
			s.Voluntary, err = strconv.ParseUint(string(val), 10, 64)
		case "nonvoluntary_ctxt_switches":
			s.Involuntary, err = strconv.ParseUint(string(val), 10, 64)
		case "Cpus_allowed_list":
			s.CPUsAllowed, err = cpulist.Parse(string(val))
			s.HasCPUs = err == nil
		case "Mems_allowed_list":
			s.MemsAllowed, err = cpulist.Parse(string(val))
			s.HasMems = err == nil
		}
		if err != nil {
			return statusFile{}, fmt.Errorf("status: %w: %s: %q: %v", errFormat, key, val, err)
		}
	}
	if s.Name == "" && s.PID == 0 {
		return statusFile{}, fmt.Errorf("status: %w: no Name or Pid line", errFormat)
	}
	return s, nil
}

// parseKB parses "1784 kB" into bytes.
func parseKB(v []byte) (uint64, error) {
	num, unit, _ := bytes.Cut(v, []byte{' '})
	if u := string(bytes.TrimSpace(unit)); u != "kB" && u != "" {
		return 0, fmt.Errorf("unit %q", u)
	}
	n, err := strconv.ParseUint(string(num), 10, 64)
	if err != nil || n > 1<<53 {
		return 0, fmt.Errorf("value %q", num)
	}
	return n * 1024, nil
}

// parseBootTime finds "btime N" in /proc/stat (man 5 proc_stat).
func parseBootTime(b []byte) (int64, error) {
	for len(b) > 0 {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte{'\n'})
		if v, ok := bytes.CutPrefix(line, []byte("btime ")); ok {
			n, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
			if err != nil || n < 0 {
				return 0, fmt.Errorf("/proc/stat: %w: btime %q", errFormat, v)
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("/proc/stat: %w: no btime line", errFormat)
}

// parseCmdline splits /proc/PID/cmdline at NULs. A process that rewrote its
// argv may use spaces instead; that arrives as one argument, as in ps.
func parseCmdline(b []byte) []string {
	b = bytes.TrimRight(b, "\x00")
	if len(b) == 0 {
		return nil
	}
	var args []string
	for arg := range bytes.SplitSeq(b, []byte{0}) {
		args = append(args, string(arg))
	}
	return args
}

// parseEnviron returns the variables of /proc/PID/environ whose names start
// with "GO" (GOGC, GOMEMLIMIT, GOMAXPROCS, GODEBUG, GOTRACEBACK, ...). No
// other name or value is ever copied out of b: environments hold secrets.
func parseEnviron(b []byte) map[string]string {
	env := map[string]string{}
	for len(b) > 0 {
		var kv []byte
		kv, b, _ = bytes.Cut(b, []byte{0})
		if !bytes.HasPrefix(kv, []byte("GO")) {
			continue
		}
		name, value, ok := bytes.Cut(kv, []byte{'='})
		if !ok {
			continue
		}
		env[string(name)] = string(value)
	}
	return env
}

// lookupUser finds the name of uid in an /etc/passwd file
// ("name:x:uid:gid:gecos:home:shell", man 5 passwd).
func lookupUser(passwd []byte, uid int) (string, bool) {
	want := []byte(strconv.Itoa(uid))
	for len(passwd) > 0 {
		var line []byte
		line, passwd, _ = bytes.Cut(passwd, []byte{'\n'})
		name, rest, ok := bytes.Cut(line, []byte{':'})
		if !ok || len(name) == 0 || name[0] == '#' {
			continue
		}
		_, rest, ok = bytes.Cut(rest, []byte{':'}) // password
		if !ok {
			continue
		}
		id, _, _ := bytes.Cut(rest, []byte{':'})
		if bytes.Equal(id, want) {
			return string(name), true
		}
	}
	return "", false
}
