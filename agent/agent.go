package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/tools"
	"github.com/loom-agent/loom/workspace"
)

// Defaults for zero Options fields.
const (
	DefaultMaxTurns      = 50
	DefaultToolTimeout   = 2 * time.Minute
	DefaultContextWindow = 128_000
)

// Options configure an Agent. Only Provider is required.
type Options struct {
	Provider llm.Provider
	// Model overrides the provider's configured model when not empty.
	Model string
	// Tools are the tools offered to the model (default: the built-ins).
	Tools *tools.Registry
	// MaxTurns bounds the model calls of one run (default 50).
	MaxTurns int
	// MaxTokens bounds the tokens (prompt + completion, summed over the
	// run's calls, as the server reports them) of one run; 0 = unlimited.
	MaxTokens int
	// ToolTimeout bounds one tool call (default 2 minutes).
	ToolTimeout time.Duration
	// ContextWindow is the model's context size in tokens (default 128k);
	// old tool outputs are shortened as a conversation nears it.
	ContextWindow int
	// RepoMap, if set, returns an overview of the repository for the system
	// prompt, centred on the files in focus.
	RepoMap func(ctx context.Context, focus []string) string
	// RetryPolicy governs retries of failed model calls; zero fields take
	// llm.DefaultRetryPolicy's values. Its OnRetry, if set, is called as
	// well as the agent's own handler.
	RetryPolicy llm.RetryPolicy
	// Logger receives a debug record for each state transition (default:
	// discard).
	Logger *slog.Logger
}

// Agent runs tasks. It holds no per-run state: one Agent may run several
// tasks at once.
type Agent struct {
	opts Options
}

// toolSet is the tools one run offers, in the registry's order.
type toolSet struct {
	offered []tools.Spec
	specs   []llm.ToolSpec
	// byName holds every tool of the registry, offered or not.
	byName map[string]tools.Spec
}

// toolsFor is what a run with approver offers: a tool that needs approval
// with nobody to approve it would only refuse, so it is not offered. The
// registry is read at each run's start, since tools may come and go
// between runs (another MCP server's list changed).
func (a *Agent) toolsFor(approver tools.Approver) *toolSet {
	ts := &toolSet{byName: map[string]tools.Spec{}}
	for _, t := range a.opts.Tools.List() {
		s := t.Spec()
		ts.byName[s.Name] = s
		if approver == nil && tools.NeedsApproval(s) {
			continue
		}
		ts.offered = append(ts.offered, s)
		ts.specs = append(ts.specs, llm.ToolSpec{Name: s.Name, Description: s.Description, Schema: s.Schema})
	}
	return ts
}

// New checks opts and fills in the defaults.
func New(opts Options) (*Agent, error) {
	if opts.Provider == nil {
		return nil, errors.New("agent: Options.Provider is required")
	}
	if opts.Tools == nil {
		reg, err := tools.NewBuiltinRegistry()
		if err != nil {
			return nil, fmt.Errorf("agent: %w", err)
		}
		opts.Tools = reg
	}
	if opts.MaxTurns <= 0 {
		opts.MaxTurns = DefaultMaxTurns
	}
	if opts.MaxTokens < 0 {
		opts.MaxTokens = 0
	}
	if opts.ToolTimeout <= 0 {
		opts.ToolTimeout = DefaultToolTimeout
	}
	if opts.ContextWindow <= 0 {
		opts.ContextWindow = DefaultContextWindow
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	def := llm.DefaultRetryPolicy()
	if opts.RetryPolicy.MaxAttempts <= 0 {
		opts.RetryPolicy.MaxAttempts = def.MaxAttempts
	}
	if opts.RetryPolicy.BaseDelay <= 0 {
		opts.RetryPolicy.BaseDelay = def.BaseDelay
	}
	if opts.RetryPolicy.MaxDelay <= 0 {
		opts.RetryPolicy.MaxDelay = def.MaxDelay
	}
	return &Agent{opts: opts}, nil
}

// Task is one request to the agent.
type Task struct {
	Instruction string
	// Workspace is the repository to work in; it may be nil when Changes
	// is given (its workspace is used).
	Workspace *workspace.Workspace
	// Changes receives the staged edits; a new changeset is created if nil.
	Changes *workspace.Changeset
	// Focus lists files the user is looking at (workspace-relative).
	Focus []string
	// History continues an earlier conversation (a Result.Transcript). Its
	// leading system messages are replaced by a fresh system prompt.
	History []llm.Message
	// Approver is asked before each call that needs approval (a command)
	// runs; nil offers no such tool to the model, and refuses it if called.
	Approver tools.Approver
	// Instructions are the project's instructions for the model (its
	// AGENTS.md files), added to the system prompt.
	Instructions string
}

// Result is the outcome of a run. It is returned, filled as far as the run
// got, with every error too.
type Result struct {
	// Final is the model's final message, or for a run stopped by a limit a
	// message saying so.
	Final string
	// Changes holds the staged edits, never applied by the agent.
	Changes *workspace.Changeset
	// Usage sums the tokens of every model call.
	Usage llm.Usage
	// Turns counts the model calls started (a retried call counts once).
	Turns int
	// Transcript is the whole conversation, system prompt included; pass
	// it as Task.History to continue.
	Transcript []llm.Message
	StopReason StopReason
}

// Run performs task, streaming progress to onEvent (nil: no events). The
// error is nil when the run ended by itself: with a final answer or at a
// limit (see Result.StopReason). It wraps context.Canceled (or
// context.DeadlineExceeded) when ctx ended the run, and the model's error
// (an *llm.Error) when a call failed for good.
func (a *Agent) Run(ctx context.Context, task Task, onEvent func(Event)) (Result, error) {
	cs := task.Changes
	ws := task.Workspace
	switch {
	case cs == nil && ws == nil:
		return Result{}, errors.New("agent: the task has neither a workspace nor a changeset")
	case cs == nil:
		cs = ws.NewChangeset()
	case ws == nil:
		ws = cs.Workspace()
	case cs.Workspace() != ws:
		return Result{Changes: cs}, errors.New("agent: the task's changeset belongs to another workspace")
	}
	if task.Instruction == "" && len(task.History) == 0 {
		return Result{Changes: cs}, errors.New("agent: the task has no instruction")
	}
	r := newRun(ctx, a, cs, task.Approver, onEvent)
	r.loop(a.firstMessages(ctx, ws, task, r.offer.offered))
	s := r.st
	res := Result{
		Final: s.final, Changes: cs, Usage: s.usage, Turns: s.turn,
		Transcript: s.msgs, StopReason: s.stop,
	}
	switch s.phase {
	case StateCancelled:
		return res, fmt.Errorf("run cancelled: %w", s.err)
	case StateFailed:
		// The model's error (an *llm.Error) says what failed and where;
		// a prefix would only stand between the person and it.
		return res, s.err
	}
	return res, nil
}

// firstMessages builds the conversation a run starts from.
func (a *Agent) firstMessages(ctx context.Context, ws *workspace.Workspace, task Task, offered []tools.Spec) []llm.Message {
	hist := task.History
	for len(hist) > 0 && hist[0].Role == llm.RoleSystem {
		hist = hist[1:]
	}
	msgs := make([]llm.Message, 0, len(hist)+2)
	msgs = append(msgs, llm.Message{Role: llm.RoleSystem,
		Content: systemPrompt(ws.Root(), offered, task.Focus, a.repoMap(ctx, task.Focus), task.Instructions)})
	msgs = append(msgs, hist...)
	if task.Instruction != "" {
		msgs = append(msgs, llm.Message{Role: llm.RoleUser, Content: task.Instruction})
	}
	return msgs
}

// repoMap calls Options.RepoMap; a map is a nicety, so its panic is logged
// and the run goes on without one.
func (a *Agent) repoMap(ctx context.Context, focus []string) (m string) {
	if a.opts.RepoMap == nil {
		return ""
	}
	defer func() {
		if p := recover(); p != nil {
			a.opts.Logger.Warn("agent: the repo map function panicked; running without a map", "panic", p)
			m = ""
		}
	}()
	return a.opts.RepoMap(ctx, focus)
}
