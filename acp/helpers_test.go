package acp

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	sdk "github.com/coder/acp-go-sdk"

	"github.com/loom-agent/loom/agent"
	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/llm/llmtest"
	loomsession "github.com/loom-agent/loom/session"
	"github.com/loom-agent/loom/thread"
	"github.com/loom-agent/loom/tools"
)

// editor stands in for an ACP client: it records what the server sends
// and answers permission, fs and terminal requests as a test sets it up.
type editor struct {
	mu       sync.Mutex
	updates  []sdk.SessionUpdate
	perms    []sdk.RequestPermissionRequest
	answer   string            // the option chosen; "" dismisses (cancelled)
	buffers  map[string]string // what fs/read_text_file returns, by absolute path
	writes   map[string]string // fs/write_text_file calls, by absolute path
	reads    []string
	commands []sdk.CreateTerminalRequest
	onUpdate func(sdk.SessionUpdate)
}

func newEditor(answer string) *editor {
	return &editor{answer: answer, buffers: map[string]string{}, writes: map[string]string{}}
}

func (e *editor) SessionUpdate(ctx context.Context, n sdk.SessionNotification) error {
	e.mu.Lock()
	e.updates = append(e.updates, n.Update)
	f := e.onUpdate
	e.mu.Unlock()
	if f != nil {
		f(n.Update)
	}
	return nil
}

func (e *editor) RequestPermission(ctx context.Context, p sdk.RequestPermissionRequest) (sdk.RequestPermissionResponse, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.perms = append(e.perms, p)
	if e.answer == "" {
		return sdk.RequestPermissionResponse{Outcome: sdk.RequestPermissionOutcome{Cancelled: &sdk.RequestPermissionOutcomeCancelled{Outcome: "cancelled"}}}, nil
	}
	return sdk.RequestPermissionResponse{Outcome: sdk.RequestPermissionOutcome{Selected: &sdk.RequestPermissionOutcomeSelected{Outcome: "selected", OptionId: sdk.PermissionOptionId(e.answer)}}}, nil
}

func (e *editor) ReadTextFile(ctx context.Context, p sdk.ReadTextFileRequest) (sdk.ReadTextFileResponse, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.reads = append(e.reads, p.Path)
	if text, ok := e.buffers[p.Path]; ok {
		return sdk.ReadTextFileResponse{Content: text}, nil
	}
	b, err := os.ReadFile(p.Path)
	if err != nil {
		return sdk.ReadTextFileResponse{}, sdk.NewInternalError(map[string]any{"error": err.Error()})
	}
	return sdk.ReadTextFileResponse{Content: string(b)}, nil
}

func (e *editor) WriteTextFile(ctx context.Context, p sdk.WriteTextFileRequest) (sdk.WriteTextFileResponse, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.writes[p.Path] = p.Content
	e.buffers[p.Path] = p.Content
	return sdk.WriteTextFileResponse{}, nil
}

// The terminal runs nothing: it reports a fixed output and exit status.
func (e *editor) CreateTerminal(ctx context.Context, p sdk.CreateTerminalRequest) (sdk.CreateTerminalResponse, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.commands = append(e.commands, p)
	return sdk.CreateTerminalResponse{TerminalId: "term-1"}, nil
}

func (e *editor) TerminalOutput(ctx context.Context, p sdk.TerminalOutputRequest) (sdk.TerminalOutputResponse, error) {
	return sdk.TerminalOutputResponse{Output: "ok 1 test\n"}, nil
}

func (e *editor) WaitForTerminalExit(ctx context.Context, p sdk.WaitForTerminalExitRequest) (sdk.WaitForTerminalExitResponse, error) {
	return sdk.WaitForTerminalExitResponse{ExitCode: sdk.Ptr(3)}, nil
}

func (e *editor) KillTerminal(ctx context.Context, p sdk.KillTerminalRequest) (sdk.KillTerminalResponse, error) {
	return sdk.KillTerminalResponse{}, nil
}

func (e *editor) ReleaseTerminal(ctx context.Context, p sdk.ReleaseTerminalRequest) (sdk.ReleaseTerminalResponse, error) {
	return sdk.ReleaseTerminalResponse{}, nil
}

// sent returns the updates so far as JSON lines, for assertions and
// failure messages.
func (e *editor) sent(t *testing.T) []string {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, u := range e.updates {
		b, err := json.Marshal(u)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

// hasUpdate reports whether an update contains every fragment.
func (e *editor) hasUpdate(t *testing.T, fragments ...string) bool {
	t.Helper()
	for _, u := range e.sent(t) {
		ok := true
		for _, f := range fragments {
			ok = ok && strings.Contains(u, f)
		}
		if ok {
			return true
		}
	}
	return false
}

// fixture is a server attached to an editor, on a workspace, with a
// scripted model.
type fixture struct {
	srv   *Server
	ed    *editor
	model *llmtest.Server
	root  string
}

type fixtureOpts struct {
	caps       sdk.ClientCapabilities
	answer     string
	files      map[string]string
	store      *thread.Store
	models     []string
	allowShell bool
	maxTurns   int
	tools      *tools.Registry // nil: the built-in tools
}

func newFixture(t *testing.T, script llmtest.Script, o fixtureOpts) *fixture {
	t.Helper()
	root := t.TempDir()
	for name, content := range o.files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	model := llmtest.NewServer(t, script)
	if o.models == nil {
		o.models = []string{"test-model"}
	}
	srv, err := New(Options{
		Version:    "test",
		Models:     o.models,
		AllowShell: o.allowShell,
		Sessions:   &loomsession.Service{Store: o.store},
		Tools:      o.tools,
		NewAgent: func(c AgentConfig) (loomsession.Runner, error) {
			p, err := llm.NewOpenAI(llm.Config{Model: c.Model, BaseURL: model.URL, APIKey: "k"})
			if err != nil {
				return nil, err
			}
			return agent.New(agent.Options{Provider: p, Model: c.Model, Tools: c.Tools,
				MaxTurns: o.maxTurns, RetryPolicy: llm.RetryPolicy{MaxAttempts: 1}})
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ed := newEditor(o.answer)
	srv.attach(ed)
	if _, err := srv.Initialize(context.Background(), sdk.InitializeRequest{ProtocolVersion: 1, ClientCapabilities: o.caps}); err != nil {
		t.Fatal(err)
	}
	return &fixture{srv: srv, ed: ed, model: model, root: root}
}

func (f *fixture) newSession(t *testing.T) sdk.SessionId {
	t.Helper()
	resp, err := f.srv.NewSession(context.Background(), sdk.NewSessionRequest{Cwd: f.root, McpServers: []sdk.McpServer{}})
	if err != nil {
		t.Fatal(err)
	}
	return resp.SessionId
}

func (f *fixture) prompt(t *testing.T, ctx context.Context, id sdk.SessionId, text string) (sdk.StopReason, error) {
	t.Helper()
	resp, err := f.srv.Prompt(ctx, sdk.PromptRequest{SessionId: id, Prompt: []sdk.ContentBlock{sdk.TextBlock(text)}})
	return resp.StopReason, err
}

func (f *fixture) read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(f.root, name))
	if errors.Is(err, os.ErrNotExist) {
		return "(absent)"
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// toolMessages returns the tool results the model was sent last.
func (f *fixture) toolMessages() []string {
	reqs := f.model.ChatRequests()
	var out []string
	if len(reqs) == 0 {
		return nil
	}
	for _, m := range reqs[len(reqs)-1].Messages {
		if m.Role == "tool" {
			out = append(out, m.Content)
		}
	}
	return out
}

func args(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
