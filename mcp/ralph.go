package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/loom-agent/loom/ralph"
	"github.com/loom-agent/loom/tools"
	"github.com/loom-agent/loom/workspace"
)

// The Ralph loop tools hand a long job to a loop (package ralph) that runs
// in this server's process, detached from the request that started it:
// loom_ralph_start answers with the loop's ID at once, loom_ralph_status
// reads the loop's record in the repository's .loom/ralph/ (the one
// `loom ralph status` reads, so a loop started from a terminal is seen
// too) and loom_ralph_stop writes the same stop request as `loom ralph
// stop`. The loops end when the server does: Close cancels them the way
// Ctrl+C does (the iteration in flight is not applied).

type ralphStartArgs struct {
	Prompt        string   `json:"prompt,omitempty"`
	PromptFile    string   `json:"prompt_file,omitempty"`
	Folder        string   `json:"folder,omitempty"`
	Plan          string   `json:"plan,omitempty"`
	Checks        []string `json:"checks,omitempty"`
	CheckTimeout  string   `json:"check_timeout,omitempty"`
	Promise       string   `json:"promise,omitempty"`
	MaxIterations int      `json:"max_iterations,omitempty"`
	MaxRuntime    string   `json:"max_runtime,omitempty"`
	MaxCost       float64  `json:"max_cost,omitempty"`
	PriceInput    float64  `json:"price_input,omitempty"`
	PriceOutput   float64  `json:"price_output,omitempty"`
	Commit        bool     `json:"commit,omitempty"`
	Worktree      bool     `json:"worktree,omitempty"`
}

const ralphStartSchema = `{"type":"object","properties":{
"prompt":{"type":"string","description":"the task every iteration starts from (give this or prompt_file)"},
"prompt_file":{"type":"string","description":"a file holding the prompt, such as PROMPT.md, in the folder"},
"folder":{"type":"string","description":"the folder the loop works in: a root (default the first) or a folder inside one"},
"plan":{"type":"string","description":"the plan file the agent keeps current: it ticks off what it did and adds what it found"},
"checks":{"type":"array","items":{"type":"string"},"description":"shell commands run in the folder after each iteration (tests, vet, build); all must pass for the loop to be done"},
"check_timeout":{"type":"string","description":"kill a check after this long, a Go duration such as 5m (default 10m)"},
"promise":{"type":"string","description":"the text the agent states as <promise>TEXT</promise> when the work is done"},
"max_iterations":{"type":"integer","minimum":0,"description":"stop after this many iterations (with no cap given: 10)"},
"max_runtime":{"type":"string","description":"stop after this long, a Go duration such as 2h"},
"max_cost":{"type":"number","minimum":0,"description":"stop once the model's usage cost this many US dollars (needs price_input and price_output)"},
"price_input":{"type":"number","minimum":0,"description":"the model's price per million input tokens, US dollars"},
"price_output":{"type":"number","minimum":0,"description":"the model's price per million output tokens, US dollars"},
"commit":{"type":"boolean","description":"commit each applied iteration with git, with the message the agent wrote"},
"worktree":{"type":"boolean","description":"run in a new git worktree beside the repository (branch ralph/ID), leaving the folder's tree untouched"}},
"additionalProperties":false}`

const ralphLoopSchema = `{"type":"object","properties":{
"id":{"type":"string","description":"the loop's ID (or a unique prefix) as loom_ralph_start returned it; default: the latest loop of the folder"},
"folder":{"type":"string","description":"the folder the loop was started in: a root (default the first) or a folder inside one"}},
"additionalProperties":false}`

// ralphStartSpec describes loom_ralph_start's effects to the approver:
// it executes (its checks are commands) and writes (each iteration's
// edits are applied, and committed with commit).
var ralphStartSpec = tools.Spec{Name: "loom_ralph_start", Effect: tools.EffectExecute, Destructive: true,
	Description: "start a Ralph loop: the agent runs again and again in the folder, each iteration's edits applied to disk, the checks run as shell commands"}

// loops are the Ralph loops this server started and that still run.
type loops struct {
	mu      sync.Mutex
	ctx     context.Context // ended by Close
	cancel  context.CancelFunc
	running map[string]func() ralph.Record
	closed  bool
}

func newLoops() *loops {
	ctx, cancel := context.WithCancel(context.Background())
	return &loops{ctx: ctx, cancel: cancel, running: map[string]func() ralph.Record{}}
}

// Close cancels the loops this server started (as Ctrl+C would: the
// iteration in flight is not applied, or, once applied, is checked and
// committed) and waits for each to record its end.
func (s *Server) Close() error {
	s.loops.mu.Lock()
	s.loops.closed = true
	s.loops.cancel()
	waits := make([]func() ralph.Record, 0, len(s.loops.running))
	for _, w := range s.loops.running {
		waits = append(waits, w)
	}
	s.loops.mu.Unlock()
	for _, w := range waits {
		w()
	}
	return nil
}

func (s *Server) ralphTools() []server.ServerTool {
	var out []server.ServerTool
	if s.opts.NewAgent != nil {
		out = append(out, server.ServerTool{Tool: mcpgo.Tool{
			Name: "loom_ralph_start",
			Description: "Hand a long job to a Ralph loop: Loom's agent runs the same prompt again and again, each iteration " +
				"a fresh session that does one item of the plan, until the checks pass and the agent states the promise, " +
				"or a cap (iterations, runtime, cost) is reached. Effects: each iteration's edits are written to the folder " +
				"(or a new git worktree with worktree=true), the checks run as shell commands there, and with commit=true " +
				"each iteration is committed; so it asks the user's consent (or needs the server's --allow-shell). " +
				"It returns the loop's ID at once; the loop runs in the background: follow it with loom_ralph_status, " +
				"stop it with loom_ralph_stop. Each iteration is recorded as a thread.",
			RawInputSchema: json.RawMessage(ralphStartSchema),
			Annotations: mcpgo.ToolAnnotation{Title: "Start a Ralph loop",
				ReadOnlyHint: mcpgo.ToBoolPtr(false), DestructiveHint: mcpgo.ToBoolPtr(true),
				IdempotentHint: mcpgo.ToBoolPtr(false), OpenWorldHint: mcpgo.ToBoolPtr(true)},
		}, Handler: s.ralphStart})
	}
	out = append(out,
		server.ServerTool{Tool: mcpgo.Tool{
			Name: "loom_ralph_status",
			Description: "Show a Ralph loop: its state (iterating, checking, committing; done, stopped_at_cap, stopped, " +
				"cancelled, failed) and why it ended, its iterations with their threads, check results, commits and cost, " +
				"and its time so far. Default: the latest loop of the folder.",
			RawInputSchema: json.RawMessage(ralphLoopSchema),
			Annotations: mcpgo.ToolAnnotation{Title: "Ralph loop status", ReadOnlyHint: mcpgo.ToBoolPtr(true),
				IdempotentHint: mcpgo.ToBoolPtr(true), OpenWorldHint: mcpgo.ToBoolPtr(false)},
		}, Handler: s.ralphStatus},
		server.ServerTool{Tool: mcpgo.Tool{
			Name: "loom_ralph_stop",
			Description: "Ask the Ralph loop running in the folder (or in its worktree) to stop once its current iteration " +
				"has finished: that iteration is applied, checked and committed as usual, and no other starts. " +
				"An error when no loop runs there.",
			RawInputSchema: json.RawMessage(ralphLoopSchema),
			Annotations: mcpgo.ToolAnnotation{Title: "Stop a Ralph loop", ReadOnlyHint: mcpgo.ToBoolPtr(false),
				DestructiveHint: mcpgo.ToBoolPtr(false), IdempotentHint: mcpgo.ToBoolPtr(true), OpenWorldHint: mcpgo.ToBoolPtr(false)},
		}, Handler: s.ralphStop},
	)
	return out
}

// ralphFolder is the workspace of the folder a Ralph tool names, confined
// to the roots.
func (s *Server) ralphFolder(ctx context.Context, req mcpgo.CallToolRequest, folder string) (*workspace.Workspace, *mcpgo.CallToolResult, error) {
	var hint []string
	if folder != "" {
		hint = []string{folder}
	}
	ws, ask, err := s.workspaceFor(ctx, req, hint)
	if ask != nil || err != nil || folder == "" {
		return ws, ask, err
	}
	rel, err := ws.Resolve(folder)
	if err != nil {
		return nil, mcpgo.NewToolResultError("the folder: " + err.Error()), nil
	}
	if fi, err := os.Stat(ws.Abs(rel)); err != nil || !fi.IsDir() {
		return nil, mcpgo.NewToolResultError(fmt.Sprintf("the folder %s is not a folder of the workspace", folder)), nil
	}
	if rel == "." {
		return ws, nil, nil
	}
	sub, err := workspace.New(ws.Abs(rel))
	return sub, nil, err
}

func (s *Server) ralphStart(ctx context.Context, req mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
	raw, err := rawArgs(req)
	if err != nil {
		return mcpgo.NewToolResultError(err.Error()), nil
	}
	var a ralphStartArgs
	if err := decodeStrict(raw, &a); err != nil {
		return mcpgo.NewToolResultError("invalid arguments for loom_ralph_start: " + err.Error()), nil
	}
	ws, ask, err := s.ralphFolder(ctx, req, a.Folder)
	if ask != nil || err != nil {
		return ask, err
	}
	cfg, err := ralphConfig(ws, a)
	if err != nil {
		return mcpgo.NewToolResultError("loom_ralph_start: " + err.Error()), nil
	}
	approver := s.approverFor(ctx)
	if approver == nil {
		return mcpgo.NewToolResultError("loom_ralph_start needs consent, and there is nobody to ask: its checks run as " +
			"commands and its iterations write to disk. Start loom mcp with --allow-shell, or use a client that can ask " +
			"its user (elicitation)."), nil
	}
	d, err := approver.Approve(ctx, tools.Approval{Call: tools.Call{Name: ralphStartSpec.Name, Args: raw},
		Spec: ralphStartSpec, Preview: ralphPreview(ws, cfg, a.Worktree)})
	if err != nil {
		return mcpgo.NewToolResultError("loom_ralph_start: " + err.Error()), nil
	}
	if d != tools.Allow {
		return mcpgo.NewToolResultError("loom_ralph_start: the user did not allow the loop; nothing was started"), nil
	}
	l := &ralph.Loop{Config: cfg, RecordRoot: ws.Root(), Sessions: s.runs, Model: s.opts.Model,
		Approver: s.opts.Approver, Progress: slogWriter{l: s.log, level: slog.LevelInfo}, ID: ralph.NewID(time.Now())}
	loopWS := ws
	if a.Worktree {
		if l.Worktree, l.Branch, err = ralph.AddWorktree(ctx, ws.Root(), l.ID); err != nil {
			return mcpgo.NewToolResultError("loom_ralph_start: " + err.Error()), nil
		}
		if loopWS, err = workspace.New(l.Worktree); err != nil {
			return nil, err
		}
	}
	ag, err := s.opts.NewAgent(loopWS)
	if err != nil {
		return mcpgo.NewToolResultError("cannot start the agent: " + err.Error()), nil
	}
	l.Workspace, l.Agent = loopWS, ag

	s.loops.mu.Lock()
	defer s.loops.mu.Unlock()
	if s.loops.closed {
		return mcpgo.NewToolResultError("loom_ralph_start: the server is shutting down"), nil
	}
	// The loop lives as long as the server, not the request.
	wait, err := l.Start(s.loops.ctx)
	if err != nil {
		return mcpgo.NewToolResultError("loom_ralph_start: " + err.Error()), nil
	}
	s.loops.running[l.ID] = wait
	go func() {
		rec := wait()
		s.log.Info("mcp: Ralph loop ended", "loop", rec.ID, "state", rec.State, "why", rec.Why)
		s.loops.mu.Lock()
		delete(s.loops.running, rec.ID)
		s.loops.mu.Unlock()
	}()
	s.log.Info("mcp: Ralph loop started", "loop", l.ID, "folder", loopWS.Root())
	out := map[string]any{"id": l.ID, "folder": loopWS.Root(), "worktree": l.Worktree, "branch": l.Branch}
	text := fmt.Sprintf("Ralph loop %s started in %s. Follow it with loom_ralph_status (id %q); stop it with loom_ralph_stop.",
		l.ID, loopWS.Root(), l.ID)
	return mcpgo.NewToolResultStructured(out, text), nil
}

// ralphConfig checks the arguments and turns them into a loop's config.
func ralphConfig(ws *workspace.Workspace, a ralphStartArgs) (ralph.Config, error) {
	cfg := ralph.Config{Plan: a.Plan, Checks: a.Checks, Promise: a.Promise, Commit: a.Commit,
		Caps:  ralph.Caps{Iterations: a.MaxIterations, Cost: a.MaxCost},
		Price: ralph.Price{Input: a.PriceInput, Output: a.PriceOutput}}
	var err error
	if cfg.Caps.Runtime, err = optionalDuration("max_runtime", a.MaxRuntime); err != nil {
		return cfg, err
	}
	if cfg.CheckTimeout, err = optionalDuration("check_timeout", a.CheckTimeout); err != nil {
		return cfg, err
	}
	if cfg.Caps == (ralph.Caps{}) {
		cfg.Caps.Iterations = ralph.DefaultIterations
	}
	switch {
	case (a.Prompt == "") == (a.PromptFile == ""):
		return cfg, errors.New(`give the prompt, either as "prompt" or as "prompt_file"`)
	case a.Prompt != "":
		cfg.Prompt = a.Prompt
	default:
		if cfg.Prompt, err = ralph.ReadPrompt(ws, a.PromptFile); err != nil {
			return cfg, fmt.Errorf("prompt_file: %w", err)
		}
	}
	if len(cfg.Prompt) > ralph.MaxPromptSize {
		return cfg, errors.New("the prompt is over 1 MiB")
	}
	if cfg.Plan != "" {
		if _, err := ws.Resolve(cfg.Plan); err != nil {
			return cfg, fmt.Errorf("the plan: %w", err)
		}
	}
	return cfg, cfg.Validate()
}

func optionalDuration(name, v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s %q is not a duration such as 30m", name, v)
	}
	return d, nil
}

// ralphPreview tells the user, in full, what a loop will do.
func ralphPreview(ws *workspace.Workspace, cfg ralph.Config, worktree bool) string {
	var b strings.Builder
	where := ws.Root()
	if worktree {
		where = "a new git worktree of " + ws.Root()
	}
	fmt.Fprintf(&b, "Start a Ralph loop in %s: up to", where)
	var caps []string
	if c := cfg.Caps; c.Iterations > 0 {
		caps = append(caps, fmt.Sprintf("%d iterations", c.Iterations))
	}
	if c := cfg.Caps; c.Runtime > 0 {
		caps = append(caps, c.Runtime.String())
	}
	if c := cfg.Caps; c.Cost > 0 {
		caps = append(caps, fmt.Sprintf("$%.2f", c.Cost))
	}
	fmt.Fprintf(&b, " %s of the agent, each iteration's edits written to disk", strings.Join(caps, ", "))
	if cfg.Commit {
		b.WriteString(" and committed with git")
	}
	b.WriteString(".\n")
	if len(cfg.Checks) > 0 {
		b.WriteString("After each iteration these commands run:\n")
		for _, c := range cfg.Checks {
			fmt.Fprintf(&b, "  %s\n", c)
		}
	}
	fmt.Fprintf(&b, "The prompt:\n%s", truncateUTF8(strings.TrimSpace(cfg.Prompt), maxSelectionInPrompt))
	return b.String()
}

func (s *Server) ralphLoopArgs(ctx context.Context, req mcpgo.CallToolRequest, tool string) (string, *workspace.Workspace, *mcpgo.CallToolResult, error) {
	raw, err := rawArgs(req)
	if err != nil {
		return "", nil, mcpgo.NewToolResultError(err.Error()), nil
	}
	var a struct {
		ID     string `json:"id,omitempty"`
		Folder string `json:"folder,omitempty"`
	}
	if err := decodeStrict(raw, &a); err != nil {
		return "", nil, mcpgo.NewToolResultError("invalid arguments for " + tool + ": " + err.Error()), nil
	}
	ws, ask, err := s.ralphFolder(ctx, req, a.Folder)
	return a.ID, ws, ask, err
}

// RalphStatus is loom_ralph_status's structured result: the loop's record
// (diffs left out: the iterations' threads and commits have them), how
// long it has run, and whether it is still running.
type RalphStatus struct {
	ralph.Record
	Running        bool    `json:"running"`
	ElapsedSeconds float64 `json:"elapsed_seconds"`
}

func (s *Server) ralphStatus(ctx context.Context, req mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
	id, ws, ask, err := s.ralphLoopArgs(ctx, req, "loom_ralph_status")
	if ask != nil || err != nil {
		return ask, err
	}
	rec, err := ralph.Find(ws.Root(), id)
	if err != nil {
		return mcpgo.NewToolResultError(err.Error()), nil
	}
	st := RalphStatus{Record: rec, Running: !rec.State.Terminal()}
	st.Iterations = append([]ralph.Iteration(nil), rec.Iterations...)
	for i := range st.Iterations {
		st.Iterations[i].Diff = ""
	}
	end := rec.Ended
	if end.IsZero() {
		end = time.Now()
	}
	st.ElapsedSeconds = end.Sub(rec.Started).Seconds()
	text := fmt.Sprintf("Loop %s: %s after %d iterations, $%.4f, %s.", rec.ID, rec.State, len(rec.Iterations), rec.Cost,
		end.Sub(rec.Started).Round(time.Second))
	if rec.Why != "" {
		text += " " + rec.Why + "."
	}
	if n := len(rec.Iterations); n > 0 {
		last := rec.Iterations[n-1]
		text += fmt.Sprintf("\nIteration %d: thread %s", last.N, last.Thread)
		for _, c := range last.Checks {
			verdict := "failed"
			if c.Passed {
				verdict = "passed"
			}
			text += fmt.Sprintf("; check %q %s", c.Command, verdict)
		}
	}
	return mcpgo.NewToolResultStructured(st, text), nil
}

func (s *Server) ralphStop(ctx context.Context, req mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
	id, ws, ask, err := s.ralphLoopArgs(ctx, req, "loom_ralph_stop")
	if ask != nil || err != nil {
		return ask, err
	}
	r, err := ralph.RequestStop(ws.Root(), id)
	if err != nil {
		return mcpgo.NewToolResultError(err.Error()), nil
	}
	return mcpgo.NewToolResultStructured(map[string]any{"id": r.ID, "folder": r.Dir},
		fmt.Sprintf("Asked loop %s in %s to stop: it ends after its current iteration; loom_ralph_status shows when.", r.ID, r.Dir)), nil
}
