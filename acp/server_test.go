package acp

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sdk "github.com/coder/acp-go-sdk"

	"github.com/loom-agent/loom/llm/llmtest"
	"github.com/loom-agent/loom/thread"
)

const aGo = "package a\n\nvar x = 1\n"

// editTurns is a model that edits a.go (x = 2 → x = 3, so the edit only
// applies to the editor's unsaved buffer, not to the disk's x = 1) and
// then says it is done.
func editTurns(t *testing.T, old string) []llmtest.Turn {
	return []llmtest.Turn{
		{Text: "Editing.", ToolCalls: []llmtest.ToolCall{{ID: "e1", Name: "edit_file",
			Arguments: args(t, map[string]string{"path": "a.go", "old_text": old, "new_text": "var x = 3"})}}},
		{Text: "Done."},
	}
}

func TestEditThroughClientFS(t *testing.T) {
	f := newFixture(t, llmtest.Script{Turns: editTurns(t, "var x = 2")}, fixtureOpts{
		caps:   sdk.ClientCapabilities{Fs: sdk.FileSystemCapabilities{ReadTextFile: true, WriteTextFile: true}},
		answer: optAllowOnce,
		files:  map[string]string{"a.go": aGo},
	})
	abs := filepath.Join(f.root, "a.go")
	f.ed.buffers[abs] = "package a\n\nvar x = 2\n" // unsaved in the editor
	id := f.newSession(t)
	stop, err := f.prompt(t, context.Background(), id, "set x to 3")
	if err != nil || stop != sdk.StopReasonEndTurn {
		t.Fatalf("prompt = %q, %v", stop, err)
	}
	if got, want := f.ed.writes[abs], "package a\n\nvar x = 3\n"; got != want {
		t.Errorf("fs/write_text_file %s = %q, want %q (writes %v)", abs, got, want, f.ed.writes)
	}
	if got := f.read(t, "a.go"); got != aGo {
		t.Errorf("the server wrote the disk itself: %q", got)
	}
	if len(f.ed.perms) != 1 {
		t.Fatalf("%d permission requests, want 1", len(f.ed.perms))
	}
	p := wire(t, f.ed.perms[0])
	pb := mustJSON(t, p)
	for _, want := range []string{`"toolCallId":"e1"`, `"kind":"edit"`, `"type":"diff"`, `"oldText":"package a\n\nvar x = 2\n"`, `"optionId":"allow_always"`, `"optionId":"reject_once"`} {
		if !strings.Contains(pb, want) {
			t.Errorf("permission request lacks %s:\n%s", want, pb)
		}
	}
	if !f.ed.hasUpdate(t, `"tool_call"`, `"e1"`, `"kind":"edit"`, `"status":"pending"`) ||
		!f.ed.hasUpdate(t, `"tool_call_update"`, `"e1"`, `"status":"in_progress"`) ||
		!f.ed.hasUpdate(t, `"tool_call_update"`, `"e1"`, `"status":"completed"`, `"newText":"package a\n\nvar x = 3\n"`) ||
		!f.ed.hasUpdate(t, `"agent_message_chunk"`, `Done.`) {
		t.Errorf("updates lack the edit's progress:\n%s", strings.Join(f.ed.sent(t), "\n"))
	}
	if tm := f.toolMessages(); len(tm) != 1 || !strings.Contains(tm[0], "accepted") {
		t.Errorf("the model read %q, want the edit reported accepted", tm)
	}
}

func TestEditWithoutClientFS(t *testing.T) {
	tests := []struct {
		answer   string
		disk     string
		status   string
		toolText string
	}{
		{optAllowOnce, "package a\n\nvar x = 3\n", "completed", "accepted"},
		{optReject, aGo, "failed", "rejected"},
		{"", aGo, "failed", "rejected"}, // the request was dismissed
	}
	for _, tt := range tests {
		t.Run("answer "+tt.answer, func(t *testing.T) {
			f := newFixture(t, llmtest.Script{Turns: editTurns(t, "var x = 1")}, fixtureOpts{answer: tt.answer, files: map[string]string{"a.go": aGo}})
			stop, err := f.prompt(t, context.Background(), f.newSession(t), "set x to 3")
			if err != nil || stop != sdk.StopReasonEndTurn {
				t.Fatalf("prompt = %q, %v", stop, err)
			}
			if got := f.read(t, "a.go"); got != tt.disk {
				t.Errorf("a.go = %q, want %q", got, tt.disk)
			}
			if len(f.ed.reads)+len(f.ed.writes) != 0 {
				t.Errorf("fs used without the capability: reads %v, writes %v", f.ed.reads, f.ed.writes)
			}
			if !f.ed.hasUpdate(t, `"tool_call_update"`, `"type":"diff"`, `"newText":"package a\n\nvar x = 3\n"`) {
				t.Errorf("no diff reported:\n%s", strings.Join(f.ed.sent(t), "\n"))
			}
			if !f.ed.hasUpdate(t, `"tool_call_update"`, `"e1"`, `"status":"`+tt.status+`"`) {
				t.Errorf("the call did not end %s:\n%s", tt.status, strings.Join(f.ed.sent(t), "\n"))
			}
			if tm := f.toolMessages(); len(tm) != 1 || !strings.Contains(tm[0], tt.toolText) {
				t.Errorf("the model read %q, want %q", tm, tt.toolText)
			}
		})
	}
}

func TestAllowAlwaysAsksOnce(t *testing.T) {
	turns := []llmtest.Turn{
		{ToolCalls: []llmtest.ToolCall{{ID: "w1", Name: "write_file", Arguments: args(t, map[string]string{"path": "one.txt", "content": "1\n"})}}},
		{ToolCalls: []llmtest.ToolCall{{ID: "w2", Name: "write_file", Arguments: args(t, map[string]string{"path": "two.txt", "content": "2\n"})}}},
		{Text: "Both written."},
	}
	f := newFixture(t, llmtest.Script{Turns: turns}, fixtureOpts{answer: optAllowAlways})
	if stop, err := f.prompt(t, context.Background(), f.newSession(t), "write two files"); err != nil || stop != sdk.StopReasonEndTurn {
		t.Fatalf("prompt = %q, %v", stop, err)
	}
	if len(f.ed.perms) != 1 {
		t.Errorf("%d permission requests, want 1 (allow always)", len(f.ed.perms))
	}
	if f.read(t, "one.txt") != "1\n" || f.read(t, "two.txt") != "2\n" {
		t.Errorf("files = %q, %q", f.read(t, "one.txt"), f.read(t, "two.txt"))
	}
}

func TestCommandsGoThroughTheTerminal(t *testing.T) {
	turns := []llmtest.Turn{
		{ToolCalls: []llmtest.ToolCall{{ID: "s1", Name: "shell", Arguments: args(t, map[string]string{"command": "go test ./...", "cwd": "pkg"})}}},
		{Text: "Tests ran."},
	}
	f := newFixture(t, llmtest.Script{Turns: turns}, fixtureOpts{
		caps: sdk.ClientCapabilities{Terminal: true}, answer: optAllowOnce, files: map[string]string{"pkg/p.go": "package p\n"},
	})
	if stop, err := f.prompt(t, context.Background(), f.newSession(t), "run the tests"); err != nil || stop != sdk.StopReasonEndTurn {
		t.Fatalf("prompt = %q, %v", stop, err)
	}
	if len(f.ed.commands) != 1 {
		t.Fatalf("terminal/create calls: %v", f.ed.commands)
	}
	c := f.ed.commands[0]
	if c.Command != "/bin/sh" || strings.Join(c.Args, " ") != "-c go test ./..." || c.Cwd == nil || *c.Cwd != filepath.Join(f.root, "pkg") {
		t.Errorf("terminal/create = %s", mustJSON(t, wire(t, c)))
	}
	if len(f.ed.perms) != 1 || *f.ed.perms[0].ToolCall.Kind != sdk.ToolKindExecute {
		t.Errorf("permission requests: %s", mustJSON(t, wire(t, f.ed.perms)))
	}
	if !f.ed.hasUpdate(t, `"tool_call_update"`, `"s1"`, `"status":"completed"`, `"type":"terminal"`, `"terminalId":"term-1"`) {
		t.Errorf("no completed terminal call:\n%s", strings.Join(f.ed.sent(t), "\n"))
	}
	if tm := f.toolMessages(); len(tm) != 1 || tm[0] != "ok 1 test\nexit status 3" {
		t.Errorf("the model read %q", tm)
	}
}

func TestShellNeedsTerminalOrAllowShell(t *testing.T) {
	for _, allow := range []bool{false, true} {
		f := newFixture(t, llmtest.Script{Turns: []llmtest.Turn{{Text: "hi"}}}, fixtureOpts{allowShell: allow, answer: optReject})
		if _, err := f.prompt(t, context.Background(), f.newSession(t), "hello"); err != nil {
			t.Fatal(err)
		}
		offered := false
		for _, tool := range f.model.ChatRequests()[0].Tools {
			offered = offered || tool.Function.Name == "shell"
		}
		if offered != allow {
			t.Errorf("--allow-shell %v: shell offered = %v", allow, offered)
		}
	}
}

func TestOwnShellAsksFirst(t *testing.T) {
	turns := []llmtest.Turn{
		{ToolCalls: []llmtest.ToolCall{{ID: "s1", Name: "shell", Arguments: args(t, map[string]string{"command": "touch ran"})}}},
		{Text: "ok"},
	}
	f := newFixture(t, llmtest.Script{Turns: turns}, fixtureOpts{allowShell: true, answer: optReject})
	if _, err := f.prompt(t, context.Background(), f.newSession(t), "touch a file"); err != nil {
		t.Fatal(err)
	}
	if f.read(t, "ran") != "(absent)" {
		t.Error("the command ran although the user rejected it")
	}
	if tm := f.toolMessages(); len(tm) != 1 || !strings.Contains(tm[0], "rejected") {
		t.Errorf("the model read %q", tm)
	}
}

// TestCancelEndsTheTurn cancels a prompt while the model streams an answer
// that never ends, so only the cancel can end the turn; the model is asked
// nothing more.
func TestCancelEndsTheTurn(t *testing.T) {
	endless := llmtest.Turn{Text: "word ", Fault: &llmtest.Fault{Endless: true, ChunkDelayMS: 20}}
	f := newFixture(t, llmtest.Script{Turns: []llmtest.Turn{endless, {Text: "never asked for"}}}, fixtureOpts{})
	id := f.newSession(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := make(chan struct{}, 1)
	f.ed.onUpdate = func(sdk.SessionUpdate) {
		select {
		case first <- struct{}{}:
		default:
		}
	}
	go func() {
		select {
		case <-first:
		case <-ctx.Done():
			return
		}
		// What the SDK does on session/cancel: cancel the prompt's context.
		cancel()
		_ = f.srv.Cancel(context.Background(), sdk.CancelNotification{SessionId: id})
	}()
	type result struct {
		stop sdk.StopReason
		err  error
	}
	done := make(chan result, 1)
	go func() {
		stop, err := f.prompt(t, ctx, id, "write a lot")
		done <- result{stop, err}
	}()
	select {
	case r := <-done:
		if r.err != nil || r.stop != sdk.StopReasonCancelled {
			t.Fatalf("prompt = %q, %v; want cancelled", r.stop, r.err)
		}
	case <-time.After(hangGuard):
		t.Fatalf("the prompt has not ended %v after the cancel", hangGuard)
	}
	if n := len(f.model.Requests()); n != 1 {
		t.Errorf("the model got %d requests, want 1", n)
	}
}

// hangGuard bounds a wait that should end on an event: far beyond any delay
// of a loaded machine, it only turns a hang into a failure.
const hangGuard = 30 * time.Second

func TestStopReasonsAndFailures(t *testing.T) {
	loop := llmtest.Turn{ToolCalls: []llmtest.ToolCall{{Name: "list_dir", Arguments: args(t, map[string]string{})}}}
	f := newFixture(t, llmtest.Script{Turns: []llmtest.Turn{loop}}, fixtureOpts{maxTurns: 1})
	if stop, err := f.prompt(t, context.Background(), f.newSession(t), "loop"); err != nil || stop != sdk.StopReasonMaxTurnRequests {
		t.Errorf("at the turn limit: %q, %v; want max_turn_requests", stop, err)
	}

	bad := llmtest.Turn{Fault: &llmtest.Fault{Status: 401, Message: "Incorrect API key provided"}}
	f = newFixture(t, llmtest.Script{Turns: []llmtest.Turn{bad}}, fixtureOpts{})
	_, err := f.prompt(t, context.Background(), f.newSession(t), "hello")
	if err == nil || !strings.Contains(err.Error(), "Incorrect API key") {
		t.Errorf("a failed model call answered %v; want an error with the server's message", err)
	}

	if _, err := f.prompt(t, context.Background(), "nope", "hello"); err == nil {
		t.Error("a prompt to an unknown session succeeded")
	}
	if _, err := f.srv.NewSession(context.Background(), sdk.NewSessionRequest{Cwd: "relative/dir"}); err == nil {
		t.Error("session/new took a relative cwd")
	}
}

func TestModelOption(t *testing.T) {
	f := newFixture(t, llmtest.Script{Turns: []llmtest.Turn{{Text: "a"}, {Text: "b"}}}, fixtureOpts{models: []string{"m1", "m2"}})
	resp, err := f.srv.NewSession(context.Background(), sdk.NewSessionRequest{Cwd: f.root})
	if err != nil {
		t.Fatal(err)
	}
	opts := mustJSON(t, wire(t, resp.ConfigOptions))
	for _, want := range []string{`"id":"model"`, `"category":"model"`, `"currentValue":"m1"`, `"value":"m2"`, `"type":"select"`} {
		if !strings.Contains(opts, want) {
			t.Errorf("config options lack %s: %s", want, opts)
		}
	}
	set := func(v string) error {
		_, err := f.srv.SetSessionConfigOption(context.Background(), sdk.SetSessionConfigOptionRequest{ValueId: &sdk.SetSessionConfigOptionValueId{
			SessionId: resp.SessionId, ConfigId: "model", Value: sdk.SessionConfigValueId(v)}})
		return err
	}
	if err := set("m3"); err == nil {
		t.Error("an unknown model was accepted")
	}
	if err := set("m2"); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := f.prompt(t, context.Background(), resp.SessionId, "hi"); err != nil {
			t.Fatal(err)
		}
	}
	if reqs := f.model.ChatRequests(); reqs[0].Model != "m2" || reqs[1].Model != "m2" {
		t.Errorf("models used: %q, %q; want m2", reqs[0].Model, reqs[1].Model)
	}
}

func TestLoadReplaysAndContinues(t *testing.T) {
	st, err := thread.Open(filepath.Join(t.TempDir(), "threads.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	turns := []llmtest.Turn{
		{Text: "Reading.", ToolCalls: []llmtest.ToolCall{{ID: "r1", Name: "read_file", Arguments: args(t, map[string]string{"path": "a.go"})}}},
		{Text: "x is 1."},
		{Text: "Still 1."},
	}
	f := newFixture(t, llmtest.Script{Turns: turns}, fixtureOpts{store: st, files: map[string]string{"a.go": aGo}})
	init, err := f.srv.Initialize(context.Background(), sdk.InitializeRequest{ProtocolVersion: 1})
	if err != nil || !init.AgentCapabilities.LoadSession {
		t.Fatalf("initialize: loadSession %v, %v", init.AgentCapabilities.LoadSession, err)
	}
	id := f.newSession(t)
	if _, err := f.prompt(t, context.Background(), id, "what is x?"); err != nil {
		t.Fatal(err)
	}

	// A new connection (a new server on the same store) loads the session.
	g := newFixture(t, llmtest.Script{}, fixtureOpts{store: st})
	g.model = f.model
	if _, err := g.srv.LoadSession(context.Background(), sdk.LoadSessionRequest{SessionId: id, Cwd: f.root, McpServers: []sdk.McpServer{}}); err != nil {
		t.Fatal(err)
	}
	sent := g.ed.sent(t)
	want := []string{
		`{"content":{"text":"what is x?","type":"text"},"sessionUpdate":"user_message_chunk"}`,
		`{"content":{"text":"Reading.","type":"text"},"sessionUpdate":"agent_message_chunk"}`,
		`"kind":"read"`,
		`{"content":{"text":"x is 1.","type":"text"},"sessionUpdate":"agent_message_chunk"}`,
	}
	if len(sent) != len(want) {
		t.Fatalf("replay sent %d updates, want %d:\n%s", len(sent), len(want), strings.Join(sent, "\n"))
	}
	for i, w := range want {
		if !strings.Contains(sent[i], w) {
			t.Errorf("update %d = %s, want %s", i, sent[i], w)
		}
	}
	if !strings.Contains(sent[2], `"status":"completed"`) || !strings.Contains(sent[2], `var x = 1`) {
		t.Errorf("the replayed tool call lacks its status or result: %s", sent[2])
	}
	if _, err := g.srv.LoadSession(context.Background(), sdk.LoadSessionRequest{SessionId: "0000000000", Cwd: f.root}); err == nil {
		t.Error("loading an unknown session succeeded")
	}

	// The next prompt continues the conversation.
	g.srv.opts.NewAgent = f.srv.opts.NewAgent
	if _, err := g.prompt(t, context.Background(), id, "and now?"); err != nil {
		t.Fatal(err)
	}
	reqs := f.model.ChatRequests()
	var users []string
	for _, m := range reqs[len(reqs)-1].Messages {
		if m.Role == "user" {
			users = append(users, m.Content)
		}
	}
	if strings.Join(users, "|") != "what is x?|and now?" {
		t.Errorf("the continued turn sent user messages %q", users)
	}
}

func TestPromptContent(t *testing.T) {
	f := newFixture(t, llmtest.Script{}, fixtureOpts{})
	sess, err := f.srv.openSession(f.root, "m", nil)
	if err != nil {
		t.Fatal(err)
	}
	blocks := []sdk.ContentBlock{
		sdk.TextBlock("Explain this:"),
		sdk.ResourceBlock(sdk.EmbeddedResourceResource{TextResourceContents: &sdk.TextResourceContents{
			Uri: "file://" + filepath.Join(f.root, "pkg/a.go"), Text: "x := \"```\"\n"}}),
		sdk.ResourceLinkBlock("b.go", "file://"+filepath.Join(f.root, "b.go")),
		sdk.ResourceLinkBlock("other", "file:///elsewhere/c.go"),
	}
	text, focus := sess.instruction(blocks)
	want := "Explain this:\n\nContents of pkg/a.go:\n````\nx := \"```\"\n````\n\n(Referenced: b.go)\n\n(Referenced: /elsewhere/c.go)"
	if text != want {
		t.Errorf("instruction =\n%s\nwant\n%s", text, want)
	}
	if strings.Join(focus, ",") != "pkg/a.go,b.go" {
		t.Errorf("focus = %q", focus)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	return strings.TrimSpace(string(args(t, v)))
}
