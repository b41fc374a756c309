package mcp

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	mcpgo "github.com/mark3labs/mcp-go/mcp"

	"github.com/loom-agent/loom/agent"
	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/llm/llmtest"
	"github.com/loom-agent/loom/session"
	"github.com/loom-agent/loom/tools"
	"github.com/loom-agent/loom/workspace"
)

// user answers elicitation/create as the client's user would.
type user struct {
	mu     sync.Mutex
	asked  []string
	answer mcpgo.ElicitationResult
}

func (u *user) Elicit(_ context.Context, req mcpgo.ElicitationRequest) (*mcpgo.ElicitationResult, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.asked = append(u.asked, req.Params.Message)
	res := u.answer
	return &res, nil
}

// TestLoomAgentAsksConsentThroughElicitation: without --allow-shell, a
// loom_agent run's command runs only when the client's user accepts it
// through elicitation; a decline, a cancel, an unchecked box or a client
// that cannot ask all leave it unrun.
func TestLoomAgentAsksConsentThroughElicitation(t *testing.T) {
	accept := func(content any) mcpgo.ElicitationResult {
		return mcpgo.ElicitationResult{ElicitationResponse: mcpgo.ElicitationResponse{Action: mcpgo.ElicitationResponseActionAccept, Content: content}}
	}
	tests := []struct {
		name      string
		answer    mcpgo.ElicitationResult
		noElicit  bool // the client declares no elicitation
		wantRun   bool
		wantAsked bool
	}{
		{name: "accepted", answer: accept(map[string]any{"allow": true}), wantRun: true, wantAsked: true},
		{name: "accepted unchecked", answer: accept(map[string]any{"allow": false}), wantAsked: true},
		{name: "declined", answer: mcpgo.ElicitationResult{ElicitationResponse: mcpgo.ElicitationResponse{Action: mcpgo.ElicitationResponseActionDecline}}, wantAsked: true},
		{name: "declined, with a checked box all the same", answer: mcpgo.ElicitationResult{ElicitationResponse: mcpgo.ElicitationResponse{
			Action: mcpgo.ElicitationResponseActionDecline, Content: map[string]any{"allow": true}}}, wantAsked: true},
		{name: "cancelled", answer: mcpgo.ElicitationResult{ElicitationResponse: mcpgo.ElicitationResponse{Action: mcpgo.ElicitationResponseActionCancel}}, wantAsked: true},
		{name: "a client that cannot ask", noElicit: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := files(t, map[string]string{"a.txt": "x\n"})
			model := llmtest.NewServer(t, llmtest.Script{Turns: []llmtest.Turn{
				{ToolCalls: []llmtest.ToolCall{{Name: "shell", Arguments: json.RawMessage(`{"command":"echo made > made.txt"}`)}}},
				{Text: "done"},
			}})
			s, err := New(Options{Roots: []string{dir}, NewAgent: func(ws *workspace.Workspace) (session.Runner, error) {
				p, err := llm.New(llm.Config{Provider: "openai", BaseURL: model.URL, Model: "m", APIKey: "k"})
				if err != nil {
					return nil, err
				}
				reg, err := tools.NewBuiltinRegistry()
				if err != nil {
					return nil, err
				}
				return agent.New(agent.Options{Provider: p, Tools: reg, MaxTurns: 4})
			}})
			if err != nil {
				t.Fatal(err)
			}
			u := &user{answer: tc.answer}
			caps := mcpgo.ClientCapabilities{Elicitation: &mcpgo.ElicitationCapability{Form: &struct{}{}}}
			var opts []client.ClientOption
			if tc.noElicit {
				caps = mcpgo.ClientCapabilities{}
			} else {
				opts = append(opts, client.WithElicitationHandler(u))
			}
			c := connectStdio(t, s, caps, opts...)
			res := call(t, c, "loom_agent", map[string]any{"task": "make made.txt"})
			if res.IsError {
				t.Fatalf("loom_agent: %s", text(res))
			}
			_, statErr := os.Stat(filepath.Join(dir, "made.txt"))
			if ran := statErr == nil; ran != tc.wantRun {
				t.Errorf("the command ran: %v, want %v", ran, tc.wantRun)
			}
			u.mu.Lock()
			defer u.mu.Unlock()
			if asked := len(u.asked) > 0; asked != tc.wantAsked {
				t.Fatalf("the user was asked: %v, want %v", asked, tc.wantAsked)
			}
			if tc.wantAsked && !strings.Contains(u.asked[0], "echo made > made.txt") {
				t.Errorf("the question %q does not show the command", u.asked[0])
			}
		})
	}
}
