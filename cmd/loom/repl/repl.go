// Package repl is `loom repl` (and `loom` alone on a terminal): a
// conversation with the agent whose edits accumulate until /apply.
package repl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	tea "charm.land/bubbletea/v2"
	"github.com/peterh/liner"
	"github.com/spf13/cobra"

	"github.com/loom-agent/loom/agent"
	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/cmd/loom/internal/iostreams"
	"github.com/loom-agent/loom/cmd/loom/internal/tui"
	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/session"
	"github.com/loom-agent/loom/thread"
	"github.com/loom-agent/loom/tools"
	"github.com/loom-agent/loom/workspace"
)

// ReplOptions are what `loom repl` needs.
type ReplOptions struct {
	IO        *iostreams.IOStreams
	Workspace func(root string) (*workspace.Workspace, error)
	Approver  func(cmdutil.AgentFlags) (tools.Approver, error)
	Agent     func(cmdutil.AgentFlags, *workspace.Workspace) (*agent.Agent, error)
	ModelName func(cmdutil.AgentFlags) string
	OpenStore func(db string, mode cmdutil.StoreMode) (*thread.Store, error)
	// ModelConfig, AgentTools and AgentWith build the agent of another
	// model for /model.
	ModelConfig func(llm.Config) (llm.Config, error)
	AgentTools  func(root string) (*tools.Registry, error)
	AgentWith   func(cmdutil.AgentFlags, *workspace.Workspace, string, *tools.Registry) (*agent.Agent, error)

	AgentFlags cmdutil.AgentFlags
	Root       string
	// RootSet: --root was given; otherwise the workspace is the
	// repository around the working folder.
	RootSet bool
	DB      string
}

// NewCmdRepl builds `loom repl`; runF, when given, replaces the run.
func NewCmdRepl(f *cmdutil.Factory, runF func(*ReplOptions) error) *cobra.Command {
	opts := &ReplOptions{IO: f.IOStreams, Workspace: f.Workspace, Approver: f.Approver, Agent: f.Agent,
		ModelName: f.ModelName, OpenStore: f.OpenStore, ModelConfig: f.ModelConfig, AgentTools: f.AgentTools, AgentWith: f.AgentWith}
	cmd := &cobra.Command{
		Use:   "repl",
		Short: "Talk with the agent interactively (also `loom` alone on a terminal)",
		Long: `An interactive session: each message is an instruction, the replies
stream in, and the conversation carries on. Edits accumulate in one
changeset that is never written until you say so. The workspace is the
repository around the working folder (the nearest folder holding .git)
unless --root says otherwise.

On a terminal: Enter sends; Alt+Enter, Shift+Enter or Ctrl+J adds a line;
a paste of several lines is one message; Up and Down recall earlier ones;
Ctrl+G edits the input in $VISUAL or $EDITOR; Tab completes commands and
@path mentions (fuzzily). Answers are rendered as markdown once complete.
Without a terminal each line of input is an instruction or a command, and
the output is plain.

  @path      add a file of the workspace to the focus
  !command   run a command (after asking); its output goes with the next
             instruction
  /diff      show the staged edits as a unified diff
  /apply     write them to disk (all or nothing; refused on conflict);
             /apply review: accept or skip each file and hunk
  /undo      put back the files of the last /apply (refused if they
             changed since)
  /discard   drop the staged edits
  /model     show the model; /model NAME switches to another
  /clear     start a new thread; /compact: summarise into a new one
  /resume    pick an earlier thread to continue (/resume ID: that one)
  /threads   list this workspace's threads
  /help      this list
  /quit      leave (Ctrl-D too); Ctrl-C stops a running reply, twice leaves

Before the agent runs a shell command, Loom asks: [y]es / [n]o / [a]lways
(on a terminal, press y, n or a; "always": every later command of this
session). --shell=always (or --allow-shell) runs them without asking,
--shell=never offers no shell.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.RootSet = cmd.Flags().Changed("root")
			if runF != nil {
				return runF(opts)
			}
			return replRun(opts)
		},
	}
	opts.AgentFlags.Register(cmd)
	opts.AgentFlags.RegisterShell(cmd)
	cmd.Flags().StringVar(&opts.Root, "root", ".", "the workspace root (default: the repository around the working folder)")
	cmd.Flags().StringVar(&opts.DB, "db", "", "the thread database (env LOOM_DB)")
	return cmd
}

func replRun(opts *ReplOptions) error {
	root := opts.Root
	if !opts.RootSet {
		root = cmdutil.RepositoryRoot(root)
	}
	ws, err := opts.Workspace(root)
	if err != nil {
		return err
	}
	// Before the line editor puts the terminal in raw mode: the prompt
	// reads its answers in the terminal's own mode.
	approver, err := opts.Approver(opts.AgentFlags)
	if err != nil {
		return err
	}
	ag, err := opts.Agent(opts.AgentFlags, ws)
	if err != nil {
		return err
	}
	runs := &session.Service{}
	if runs.Store, err = opts.OpenStore(opts.DB, cmdutil.ReadWrite); err != nil {
		slog.Warn("threads are not recorded", "err", err)
	} else {
		defer runs.Store.Close()
	}
	model := opts.ModelName(opts.AgentFlags)
	conv := tui.NewConversation(ws, ag, model, approver, runs)
	conv.Dir, _ = os.Getwd()
	if cfg, err := opts.ModelConfig(opts.AgentFlags.LLMConfig(opts.AgentFlags.Model)); err == nil {
		conv.Provider = cfg.Provider
	}
	conv.SwitchModel = func(name string) (*agent.Agent, error) {
		reg, err := opts.AgentTools(ws.Root())
		if err != nil {
			return nil, err
		}
		return opts.AgentWith(opts.AgentFlags, ws, name, reg)
	}
	if opts.IO.IsStdinTTY() && opts.IO.IsStdoutTTY() {
		return runTUI(opts, conv)
	}
	return runLines(opts, conv)
}

// runTUI is the REPL on a terminal.
func runTUI(opts *ReplOptions, conv *tui.Conversation) error {
	m := tui.New(conv, tui.Options{Provider: conv.Provider, AskHere: cmdutil.AsksOnTerminal(conv.Approver)})
	_, err := tea.NewProgram(m, tea.WithInput(opts.IO.In), tea.WithOutput(opts.IO.Out)).Run()
	if errors.Is(err, tea.ErrInterrupted) { // SIGINT from outside the terminal
		return context.Canceled
	}
	return err
}

// runLines is the REPL without a terminal (a pipe, a script): one line is
// one instruction or command, the replies are plain lines.
func runLines(opts *ReplOptions, conv *tui.Conversation) error {
	out := opts.IO.Out
	line := liner.NewLiner()
	defer line.Close()
	line.SetCtrlCAborts(true)
	line.SetCompleter(func(l string) []string {
		var matches []string
		for _, c := range tui.Commands {
			if strings.HasPrefix(c.Name, l) {
				matches = append(matches, c.Name)
			}
		}
		return matches
	})
	fmt.Fprintf(out, "Loom in %s. Edits are staged until /apply. /help lists commands.\n", conv.Root())
	for {
		input, err := line.Prompt("loom> ")
		switch {
		case errors.Is(err, liner.ErrPromptAborted):
			continue
		case errors.Is(err, io.EOF):
			fmt.Fprintln(out)
			return leave(opts, conv)
		case err != nil:
			return err
		}
		input = strings.TrimSpace(input)
		if input == "" {
			continue
		}
		line.AppendHistory(input)
		if tui.IsShell(input) {
			conv.Shell(context.Background(), input, out)
			continue
		}
		if tui.IsCommand(input) {
			if conv.Command(input, out) {
				return leave(opts, conv)
			}
			continue
		}
		ask(opts, conv, input)
	}
}

// ask runs the agent on one instruction. Ctrl-C cancels this run only.
func ask(opts *ReplOptions, conv *tui.Conversation, instruction string) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		select {
		case <-sigs:
			cancel()
		case <-ctx.Done():
		}
	}()
	added, errs := conv.Mentions(instruction)
	for _, err := range errs {
		fmt.Fprintf(opts.IO.Out, "not in focus: %v\n", err)
	}
	if len(added) > 0 {
		fmt.Fprintf(opts.IO.Out, "in focus: %s\n", strings.Join(added, ", "))
	}
	p := cmdutil.NewProgress(opts.IO.Out, opts.IO.IsStdoutTTY())
	conv.Ask(ctx, instruction, func(ev session.Event) { p.Handle(ev) }, endText{p, opts.IO.Out})
}

// endText ends the streamed reply's line before what follows the run.
type endText struct {
	p   *cmdutil.Progress
	out io.Writer
}

func (e endText) Write(b []byte) (int, error) {
	e.p.EndText()
	return e.out.Write(b)
}

func leave(opts *ReplOptions, conv *tui.Conversation) error {
	if n := conv.Staged(); n > 0 {
		fmt.Fprintf(opts.IO.ErrOut, "Left %d file(s) of staged edits unapplied.\n", n)
	}
	return nil
}
