package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/loom-agent/loom/agent"
	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/session"
	"github.com/loom-agent/loom/tools"
	"github.com/loom-agent/loom/workspace"
)

// Conversation is the REPL's session, whatever draws it (the Bubble Tea
// model, or plain lines when stdin is not a terminal): the conversation so
// far, its thread, the edits staged across runs, and the slash commands.
// Each run goes through the session layer. One run or command at a time.
type Conversation struct {
	ws    *workspace.Workspace
	agent *agent.Agent
	model string
	// Approver is asked before a command runs; its "always" answers hold
	// for the session. The TUI puts its own in place of the terminal's.
	Approver tools.Approver
	runs     *session.Service // its Store is nil when there is no thread database

	changes *workspace.Changeset
	history []llm.Message // the conversation, when no thread store is at hand
	thread  string        // the thread this session appends to
	warned  bool          // /quit said once that staged edits would be left
}

// NewConversation starts a session in ws with the agent ag (model names it
// in the thread's record); runs records the threads when its Store is set.
func NewConversation(ws *workspace.Workspace, ag *agent.Agent, model string, approver tools.Approver, runs *session.Service) *Conversation {
	return &Conversation{ws: ws, agent: ag, model: model, Approver: approver, runs: runs, changes: ws.NewChangeset()}
}

// Root is the workspace's folder.
func (c *Conversation) Root() string { return c.ws.Root() }

// Staged is how many files have edits not yet applied.
func (c *Conversation) Staged() int { return len(c.changes.Changes()) }

// Ask runs the agent on one instruction, a single one whatever its lines.
// observe sees the run's events; what follows the run (errors, the thread,
// staged files) is written to out.
func (c *Conversation) Ask(ctx context.Context, instruction string, observe func(session.Event), out io.Writer) {
	c.warned = false
	o, err := c.runs.Run(ctx, session.Request{Instruction: instruction, Workspace: c.ws, Changes: c.changes,
		History: c.history, ThreadID: c.thread, Model: c.model, Agent: c.agent, Observe: observe, Approver: c.Approver})
	if err != nil {
		fmt.Fprintf(out, "Error: %v\n", err)
		return
	}
	res := o.Result
	if len(res.Transcript) > 0 {
		c.history = res.Transcript
	}
	if o.ThreadID != "" && c.thread == "" {
		fmt.Fprintf(out, "(thread %s)\n", o.ThreadID)
	}
	if o.ThreadID != "" {
		c.thread = o.ThreadID
	}
	switch err := o.Err; {
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(out, "Stopped. The edits staged so far are kept (/diff).")
	case err != nil:
		fmt.Fprintf(out, "Error: %v\n", err)
	case res.StopReason != agent.StopDone:
		fmt.Fprintf(out, "Stopped at a limit (%s).\n", res.StopReason)
	}
	if files := c.Staged(); files > 0 {
		fmt.Fprintf(out, "%d file(s) with staged edits: /diff to review, /apply to write.\n", files)
	}
}

// Commands are the slash commands, as /help lists them.
var Commands = []struct{ Name, Help string }{
	{"/diff", "show the staged edits as a unified diff"},
	{"/apply", "write them to disk (all or nothing; refused on conflict)"},
	{"/discard", "drop them"},
	{"/resume", "ID: continue an earlier thread (loom threads list)"},
	{"/help", "this list"},
	{"/quit", "leave (/exit, Ctrl-D too)"},
}

// IsCommand reports whether input is a slash command rather than an
// instruction.
func IsCommand(input string) bool { return strings.HasPrefix(strings.TrimSpace(input), "/") }

// Command runs one slash command line, writing what it says to out; quit
// reports that the session ends.
func (c *Conversation) Command(input string, out io.Writer) (quit bool) {
	input = strings.TrimSpace(input)
	name := strings.Fields(input)[0]
	switch name {
	case "/quit", "/exit":
		if c.Staged() > 0 && !c.warned {
			fmt.Fprintln(out, "There are staged edits that were not applied: /apply them, /discard them, or /quit again to leave them.")
			c.warned = true
			return false
		}
		return true
	case "/diff":
		c.diff(out)
	case "/apply":
		c.apply(out)
	case "/discard":
		c.changes.Discard()
		c.runs.DropChanges(context.Background(), c.thread)
		fmt.Fprintln(out, "Discarded the staged edits.")
	case "/resume":
		c.resume(strings.TrimSpace(strings.TrimPrefix(input, "/resume")), out)
	case "/help":
		for _, cmd := range Commands {
			fmt.Fprintf(out, "  %-9s %s\n", cmd.Name, cmd.Help)
		}
		fmt.Fprintln(out, "Anything else is an instruction for the agent.")
	default:
		if s := Closest(name); s != "" {
			fmt.Fprintf(out, "Unknown command %s; did you mean %s? /help lists them.\n", name, s)
		} else {
			fmt.Fprintf(out, "Unknown command %s; /help lists them.\n", name)
		}
	}
	return false
}

// suggester holds the commands as cobra commands, for cobra's typo
// suggestions (Levenshtein distance and prefixes).
var suggester = func() *cobra.Command {
	root := &cobra.Command{Use: "repl", SuggestionsMinimumDistance: 2}
	for _, c := range Commands {
		root.AddCommand(&cobra.Command{Use: strings.TrimPrefix(c.Name, "/"), Run: func(*cobra.Command, []string) {}})
	}
	return root
}()

// Closest is the command a mistyped name most likely meant ("" when none
// is near).
func Closest(name string) string {
	if strings.TrimPrefix(name, "/") == "" {
		return ""
	}
	if s := suggester.SuggestionsFor(strings.TrimPrefix(name, "/")); len(s) > 0 {
		return "/" + s[0]
	}
	return ""
}

// resume makes the session continue an earlier thread.
func (c *Conversation) resume(arg string, out io.Writer) {
	if arg == "" {
		fmt.Fprintln(out, "Usage: /resume ID (loom threads list shows them)")
		return
	}
	if c.runs.Store == nil {
		fmt.Fprintln(out, "Threads are not available: the thread database could not be opened.")
		return
	}
	ctx := context.Background()
	id, err := c.runs.Store.Resolve(ctx, arg)
	if err != nil {
		fmt.Fprintf(out, "Error: %v\n", err)
		return
	}
	t, err := c.runs.Store.Get(ctx, id)
	if err != nil {
		fmt.Fprintf(out, "Error: %v\n", err)
		return
	}
	// The thread's unapplied edits come back with it.
	changes, err := c.ws.Restage(t.Changes)
	if err != nil {
		fmt.Fprintf(out, "Error: thread %s: its staged edits: %v\n", id, err)
		return
	}
	if n := c.Staged(); n > 0 && c.thread != "" {
		fmt.Fprintf(out, "The %d file(s) of staged edits stay with thread %s (loom apply %s).\n", n, c.thread, c.thread)
	}
	c.thread, c.history, c.changes = id, nil, changes
	fmt.Fprintf(out, "Continuing thread %s: %s\n", id, t.Title)
	if n := c.Staged(); n > 0 {
		fmt.Fprintf(out, "%d file(s) with staged edits from that thread: /diff to review, /apply to write.\n", n)
	}
}

func (c *Conversation) diff(out io.Writer) {
	diff, err := c.changes.Diff()
	switch {
	case err != nil:
		fmt.Fprintf(out, "Error: %v\n", err)
	case diff == "":
		fmt.Fprintln(out, "No staged edits.")
	default:
		fmt.Fprint(out, diff)
	}
}

func (c *Conversation) apply(out io.Writer) {
	applied, err := c.changes.Apply()
	switch {
	case err != nil:
		fmt.Fprintf(out, "Not applied: %v\n", err)
	case len(applied) == 0:
		fmt.Fprintln(out, "No staged edits.")
	default:
		c.runs.DropChanges(context.Background(), c.thread)
		for _, ch := range applied {
			fmt.Fprintf(out, "%s %s\n", ch.Kind, ch.NewPath)
		}
		fmt.Fprintf(out, "Applied %d file(s).\n", len(applied))
	}
}
