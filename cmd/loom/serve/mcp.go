package serve

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"

	"github.com/spf13/cobra"

	"github.com/loom-agent/loom/agent"
	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/cmd/loom/internal/iostreams"
	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/mcp"
	"github.com/loom-agent/loom/session"
	"github.com/loom-agent/loom/thread"
	"github.com/loom-agent/loom/workspace"
)

// MCPOptions are what `loom mcp` needs.
type MCPOptions struct {
	IO        *iostreams.IOStreams
	Agent     func(cmdutil.AgentFlags, *workspace.Workspace) (*agent.Agent, error)
	ModelName func(cmdutil.AgentFlags) string
	// SampledAgent builds the agent on the MCP client's model.
	SampledAgent func(cmdutil.AgentFlags, *workspace.Workspace, llm.Provider) (*agent.Agent, error)
	OpenStore    func(db string, mode cmdutil.StoreMode) (*thread.Store, error)
	// Version is the version set at build time ("" reports "dev").
	Version string

	AgentFlags   cmdutil.AgentFlags
	Roots        []string
	HTTP         string
	Token        string
	NoAuth       bool
	AllowOrigins []string
	DB           string
	// Sampling runs loom_agent on the client's model even when a model is
	// configured.
	Sampling bool
	// HTTPFlags names the flags given that apply to --http only.
	HTTPFlags []string
}

// NewCmdMCP builds `loom mcp`; runF, when given, replaces the run.
func NewCmdMCP(f *cmdutil.Factory, runF func(*MCPOptions) error) *cobra.Command {
	opts := &MCPOptions{IO: f.IOStreams, Agent: f.Agent, ModelName: f.ModelName, OpenStore: f.OpenStore, Version: f.BuildVersion,
		SampledAgent: func(flags cmdutil.AgentFlags, ws *workspace.Workspace, p llm.Provider) (*agent.Agent, error) {
			reg, err := f.AgentTools(ws.Root())
			if err != nil {
				return nil, err
			}
			return f.AgentOn(flags, ws, p, "", reg)
		}}
	cmd := &cobra.Command{
		Use:   "mcp",
		Short: "Serve Loom's agent and tools over MCP (stdio, or streamable HTTP with --http)",
		Long: `Serve the Model Context Protocol so other agents and assistants can use Loom:
loom_agent runs the agent on a task and returns its summary and diff; the file
and code analysis tools run directly; edits are returned as diffs and written
only by apply_changes (or loom_agent with apply=true), atomically.

Over stdio (the default) stdout carries only protocol messages; logs go to
stderr. With --http the server listens on ADDR (127.0.0.1 when no host is
given) at path /mcp, and every request must carry a bearer token
("Authorization: Bearer TOKEN"): the one given by --token or
LOOM_MCP_TOKEN, else one generated at start and written to a file only you
can read, $XDG_RUNTIME_DIR/loom/mcp-HOST-PORT.token (else under
$XDG_STATE_HOME/loom or ~/.local/state/loom), whose path is printed on
stderr. --no-auth drops the token, on loopback only: any local user can
then use the server. A non-loopback address requires a given token.
Requests from browsers are refused unless their Origin is a loopback one or
given with --allow-origin. Sessions are issued by initialize, bound to the
token that opened them, and ended by DELETE.
On stdio a line that is not JSON-RPC, or is over 64 MiB, is answered with an
error and skipped; the session goes on.

The workspace is the --root folders, or the client's roots when it offers them.

Every loom_agent run is recorded as a thread in the thread database (--db, else
$LOOM_DB, else ~/.local/share/loom/threads.db); thread_id continues one, and the
threads_search and thread_show tools read them. If the database cannot be
opened the server runs without threads and says so on stderr.

Besides tools the server offers Loom's actions as prompts (fix, explain,
document, write_tests, edit; the file argument completed from the
workspace), the workspace's files (file://, within the roots, with
subscriptions), its threads (loom://threads/ID) and its repo map
(loom://repomap) as resources, and its logs as notifications/message at the
level a client sets. loom_ralph_start hands a long job to a Ralph loop
(loom ralph) that runs in this process, after consent (--allow-shell, or the
client's user through elicitation); loom_ralph_status and loom_ralph_stop
follow and stop it; loops still running when the server ends are cancelled
as by Ctrl-C. With no model configured, or with --sampling,
loom_agent runs on the client's own model through MCP sampling: the
client's model then sees the workspace's content that the agent reads.`,
		Example: `  loom mcp --root ~/src/project
  loom mcp --http :7777          # token in $XDG_RUNTIME_DIR/loom/mcp-127.0.0.1-7777.token
  LOOM_MCP_TOKEN=s3cret loom mcp --http 0.0.0.0:7777 --root /srv/repo`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.HTTPFlags = nil
			for _, name := range []string{"token", "no-auth", "allow-origin"} {
				if cmd.Flags().Changed(name) {
					opts.HTTPFlags = append(opts.HTTPFlags, name)
				}
			}
			if runF != nil {
				return runF(opts)
			}
			return mcpRun(cmd.Context(), opts)
		},
	}
	opts.AgentFlags.Register(cmd)
	cmd.Flags().StringSliceVar(&opts.Roots, "root", []string{"."}, "a workspace folder (repeat for several; paths resolve against the first)")
	cmd.Flags().StringVar(&opts.HTTP, "http", "", "serve streamable HTTP on ADDR (HOST:PORT or :PORT) instead of stdio")
	cmd.Flags().StringVar(&opts.Token, "token", "", "bearer token HTTP clients must send (env LOOM_MCP_TOKEN; default: generated, written to a file); required off loopback")
	cmd.Flags().BoolVar(&opts.NoAuth, "no-auth", false, "serve HTTP on loopback without a token: any local user can use the server")
	cmd.Flags().StringSliceVar(&opts.AllowOrigins, "allow-origin", nil, "a browser origin allowed besides loopback ones, such as https://app.example.com (repeat for several)")
	cmd.Flags().StringVar(&opts.DB, "db", "", "the thread database (env LOOM_DB)")
	cmd.Flags().BoolVar(&opts.Sampling, "sampling", false, "run loom_agent on the MCP client's model (sampling/createMessage) even when a model is configured")
	return cmd
}

func mcpRun(ctx context.Context, o *MCPOptions) error {
	if o.HTTP == "" {
		// LOOM_MCP_TOKEN may be set for an HTTP server elsewhere: stdio
		// ignores it, and refuses only flags given for HTTP.
		if len(o.HTTPFlags) > 0 {
			return &cmdutil.UsageError{Err: fmt.Errorf("--%s applies to --http only", o.HTTPFlags[0])}
		}
	} else if o.Token == "" {
		o.Token = os.Getenv("LOOM_MCP_TOKEN")
	}
	httpOpts := mcp.HTTPOptions{Token: o.Token, NoAuth: o.NoAuth, AllowOrigins: o.AllowOrigins}
	var addr string
	if o.HTTP != "" {
		var err error
		if addr, err = mcp.HTTPAddr(o.HTTP, httpOpts); err != nil {
			return &cmdutil.UsageError{Err: err}
		}
	}
	// A server without threads is still useful: loom_agent and the code
	// tools work, only recording and the thread tools are lost.
	st, dbErr := o.OpenStore(o.DB, cmdutil.ReadWrite)
	if dbErr != nil {
		slog.Warn("threads are not recorded, and the thread tools are not offered", "err", dbErr)
	} else {
		defer st.Close()
	}
	srv, err := mcp.New(mcp.Options{
		Roots:    o.Roots,
		Approver: o.AgentFlags.Policy(),
		Version:  o.Version,
		Logger:   slog.Default(),
		NewAgent: func(ws *workspace.Workspace) (session.Runner, error) {
			return o.Agent(o.AgentFlags, ws)
		},
		SampledAgent: func(ws *workspace.Workspace, p llm.Provider) (session.Runner, error) {
			return o.SampledAgent(o.AgentFlags, ws, p)
		},
		PreferSampling: o.Sampling,
		Sessions:       &session.Service{Store: st, StoreErr: dbErr, Log: slog.Default()},
		Model:          o.ModelName(o.AgentFlags),
	})
	if err != nil {
		return err
	}
	// The Ralph loops clients started end with the server, cleanly.
	defer srv.Close()
	// Every record of the process (the agent's, the session's) reaches the
	// clients that asked for log messages, as well as stderr.
	prev := slog.Default()
	slog.SetDefault(slog.New(srv.LogHandler(prev.Handler())))
	defer slog.SetDefault(prev)
	errOut := o.IO.ErrOut
	if o.HTTP == "" {
		return srv.ServeStdio(ctx, o.IO.In, o.IO.Out)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	switch {
	case o.NoAuth:
		fmt.Fprintf(errOut, "loom mcp: --no-auth: any local user can use this server\n")
	case httpOpts.Token == "":
		tf, err := mcp.WriteTokenFile(l.Addr())
		if err != nil {
			l.Close()
			return err
		}
		defer tf.Remove()
		httpOpts.Token = tf.Token
		// The path, never the token: stderr often ends up in logs.
		fmt.Fprintf(errOut, "loom mcp: token file %s (send Authorization: Bearer <its content>)\n", tf.Path)
	}
	// The URL goes to stderr whatever the log level: with port 0 it is the
	// only way to learn the port.
	fmt.Fprintf(errOut, "loom mcp: serving http://%s%s\n", l.Addr(), mcp.EndpointPath)
	return srv.ServeHTTP(ctx, l, httpOpts)
}
