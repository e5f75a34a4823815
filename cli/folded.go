package cli

import (
	"github.com/gotune/gotune/profile"
	"github.com/gotune/gotune/safetext"
	"github.com/spf13/cobra"
)

func foldedCmd(e *env) *cobra.Command {
	var af analysisFlags
	cmd := &cobra.Command{
		Use:   "folded SOURCE",
		Short: "Print a profile as folded stacks (frame;frame;frame value) for flame-graph tools",
		Long: `Print one line per distinct stack, root first, frames separated by ";", then a
space and the stack's value in the sample type's unit. flamegraph.pl,
speedscope and inferno read this format. SOURCE is a file or URL, as for top.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := af.options()
			if err != nil {
				return err
			}
			p, _, err := af.src.loadProfile(e.ctx, args[0], profile.KindHeap)
			if err != nil {
				return err
			}
			return profile.WriteFolded(safetext.NewWriter(e.stdout), p, opts)
		},
	}
	af.register(cmd)
	return cmd
}
