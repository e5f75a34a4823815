package discover_test

// Tests that need Linux's /proc semantics and Unix credentials: a scan run
// as another user, hidepid, another user's target.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/gotune/gotune/collectors/discover"
	"github.com/gotune/gotune/internal/testproc"
)

// helperEnv makes the test binary, re-run as another user, scan and print
// its rows as JSON (see TestPermissionDeniedRows).
const helperEnv = "GOTUNE_DISCOVER_SCAN_HELPER"

func TestHelperScan(t *testing.T) {
	if os.Getenv(helperEnv) == "" {
		return // only as the child of TestPermissionDeniedRows
	}
	root := "/"
	if v := os.Getenv(helperEnv); v != "1" {
		root = v
	}
	procs, err := discover.Scan(context.Background(), discover.Options{Root: root})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	json.NewEncoder(os.Stdout).Encode(procs)
	os.Exit(0)
}

// Run as root: targets owned by root are scanned by a process running as
// nobody, which may not read their exe link, environment or fds. They are
// listed with what could be read and why the rest could not.
func TestPermissionDeniedRows(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run the scan as another user")
	}
	dir := t.TempDir()
	testproc.ShareDir(t, dir)
	bin := testproc.BuildInto(t, testproc.PlainSleep, dir)
	// Its command line names its binary: the Go version comes from there.
	named := testproc.StartWith(t, bin, testproc.Options{WaitReady: true})
	// Its command line names nothing readable: Go or not is unknown.
	hidden := testproc.StartWith(t, bin, testproc.Options{WaitReady: true, Argv0: "hidden-name"})

	out, procs := scanAsNobody(t, dir, "1")
	byPID := map[int]discover.Process{}
	for _, p := range procs {
		byPID[p.PID] = p
	}

	row, ok := byPID[named.PID]
	if !ok {
		t.Fatalf("root-owned Go process %d not listed by nobody's scan:\n%s", named.PID, out)
	}
	reasons := strings.Join(row.Reasons, "; ")
	if row.GoVersion != runtime.Version() || !row.Partial || row.User != "root" || row.RSSBytes == 0 || row.Threads == 0 ||
		!strings.Contains(reasons, "permission denied") || !strings.Contains(reasons, "command line") ||
		!strings.Contains(row.Reach.Unknown, "permission denied") || row.Reach.OSOnly || row.Reach.String() != "unknown" {
		t.Errorf("named row = %+v", row)
	}
	t.Logf("named row: go %s, reach %q, reasons: %s; reach unknown: %s", row.GoVersion, row.Reach, reasons, row.Reach.Unknown)

	row, ok = byPID[hidden.PID]
	if !ok {
		t.Fatalf("root-owned process %d with an unreadable exe not listed:\n%s", hidden.PID, out)
	}
	reasons = strings.Join(row.Reasons, "; ")
	if row.GoVersion != "" || !row.Partial || !strings.Contains(reasons, "cannot tell whether it is a Go program") || row.Command != "hidden-name" || row.Reach.Unknown != "not known to be a Go program" {
		t.Errorf("hidden row = %+v", row)
	}
	t.Logf("hidden row: reasons: %s", reasons)
}

// scanAsNobody runs Scan over root ("1" for the live host) in a copy of the
// test binary running as nobody, and returns its JSON output and rows.
func scanAsNobody(t *testing.T, dir, root string) ([]byte, []discover.Process) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	helper := filepath.Join(dir, "helper.test")
	if _, err := os.Stat(helper); err != nil {
		copyFile(t, self, helper)
	}
	cmd := exec.Command(helper, "-test.run=^TestHelperScan$")
	cmd.Env = append(os.Environ(), helperEnv+"="+root)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("scan as nobody: %v\n%s", err, out)
	}
	var procs []discover.Process
	if err := json.Unmarshal(out, &procs); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return out, procs
}

// With /proc mounted hidepid=1 a process's directory is listed but nothing
// in it is readable: the row is kept with its reason. (A fake /proc whose
// files only root may read stands in for the mount option.)
func TestHidepidRow(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run the scan as another user")
	}
	dir := t.TempDir()
	testproc.ShareDir(t, dir)
	root := filepath.Join(dir, "root")
	for name, mode := range map[string]os.FileMode{
		"proc/stat":         0o644,
		"etc/passwd":        0o644,
		"proc/4242/stat":    0o600,
		"proc/4242/status":  0o600,
		"proc/4242/cmdline": 0o600,
		"proc/4242/exe":     0o600,
	} {
		path := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		content := "x"
		if name == "proc/stat" {
			content = "cpu 1 2 3\nbtime 1700000000\n"
		}
		if err := os.WriteFile(path, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	out, procs := scanAsNobody(t, dir, root)
	if len(procs) != 1 || procs[0].PID != 4242 || !procs[0].Partial || procs[0].GoVersion != "" ||
		!strings.Contains(strings.Join(procs[0].Reasons, ";"), "/proc/4242: permission denied (proc is mounted with hidepid)") {
		t.Errorf("rows = %s", out)
	}
}

// Run as root: a target owned by another user is read in full, and its
// row says whose it is.
func TestOtherUsersTargetAsRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to start a target as another user")
	}
	dir := t.TempDir()
	testproc.ShareDir(t, dir)
	bin := testproc.BuildInto(t, testproc.PprofServer, dir)
	p := testproc.StartWith(t, bin, testproc.Options{WaitReady: true, Credential: &syscall.Credential{Uid: 65534, Gid: 65534}})
	procs, err := discover.Scan(context.Background(), discover.Options{})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(procs, func(r discover.Process) bool { return r.PID == p.PID })
	if i < 0 {
		t.Fatalf("nobody's pprof target %d not listed", p.PID)
	}
	row := procs[i]
	if row.User != "nobody" || row.UID != 65534 || row.Partial || row.GoVersion != runtime.Version() || row.Reach.PprofURL != "http://"+p.Addr()+"/debug/pprof/" {
		t.Errorf("row = %+v", row)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}
