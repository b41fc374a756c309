package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	mcpgo "github.com/mark3labs/mcp-go/mcp"

	"github.com/loom-agent/loom/agent"
	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/session"
	"github.com/loom-agent/loom/thread"
	"github.com/loom-agent/loom/workspace"
)

// TestLoomAgentThreads: each loom_agent run is recorded as a thread, and
// thread_id continues one with its conversation as the agent's history.
func TestLoomAgentThreads(t *testing.T) {
	first := []llm.Message{{Role: llm.RoleUser, Content: "first task"}, {Role: llm.RoleAssistant, Content: "Edited a.txt."}}
	tests := []struct {
		name     string
		noStore  bool
		storeErr error
		runErr   error
		// thread returns the thread_id argument given the first run's
		// thread ID ("" for none).
		thread      func(first string) string
		wantErr     string
		wantSame    bool // the run continues the first thread
		wantHistory []llm.Message
		wantStatus  thread.Status
		wantThreads int
	}{
		{name: "new thread", thread: func(string) string { return "" },
			wantStatus: thread.StatusDone, wantThreads: 2},
		{name: "continue by ID", thread: func(id string) string { return id },
			wantSame: true, wantHistory: first, wantStatus: thread.StatusDone, wantThreads: 1},
		{name: "continue by prefix, any case", thread: func(id string) string { return strings.ToUpper(id[:5]) },
			wantSame: true, wantHistory: first, wantStatus: thread.StatusDone, wantThreads: 1},
		{name: "failed run is recorded", runErr: errors.New("model unreachable"), thread: func(id string) string { return id },
			wantErr: "The run failed: model unreachable", wantSame: true, wantHistory: first, wantStatus: thread.StatusFailed, wantThreads: 1},
		{name: "unknown thread", thread: func(string) string { return "zzzzzz" },
			wantErr: `thread "zzzzzz" is unknown: no thread of this workspace has that ID`, wantThreads: 1},
		{name: "not an ID", thread: func(string) string { return "../x" },
			wantErr: `thread "../x" is unknown`, wantThreads: 1},
		{name: "store unavailable", noStore: true, storeErr: errors.New("thread database /x/threads.db: permission denied"),
			thread:  func(string) string { return "abc" },
			wantErr: `cannot continue thread "abc": threads are unavailable on this server: thread database /x/threads.db: permission denied`},
		{name: "no store, new run", noStore: true, thread: func(string) string { return "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := files(t, map[string]string{"a.txt": "original\n"})
			var st *thread.Store
			if !tt.noStore {
				st = openStore(t)
			}
			runner := &fakeRunner{stop: agent.StopDone}
			s, err := New(Options{Roots: []string{dir}, Sessions: &session.Service{Store: st, StoreErr: tt.storeErr}, Model: "test-model",
				NewAgent: func(*workspace.Workspace) (session.Runner, error) { return runner, nil }})
			if err != nil {
				t.Fatal(err)
			}
			c := connect(t, s)
			firstID := ""
			if st != nil {
				res := call(t, c, "loom_agent", map[string]any{"task": "first task"})
				var out AgentOutput
				if err := json.Unmarshal([]byte(structuredJSON(t, res)), &out); err != nil || res.IsError || out.ThreadID == "" {
					t.Fatalf("first run: %s (%v)", text(res), err)
				}
				firstID = out.ThreadID
			}

			runner.err, runner.gotHistory = tt.runErr, nil
			if tt.runErr != nil {
				runner.stop = agent.StopFailed
			}
			args := map[string]any{"task": "second task"}
			if arg := tt.thread(firstID); arg != "" {
				args["thread_id"] = arg
			}
			res := call(t, c, "loom_agent", args)
			var out AgentOutput
			json.Unmarshal([]byte(structuredJSON(t, res)), &out)
			switch {
			case tt.wantErr != "":
				if !res.IsError || !strings.Contains(text(res), tt.wantErr) {
					t.Fatalf("= %q (isError %v), want an error with %q", text(res), res.IsError, tt.wantErr)
				}
			case res.IsError:
				t.Fatalf("failed: %s", text(res))
			}
			if !slices.EqualFunc(runner.gotHistory, tt.wantHistory, func(a, b llm.Message) bool { return a.Role == b.Role && a.Content == b.Content }) {
				t.Errorf("the agent's history = %+v, want %+v", runner.gotHistory, tt.wantHistory)
			}
			if st == nil {
				if out.ThreadID != "" {
					t.Errorf("thread_id = %q without a store", out.ThreadID)
				}
				return
			}
			all, err := st.List(context.Background(), thread.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(all) != tt.wantThreads {
				t.Errorf("%d threads in the store, want %d", len(all), tt.wantThreads)
			}
			if tt.wantStatus == "" {
				return // refused before running
			}
			// The thread of this run: named in the text, failures included.
			id := all[0].ID // most recently updated
			if len(all) > 1 && id == firstID {
				id = all[1].ID // both updated in the same millisecond: their order is not defined
			}
			if tt.wantSame != (id == firstID) {
				t.Errorf("the run went to thread %s; the first thread is %s, want the same: %v", id, firstID, tt.wantSame)
			}
			if !strings.Contains(text(res), "Thread "+id+": pass it as thread_id") {
				t.Errorf("the text does not name thread %s:\n%s", id, text(res))
			}
			if !res.IsError && out.ThreadID != id {
				t.Errorf("structured thread_id = %q, want %s", out.ThreadID, id)
			}
			th, err := st.Get(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			ws, _ := workspace.New(dir)
			if th.Status != tt.wantStatus || th.Workspace != ws.Root() || th.Model != "test-model" {
				t.Errorf("thread = status %s, workspace %s, model %q; want %s, %s, test-model", th.Status, th.Workspace, th.Model, tt.wantStatus, ws.Root())
			}
			var msgs []string
			for _, m := range th.Messages() {
				msgs = append(msgs, string(m.Role)+": "+m.Content)
			}
			want := []string{"user: second task", "assistant: Edited a.txt."}
			if tt.wantSame {
				want = append([]string{"user: first task", "assistant: Edited a.txt."}, want...)
			}
			if !slices.Equal(msgs, want) {
				t.Errorf("thread messages = %q, want %q", msgs, want)
			}
		})
	}
}

// seedThreads records threads as finished runs would leave them and
// returns their IDs by title.
func seedThreads(t *testing.T, st *thread.Store, threads []seed) map[string]string {
	t.Helper()
	ctx := context.Background()
	ids := map[string]string{}
	for _, sd := range threads {
		th, err := st.Create(ctx, thread.Meta{Workspace: sd.workspace, Title: sd.title, Model: "m"})
		if err != nil {
			t.Fatal(err)
		}
		for _, msg := range []llm.Message{{Role: llm.RoleUser, Content: sd.title}, {Role: llm.RoleAssistant, Content: sd.answer}} {
			if _, err := st.AppendTurn(ctx, th.ID, thread.Turn{Messages: []llm.Message{msg}}); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.Finish(ctx, th.ID, thread.Outcome{Status: sd.status, Diff: sd.diff}); err != nil {
			t.Fatal(err)
		}
		ids[sd.title] = th.ID
	}
	return ids
}

type seed struct {
	workspace, title, answer, diff string
	status                         thread.Status
}

func TestThreadsSearch(t *testing.T) {
	dir, second, other := t.TempDir(), t.TempDir(), t.TempDir()
	st := openStore(t)
	ids := seedThreads(t, st, []seed{
		{dir, "fix the tokenizer", "The tokenizer dropped empty input; fixed.", "", thread.StatusDone},
		{second, "speed up the tokenizer", "Gave up: the model failed.", "", thread.StatusFailed},
		{dir, "add a verbose flag", "Added --verbose to main.go.", "", thread.StatusDone},
		{other, "tokenizer of another project", "Not this server's.", "", thread.StatusFailed},
	})
	s, err := New(Options{Roots: []string{dir, second}, Sessions: &session.Service{Store: st}})
	if err != nil {
		t.Fatal(err)
	}
	c := connect(t, s)
	tests := []struct {
		name    string
		args    map[string]any
		want    []string // titles, any order
		wantErr string
	}{
		{"words", map[string]any{"query": "tokenizer"}, []string{"fix the tokenizer", "speed up the tokenizer"}, ""},
		{"this workspace", map[string]any{"query": "tokenizer", "workspace": "."}, []string{"fix the tokenizer"}, ""},
		{"the second root", map[string]any{"query": "tokenizer", "workspace": second}, []string{"speed up the tokenizer"}, ""},
		{"a folder that is not a root", map[string]any{"query": "tokenizer", "workspace": other}, nil, "is not one of this server's roots"},
		{"status", map[string]any{"query": "tokenizer", "status": "failed"}, []string{"speed up the tokenizer"}, ""},
		{"message text", map[string]any{"query": "verbose"}, []string{"add a verbose flag"}, ""},
		{"recent", map[string]any{"query": "tokenizer", "since": "1h"}, []string{"fix the tokenizer", "speed up the tokenizer"}, ""},
		{"in the future", map[string]any{"query": "tokenizer", "since": "2999-01-01"}, nil, ""},
		{"limit", map[string]any{"query": "tokenizer", "limit": 1}, []string{"?"}, ""},
		{"no match", map[string]any{"query": "nonexistentword"}, nil, ""},
		{"bad FTS syntax searched as words", map[string]any{"query": `"verbose`}, []string{"add a verbose flag"}, ""},
		{"empty query", map[string]any{"query": " "}, nil, `"query" is required`},
		{"punctuation only", map[string]any{"query": "**"}, nil, "bad search query"},
		{"bad status", map[string]any{"query": "x", "status": "great"}, nil, `status "great": want one of running, done`},
		{"bad since", map[string]any{"query": "x", "since": "yesterday"}, nil, `since "yesterday"`},
		{"limit too big", map[string]any{"query": "x", "limit": 1000}, nil, "limit 1000: want 1 to 200"},
		{"unknown argument", map[string]any{"query": "x", "stat": "done"}, nil, "unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := call(t, c, "threads_search", tt.args)
			if tt.wantErr != "" {
				if !res.IsError || !strings.Contains(text(res), tt.wantErr) {
					t.Errorf("= %q (isError %v), want an error with %q", text(res), res.IsError, tt.wantErr)
				}
				return
			}
			if res.IsError {
				t.Fatalf("failed: %s", text(res))
			}
			var out struct{ Hits []SearchHit }
			if err := json.Unmarshal([]byte(structuredJSON(t, res)), &out); err != nil || out.Hits == nil {
				t.Fatalf("structured %s: %v, want a hits array", structuredJSON(t, res), err)
			}
			if len(out.Hits) != len(tt.want) {
				t.Fatalf("%d hits %+v, want %q", len(out.Hits), out.Hits, tt.want)
			}
			if len(tt.want) == 0 && text(res) != "No threads match." {
				t.Errorf("text = %q", text(res))
			}
			for _, h := range out.Hits {
				if tt.want[0] != "?" && !slices.Contains(tt.want, h.Title) {
					t.Errorf("hit %q, want only %q", h.Title, tt.want)
				}
				if h.ID != ids[h.Title] || !strings.Contains(h.Snippet, thread.MarkOpen) || h.Turns != 2 {
					t.Errorf("hit = %+v, want ID %s, 2 turns and a marked snippet", h, ids[h.Title])
				}
				if _, err := time.Parse(time.RFC3339, h.Updated); err != nil {
					t.Errorf("updated %q is not RFC 3339", h.Updated)
				}
				for _, part := range []string{h.ID, h.Title, h.Updated, h.Snippet} {
					if !strings.Contains(text(res), part) {
						t.Errorf("the text lacks %q:\n%s", part, text(res))
					}
				}
			}
		})
	}
}

func TestThreadShow(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t)
	diff := "diff --git a/a.txt b/a.txt\n--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-a\n+b\n"
	ids := seedThreads(t, st, []seed{{dir, "rename a to b", "Renamed it.", diff, thread.StatusDone}})
	id := ids["rename a to b"]
	s, err := New(Options{Roots: []string{dir}, Sessions: &session.Service{Store: st}})
	if err != nil {
		t.Fatal(err)
	}
	c := connect(t, s)
	tests := []struct {
		name    string
		args    map[string]any
		want    []string
		wantErr string
	}{
		{"by ID", map[string]any{"id": id}, []string{"# rename a to b\n", "- ID: `" + id + "`", "## User (turn 0)", "Renamed it.", "## Diff", diff}, ""},
		{"by prefix", map[string]any{"id": id[:4]}, []string{"# rename a to b\n"}, ""},
		{"unknown", map[string]any{"id": "zzzzzz"}, nil, `thread "zzzzzz" is unknown`},
		{"missing id", map[string]any{}, nil, `"id" is required`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := call(t, c, "thread_show", tt.args)
			if tt.wantErr != "" {
				if !res.IsError || !strings.Contains(text(res), tt.wantErr) {
					t.Errorf("= %q (isError %v), want an error with %q", text(res), res.IsError, tt.wantErr)
				}
				return
			}
			if res.IsError {
				t.Fatalf("failed: %s", text(res))
			}
			for _, w := range tt.want {
				if !strings.Contains(text(res), w) {
					t.Errorf("the markdown lacks %q:\n%s", w, text(res))
				}
			}
		})
	}
}

// The workspace filter compares roots with symlinks resolved, as threads
// record them.
func TestThreadsSearchSymlinkedWorkspace(t *testing.T) {
	real := t.TempDir()
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(real, link); err != nil {
		t.Skip(err)
	}
	st := openStore(t)
	seedThreads(t, st, []seed{{real, "symlinked project", "ok", "", thread.StatusDone}})
	s, err := New(Options{Roots: []string{real}, Sessions: &session.Service{Store: st}})
	if err != nil {
		t.Fatal(err)
	}
	res := call(t, connect(t, s), "threads_search", map[string]any{"query": "symlinked", "workspace": link})
	if res.IsError || !strings.Contains(text(res), "symlinked project") {
		t.Errorf("= %q (isError %v), want the thread found through the link", text(res), res.IsError)
	}
}

// TestThreadsOfOtherWorkspaces: one store holds the threads of two
// projects; a server rooted at one sees only that one's, through
// threads_search, thread_show and loom_agent's thread_id alike, and a
// thread of the other is as unknown as one that does not exist. A client
// that offers its own roots sees theirs instead.
func TestThreadsOfOtherWorkspaces(t *testing.T) {
	mine, theirs := t.TempDir(), t.TempDir()
	st := openStore(t)
	ids := seedThreads(t, st, []seed{
		{mine, "fix the tokenizer here", "Fixed.", "", thread.StatusDone},
		{theirs, "tokenizer secrets elsewhere", "The API key is in .env.", "", thread.StatusDone},
	})
	runner := &fakeRunner{stop: agent.StopDone}
	s, err := New(Options{Roots: []string{mine}, Sessions: &session.Service{Store: st},
		NewAgent: func(*workspace.Workspace) (session.Runner, error) { return runner, nil }})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name          string
		clientRoots   []string // offered by the client; nil: none
		visible, gone string   // titles
	}{
		{"the server's root", nil, "fix the tokenizer here", "tokenizer secrets elsewhere"},
		{"the client's roots", []string{theirs}, "tokenizer secrets elsewhere", "fix the tokenizer here"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []client.ClientOption
			if tt.clientRoots != nil {
				opts = append(opts, client.WithRootsHandler(rootsList(tt.clientRoots)))
			}
			c := connect(t, s, opts...)
			res := call(t, c, "threads_search", map[string]any{"query": "tokenizer"})
			var out struct{ Hits []SearchHit }
			if err := json.Unmarshal([]byte(structuredJSON(t, res)), &out); err != nil || res.IsError {
				t.Fatalf("threads_search = %q: %v", text(res), err)
			}
			if len(out.Hits) != 1 || out.Hits[0].Title != tt.visible {
				t.Errorf("threads_search hits = %+v, want only %q", out.Hits, tt.visible)
			}
			if strings.Contains(text(res), tt.gone) {
				t.Errorf("threads_search shows %q:\n%s", tt.gone, text(res))
			}
			if res := call(t, c, "thread_show", map[string]any{"id": ids[tt.visible]}); res.IsError {
				t.Errorf("thread_show of this workspace's thread: %s", text(res))
			}
			goneID := ids[tt.gone]
			res = call(t, c, "thread_show", map[string]any{"id": goneID})
			want := fmt.Sprintf("thread %q is unknown", goneID)
			if !res.IsError || !strings.Contains(text(res), want) || strings.Contains(text(res), tt.gone) {
				t.Errorf("thread_show %s = %q (isError %v), want only %q", goneID, text(res), res.IsError, want)
			}
			runner.gotHistory = nil
			res = call(t, c, "loom_agent", map[string]any{"task": "go on", "thread_id": goneID})
			if !res.IsError || !strings.Contains(text(res), want) || runner.gotHistory != nil {
				t.Errorf("loom_agent thread_id %s = %q (isError %v, history %v), want only %q", goneID, text(res), res.IsError, runner.gotHistory, want)
			}
			// Both IDs were made in the same millisecond and share their
			// start: a prefix finds this workspace's thread, never the other.
			prefix := goneID[:6]
			if res := call(t, c, "thread_show", map[string]any{"id": prefix}); strings.Contains(text(res), tt.gone) {
				t.Errorf("thread_show %s shows the other workspace's thread:\n%s", prefix, text(res))
			}
		})
	}
}

// rootsList offers fixed roots to the server.
type rootsList []string

func (r rootsList) ListRoots(context.Context, mcpgo.ListRootsRequest) (*mcpgo.ListRootsResult, error) {
	res := &mcpgo.ListRootsResult{}
	for _, dir := range r {
		res.Roots = append(res.Roots, mcpgo.Root{URI: "file://" + dir})
	}
	return res, nil
}
