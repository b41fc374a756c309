package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

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
	if !canElicitForm(ctx) {
		return nil
	}
	return elicitingApprover{srv: s.mcp}
}

// canElicitForm reports whether the client of ctx's request declared form
// elicitation and may be asked mid-request (before protocol 2026-07-28).
func canElicitForm(ctx context.Context) bool {
	if server.IsModernRequest(ctx) {
		return false
	}
	ci, ok := server.ClientSessionFromContext(ctx).(server.SessionWithClientInfo)
	if !ok {
		return false
	}
	e := ci.GetClientCapabilities().Elicitation
	// URL mode only: no form to answer.
	return e != nil && !(e.Form == nil && e.URL != nil)
}

// instructionSchema is the form the edit prompt asks its instruction with.
var instructionSchema = map[string]any{
	"type": "object",
	"properties": map[string]any{
		"instruction": map[string]any{"type": "string", "title": "Instruction", "description": "what to change, in plain words", "minLength": 1},
	},
	"required": []string{"instruction"},
}

// errNoInstruction: the user was asked for the instruction and gave none.
var errNoInstruction = errors.New("no instruction was given")

// elicitInstruction asks the client's user what to change in where
// (elicitation/create, form mode). A decline, a cancel or an empty answer
// is errNoInstruction.
func (s *Server) elicitInstruction(ctx context.Context, where string) (string, error) {
	res, err := s.mcp.RequestElicitation(ctx, mcpgo.ElicitationRequest{
		Request: mcpgo.Request{Method: string(mcpgo.MethodElicitationCreate)},
		Params: mcpgo.ElicitationParams{
			Mode:            "form",
			Message:         fmt.Sprintf("Loom: Edit with instruction. What should change in %s?", where),
			RequestedSchema: instructionSchema,
		},
	})
	if err != nil {
		return "", fmt.Errorf("asking the user for the instruction (elicitation/create): %w", err)
	}
	if res.Action != mcpgo.ElicitationResponseActionAccept {
		return "", fmt.Errorf("%w (the user answered %s)", errNoInstruction, res.Action)
	}
	raw, err := json.Marshal(res.Content)
	if err != nil {
		return "", errNoInstruction
	}
	var answer struct {
		Instruction string `json:"instruction"`
	}
	if json.Unmarshal(raw, &answer) != nil || strings.TrimSpace(answer.Instruction) == "" {
		return "", errNoInstruction
	}
	return strings.TrimSpace(answer.Instruction), nil
}
