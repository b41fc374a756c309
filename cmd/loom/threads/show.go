package threads

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/cmd/loom/internal/iostreams"
	"github.com/loom-agent/loom/thread"
	"github.com/loom-agent/loom/workspace"
)

// ShowOptions are what `loom threads show` needs.
type ShowOptions struct {
	IO        *iostreams.IOStreams
	OpenStore func(db string, mode cmdutil.StoreMode) (*thread.Store, error)

	DB   string
	ID   string // an ID or unique prefix
	JSON bool
	Diff bool // only the staged, unapplied edits
}

// NewCmdShow builds `loom threads show`; runF, when given, replaces the run.
func NewCmdShow(f *cmdutil.Factory, runF func(*ShowOptions) error) *cobra.Command {
	opts := &ShowOptions{IO: f.IOStreams, OpenStore: f.OpenStore}
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Print a thread: its facts, messages, tool calls and results, and diff",
		Args:  cmdutil.UsageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.DB, opts.ID = dbFlag(cmd), args[0]
			if runF != nil {
				return runF(opts)
			}
			return showRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the thread as JSON")
	cmd.Flags().BoolVar(&opts.Diff, "diff", false, "print only the edits the thread staged and nobody applied, as a unified diff (loom apply writes them)")
	return cmd
}

func showRun(ctx context.Context, opts *ShowOptions) error {
	if opts.Diff {
		return printStagedDiff(ctx, opts)
	}
	format := thread.FormatMarkdown
	if opts.JSON {
		format = thread.FormatJSON
	}
	return export(ctx, opts.IO, opts.OpenStore, opts.DB, opts.ID, format)
}

// printStagedDiff prints the edits the thread staged and nobody applied.
func printStagedDiff(ctx context.Context, opts *ShowOptions) error {
	return withStore(opts.OpenStore, opts.DB, cmdutil.ReadOnly, func(st *thread.Store) error {
		id, err := st.Resolve(ctx, opts.ID)
		if err != nil {
			return err
		}
		t, err := st.Get(ctx, id)
		if err != nil {
			return err
		}
		if len(t.Changes) == 0 {
			fmt.Fprintf(opts.IO.ErrOut, "Thread %s has no unapplied edits.\n", id)
			return nil
		}
		diff, err := workspace.RenderDiff(t.Changes)
		if err != nil {
			return err
		}
		fmt.Fprint(opts.IO.Out, diff)
		return nil
	})
}
