package mcp

import (
	"context"
	"encoding/json"
	"fmt"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/loom-agent/loom/tools"
)

// consentSchema is the form a command's consent asks for: one yes/no,
// no by default.
var consentSchema = map[string]any{
	"type": "object",
	"properties": map[string]any{
		"allow": map[string]any{"type": "boolean", "title": "Allow this command", "default": false},
	},
	"required": []string{"allow"},
}

// elicitingApprover asks the client's user, with elicitation/create (form
// mode), before each command of a loom_agent run: the server's own policy
// is "never" (no --allow-shell), but a client that can ask its user lets
// the user decide, call by call. Anything but an accepted "allow": true
// denies.
type elicitingApprover struct{ srv *server.MCPServer }

func (a elicitingApprover) Approve(ctx context.Context, ap tools.Approval) (tools.Decision, error) {
	res, err := a.srv.RequestElicitation(ctx, mcpgo.ElicitationRequest{
		Request: mcpgo.Request{Method: string(mcpgo.MethodElicitationCreate)},
		Params: mcpgo.ElicitationParams{
			Mode:            "form",
			Message:         fmt.Sprintf("Loom's agent wants to run a command (%s) in the workspace:\n\n%s\n\nAllow it?", ap.Spec.Name, ap.Preview),
			RequestedSchema: consentSchema,
		},
	})
	if err != nil {
		return tools.Deny, fmt.Errorf("asking the user through the client (elicitation/create): %w", err)
	}
	if res.Action != mcpgo.ElicitationResponseActionAccept {
		return tools.Deny, nil
	}
	raw, err := json.Marshal(res.Content)
	if err != nil {
		return tools.Deny, nil
	}
	var answer struct {
		Allow bool `json:"allow"`
	}
	if json.Unmarshal(raw, &answer) != nil || !answer.Allow {
		return tools.Deny, nil
	}
	return tools.Allow, nil
}

// approverFor is the approver of a loom_agent run: the server's policy
// when it has one (--allow-shell), else the client's user through
// elicitation when the client declared form elicitation and may be asked
// mid-call (before protocol 2026-07-28), else none: commands are refused.
func (s *Server) approverFor(ctx context.Context) tools.Approver {
	if s.opts.Approver != nil {
		return s.opts.Approver
	}
	if server.IsModernRequest(ctx) {
		return nil
	}
	ci, ok := server.ClientSessionFromContext(ctx).(server.SessionWithClientInfo)
	if !ok {
		return nil
	}
	e := ci.GetClientCapabilities().Elicitation
	if e == nil || (e.Form == nil && e.URL != nil) {
		return nil // URL mode only: no form to answer
	}
	return elicitingApprover{srv: s.mcp}
}
