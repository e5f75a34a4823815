package cli

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/gotune/gotune/compare"
	"github.com/gotune/gotune/snapshot"
	"github.com/gotune/gotune/ui"
)

func diffCmd(e *env) *cobra.Command {
	var format, theme string
	cmd := &cobra.Command{
		Use:   "diff BEFORE AFTER",
		Short: "Compare two snapshots: metrics, settings, profiles, goroutines and findings",
		Long: `Compare two .gotune snapshots as a whole: each metric before and after with
whether the change is beyond the noise of the windows, the settings and GO*
variables that changed, every profile both hold frame by frame (absolute, as
go tool pprof -diff_base, and normalized, as -normalize) above a noise floor,
the goroutine groups that appeared, grew or vanished, and the advisor's
findings resolved or new.

On a terminal, without --format, the comparison opens in a full-screen view
with tabs: Metrics, Profiles (a diff flame per profile kind; n switches
between absolute and normalized), Goroutines, Settings and Findings. With
--format, or when stdout is not a terminal, it is printed.`,
		Example: `  gotune diff before.gotune after.gotune
  gotune diff before.gotune after.gotune --format md > change.md
  gotune diff before.gotune after.gotune --format json | jq '.metrics[] | select(.beyond_noise)'`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			before, err := snapshot.Read(args[0])
			if err != nil {
				return err
			}
			// Each file is read once: the same file twice is one read,
			// and the second counts what the first holds against the
			// profile budget (a command's snapshots together).
			after := before
			if !sameFile(args[0], args[1]) {
				if after, err = snapshot.ReadAfter(args[1], before.Footprint()); err != nil {
					return err
				}
			}
			c := compare.Compare(before, after)
			if !cmd.Flags().Changed("format") && isTerminal(e.stdout) {
				if err := validTheme(theme); err != nil {
					return err
				}
				return ui.Run(e.ctx, ui.Options{Theme: theme, NoColor: noColor(), Compare: &ui.Comparison{
					Diff: c, Before: before, After: after, BeforeLabel: args[0], AfterLabel: args[1]}}, os.Stdin, e.stdout)
			}
			switch format {
			case "text":
				return c.WriteText(e.stdout)
			case "md", "markdown":
				return c.WriteMarkdown(e.stdout)
			case "json":
				enc := json.NewEncoder(e.jsonOut())
				enc.SetIndent("", "  ")
				return enc.Encode(c)
			}
			return fmt.Errorf("--format %q: want text, md or json", format)
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "print instead of opening the compare view: text, md or json")
	cmd.Flags().StringVar(&theme, "theme", "auto", "compare view colours: auto, dark, light, high-contrast, mono; NO_COLOR forces mono")
	return cmd
}

// sameFile reports whether a and b name one file.
func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}
