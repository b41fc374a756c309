package serve

import (
	"context"
	"io"
	"log/slog"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/loom-agent/loom/agent"
	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/cmd/loom/internal/iostreams"
	"github.com/loom-agent/loom/lsp"
	"github.com/loom-agent/loom/session"
	"github.com/loom-agent/loom/thread"
	"github.com/loom-agent/loom/workspace"
)

// LSPOptions are what `loom lsp` needs.
type LSPOptions struct {
	IO        *iostreams.IOStreams
	Agent     func(cmdutil.AgentFlags, *workspace.Workspace) (*agent.Agent, error)
	ModelName func(cmdutil.AgentFlags) string
	OpenStore func(db string, mode cmdutil.StoreMode) (*thread.Store, error)
	Version   func() string

	AgentFlags cmdutil.AgentFlags
	DB         string
}

// NewCmdLSP builds `loom lsp`; runF, when given, replaces the run.
func NewCmdLSP(f *cmdutil.Factory, runF func(*LSPOptions) error) *cobra.Command {
	opts := &LSPOptions{IO: f.IOStreams, Agent: f.Agent, ModelName: f.ModelName, OpenStore: f.OpenStore, Version: f.Version}
	cmd := &cobra.Command{
		Use:   "lsp",
		Short: "Serve the Language Server Protocol on stdin and stdout",
		Long: `Serve Loom to an editor over the Language Server Protocol (stdio).

The editor gets "Loom: …" code actions (Fix, Explain, Add documentation,
Write tests, Edit with instruction…), each running the agent through the
loom.run command with progress; the agent's edits come back as a workspace
edit that the editor applies to its buffers; nothing is written to disk by
the server. Also: document symbols, workspace symbols, go to definition and
syntax diagnostics, from tree-sitter.

The workspace root is the folder the editor opens (initialize's
workspaceFolders or rootUri), else the current directory. Logs go to stderr.
A message that is not JSON-RPC, or whose body is over 64 MiB, is answered
with an error and skipped; the session goes on.

Every loom.run is recorded as a thread in the thread database (--db, else
$LOOM_DB, else ~/.local/share/loom/threads.db); its threadId argument
continues one, and the loom.searchThreads and loom.showThread commands read
them. If the database cannot be opened the server runs without threads.`,
		Example: `  # Neovim 0.7: vim.lsp.start_client{cmd = {"loom", "lsp"}, root_dir = vim.fn.getcwd()}
  LOOM_MODEL=gpt-4.1 loom lsp --log-level info`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return lspRun(cmd.Context(), opts)
		},
	}
	opts.AgentFlags.Register(cmd)
	cmd.Flags().StringVar(&opts.DB, "db", "", "the thread database (env LOOM_DB)")
	return cmd
}

func lspRun(ctx context.Context, opts *LSPOptions) error {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(lsp.GCPercent)
	}
	f := opts.AgentFlags
	// Editors start the server with the project; a broken thread
	// database must not cost the user the code actions.
	st, dbErr := opts.OpenStore(opts.DB, cmdutil.ReadWrite)
	if dbErr != nil {
		slog.Warn("threads are not recorded, and the thread commands are not offered", "err", dbErr)
	} else {
		defer st.Close()
	}
	srv := lsp.New(lsp.Options{
		NewAgent: func(ws *workspace.Workspace) (session.Runner, error) { return opts.Agent(f, ws) },
		Approver: f.Policy(),
		Logger:   slog.Default(),
		Version:  opts.Version(),
		Sessions: &session.Service{Store: st, StoreErr: dbErr, Log: slog.Default()},
		Model:    opts.ModelName(f),
	})
	err := srv.Serve(ctx, stdio{opts.IO.In, opts.IO.Out})
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	}
	return &cmdutil.ExitError{Code: cmdutil.ExitFailure, Err: err}
}

// stdio joins the process's stdin and stdout into the server's connection.
type stdio struct {
	io.Reader
	io.Writer
}

// Close closes stdin, if it can be closed, so a blocked read ends; stdout
// stays open for the last words of the process.
func (c stdio) Close() error {
	if cl, ok := c.Reader.(io.Closer); ok {
		return cl.Close()
	}
	return nil
}
