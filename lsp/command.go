package lsp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/loom-agent/loom/session"
	"github.com/loom-agent/loom/workspace"
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
	res, err := run.Result, run.Err
	out := RunResult{Final: strings.TrimSpace(res.Final), ThreadID: run.ThreadID}
	switch {
	case errors.Is(err, context.Canceled) || runCtx.Err() != nil:
		p.end("Cancelled")
		return nil, protocol.ErrRequestCancelled
	case err != nil:
		p.end("Failed")
		s.showMessage(ctx, protocol.MessageTypeError, "Loom: "+err.Error())
		return nil, jsonrpc2.Errorf(codeRequestFailed, "loom.run: %v", err)
	}
	if args.Answer || res.Changes == nil || res.Changes.Empty() {
		p.end("Done")
		s.showAnswer(ctx, out.Final)
		return marshalResult(out)
	}
	for _, ch := range res.Changes.Changes() {
		out.Files = append(out.Files, ch.NewPath)
	}
	p.end(fmt.Sprintf("Done: %d file(s) edited", len(out.Files)))
	applied, err := s.applyChanges(ctx, res.Changes)
	if err != nil {
		s.showMessage(ctx, protocol.MessageTypeError, "Loom: the edit was not applied: "+err.Error())
		return nil, jsonrpc2.Errorf(codeRequestFailed, "loom.run: the edit was not applied: %v", err)
	}
	out.Applied = applied
	if applied {
		s.sessions.DropChanges(ctx, run.ThreadID)
	}
	return marshalResult(out)
}

// applyChanges sends the changeset to the client. It reports false, after
// telling the user, when the client rejects it.
func (s *Server) applyChanges(ctx context.Context, cs *workspace.Changeset) (bool, error) {
	s.mu.Lock()
	caps, ws := s.caps, s.ws
	s.mu.Unlock()
	if !caps.applyEdit {
		return false, errors.New("the client does not support workspace/applyEdit")
	}
	// The edits are positioned against the text the agent read. A buffer
	// the user changed meanwhile would take them at the wrong places.
	versions := map[string]int32{}
	for _, ch := range cs.Changes() {
		if ch.Kind == workspace.Create {
			continue
		}
		d := s.doc(uri.File(ws.Abs(ch.Path)))
		if d == nil {
			continue
		}
		d.mu.Lock()
		same, v := d.text == string(ch.Old), d.version
		d.mu.Unlock()
		if !same {
			return false, fmt.Errorf("%s changed in the editor while Loom was working; run it again", ch.Path)
		}
		versions[ch.Path] = v
	}
	we, err := workspaceEdit(cs, editTarget{caps: caps, ws: ws, version: func(rel string) (int32, bool) {
		v, ok := versions[rel]
		return v, ok
	}})
	if err != nil {
		return false, err
	}
	res, err := s.client.ApplyEdit(ctx, &protocol.ApplyWorkspaceEditParams{Label: ptr("Loom"), Edit: we})
	if err != nil {
		return false, fmt.Errorf("workspace/applyEdit: %w", err)
	}
	if !res.Applied {
		reason := "no reason given"
		if res.FailureReason != nil && *res.FailureReason != "" {
			reason = *res.FailureReason
		}
		s.showMessage(ctx, protocol.MessageTypeWarning, "Loom: the editor rejected the edit: "+reason)
	}
	return res.Applied, nil
}

// runner returns the agent, building it at first use.
func (s *Server) runner(ws *workspace.Workspace) (session.Runner, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.agent != nil {
		return s.agent, nil
	}
	if s.opts.NewAgent == nil {
		return nil, errors.New("no agent is configured")
	}
	r, err := s.opts.NewAgent(ws)
	if err != nil {
		return nil, err
	}
	s.agent = r
	return r, nil
}

// showAnswer shows the model's text: as a Markdown document when the client
// can show one served from memory, else as a message.
func (s *Server) showAnswer(ctx context.Context, text string) {
	if text == "" {
		s.showMessage(ctx, protocol.MessageTypeInfo, "Loom: done, no edits.")
		return
	}
	s.mu.Lock()
	canShow := s.caps.showDocument && s.caps.textDocumentContent
	s.nextID++
	u := uri.URI(fmt.Sprintf("%s:/answers/%d.md", answerScheme, s.nextID))
	if canShow {
		s.answers[string(u)] = text
	}
	s.mu.Unlock()
	if canShow {
		res, err := s.client.ShowDocument(ctx, &protocol.ShowDocumentParams{URI: u, TakeFocus: ptr(true)})
		if err == nil && res.Success {
			return
		}
	}
	s.showMessage(ctx, protocol.MessageTypeInfo, text)
}

// TextDocumentContent serves the answers shown with showDocument.
func (s *Server) TextDocumentContent(ctx context.Context, params *protocol.TextDocumentContentParams) (*protocol.TextDocumentContentResult, error) {
	s.mu.Lock()
	text, ok := s.answers[string(params.URI)]
	s.mu.Unlock()
	if !ok {
		return nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "no such Loom document: %s", params.URI)
	}
	return &protocol.TextDocumentContentResult{Text: text}, nil
}

func (s *Server) showMessage(ctx context.Context, typ protocol.MessageType, msg string) {
	if err := s.client.ShowMessage(context.WithoutCancel(ctx), &protocol.ShowMessageParams{Type: typ, Message: msg}); err != nil {
		s.log.Debug("lsp: cannot show a message", "err", err)
	}
}

func marshalResult(r RunResult) (protocol.LSPAny, error) {
	return json.Marshal(r)
}
