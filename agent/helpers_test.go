package agent

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/llm/llmtest"
	"github.com/loom-agent/loom/tools"
	"github.com/loom-agent/loom/workspace"
)

// fixture is a workspace of real files in a temporary folder and a scripted
// model server.
type fixture struct {
	dir   string
	ws    *workspace.Workspace
	srv   *llmtest.Server
	files map[string]string
}

func newFixture(t testing.TB, files map[string]string, turns ...llmtest.Turn) *fixture {
	t.Helper()
	f := newFixtureFiles(t, files)
	f.srv = llmtest.NewServer(t, llmtest.Script{Turns: turns})
	return f
}

// newFixtureFiles writes files into a new workspace; the caller starts the
// server.
func newFixtureFiles(t testing.TB, files map[string]string) *fixture {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ws, err := workspace.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{dir: dir, ws: ws, files: files}
}

// agent returns an agent on the fixture's server. Retries wait no time, so
// tests of Retry-After stay fast while the Retrying events still carry the
// delays asked for.
func (f *fixture) agent(t testing.TB, opts Options, extra ...tools.Tool) *Agent {
	t.Helper()
	p, err := llm.NewOpenAI(llm.Config{Model: "test-model", BaseURL: f.srv.URL, APIKey: "test-key"})
	if err != nil {
		t.Fatal(err)
	}
	opts.Provider = p
	if opts.Tools == nil {
		opts.Tools = testRegistry(t, extra...)
	}
	if opts.RetryPolicy.Sleep == nil {
		opts.RetryPolicy.Sleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
	}
	a, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// testRegistry is the built-in tools plus grep and any test tools.
func testRegistry(t testing.TB, extra ...tools.Tool) *tools.Registry {
	t.Helper()
	reg, err := tools.NewBuiltinRegistry()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := reg.Get("grep"); !ok {
		extra = append([]tools.Tool{tools.Grep{}}, extra...)
	}
	for _, x := range extra {
		if err := reg.Add(x); err != nil {
			t.Fatal(err)
		}
	}
	return reg
}

// assertDiskUnchanged fails when any fixture file differs from what the
// test wrote: the agent must never write to disk.
func (f *fixture) assertDiskUnchanged(t testing.TB) {
	t.Helper()
	for name, want := range f.files {
		got, err := os.ReadFile(filepath.Join(f.dir, name))
		if err != nil {
			t.Fatalf("reading %s: %v", name, err)
		}
		if string(got) != want {
			t.Errorf("%s changed on disk:\n%s", name, got)
		}
	}
}

// recorder collects a run's events; it is safe for concurrent use so the
// test also notices if onEvent were ever called concurrently.
type recorder struct {
	mu     sync.Mutex
	busy   bool
	events []Event
	t      testing.TB
	hook   func(Event)
}

func (r *recorder) on(ev Event) {
	r.mu.Lock()
	if r.busy {
		r.t.Error("onEvent called concurrently")
	}
	r.busy = true
	r.events = append(r.events, ev)
	r.mu.Unlock()
	if r.hook != nil {
		r.hook(ev)
	}
	r.mu.Lock()
	r.busy = false
	r.mu.Unlock()
}

func (r *recorder) all() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

func eventsOf[T Event](r *recorder) []T {
	var out []T
	for _, ev := range r.all() {
		if e, ok := ev.(T); ok {
			out = append(out, e)
		}
	}
	return out
}

// args renders a tool call's arguments for a script.
func args(t testing.TB, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// toolMessages returns the tool messages of a recorded request by call id.
func toolMessages(req llmtest.ChatRequest) map[string]string {
	m := map[string]string{}
	for _, msg := range req.Messages {
		if msg.Role == "tool" {
			m[msg.ToolCallID] = msg.Content
		}
	}
	return m
}
