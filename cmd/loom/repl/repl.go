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

	"github.com/peterh/liner"
	"github.com/spf13/cobra"

	"github.com/loom-agent/loom/agent"
	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/cmd/loom/internal/iostreams"
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

	AgentFlags cmdutil.AgentFlags
	Root       string
	DB         string
}

// NewCmdRepl builds `loom repl`; runF, when given, replaces the run.
func NewCmdRepl(f *cmdutil.Factory, runF func(*ReplOptions) error) *cobra.Command {
	opts := &ReplOptions{IO: f.IOStreams, Workspace: f.Workspace, Approver: f.Approver, Agent: f.Agent,
		ModelName: f.ModelName, OpenStore: f.OpenStore}
	cmd := &cobra.Command{
		Use:   "repl",
		Short: "Talk with the agent interactively (also `loom` alone on a terminal)",
		Long: `An interactive session: each line is an instruction, the replies stream in,
and the conversation carries on. Edits accumulate in one changeset that is
never written until you say so.

  /diff     show the staged edits as a unified diff
  /apply    write them to disk (all or nothing; refused on conflict)
  /discard  drop them
  /resume ID  continue an earlier thread (see loom threads)
  /help     this list
  /quit     leave (Ctrl-D too); Ctrl-C stops a running reply

Before the agent runs a shell command, Loom asks: [y]es / [n]o / [a]lways
("always": every later command of this session). --shell=always (or
--allow-shell) runs them without asking, --shell=never offers no shell.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return replRun(opts)
		},
	}
	opts.AgentFlags.Register(cmd)
	opts.AgentFlags.RegisterShell(cmd)
	cmd.Flags().StringVar(&opts.Root, "root", ".", "the workspace root")
	cmd.Flags().StringVar(&opts.DB, "db", "", "the thread database (env LOOM_DB)")
	return cmd
}

// repl is one interactive session.
type repl struct {
	io      *iostreams.IOStreams
	ws      *workspace.Workspace
	ag      *agent.Agent
	model   string
	changes *workspace.Changeset
	// approver is asked before a command runs; its "always" answers hold
	// for the session.
	approver tools.Approver
	history  []llm.Message    // the conversation, when no thread store is at hand
	runs     *session.Service // its Store is nil if the database cannot be opened
	thread   string           // the thread this session appends to
}

func replRun(opts *ReplOptions) error {
	ws, err := opts.Workspace(opts.Root)
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
	out := opts.IO.Out
	r := &repl{io: opts.IO, ws: ws, ag: ag, model: opts.ModelName(opts.AgentFlags), changes: ws.NewChangeset(),
		runs: &session.Service{}, approver: approver}
	if r.runs.Store, err = opts.OpenStore(opts.DB, cmdutil.ReadWrite); err != nil {
		slog.Warn("threads are not recorded", "err", err)
	} else {
		defer r.runs.Store.Close()
	}
	line := liner.NewLiner()
	defer line.Close()
	line.SetCtrlCAborts(true)
	line.SetCompleter(func(l string) []string {
		var matches []string
		for _, c := range []string{"/diff", "/apply", "/discard", "/resume ", "/help", "/quit"} {
			if strings.HasPrefix(c, l) {
				matches = append(matches, c)
			}
		}
		return matches
	})
	fmt.Fprintf(out, "Loom in %s. Edits are staged until /apply. /help lists commands.\n", ws.Root())
	warned := false
	for {
		input, err := line.Prompt("loom> ")
		switch {
		case errors.Is(err, liner.ErrPromptAborted):
			continue
		case errors.Is(err, io.EOF):
			fmt.Fprintln(out)
			return r.leave()
		case err != nil:
			return err
		}
		input = strings.TrimSpace(input)
		if input == "" {
			continue
		}
		line.AppendHistory(input)
		switch strings.Fields(input)[0] {
		case "/quit", "/exit":
			if !r.changes.Empty() && !warned {
				fmt.Fprintln(out, "There are staged edits that were not applied: /apply them, /discard them, or /quit again to leave them.")
				warned = true
				continue
			}
			return r.leave()
		case "/diff":
			r.showDiff()
		case "/apply":
			r.apply()
		case "/discard":
			r.changes.Discard()
			r.runs.DropChanges(context.Background(), r.thread)
			fmt.Fprintln(out, "Discarded the staged edits.")
		case "/resume":
			r.resume(strings.TrimSpace(strings.TrimPrefix(input, "/resume")))
		case "/help":
			fmt.Fprintln(out, "/diff  /apply  /discard  /resume ID  /help  /quit   (anything else is an instruction for the agent)")
		default:
			if strings.HasPrefix(input, "/") {
				fmt.Fprintf(out, "Unknown command %s; /help lists them.\n", strings.Fields(input)[0])
				continue
			}
			warned = false
			r.ask(input)
		}
	}
}

// ask runs the agent on one instruction. Ctrl-C cancels this run only.
func (r *repl) ask(instruction string) {
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
	out := r.io.Out
	p := cmdutil.NewProgress(out, r.io.IsStdoutTTY())
	o, err := r.runs.Run(ctx, session.Request{Instruction: instruction, Workspace: r.ws, Changes: r.changes,
		History: r.history, ThreadID: r.thread, Model: r.model, Agent: r.ag, Observe: p.Handle, Approver: r.approver})
	p.EndText()
	if err != nil {
		fmt.Fprintf(out, "Error: %v\n", err)
		return
	}
	res := o.Result
	if len(res.Transcript) > 0 {
		r.history = res.Transcript
	}
	if o.ThreadID != "" && r.thread == "" {
		fmt.Fprintf(out, "(thread %s)\n", o.ThreadID)
	}
	if o.ThreadID != "" {
		r.thread = o.ThreadID
	}
	err = o.Err
	switch {
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(out, "Stopped. The edits staged so far are kept (/diff).")
	case err != nil:
		fmt.Fprintf(out, "Error: %v\n", err)
	case res.StopReason != agent.StopDone:
		fmt.Fprintf(out, "Stopped at a limit (%s).\n", res.StopReason)
	}
	if files := len(r.changes.Changes()); files > 0 {
		fmt.Fprintf(out, "%d file(s) with staged edits: /diff to review, /apply to write.\n", files)
	}
}

// resume makes the session continue an earlier thread.
func (r *repl) resume(arg string) {
	out := r.io.Out
	if arg == "" {
		fmt.Fprintln(out, "Usage: /resume ID (loom threads list shows them)")
		return
	}
	if r.runs.Store == nil {
		fmt.Fprintln(out, "Threads are not available: the thread database could not be opened.")
		return
	}
	ctx := context.Background()
	id, err := r.runs.Store.Resolve(ctx, arg)
	if err != nil {
		fmt.Fprintf(out, "Error: %v\n", err)
		return
	}
	t, err := r.runs.Store.Get(ctx, id)
	if err != nil {
		fmt.Fprintf(out, "Error: %v\n", err)
		return
	}
	// The thread's unapplied edits come back with it.
	changes, err := r.ws.Restage(t.Changes)
	if err != nil {
		fmt.Fprintf(out, "Error: thread %s: its staged edits: %v\n", id, err)
		return
	}
	if n := len(r.changes.Changes()); n > 0 && r.thread != "" {
		fmt.Fprintf(out, "The %d file(s) of staged edits stay with thread %s (loom apply %s).\n", n, r.thread, r.thread)
	}
	r.thread, r.history, r.changes = id, nil, changes
	fmt.Fprintf(out, "Continuing thread %s: %s\n", id, t.Title)
	if n := len(changes.Changes()); n > 0 {
		fmt.Fprintf(out, "%d file(s) with staged edits from that thread: /diff to review, /apply to write.\n", n)
	}
}

func (r *repl) showDiff() {
	diff, err := r.changes.Diff()
	switch {
	case err != nil:
		fmt.Fprintf(r.io.Out, "Error: %v\n", err)
	case diff == "":
		fmt.Fprintln(r.io.Out, "No staged edits.")
	default:
		fmt.Fprint(r.io.Out, diff)
	}
}

func (r *repl) apply() {
	applied, err := r.changes.Apply()
	switch {
	case err != nil:
		fmt.Fprintf(r.io.Out, "Not applied: %v\n", err)
	case len(applied) == 0:
		fmt.Fprintln(r.io.Out, "No staged edits.")
	default:
		r.runs.DropChanges(context.Background(), r.thread)
		for _, ch := range applied {
			fmt.Fprintf(r.io.Out, "%s %s\n", ch.Kind, ch.NewPath)
		}
		fmt.Fprintf(r.io.Out, "Applied %d file(s).\n", len(applied))
	}
}

func (r *repl) leave() error {
	if n := len(r.changes.Changes()); n > 0 {
		fmt.Fprintf(r.io.ErrOut, "Left %d file(s) of staged edits unapplied.\n", n)
	}
	return nil
}
