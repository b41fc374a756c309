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

// TestEditPromptAsksForInstruction: the edit prompt without its
// instruction asks the client's user for it (elicitation/create) when the
// client can be asked, and puts the answer in the prompt; a decline, a
// cancel or an empty answer is an error, as is a client that cannot be
// asked (it is told the argument is required). An instruction given, or a
// file that cannot be read, asks nobody.
func TestEditPromptAsksForInstruction(t *testing.T) {
	answer := func(action mcpgo.ElicitationResponseAction, content any) *mcpgo.ElicitationResult {
		return &mcpgo.ElicitationResult{ElicitationResponse: mcpgo.ElicitationResponse{Action: action, Content: content}}
	}
	tests := []struct {
		name      string
		args      map[string]string
		answer    *mcpgo.ElicitationResult // nil: the client cannot be asked
		wantText  string
		wantErr   string
		wantAsked bool
	}{
		{name: "asked and answered", args: map[string]string{"file": "calc.go"},
			answer: answer(mcpgo.ElicitationResponseActionAccept, map[string]any{"instruction": "rename Add to Sum"}), wantText: "rename Add to Sum", wantAsked: true},
		{name: "declined", args: map[string]string{"file": "calc.go"},
			answer: answer(mcpgo.ElicitationResponseActionDecline, nil), wantErr: "no instruction was given (the user answered decline)", wantAsked: true},
		{name: "cancelled", args: map[string]string{"file": "calc.go"},
			answer: answer(mcpgo.ElicitationResponseActionCancel, nil), wantErr: "no instruction was given", wantAsked: true},
		{name: "accepted empty", args: map[string]string{"file": "calc.go"},
			answer: answer(mcpgo.ElicitationResponseActionAccept, map[string]any{"instruction": "  "}), wantErr: "no instruction was given", wantAsked: true},
		{name: "a client that cannot be asked", args: map[string]string{"file": "calc.go"},
			wantErr: `"instruction" is required (this client cannot be asked for it`},
		{name: "given: nobody is asked", args: map[string]string{"file": "calc.go", "instruction": "add a comment"},
			answer: answer(mcpgo.ElicitationResponseActionAccept, map[string]any{"instruction": "not this"}), wantText: "add a comment"},
		{name: "a file outside the roots: nobody is asked", args: map[string]string{"file": "../elsewhere.go"},
			answer: answer(mcpgo.ElicitationResponseActionAccept, map[string]any{"instruction": "x"}), wantErr: "outside"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := files(t, map[string]string{"calc.go": "package calc\n\nfunc Add(a, b int) int { return a + b }\n"})
			s, err := New(Options{Roots: []string{dir}})
			if err != nil {
				t.Fatal(err)
			}
			u := &user{}
			caps := mcpgo.ClientCapabilities{}
			var opts []client.ClientOption
			if tc.answer != nil {
				u.answer = *tc.answer
				caps.Elicitation = &mcpgo.ElicitationCapability{Form: &struct{}{}}
				opts = append(opts, client.WithElicitationHandler(u))
			}
			c := connectStdio(t, s, caps, opts...)
			req := mcpgo.GetPromptRequest{}
			req.Params.Name, req.Params.Arguments = "edit", tc.args
			res, err := c.GetPrompt(timeout(t), req)
			u.mu.Lock()
			asked := append([]string(nil), u.asked...)
			u.mu.Unlock()
			if (len(asked) > 0) != tc.wantAsked {
				t.Errorf("the user was asked %q, want asked: %v", asked, tc.wantAsked)
			} else if tc.wantAsked && !strings.Contains(asked[0], "calc.go") {
				t.Errorf("the question %q does not name the file", asked[0])
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			first, _ := res.Messages[0].Content.(mcpgo.TextContent)
			if !strings.HasPrefix(first.Text, tc.wantText) || !strings.Contains(first.Text, "calc.go") {
				t.Errorf("prompt text %q, want it to start with %q", first.Text, tc.wantText)
			}
		})
	}
}
