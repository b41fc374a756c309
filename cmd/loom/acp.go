package main

import (
	"errors"
	"log/slog"
	"slices"

	"github.com/spf13/cobra"

	"github.com/loom-agent/loom/acp"
	"github.com/loom-agent/loom/agent"
	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/session"
	"github.com/loom-agent/loom/thread"
)

func init() { subcommands = append(subcommands, newACPCmd) }

type acpOptions struct {
	agentFlags
	models []string
}

func newACPCmd(s *streams) *cobra.Command {
	var o acpOptions
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
			return runACP(cmd, s, o)
		},
	}
	o.agentFlags.register(cmd)
	cmd.Flags().StringSliceVar(&o.models, "models", nil, "more models to offer in the session's model option (comma-separated)")
	return cmd
}

func runACP(cmd *cobra.Command, s *streams, o acpOptions) error {
	// An editor starts the agent before the user configures anything: a
	// missing model is reported by session/new, with instructions.
	var models []string
	cfg, err := llm.LoadConfig(o.llmConfig(o.model))
	switch {
	case err == nil:
		models = append(models, cfg.Model)
	case !errors.Is(err, llm.ErrNoModel):
		return err
	}
	for _, m := range o.models {
		if m != "" && !slices.Contains(models, m) {
			models = append(models, m)
		}
	}
	store := openThreads()
	if store != nil {
		defer store.Close()
	}
	srv, err := acp.New(acp.Options{
		Name:       "loom",
		Version:    loomVersion(),
		Models:     models,
		AllowShell: o.allowShell,
		Sessions:   &session.Service{Store: store, Log: slog.Default()},
		Logger:     slog.Default(),
		NewAgent: func(c acp.AgentConfig) (session.Runner, error) {
			return newACPAgent(o.agentFlags, c)
		},
	})
	if err != nil {
		return err
	}
	return srv.Serve(cmd.Context(), s.In, s.Out)
}

// openThreads opens the thread database, or returns nil (sessions then
// live in memory and cannot be loaded again) when there is none to open.
func openThreads() *thread.Store {
	st, err := openStore("")
	if err != nil {
		slog.Warn("acp: no thread database; sessions cannot be loaded again", "err", err)
		return nil
	}
	return st
}

// newACPAgent builds the agent for a session as newAgent does, with the
// session's tools and model.
func newACPAgent(f agentFlags, c acp.AgentConfig) (*agent.Agent, error) {
	model := c.Model
	if model == "" {
		model = f.model
	}
	return buildAgent(f, c.Workspace, model, c.Tools)
}
