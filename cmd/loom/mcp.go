package main

import (
	"fmt"
	"log/slog"
	"net"
	"os"

	"github.com/spf13/cobra"

	"github.com/loom-agent/loom/mcp"
	"github.com/loom-agent/loom/workspace"
)

func init() { subcommands = append(subcommands, newMCPCmd) }

type mcpOptions struct {
	agentFlags
	roots []string
	http  string
	token string
	db    string
}

func newMCPCmd(s *streams) *cobra.Command {
	var o mcpOptions
	cmd := &cobra.Command{
		Use:   "mcp",
		Short: "Serve Loom's agent and tools over MCP (stdio, or streamable HTTP with --http)",
		Long: `Serve the Model Context Protocol so other agents and assistants can use Loom:
loom_agent runs the agent on a task and returns its summary and diff; the file
and code analysis tools run directly; edits are returned as diffs and written
only by apply_changes (or loom_agent with apply=true), atomically.

Over stdio (the default) stdout carries only protocol messages; logs go to
stderr. With --http the server listens on ADDR (127.0.0.1 when no host is
given) at path /mcp; a non-loopback address requires a bearer token.
On stdio a line that is not JSON-RPC, or is over 64 MiB, is answered with an
error and skipped; the session goes on.

The workspace is the --root folders, or the client's roots when it offers them.

Every loom_agent run is recorded as a thread in the thread database (--db, else
$LOOM_DB, else ~/.local/share/loom/threads.db); thread_id continues one, and the
threads_search and thread_show tools read them. If the database cannot be
opened the server runs without threads and says so on stderr.`,
		Example: `  loom mcp --root ~/src/project
  loom mcp --http :7777
  LOOM_MCP_TOKEN=s3cret loom mcp --http 0.0.0.0:7777 --root /srv/repo`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runMCP(cmd, s, o)
		},
	}
	o.agentFlags.register(cmd)
	cmd.Flags().StringSliceVar(&o.roots, "root", []string{"."}, "a workspace folder (repeat for several; paths resolve against the first)")
	cmd.Flags().StringVar(&o.http, "http", "", "serve streamable HTTP on ADDR (HOST:PORT or :PORT) instead of stdio")
	cmd.Flags().StringVar(&o.token, "token", "", "bearer token HTTP clients must send (env LOOM_MCP_TOKEN); required off loopback")
	cmd.Flags().StringVar(&o.db, "db", "", "the thread database (env LOOM_DB)")
	return cmd
}

func runMCP(cmd *cobra.Command, s *streams, o mcpOptions) error {
	if o.token == "" {
		o.token = os.Getenv("LOOM_MCP_TOKEN")
	}
	if o.token != "" && o.http == "" {
		return &usageError{fmt.Errorf("--token applies to --http only")}
	}
	// A server without threads is still useful: loom_agent and the code
	// tools work, only recording and the thread tools are lost.
	st, dbErr := openStore(o.db)
	if dbErr != nil {
		slog.Warn("threads are not recorded, and the thread tools are not offered", "err", dbErr)
	} else {
		defer st.Close()
	}
	srv, err := mcp.New(mcp.Options{
		Roots:      o.roots,
		AllowShell: o.allowShell,
		Version:    version,
		Logger:     slog.Default(),
		NewAgent: func(ws *workspace.Workspace) (mcp.Runner, error) {
			return newAgent(o.agentFlags, ws)
		},
		Threads:    st,
		ThreadsErr: dbErr,
		Model:      modelName(o.agentFlags),
	})
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	if o.http == "" {
		return srv.ServeStdio(ctx, s.In, s.Out)
	}
	addr, err := mcp.HTTPAddr(o.http, o.token)
	if err != nil {
		return &usageError{err}
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	// The URL goes to stderr whatever the log level: with port 0 it is the
	// only way to learn the port.
	fmt.Fprintf(s.Err, "loom mcp: serving http://%s%s\n", l.Addr(), mcp.EndpointPath)
	return srv.ServeHTTP(ctx, l, o.token)
}
