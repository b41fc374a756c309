package acp

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	sdk "github.com/coder/acp-go-sdk"

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
	model, endTurn := sess.beginTurn(cancel)
	defer endTurn()

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
	out, err := sess.conv.Run(ctx, loomsession.Request{Instruction: instruction, Workspace: sess.ws, Focus: focus,
		Model: model, Agent: runner, Observe: sess.observe(ctx), Approver: approver})
	switch {
	case err != nil:
		return sdk.PromptResponse{}, requestError(err)
	case ctx.Err() != nil:
		return sdk.PromptResponse{StopReason: sdk.StopReasonCancelled}, nil
	}
	reason, ok := stopReason(out.StopReason)
	if !ok {
		if out.Err == nil {
			out.Err = fmt.Errorf("the run ended without a reason (%q)", out.StopReason)
		}
		return sdk.PromptResponse{}, requestError(out.Err)
	}
	return sdk.PromptResponse{StopReason: reason}, nil
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
