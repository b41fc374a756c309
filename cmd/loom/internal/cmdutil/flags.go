package cmdutil

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/loom-agent/loom/agent"
	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/tools"
)

// AgentFlags are the flags of every command that runs the agent.
type AgentFlags struct {
	Provider   string
	Model      string
	BaseURL    string
	MaxTurns   int
	MaxTokens  int
	AllowShell bool
	// Shell is --shell, for the commands a person runs: ask, always or
	// never ("" chooses by the terminal).
	Shell string
}

// Register adds the flags to cmd.
func (f *AgentFlags) Register(cmd *cobra.Command) {
	f.RegisterModel(cmd)
	cmd.Flags().IntVar(&f.MaxTurns, "max-turns", agent.DefaultMaxTurns, "stop after this many model turns")
	cmd.Flags().IntVar(&f.MaxTokens, "max-tokens", 0, "stop after this many tokens in the run (0: no limit)")
	cmd.Flags().BoolVar(&f.AllowShell, "allow-shell", false, "let the agent run shell commands in the workspace without asking")
}

// RegisterModel adds the flags that choose the model.
func (f *AgentFlags) RegisterModel(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.Provider, "provider", "", "API the model speaks: "+strings.Join(llm.ProviderNames(), ", ")+" (env LOOM_PROVIDER; default "+llm.DefaultProvider+")")
	cmd.Flags().StringVar(&f.Model, "model", "", "model name (env LOOM_MODEL)")
	cmd.Flags().StringVar(&f.BaseURL, "base-url", "", "the provider's endpoint (env LOOM_BASE_URL, or OPENAI_BASE_URL / ANTHROPIC_BASE_URL)")
}

// RegisterShell adds --shell to a command a person runs at a terminal.
func (f *AgentFlags) RegisterShell(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.Shell, "shell", "", "may the agent run shell commands: ask (on the terminal; the default when there is one), always (as --allow-shell), never (the default otherwise)")
}

// LLMConfig is what the flags say of the model configuration, with a given
// model (empty: the configured one); llm.LoadConfig fills in the rest.
func (f AgentFlags) LLMConfig(model string) llm.Config {
	return llm.Config{Provider: f.Provider, Model: model, BaseURL: f.BaseURL}
}

// Policy is the approver of a server, which has nobody to ask:
// --allow-shell allows every command, else none is offered.
func (f AgentFlags) Policy() tools.Approver {
	if f.AllowShell {
		return tools.AlwaysApprove
	}
	return nil
}
