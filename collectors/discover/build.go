package discover

import (
	"debug/buildinfo"
	"errors"
	"io/fs"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
)

// Modules that set GOMAXPROCS or GOMEMLIMIT from cgroup limits at start-up,
// which the effective-settings explanation must know about.
var tunerModules = []string{
	"go.uber.org/automaxprocs",
	"github.com/KimMachineGun/automemlimit",
}

// Build is what a Go binary's build info says about it.
type Build struct {
	GoVersion string `json:"go_version"`                // "go1.26.8"
	Path      string `json:"path,omitempty"`            // main package path
	Module    string `json:"module,omitempty"`          // main module path@version
	GODEBUG   string `json:"default_godebug,omitempty"` // the DefaultGODEBUG setting
	// Tuners lists the modules among tunerModules the binary links, as
	// "path@version".
	Tuners []string `json:"tuners,omitempty"`
	// Deps are the module paths the binary links (not shown in JSON).
	Deps []string `json:"-"`
	// From is the file the build info was read from: /proc/PID/exe (Linux),
	// the executable's path (elsewhere), or the
	// binary named by the command line when the exe link was unreadable.
	From string `json:"from"`
}

// ReadBuild reads the build info of the Go binary at path.
func ReadBuild(path string) (*Build, error) {
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return buildFromInfo(bi, path), nil
}

func buildFromInfo(bi *debug.BuildInfo, from string) *Build {
	b := &Build{GoVersion: bi.GoVersion, Path: bi.Path, From: from}
	if bi.Main.Path != "" {
		b.Module = bi.Main.Path + "@" + bi.Main.Version
	}
	for _, s := range bi.Settings {
		if s.Key == "DefaultGODEBUG" {
			b.GODEBUG = s.Value
		}
	}
	for _, d := range bi.Deps {
		m := d
		if d.Replace != nil {
			m = d.Replace
		}
		b.Deps = append(b.Deps, d.Path)
		if slices.Contains(tunerModules, d.Path) {
			b.Tuners = append(b.Tuners, d.Path+"@"+m.Version)
		}
	}
	return b
}

// errNotGo marks a readable binary without Go build info.
var errNotGo = errors.New("not a Go program")

// errNoUserSpace marks a kernel thread or zombie.
var errNoUserSpace = errors.New("kernel thread or zombie")

// readProcessBuild reads a process's build info from the file buildPath
// names (on Linux procRoot/PID/exe, which works even when the binary was
// deleted or replaced since it started). When that is unreadable (another
// user's process and we are not root), it falls back to the binary the
// command line names, if that file is readable, and says so in note. err
// wraps fs.ErrPermission when nothing could be read for lack of rights,
// errNotGo for a binary without Go build info, and fs.ErrNotExist for
// kernel threads and zombies (no exe).
func readProcessBuild(buildPath func() (string, error), cmdlineOf func() []string) (b *Build, note string, err error) {
	exe, err := buildPath()
	if err != nil {
		return readFromCmdline(exe, err, cmdlineOf)
	}
	b, err = ReadBuild(exe)
	if err == nil {
		return b, "", nil
	}
	return readFromCmdline(exe, err, cmdlineOf)
}

// readFromCmdline handles a failed read of exe: a permission error falls
// back to the file the command line names.
func readFromCmdline(exe string, err error, cmdlineOf func() []string) (*Build, string, error) {
	if !errors.Is(err, fs.ErrPermission) {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, "", err
		}
		return nil, "", errors.Join(errNotGo, err)
	}
	if exe == "" {
		exe = "its executable"
	}
	permErr := err
	cmdline := cmdlineOf()
	if len(cmdline) == 0 {
		// Kernel threads and zombies have no command line (and no exe, but
		// the kernel checks permission before saying so).
		return nil, "", errNoUserSpace
	}
	if cmdline[0] == "" {
		return nil, "", permErr
	}
	path := cmdline[0]
	if !strings.Contains(path, "/") {
		// Resolved with OUR $PATH: the target's is in its environ, which we
		// cannot read either.
		if p, err := exec.LookPath(path); err == nil {
			path = p
		} else {
			return nil, "", permErr
		}
	}
	if !filepath.IsAbs(path) {
		return nil, "", permErr // relative to the target's cwd, unknown to us
	}
	b, err := ReadBuild(path)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) || errors.Is(err, fs.ErrNotExist) {
			return nil, "", permErr
		}
		// The file its command line names is readable and is not Go: take
		// the process for what it says it is.
		return nil, "", errors.Join(errNotGo, err)
	}
	return b, "build info read from " + path + ", the file its command line names (" + exe + ": permission denied); it may differ if the file was replaced", nil
}
