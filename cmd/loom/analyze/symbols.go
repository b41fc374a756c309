package analyze

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/loom-agent/loom/analysis"
	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/cmd/loom/internal/iostreams"
	"github.com/loom-agent/loom/codeindex"
	"github.com/loom-agent/loom/workspace"
)

// SymbolsOptions are what `loom analyze symbols` needs.
type SymbolsOptions struct {
	IO        *iostreams.IOStreams
	Workspace func(root string) (*workspace.Workspace, error)

	Root  string
	JSON  bool
	Count bool // only the summary
}

// NewCmdSymbols builds `loom analyze symbols`; runF, when given, replaces
// the run.
func NewCmdSymbols(f *cmdutil.Factory, runF func(*SymbolsOptions) error) *cobra.Command {
	opts := &SymbolsOptions{IO: f.IOStreams, Workspace: f.Workspace}
	cmd := &cobra.Command{
		Use:   "symbols [DIR]",
		Short: "Every definition in the workspace (DIR, default the root), one per line",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Root, opts.JSON = groupFlags(c)
			if len(args) == 1 {
				opts.Root = args[0]
			}
			if runF != nil {
				return runF(opts)
			}
			return symbolsRun(c.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Count, "count", false, "build or refresh the index and print only its summary")
	return cmd
}

// symbolsRun prints every definition of the index, as ctags lists tags,
// with a summary of the index build on stderr.
func symbolsRun(ctx context.Context, opts *SymbolsOptions) error {
	ws, err := opts.Workspace(opts.Root)
	if err != nil {
		return err
	}
	ix, err := codeindex.For(ws).Index(ctx)
	if err != nil {
		return err
	}
	st := ix.Stats()
	w := bufio.NewWriterSize(opts.IO.Out, 256<<10)
	switch {
	case opts.Count:
		fmt.Fprintf(w, "%d\n", st.Symbols)
	case opts.JSON:
		enc := json.NewEncoder(w)
		for _, f := range ix.Files() {
			for _, sym := range f.Symbols {
				if err := enc.Encode(analysis.Definition{Path: f.Path, Symbol: sym}); err != nil {
					return err
				}
			}
		}
	default:
		if err := listSymbols(w, ix); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	errOut := opts.IO.ErrOut
	fmt.Fprintf(errOut, "%d definitions in %d files (%d parsed, %d from cache, %d skipped) in %s\n",
		st.Symbols, st.Files, st.Parsed, st.Reused, st.Skipped, st.Duration.Round(1e6))
	if st.CacheError != "" {
		fmt.Fprintf(errOut, "index cache: %s\n", st.CacheError)
	}
	return nil
}

// listSymbols prints every definition as `path:line kind name`: the
// listing kept beside the index cache when it is of this index, else read
// from the cache's bodies without decoding them, and kept for next time.
func listSymbols(w io.Writer, ix *analysis.Index) error {
	path, key := listingPath(ix)
	if path != "" {
		if ok, err := copyKeptListing(w, path, key); ok || err != nil {
			return err
		}
	}
	var keep *listingKeeper
	if path != "" {
		keep = newListingKeeper(path, key)
		w = io.MultiWriter(w, keep)
	}
	var line []byte
	err := ix.ListDefinitions(func(path string, defs []analysis.Brief) error {
		for _, d := range defs {
			line = append(line, path...)
			line = append(line, ':')
			line = strconv.AppendInt(line, int64(d.Line+1), 10)
			line = append(line, ' ')
			line = append(line, d.Kind...)
			line = append(line, ' ')
			line = append(line, d.Name...)
			line = append(line, '\n')
		}
		_, err := w.Write(line)
		line = line[:0]
		return err
	})
	if keep != nil {
		keep.finish(err == nil)
	}
	return err
}
