package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/loom-agent/loom/session"
	"github.com/loom-agent/loom/thread"
	"github.com/loom-agent/loom/workspace"
)

func init() { subcommands = append(subcommands, newApplyCmd) }

type applyOptions struct {
	db   string
	root string
}

func newApplyCmd(s *streams) *cobra.Command {
	var o applyOptions
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
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			st, err := openStore(o.db)
			if err != nil {
				return err
			}
			defer st.Close()
			id, err := st.Resolve(ctx, args[0])
			if err != nil {
				return err
			}
			root := o.root
			if root == "" {
				t, err := st.Get(ctx, id)
				if err != nil {
					return err
				}
				root = t.Workspace
			}
			ws, err := workspace.New(root)
			if err != nil {
				return err
			}
			changes, err := (&session.Service{Store: st}).ApplyThread(ctx, ws, id)
			if err != nil {
				return err
			}
			if len(changes) == 0 {
				fmt.Fprintf(s.Err, "Thread %s has no unapplied edits.\n", id)
				return nil
			}
			for _, ch := range changes {
				fmt.Fprintf(s.Out, "%s %s\n", ch.Kind, ch.NewPath)
			}
			fmt.Fprintf(s.Err, "Applied %d file(s) in %s.\n", len(changes), ws.Root())
			return nil
		},
	}
	cmd.Flags().StringVar(&o.db, "db", "", "the thread database (env "+thread.EnvDB+")")
	cmd.Flags().StringVar(&o.root, "root", "", "the workspace (default: the thread's)")
	return cmd
}
