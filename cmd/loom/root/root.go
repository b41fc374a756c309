// Package root is the `loom` command: it adds every command group, sets up
// logging and turns a command's error into the process's exit code.
package root

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/loom-agent/loom/cmd/loom/analyze"
	"github.com/loom-agent/loom/cmd/loom/apply"
	"github.com/loom-agent/loom/cmd/loom/auth"
	"github.com/loom-agent/loom/cmd/loom/doctor"
	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/cmd/loom/internal/iostreams"
	"github.com/loom-agent/loom/cmd/loom/internal/stdio"
	"github.com/loom-agent/loom/cmd/loom/mcpservers"
	"github.com/loom-agent/loom/cmd/loom/ralph"
	"github.com/loom-agent/loom/cmd/loom/repl"
	"github.com/loom-agent/loom/cmd/loom/run"
	"github.com/loom-agent/loom/cmd/loom/serve"
	"github.com/loom-agent/loom/cmd/loom/teamserver"
	"github.com/loom-agent/loom/cmd/loom/threads"
	"github.com/loom-agent/loom/cmd/loom/tool"
	"github.com/loom-agent/loom/cmd/loom/usage"
	"github.com/loom-agent/loom/cmd/loom/version"
	"github.com/loom-agent/loom/llm"
)

// NewCmdRoot builds `loom` with every command.
func NewCmdRoot(f *cmdutil.Factory) *cobra.Command {
	ios := f.IOStreams
	var logLevel string
	replCmd := repl.NewCmdRepl(f, nil)
	cmd := &cobra.Command{
		Use:   "loom",
		Short: "Loom is an AI coding agent for editors, agents and terminals",
		Long: `Loom is an AI coding agent. Editors reach it over LSP, assistants and other
agents over MCP, and people at a terminal through its commands. Every edit is
staged in a changeset, shown as a diff and applied to disk only on request.

Alone on a terminal, loom starts the REPL. With stdin not a terminal, it
serves what the first bytes there are: LSP (a Content-Length header), MCP (an
initialize request whose protocolVersion is a date string), ACP (one whose
protocolVersion is a number), or text, taken as the instruction of
"loom run -". So an editor or an assistant configured with just "loom"
works; the flags of the command chosen (--root, --model, …) may be given.`,
		Version:       f.Version(),
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if err := setupLogging(ios, logLevel); err != nil {
				return err
			}
			cmdutil.WarnUnknownConfigKeys(ios.ErrOut, llm.ConfigPath())
			return nil
		},
		// Alone on a terminal, loom starts the REPL (with its flags'
		// defaults); with stdin not a terminal Execute has already
		// chosen the server or `run -` from the input, and an empty
		// input, or stdout alone redirected, shows help.
		RunE: func(cmd *cobra.Command, args []string) error {
			if ios.IsStdoutTTY() && ios.IsStdinTTY() {
				return replCmd.RunE(replCmd, nil)
			}
			return cmd.Help()
		},
	}
	cmd.SetVersionTemplate(version.Line(f.Version()) + "\n")
	cmd.SetOut(ios.Out)
	cmd.SetErr(ios.ErrOut)
	cmd.SetIn(ios.In)
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return &cmdutil.UsageError{Err: err} })
	cmd.PersistentFlags().StringVar(&logLevel, "log-level", envOr("LOOM_LOG", "warn"), "log level on stderr: debug, info, warn or error (env LOOM_LOG)")
	cmd.AddCommand(
		version.NewCmdVersion(f, nil),
		tool.NewCmdList(f, nil),
		tool.NewCmdTool(f, nil),
		run.NewCmdRun(f, nil),
		ralph.NewCmdRalph(f, nil),
		replCmd,
		apply.NewCmdApply(f, nil),
		threads.NewCmdThreads(f),
		analyze.NewCmdAnalyze(f),
		serve.NewCmdLSP(f, nil),
		serve.NewCmdMCP(f, nil),
		serve.NewCmdACP(f, nil),
		mcpservers.NewCmdMCPServers(f),
		teamserver.NewCmdServer(f, nil),
		auth.NewCmdLogin(f, nil),
		auth.NewCmdLogout(f, nil),
		auth.NewCmdWhoAmI(f, nil),
		doctor.NewCmdDoctor(f, nil),
		usage.NewCmdUsage(f, nil),
	)
	usageArgs(cmd)
	return cmd
}

// usageArgs makes a wrong number of arguments a usage error (exit 2) in
// every command.
func usageArgs(cmd *cobra.Command) {
	if cmd.Args != nil {
		cmd.Args = cmdutil.UsageArgs(cmd.Args)
	}
	for _, c := range cmd.Commands() {
		usageArgs(c)
	}
}

// Execute runs the command line and returns the process exit code; the
// error, if any, goes to stderr.
func Execute(ctx context.Context, f *cmdutil.Factory, args []string) int {
	cmd := NewCmdRoot(f)
	args, err := fromStdin(ctx, cmd, f.IOStreams, args)
	if err == nil {
		cmd.SetArgs(args)
		err = cmd.ExecuteContext(ctx)
	}
	f.FinishIndexing(ctx)
	f.Close()
	stderr := f.IOStreams.ErrOut
	var exit *cmdutil.ExitError
	switch {
	case err == nil:
		return cmdutil.ExitOK
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(stderr, "loom: cancelled")
		return cmdutil.ExitCancelled
	case errors.As(err, &exit):
		fmt.Fprintf(stderr, "loom: %s\n", cmdutil.Message(err))
		return exit.Code
	case errors.As(err, new(*cmdutil.UsageError)), isUnknownCommand(err):
		fmt.Fprintf(stderr, "loom: %s\n", cmdutil.Message(err))
		return cmdutil.ExitUsage
	default:
		fmt.Fprintf(stderr, "loom: %s\n", cmdutil.Message(err))
		return cmdutil.ExitFailure
	}
}

// fromStdin makes a bare `loom` whose stdin is not a terminal the command
// its input asks for: `loom lsp`, `loom mcp` or `loom acp` with args, or
// `loom run args -` for text. The bytes read to decide are given back to
// the command through ios.In. A signal while it waits for the first bytes
// ends the wait (the read itself cannot be interrupted, and the process
// ends anyway).
func fromStdin(ctx context.Context, cmd *cobra.Command, ios *iostreams.IOStreams, args []string) ([]string, error) {
	if ios.IsStdinTTY() {
		return args, nil
	}
	if c, _, err := cmd.Find(args); err != nil || c != cmd {
		return args, nil
	}
	for _, a := range args {
		if a == "-h" || a == "--help" || a == "-v" || a == "--version" {
			return args, nil
		}
	}
	type detected struct {
		p   stdio.Protocol
		in  io.Reader
		err error
	}
	done := make(chan detected, 1)
	go func() {
		p, in, err := stdio.Detect(ios.In)
		done <- detected{p, in, err}
	}()
	var d detected
	select {
	case d = <-done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	p, in, err := d.p, d.in, d.err
	if err != nil {
		return nil, &cmdutil.UsageError{Err: err}
	}
	ios.In = in
	cmd.SetIn(in)
	switch p {
	case stdio.LSP, stdio.MCP, stdio.ACP:
		return append([]string{p.String()}, args...), nil
	case stdio.Text:
		return append(append([]string{"run"}, args...), "-"), nil
	}
	return args, nil
}

// isUnknownCommand: cobra's error for a command it does not know, which
// it returns as a plain error.
func isUnknownCommand(err error) bool { return strings.HasPrefix(err.Error(), "unknown command ") }

// setupLogging sends structured logs to stderr: stdout belongs to the
// protocol in lsp, mcp and acp modes.
func setupLogging(ios *iostreams.IOStreams, level string) error {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToLower(level))); err != nil {
		return &cmdutil.UsageError{Err: fmt.Errorf("--log-level %q: want debug, info, warn or error", level)}
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(ios.ErrOut, &slog.HandlerOptions{Level: l})))
	return nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
