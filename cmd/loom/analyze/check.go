package analyze

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/loom-agent/loom/analysis"
	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/cmd/loom/internal/iostreams"
	"github.com/loom-agent/loom/tools"
	"github.com/loom-agent/loom/workspace"
)

// CheckOptions are what `loom analyze check` needs.
type CheckOptions struct {
	IO        *iostreams.IOStreams
	Tools     func() (*tools.Registry, error)
	Workspace func(root string) (*workspace.Workspace, error)

	Root string
	JSON bool
	File string
}

// NewCmdCheck builds `loom analyze check`; runF, when given, replaces the
// run.
func NewCmdCheck(f *cmdutil.Factory, runF func(*CheckOptions) error) *cobra.Command {
	opts := &CheckOptions{IO: f.IOStreams, Tools: f.Tools, Workspace: f.Workspace}
	return &cobra.Command{
		Use:   "check FILE",
		Short: "Report syntax errors (exit 1 if there are any)",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Root, opts.JSON = groupFlags(c)
			opts.File = args[0]
			if runF != nil {
				return runF(opts)
			}
			return checkRun(c.Context(), opts)
		},
	}
}

func checkRun(ctx context.Context, opts *CheckOptions) error {
	ws, err := opts.Workspace(opts.Root)
	if err != nil {
		return err
	}
	rel, err := ws.Resolve(opts.File)
	if err != nil {
		return err
	}
	src, err := ws.ReadFile(rel)
	if err != nil {
		return err
	}
	errs, err := analysis.CheckSyntax(ctx, rel, src)
	if err != nil {
		return err
	}
	if err := printTool(ctx, opts.IO, opts.Tools, ws, "syntax_check", map[string]any{"path": opts.File}, opts.JSON); err != nil {
		return err
	}
	if len(errs) > 0 {
		return &cmdutil.ExitError{Code: cmdutil.ExitFailure, Err: fmt.Errorf("%s has %d syntax error(s)", rel, len(errs))}
	}
	return nil
}
