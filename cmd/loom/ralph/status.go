package ralph

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/cmd/loom/internal/iostreams"
	"github.com/loom-agent/loom/ralph"
)

// StatusOptions are what `loom ralph status` needs.
type StatusOptions struct {
	IO   *iostreams.IOStreams
	Root string
	ID   string // a loop's ID or its prefix; "" for the latest
	JSON bool
}

// NewCmdStatus builds `loom ralph status [ID]`.
func NewCmdStatus(f *cmdutil.Factory, runF func(*StatusOptions) error) *cobra.Command {
	opts := &StatusOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "status [ID]",
		Short: "Show a Ralph loop: its state, iterations, checks and cost (the latest by default)",
		Args:  cmdutil.UsageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.ID = args[0]
			}
			if runF != nil {
				return runF(opts)
			}
			return statusRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Root, "root", ".", "the repository root")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the loop's record as JSON")
	return cmd
}

func statusRun(opts *StatusOptions) error {
	rec, err := ralph.Find(opts.Root, opts.ID)
	if err != nil {
		return err
	}
	if opts.JSON {
		return cmdutil.WriteJSON(opts.IO.Out, rec)
	}
	out := opts.IO.Out
	fmt.Fprintf(out, "loop %s: %s\n", rec.ID, rec.State)
	if rec.Why != "" {
		fmt.Fprintf(out, "  %s\n", rec.Why)
	}
	end := rec.Ended
	if end.IsZero() {
		end = time.Now()
	}
	fmt.Fprintf(out, "  started %s, %s, %d iterations, $%.4f\n", rec.Started.Local().Format(time.DateTime),
		end.Sub(rec.Started).Round(time.Second), len(rec.Iterations), rec.Cost)
	if rec.Worktree != "" {
		fmt.Fprintf(out, "  in worktree %s, branch %s\n", rec.Worktree, rec.Branch)
	}
	if n := len(rec.Iterations); n > 0 {
		last := rec.Iterations[n-1]
		fmt.Fprintf(out, "  last iteration #%d: %s\n", last.N, iterationSummary(last))
		for _, c := range last.Checks {
			fmt.Fprintf(out, "    %s %s\n", verdict(c), c.Command)
		}
	}
	return nil
}

func verdict(c ralph.CheckResult) string {
	switch {
	case c.Passed:
		return "pass"
	case c.TimedOut:
		return "TIMEOUT"
	}
	return "FAIL"
}
