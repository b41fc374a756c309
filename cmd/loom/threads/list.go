package threads

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/cmd/loom/internal/iostreams"
	"github.com/loom-agent/loom/thread"
)

// ListOptions are what `loom threads list` needs.
type ListOptions struct {
	IO        *iostreams.IOStreams
	OpenStore func(db string, mode cmdutil.StoreMode) (*thread.Store, error)

	DB     string
	JSON   bool
	Filter FilterFlags
}

// NewCmdList builds `loom threads list`; runF, when given, replaces the run.
func NewCmdList(f *cmdutil.Factory, runF func(*ListOptions) error) *cobra.Command {
	opts := &ListOptions{IO: f.IOStreams, OpenStore: f.OpenStore}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List threads, most recently updated first",
		Example: `  loom threads list
  loom threads list --workspace . --since 7d --status failed`,
		Args: cmdutil.UsageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.DB = dbFlag(cmd)
			if runF != nil {
				return runF(opts)
			}
			return listRun(cmd.Context(), opts)
		},
	}
	addFilterFlags(cmd, &opts.JSON, &opts.Filter)
	return cmd
}

func listRun(ctx context.Context, opts *ListOptions) error {
	flt, err := opts.Filter.filter()
	if err != nil {
		return err
	}
	return withStore(opts.OpenStore, opts.DB, cmdutil.ReadOnly, func(st *thread.Store) error {
		ts, err := st.List(ctx, flt)
		if err != nil {
			return err
		}
		if opts.JSON {
			return cmdutil.WriteJSON(opts.IO.Out, cmdutil.NonNil(ts))
		}
		if len(ts) == 0 {
			fmt.Fprintln(opts.IO.ErrOut, "No threads.")
			return nil
		}
		short := cmdutil.ShortIDs(ctx, st, ts)
		tw := tabwriter.NewWriter(opts.IO.Out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tUPDATED\tSTATUS\tTURNS\tEDITS\tTITLE")
		for _, t := range ts {
			// Edits a run staged and nobody applied: loom apply ID.
			edits := "-"
			if t.Unapplied {
				edits = "unapplied"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", short(t.ID), t.Updated.Local().Format("2006-01-02 15:04"), t.Status, t.ModelTurns, edits, t.Title)
		}
		return tw.Flush()
	})
}
