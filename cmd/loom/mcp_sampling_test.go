package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mark3labs/mcp-go/client"
	mcpgo "github.com/mark3labs/mcp-go/mcp"

	"github.com/loom-agent/loom/llm/llmtest"
)

// clientModel plays the MCP client's model over sampling/createMessage:
// it edits greet.go with edit_file, then says it is done.
type clientModel struct {
	mu    sync.Mutex
	calls int
}

func (m *clientModel) CreateMessage(_ context.Context, req mcpgo.CreateMessageRequest) (*mcpgo.CreateMessageResult, error) {
	m.mu.Lock()
	m.calls++
	n := m.calls
	m.mu.Unlock()
	res := &mcpgo.CreateMessageResult{Model: "client-model", StopReason: "endTurn"}
	res.Role = mcpgo.RoleAssistant
	if n == 1 && len(req.Tools) > 0 {
		res.StopReason = "toolUse"
		res.Content = mcpgo.ToolUseContent{Type: "tool_use", ID: "c1", Name: "edit_file",
			Input: map[string]any{"path": "greet.go", "old_text": `return "hi"`, "new_text": `return "hello"`}}
		return res, nil
	}
	res.Content = mcpgo.NewTextContent("Changed the greeting on the client's model.")
	return res, nil
}

// TestMCPAgentOnTheClientsModel: `loom mcp` with no model configured (or
// with --sampling beside a configured one, which then gets no request)
// runs loom_agent on the client's model through sampling, and the edit
// reaches the disk. Over streamable HTTP mcp-go sends the server's requests
// on the GET stream, which a client opens when it wants them (the
// TypeScript SDK's client does; client.test.mjs covers it).
func TestMCPAgentOnTheClientsModel(t *testing.T) {
	for _, transport := range []string{"stdio"} {
		for _, configured := range []bool{false, true} {
			name := transport + "/no model"
			if configured {
				name = transport + "/--sampling beside a model"
			}
			t.Run(name, func(t *testing.T) {
				dir := project(t)
				var srv *llmtest.Server
				args := []string{"--root", dir}
				if configured {
					srv = llmtest.NewServer(t, agentEditScript())
					args = append(args, "--sampling")
				}
				model := &clientModel{}
				s := startMCPClient(t, mcpSetup{transport, mcpgo.ProtocolVersion20251125}, []client.ClientOption{
					client.WithSamplingHandler(model),
					client.WithClientCapabilities(mcpgo.ClientCapabilities{Sampling: &mcpgo.SamplingCapability{Tools: &struct{}{}}}),
				}, args, mcpEnv(t, srv))
				res := callTool(t, s.c, "loom_agent", map[string]any{"task": "say hello", "apply": true})
				if res.IsError {
					t.Fatalf("loom_agent: %s\nstderr:\n%s", resultText(res), s.stderr.String())
				}
				if !strings.Contains(resultText(res), "on the client's model") {
					t.Errorf("summary %q, want the client model's", resultText(res))
				}
				got, err := os.ReadFile(filepath.Join(dir, "greet.go"))
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(string(got), `return "hello"`) {
					t.Errorf("greet.go %q: the client model's edit was not applied", got)
				}
				if srv != nil && len(srv.Requests()) != 0 {
					t.Errorf("the configured model got %d requests with --sampling", len(srv.Requests()))
				}
			})
		}
	}
}
