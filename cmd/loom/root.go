package main

import (
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/loom-agent/loom/agent"
)

func newRootCmd(s *streams) *cobra.Command {
	var logLevel string
	root := &cobra.Command{
		Use:   "loom",
		Short: "Loom is an AI coding agent for editors, agents and terminals",
		Long: `Loom is an AI coding agent. Editors reach it over LSP, assistants and other
agents over MCP, and people at a terminal through its commands. Every edit is
staged in a changeset, shown as a diff and applied to disk only on request.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return setupLogging(s, logLevel)
		},
		// Alone on a terminal, loom starts the REPL; otherwise it shows help.
		RunE: func(cmd *cobra.Command, args []string) error {
			if isTerminal(s.Out) && isTerminalReader(s.In) {
				var o replOptions
				o.maxTurns, o.root = agent.DefaultMaxTurns, "."
				return runRepl(s, o)
			}
			return cmd.Help()
		},
	}
	root.SetOut(s.Out)
	root.SetErr(s.Err)
	root.SetIn(s.In)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return &usageError{err} })
	root.PersistentFlags().StringVar(&logLevel, "log-level", envOr("LOOM_LOG", "warn"), "log level on stderr: debug, info, warn or error (env LOOM_LOG)")
	for _, newCmd := range subcommands {
		root.AddCommand(newCmd(s))
	}
	return root
}

// subcommands are registered by each command's file in an init function,
// so adding a command touches only its own file.
var subcommands []func(*streams) *cobra.Command

// setupLogging sends structured logs to stderr: stdout belongs to the
// protocol in lsp and mcp modes.
func setupLogging(s *streams, level string) error {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToLower(level))); err != nil {
		return &usageError{fmt.Errorf("--log-level %q: want debug, info, warn or error", level)}
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(s.Err, &slog.HandlerOptions{Level: l})))
	return nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
