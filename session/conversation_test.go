package session

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loom-agent/loom/agent"
	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/llm/llmtest"
	"github.com/loom-agent/loom/thread"
	"github.com/loom-agent/loom/workspace"
)

// sawEarlier reports whether a run's transcript holds an earlier run's
// instruction: the run was told the conversation so far.
func sawEarlier(out Outcome, instruction string) bool {
	for _, m := range out.Transcript {
		if m.Role == llm.RoleUser && m.Content == instruction {
			return true
		}
	}
	return false
}

// TestConversation: each run of a conversation continues the one before,
// in its thread with a store (which LoadConversation reopens), in memory
// without one, and in memory again when the thread cannot be recorded any
// more: the user's work goes on.
func TestConversation(t *testing.T) {
	tests := []struct {
		name       string
		store      bool
		breakStore bool // close the store after the first run
		wantThread bool // the second run is recorded in the thread
	}{
		{name: "in its thread", store: true, wantThread: true},
		{name: "in memory without a store"},
		{name: "in memory when the store breaks", store: true, breakStore: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws, err := workspace.New(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			svc := &Service{}
			var st *thread.Store
			if tt.store {
				st, err = thread.Open(filepath.Join(t.TempDir(), "threads.db"))
				if err != nil {
					t.Fatal(err)
				}
				defer st.Close()
				svc.Store = st
			}
			ctx := context.Background()
			conv, err := svc.StartConversation(ctx, ws.Root(), "test-model")
			if err != nil {
				t.Fatal(err)
			}
			if !tt.store && !strings.HasPrefix(conv.ID(), "loom-") || tt.store && len(conv.ID()) == 0 {
				t.Fatalf("conversation ID %q", conv.ID())
			}
			first, err := conv.Run(ctx, Request{Instruction: "first question", Workspace: ws, Model: "test-model",
				Agent: newAgent(t, 5, llmtest.Turn{Text: "First answer."})})
			if err != nil || !first.Finished() {
				t.Fatalf("first run: %v, %+v", err, first)
			}
			if tt.store && first.ThreadID != conv.ID() {
				t.Errorf("the first run was recorded in %q, not the conversation's thread %s", first.ThreadID, conv.ID())
			}
			if tt.breakStore {
				st.Close()
			}
			second, err := conv.Run(ctx, Request{Instruction: "second question", Workspace: ws,
				Agent: newAgent(t, 5, llmtest.Turn{Text: "Second answer."})})
			if err != nil || !second.Finished() {
				t.Fatalf("second run: %v, %+v", err, second)
			}
			if !sawEarlier(second, "first question") {
				t.Errorf("the second run was not told the first: %+v", second.Transcript)
			}
			if got := (second.ThreadID == conv.ID()); got != tt.wantThread {
				t.Errorf("second run recorded in %q (conversation %s); want in its thread: %v", second.ThreadID, conv.ID(), tt.wantThread)
			}
			if h := conv.History(); len(h) != 4 || h[0].Content != "first question" || h[3].Content != "Second answer." {
				t.Errorf("history = %+v, want both exchanges without the system prompt", h)
			}
			if !tt.wantThread {
				return
			}
			loaded, err := svc.LoadConversation(ctx, conv.ID())
			if err != nil {
				t.Fatal(err)
			}
			if h := loaded.History(); loaded.Model() != "test-model" || len(h) != 4 || h[2].Content != "second question" {
				t.Errorf("loaded model %q, history %+v", loaded.Model(), h)
			}
			th, err := st.Get(ctx, conv.ID())
			if err != nil || th.Title != "first question" {
				t.Errorf("thread title %q, %v; want the first instruction", th.Title, err)
			}
			third, err := loaded.Run(ctx, Request{Instruction: "third question", Workspace: ws,
				Agent: newAgent(t, 5, llmtest.Turn{Text: "Third answer."})})
			if err != nil || !sawEarlier(third, "second question") || third.ThreadID != conv.ID() {
				t.Errorf("the loaded conversation's run: %v, thread %q, transcript %+v", err, third.ThreadID, third.Transcript)
			}
		})
	}
}

// TestFocusOutsideRefused: a file in focus outside the workspace refuses
// the run before the model is asked or a thread is made.
func TestFocusOutsideRefused(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.go"), []byte("package a\n"), 0o644)
	ws, err := workspace.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	svc := &Service{Store: openStore(t)}
	ctx := context.Background()
	srv := llmtest.NewServer(t, llmtest.Script{Turns: []llmtest.Turn{{Text: "Done."}}})
	p, err := llm.NewOpenAI(llm.Config{Model: "m", BaseURL: srv.URL, APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	ag, err := agent.New(agent.Options{Provider: p, RetryPolicy: llm.RetryPolicy{MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	for _, focus := range [][]string{{"../outside.go"}, {"a.go", "/etc/passwd"}, {"a\x00.go"}} {
		if _, err := svc.Run(ctx, Request{Instruction: "look", Workspace: ws, Focus: focus, Agent: ag}); err == nil ||
			!strings.Contains(err.Error(), "files in focus") {
			t.Errorf("focus %q: err = %v, want the run refused", focus, err)
		}
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("the model was asked %d times", n)
	}
	if all, err := svc.Store.List(ctx, thread.Filter{}); err != nil || len(all) != 0 {
		t.Errorf("%d threads recorded (%v), want none", len(all), err)
	}
	out, err := svc.Run(ctx, Request{Instruction: "look", Workspace: ws, Focus: []string{filepath.Join(ws.Root(), "a.go")}, Agent: ag})
	if err != nil || !out.Finished() {
		t.Errorf("an absolute path inside the workspace: %v, %+v", err, out)
	}
}
