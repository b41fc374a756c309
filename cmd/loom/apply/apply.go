// Package apply is `loom apply`: a thread's staged edits written to disk
// without running the model again.
package apply

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/cmd/loom/internal/iostreams"
	"github.com/loom-agent/loom/session"
	"github.com/loom-agent/loom/thread"
	"github.com/loom-agent/loom/workspace"
)

// ApplyOptions are what `loom apply` needs.
type ApplyOptions struct {
	IO        *iostreams.IOStreams
	OpenStore func(db string, mode cmdutil.StoreMode) (*thread.Store, error)
	Workspace func(root string) (*workspace.Workspace, error)

	Thread string // an ID or unique prefix
	DB     string
	Root   string // "": the thread's workspace
}

// NewCmdApply builds `loom apply`; runF, when given, replaces the run.
func NewCmdApply(f *cmdutil.Factory, runF func(*ApplyOptions) error) *cobra.Command {
	opts := &ApplyOptions{IO: f.IOStreams, OpenStore: f.OpenStore, Workspace: f.Workspace}
	cmd := &cobra.Command{
		Use:   "apply THREAD",
		Short: "Write a thread's staged edits to disk, without running the model again",
		Long: `Apply the edits a thread's runs staged and nobody applied (loom run without
--apply, loom_agent over MCP, a run stopped at a limit), to the workspace
the thread was recorded in (or --root). All or nothing: if any file changed
on disk since the edits were made, nothing is written and the conflict is
named. loom threads show --diff THREAD prints the edits first.`,
		Example: `  loom threads show --diff 3fa2
  loom apply 3fa2`,
		Args: cmdutil.UsageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Thread = args[0]
			if runF != nil {
				return runF(opts)
			}
			return applyRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.DB, "db", "", "the thread database (env "+thread.EnvDB+")")
	cmd.Flags().StringVar(&opts.Root, "root", "", "the workspace (default: the thread's)")
	return cmd
}

func applyRun(ctx context.Context, opts *ApplyOptions) error {
	st, err := opts.OpenStore(opts.DB, cmdutil.ReadWrite)
	if err != nil {
		return err
	}
	defer st.Close()
	id, err := st.Resolve(ctx, opts.Thread)
	if err != nil {
		return err
	}
	root := opts.Root
	if root == "" {
		t, err := st.Get(ctx, id)
		if err != nil {
			return err
		}
		root = t.Workspace
	}
	ws, err := opts.Workspace(root)
	if err != nil {
		return err
	}
	changes, err := (&session.Service{Store: st}).ApplyThread(ctx, ws, id)
	if err != nil {
		return err
	}
	if len(changes) == 0 {
		fmt.Fprintf(opts.IO.ErrOut, "Thread %s has no unapplied edits.\n", id)
		return nil
	}
	for _, ch := range changes {
		fmt.Fprintf(opts.IO.Out, "%s %s\n", ch.Kind, ch.NewPath)
	}
	fmt.Fprintf(opts.IO.ErrOut, "Applied %d file(s) in %s.\n", len(changes), ws.Root())
	return nil
}
