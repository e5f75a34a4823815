package gops

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// startSlack is how much earlier than the process's start time a port file
// may be and still count. /proc gives start times to the second
// (collectors/proc: btime + ticks), and a wall-clock step after start moves
// that figure; a stale file from an earlier process with the same PID is
// normally minutes or days older, and the socket check catches the rest.
const startSlack = time.Second

// ErrNoAgent means no valid port file was found for the process.
var ErrNoAgent = errors.New("no gops agent found")

// Target is what the caller knows about a process whose gops agent it looks
// for. Fields left zero or nil skip the check they feed.
type Target struct {
	PID int
	// StartTime is when the process started; a port file modified before it
	// was left by an earlier process with the same PID (gops removes its file
	// only on a clean shutdown, never after SIGKILL).
	StartTime time.Time
	// UID owns the process; -1 when unknown. When gotune runs as root, the
	// owner's ~/.config/gops is searched too.
	UID int
	// Env is the process's GO* environment (from /proc/PID/environ). Its
	// GOPS_CONFIG_DIR is where the agent wrote its port file.
	Env map[string]string
	// ListeningPorts are the TCP ports the process listens on (from
	// /proc/net/tcp* and its fds); nil when unknown. A port file whose port is
	// not among them is stale.
	ListeningPorts []int
	// ProcRoot is the /proc to check the PID in; "" means "/proc" on
	// Linux and no check elsewhere (no /proc: the caller read the PID
	// through the OS).
	ProcRoot string
}

// Agent is a gops agent found through its port file.
type Agent struct {
	PID      int
	Addr     string // "127.0.0.1:port": the agent's port file holds only the port
	PortFile string
}

// PortFileDirs lists the directories that may hold the target's port file,
// most specific first: the target's own GOPS_CONFIG_DIR, ours, our user
// config dir's gops/ (what gops agent's internal.ConfigDir uses), and, when
// we are root, the target owner's ~/.config/gops.
func PortFileDirs(t Target) []string {
	var dirs []string
	add := func(d string) {
		if d != "" && !slices.Contains(dirs, d) {
			dirs = append(dirs, filepath.Clean(d))
		}
	}
	add(t.Env["GOPS_CONFIG_DIR"])
	add(os.Getenv("GOPS_CONFIG_DIR"))
	if d, err := os.UserConfigDir(); err == nil {
		add(filepath.Join(d, "gops"))
	}
	if os.Geteuid() == 0 && t.UID > 0 {
		if u, err := user.LookupId(strconv.Itoa(t.UID)); err == nil && u.HomeDir != "" {
			add(filepath.Join(u.HomeDir, ".config", "gops"))
		}
	}
	return dirs
}

// FindAgent looks for the target's port file in PortFileDirs and validates
// it: the process exists, the file is not older than the process, and (when
// ListeningPorts is known) the port is one the process listens on. The error
// wraps ErrNoAgent and says why each file found was rejected.
func FindAgent(t Target) (Agent, error) {
	procRoot := t.ProcRoot
	if procRoot == "" && runtime.GOOS == "linux" {
		procRoot = "/proc"
	}
	if procRoot != "" {
		if _, err := os.Stat(filepath.Join(procRoot, strconv.Itoa(t.PID))); err != nil {
			return Agent{}, fmt.Errorf("%w for PID %d: process not found: %w", ErrNoAgent, t.PID, err)
		}
	}
	var rejected []string
	for _, dir := range PortFileDirs(t) {
		path := filepath.Join(dir, strconv.Itoa(t.PID))
		port, reason := checkPortFile(path, t)
		if reason == "" {
			return Agent{PID: t.PID, Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), PortFile: path}, nil
		}
		if reason != "absent" {
			rejected = append(rejected, path+": "+reason)
		}
	}
	if len(rejected) == 0 {
		return Agent{}, fmt.Errorf("%w for PID %d (no port file)", ErrNoAgent, t.PID)
	}
	return Agent{}, fmt.Errorf("%w for PID %d: %s", ErrNoAgent, t.PID, strings.Join(rejected, "; "))
}

// checkPortFile returns the port, or why the file cannot be trusted.
func checkPortFile(path string, t Target) (int, string) {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, "absent"
	}
	if err != nil {
		return 0, err.Error()
	}
	if !fi.Mode().IsRegular() || fi.Size() > 32 {
		return 0, "not a port file"
	}
	if !t.StartTime.IsZero() && fi.ModTime().Before(t.StartTime.Add(-startSlack)) {
		return 0, fmt.Sprintf("stale: written %s, before the process started at %s", fi.ModTime().Format(time.RFC3339), t.StartTime.Format(time.RFC3339))
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err.Error()
	}
	port, ok := ParsePortFile(b)
	if !ok {
		return 0, fmt.Sprintf("not a port number: %q", truncate(b, 32))
	}
	if t.ListeningPorts != nil && !slices.Contains(t.ListeningPorts, port) {
		return 0, fmt.Sprintf("stale: port %d is not a listening socket of PID %d", port, t.PID)
	}
	return port, ""
}

// ParsePortFile reads the decimal TCP port a gops agent writes to its port
// file (saveConfig: strconv.Itoa(port), no newline).
func ParsePortFile(b []byte) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n <= 0 || n > 65535 {
		return 0, false
	}
	return n, true
}
