package tui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/loom-agent/loom/agent"
	"github.com/loom-agent/loom/session"
	"github.com/loom-agent/loom/tools"
)

// shellTools is the registry !commands run through: the agent's own shell
// tool, so a command the user types is asked about, confined and bounded
// as the model's are.
var shellTools = func() *tools.Registry {
	r, err := tools.NewRegistry(tools.Shell{})
	if err != nil {
		panic(err) // the built-in tool's spec is fixed
	}
	return r
}()

// maxContext bounds what one !command offers the model, in bytes: the
// end of a long output is kept, where the errors are.
const maxContext = 32 << 10

// IsShell reports whether input is a !command.
func IsShell(input string) bool { return strings.HasPrefix(strings.TrimSpace(input), "!") }

// Shell runs a !command in the workspace after the approver allows it,
// prints its output, and keeps it for the next instruction, which the
// model reads with it.
func (c *Conversation) Shell(ctx context.Context, input string, out io.Writer) {
	command := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(input), "!"))
	if command == "" {
		fmt.Fprintln(out, "Usage: !COMMAND runs it in the workspace; its output goes with the next instruction.")
		return
	}
	if c.Approver == nil {
		fmt.Fprintln(out, "Commands are off in this session (--shell=never); start Loom with --shell=ask to run them.")
		return
	}
	args, _ := json.Marshal(map[string]string{"command": command})
	res, err := shellTools.Run(ctx, &tools.Env{Changes: c.changes, Approver: c.Approver}, "shell", args)
	switch {
	case errors.Is(err, tools.ErrRejected):
		fmt.Fprintln(out, "Not run.")
		return
	case err != nil:
		fmt.Fprintf(out, "Error: %v\n", err)
		return
	}
	fmt.Fprintln(out, strings.TrimRight(res.Text, "\n"))
	text := res.Text
	if len(text) > maxContext {
		text = "…" + text[len(text)-maxContext:]
	}
	c.context = append(c.context, fmt.Sprintf("I ran `%s` in the workspace:\n```\n%s\n```", command, strings.TrimRight(text, "\n")))
	fmt.Fprintln(out, "(the output goes with your next instruction)")
}

// compactInstruction asks the model for the summary /compact keeps.
const compactInstruction = `Summarise our conversation so far for a fresh start: what I asked for, what was decided, ` +
	`which files matter and what was changed in them, and what remains to do. Be concise and concrete; ` +
	`answer with the summary only and call no tools.`

// Compact has the model summarise the conversation (a turn recorded in
// the current thread) and continues in a new thread whose first
// instruction carries the summary: a shorter context.
func (c *Conversation) Compact(ctx context.Context, observe func(session.Event), out io.Writer) {
	if c.thread == "" && len(c.history) == 0 {
		fmt.Fprintln(out, "Nothing to compact yet.")
		return
	}
	o, err := c.runs.Run(ctx, session.Request{Instruction: compactInstruction, Workspace: c.ws, Dir: c.Dir, Changes: c.changes,
		History: c.history, ThreadID: c.thread, Model: c.model, Agent: c.agent, Observe: observe})
	switch {
	case err != nil:
		fmt.Fprintf(out, "Not compacted: %v\n", err)
		return
	case o.Err != nil:
		fmt.Fprintf(out, "Not compacted: %v\n", o.Err)
		return
	case o.StopReason != agent.StopDone || strings.TrimSpace(o.Final) == "":
		fmt.Fprintln(out, "Not compacted: the model gave no summary.")
		return
	}
	from := c.thread
	c.thread, c.history, c.undo = "", nil, nil
	c.context = append([]string{"Summary of our conversation so far:\n\n" + strings.TrimSpace(o.Final)}, c.context...)
	if from != "" {
		fmt.Fprintf(out, "Compacted thread %s into a summary; the next instruction starts a new thread with it.\n", from)
	} else {
		fmt.Fprintln(out, "Compacted the conversation into a summary; the next instruction starts with it.")
	}
}
