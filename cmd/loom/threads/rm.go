package threads

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/cmd/loom/internal/iostreams"
	"github.com/loom-agent/loom/thread"
)

// RmOptions are what `loom threads rm` needs.
type RmOptions struct {
	IO        *iostreams.IOStreams
	OpenStore func(db string, mode cmdutil.StoreMode) (*thread.Store, error)

	DB  string
	IDs []string // IDs or unique prefixes
}

// NewCmdRm builds `loom threads rm`; runF, when given, replaces the run.
func NewCmdRm(f *cmdutil.Factory, runF func(*RmOptions) error) *cobra.Command {
	opts := &RmOptions{IO: f.IOStreams, OpenStore: f.OpenStore}
	return &cobra.Command{
		Use:   "rm ID...",
		Short: "Delete threads",
		Args:  cmdutil.UsageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.DB, opts.IDs = dbFlag(cmd), args
			if runF != nil {
				return runF(opts)
			}
			return rmRun(cmd.Context(), opts)
		},
	}
}

func rmRun(ctx context.Context, opts *RmOptions) error {
	return withStore(opts.OpenStore, opts.DB, cmdutil.ReadWrite, func(st *thread.Store) error {
		for _, arg := range opts.IDs {
			id, err := st.Resolve(ctx, arg)
			if err != nil {
				return err
			}
			if err := st.Delete(ctx, id); err != nil {
				return err
			}
			fmt.Fprintf(opts.IO.ErrOut, "Deleted %s.\n", id)
		}
		return nil
	})
}
