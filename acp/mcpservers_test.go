package acp

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	sdk "github.com/coder/acp-go-sdk"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/loom-agent/loom/llm/llmtest"
	"github.com/loom-agent/loom/thread"
)

// everything is the entry point of npm's @modelcontextprotocol/server-everything
// (pinned by test/e2e/mcpservers, installed by test/install.sh).
func everything(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "test", "e2e", "mcpservers", "node_modules", "@modelcontextprotocol", "server-everything", "dist", "index.js"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("server-everything is not installed: run test/install.sh (%v)", err)
	}
	return p
}

// lookupServer is a real streamable HTTP MCP server on loopback whose
// "lookup" tool answers only requests carrying X-Key: k1.
func lookupServer(t *testing.T) string {
	t.Helper()
	s := server.NewMCPServer("lookup", "1", server.WithToolCapabilities(false))
	s.AddTool(mcp.NewTool("lookup", mcp.WithString("q"), mcp.WithReadOnlyHintAnnotation(true), mcp.WithOpenWorldHintAnnotation(false)),
		func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText("found " + req.GetString("q", "")), nil
		})
	h := server.NewStreamableHTTPServer(s)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Key") != "k1" {
			http.Error(w, "no key", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	return ts.URL + "/mcp"
}

func closeSessions(f *fixture) {
	f.srv.mu.Lock()
	defer f.srv.mu.Unlock()
	for _, s := range f.srv.sessions {
		s.close()
	}
}

// TestSessionMCPServers: the stdio and HTTP servers a client gives in
// session/new are that session's: their tools are offered to its model and
// called (a real npm server over stdio, a real HTTP server with the
// client's header), and another session of the same connection sees none
// of them; session/load gives a session its servers again.
func TestSessionMCPServers(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is needed: run test/install.sh")
	}
	st, err := thread.Open(filepath.Join(t.TempDir(), "threads.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	url := lookupServer(t)
	turns := []llmtest.Turn{
		{ToolCalls: []llmtest.ToolCall{
			{ID: "e1", Name: "Everything_Server__echo", Arguments: args(t, map[string]string{"message": "hi from acp"})},
			{ID: "l1", Name: "web__lookup", Arguments: args(t, map[string]string{"q": "loom"})}}},
		{Text: "Both answered."},
		{Text: "No servers here."},
		{ToolCalls: []llmtest.ToolCall{{ID: "l2", Name: "web__lookup", Arguments: args(t, map[string]string{"q": "again"})}}},
		{Text: "Loaded."},
	}
	f := newFixture(t, llmtest.Script{Turns: turns}, fixtureOpts{store: st})
	t.Cleanup(func() { closeSessions(f) })
	init, err := f.srv.Initialize(context.Background(), sdk.InitializeRequest{ProtocolVersion: 1})
	if err != nil || !init.AgentCapabilities.McpCapabilities.Http || init.AgentCapabilities.McpCapabilities.Sse {
		t.Fatalf("initialize: mcpCapabilities %+v, %v", init.AgentCapabilities.McpCapabilities, err)
	}
	web := sdk.McpServer{Http: &sdk.McpServerHttpInline{Type: "http", Name: "web", Url: url,
		Headers: []sdk.HttpHeader{{Name: "X-Key", Value: "k1"}}}}
	servers := []sdk.McpServer{
		{Stdio: &sdk.McpServerStdio{Name: "Everything Server", Command: node, Args: []string{everything(t), "stdio"},
			Env: []sdk.EnvVariable{{Name: "NODE_NO_WARNINGS", Value: "1"}}}},
		web,
	}
	resp, err := f.srv.NewSession(context.Background(), sdk.NewSessionRequest{Cwd: f.root, McpServers: servers})
	if err != nil {
		t.Fatal(err)
	}
	if stop, err := f.prompt(t, context.Background(), resp.SessionId, "use the servers"); err != nil || stop != sdk.StopReasonEndTurn {
		t.Fatalf("prompt = %q, %v", stop, err)
	}
	offered := func(i int) []string {
		var names []string
		for _, tool := range f.model.ChatRequests()[i].Tools {
			names = append(names, tool.Function.Name)
		}
		return names
	}
	if names := offered(0); !slices.Contains(names, "Everything_Server__echo") || !slices.Contains(names, "web__lookup") {
		t.Errorf("the session's model was offered %v", names)
	}
	tm := strings.Join(f.toolMessages(), "\n")
	if !strings.Contains(tm, "hi from acp") || !strings.Contains(tm, "found loom") {
		t.Errorf("the model read %q", tm)
	}
	if sent := strings.Join(f.ed.sent(t), "\n"); !strings.Contains(sent, `"kind":"read"`) {
		t.Errorf("the calls were not shown as reads:\n%s", sent)
	}

	// Another session on the same connection has none of them.
	if _, err := f.prompt(t, context.Background(), f.newSession(t), "anything?"); err != nil {
		t.Fatal(err)
	}
	if names := offered(2); slices.ContainsFunc(names, func(n string) bool { return strings.Contains(n, "__") }) {
		t.Errorf("a session without servers was offered %v", names)
	}

	// session/load gives the session its servers (here, only the HTTP one).
	if _, err := f.srv.LoadSession(context.Background(), sdk.LoadSessionRequest{SessionId: resp.SessionId, Cwd: f.root,
		McpServers: []sdk.McpServer{web}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.prompt(t, context.Background(), resp.SessionId, "again"); err != nil {
		t.Fatal(err)
	}
	if names := offered(3); !slices.Contains(names, "web__lookup") || slices.Contains(names, "Everything_Server__echo") {
		t.Errorf("the loaded session was offered %v", names)
	}
	if tm := strings.Join(f.toolMessages(), "\n"); !strings.Contains(tm, "found again") {
		t.Errorf("after load the model read %q", tm)
	}
}

// TestSessionMCPServersRefused: a server Loom cannot run fails session/new
// with a message naming it, and opens no session.
func TestSessionMCPServersRefused(t *testing.T) {
	tests := []struct {
		name    string
		server  sdk.McpServer
		wantErr string
	}{
		{"sse", sdk.McpServer{Sse: &sdk.McpServerSseInline{Type: "sse", Name: "old", Url: "http://127.0.0.1:9/sse"}}, "SSE"},
		{"no command", sdk.McpServer{Stdio: &sdk.McpServerStdio{Name: "x"}}, `\"command\" is required`},
		{"no url", sdk.McpServer{Http: &sdk.McpServerHttpInline{Type: "http", Name: "x"}}, `\"url\" is required`},
		{"acp transport", sdk.McpServer{Acp: &sdk.McpServerAcpInline{Name: "x", Id: "1"}}, "transport"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, llmtest.Script{}, fixtureOpts{})
			_, err := f.srv.NewSession(context.Background(), sdk.NewSessionRequest{Cwd: f.root, McpServers: []sdk.McpServer{tt.server}})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one naming %q", err, tt.wantErr)
			}
			if len(f.srv.sessions) != 0 {
				t.Errorf("%d sessions opened", len(f.srv.sessions))
			}
		})
	}
}
