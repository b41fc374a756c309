package ralph

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/cmd/loom/internal/iostreams"
	"github.com/loom-agent/loom/ralph"
)

// StopOptions are what `loom ralph stop` needs.
type StopOptions struct {
	IO     *iostreams.IOStreams
	Folder string
	ID     string // the loop's ID or its prefix; "" for whichever runs
}

// NewCmdStop builds `loom ralph stop [ID]`.
func NewCmdStop(f *cmdutil.Factory, runF func(*StopOptions) error) *cobra.Command {
	opts := &StopOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "stop [ID]",
		Short: "Ask the Ralph loop running in this folder (or its worktree) to stop after its current iteration",
		Long: `Ask the Ralph loop running in the folder to stop once the iteration in flight
has finished: that iteration is applied, checked and committed as usual, and
no other starts. It works from any terminal: the request is a file the loop
looks for between its steps (.loom/ralph/ID.stop, where the loop holds its
lock). A loop started with --worktree is found from the repository it came
from. With ID, only a loop with that ID (or prefix) is asked.

Exits 1 when no loop runs there.`,
		Args: cmdutil.UsageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.ID = args[0]
			}
			if runF != nil {
				return runF(opts)
			}
			return stopRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Folder, "folder", ".", "the folder the loop runs in, or the repository of its worktree")
	return cmd
}

func stopRun(opts *StopOptions) error {
	folder, err := filepath.Abs(opts.Folder)
	if err != nil {
		return err
	}
	r, err := ralph.RequestStop(folder, opts.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "asked loop %s in %s to stop: it ends after its current iteration (loom ralph status shows when)\n", r.ID, r.Dir)
	return nil
}
