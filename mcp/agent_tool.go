package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/session"
	"github.com/loom-agent/loom/workspace"
)

type agentArgs struct {
	Task     string   `json:"task"`
	Files    []string `json:"files,omitempty"`
	Apply    bool     `json:"apply,omitempty"`
	ThreadID string   `json:"thread_id,omitempty"`
}

// AgentOutput is loom_agent's structured result.
type AgentOutput struct {
	Summary      string   `json:"summary"`
	Diff         string   `json:"diff"`
	FilesChanged []string `json:"files_changed"`
	Applied      bool     `json:"applied"`
	// ThreadID names the thread the run was recorded in, to continue it;
	// empty when the server keeps no threads.
	ThreadID   string `json:"thread_id"`
	StopReason string `json:"stop_reason"`
	Turns      int    `json:"turns"`
}

const agentInputSchema = `{"type":"object","properties":{
"task":{"type":"string","description":"what to do, in plain words, as you would ask a colleague"},
"files":{"type":"array","items":{"type":"string"},"description":"files in focus (relative to the first root, or absolute inside a root); the agent looks at them first"},
"apply":{"type":"boolean","description":"write the edits to disk when the run ends (atomically; refused if a file changed meanwhile). Default false: only the diff is returned"},
"thread_id":{"type":"string","description":"continue an earlier run's conversation in this server's workspace roots: the thread_id a loom_agent result returned (or a unique prefix of it), or a threads_search hit's id. The agent sees that conversation before the task"}},
"required":["task"],"additionalProperties":false}`

const agentOutputSchema = `{"type":"object","properties":{
"summary":{"type":"string","description":"the agent's final message"},
"diff":{"type":"string","description":"unified diff (git style) of every edit of the run"},
"files_changed":{"type":"array","items":{"type":"string"}},
"applied":{"type":"boolean","description":"whether the diff was written to disk"},
"thread_id":{"type":"string","description":"the thread this run was recorded in: pass it as thread_id to continue the conversation (empty when the server keeps no threads)"},
"stop_reason":{"type":"string","enum":["done","max_turns","max_tokens"]},
"turns":{"type":"integer"}},
"required":["summary","diff","files_changed","applied","thread_id","stop_reason","turns"]}`

func (s *Server) agentTool() server.ServerTool {
	tool := mcpgo.Tool{
		Name: "loom_agent",
		Description: "Run Loom, a coding agent, on a task in the workspace: it reads, searches and edits the code " +
			"with its own tools and model, then returns its summary and the unified diff of its edits. " +
			"Nothing is written unless apply is true; otherwise pass the diff to apply_changes when you agree with it. " +
			"Each run is recorded as a thread; pass the returned thread_id to continue the conversation. " +
			"Sends a progress notification per step when the request has a progress token; cancel it with notifications/cancelled.",
		RawInputSchema:  json.RawMessage(agentInputSchema),
		RawOutputSchema: json.RawMessage(agentOutputSchema),
		Annotations: mcpgo.ToolAnnotation{
			ReadOnlyHint:    mcpgo.ToBoolPtr(false),
			DestructiveHint: mcpgo.ToBoolPtr(true),
			IdempotentHint:  mcpgo.ToBoolPtr(false),
			OpenWorldHint:   mcpgo.ToBoolPtr(true), // it talks to a model
		},
	}
	return server.ServerTool{Tool: tool, Handler: s.runAgent}
}

func (s *Server) runAgent(ctx context.Context, req mcpgo.CallToolRequest) (*mcpgo.CallToolResult, error) {
	raw, err := rawArgs(req)
	if err != nil {
		return mcpgo.NewToolResultError(err.Error()), nil
	}
	var a agentArgs
	if err := decodeStrict(raw, &a); err != nil {
		return mcpgo.NewToolResultError("invalid arguments for loom_agent: " + err.Error()), nil
	}
	if strings.TrimSpace(a.Task) == "" {
		return mcpgo.NewToolResultError(`invalid arguments for loom_agent: "task" is required`), nil
	}
	threadID := ""
	if a.ThreadID != "" {
		if !s.runs.KeepsThreads() {
			return mcpgo.NewToolResultError(fmt.Sprintf("cannot continue thread %q: %s. Call loom_agent without thread_id, "+
				"and put what the agent needs to know in the task.", a.ThreadID, s.threadsUnavailable())), nil
		}
		scope, ask, err := s.threadScope(ctx, req)
		if ask != nil || err != nil {
			return ask, err
		}
		if threadID, err = s.resolveThread(ctx, a.ThreadID, scope); err != nil {
			return mcpgo.NewToolResultError(err.Error()), nil
		}
	}
	ws, ask, err := s.workspaceFor(ctx, req, a.Files)
	if ask != nil || err != nil {
		return ask, err
	}
	ag, model, err := s.newAgent(ctx, ws)
	if err != nil {
		return mcpgo.NewToolResultError("cannot start the agent: " + err.Error()), nil
	}
	p := s.newProgress(ctx, req)
	s.log.Info("mcp: loom_agent started", "root", ws.Root(), "task", a.Task, "thread", threadID)
	run, err := s.runs.Run(ctx, session.Request{Instruction: a.Task, Workspace: ws, Focus: a.Files,
		ThreadID: threadID, Model: model, Agent: ag, Observe: p.event, Approver: s.approverFor(ctx)})
	p.flush()
	if err != nil {
		return mcpgo.NewToolResultError(err.Error()), nil
	}
	s.log.Info("mcp: loom_agent ended", "stop", run.StopReason, "turns", run.Turns, "err", run.Err)
	return s.agentResult(ctx, run, a.Apply), nil
}

// newAgent builds the run's agent and names its model: Loom's own, or the
// client's through sampling when asked to or when Loom has none.
func (s *Server) newAgent(ctx context.Context, ws *workspace.Workspace) (session.Runner, string, error) {
	sampling, _ := clientSampling(ctx)
	sampling = sampling && s.opts.SampledAgent != nil
	if s.opts.NewAgent != nil && !(sampling && s.opts.PreferSampling) {
		ag, err := s.opts.NewAgent(ws)
		if err == nil || !sampling || !errors.Is(err, llm.ErrNoModel) {
			return ag, s.opts.Model, err
		}
	}
	if !sampling {
		return nil, "", errors.New("no model is configured for Loom, and this client does not offer its own (the sampling capability)")
	}
	ag, err := s.opts.SampledAgent(ws, samplingProvider{srv: s.mcp})
	return ag, SamplingModel, err
}

// agentResult answers loom_agent with how the run ended, applying its
// edits when asked to and the run finished. Every answer, failures
// included, names the thread: a cancelled or failed run can be continued
// too.
func (s *Server) agentResult(ctx context.Context, run session.Outcome, apply bool) *mcpgo.CallToolResult {
	out := AgentOutput{Summary: strings.TrimSpace(run.Final), FilesChanged: run.Files(), Diff: run.Diff,
		StopReason: string(run.StopReason), Turns: run.Turns, ThreadID: run.ThreadID}
	threadNote := ""
	if out.ThreadID != "" {
		threadNote = fmt.Sprintf("\n\nThread %s: pass it as thread_id to continue.", out.ThreadID)
	}
	switch {
	case run.Cancelled():
		return mcpgo.NewToolResultError(withDiff("The run was cancelled; nothing was written."+threadNote, out.Diff))
	case run.Err != nil:
		return mcpgo.NewToolResultError(withDiff(fmt.Sprintf("The run failed: %v. Nothing was written.", run.Err)+threadNote, out.Diff))
	}
	note := "No edits."
	switch {
	case out.Diff == "":
	case apply && run.Finished():
		if err := run.Apply(ctx); err != nil {
			return mcpgo.NewToolResultError(withDiff(fmt.Sprintf("The run finished but its edits were not applied: %v", err)+threadNote, out.Diff))
		}
		out.Applied = true
		note = "Applied to disk."
	case apply:
		note = "Not applied, although apply=true: the run did not finish. Review the edits made so far (the diff below); " +
			"pass it to apply_changes to keep them, or continue the thread."
	default:
		note = "Not applied: pass the diff to apply_changes, or run again with apply=true."
	}
	if !run.Finished() {
		// Outcome.Apply refuses such a run: it left its work half done.
		note = fmt.Sprintf("The run stopped at a limit (%s) before the model finished. %s", run.StopReason, note)
	}
	text := out.Summary
	if text == "" {
		text = "(no summary)"
	}
	return mcpgo.NewToolResultStructured(out, withDiff(text+"\n\n"+note+threadNote, out.Diff))
}

// withDiff appends the diff, if any, to a message.
func withDiff(msg, diff string) string {
	if diff == "" {
		return msg
	}
	return msg + "\n\n" + diff
}
