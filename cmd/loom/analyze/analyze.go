// Package analyze is `loom analyze`: outlines, symbols, definitions,
// references, syntax checks and repo maps from tree-sitter.
package analyze

import (
	"context"
	"encoding/json"
	"io"

	"github.com/spf13/cobra"

	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/cmd/loom/internal/iostreams"
	"github.com/loom-agent/loom/tools"
	"github.com/loom-agent/loom/workspace"
)

// NewCmdAnalyze builds the `loom analyze` group, with its persistent --root
// and --json.
func NewCmdAnalyze(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "analyze",
		Short: "Outlines, symbols, definitions, references, syntax checks and repo maps (tree-sitter)",
		Long: `Code analysis with tree-sitter for Go, Python, JavaScript, TypeScript, TSX,
Rust, Java, C, C++ and Ruby. The symbol index is cached under the user's
cache folder and refreshed per file, so a second run reparses only what
changed.`,
	}
	AddGroupFlags(cmd)
	cmd.AddCommand(
		NewCmdOutline(f, nil),
		NewCmdSymbols(f, nil),
		NewCmdDefs(f, nil),
		NewCmdRefs(f, nil),
		NewCmdMap(f, nil),
		NewCmdCheck(f, nil),
	)
	return cmd
}

// AddGroupFlags adds --root and --json to the group, for every subcommand
// to inherit.
func AddGroupFlags(group *cobra.Command) {
	group.PersistentFlags().String("root", ".", "the workspace root")
	group.PersistentFlags().Bool("json", false, "print structured results as JSON")
}

// groupFlags are the --root and --json a subcommand inherits from its
// group.
func groupFlags(cmd *cobra.Command) (root string, asJSON bool) {
	root = "."
	if fl := cmd.Flags().Lookup("root"); fl != nil {
		root = fl.Value.String()
	}
	if fl := cmd.Flags().Lookup("json"); fl != nil {
		asJSON = fl.Value.String() == "true"
	}
	return root, asJSON
}

// QueryOptions are what the subcommands that ask one analysis tool need
// (outline, defs, refs, map).
type QueryOptions struct {
	IO        *iostreams.IOStreams
	Tools     func() (*tools.Registry, error)
	Workspace func(root string) (*workspace.Workspace, error)

	Root string
	JSON bool
	Tool string         // the tool asked
	Args map[string]any // its arguments
}

// newQueryCmd makes cmd a subcommand that asks a tool, with args made from
// the command line by toolArgs. With dirArg, an argument is the root.
func newQueryCmd(f *cmdutil.Factory, runF func(*QueryOptions) error, cmd *cobra.Command, tool string, dirArg bool, toolArgs func(args []string) map[string]any) *cobra.Command {
	opts := &QueryOptions{IO: f.IOStreams, Tools: f.Tools, Workspace: f.Workspace, Tool: tool}
	cmd.RunE = func(c *cobra.Command, args []string) error {
		opts.Root, opts.JSON = groupFlags(c)
		if dirArg && len(args) == 1 {
			opts.Root = args[0]
		}
		opts.Args = toolArgs(args)
		if runF != nil {
			return runF(opts)
		}
		return queryRun(c.Context(), opts)
	}
	return cmd
}

// NewCmdOutline builds `loom analyze outline`.
func NewCmdOutline(f *cmdutil.Factory, runF func(*QueryOptions) error) *cobra.Command {
	return newQueryCmd(f, runF, &cobra.Command{
		Use:   "outline FILE",
		Short: "The definitions of one file as a tree",
		Args:  cobra.ExactArgs(1),
	}, "outline", false, func(args []string) map[string]any { return map[string]any{"path": args[0]} })
}

// NewCmdDefs builds `loom analyze defs`.
func NewCmdDefs(f *cmdutil.Factory, runF func(*QueryOptions) error) *cobra.Command {
	var match string
	cmd := newQueryCmd(f, runF, &cobra.Command{
		Use:   "defs NAME",
		Short: "Where NAME is defined",
		Args:  cobra.ExactArgs(1),
	}, "find_symbol", false, func(args []string) map[string]any { return map[string]any{"name": args[0], "match": match} })
	cmd.Flags().StringVar(&match, "match", "exact", "exact, ignore_case or fuzzy")
	return cmd
}

// NewCmdRefs builds `loom analyze refs`.
func NewCmdRefs(f *cmdutil.Factory, runF func(*QueryOptions) error) *cobra.Command {
	return newQueryCmd(f, runF, &cobra.Command{
		Use:   "refs NAME",
		Short: "The syntactic references to NAME",
		Args:  cobra.ExactArgs(1),
	}, "find_references", false, func(args []string) map[string]any { return map[string]any{"name": args[0], "limit": 100000} })
}

// NewCmdMap builds `loom analyze map`.
func NewCmdMap(f *cmdutil.Factory, runF func(*QueryOptions) error) *cobra.Command {
	var tokens int
	var focus []string
	cmd := newQueryCmd(f, runF, &cobra.Command{
		Use:   "map [DIR]",
		Short: "A map of the most important files and symbols within a token budget",
		Args:  cobra.MaximumNArgs(1),
	}, "repo_map", true, func(args []string) map[string]any {
		m := map[string]any{"tokens": tokens}
		// No --focus is no focus, not a null the tool refuses.
		if len(focus) > 0 {
			m["focus"] = focus
		}
		return m
	})
	cmd.Flags().IntVar(&tokens, "tokens", tools.DefaultRepoMapTokens, "budget in tokens")
	cmd.Flags().StringSliceVar(&focus, "focus", nil, "files you are working on")
	return cmd
}

func queryRun(ctx context.Context, opts *QueryOptions) error {
	ws, err := opts.Workspace(opts.Root)
	if err != nil {
		return err
	}
	return printTool(ctx, opts.IO, opts.Tools, ws, opts.Tool, opts.Args, opts.JSON)
}

// printTool runs a tool on a fresh changeset and prints its text, or its
// structured data with --json.
func printTool(ctx context.Context, ios *iostreams.IOStreams, registry func() (*tools.Registry, error), ws *workspace.Workspace, name string, args any, asJSON bool) error {
	reg, err := registry()
	if err != nil {
		return err
	}
	raw, err := json.Marshal(args)
	if err != nil {
		return err
	}
	res, err := reg.Run(ctx, &tools.Env{Changes: ws.NewChangeset()}, name, raw)
	if err != nil {
		return err
	}
	if asJSON {
		return cmdutil.WriteJSON(ios.Out, res.Data)
	}
	_, err = io.WriteString(ios.Out, cmdutil.EnsureNewline(res.Text))
	return err
}
