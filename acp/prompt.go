package acp

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"

	sdk "github.com/coder/acp-go-sdk"

	"github.com/loom-agent/loom/agent"
	"github.com/loom-agent/loom/llm"
	loomsession "github.com/loom-agent/loom/session"
)

// Prompt runs the agent on the user's message, streaming its progress as
// session updates, and answers with why the turn ended.
func (s *Server) Prompt(ctx context.Context, p sdk.PromptRequest) (sdk.PromptResponse, error) {
	sess, err := s.session(p.SessionId)
	if err != nil {
		return sdk.PromptResponse{}, err
	}
	s.running.Add(1)
	defer s.running.Done()
	// The SDK cancels a session's previous prompt when a new one arrives;
	// wait for it to wind down rather than run two turns at once.
	sess.turn.Lock()
	defer sess.turn.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sess.mu.Lock()
	sess.cancel = cancel
	model := sess.model
	sess.mu.Unlock()
	defer func() {
		sess.mu.Lock()
		sess.cancel = nil
		sess.mu.Unlock()
	}()

	instruction, focus := sess.instruction(p.Prompt)
	if strings.TrimSpace(instruction) == "" {
		return sdk.PromptResponse{}, sdk.NewInvalidParams(map[string]any{"error": "the prompt has no text"})
	}
	reg, approver, err := sess.registry()
	if err != nil {
		return sdk.PromptResponse{}, requestError(err)
	}
	runner, err := s.opts.NewAgent(AgentConfig{Workspace: sess.ws, Tools: reg, Model: model})
	if err != nil {
		return sdk.PromptResponse{}, requestError(err)
	}
	tr := newTranslator(sess.abs, s.opts.Tools)
	sess.setTranslator(tr)
	onEvent := func(ev agent.Event) {
		if e, ok := ev.(agent.ToolStarted); ok && tr.gated(e.Name) {
			sess.setCurrentCall(toolCall{ID: e.ID, Name: e.Name, Args: e.Args})
		}
		for _, u := range tr.updates(ev) {
			sess.send(ctx, u)
		}
	}
	out, err := sess.run(ctx, loomsession.Request{Instruction: instruction, Workspace: sess.ws, Focus: focus,
		Model: model, Agent: runner, Observe: onEvent, Approver: approver})
	if err != nil {
		return sdk.PromptResponse{}, requestError(err)
	}
	res, runErr := out.Result, out.Err
	if ctx.Err() != nil {
		return sdk.PromptResponse{StopReason: sdk.StopReasonCancelled}, nil
	}
	reason, ok := stopReason(res.StopReason)
	if !ok {
		if runErr == nil {
			runErr = fmt.Errorf("the run ended without a reason (%q)", res.StopReason)
		}
		return sdk.PromptResponse{}, requestError(runErr)
	}
	return sdk.PromptResponse{StopReason: reason}, nil
}

// run runs one turn in the session's thread. Without a store, or when the
// thread cannot be recorded, the session keeps the conversation in memory:
// a broken database must not stop work.
func (sess *session) run(ctx context.Context, req loomsession.Request) (loomsession.Outcome, error) {
	sess.mu.Lock()
	req.History = slices.Clone(sess.history)
	sess.mu.Unlock()
	// With a store, the session's thread (made at session/new) is the one
	// each turn continues.
	inThread := req
	if sess.srv.opts.Store != nil {
		inThread.ThreadID = string(sess.id)
	}
	out, err := sess.srv.runs.Run(ctx, inThread)
	if err != nil && len(out.Transcript) == 0 && sess.srv.opts.Store != nil {
		sess.srv.log.Warn("acp: cannot record the turn; keeping the session in memory", "session", sess.id, "err", err)
		out, err = (&loomsession.Service{Log: sess.srv.log}).Run(ctx, req)
	}
	if err != nil {
		return out, err
	}
	var msgs []llm.Message
	for _, m := range out.Transcript {
		if m.Role != llm.RoleSystem {
			msgs = append(msgs, m)
		}
	}
	if len(msgs) > 0 {
		sess.mu.Lock()
		sess.history = msgs
		sess.mu.Unlock()
	}
	return out, nil
}

// instruction turns the prompt's content blocks into the agent's
// instruction and the files in focus: text as it is, embedded resources
// (the editor's text of a file or selection) quoted with their name, and
// links named. Files inside the workspace join the focus.
func (sess *session) instruction(blocks []sdk.ContentBlock) (string, []string) {
	var b strings.Builder
	var focus []string
	name := func(uri string) string {
		u, err := url.Parse(uri)
		if err != nil || u.Scheme != "file" {
			return uri
		}
		rel, err := filepath.Rel(sess.cwd, u.Path)
		if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
			return u.Path
		}
		focus = append(focus, filepath.ToSlash(rel))
		return filepath.ToSlash(rel)
	}
	sep := func() {
		if b.Len() > 0 {
			b.WriteString("\n\n")
		}
	}
	for _, c := range blocks {
		switch {
		case c.Text != nil:
			sep()
			b.WriteString(c.Text.Text)
		case c.ResourceLink != nil:
			sep()
			fmt.Fprintf(&b, "(Referenced: %s)", name(c.ResourceLink.Uri))
		case c.Resource != nil && c.Resource.Resource.TextResourceContents != nil:
			r := c.Resource.Resource.TextResourceContents
			sep()
			fence := "```"
			for strings.Contains(r.Text, fence) {
				fence += "`"
			}
			fmt.Fprintf(&b, "Contents of %s:\n%s\n%s\n%s", name(r.Uri), fence, strings.TrimSuffix(r.Text, "\n"), fence)
		case c.Resource != nil && c.Resource.Resource.BlobResourceContents != nil:
			sep()
			fmt.Fprintf(&b, "(Attached binary content Loom cannot read: %s)", name(c.Resource.Resource.BlobResourceContents.Uri))
		}
		// Images and audio are not offered in promptCapabilities.
	}
	return b.String(), focus
}

func (sess *session) translator() *translator {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	return sess.tr
}

func (sess *session) setTranslator(t *translator) {
	sess.mu.Lock()
	sess.tr = t
	sess.mu.Unlock()
}
