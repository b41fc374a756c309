package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/loom-agent/loom/session"
	"github.com/loom-agent/loom/thread"
	"github.com/loom-agent/loom/workspace"
)

func init() { subcommands = append(subcommands, newThreadsCmd) }

// threadsFlags are shared by the threads subcommands.
type threadsFlags struct {
	db     string
	asJSON bool
	// Filters of list and search.
	workspace string
	status    string
	since     string
	limit     int
}

func newThreadsCmd(s *streams) *cobra.Command {
	var f threadsFlags
	cmd := &cobra.Command{
		Use:   "threads",
		Short: "List, show, search, export and delete recorded agent threads",
		Long: `Every agent run is recorded as a thread in a SQLite database shared by all
Loom processes: --db, else $LOOM_DB, else $XDG_DATA_HOME/loom/threads.db, else
~/.local/share/loom/threads.db (the home folder is taken from the user
database when $HOME is unset). IDs may be shortened to any unique prefix.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.PersistentFlags().StringVar(&f.db, "db", "", "the thread database (env "+thread.EnvDB+")")

	list := &cobra.Command{
		Use:   "list",
		Short: "List threads, most recently updated first",
		Example: `  loom threads list
  loom threads list --workspace . --since 7d --status failed`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(f, reading, func(st *thread.Store, flt thread.Filter) error {
				ts, err := st.List(cmd.Context(), flt)
				if err != nil {
					return err
				}
				if f.asJSON {
					return writeJSON(s, nonNil(ts))
				}
				tw := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
				for _, t := range ts {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%d turns\t%s\n", t.ID, t.Updated.Local().Format("2006-01-02 15:04"), t.Status, t.TurnCount, t.Title)
				}
				if len(ts) == 0 {
					fmt.Fprintln(s.Err, "No threads.")
				}
				return tw.Flush()
			})
		},
	}
	addFilterFlags(list, &f)

	search := &cobra.Command{
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
		Args: usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(f, reading, func(st *thread.Store, flt thread.Filter) error {
				hits, err := st.Search(cmd.Context(), strings.Join(args, " "), flt)
				if errors.Is(err, thread.ErrBadQuery) {
					return &usageError{err}
				}
				if err != nil {
					return err
				}
				if f.asJSON {
					return writeJSON(s, nonNil(hits))
				}
				for _, h := range hits {
					t := h.Thread
					fmt.Fprintf(s.Out, "%s  %s  %s  %s\n    %s\n", t.ID, t.Updated.Local().Format("2006-01-02 15:04"), t.Status, t.Title, h.Snippet)
				}
				if len(hits) == 0 {
					fmt.Fprintln(s.Err, "No matches.")
				}
				return nil
			})
		},
	}
	addFilterFlags(search, &f)

	var showDiff bool
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Print a thread: its facts, messages, tool calls and results, and diff",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if showDiff {
				return printStagedDiff(cmd.Context(), s, f, args[0])
			}
			format := thread.FormatMarkdown
			if f.asJSON {
				format = thread.FormatJSON
			}
			return exportThread(cmd.Context(), s, f, args[0], format)
		},
	}
	show.Flags().BoolVar(&f.asJSON, "json", false, "print the thread as JSON")
	show.Flags().BoolVar(&showDiff, "diff", false, "print only the edits the thread staged and nobody applied, as a unified diff (loom apply writes them)")

	var formatName string
	export := &cobra.Command{
		Use:   "export ID",
		Short: "Write a thread as Markdown or JSON on stdout",
		Example: `  loom threads export 1ngpcmpja5 > thread.md
  loom threads export 1ngp --format json | jq '.turns[].messages[].role'`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := thread.ParseFormat(formatName)
			if err != nil {
				return &usageError{err}
			}
			return exportThread(cmd.Context(), s, f, args[0], format)
		},
	}
	export.Flags().StringVar(&formatName, "format", "markdown", "markdown or json")

	rm := &cobra.Command{
		Use:   "rm ID...",
		Short: "Delete threads",
		Args:  usageArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(f, writing, func(st *thread.Store, _ thread.Filter) error {
				for _, arg := range args {
					id, err := st.Resolve(cmd.Context(), arg)
					if err != nil {
						return err
					}
					if err := st.Delete(cmd.Context(), id); err != nil {
						return err
					}
					fmt.Fprintf(s.Err, "Deleted %s.\n", id)
				}
				return nil
			})
		},
	}
	cmd.AddCommand(list, search, show, export, rm)
	return cmd
}

func addFilterFlags(cmd *cobra.Command, f *threadsFlags) {
	cmd.Flags().BoolVar(&f.asJSON, "json", false, "print JSON")
	cmd.Flags().StringVar(&f.workspace, "workspace", "", "only threads of this workspace root (. for the current folder)")
	cmd.Flags().StringVar(&f.status, "status", "", "only threads with this status: "+joinStatuses())
	cmd.Flags().StringVar(&f.since, "since", "", "only threads updated since: a duration (36h, 7d) or a date (2026-01-31)")
	cmd.Flags().IntVar(&f.limit, "limit", thread.DefaultLimit, "at most this many threads")
}

func joinStatuses() string {
	var names []string
	for _, st := range thread.Statuses {
		names = append(names, string(st))
	}
	return strings.Join(names, ", ")
}

// Whether a threads command writes to the database: one that only reads
// can list a database it may not write (see thread.OpenForReading).
const (
	reading = false
	writing = true
)

// withStore checks the filter flags, opens the database and runs fn.
func withStore(f threadsFlags, writes bool, fn func(*thread.Store, thread.Filter) error) error {
	flt, err := f.filter()
	if err != nil {
		return &usageError{err}
	}
	open := thread.OpenForReading
	if writes {
		open = thread.Open
	}
	st, err := openStoreWith(f.db, open)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(st, flt)
}

// openStore opens the thread database at db, or at its default place
// (LOOM_DB, then the user's data folder) when db is empty.
func openStore(db string) (*thread.Store, error) { return openStoreWith(db, thread.Open) }

// openStoreWith opens the thread database as openStore does, with open
// (thread.Open or thread.OpenForReading).
func openStoreWith(db string, open func(string) (*thread.Store, error)) (*thread.Store, error) {
	if db == "" {
		var err error
		if db, err = thread.DefaultPath(); err != nil {
			return nil, err
		}
	}
	return open(db)
}

func (f threadsFlags) filter() (thread.Filter, error) {
	flt := thread.Filter{Status: thread.Status(f.status), Limit: f.limit}
	if f.status != "" && !flt.Status.Valid() {
		return flt, fmt.Errorf("--status %q: want one of %s", f.status, joinStatuses())
	}
	if f.limit < 0 {
		return flt, fmt.Errorf("--limit %d: want a positive number", f.limit)
	}
	if f.workspace != "" {
		// Threads record the root with symlinks resolved, as the
		// workspace package gives it.
		abs, err := filepath.Abs(f.workspace)
		if err != nil {
			return flt, fmt.Errorf("--workspace: %w", err)
		}
		if real, err := filepath.EvalSymlinks(abs); err == nil {
			abs = real
		}
		flt.Workspace = abs
	}
	if f.since != "" {
		t, err := thread.ParseSince(f.since, time.Now())
		if err != nil {
			return flt, fmt.Errorf("--%w", err)
		}
		flt.Since = t
	}
	return flt, nil
}

func exportThread(ctx context.Context, s *streams, f threadsFlags, arg string, format thread.Format) error {
	return withStore(f, reading, func(st *thread.Store, _ thread.Filter) error {
		id, err := st.Resolve(ctx, arg)
		if err != nil {
			return err
		}
		return st.Export(ctx, s.Out, id, format)
	})
}

// printStagedDiff prints the edits thread arg staged and nobody applied.
func printStagedDiff(ctx context.Context, s *streams, f threadsFlags, arg string) error {
	return withStore(f, reading, func(st *thread.Store, _ thread.Filter) error {
		id, err := st.Resolve(ctx, arg)
		if err != nil {
			return err
		}
		t, err := st.Get(ctx, id)
		if err != nil {
			return err
		}
		if len(t.Changes) == 0 {
			fmt.Fprintf(s.Err, "Thread %s has no unapplied edits.\n", id)
			return nil
		}
		diff, err := workspace.RenderDiff(t.Changes)
		if err != nil {
			return err
		}
		fmt.Fprint(s.Out, diff)
		return nil
	})
}

// usageArgs makes a wrong number of arguments a usage error (exit 2).
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return &usageError{err}
		}
		return nil
	}
}

// nonNil makes an empty result print as [] rather than null.
func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

// runSession opens the thread database (db, else the default path) for a
// run, and resolves threadArg (an ID or unique prefix) when given. A run
// that cannot be recorded still runs, unless it was asked to continue a
// thread: then the error is returned. done closes the database.
func runSession(ctx context.Context, db, threadArg string) (svc *session.Service, id string, done func(), err error) {
	st, err := openStore(db)
	switch {
	case err != nil && threadArg != "":
		return nil, "", nil, err
	case err != nil:
		slog.Warn("not recording this run as a thread", "err", err)
		return &session.Service{}, "", func() {}, nil
	}
	if threadArg != "" {
		if id, err = st.Resolve(ctx, threadArg); err != nil {
			st.Close()
			return nil, "", nil, err
		}
	}
	return &session.Service{Store: st}, id, func() { st.Close() }, nil
}
