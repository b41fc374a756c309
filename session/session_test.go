package session

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loom-agent/loom/agent"
	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/llm/llmtest"
	"github.com/loom-agent/loom/workspace"
)

// newAgent is the real agent against a scripted model server.
func newAgent(t *testing.T, maxTurns int, turns ...llmtest.Turn) *agent.Agent {
	t.Helper()
	srv := llmtest.NewServer(t, llmtest.Script{Turns: turns})
	p, err := llm.NewOpenAI(llm.Config{Model: "test-model", BaseURL: srv.URL, APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	ag, err := agent.New(agent.Options{Provider: p, MaxTurns: maxTurns, RetryPolicy: llm.RetryPolicy{MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	return ag
}

func readDisk(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestThreadKeepsItsChangeset: a run's unapplied edits stay with its
// thread; continuing the thread starts from them (the model reads its own
// edit, not the disk); ApplyThread writes them without the model, once.
func TestThreadKeepsItsChangeset(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "greet.go"), []byte("package main\n\nconst hi = \"hi\"\n"), 0o644)
	ws, err := workspace.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	svc := &Service{Store: openStore(t)}
	ctx := context.Background()

	first, err := svc.Run(ctx, Request{Instruction: "say hello", Workspace: ws, Model: "test-model",
		Agent: newAgent(t, 5,
			llmtest.Turn{ToolCalls: []llmtest.ToolCall{
				{Name: "edit_file", Arguments: args(map[string]string{"path": "greet.go", "old_text": `"hi"`, "new_text": `"hello"`})},
			}},
			llmtest.Turn{Text: "Done."})})
	if err != nil || !first.Finished() || first.ThreadID == "" {
		t.Fatalf("first run: %v, %+v", err, first)
	}
	th, err := svc.Store.Get(ctx, first.ThreadID)
	if err != nil || len(th.Changes) != 1 || th.Changes[0].Path != "greet.go" || th.Changes[0].BaseHash == "" {
		t.Fatalf("the thread keeps %+v, %v; want the edit of greet.go with its base", th.Changes, err)
	}
	if got := readDisk(t, dir, "greet.go"); strings.Contains(got, "hello") {
		t.Fatal("the unapplied run wrote the disk")
	}

	// The second run reads greet.go: it must see its own staged edit.
	second, err := svc.Run(ctx, Request{Instruction: "now add a comment", Workspace: ws, ThreadID: first.ThreadID,
		Agent: newAgent(t, 5,
			llmtest.Turn{ToolCalls: []llmtest.ToolCall{{Name: "read_file", Arguments: args(map[string]string{"path": "greet.go"})}}},
			llmtest.Turn{ToolCalls: []llmtest.ToolCall{
				{Name: "edit_file", Arguments: args(map[string]string{"path": "greet.go", "old_text": "const", "new_text": "// Greeting.\nconst"})},
			}},
			llmtest.Turn{Text: "Commented."})})
	if err != nil || !second.Finished() {
		t.Fatalf("second run: %v, %+v", err, second)
	}
	var read string
	for _, m := range second.Transcript {
		if m.Role == llm.RoleTool && strings.Contains(m.Content, "const hi") {
			read = m.Content
			break
		}
	}
	if !strings.Contains(read, `"hello"`) {
		t.Errorf("continuing the thread, the model read %q; want its staged edit", read)
	}
	if !strings.Contains(second.Diff, `+const hi = "hello"`) || !strings.Contains(second.Diff, "+// Greeting.") {
		t.Errorf("the second run's diff lacks the first run's edit:\n%s", second.Diff)
	}

	changes, err := svc.ApplyThread(ctx, ws, first.ThreadID)
	if err != nil || len(changes) != 1 {
		t.Fatalf("ApplyThread: %d changes, %v", len(changes), err)
	}
	if got := readDisk(t, dir, "greet.go"); got != "package main\n\n// Greeting.\nconst hi = \"hello\"\n" {
		t.Errorf("after ApplyThread greet.go = %q", got)
	}
	if th, _ := svc.Store.Get(ctx, first.ThreadID); len(th.Changes) != 0 {
		t.Errorf("applied edits are still kept: %+v", th.Changes)
	}
	if changes, err := svc.ApplyThread(ctx, ws, first.ThreadID); err != nil || len(changes) != 0 {
		t.Errorf("a second ApplyThread: %d changes, %v; want nothing to do", len(changes), err)
	}
}

// TestApplyThreadRefusesConflicts: a thread's edits made against content
// the disk no longer holds are refused, nothing written, and kept.
func TestApplyThreadRefusesConflicts(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("a\n"), 0o644)
	ws, _ := workspace.New(dir)
	svc := &Service{Store: openStore(t)}
	ctx := context.Background()
	out, err := svc.Run(ctx, Request{Instruction: "edit a", Workspace: ws, Agent: newAgent(t, 5,
		llmtest.Turn{ToolCalls: []llmtest.ToolCall{{Name: "write_file", Arguments: args(map[string]string{"path": "a.txt", "content": "A\n"})}}},
		llmtest.Turn{Text: "Done."})})
	if err != nil || out.ThreadID == "" {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("mine\n"), 0o644)
	_, err = svc.ApplyThread(ctx, ws, out.ThreadID)
	var conflict *workspace.ConflictError
	if !errors.As(err, &conflict) {
		t.Fatalf("ApplyThread err = %v, want a conflict", err)
	}
	if got := readDisk(t, dir, "a.txt"); got != "mine\n" {
		t.Errorf("a.txt = %q after a refused apply", got)
	}
	if th, _ := svc.Store.Get(ctx, out.ThreadID); len(th.Changes) != 1 {
		t.Errorf("the refused edits were dropped: %+v", th.Changes)
	}
}

// TestApplyUnfinished: Outcome.Apply refuses a run stopped at its turn
// limit and writes nothing.
func TestApplyUnfinished(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("a\n"), 0o644)
	ws, _ := workspace.New(dir)
	svc := &Service{}
	out, err := svc.Run(context.Background(), Request{Instruction: "edit a", Workspace: ws, Agent: newAgent(t, 1,
		llmtest.Turn{ToolCalls: []llmtest.ToolCall{{Name: "write_file", Arguments: args(map[string]string{"path": "a.txt", "content": "A\n"})}}},
		llmtest.Turn{Text: "Done."})})
	if err != nil || out.StopReason != agent.StopMaxTurns || out.Diff == "" {
		t.Fatalf("run: %v, %s, diff %q", err, out.StopReason, out.Diff)
	}
	if err := out.Apply(context.Background()); !errors.Is(err, ErrUnfinished) {
		t.Errorf("Apply err = %v, want ErrUnfinished", err)
	}
	if got := readDisk(t, dir, "a.txt"); got != "a\n" {
		t.Errorf("a.txt = %q", got)
	}
}
