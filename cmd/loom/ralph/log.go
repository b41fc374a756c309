package ralph

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/cmd/loom/internal/iostreams"
	"github.com/loom-agent/loom/ralph"
)

// LogOptions are what `loom ralph log` needs.
type LogOptions struct {
	IO   *iostreams.IOStreams
	Root string
	ID   string
	Diff bool
}

// NewCmdLog builds `loom ralph log [ID]`.
func NewCmdLog(f *cmdutil.Factory, runF func(*LogOptions) error) *cobra.Command {
	opts := &LogOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "log [ID]",
		Short: "List a Ralph loop's iterations: threads, checks, commits, cost, time (the latest by default)",
		Args:  cmdutil.UsageArgs(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.ID = args[0]
			}
			if runF != nil {
				return runF(opts)
			}
			return logRun(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Root, "root", ".", "the repository root")
	cmd.Flags().BoolVar(&opts.Diff, "diff", false, "show each iteration's diff")
	return cmd
}

func logRun(opts *LogOptions) error {
	rec, err := ralph.Find(opts.Root, opts.ID)
	if err != nil {
		return err
	}
	out := opts.IO.Out
	fmt.Fprintf(out, "loop %s: %s\n", rec.ID, rec.State)
	for _, it := range rec.Iterations {
		fmt.Fprintf(out, "#%d %s\n", it.N, iterationSummary(it))
		if it.Thread != "" {
			fmt.Fprintf(out, "   thread %s\n", it.Thread)
		}
		if it.Commit != "" {
			fmt.Fprintf(out, "   commit %s\n", it.Commit)
		}
		for _, c := range it.Checks {
			fmt.Fprintf(out, "   %s %s\n", verdict(c), c.Command)
		}
		if opts.Diff && it.Diff != "" {
			fmt.Fprint(out, it.Diff)
		}
	}
	return nil
}

// iterationSummary is one line about an iteration.
func iterationSummary(it ralph.Iteration) string {
	var parts []string
	if it.Stop != "" {
		parts = append(parts, it.Stop)
	}
	if it.Applied {
		parts = append(parts, fmt.Sprintf("applied %d files", len(it.Files)))
	} else {
		parts = append(parts, "not applied")
	}
	if it.Promised {
		parts = append(parts, "promised")
	}
	if !it.Ended.IsZero() {
		parts = append(parts, it.Ended.Sub(it.Started).Round(time.Second).String())
	}
	parts = append(parts, fmt.Sprintf("$%.4f", it.Cost))
	if first, _, _ := strings.Cut(it.Final, "\n"); first != "" {
		parts = append(parts, fmt.Sprintf("%q", first))
	}
	return strings.Join(parts, ", ")
}
