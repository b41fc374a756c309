package lsp

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.lsp.dev/protocol"
	"go.lsp.dev/uri"

	"github.com/loom-agent/loom/agent"
	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/session"
	"github.com/loom-agent/loom/thread"
	"github.com/loom-agent/loom/workspace"
)

// answerer answers every task with one message, as the agent would: its
// transcript is the system prompt, the history, the instruction and the
// answer.
type answerer struct {
	err        error
	gotHistory []llm.Message
}

func (a *answerer) Run(ctx context.Context, task agent.Task, onEvent func(agent.Event)) (agent.Result, error) {
	a.gotHistory = task.History
	transcript := append([]llm.Message{{Role: llm.RoleSystem, Content: "system prompt"}}, task.History...)
	transcript = append(transcript, llm.Message{Role: llm.RoleUser, Content: task.Instruction},
		llm.Message{Role: llm.RoleAssistant, Content: "Answer to " + task.Instruction})
	stop := agent.StopDone
	if a.err != nil {
		stop = agent.StopFailed
	}
	return agent.Result{Final: "Answer to " + task.Instruction, Transcript: transcript, StopReason: stop, Turns: 1}, a.err
}

func openStore(t *testing.T) *thread.Store {
	t.Helper()
	st, err := thread.Open(filepath.Join(t.TempDir(), "threads.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// serveInit is serveConn returning the initialize result.
func serveInit(t *testing.T, opts Options) (protocol.Server, *protocol.InitializeResult) {
	t.Helper()
	a, b := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { New(opts).Serve(ctx, a); close(done) }()
	_, srv := NewClientConn(ctx, protocol.UnimplementedClient{}, b)
	t.Cleanup(func() { cancel(); b.Close(); <-done })
	root := uri.File(t.TempDir())
	init, err := srv.Initialize(ctx, &protocol.InitializeParams{RootURI: &root})
	if err != nil {
		t.Fatal(err)
	}
	return srv, init
}

func execute(srv protocol.Server, command string, arg any) (protocol.LSPAny, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	params := &protocol.ExecuteCommandParams{Command: command}
	if arg != nil {
		raw, _ := json.Marshal(arg)
		params.Arguments = []protocol.LSPAny{raw}
	}
	return srv.ExecuteCommand(ctx, params)
}

// wantRPCError checks err is a response error with code and text.
func wantRPCError(t *testing.T, err error, code jsonrpc2.Code, text string) {
	t.Helper()
	var rpcErr *jsonrpc2.Error
	if !errors.As(err, &rpcErr) || rpcErr.Code != code || !strings.Contains(rpcErr.Message, text) {
		t.Errorf("error = %v, want code %d with %q", err, code, text)
	}
}

func TestCommandsAdvertised(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want []string
	}{
		{"with threads", Options{Sessions: &session.Service{Store: openStore(t)}}, []string{CommandRun, CommandSearchThreads, CommandShowThread}},
		{"without threads", Options{Sessions: &session.Service{StoreErr: errors.New("read-only file system")}}, []string{CommandRun}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, init := serveInit(t, tt.opts)
			if got := init.Capabilities.ExecuteCommandProvider.Commands; !slices.Equal(got, tt.want) {
				t.Errorf("commands = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestRunRecordsThread: loom.run records its run, returns the thread ID,
// and continues a thread given as threadId with its conversation.
func TestRunRecordsThread(t *testing.T) {
	first := []llm.Message{{Role: llm.RoleUser, Content: "first"}, {Role: llm.RoleAssistant, Content: "Answer to first"}}
	tests := []struct {
		name     string
		noStore  bool
		storeErr error
		runErr   error
		thread   func(first string) string // the threadId argument
		wantCode jsonrpc2.Code             // 0: success
		wantErr  string
		wantSame bool // continues the first run's thread
		wantHist []llm.Message
		wantStat thread.Status
	}{
		{name: "new thread", thread: func(string) string { return "" }, wantStat: thread.StatusDone},
		{name: "continue by ID", thread: func(id string) string { return id }, wantSame: true, wantHist: first, wantStat: thread.StatusDone},
		{name: "continue by prefix", thread: func(id string) string { return id[:5] }, wantSame: true, wantHist: first, wantStat: thread.StatusDone},
		{name: "failed run is recorded", runErr: errors.New("model unreachable"), thread: func(id string) string { return id },
			wantCode: codeRequestFailed, wantErr: "model unreachable", wantSame: true, wantHist: first, wantStat: thread.StatusFailed},
		{name: "unknown thread", thread: func(string) string { return "zzzzzz" },
			wantCode: jsonrpc2.InvalidParams, wantErr: `loom.run: no such thread: "zzzzzz"`},
		{name: "threads unavailable", noStore: true, storeErr: errors.New("thread database: read-only file system"),
			thread: func(string) string { return "abc" }, wantCode: codeRequestFailed,
			wantErr: "loom.run: threads are unavailable: thread database: read-only file system"},
		{name: "no store, new run", noStore: true, thread: func(string) string { return "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var st *thread.Store
			if !tt.noStore {
				st = openStore(t)
			}
			runner := &answerer{}
			srv, _ := serveInit(t, Options{Sessions: &session.Service{Store: st, StoreErr: tt.storeErr}, Model: "m1",
				NewAgent: func(*workspace.Workspace) (session.Runner, error) { return runner, nil }})
			firstID := ""
			if st != nil {
				res, err := execute(srv, CommandRun, map[string]any{"instruction": "first", "answer": true})
				var out RunResult
				if err != nil || json.Unmarshal(res, &out) != nil || out.ThreadID == "" {
					t.Fatalf("first run: %s, %v; want a threadId", res, err)
				}
				firstID = out.ThreadID
			}
			runner.err, runner.gotHistory = tt.runErr, nil
			arg := map[string]any{"instruction": "second", "answer": true}
			if id := tt.thread(firstID); id != "" {
				arg["threadId"] = id
			}
			res, err := execute(srv, CommandRun, arg)
			var out RunResult
			if tt.wantCode != 0 {
				wantRPCError(t, err, tt.wantCode, tt.wantErr)
			} else if err != nil || json.Unmarshal(res, &out) != nil {
				t.Fatalf("loom.run: %s, %v", res, err)
			}
			if !slices.EqualFunc(runner.gotHistory, tt.wantHist, func(a, b llm.Message) bool { return a.Role == b.Role && a.Content == b.Content }) {
				t.Errorf("the agent's history = %+v, want %+v", runner.gotHistory, tt.wantHist)
			}
			if st == nil {
				if out.ThreadID != "" || strings.Contains(string(res), "threadId") {
					t.Errorf("result %s names a thread without a store", res)
				}
				return
			}
			all, err := st.List(context.Background(), thread.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantStat == "" {
				if len(all) != 1 {
					t.Errorf("a refused run changed the store: %d threads", len(all))
				}
				return
			}
			id := all[0].ID // most recently updated
			if len(all) > 1 && id == firstID {
				id = all[1].ID // both updated in the same millisecond: their order is not defined
			}
			if tt.wantSame != (id == firstID) || tt.wantSame != (len(all) == 1) {
				t.Errorf("the run went to thread %s of %d; the first is %s; want the same: %v", id, len(all), firstID, tt.wantSame)
			}
			if tt.wantCode == 0 && out.ThreadID != id {
				t.Errorf("threadId = %q, want %s", out.ThreadID, id)
			}
			th, err := st.Get(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if th.Status != tt.wantStat || th.Model != "m1" {
				t.Errorf("thread status %s, model %q; want %s, m1", th.Status, th.Model, tt.wantStat)
			}
			if n, want := len(th.Messages()), 2+len(tt.wantHist); n != want {
				t.Errorf("the thread holds %d messages, want %d", n, want)
			}
		})
	}
}

func TestThreadCommands(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	seed := func(title, answer string) string {
		th, err := st.Create(ctx, thread.Meta{Workspace: "/w", Title: title})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range []llm.Message{{Role: llm.RoleUser, Content: title}, {Role: llm.RoleAssistant, Content: answer}} {
			if _, err := st.AppendTurn(ctx, th.ID, thread.Turn{Messages: []llm.Message{m}}); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.Finish(ctx, th.ID, thread.Outcome{Status: thread.StatusDone}); err != nil {
			t.Fatal(err)
		}
		return th.ID
	}
	tokenizer := seed("fix the tokenizer", "It dropped empty input.")
	verbose := seed("add a verbose flag", "Added --verbose.")
	srv, _ := serveInit(t, Options{Sessions: &session.Service{Store: st}})
	bare, _ := serveInit(t, Options{Sessions: &session.Service{StoreErr: errors.New("no home folder")}})

	tests := []struct {
		name     string
		srv      protocol.Server
		command  string
		arg      any
		wantIDs  []string // loom.searchThreads: the hits' IDs in order
		wantText []string // loom.showThread: in the markdown
		wantCode jsonrpc2.Code
		wantErr  string
	}{
		{name: "search a title word", srv: srv, command: CommandSearchThreads, arg: map[string]string{"query": "tokenizer"}, wantIDs: []string{tokenizer}},
		{name: "search message text", srv: srv, command: CommandSearchThreads, arg: map[string]string{"query": "verbose"}, wantIDs: []string{verbose}},
		{name: "search without a match", srv: srv, command: CommandSearchThreads, arg: map[string]string{"query": "nothingmatches"}, wantIDs: []string{}},
		{name: "empty query", srv: srv, command: CommandSearchThreads, arg: map[string]string{"query": ""},
			wantCode: jsonrpc2.InvalidParams, wantErr: "loom.searchThreads: bad search query"},
		{name: "no argument", srv: srv, command: CommandSearchThreads,
			wantCode: jsonrpc2.InvalidParams, wantErr: `the argument {"query": "..."} is missing`},
		{name: "show by prefix", srv: srv, command: CommandShowThread, arg: map[string]string{"id": uniquePrefix(tokenizer, verbose)},
			wantText: []string{"# fix the tokenizer\n", "- ID: `" + tokenizer + "`", "It dropped empty input."}},
		{name: "show by an ambiguous prefix", srv: srv, command: CommandShowThread, arg: map[string]string{"id": tokenizer[:1]},
			wantCode: jsonrpc2.InvalidParams, wantErr: "is ambiguous"},
		{name: "show unknown", srv: srv, command: CommandShowThread, arg: map[string]string{"id": "zzzzzz"},
			wantCode: jsonrpc2.InvalidParams, wantErr: `loom.showThread: no such thread: "zzzzzz"`},
		{name: "show a non-object", srv: srv, command: CommandShowThread, arg: []int{1},
			wantCode: jsonrpc2.InvalidParams, wantErr: `loom.showThread: the argument must be {"id": "..."}`},
		{name: "search without a store", srv: bare, command: CommandSearchThreads, arg: map[string]string{"query": "x"},
			wantCode: codeRequestFailed, wantErr: "loom.searchThreads: threads are unavailable: no home folder"},
		{name: "show without a store", srv: bare, command: CommandShowThread, arg: map[string]string{"id": "x"},
			wantCode: codeRequestFailed, wantErr: "loom.showThread: threads are unavailable: no home folder"},
		{name: "unknown command", srv: bare, command: "loom.nope",
			wantCode: jsonrpc2.InvalidParams, wantErr: `unknown command "loom.nope" (the server runs loom.run)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := execute(tt.srv, tt.command, tt.arg)
			if tt.wantCode != 0 {
				wantRPCError(t, err, tt.wantCode, tt.wantErr)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantIDs != nil {
				var hits []map[string]string
				if err := json.Unmarshal(res, &hits); err != nil || hits == nil {
					t.Fatalf("result %s (%v), want a JSON array", res, err)
				}
				var ids []string
				for _, h := range hits {
					ids = append(ids, h["id"])
					if _, err := time.Parse(time.RFC3339, h["updated"]); err != nil || h["title"] == "" ||
						!strings.Contains(h["snippet"], thread.MarkOpen) || len(h) != 4 {
						t.Errorf("hit %v: want id, title, RFC 3339 updated and a marked snippet", h)
					}
				}
				if !slices.Equal(ids, tt.wantIDs) && len(ids)+len(tt.wantIDs) > 0 {
					t.Errorf("hits %q, want %q", ids, tt.wantIDs)
				}
			}
			if tt.wantText != nil {
				var md string
				if err := json.Unmarshal(res, &md); err != nil {
					t.Fatalf("result %s (%v), want a JSON string", res, err)
				}
				for _, w := range tt.wantText {
					if !strings.Contains(md, w) {
						t.Errorf("the markdown lacks %q:\n%s", w, md)
					}
				}
			}
		})
	}
}

// uniquePrefix is the shortest prefix of a that b does not start with
// (IDs made close in time share their leading characters).
func uniquePrefix(a, b string) string {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return a[:min(n+1, len(a))]
}
