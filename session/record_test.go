package session

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/loom-agent/loom/agent"
	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/llm/llmtest"
	"github.com/loom-agent/loom/thread"
	"github.com/loom-agent/loom/workspace"
)

// runAgent runs the real agent against a scripted model server in a
// workspace holding big.txt, recording into s.
func runAgent(t *testing.T, s *thread.Store, ws *workspace.Workspace, threadID, instruction string, turns ...llmtest.Turn) (*Recorder, agent.Result, error) {
	t.Helper()
	srv := llmtest.NewServer(t, llmtest.Script{Turns: turns})
	p, err := llm.NewOpenAI(llm.Config{Model: "test-model", BaseURL: srv.URL, APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	ag, err := agent.New(agent.Options{Provider: p, Model: "test-model", MaxTurns: 5,
		RetryPolicy: llm.RetryPolicy{MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rec, err := Record(ctx, s, RecordOptions{ThreadID: threadID, Instruction: instruction, Workspace: ws.Root(), Model: "test-model"})
	if err != nil {
		t.Fatal(err)
	}
	res, runErr := ag.Run(ctx, agent.Task{Instruction: instruction, Workspace: ws, History: rec.History()}, rec.Handle)
	if err := rec.Finish(res, runErr); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	return rec, res, runErr
}

func args(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// TestRecordAgentRuns records two runs of the real agent, the second
// continuing the first: the thread is exactly the agent's transcript,
// tool results whole (the events carry only previews).
func TestRecordAgentRuns(t *testing.T) {
	dir := t.TempDir()
	big := strings.Repeat("a line of the big file\n", 200)
	os.WriteFile(filepath.Join(dir, "big.txt"), []byte(big), 0o644)
	os.WriteFile(filepath.Join(dir, "greet.go"), []byte("package main\n\nconst hi = \"hi\"\n"), 0o644)
	ws, err := workspace.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := openStore(t)
	ctx := context.Background()

	rec, res, err := runAgent(t, s, ws, "", "Read big.txt and greet.go\nthen change the greeting",
		llmtest.Turn{Text: "Reading.", ToolCalls: []llmtest.ToolCall{
			{Name: "read_file", Arguments: args(map[string]string{"path": "big.txt"})},
			{Name: "read_file", Arguments: args(map[string]string{"path": "greet.go"})},
		}, Usage: &llmtest.Usage{PromptTokens: 100, CompletionTokens: 10}},
		llmtest.Turn{ToolCalls: []llmtest.ToolCall{
			{Name: "edit_file", Arguments: args(map[string]string{"path": "greet.go", "old_text": `"hi"`, "new_text": `"hello"`})},
		}, Usage: &llmtest.Usage{PromptTokens: 200, CompletionTokens: 20}},
		llmtest.Turn{Text: "Changed the greeting.", Usage: &llmtest.Usage{PromptTokens: 300, CompletionTokens: 30}},
	)
	if err != nil || res.StopReason != agent.StopDone {
		t.Fatalf("run: %v, %s", err, res.StopReason)
	}
	th, err := s.Get(ctx, rec.ID())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(th.Messages(), res.Transcript[1:]) {
		t.Errorf("the thread is not the transcript:\n%+v\nwant\n%+v", th.Messages(), res.Transcript[1:])
	}
	if c := th.Turns[1].Messages[1].Content; strings.Count(c, "a line of the big file") != 200 {
		t.Errorf("the big tool result was not stored whole: %d bytes", len(c))
	}
	diff, _ := res.Changes.Diff()
	if th.Status != thread.StatusDone || th.Diff != diff || !strings.Contains(diff, `+const hi = "hello"`) ||
		th.Title != "Read big.txt and greet.go" || th.Workspace != ws.Root() || th.Model != "test-model" {
		t.Errorf("thread %+v", th)
	}
	wantUsage := []llm.Usage{{}, {PromptTokens: 100, CompletionTokens: 10}, {PromptTokens: 200, CompletionTokens: 20}, {PromptTokens: 300, CompletionTokens: 30}}
	for i, turn := range th.Turns {
		if turn.N != i || turn.Usage != wantUsage[i] {
			t.Errorf("turn %d: n %d usage %+v, want %+v", i, turn.N, turn.Usage, wantUsage[i])
		}
	}
	if th.Usage != res.Usage {
		t.Errorf("usage %+v, want %+v", th.Usage, res.Usage)
	}

	// Continue the thread; the model then fails for good.
	rec2, res2, err := runAgent(t, s, ws, th.ID, "Now say bye",
		llmtest.Turn{Text: "Bye.", Usage: &llmtest.Usage{PromptTokens: 400, CompletionTokens: 40}},
	)
	if err != nil || rec2.ID() != th.ID || len(rec2.History()) != len(th.Messages()) {
		t.Fatalf("second run: %v, thread %s", err, rec2.ID())
	}
	th2, _ := s.Get(ctx, th.ID)
	if !reflect.DeepEqual(th2.Messages(), res2.Transcript[1:]) || len(th2.Turns) != 6 || th2.Title != th.Title {
		t.Errorf("continued thread: %d turns\n%+v\nwant\n%+v", len(th2.Turns), th2.Messages(), res2.Transcript[1:])
	}
	if th2.Usage.PromptTokens != 1000 || th2.Diff != "" || th2.Status != thread.StatusDone {
		t.Errorf("continued thread: usage %+v, diff %q, status %s", th2.Usage, th2.Diff, th2.Status)
	}

	_, _, err = runAgent(t, s, ws, th.ID, "Once more",
		llmtest.Turn{Fault: &llmtest.Fault{Status: 401, Message: "bad key"}})
	th3, _ := s.Get(ctx, th.ID)
	if err == nil || th3.Status != thread.StatusFailed || !strings.Contains(th3.Error, "bad key") || len(th3.Turns) != 7 {
		t.Errorf("failed run: err %v, status %s, error %q, %d turns", err, th3.Status, th3.Error, len(th3.Turns))
	}
	hits, err := s.Search(ctx, "greeting", thread.Filter{Workspace: ws.Root()})
	if err != nil || len(hits) != 1 || hits[0].Thread.ID != th.ID {
		t.Errorf("search: %+v, %v", hits, err)
	}
}

// TestRecorderEvents drives a Recorder with events alone, as a run that
// crashes before Finish would: each finished turn is in the database,
// with the previews the events carry and an answer for every call.
func TestRecorderEvents(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	rec, err := Record(ctx, s, RecordOptions{Instruction: "list files", Workspace: "/w", Model: "m"})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range []agent.Event{
		agent.StateChanged{From: agent.StateWaitingInput, To: agent.StateCallingModel},
		agent.TextDelta{Text: "broken "},
		agent.Retrying{Attempt: 2},
		agent.TextDelta{Text: "Let me "},
		agent.TextDelta{Text: "look."},
		agent.TurnFinished{Turn: 1, Usage: llm.Usage{PromptTokens: 5, CompletionTokens: 1}},
		agent.StateChanged{From: agent.StateCallingModel, To: agent.StateExecutingTools},
		agent.ToolStarted{ID: "a", Name: "list_dir", Args: `{"path":"."}`},
		agent.ToolStarted{ID: "b", Name: "glob", Args: `{"pattern":"*.go"}`},
		agent.ToolFinished{ID: "b", Name: "glob", Result: "main.go"},
		agent.ToolFinished{ID: "a", Name: "list_dir", Result: "main.go\ngo.mod"},
		agent.StateChanged{From: agent.StateExecutingTools, To: agent.StateCallingModel},
		agent.TurnFinished{Turn: 2},
		agent.StateChanged{From: agent.StateCallingModel, To: agent.StateExecutingTools},
		agent.ToolStarted{ID: "c", Name: "shell", Args: `{"command":"sleep 100"}`},
		agent.StateChanged{From: agent.StateExecutingTools, To: agent.StateCancelled},
	} {
		rec.Handle(ev)
	}
	if err := rec.Err(); err != nil {
		t.Fatal(err)
	}
	th, err := s.Get(ctx, rec.ID())
	if err != nil {
		t.Fatal(err)
	}
	want := []llm.Message{
		{Role: llm.RoleUser, Content: "list files"},
		{Role: llm.RoleAssistant, Content: "Let me look.", ToolCalls: []llm.ToolCall{
			{ID: "a", Name: "list_dir", Arguments: `{"path":"."}`}, {ID: "b", Name: "glob", Arguments: `{"pattern":"*.go"}`}}},
		{Role: llm.RoleTool, ToolCallID: "b", Content: "main.go"},
		{Role: llm.RoleTool, ToolCallID: "a", Content: "main.go\ngo.mod"},
		{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "c", Name: "shell", Arguments: `{"command":"sleep 100"}`}}},
		{Role: llm.RoleTool, ToolCallID: "c", Content: "error: the run stopped before this call finished"},
	}
	if !reflect.DeepEqual(th.Messages(), want) || th.Status != thread.StatusRunning || th.Usage.PromptTokens != 5 {
		t.Errorf("recorded %+v (status %s, usage %+v)\nwant %+v", th.Messages(), th.Status, th.Usage, want)
	}
	// Finish with a transcript that does not match keeps the recorded
	// turns and records the status.
	if err := rec.Finish(agent.Result{StopReason: agent.StopCancelled, Transcript: []llm.Message{{Role: llm.RoleUser, Content: "other"}}}, context.Canceled); err != nil {
		t.Fatal(err)
	}
	th, _ = s.Get(ctx, rec.ID())
	if len(th.Messages()) != len(want) || th.Status != thread.StatusCancelled || th.Error != "" {
		t.Errorf("after Finish: %d messages, status %s, error %q", len(th.Messages()), th.Status, th.Error)
	}
}

// TestRecordTitlesAnEmptyThread: a thread created before its first
// instruction (as an ACP session is) takes its title from that
// instruction; a thread with turns keeps its title.
func TestRecordTitlesAnEmptyThread(t *testing.T) {
	s, err := thread.Open(filepath.Join(t.TempDir(), "threads.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	th, err := s.Create(ctx, thread.Meta{Workspace: "/w"})
	if err != nil {
		t.Fatal(err)
	}
	for _, instruction := range []string{"Fix the parser\nwith details", "now the lexer"} {
		rec, err := Record(ctx, s, RecordOptions{ThreadID: th.ID, Instruction: instruction, Workspace: "/w"})
		if err != nil {
			t.Fatal(err)
		}
		if err := rec.Finish(agent.Result{StopReason: agent.StopDone}, nil); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Get(ctx, th.ID)
	if err != nil || got.Title != "Fix the parser" {
		t.Fatalf("title = %q, %v; want the first instruction's first line", got.Title, err)
	}
	if hits, err := s.Search(ctx, "parser", thread.Filter{}); err != nil || len(hits) != 1 || hits[0].Role != "title" && hits[0].Thread.ID != th.ID {
		t.Errorf("search for the new title = %+v, %v", hits, err)
	}
}

func openStore(t testing.TB) *thread.Store {
	t.Helper()
	s, err := thread.Open(filepath.Join(t.TempDir(), "loom", "threads.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
