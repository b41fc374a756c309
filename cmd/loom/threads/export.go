package threads

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/cmd/loom/internal/iostreams"
	"github.com/loom-agent/loom/thread"
)

// ExportOptions are what `loom threads export` needs.
type ExportOptions struct {
	IO        *iostreams.IOStreams
	OpenStore func(db string, mode cmdutil.StoreMode) (*thread.Store, error)

	DB     string
	ID     string // an ID or unique prefix
	Format string // markdown or json
}

// NewCmdExport builds `loom threads export`; runF, when given, replaces the
// run.
func NewCmdExport(f *cmdutil.Factory, runF func(*ExportOptions) error) *cobra.Command {
	opts := &ExportOptions{IO: f.IOStreams, OpenStore: f.OpenStore}
	cmd := &cobra.Command{
		Use:   "export ID",
		Short: "Write a thread as Markdown or JSON on stdout",
		Example: `  loom threads export 1ngpcmpja5 > thread.md
  loom threads export 1ngp --format json | jq '.turns[].messages[].role'`,
		Args: cmdutil.UsageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.DB, opts.ID = dbFlag(cmd), args[0]
			if runF != nil {
				return runF(opts)
			}
			return exportRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Format, "format", "markdown", "markdown or json")
	return cmd
}

func exportRun(ctx context.Context, opts *ExportOptions) error {
	format, err := thread.ParseFormat(opts.Format)
	if err != nil {
		return &cmdutil.UsageError{Err: err}
	}
	return export(ctx, opts.IO, opts.OpenStore, opts.DB, opts.ID, format)
}

// export writes thread arg in format on stdout.
func export(ctx context.Context, ios *iostreams.IOStreams, open func(string, cmdutil.StoreMode) (*thread.Store, error), db, arg string, format thread.Format) error {
	return withStore(open, db, cmdutil.ReadOnly, func(st *thread.Store) error {
		id, err := st.Resolve(ctx, arg)
		if err != nil {
			return err
		}
		return st.Export(ctx, ios.Out, id, format)
	})
}
