package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/loom-agent/loom/analysis"
	"github.com/loom-agent/loom/codeindex"
	"github.com/loom-agent/loom/tools"
	"github.com/loom-agent/loom/workspace"
)

func init() { subcommands = append(subcommands, newAnalyzeCmd) }

func newAnalyzeCmd(s *streams) *cobra.Command {
	var root string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "analyze",
		Short: "Outlines, symbols, definitions, references, syntax checks and repo maps (tree-sitter)",
		Long: `Code analysis with tree-sitter for Go, Python, JavaScript, TypeScript, TSX,
Rust, Java, C, C++ and Ruby. The symbol index is cached under the user's
cache folder and refreshed per file, so a second run reparses only what
changed.`,
	}
	cmd.PersistentFlags().StringVar(&root, "root", ".", "the workspace root")
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print structured results as JSON")

	// viaTool runs one of the analysis tools and prints its text or data.
	viaTool := func(c *cobra.Command, name string, args any) error {
		ws, err := workspace.New(root)
		if err != nil {
			return err
		}
		return printTool(c.Context(), s, ws, name, args, asJSON)
	}
	var count bool
	var tokens int
	var focus []string
	var match string
	mapCmd := &cobra.Command{
		Use:   "map [DIR]",
		Short: "A map of the most important files and symbols within a token budget",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 1 {
				root = args[0]
			}
			return viaTool(c, "repo_map", map[string]any{"tokens": tokens, "focus": focus})
		},
	}
	mapCmd.Flags().IntVar(&tokens, "tokens", tools.DefaultRepoMapTokens, "budget in tokens")
	mapCmd.Flags().StringSliceVar(&focus, "focus", nil, "files you are working on")
	defsCmd := &cobra.Command{
		Use:   "defs NAME",
		Short: "Where NAME is defined",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return viaTool(c, "find_symbol", map[string]any{"name": args[0], "match": match})
		},
	}
	defsCmd.Flags().StringVar(&match, "match", "exact", "exact, ignore_case or fuzzy")
	symbolsCmd := &cobra.Command{
		Use:   "symbols [DIR]",
		Short: "Every definition in the workspace (DIR, default the root), one per line",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 1 {
				root = args[0]
			}
			return runSymbols(c.Context(), s, root, asJSON, count)
		},
	}
	symbolsCmd.Flags().BoolVar(&count, "count", false, "build or refresh the index and print only its summary")
	checkCmd := &cobra.Command{
		Use:   "check FILE",
		Short: "Report syntax errors (exit 1 if there are any)",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			ws, err := workspace.New(root)
			if err != nil {
				return err
			}
			rel, err := ws.Resolve(args[0])
			if err != nil {
				return err
			}
			src, err := ws.ReadFile(rel)
			if err != nil {
				return err
			}
			errs, err := analysis.CheckSyntax(c.Context(), rel, src)
			if err != nil {
				return err
			}
			if err := printTool(c.Context(), s, ws, "syntax_check", map[string]any{"path": args[0]}, asJSON); err != nil {
				return err
			}
			if len(errs) > 0 {
				return &exitError{code: exitFailure, err: fmt.Errorf("%s has %d syntax error(s)", rel, len(errs))}
			}
			return nil
		},
	}
	cmd.AddCommand(
		&cobra.Command{
			Use:   "outline FILE",
			Short: "The definitions of one file as a tree",
			Args:  cobra.ExactArgs(1),
			RunE: func(c *cobra.Command, args []string) error {
				return viaTool(c, "outline", map[string]any{"path": args[0]})
			},
		},
		symbolsCmd,
		defsCmd,
		&cobra.Command{
			Use:   "refs NAME",
			Short: "The syntactic references to NAME",
			Args:  cobra.ExactArgs(1),
			RunE: func(c *cobra.Command, args []string) error {
				return viaTool(c, "find_references", map[string]any{"name": args[0], "limit": 100000})
			},
		},
		mapCmd,
		checkCmd,
	)
	return cmd
}

// printTool runs a tool on a fresh changeset and prints its text, or its
// structured data with --json.
func printTool(ctx context.Context, s *streams, ws *workspace.Workspace, name string, args any, asJSON bool) error {
	reg, err := tools.NewBuiltinRegistry()
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
		return writeJSON(s, res.Data)
	}
	_, err = io.WriteString(s.Out, ensureNewline(res.Text))
	return err
}

// runSymbols prints every definition of the index, as ctags lists tags,
// with a summary of the index build on stderr.
func runSymbols(ctx context.Context, s *streams, root string, asJSON, count bool) error {
	ws, err := workspace.New(root)
	if err != nil {
		return err
	}
	ix, err := codeindex.For(ws).Index(ctx)
	if err != nil {
		return err
	}
	st := ix.Stats()
	w := bufio.NewWriterSize(s.Out, 256<<10)
	switch {
	case count:
		fmt.Fprintf(w, "%d\n", st.Symbols)
	case asJSON:
		enc := json.NewEncoder(w)
		for _, f := range ix.Files() {
			for _, sym := range f.Symbols {
				if err := enc.Encode(analysis.Definition{Path: f.Path, Symbol: sym}); err != nil {
					return err
				}
			}
		}
	default:
		var line []byte
		for _, f := range ix.Files() {
			for _, sym := range f.Symbols {
				line = append(line[:0], f.Path...)
				line = append(line, ':')
				line = strconv.AppendInt(line, int64(sym.NameRange.Start.Line+1), 10)
				line = append(line, ' ')
				line = append(line, sym.Kind...)
				line = append(line, ' ')
				line = append(line, sym.Name...)
				line = append(line, '\n')
				if _, err := w.Write(line); err != nil {
					return err
				}
			}
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(s.Err, "%d definitions in %d files (%d parsed, %d from cache, %d skipped) in %s\n",
		st.Symbols, st.Files, st.Parsed, st.Reused, st.Skipped, st.Duration.Round(1e6))
	if st.CacheError != "" {
		fmt.Fprintf(s.Err, "index cache: %s\n", st.CacheError)
	}
	return nil
}
