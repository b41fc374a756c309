package lsp

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/loom-agent/loom/session"
)

// codeRequestFailed is LSP's RequestFailed: a valid request that failed.
const codeRequestFailed jsonrpc2.Code = -32803

// errNoInstruction explains the instruction-less loom.run that the "Edit
// with instruction…" action carries: the protocol has no free-text prompt,
// so the editor asks the user and passes the answer.
var errNoInstruction = jsonrpc2.NewError(jsonrpc2.InvalidParams,
	`loom.run: no instruction given. "Loom: Edit with instruction…" needs the editor to ask for one: `+
		`run loom.run with {"instruction": "...", "uri": ..., "range": ...} (the Loom editor plugins prompt for it)`)

// RunResult is the answer to loom.run.
type RunResult struct {
	// Final is the model's last message.
	Final string `json:"final"`
	// Files lists the files the edit touches.
	Files []string `json:"files,omitempty"`
	// Applied reports whether the client applied the edit.
	Applied bool `json:"applied"`
	// ThreadID names the thread the run was recorded in: pass it as
	// threadId to continue the conversation. Empty without a thread
	// database.
	ThreadID string `json:"threadId,omitempty"`
}

// ExecuteCommand runs the server's commands: loom.run, and the thread
// commands of threads.go.
func (s *Server) ExecuteCommand(ctx context.Context, params *protocol.ExecuteCommandParams) (protocol.LSPAny, error) {
	switch params.Command {
	case CommandRun:
		return s.run(ctx, params)
	case CommandSearchThreads:
		return s.searchThreads(ctx, params)
	case CommandShowThread:
		return s.showThread(ctx, params)
	}
	return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "unknown command %q (the server runs %s)", params.Command, strings.Join(s.commands(), ", "))
}

// run runs loom.run: the agent works on the instruction with progress, and
// its changeset goes to the client as workspace/applyEdit (or its text
// answer to the user). The run is recorded as a thread, a new one or the
// threadId given. The server writes nothing to disk.
func (s *Server) run(ctx context.Context, params *protocol.ExecuteCommandParams) (protocol.LSPAny, error) {
	var args RunArgs
	if len(params.Arguments) > 0 {
		if err := json.Unmarshal(params.Arguments[0], &args); err != nil {
			return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "loom.run: the argument must be {instruction, uri, range}: %v", err)
		}
	}
	if strings.TrimSpace(args.Instruction) == "" {
		return nil, errNoInstruction
	}
	threadID := ""
	if args.ThreadID != "" {
		var err error
		if threadID, err = s.resolveThread(ctx, CommandRun, args.ThreadID); err != nil {
			return nil, err
		}
	}
	ws := s.workspace()
	runner, err := s.runner(ws)
	if err != nil {
		s.showMessage(ctx, protocol.MessageTypeError, "Loom: "+err.Error())
		return nil, jsonrpc2.Errorf(codeRequestFailed, "loom.run: %v", err)
	}
	instruction := args.Instruction
	if args.Range != nil && args.URI != "" && !args.Described {
		// A client's own instruction ("Run instruction…" on a selection)
		// says nothing of where: tell the model.
		instruction += "\n\nThe code in question: " + s.describe(actionData{URI: args.URI, Range: *args.Range})
	}
	var focus []string
	if rel := s.relPath(uri.URI(args.URI)); rel != "" {
		focus = []string{rel}
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	p := s.startProgress(ctx, params.WorkDoneToken, "Loom: "+clip(args.Instruction, 60), cancel)
	run, err := s.sessions.Run(runCtx, session.Request{Instruction: instruction, Record: args.Instruction, Workspace: ws,
		Focus: focus, ThreadID: threadID, Model: s.opts.Model, Agent: runner, Observe: p.event, Approver: s.opts.Approver})
	if err != nil {
		p.end("Failed")
		return nil, jsonrpc2.Errorf(codeRequestFailed, "%s: %v", CommandRun, err)
	}
	out := RunResult{Final: strings.TrimSpace(run.Final), ThreadID: run.ThreadID}
	switch {
	case run.Cancelled() || runCtx.Err() != nil:
		p.end("Cancelled")
		return nil, protocol.ErrRequestCancelled
	case run.Err != nil:
		p.end("Failed")
		s.showMessage(ctx, protocol.MessageTypeError, "Loom: "+run.Err.Error())
		return nil, jsonrpc2.Errorf(codeRequestFailed, "loom.run: %v", run.Err)
	case !run.Finished() && len(run.Files()) > 0:
		// Stopped at a limit: its edits are half a piece of work, and go
		// to the editor only when someone asks (loom apply THREAD).
		out.Files = run.Files()
		p.end("Stopped: " + string(run.StopReason))
		msg := fmt.Sprintf("Loom stopped (%s) before finishing, so its edits to %d file(s) were not applied", run.StopReason, len(out.Files))
		if run.ThreadID != "" {
			msg += fmt.Sprintf("; they are kept in thread %s: continue it, or run `loom apply %s`", run.ThreadID, run.ThreadID)
		}
		s.showMessage(ctx, protocol.MessageTypeWarning, msg+".")
		return marshalResult(out)
	case args.Answer || len(run.Files()) == 0:
		p.end("Done")
		s.showAnswer(ctx, out.Final)
		return marshalResult(out)
	}
	out.Files = run.Files()
	p.end(fmt.Sprintf("Done: %d file(s) edited", len(out.Files)))
	applied, err := s.applyChanges(ctx, run.Changes, "Loom: "+clip(args.Instruction, 60))
	if err != nil {
		s.showMessage(ctx, protocol.MessageTypeError, "Loom: the edit was not applied: "+err.Error())
		return nil, jsonrpc2.Errorf(codeRequestFailed, "loom.run: the edit was not applied: %v", err)
	}
	if out.Applied = applied; applied {
		run.MarkApplied(ctx)
	}
	return marshalResult(out)
}

func marshalResult(r RunResult) (protocol.LSPAny, error) {
	return json.Marshal(r)
}
