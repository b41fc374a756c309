package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/loom-agent/loom/agent"
	"github.com/loom-agent/loom/cmd/loom/internal/cmdutil"
	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/session"
	"github.com/loom-agent/loom/thread"
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

	// SwitchModel builds the agent for another model of the configured
	// provider (/model NAME); nil: the model cannot be switched.
	SwitchModel func(name string) (*agent.Agent, error)
	// Provider names where the model is served, for /model.
	Provider string
	// Dir is the folder the user works in, whose AGENTS.md files (from
	// the root down to it) the model reads.
	Dir string

	changes *workspace.Changeset
	history []llm.Message // the conversation, when no thread store is at hand
	thread  string        // the thread this session appends to
	warned  bool          // /quit said once that staged edits would be left

	// focus are the files @mentions added, workspace-relative, in order.
	focus []string
	// context is what the next instruction carries before the user's
	// words: a /compact summary, the output of !commands.
	context []string
	// undo is the last apply's checkpoint when there is no thread to keep
	// it with; saved checkpoints live in checkpoints.
	undo        []workspace.FileChange
	checkpoints checkpoints
}

// NewConversation starts a session in ws with the agent ag (model names it
// in the thread's record); runs records the threads when its Store is set.
func NewConversation(ws *workspace.Workspace, ag *agent.Agent, model string, approver tools.Approver, runs *session.Service) *Conversation {
	c := &Conversation{ws: ws, agent: ag, model: model, Approver: approver, runs: runs, changes: ws.NewChangeset()}
	if runs.Store != nil {
		c.checkpoints.dir = filepath.Join(filepath.Dir(runs.Store.Path()), "checkpoints")
	}
	return c
}

// Model names the model the conversation runs on.
func (c *Conversation) Model() string { return c.model }

// Focus is the files in focus, as @mentions added them.
func (c *Conversation) Focus() []string { return slices.Clone(c.focus) }

// Root is the workspace's folder.
func (c *Conversation) Root() string { return c.ws.Root() }

// Staged is how many files have edits not yet applied.
func (c *Conversation) Staged() int { return len(c.changes.Changes()) }

// Ask runs the agent on one instruction, a single one whatever its lines.
// observe sees the run's events; what follows the run (errors, the thread,
// staged files) is written to out.
func (c *Conversation) Ask(ctx context.Context, instruction string, observe func(session.Event), out io.Writer) {
	c.warned = false
	record := instruction
	if len(c.context) > 0 {
		instruction = strings.Join(c.context, "\n\n") + "\n\n" + instruction
		record = instruction // the thread keeps what the model read
		c.context = nil
	}
	o, err := c.runs.Run(ctx, session.Request{Instruction: instruction, Record: record, Workspace: c.ws, Changes: c.changes,
		Focus: c.focus, Dir: c.Dir, History: c.history, ThreadID: c.thread, Model: c.model, Agent: c.agent, Observe: observe, Approver: c.Approver})
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
	{"/apply", "write them to disk (all or nothing; refused on conflict); /apply review: hunk by hunk"},
	{"/discard", "drop them"},
	{"/undo", "put back the files of the last /apply (refused if they changed since)"},
	{"/model", "show the model; /model NAME: switch to another of the provider's models"},
	{"/clear", "start afresh: a new thread, the staged edits kept"},
	{"/compact", "summarise the conversation into a new, shorter thread"},
	{"/resume", "continue an earlier thread: a picker, or /resume ID"},
	{"/threads", "list this workspace's recent threads"},
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
		if arg := strings.TrimSpace(strings.TrimPrefix(input, "/apply")); arg != "" {
			// The TUI takes /apply review itself; anything else here is
			// not what the user meant, and nothing is written.
			fmt.Fprintf(out, "/apply %s: reviewing hunk by hunk needs a terminal; /apply alone writes every staged edit.\n", arg)
			return false
		}
		c.apply(out)
	case "/compact":
		c.Compact(context.Background(), nil, out)
	case "/undo":
		c.Undo(out)
	case "/model":
		c.switchModel(strings.TrimSpace(strings.TrimPrefix(input, "/model")), out)
	case "/clear":
		c.clear(out)
	case "/threads":
		c.threads(out)
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
		fmt.Fprintln(out, "  @path     add a file to the focus (Tab completes)")
		fmt.Fprintln(out, "  !command  run a command (after asking); its output goes with the next instruction")
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
	c.thread, c.history, c.changes, c.context, c.undo = id, nil, changes, nil, nil
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
		c.applied(applied, out)
	}
}

// applied reports an apply and makes it the checkpoint /undo goes back to.
func (c *Conversation) applied(applied []workspace.FileChange, out io.Writer) {
	for _, ch := range applied {
		fmt.Fprintf(out, "%s %s\n", ch.Kind, ch.NewPath)
	}
	fmt.Fprintf(out, "Applied %d file(s). /undo puts them back.\n", len(applied))
	c.undo = inverse(applied)
	if err := c.checkpoints.save(c.thread, c.undo); err != nil {
		fmt.Fprintf(out, "Warning: /undo will work only in this session: %v\n", err)
	}
}

// Undo puts back the files of the last apply, all or nothing; a file
// changed on disk since refuses it.
func (c *Conversation) Undo(out io.Writer) {
	undo := c.undo
	if undo == nil {
		saved, err := c.checkpoints.load(c.thread)
		if err != nil {
			fmt.Fprintf(out, "Error: %v\n", err)
			return
		}
		undo = saved
	}
	if len(undo) == 0 {
		fmt.Fprintln(out, "Nothing to undo: no /apply in this thread.")
		return
	}
	cs, err := c.ws.Restage(undo)
	if err != nil {
		fmt.Fprintf(out, "Not undone: %v\n", err)
		return
	}
	restored, err := cs.Apply()
	var conflict *workspace.ConflictError
	switch {
	case errors.As(err, &conflict):
		fmt.Fprintf(out, "Not undone: %v. The file changed after /apply; nothing was written.\n", err)
		return
	case err != nil:
		fmt.Fprintf(out, "Not undone: %v\n", err)
		return
	}
	c.undo = nil
	c.checkpoints.drop(c.thread)
	for _, ch := range restored {
		fmt.Fprintf(out, "restored %s\n", ch.Path)
	}
	fmt.Fprintf(out, "Undid the last apply: %d file(s) as they were.\n", len(restored))
}

// switchModel shows the model, or switches to another of the provider's.
func (c *Conversation) switchModel(name string, out io.Writer) {
	if name == "" {
		fmt.Fprintf(out, "Model %s (%s). /model NAME switches to another of its models.\n", c.model, c.Provider)
		return
	}
	if c.SwitchModel == nil {
		fmt.Fprintln(out, "The model cannot be switched here.")
		return
	}
	ag, err := c.SwitchModel(name)
	if err != nil {
		fmt.Fprintf(out, "Error: %v\n", err)
		return
	}
	c.agent, c.model = ag, name
	fmt.Fprintf(out, "Now on %s (%s).\n", name, c.Provider)
}

// clear starts afresh: no history, a new thread at the next instruction;
// the staged edits stay.
func (c *Conversation) clear(out io.Writer) {
	c.thread, c.history, c.context, c.focus, c.undo = "", nil, nil, nil, nil
	fmt.Fprint(out, "Cleared: the next instruction starts a new thread.")
	if n := c.Staged(); n > 0 {
		fmt.Fprintf(out, " The %d file(s) of staged edits are kept.", n)
	}
	fmt.Fprintln(out)
}

// Threads are this workspace's threads, the most recent first.
func (c *Conversation) Threads(ctx context.Context) ([]thread.Thread, error) {
	if c.runs.Store == nil {
		return nil, errors.New("threads are not available: the thread database could not be opened")
	}
	return c.runs.Store.List(ctx, thread.Filter{Workspaces: []string{c.ws.Root()}, Limit: 200})
}

// ShortIDs maps the IDs of ts to the prefixes lists show
// (cmdutil.ShortIDs).
func (c *Conversation) ShortIDs(ts []thread.Thread) func(id string) string {
	return cmdutil.ShortIDs(context.Background(), c.runs.Store, ts)
}

// threads lists this workspace's recent threads.
func (c *Conversation) threads(out io.Writer) {
	ts, err := c.Threads(context.Background())
	switch {
	case err != nil:
		fmt.Fprintf(out, "Error: %v\n", err)
		return
	case len(ts) == 0:
		fmt.Fprintln(out, "No threads in this workspace yet.")
		return
	}
	ts = ts[:min(len(ts), 20)]
	short := c.ShortIDs(ts)
	for _, t := range ts {
		mark := " "
		if t.ID == c.thread {
			mark = "*"
		}
		fmt.Fprintf(out, "%s %s  %s  %-9s %s\n", mark, short(t.ID), t.Updated.Local().Format("2006-01-02 15:04"), t.Status, oneLine(t.Title, 60))
	}
	fmt.Fprintln(out, "/resume ID continues one; /resume alone picks.")
}
