package agent

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// TokenFileSuffix ends the name of every token file: <pid>.token.
const TokenFileSuffix = ".token"

// DefaultTokenDir returns the directory the agent keeps its token file in,
// computed from an environment (os.Getenv for the agent itself; gotune
// passes the target's /proc/PID/environ so it finds the same directory):
//
//  1. $GOTUNE_AGENT_DIR, when set;
//  2. $XDG_RUNTIME_DIR/gotune/agent, when XDG_RUNTIME_DIR is an absolute
//     path (a per-user tmpfs, mode 0700, emptied at logout and reboot);
//  3. the user config directory as os.UserConfigDir computes it, plus
//     gotune/agent ($XDG_CONFIG_HOME or $HOME/.config on Linux).
func DefaultTokenDir(getenv func(string) string) (string, error) {
	if d := getenv(TokenDirEnv); d != "" {
		return filepath.Clean(d), nil
	}
	if d := getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(d) {
		return filepath.Join(d, "gotune", "agent"), nil
	}
	cfg, err := userConfigDir(getenv)
	if err != nil {
		return "", err
	}
	return filepath.Join(cfg, "gotune", "agent"), nil
}

// TokenFilePath is where the agent of process pid keeps its token in dir.
func TokenFilePath(dir string, pid int) string {
	return filepath.Join(dir, strconv.Itoa(pid)+TokenFileSuffix)
}

// userConfigDir is os.UserConfigDir over another environment.
func userConfigDir(getenv func(string) string) (string, error) {
	switch runtime.GOOS {
	case "windows":
		if d := getenv("AppData"); d != "" {
			return d, nil
		}
		return "", errors.New("%AppData% is not set")
	case "darwin", "ios":
		if h := getenv("HOME"); h != "" {
			return filepath.Join(h, "Library", "Application Support"), nil
		}
		return "", errors.New("$HOME is not set")
	case "plan9":
		if h := getenv("home"); h != "" {
			return filepath.Join(h, "lib"), nil
		}
		return "", errors.New("$home is not set")
	}
	if d := getenv("XDG_CONFIG_HOME"); filepath.IsAbs(d) {
		return d, nil
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".config"), nil
	}
	return "", errors.New("neither $XDG_CONFIG_HOME nor $HOME is set")
}

// newToken returns 256 random bits as hex.
func newToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

// writeTokenFile puts token into path, readable by the process's user only:
// the directory is made (or tightened to) 0700 and must belong to us, and
// the file is written as a 0600 temporary file renamed into place, so no one
// ever sees a partial or more widely readable token.
func writeTokenFile(path, token string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("make token directory: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("token directory %s is not a directory (a symlink?)", dir)
	}
	if err := checkOwner(fi); err != nil {
		return fmt.Errorf("token directory %s: %w", dir, err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("token directory %s is open to others and cannot be tightened: %w", dir, err)
		}
	}
	removeStaleTokens(dir)
	f, err := os.CreateTemp(dir, ".token-*") // mode 0600
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename there is nothing to remove
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.WriteString(token + "\n"); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// removeTokenFile removes path if it still holds token.
func removeTokenFile(path, token string) {
	if b, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(b)) == token {
		_ = os.Remove(path)
	}
}

// removeStaleTokens deletes the token files of processes that no longer
// exist: a program killed with SIGKILL cannot remove its own.
func removeStaleTokens(dir string) {
	names, err := filepath.Glob(filepath.Join(dir, "*"+TokenFileSuffix))
	if err != nil {
		return
	}
	for _, name := range names {
		pid, err := strconv.Atoi(strings.TrimSuffix(filepath.Base(name), TokenFileSuffix))
		if err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if processGone(pid) {
			_ = os.Remove(name)
		}
	}
}
