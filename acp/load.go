package acp

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	sdk "github.com/coder/acp-go-sdk"

	"github.com/loom-agent/loom/llm"
	loomsession "github.com/loom-agent/loom/session"
	"github.com/loom-agent/loom/tools"
)

// LoadSession reopens a session from its thread: it replays the
// conversation as session updates, then later prompts continue it.
func (s *Server) LoadSession(ctx context.Context, p sdk.LoadSessionRequest) (sdk.LoadSessionResponse, error) {
	if !s.runs.KeepsThreads() {
		return sdk.LoadSessionResponse{}, sdk.NewMethodNotFound(sdk.AgentMethodSessionLoad)
	}
	conv, err := s.runs.LoadConversation(ctx, string(p.SessionId))
	if errors.Is(err, loomsession.ErrNoThread) {
		return sdk.LoadSessionResponse{}, sdk.NewInvalidParams(map[string]any{"error": fmt.Sprintf("no session %q", p.SessionId)})
	}
	if err != nil {
		return sdk.LoadSessionResponse{}, requestError(err)
	}
	model := s.defaultModel()
	if slices.Contains(s.opts.Models, conv.Model()) {
		model = conv.Model()
	}
	sess, err := s.openSession(p.Cwd, model, p.McpServers)
	if err != nil {
		return sdk.LoadSessionResponse{}, err
	}
	sess.id, sess.conv = p.SessionId, conv
	s.mu.Lock()
	if old, ok := s.sessions[sess.id]; ok {
		old.cancelTurn()
		go old.close() // its turn, cancelled, fails its calls to them
	}
	s.sessions[sess.id] = sess
	s.mu.Unlock()
	for _, u := range replay(conv.History(), sess.tools, sess.abs) {
		sess.send(ctx, u)
	}
	return sdk.LoadSessionResponse{ConfigOptions: sess.configOptions()}, nil
}

// replay turns a stored conversation into the updates that show it again:
// user and agent message chunks, and each tool call with its final status
// and the result the model read.
func replay(msgs []llm.Message, reg *tools.Registry, abs func(string) string) []sdk.SessionUpdate {
	results := map[string]string{}
	for _, m := range msgs {
		if m.Role == llm.RoleTool {
			results[m.ToolCallID] = m.Content
		}
	}
	var out []sdk.SessionUpdate
	for _, m := range msgs {
		switch m.Role {
		case llm.RoleUser:
			out = append(out, sdk.UpdateUserMessageText(m.Content))
		case llm.RoleAssistant:
			if m.Content != "" {
				out = append(out, sdk.UpdateAgentMessageText(m.Content))
			}
			for _, c := range m.ToolCalls {
				title, locs, raw := describe(toolCall{ID: c.ID, Name: c.Name, Args: c.Arguments}, reg, abs)
				result, ok := results[c.ID]
				status := sdk.ToolCallStatusCompleted
				switch {
				case !ok:
					status, result = sdk.ToolCallStatusFailed, "(no result was recorded)"
				case strings.HasPrefix(result, "error: "):
					status = sdk.ToolCallStatusFailed
				}
				out = append(out, sdk.StartToolCall(sdk.ToolCallId(c.ID), title,
					sdk.WithStartKind(toolKind(reg, c.Name)),
					sdk.WithStartStatus(status),
					sdk.WithStartLocations(locs),
					sdk.WithStartRawInput(raw),
					sdk.WithStartContent([]sdk.ToolCallContent{sdk.ToolContent(sdk.TextBlock(result))})))
			}
		}
	}
	return out
}
