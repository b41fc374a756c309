package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	mcpgo "github.com/mark3labs/mcp-go/mcp"

	"github.com/loom-agent/loom/llm/llmtest"
)

// The tests in this file drive the built binary (loomBin) with mcp-go's
// client over stdio and over streamable HTTP, in both protocol eras: the
// stateless 2026-07-28 core (mcp-go's default) and the initialize
// handshake of 2025-11-25 (what most clients speak today).

// lockedBuffer collects a child's stderr while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// mcpEnv is the child's environment: the scripted model when srv is set,
// else no model at all; never the user's config, cache or threads.
func mcpEnv(t *testing.T, srv *llmtest.Server) []string {
	env := []string{"LOOM_MODEL=", "LOOM_API_KEY=", "OPENAI_API_KEY=", "LOOM_LOG=info", "LOOM_MCP_TOKEN=",
		"XDG_CONFIG_HOME=" + t.TempDir(), "XDG_CACHE_HOME=" + t.TempDir(), "XDG_RUNTIME_DIR=" + t.TempDir(),
		"LOOM_DB=" + filepath.Join(t.TempDir(), "threads.db")}
	if srv != nil {
		env = append(env, "LOOM_MODEL=test-model", "LOOM_BASE_URL="+srv.URL)
	}
	return env
}

type mcpSetup struct {
	transport string // "stdio" or "http"
	protocol  string // "" (the client's newest) or a pinned version
}

func (s mcpSetup) String() string {
	p := s.protocol
	if p == "" {
		p = "newest"
	}
	return s.transport + "/" + p
}

var mcpSetups = []mcpSetup{
	{"stdio", ""},
	{"stdio", mcpgo.ProtocolVersion20251125},
	{"http", ""},
	{"http", mcpgo.ProtocolVersion20251125},
}

// mcpSession is an initialized client of a loom mcp child process.
type mcpSession struct {
	c      *client.Client
	stderr *lockedBuffer
}

// startMCP starts `loom mcp` on dir with the given transport and returns an
// initialized client; everything is stopped when the test ends.
func startMCP(t *testing.T, setup mcpSetup, dir string, env []string, extra ...string) *mcpSession {
	t.Helper()
	return startMCPClient(t, setup, nil, append([]string{"--root", dir}, extra...), env)
}

// startMCPClient is startMCP with client options and the whole argument
// list after "mcp".
func startMCPClient(t *testing.T, setup mcpSetup, opts []client.ClientOption, mcpArgs, env []string) *mcpSession {
	t.Helper()
	stderr := &lockedBuffer{}
	args := append([]string{"mcp"}, mcpArgs...)
	if setup.protocol != "" {
		opts = append(opts, client.WithProtocolVersion(setup.protocol))
	}
	var c *client.Client
	switch setup.transport {
	case "stdio":
		tr := transport.NewStdioWithOptions(loomBin, env, args, transport.WithCommandStderrWriter(stderr))
		if err := tr.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		c = client.NewClient(tr, opts...)
	case "http":
		h := startHTTPServer(t, env, stderr, args...)
		tr, err := transport.NewStreamableHTTP(h.url, transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + h.token}))
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		c = client.NewClient(tr, opts...)
	default:
		t.Fatalf("unknown transport %q", setup.transport)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	init := mcpgo.InitializeRequest{}
	init.Params.ClientInfo = mcpgo.Implementation{Name: "loom-test", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatalf("initialize: %v\nstderr:\n%s", err, stderr.String())
	}
	return &mcpSession{c: c, stderr: stderr}
}

// httpServer is a `loom mcp --http` child: its URL, and the token it
// generated ("" when it was given one or none).
type httpServer struct {
	url, token, tokenFile string
}

// startHTTPServer runs `loom mcp --http 127.0.0.1:0 ARGS`, reads the URL
// and the token file it prints; the process is terminated when the test
// ends.
func startHTTPServer(t *testing.T, env []string, stderr io.Writer, args ...string) httpServer {
	t.Helper()
	cmd := loomCommand(t, privateEnv(t, env...), append(args, "--http", "127.0.0.1:0")...)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(hangGuard):
			cmd.Process.Kill()
			t.Errorf("loom mcp --http did not stop within %v of SIGTERM", hangGuard)
			<-exited
		}
	})
	served := make(chan httpServer, 1)
	go func() {
		defer close(exited)
		var h httpServer
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(stderr, line)
			if rest, ok := strings.CutPrefix(line, "loom mcp: token file "); ok {
				h.tokenFile, _, _ = strings.Cut(rest, " ")
			}
			if u, ok := strings.CutPrefix(line, "loom mcp: serving "); ok {
				h.url = u
				served <- h
			}
		}
		cmd.Wait()
	}()
	select {
	case h := <-served:
		if h.tokenFile != "" {
			b, err := os.ReadFile(h.tokenFile)
			if err != nil {
				t.Fatal(err)
			}
			h.token = strings.TrimSpace(string(b))
		}
		return h
	case <-exited:
		t.Fatalf("loom mcp --http exited before serving")
	case <-time.After(hangGuard):
		t.Fatalf("loom mcp --http printed no URL within %v", hangGuard)
	}
	return httpServer{}
}

func callTool(t *testing.T, c *client.Client, name string, args any) *mcpgo.CallToolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	req := mcpgo.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	res, err := c.CallTool(ctx, req)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return res
}

func resultText(res *mcpgo.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(mcpgo.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// structured decodes a result's structured content into v.
func structured(t *testing.T, res *mcpgo.CallToolResult, v any) {
	t.Helper()
	raw := res.RawStructuredContent
	if len(raw) == 0 {
		var err error
		if raw, err = json.Marshal(res.StructuredContent); err != nil {
			t.Fatal(err)
		}
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("structured content %s: %v", raw, err)
	}
}

const greetDiff = "diff --git a/greet.go b/greet.go\n--- a/greet.go\n+++ b/greet.go\n@@ -1,3 +1,3 @@\n package main\n \n-func greeting() string { return \"hi\" }\n+func greeting() string { return \"hello\" }\n"

func TestMCPTools(t *testing.T) {
	for _, setup := range mcpSetups {
		t.Run(setup.String(), func(t *testing.T) {
			dir := project(t)
			s := startMCP(t, setup, dir, mcpEnv(t, nil))
			ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
			defer cancel()

			list, err := s.c.ListTools(ctx, mcpgo.ListToolsRequest{})
			if err != nil {
				t.Fatal(err)
			}
			byName := map[string]mcpgo.Tool{}
			for _, tool := range list.Tools {
				byName[tool.Name] = tool
			}
			for _, name := range []string{"loom_agent", "apply_changes", "read_file", "list_dir", "glob", "grep",
				"write_file", "edit_file", "apply_patch", "move_file", "delete_file",
				"outline", "find_symbol", "find_references", "repo_map", "syntax_check", "threads_search", "thread_show",
				"loom_ralph_start", "loom_ralph_status", "loom_ralph_stop"} {
				if _, ok := byName[name]; !ok {
					t.Errorf("tools/list lacks %s", name)
				}
			}
			if _, ok := byName["shell"]; ok {
				t.Error("shell is offered without --allow-shell")
			}
			if g := byName["grep"].Annotations; g.ReadOnlyHint == nil || !*g.ReadOnlyHint || g.IdempotentHint == nil || !*g.IdempotentHint {
				t.Errorf("grep annotations = %+v, want read-only and idempotent", g)
			}
			if a := byName["apply_changes"].Annotations; a.ReadOnlyHint == nil || *a.ReadOnlyHint || a.DestructiveHint == nil || !*a.DestructiveHint {
				t.Errorf("apply_changes annotations = %+v, want destructive, not read-only", a)
			}

			grep := callTool(t, s.c, "grep", map[string]any{"pattern": "func greeting"})
			if grep.IsError || !strings.Contains(resultText(grep), "greet.go:3:") {
				t.Errorf("grep = %q (isError %v)", resultText(grep), grep.IsError)
			}
			var gd struct {
				Total int `json:"total"`
			}
			structured(t, grep, &gd)
			if gd.Total != 1 {
				t.Errorf("grep structured total = %d, want 1", gd.Total)
			}
			// main.go's one definition, with its lines and signature.
			const wantOutline = "function main  L3-5  func main()\n"
			if out := callTool(t, s.c, "outline", map[string]any{"path": "main.go"}); out.IsError || resultText(out) != wantOutline {
				t.Errorf("outline = %q (isError %v), want %q", resultText(out), out.IsError, wantOutline)
			}

			// An edit returns its diff and writes nothing.
			edit := callTool(t, s.c, "edit_file", map[string]any{"path": "greet.go", "old_text": `return "hi"`, "new_text": `return "hello"`})
			var ed struct {
				Changed []string `json:"changed"`
				Diff    string   `json:"diff"`
			}
			structured(t, edit, &ed)
			if edit.IsError || ed.Diff != greetDiff || len(ed.Changed) != 1 {
				t.Fatalf("edit_file: isError %v, structured %+v; want diff\n%s", edit.IsError, ed, greetDiff)
			}
			if b, _ := os.ReadFile(filepath.Join(dir, "greet.go")); strings.Contains(string(b), "hello") {
				t.Fatal("edit_file wrote to disk")
			}

			// apply_changes writes it; applying it again is a conflict.
			applied := callTool(t, s.c, "apply_changes", map[string]any{"diff": ed.Diff})
			if applied.IsError {
				t.Fatalf("apply_changes: %s", resultText(applied))
			}
			if b, _ := os.ReadFile(filepath.Join(dir, "greet.go")); !strings.Contains(string(b), "hello") {
				t.Fatal("apply_changes did not write greet.go")
			}
			again := callTool(t, s.c, "apply_changes", map[string]any{"diff": ed.Diff})
			if !again.IsError || !strings.Contains(resultText(again), "nothing was written") {
				t.Errorf("second apply_changes = %q (isError %v), want a refusal", resultText(again), again.IsError)
			}

			// Failures are tool errors with a readable message; an unknown
			// tool is a protocol error.
			for _, tc := range []struct {
				tool string
				args map[string]any
				want string
			}{
				{"read_file", map[string]any{"path": "../../etc/passwd"}, "outside the workspace root"},
				{"read_file", map[string]any{"path": "nope.go"}, "nope.go"},
				{"edit_file", map[string]any{"path": "main.go", "old_txt": "x"}, "invalid arguments"},
				{"apply_changes", map[string]any{"diff": "not a diff"}, "nothing was written"},
				{"loom_agent", map[string]any{"task": "x"}, "no model configured"},
				{"loom_agent", map[string]any{"task": "x", "thread_id": "t1"}, `thread "t1" is unknown`},
				{"thread_show", map[string]any{"id": "t1"}, `thread "t1" is unknown`},
				{"threads_search", map[string]any{"query": "x", "status": "great"}, `status "great"`},
			} {
				res := callTool(t, s.c, tc.tool, tc.args)
				if !res.IsError || !strings.Contains(resultText(res), tc.want) {
					t.Errorf("%s %v = %q (isError %v), want an error mentioning %q", tc.tool, tc.args, resultText(res), res.IsError, tc.want)
				}
			}
			req := mcpgo.CallToolRequest{}
			req.Params.Name = "no_such_tool"
			if _, err := s.c.CallTool(ctx, req); err == nil || !strings.Contains(err.Error(), "no_such_tool") {
				t.Errorf("unknown tool: err = %v, want a JSON-RPC error naming it", err)
			}
		})
	}
}

// agentEditScript makes the agent call edit_file once and then finish.
func agentEditScript() llmtest.Script {
	return llmtest.Script{Turns: []llmtest.Turn{
		{ToolCalls: []llmtest.ToolCall{{Name: "edit_file",
			Arguments: json.RawMessage(`{"path":"greet.go","old_text":"return \"hi\"","new_text":"return \"hello\""}`)}}},
		{Text: "Changed the greeting to hello."},
	}}
}

func TestMCPAgentProgressAndApply(t *testing.T) {
	for _, setup := range mcpSetups {
		for _, apply := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/apply=%v", setup, apply), func(t *testing.T) {
				dir := project(t)
				srv := llmtest.NewServer(t, agentEditScript())
				s := startMCP(t, setup, dir, mcpEnv(t, srv))
				var mu sync.Mutex
				var progress []float64
				s.c.OnNotification(func(n mcpgo.JSONRPCNotification) {
					if n.Method != string(mcpgo.MethodNotificationProgress) {
						return
					}
					mu.Lock()
					defer mu.Unlock()
					if p, ok := n.Params.AdditionalFields["progress"].(float64); ok && n.Params.AdditionalFields["progressToken"] == "tok-1" {
						progress = append(progress, p)
					}
				})
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				req := mcpgo.CallToolRequest{}
				req.Params.Name = "loom_agent"
				req.Params.Arguments = map[string]any{"task": "say hello instead of hi", "files": []string{"greet.go"}, "apply": apply}
				req.Params.Meta = &mcpgo.Meta{ProgressToken: "tok-1"}
				res, err := s.c.CallTool(ctx, req)
				if err != nil {
					t.Fatalf("loom_agent: %v\nstderr:\n%s", err, s.stderr.String())
				}
				if res.IsError {
					t.Fatalf("loom_agent failed: %s\nstderr:\n%s", resultText(res), s.stderr.String())
				}
				var out struct {
					Summary      string   `json:"summary"`
					Diff         string   `json:"diff"`
					FilesChanged []string `json:"files_changed"`
					Applied      bool     `json:"applied"`
					ThreadID     string   `json:"thread_id"`
					StopReason   string   `json:"stop_reason"`
				}
				structured(t, res, &out)
				if out.Diff != greetDiff || out.Summary != "Changed the greeting to hello." || out.Applied != apply ||
					strings.Join(out.FilesChanged, ",") != "greet.go" || out.StopReason != "done" || out.ThreadID == "" {
					t.Errorf("result = %+v\nwant the diff\n%s", out, greetDiff)
				}
				if !strings.Contains(resultText(res), greetDiff) {
					t.Errorf("the text content lacks the diff:\n%s", resultText(res))
				}
				b, _ := os.ReadFile(filepath.Join(dir, "greet.go"))
				if onDisk := strings.Contains(string(b), "hello"); onDisk != apply {
					t.Errorf("greet.go on disk has the edit: %v, want %v", onDisk, apply)
				}
				// One step per tool call and per model turn: edit_file,
				// turn 1, turn 2; they arrive before the response.
				mu.Lock()
				defer mu.Unlock()
				if len(progress) != 3 || progress[0] != 1 || progress[1] != 2 || progress[2] != 3 {
					t.Errorf("progress = %v, want [1 2 3]", progress)
				}
			})
		}
	}
}

// TestMCPAgentApplyUnfinished: loom_agent with apply=true on a server
// started with --max-turns 1, whose model edits and then needs another
// turn, writes nothing, returns the edit and says it was not applied.
func TestMCPAgentApplyUnfinished(t *testing.T) {
	for _, setup := range []mcpSetup{{"stdio", ""}, {"http", mcpgo.ProtocolVersion20251125}} {
		t.Run(setup.String(), func(t *testing.T) {
			dir := project(t)
			before, _ := os.ReadFile(filepath.Join(dir, "greet.go"))
			srv := llmtest.NewServer(t, agentEditScript())
			s := startMCP(t, setup, dir, mcpEnv(t, srv), "--max-turns", "1")
			res := callTool(t, s.c, "loom_agent", map[string]any{"task": "say hello instead of hi", "apply": true})
			var out struct {
				Diff       string `json:"diff"`
				Applied    bool   `json:"applied"`
				StopReason string `json:"stop_reason"`
			}
			structured(t, res, &out)
			if out.Applied || out.StopReason != "max_turns" || out.Diff != greetDiff {
				t.Errorf("result = %+v, want not applied, stopped at max_turns, with the diff", out)
			}
			if !strings.Contains(resultText(res), "Not applied, although apply=true: the run did not finish") {
				t.Errorf("the text does not say the edit was not applied:\n%s", resultText(res))
			}
			if after, _ := os.ReadFile(filepath.Join(dir, "greet.go")); !bytes.Equal(after, before) {
				t.Errorf("greet.go was written by an unfinished run:\n%s", after)
			}
		})
	}
}

func TestMCPAgentCancel(t *testing.T) {
	for _, setup := range []mcpSetup{{"stdio", ""}, {"stdio", mcpgo.ProtocolVersion20251125}, {"http", ""}} {
		t.Run(setup.String(), func(t *testing.T) {
			dir := project(t)
			// A first answer that never ends, so only the cancel can stop
			// the run, then a turn that writes x.txt, which a cancelled
			// run never asks for.
			endless := llmtest.Turn{Text: "thinking ", Fault: &llmtest.Fault{Endless: true, ChunkDelayMS: 20}}
			write := llmtest.Turn{ToolCalls: []llmtest.ToolCall{{Name: "write_file", Arguments: json.RawMessage(`{"path":"x.txt","content":"x"}`)}}}
			srv := llmtest.NewServer(t, llmtest.Script{Turns: []llmtest.Turn{endless, write, {Text: "done"}}})
			s := startMCP(t, setup, dir, mcpEnv(t, srv))

			ctx, cancel := context.WithCancel(context.Background())
			req := mcpgo.CallToolRequest{}
			req.Params.Name = "loom_agent"
			req.Params.Arguments = map[string]any{"task": "write x.txt", "apply": true}
			errc := make(chan error, 1)
			go func() {
				_, err := s.c.CallTool(ctx, req)
				errc <- err
			}()
			// Cancel once the model is answering.
			waitFor(t, hangGuard, "the model request", func() bool { return len(srv.Requests()) == 1 })
			cancel()
			select {
			case err := <-errc:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("CallTool after cancel: %v, want context.Canceled", err)
				}
			case <-time.After(hangGuard):
				t.Fatalf("CallTool did not return within %v of cancelling", hangGuard)
			}
			// The server stops the run itself: its log says so, and the
			// answer never ends by itself.
			waitFor(t, hangGuard, "the run to stop", func() bool {
				return strings.Contains(s.stderr.String(), `loom_agent ended" stop=cancelled`)
			})
			// The session still works, the model was not asked again and
			// nothing was written.
			if res := callTool(t, s.c, "list_dir", map[string]any{}); res.IsError {
				t.Errorf("list_dir after cancel: %s", resultText(res))
			}
			if n := len(srv.Requests()); n != 1 {
				t.Errorf("the model got %d requests, want 1", n)
			}
			if _, err := os.Stat(filepath.Join(dir, "x.txt")); err == nil {
				t.Error("a cancelled run wrote x.txt")
			}
		})
	}
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
	}
}

// rootsHandler offers fixed roots to the server.
type rootsHandler []string

func (r rootsHandler) ListRoots(ctx context.Context, _ mcpgo.ListRootsRequest) (*mcpgo.ListRootsResult, error) {
	res := &mcpgo.ListRootsResult{Roots: []mcpgo.Root{}}
	for _, dir := range r {
		res.Roots = append(res.Roots, mcpgo.Root{URI: "file://" + dir, Name: filepath.Base(dir)})
	}
	return res, nil
}

// TestMCPRoots checks that the workspace is the --root folders, or the
// client's roots when it offers them, and nothing outside.
func TestMCPRoots(t *testing.T) {
	write := func(t *testing.T, dir, name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	first, second, other := t.TempDir(), t.TempDir(), t.TempDir()
	write(t, first, "a.txt", "in first\n")
	write(t, second, "b.txt", "in second\n")
	write(t, other, "c.txt", "elsewhere\n")
	tests := []struct {
		name  string
		setup mcpSetup
		roots rootsHandler // offered by the client; nil: none
		path  string
		want  string // in the text of a success; "" means an error
	}{
		{"flag root, relative", mcpSetup{"stdio", ""}, nil, "a.txt", "in first"},
		{"second flag root, absolute", mcpSetup{"stdio", ""}, nil, filepath.Join(second, "b.txt"), "in second"},
		{"relative goes to the first root", mcpSetup{"stdio", ""}, nil, "b.txt", ""},
		{"outside the flag roots", mcpSetup{"stdio", ""}, nil, filepath.Join(other, "c.txt"), ""},
		{"client root replaces the flags", mcpSetup{"stdio", ""}, rootsHandler{other}, "c.txt", "elsewhere"},
		{"client root replaces the flags, 2025-11-25", mcpSetup{"stdio", mcpgo.ProtocolVersion20251125}, rootsHandler{other}, "c.txt", "elsewhere"},
		{"flag root unreachable with client roots", mcpSetup{"stdio", ""}, rootsHandler{other}, filepath.Join(first, "a.txt"), ""},
		{"flag root unreachable with client roots, 2025-11-25", mcpSetup{"stdio", mcpgo.ProtocolVersion20251125}, rootsHandler{other}, filepath.Join(first, "a.txt"), ""},
		{"no client roots leaves the flags", mcpSetup{"stdio", mcpgo.ProtocolVersion20251125}, rootsHandler{}, "a.txt", "in first"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []client.ClientOption
			if tt.roots != nil {
				opts = append(opts, client.WithRootsHandler(tt.roots))
			}
			s := startMCPClient(t, tt.setup, opts, []string{"--root", first, "--root", second}, mcpEnv(t, nil))
			res := callTool(t, s.c, "read_file", map[string]any{"path": tt.path})
			switch {
			case tt.want == "" && !res.IsError:
				t.Errorf("read_file %s succeeded: %s", tt.path, resultText(res))
			case tt.want != "" && (res.IsError || !strings.Contains(resultText(res), tt.want)):
				t.Errorf("read_file %s = %q (isError %v), want %q", tt.path, resultText(res), res.IsError, tt.want)
			}
		})
	}
}

// TestMCPStdoutIsProtocolOnly speaks raw JSON lines to the binary, bad ones
// included: every line on stdout is a JSON-RPC 2.0 message.
func TestMCPStdoutIsProtocolOnly(t *testing.T) {
	dir := project(t)
	cmd := loomCommand(t, privateEnv(t, mcpEnv(t, nil)...), "mcp", "--root", dir, "--log-level", "debug")
	in := strings.Join([]string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`,
		`this is not JSON`,
		`{"jsonrpc":"2.0","id":3,"method":"no/such/method"}`,
		`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"read_file","arguments":{"path":"main.go"}}}`,
		`{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"grep","arguments":["not","an","object"]}}`,
		`{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"nope"}}`,
	}, "\n") + "\n"
	// Input ends right after the last request, as when a script pipes
	// requests in: the server still answers every one before it exits.
	cmd.Stdin = strings.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("loom mcp: %v\n%s", err, stderr.String())
	}
	byID := map[string]map[string]json.RawMessage{}
	for _, line := range strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n") {
		var msg map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &msg); err != nil || string(msg["jsonrpc"]) != `"2.0"` {
			t.Fatalf("stdout line is not a JSON-RPC message: %q", line)
		}
		byID[string(msg["id"])] = msg
	}
	tests := []struct {
		id, field, want string
	}{
		{"1", "result", `"serverInfo":{"name":"loom"`},
		{"2", "result", `"name":"loom_agent"`},
		{"null", "error", `-32700`},
		{"3", "error", `-32601`},
		{"4", "result", `func main()`},
		{"5", "result", `"isError":true`},
		{"6", "error", `nope`},
	}
	for _, tt := range tests {
		if got := string(byID[tt.id][tt.field]); !strings.Contains(got, tt.want) {
			t.Errorf("id %s: %s = %s, want it to contain %s", tt.id, tt.field, got, tt.want)
		}
	}
}

func TestMCPHTTPToken(t *testing.T) {
	dir := project(t)
	env := mcpEnv(t, nil)
	url := startHTTPServer(t, append(env, "LOOM_MCP_TOKEN=s3cret"), io.Discard, "mcp", "--root", dir).url
	connect := func(headers map[string]string) error {
		tr, err := transport.NewStreamableHTTP(url, transport.WithHTTPHeaders(headers))
		if err != nil {
			return err
		}
		c := client.NewClient(tr, client.WithProtocolVersion(mcpgo.ProtocolVersion20251125))
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
		defer cancel()
		if err := c.Start(ctx); err != nil {
			return err
		}
		init := mcpgo.InitializeRequest{}
		init.Params.ClientInfo = mcpgo.Implementation{Name: "loom-test", Version: "1"}
		_, err = c.Initialize(ctx, init)
		return err
	}
	for _, tc := range []struct {
		name    string
		headers map[string]string
		ok      bool
	}{
		{"no token", nil, false},
		{"wrong token", map[string]string{"Authorization": "Bearer nope"}, false},
		{"right token", map[string]string{"Authorization": "Bearer s3cret"}, true},
	} {
		if err := connect(tc.headers); (err == nil) != tc.ok {
			t.Errorf("%s: initialize error %v, want success %v", tc.name, err, tc.ok)
		}
	}

	// Off loopback, a token is required.
	for _, args := range [][]string{
		{"mcp", "--http", "0.0.0.0:0"},
		{"mcp", "--http", "[::]:0"},
		{"mcp", "--token", "x"},
	} {
		cmd := loomCommand(t, privateEnv(t, env...), args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != exitUsage {
			t.Errorf("loom %v: %v, want exit %d\n%s", args, err, exitUsage, stderr.String())
		}
	}
}

// TestMCPThreads records a loom_agent run, finds it with threads_search,
// reads it with thread_show and continues it with thread_id: the model's
// next request carries the first run's conversation.
func TestMCPThreads(t *testing.T) {
	for _, setup := range []mcpSetup{{"stdio", ""}, {"http", mcpgo.ProtocolVersion20251125}} {
		t.Run(setup.String(), func(t *testing.T) {
			dir := project(t)
			script := agentEditScript()
			script.Turns = append(script.Turns, llmtest.Turn{Text: "It already says hello."})
			srv := llmtest.NewServer(t, script)
			s := startMCP(t, setup, dir, mcpEnv(t, srv))

			var first struct {
				ThreadID string `json:"thread_id"`
			}
			res := callTool(t, s.c, "loom_agent", map[string]any{"task": "say hello instead of hi"})
			structured(t, res, &first)
			if res.IsError || first.ThreadID == "" || !strings.Contains(resultText(res), "Thread "+first.ThreadID) {
				t.Fatalf("loom_agent = %q (isError %v), want a thread ID in both forms\nstderr:\n%s", resultText(res), res.IsError, s.stderr.String())
			}

			search := callTool(t, s.c, "threads_search", map[string]any{"query": "greeting", "workspace": "."})
			var hits struct {
				Hits []struct{ ID, Title, Status, Snippet string }
			}
			structured(t, search, &hits)
			if search.IsError || len(hits.Hits) != 1 || hits.Hits[0].ID != first.ThreadID ||
				hits.Hits[0].Title != "say hello instead of hi" || hits.Hits[0].Status != "done" || !strings.Contains(hits.Hits[0].Snippet, "«") {
				t.Errorf("threads_search = %q, structured %+v", resultText(search), hits)
			}

			show := callTool(t, s.c, "thread_show", map[string]any{"id": first.ThreadID[:6]})
			for _, want := range []string{"# say hello instead of hi", "Tool call `edit_file`", "Changed the greeting to hello.", greetDiff} {
				if show.IsError || !strings.Contains(resultText(show), want) {
					t.Errorf("thread_show lacks %q:\n%s", want, resultText(show))
				}
			}

			var second struct {
				ThreadID string `json:"thread_id"`
				Summary  string `json:"summary"`
			}
			res = callTool(t, s.c, "loom_agent", map[string]any{"task": "is it hello now?", "thread_id": first.ThreadID})
			structured(t, res, &second)
			if res.IsError || second.ThreadID != first.ThreadID || second.Summary != "It already says hello." {
				t.Fatalf("continuing: %q (isError %v), structured %+v", resultText(res), res.IsError, second)
			}
			reqs := srv.ChatRequests()
			var said []string
			for _, m := range reqs[len(reqs)-1].Messages {
				if m.Role == "user" || m.Role == "assistant" {
					said = append(said, m.Role+": "+m.Content)
				}
			}
			if len(said) < 4 || said[0] != "user: say hello instead of hi" || said[len(said)-1] != "user: is it hello now?" ||
				!slices.Contains(said, "assistant: Changed the greeting to hello.") {
				t.Errorf("the continued run's request said %q, want the first conversation then the new task", said)
			}
		})
	}
}

// TestMCPWithoutThreads: a database that cannot be opened leaves the
// server running without the thread tools, and says why when a client
// asks to continue a thread.
func TestMCPWithoutThreads(t *testing.T) {
	dir := project(t)
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s := startMCP(t, mcpSetup{"stdio", ""}, dir, mcpEnv(t, nil), "--db", filepath.Join(blocker, "threads.db"))
	list, err := s.c.ListTools(context.Background(), mcpgo.ListToolsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range list.Tools {
		if tool.Name == "threads_search" || tool.Name == "thread_show" {
			t.Errorf("%s is offered without a thread database", tool.Name)
		}
	}
	res := callTool(t, s.c, "loom_agent", map[string]any{"task": "x", "thread_id": "abc"})
	if want := "threads are unavailable on this server: thread database: mkdir " + blocker; !res.IsError || !strings.Contains(resultText(res), want) {
		t.Errorf("loom_agent thread_id = %q (isError %v), want an error with %q", resultText(res), res.IsError, want)
	}
	if !strings.Contains(s.stderr.String(), "threads are not recorded") {
		t.Errorf("no warning on stderr:\n%s", s.stderr.String())
	}
}
