package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/gotune/gotune/collectors"
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/safetext"
	"github.com/spf13/cobra"
)

func goroutinesCmd(e *env) *cobra.Command {
	var (
		src       profileSource
		asJSON    bool
		exactArgs bool
		proto     bool
	)
	cmd := &cobra.Command{
		Use:   "goroutines SOURCE",
		Short: "Group a process's goroutines by state, stack and creator",
		Long: `Group goroutines that share a state, stack, creator and labels, largest group
first, with wait times. SOURCE is a debug=2 text dump (runtime.Stack, a crash,
/debug/pprof/goroutine?debug=2), a goroutine profile (.pb.gz: stacks and labels
but no states), or a URL: a base URL fetches the debug=2 dump (--proto fetches
the profile, which carries pprof labels).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			debug := 2
			if proto {
				debug = 0
			}
			f, name, err := src.readSource(e.ctx, args[0], profile.KindGoroutine, debug)
			if err != nil {
				return err
			}
			groups, total, err := goroutineGroups(f, profile.GroupOptions{ExactArgs: exactArgs})
			if err != nil {
				return fmt.Errorf("read %s: %w", name, err)
			}
			if asJSON {
				enc := json.NewEncoder(e.jsonOut())
				enc.SetIndent("", "  ")
				return enc.Encode(struct {
					Source     string                   `json:"source"`
					Goroutines int                      `json:"goroutines"`
					Groups     []profile.GoroutineGroup `json:"groups"`
				}{name, total, groups})
			}
			return writeGoroutineGroups(safetext.NewWriter(e.stdout), groups, total, exactArgs)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&asJSON, "json", false, "print JSON")
	fl.BoolVar(&exactArgs, "exact-args", false, "keep stacks that differ only in argument values apart")
	fl.BoolVar(&proto, "proto", false, "with a URL: fetch the goroutine profile (labels, no states) instead of the debug=2 dump")
	return cmd
}

// goroutineGroups accepts a debug=2 text dump or a goroutine profile (as
// bytes, or decoded by the fetch).
func goroutineGroups(f collectors.Fetched, o profile.GroupOptions) ([]profile.GoroutineGroup, int, error) {
	var groups []profile.GoroutineGroup
	if p := f.Profile; p == nil && isGoroutineDump(f.Raw) {
		gs, err := profile.ParseGoroutineDumpBytes(f.Raw)
		if err != nil {
			return nil, 0, err
		}
		groups = profile.GroupGoroutines(gs, o)
	} else {
		var err error
		if p == nil {
			if p, err = profile.ParseBytes(f.Raw); err != nil {
				return nil, 0, err
			}
		}
		if k := p.Kind(); k != profile.KindGoroutine {
			return nil, 0, fmt.Errorf("this is a %s profile, not a goroutine profile or dump", kindName(k))
		}
		if groups, err = profile.GoroutineGroupsFromProfile(p); err != nil {
			return nil, 0, err
		}
	}
	total := 0
	for _, g := range groups {
		total += g.Count
	}
	return groups, total, nil
}

func kindName(k profile.Kind) string {
	if k == "" {
		return "unknown"
	}
	return string(k)
}

// isGoroutineDump reports whether data looks like a text dump: a line that
// starts with "goroutine " and is not a legacy "goroutine profile:" header.
func isGoroutineDump(data []byte) bool {
	if len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
		return false
	}
	for line := range bytes.Lines(data) {
		if bytes.HasPrefix(line, []byte("goroutine ")) && !bytes.HasPrefix(line, []byte("goroutine profile:")) {
			return true
		}
	}
	return false
}

// writeGoroutineGroups prints groups; argument values only with showArgs
// (when they were part of the grouping, so they hold for every member).
func writeGoroutineGroups(w io.Writer, groups []profile.GoroutineGroup, total int, showArgs bool) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%d goroutines in %d groups\n", total, len(groups))
	for _, g := range groups {
		b.WriteString("\n")
		state := g.State
		if state == "" {
			state = "(state not in profile)"
		}
		fmt.Fprintf(&b, "%d × %s", g.Count, state)
		switch {
		case g.MaxWait > 0 && g.MinWait == g.MaxWait:
			fmt.Fprintf(&b, ", waiting %d min", g.MaxWait)
		case g.MaxWait > 0:
			fmt.Fprintf(&b, ", waiting %d-%d min", g.MinWait, g.MaxWait)
		}
		if g.LockedToThread {
			b.WriteString(", locked to thread")
		}
		b.WriteString("\n")
		if len(g.Labels) > 0 {
			var ls []string
			for _, l := range g.Labels {
				ls = append(ls, l.Key+"="+l.Value)
			}
			fmt.Fprintf(&b, "  labels: %s\n", strings.Join(ls, " "))
		}
		for _, f := range g.Frames {
			name := f.Func
			if showArgs {
				name += "(" + f.Args + ")"
			}
			fmt.Fprintf(&b, "  %s\n      %s\n", name, fileLine(f))
		}
		if g.Elided {
			b.WriteString("  ...additional frames elided...\n")
		}
		if g.CreatedBy != nil {
			fmt.Fprintf(&b, "  created by %s\n      %s\n", g.CreatedBy.Func, fileLine(*g.CreatedBy))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func fileLine(f profile.Frame) string {
	if f.Line == 0 {
		return f.File
	}
	return fmt.Sprintf("%s:%d", f.File, f.Line)
}
