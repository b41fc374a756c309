package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/loom-agent/loom/tools"
	"github.com/loom-agent/loom/workspace"
)

func init() { subcommands = append(subcommands, newToolsCmd, newToolCmd) }

func newToolsCmd(s *streams) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "tools",
		Short: "List every tool with its description",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			reg, err := tools.NewBuiltinRegistry()
			if err != nil {
				return err
			}
			if asJSON {
				type entry struct {
					Name        string          `json:"name"`
					Description string          `json:"description"`
					ReadOnly    bool            `json:"read_only"`
					Effect      tools.Effect    `json:"effect"`
					PathArgs    []string        `json:"path_args,omitempty"`
					Schema      json.RawMessage `json:"input_schema"`
				}
				var out []entry
				for _, t := range reg.List() {
					sp := t.Spec()
					out = append(out, entry{sp.Name, sp.Description, sp.Effect.ReadOnly(), sp.Effect, sp.PathArgs, sp.Schema})
				}
				return writeJSON(s, out)
			}
			tw := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
			for _, t := range reg.List() {
				sp := t.Spec()
				fmt.Fprintf(tw, "%s\t%s\n", sp.Name, firstSentence(sp.Description))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print names, descriptions, effects, path arguments and argument schemas as JSON")
	return cmd
}

type toolOptions struct {
	name       string
	args       string
	root       string
	apply      bool
	allowShell bool
	asJSON     bool
}

func newToolCmd(s *streams) *cobra.Command {
	var o toolOptions
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
			o.name = args[0]
			return runTool(cmd, s, o)
		},
	}
	cmd.Flags().StringVar(&o.args, "args", "{}", "the tool's arguments as a JSON object")
	cmd.Flags().StringVar(&o.root, "root", ".", "the workspace root")
	cmd.Flags().BoolVar(&o.apply, "apply", false, "apply the staged edits to disk")
	cmd.Flags().BoolVar(&o.allowShell, "allow-shell", false, "enable the shell tool (the command line you give is your consent)")
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print the result, its data and the diff as JSON")
	return cmd
}

func runTool(cmd *cobra.Command, s *streams, o toolOptions) error {
	reg, err := tools.NewBuiltinRegistry()
	if err != nil {
		return err
	}
	if _, ok := reg.Get(o.name); !ok {
		_, err := reg.Run(cmd.Context(), nil, o.name, nil)
		return &usageError{err}
	}
	if !json.Valid([]byte(o.args)) {
		return &usageError{fmt.Errorf("--args is not valid JSON: %s", tools.QuoteArg(o.args))}
	}
	ws, err := workspace.New(o.root)
	if err != nil {
		return err
	}
	env := &tools.Env{Changes: ws.NewChangeset()}
	if o.allowShell {
		env.Approver = tools.AlwaysApprove
	}
	res, err := reg.Run(cmd.Context(), env, o.name, json.RawMessage(o.args))
	if err != nil {
		return err
	}
	diff, err := env.Changes.Diff()
	if err != nil {
		return err
	}
	applied := false
	if o.apply && diff != "" {
		if _, err := env.Changes.Apply(); err != nil {
			var conflict *workspace.ConflictError
			if errors.As(err, &conflict) {
				return fmt.Errorf("%w (the diff was not applied)", err)
			}
			return err
		}
		applied = true
	}
	if o.asJSON {
		if err := writeJSON(s, struct {
			Tool    string `json:"tool"`
			Text    string `json:"text"`
			Data    any    `json:"data,omitempty"`
			Diff    string `json:"diff,omitempty"`
			Applied bool   `json:"applied"`
		}{o.name, res.Text, res.Data, diff, applied}); err != nil {
			return err
		}
		return commandFailed(res)
	}
	if diff == "" {
		io.WriteString(s.Out, ensureNewline(res.Text))
		return commandFailed(res)
	}
	summary, _, _ := strings.Cut(res.Text, "\n")
	fmt.Fprintln(s.Err, summary)
	fmt.Fprint(s.Out, diff)
	if applied {
		fmt.Fprintln(s.Err, "Applied to disk.")
	} else {
		fmt.Fprintln(s.Err, "Not applied: run again with --apply to write it.")
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
		return &exitError{code: exitTimedOut, err: errors.New("shell: the command timed out and was killed")}
	case d.Signal != 0:
		return &exitError{code: 128 + d.Signal, err: fmt.Errorf("shell: the command was killed by signal %d", d.Signal)}
	case d.ExitCode != 0:
		return &exitError{code: d.ExitCode, err: fmt.Errorf("shell: the command exited with status %d", d.ExitCode)}
	}
	return nil
}

// exitTimedOut is timeout(1)'s status for a command it had to stop.
const exitTimedOut = 124

func writeJSON(s *streams, v any) error {
	enc := json.NewEncoder(s.Out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func ensureNewline(s string) string {
	if s == "" || strings.HasSuffix(s, "\n") {
		return s
	}
	return s + "\n"
}

func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}
