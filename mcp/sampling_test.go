package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	mcpgo "github.com/mark3labs/mcp-go/mcp"

	"github.com/loom-agent/loom/agent"
	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/session"
	"github.com/loom-agent/loom/tools"
	"github.com/loom-agent/loom/workspace"
)

func mustWorkspace(t *testing.T, dir string) *workspace.Workspace {
	t.Helper()
	ws, err := workspace.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	return ws
}

// sampledAgent builds Loom's real agent, with its built-in tools, on the
// model it is given: the client's, through sampling.
func sampledAgent(t *testing.T) func(*workspace.Workspace, llm.Provider) (session.Runner, error) {
	t.Helper()
	return func(ws *workspace.Workspace, p llm.Provider) (session.Runner, error) {
		reg, err := tools.NewBuiltinRegistry()
		if err != nil {
			return nil, err
		}
		return agent.New(agent.Options{Provider: p, Tools: reg, MaxTurns: 5})
	}
}

// scriptedClientModel is the client's model: it fixes calc.go with
// edit_file when the request offers tools, then says it is done; each
// request it received is kept.
type scriptedClientModel struct {
	mu   sync.Mutex
	reqs []mcpgo.CreateMessageRequest
}

func (m *scriptedClientModel) CreateMessage(_ context.Context, req mcpgo.CreateMessageRequest) (*mcpgo.CreateMessageResult, error) {
	m.mu.Lock()
	m.reqs = append(m.reqs, req)
	n := len(m.reqs)
	m.mu.Unlock()
	res := &mcpgo.CreateMessageResult{Model: "client-model", StopReason: "endTurn"}
	res.Role = mcpgo.RoleAssistant
	if n == 1 && len(req.CreateMessageParams.Tools) > 0 {
		res.StopReason = "toolUse"
		res.Content = []mcpgo.Content{mcpgo.NewTextContent("Fixing."), mcpgo.ToolUseContent{Type: "tool_use", ID: "call-1", Name: "edit_file",
			Input: map[string]any{"path": "calc.go", "old_text": "a - b", "new_text": "a + b"}}}
		return res, nil
	}
	res.Content = mcpgo.NewTextContent("Fixed Add.")
	return res, nil
}

func TestLoomAgentOnTheClientsModel(t *testing.T) {
	const buggy = "package calc\n\nfunc Add(a, b int) int { return a - b }\n"
	noModel := func(*workspace.Workspace) (session.Runner, error) {
		return nil, fmt.Errorf("%w: set LOOM_MODEL", llm.ErrNoModel)
	}
	tests := []struct {
		name       string
		opts       Options
		caps       mcpgo.ClientCapabilities
		noSampling bool // the client gets no sampling handler
		wantErr    string
		wantDisk   string
		wantTools  bool // the requests carried tools
	}{
		{name: "client samples with tools, no model configured", opts: Options{NewAgent: noModel},
			caps:     mcpgo.ClientCapabilities{Sampling: &mcpgo.SamplingCapability{Tools: &struct{}{}}},
			wantDisk: "return a + b", wantTools: true},
		{name: "no NewAgent at all", opts: Options{},
			caps:     mcpgo.ClientCapabilities{Sampling: &mcpgo.SamplingCapability{Tools: &struct{}{}}},
			wantDisk: "return a + b", wantTools: true},
		{name: "client samples without tools: text only", opts: Options{NewAgent: noModel},
			caps: mcpgo.ClientCapabilities{Sampling: &mcpgo.SamplingCapability{}}, wantDisk: "return a - b"},
		{name: "client without sampling", opts: Options{NewAgent: noModel}, noSampling: true,
			wantErr: "no model", wantDisk: "return a - b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := files(t, map[string]string{"calc.go": buggy})
			tc.opts.Roots, tc.opts.SampledAgent = []string{dir}, sampledAgent(t)
			s, err := New(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			model := &scriptedClientModel{}
			var opts []client.ClientOption
			if !tc.noSampling {
				opts = append(opts, client.WithSamplingHandler(model))
			}
			c := connectStdio(t, s, tc.caps, opts...)
			res := call(t, c, "loom_agent", map[string]any{"task": "fix Add", "apply": true})
			if tc.wantErr != "" {
				if !res.IsError || !strings.Contains(text(res), tc.wantErr) {
					t.Errorf("result %q, want an error containing %q", text(res), tc.wantErr)
				}
			} else if res.IsError {
				t.Fatalf("loom_agent failed: %s", text(res))
			} else if !strings.Contains(text(res), "Fixed Add.") {
				t.Errorf("summary %q, want the client model's answer", text(res))
			}
			disk, err := os.ReadFile(filepath.Join(dir, "calc.go"))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(disk), tc.wantDisk) {
				t.Errorf("calc.go is %q, want %q in it", disk, tc.wantDisk)
			}
			model.mu.Lock()
			defer model.mu.Unlock()
			for i, r := range model.reqs {
				if got := len(r.CreateMessageParams.Tools) > 0; got != tc.wantTools {
					t.Errorf("request %d carried tools: %v, want %v", i, got, tc.wantTools)
				}
				if r.CreateMessageParams.SystemPrompt == "" || r.CreateMessageParams.MaxTokens <= 0 {
					t.Errorf("request %d: system prompt %q, maxTokens %d", i, r.CreateMessageParams.SystemPrompt, r.CreateMessageParams.MaxTokens)
				}
			}
			if tc.wantTools {
				// The second request carries the tool's result, answering the call by its ID.
				raw, _ := json.Marshal(model.reqs[len(model.reqs)-1].CreateMessageParams.Messages)
				if !strings.Contains(string(raw), `"toolUseId":"call-1"`) || !strings.Contains(string(raw), `"type":"tool_use"`) {
					t.Errorf("the last request's history %s lacks the call and its result", raw)
				}
			}
		})
	}
}
