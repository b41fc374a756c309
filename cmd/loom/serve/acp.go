package serve

import (
	"context"
	"errors"
	"log/slog"
	"slices"

	"github.com/spf13/cobra"

	"github.com/loom-agent/loom/acp"
	"github.com/loom-agent/loom/agent"
	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/cmd/loom/internal/iostreams"
	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/session"
	"github.com/loom-agent/loom/thread"
	"github.com/loom-agent/loom/tools"
	"github.com/loom-agent/loom/workspace"
)

// ACPOptions are what `loom acp` needs.
type ACPOptions struct {
	IO          *iostreams.IOStreams
	ModelConfig func(llm.Config) (llm.Config, error)
	AgentWith   func(f cmdutil.AgentFlags, ws *workspace.Workspace, model string, reg *tools.Registry) (*agent.Agent, error)
	// Tools are the tools sessions offer: Loom's own and the user's MCP
	// servers'.
	Tools     func(root string) (*tools.Registry, error)
	OpenStore func(db string, mode cmdutil.StoreMode) (*thread.Store, error)
	Version   func() string

	AgentFlags cmdutil.AgentFlags
	Models     []string
}

// NewCmdACP builds `loom acp`; runF, when given, replaces the run.
func NewCmdACP(f *cmdutil.Factory, runF func(*ACPOptions) error) *cobra.Command {
	opts := &ACPOptions{IO: f.IOStreams, ModelConfig: f.ModelConfig, AgentWith: f.AgentWith, OpenStore: f.OpenStore, Version: f.Version,
		Tools: f.AgentTools}
	cmd := &cobra.Command{
		Use:   "acp",
		Short: "Serve the Agent Client Protocol on stdin and stdout (Zed, JetBrains, codecompanion.nvim, avante.nvim)",
		Long: `Serve Loom to an editor over the Agent Client Protocol (version 1, stdio).

Each session works in the folder the editor names (session/new's cwd). Edits
are shown as diffs and written only after the user allows them, through the
editor when it offers file access (so unsaved buffers are read and written),
else to disk atomically. Commands run in the editor's terminal when it has
one, else with Loom's own shell if --allow-shell is given, after the user
allows each (or "always"). Sessions are kept in the thread database, so the
editor can load them again.

The session's model option offers the configured model and those given with
--models. Only protocol messages go to stdout; logs go to stderr. A line
that is not JSON-RPC, or is over 10 MiB (the ACP SDK's limit), is answered
with an error and skipped; the session goes on.`,
		Example: `  # Zed settings.json: "agent_servers": {"Loom": {"command": "loom", "args": ["acp"]}}
  LOOM_MODEL=gpt-4.1 loom acp --models gpt-4.1-mini,o4-mini --log-level info`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return acpRun(cmd.Context(), opts)
		},
	}
	opts.AgentFlags.Register(cmd)
	cmd.Flags().StringSliceVar(&opts.Models, "models", nil, "more models to offer in the session's model option (comma-separated)")
	return cmd
}

func acpRun(ctx context.Context, o *ACPOptions) error {
	// An editor starts the agent before the user configures anything: a
	// missing model is reported by session/new, with instructions.
	var models []string
	cfg, err := o.ModelConfig(o.AgentFlags.LLMConfig(o.AgentFlags.Model))
	switch {
	case err == nil:
		models = append(models, cfg.Model)
	case !errors.Is(err, llm.ErrNoModel):
		return err
	}
	for _, m := range o.Models {
		if m != "" && !slices.Contains(models, m) {
			models = append(models, m)
		}
	}
	store := openThreads(o)
	if store != nil {
		defer store.Close()
	}
	// Sessions name their folders as they open; the user's servers serve
	// them all.
	reg, err := o.Tools("")
	if err != nil {
		return err
	}
	srv, err := acp.New(acp.Options{
		Tools:      reg,
		Name:       "loom",
		Version:    o.Version(),
		Models:     models,
		AllowShell: o.AgentFlags.AllowShell,
		Sessions:   &session.Service{Store: store, Log: slog.Default()},
		Logger:     slog.Default(),
		NewAgent: func(c acp.AgentConfig) (session.Runner, error) {
			return newACPAgent(o, c)
		},
	})
	if err != nil {
		return err
	}
	return srv.Serve(ctx, o.IO.In, o.IO.Out)
}

// openThreads opens the thread database, or returns nil (sessions then
// live in memory and cannot be loaded again) when there is none to open.
func openThreads(o *ACPOptions) *thread.Store {
	st, err := o.OpenStore("", cmdutil.ReadWrite)
	if err != nil {
		slog.Warn("acp: no thread database; sessions cannot be loaded again", "err", err)
		return nil
	}
	return st
}

// newACPAgent builds the agent for a session as the other commands do,
// with the session's tools and model.
func newACPAgent(o *ACPOptions, c acp.AgentConfig) (*agent.Agent, error) {
	model := c.Model
	if model == "" {
		model = o.AgentFlags.Model
	}
	return o.AgentWith(o.AgentFlags, c.Workspace, model, c.Tools)
}
