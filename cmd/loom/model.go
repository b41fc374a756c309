package main

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/loom-agent/loom/agent"
	"github.com/loom-agent/loom/codeindex"
	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/tools"
	"github.com/loom-agent/loom/workspace"
)

// agentFlags are the flags of every command that runs the agent.
type agentFlags struct {
	provider   string
	model      string
	baseURL    string
	maxTurns   int
	maxTokens  int
	allowShell bool
	shell      string // --shell, for the commands a person runs: ask, always or never
}

func (f *agentFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.provider, "provider", "", "API the model speaks: "+strings.Join(llm.ProviderNames(), ", ")+" (env LOOM_PROVIDER; default "+llm.DefaultProvider+")")
	cmd.Flags().StringVar(&f.model, "model", "", "model name (env LOOM_MODEL)")
	cmd.Flags().StringVar(&f.baseURL, "base-url", "", "the provider's endpoint (env LOOM_BASE_URL, or OPENAI_BASE_URL / ANTHROPIC_BASE_URL)")
	cmd.Flags().IntVar(&f.maxTurns, "max-turns", agent.DefaultMaxTurns, "stop after this many model turns")
	cmd.Flags().IntVar(&f.maxTokens, "max-tokens", 0, "stop after this many tokens in the run (0: no limit)")
	cmd.Flags().BoolVar(&f.allowShell, "allow-shell", false, "let the agent run shell commands in the workspace without asking")
}

// registerShell adds --shell to a command a person runs at a terminal.
func (f *agentFlags) registerShell(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.shell, "shell", "", "may the agent run shell commands: ask (on the terminal; the default when there is one), always (as --allow-shell), never (the default otherwise)")
}

// newAgent builds the agent for a workspace from flags, environment and
// config file. With no model configured it returns llm.ErrNoModel's
// instructions.
func newAgent(f agentFlags, ws *workspace.Workspace) (*agent.Agent, error) {
	reg, err := tools.NewBuiltinRegistry()
	if err != nil {
		return nil, err
	}
	return buildAgent(f, ws, f.model, reg)
}

// buildAgent builds the agent with a given model (empty: the configured
// one) and tool registry, as a protocol session may choose them. Which
// commands it may run is each run's approver's to say.
func buildAgent(f agentFlags, ws *workspace.Workspace, model string, reg *tools.Registry) (*agent.Agent, error) {
	cfg, err := llm.LoadConfig(f.llmConfig(model))
	if err != nil {
		return nil, err
	}
	provider, err := llm.New(cfg)
	if err != nil {
		return nil, err
	}
	return agent.New(agent.Options{
		Provider:  provider,
		Model:     cfg.Model,
		Tools:     reg,
		MaxTurns:  f.maxTurns,
		MaxTokens: f.maxTokens,
		Logger:    slog.Default(),
		RepoMap:   repoMapFor(ws),
	})
}

// modelName is the model a run will use, for the thread record.
func modelName(f agentFlags) string {
	cfg, err := llm.LoadConfig(f.llmConfig(f.model))
	if err != nil {
		return ""
	}
	return cfg.Model
}

// llmConfig is what the flags say of the model configuration, with a given
// model (empty: the configured one); llm.LoadConfig fills in the rest.
func (f agentFlags) llmConfig(model string) llm.Config {
	return llm.Config{Provider: f.provider, Model: model, BaseURL: f.baseURL}
}

// repoMapFor returns the agent's repo map source for a workspace: the map
// of the index its tools and the LSP server share (codeindex), within a
// budget, or nothing if it takes too long (a first, uncached index of a
// huge tree must not hold up the run).
func repoMapFor(ws *workspace.Workspace) func(ctx context.Context, focus []string) string {
	return func(ctx context.Context, focus []string) string {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		m, err := codeindex.For(ws).RepoMap(ctx, ws.NewChangeset(), focus, tools.DefaultRepoMapTokens)
		if err != nil {
			slog.Debug("repo map unavailable", "err", err)
			return ""
		}
		return m
	}
}
