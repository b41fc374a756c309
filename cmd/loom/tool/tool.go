// Package tool is `loom tool`, which runs one tool, and `loom tools`,
// which lists them.
package tool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/cmd/loom/internal/iostreams"
	"github.com/loom-agent/loom/tools"
	"github.com/loom-agent/loom/workspace"
)

// ToolOptions are what `loom tool` needs.
type ToolOptions struct {
	IO        *iostreams.IOStreams
	Tools     func() (*tools.Registry, error)
	Workspace func(root string) (*workspace.Workspace, error)

	Name       string
	Args       string
	Root       string
	Apply      bool
	AllowShell bool
	JSON       bool
}

// NewCmdTool builds `loom tool`; runF, when given, replaces the run.
func NewCmdTool(f *cmdutil.Factory, runF func(*ToolOptions) error) *cobra.Command {
	opts := &ToolOptions{IO: f.IOStreams, Tools: f.Tools, Workspace: f.Workspace}
	cmd := &cobra.Command{
		Use:   "tool NAME --args JSON",
		Short: "Run one tool and print its result (and, for edits, the diff)",
		Long: `Run one tool against the workspace and print its result. For tools that
edit, the unified diff of the staged change goes to stdout (a summary to
stderr); the disk changes only with --apply, which refuses conflicts.

The shell tool's exit status is its command's: the command's own non-zero
status, 124 when it timed out, 128+N when signal N ended it.`,
		Example: `  loom tool grep --args '{"pattern":"func main"}'
  loom tool edit_file --root ./proj --args '{"path":"a.go","old_text":"foo","new_text":"bar"}' --apply`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			if runF != nil {
				return runF(opts)
			}
			return toolRun(cmd.Context(), opts)
		},
	}
	// `loom tool NAME --help` describes that tool: its arguments are what
	// a person needs to write --args.
	defaultHelp := cmd.HelpFunc()
	cmd.SetHelpFunc(func(c *cobra.Command, args []string) {
		if names := c.Flags().Args(); len(names) == 1 && toolHelp(opts, names[0]) == nil {
			return
		}
		defaultHelp(c, args)
	})
	cmd.Flags().StringVar(&opts.Args, "args", "{}", "the tool's arguments as a JSON object")
	cmd.Flags().StringVar(&opts.Root, "root", ".", "the workspace root")
	cmd.Flags().BoolVar(&opts.Apply, "apply", false, "apply the staged edits to disk")
	cmd.Flags().BoolVar(&opts.AllowShell, "allow-shell", false, "enable the shell tool (the command line you give is your consent)")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the result, its data and the diff as JSON")
	return cmd
}

func toolRun(ctx context.Context, opts *ToolOptions) error {
	reg, err := opts.Tools()
	if err != nil {
		return err
	}
	if _, ok := reg.Get(opts.Name); !ok {
		_, err := reg.Run(ctx, nil, opts.Name, nil)
		return &cmdutil.UsageError{Err: err}
	}
	if !json.Valid([]byte(opts.Args)) {
		return &cmdutil.UsageError{Err: fmt.Errorf("--args is not valid JSON: %s", tools.QuoteArg(opts.Args))}
	}
	ws, err := opts.Workspace(opts.Root)
	if err != nil {
		return err
	}
	env := &tools.Env{Changes: ws.NewChangeset()}
	if opts.AllowShell {
		env.Approver = tools.AlwaysApprove
	}
	res, err := reg.Run(ctx, env, opts.Name, json.RawMessage(opts.Args))
	if err != nil {
		return err
	}
	diff, err := env.Changes.Diff()
	if err != nil {
		return err
	}
	applied := false
	if opts.Apply && diff != "" {
		if _, err := env.Changes.Apply(); err != nil {
			var conflict *workspace.ConflictError
			if errors.As(err, &conflict) {
				return fmt.Errorf("%w (the diff was not applied)", err)
			}
			return err
		}
		applied = true
	}
	out, errOut := opts.IO.Out, opts.IO.ErrOut
	if opts.JSON {
		if err := cmdutil.WriteJSON(out, struct {
			Tool    string `json:"tool"`
			Text    string `json:"text"`
			Data    any    `json:"data,omitempty"`
			Diff    string `json:"diff,omitempty"`
			Applied bool   `json:"applied"`
		}{opts.Name, res.Text, res.Data, diff, applied}); err != nil {
			return err
		}
		return commandFailed(res)
	}
	if diff == "" {
		io.WriteString(out, cmdutil.EnsureNewline(res.Text))
		return commandFailed(res)
	}
	summary, _, _ := strings.Cut(res.Text, "\n")
	fmt.Fprintln(errOut, summary)
	fmt.Fprint(out, diff)
	if applied {
		fmt.Fprintln(errOut, "Applied to disk.")
	} else {
		fmt.Fprintln(errOut, "Not applied: run again with --apply to write it.")
	}
	return nil
}

// commandFailed turns a shell command that did not succeed into loom's
// exit status, as timeout(1) and sh do, so a script sees the failure.
func commandFailed(res tools.Result) error {
	d, ok := res.Data.(tools.ShellData)
	if !ok {
		return nil
	}
	switch {
	case d.TimedOut:
		return &cmdutil.ExitError{Code: cmdutil.ExitTimedOut, Err: errors.New("shell: the command timed out and was killed")}
	case d.Signal != 0:
		return &cmdutil.ExitError{Code: 128 + d.Signal, Err: fmt.Errorf("shell: the command was killed by signal %d", d.Signal)}
	case d.ExitCode != 0:
		return &cmdutil.ExitError{Code: d.ExitCode, Err: fmt.Errorf("shell: the command exited with status %d", d.ExitCode)}
	}
	return nil
}

// toolHelp prints the tool's description and arguments, from its schema;
// an error when there is no such tool.
func toolHelp(opts *ToolOptions, name string) error {
	reg, err := opts.Tools()
	if err != nil {
		return err
	}
	t, ok := reg.Get(name)
	if !ok {
		return fmt.Errorf("no tool %q", name)
	}
	sp := t.Spec()
	var schema struct {
		Properties map[string]struct {
			Type        any    `json:"type"`
			Description string `json:"description"`
		} `json:"properties"`
		Required []string `json:"required"`
	}
	if err := json.Unmarshal(sp.Schema, &schema); err != nil {
		return err
	}
	out := opts.IO.Out
	fmt.Fprintf(out, "%s (%s): %s\n\nArguments (--args as a JSON object):\n", sp.Name, sp.Effect, strings.TrimSpace(sp.Description))
	names := make([]string, 0, len(schema.Properties))
	for n := range schema.Properties {
		names = append(names, n)
	}
	// Required arguments first, each group by name.
	slices.SortFunc(names, func(a, b string) int {
		ra, rb := slices.Contains(schema.Required, a), slices.Contains(schema.Required, b)
		if ra != rb {
			if ra {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	for _, n := range names {
		p := schema.Properties[n]
		req := "optional"
		if slices.Contains(schema.Required, n) {
			req = "required"
		}
		fmt.Fprintf(tw, "  %s\t%v, %s\t%s\n", n, p.Type, req, strings.Join(strings.Fields(p.Description), " "))
	}
	if len(names) == 0 {
		fmt.Fprintln(tw, "  none")
	}
	tw.Flush()
	fmt.Fprintf(out, "\nExample:\n  loom tool %s --args '{...}'\n", sp.Name)
	return nil
}
