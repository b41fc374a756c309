package threads

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/cmd/loom/internal/iostreams"
	"github.com/loom-agent/loom/thread"
)

// SearchOptions are what `loom threads search` needs.
type SearchOptions struct {
	IO        *iostreams.IOStreams
	OpenStore func(db string, mode cmdutil.StoreMode) (*thread.Store, error)

	DB     string
	Query  string
	JSON   bool
	Filter FilterFlags
}

// NewCmdSearch builds `loom threads search`; runF, when given, replaces the
// run.
func NewCmdSearch(f *cmdutil.Factory, runF func(*SearchOptions) error) *cobra.Command {
	opts := &SearchOptions{IO: f.IOStreams, OpenStore: f.OpenStore}
	cmd := &cobra.Command{
		Use:   "search QUERY",
		Short: "Search thread titles, messages and tool names (best match first)",
		Long: `Search thread titles, messages and tool names, best match first (BM25).
The query is SQLite FTS5 syntax: words (all must match), "exact phrases",
prefix*, OR, NOT, title:/body:/tools: column filters. A query that is not
valid FTS5 is searched as plain words. Without --workspace it searches the
threads of every workspace (MCP clients of loom mcp see only the threads of
its own workspace roots).`,
		Example: `  loom threads search tokenizer
  loom threads search 'pars* "empty input"' --workspace .`,
		Args: cmdutil.UsageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.DB, opts.Query = dbFlag(cmd), strings.Join(args, " ")
			if runF != nil {
				return runF(opts)
			}
			return searchRun(cmd.Context(), opts)
		},
	}
	addFilterFlags(cmd, &opts.JSON, &opts.Filter)
	return cmd
}

func searchRun(ctx context.Context, opts *SearchOptions) error {
	flt, err := opts.Filter.filter()
	if err != nil {
		return err
	}
	return withStore(opts.OpenStore, opts.DB, cmdutil.ReadOnly, func(st *thread.Store) error {
		hits, err := st.Search(ctx, opts.Query, flt)
		if errors.Is(err, thread.ErrBadQuery) {
			return &cmdutil.UsageError{Err: err}
		}
		if err != nil {
			return err
		}
		if opts.JSON {
			return cmdutil.WriteJSON(opts.IO.Out, cmdutil.NonNil(hits))
		}
		ts := make([]thread.Thread, len(hits))
		for i, h := range hits {
			ts[i] = h.Thread
		}
		short := cmdutil.ShortIDs(ctx, st, ts)
		for _, h := range hits {
			t := h.Thread
			fmt.Fprintf(opts.IO.Out, "%s  %s  %s  %s\n    %s\n", short(t.ID), t.Updated.Local().Format("2006-01-02 15:04"), t.Status, t.Title, h.Snippet)
		}
		if len(hits) == 0 {
			fmt.Fprintln(opts.IO.ErrOut, "No matches.")
		}
		return nil
	})
}
