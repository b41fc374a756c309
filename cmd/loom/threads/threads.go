// Package threads is `loom threads`: list, search, show, export and delete
// the recorded agent threads.
package threads

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/thread"
)

// NewCmdThreads builds the `loom threads` group, with its persistent --db.
func NewCmdThreads(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "threads",
		Short: "List, show, search, export and delete recorded agent threads",
		Long: `Every agent run is recorded as a thread in a SQLite database shared by all
Loom processes: --db, else $LOOM_DB, else $XDG_DATA_HOME/loom/threads.db, else
~/.local/share/loom/threads.db (the home folder is taken from the user
database when $HOME is unset). IDs may be shortened to any unique prefix.`,
		Args: cmdutil.UsageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	AddDBFlag(cmd)
	cmd.AddCommand(
		NewCmdList(f, nil),
		NewCmdSearch(f, nil),
		NewCmdShow(f, nil),
		NewCmdExport(f, nil),
		NewCmdRm(f, nil),
	)
	return cmd
}

// AddDBFlag adds --db to the group, for every subcommand to inherit.
func AddDBFlag(group *cobra.Command) {
	group.PersistentFlags().String("db", "", "the thread database (env "+thread.EnvDB+")")
}

// dbFlag is the --db a subcommand inherits from its group ("" without).
func dbFlag(cmd *cobra.Command) string {
	if fl := cmd.Flags().Lookup("db"); fl != nil {
		return fl.Value.String()
	}
	return ""
}

// withStore opens the thread database at db (read-only or not) and runs fn.
func withStore(open func(string, cmdutil.StoreMode) (*thread.Store, error), db string, mode cmdutil.StoreMode, fn func(*thread.Store) error) error {
	st, err := open(db, mode)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(st)
}

// FilterFlags are the filters of list and search.
type FilterFlags struct {
	Workspace string
	Status    string
	Since     string
	Limit     int
}

func addFilterFlags(cmd *cobra.Command, asJSON *bool, f *FilterFlags) {
	cmd.Flags().BoolVar(asJSON, "json", false, "print JSON")
	cmd.Flags().StringVar(&f.Workspace, "workspace", "", "only threads of this workspace root (. for the current folder)")
	cmd.Flags().StringVar(&f.Status, "status", "", "only threads with this status: "+joinStatuses())
	cmd.Flags().StringVar(&f.Since, "since", "", "only threads updated since: a duration (36h, 7d) or a date (2026-01-31)")
	cmd.Flags().IntVar(&f.Limit, "limit", thread.DefaultLimit, "at most this many threads")
}

func joinStatuses() string {
	var names []string
	for _, st := range thread.Statuses {
		names = append(names, string(st))
	}
	return strings.Join(names, ", ")
}

// filter checks the flags (a mistake is a usage error) and makes them the
// store's filter.
func (f FilterFlags) filter() (thread.Filter, error) {
	flt, err := f.parse()
	if err != nil {
		return flt, &cmdutil.UsageError{Err: err}
	}
	return flt, nil
}

func (f FilterFlags) parse() (thread.Filter, error) {
	flt := thread.Filter{Status: thread.Status(f.Status), Limit: f.Limit}
	if f.Status != "" && !flt.Status.Valid() {
		return flt, fmt.Errorf("--status %q: want one of %s", f.Status, joinStatuses())
	}
	if f.Limit < 0 {
		return flt, fmt.Errorf("--limit %d: want a positive number", f.Limit)
	}
	if f.Workspace != "" {
		// Threads record the root with symlinks resolved, as the
		// workspace package gives it.
		abs, err := filepath.Abs(f.Workspace)
		if err != nil {
			return flt, fmt.Errorf("--workspace: %w", err)
		}
		if real, err := filepath.EvalSymlinks(abs); err == nil {
			abs = real
		}
		flt.Workspace = abs
	}
	if f.Since != "" {
		t, err := thread.ParseSince(f.Since, time.Now())
		if err != nil {
			return flt, fmt.Errorf("--%w", err)
		}
		flt.Since = t
	}
	return flt, nil
}
