package acp

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	sdk "github.com/coder/acp-go-sdk"

	"github.com/loom-agent/loom/agent"
	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/tools"
)

// wire is the JSON a client receives for v, decoded generically.
func wire(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// parse decodes a JSON literal of a test's expectations.
func parse(t *testing.T, s string) any {
	t.Helper()
	var out any
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		t.Fatalf("bad expectation %s: %v", s, err)
	}
	return out
}

// builtins is the registry of Loom's built-in tools.
func builtins(t *testing.T) *tools.Registry {
	t.Helper()
	reg, err := tools.NewBuiltinRegistry()
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func TestToolKindCoversEveryBuiltin(t *testing.T) {
	reg := builtins(t)
	for _, tool := range reg.List() {
		name := tool.Spec().Name
		if toolKind(reg, name) == sdk.ToolKindOther {
			t.Errorf("built-in tool %s has no ACP kind", name)
		}
		// Every tool that changes something is gated; read-only ones never.
		if got, want := gated(reg, name), !tool.Spec().Effect.ReadOnly(); got != want {
			t.Errorf("gated(%s) = %v, want %v (effect %v)", name, got, want, tool.Spec().Effect)
		}
	}
}

func TestToolKind(t *testing.T) {
	tests := []struct {
		tool string
		want sdk.ToolKind
	}{
		{"read_file", sdk.ToolKindRead},
		{"outline", sdk.ToolKindRead},
		{"grep", sdk.ToolKindSearch},
		{"glob", sdk.ToolKindSearch},
		{"list_dir", sdk.ToolKindSearch},
		{"find_references", sdk.ToolKindSearch},
		{"edit_file", sdk.ToolKindEdit},
		{"write_file", sdk.ToolKindEdit},
		{"apply_patch", sdk.ToolKindEdit},
		{"move_file", sdk.ToolKindMove},
		{"delete_file", sdk.ToolKindDelete},
		{"shell", sdk.ToolKindExecute},
		{"made_up_by_the_model", sdk.ToolKindOther},
	}
	reg := builtins(t)
	for _, tt := range tests {
		if got := toolKind(reg, tt.tool); got != tt.want {
			t.Errorf("toolKind(%s) = %s, want %s", tt.tool, got, tt.want)
		}
	}
}

func TestStopReason(t *testing.T) {
	tests := []struct {
		stop agent.StopReason
		want sdk.StopReason
		ok   bool
	}{
		{agent.StopDone, sdk.StopReasonEndTurn, true},
		{agent.StopMaxTurns, sdk.StopReasonMaxTurnRequests, true},
		{agent.StopMaxTokens, sdk.StopReasonMaxTokens, true},
		{agent.StopCancelled, sdk.StopReasonCancelled, true},
		{agent.StopRefusal, sdk.StopReasonRefusal, true},
		{agent.StopFailed, "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := stopReason(tt.stop)
		if got != tt.want || ok != tt.ok {
			t.Errorf("stopReason(%q) = %q, %v; want %q, %v", tt.stop, got, ok, tt.want, tt.ok)
		}
	}
}

func TestDescribe(t *testing.T) {
	abs := absUnder("/w")
	tests := []struct {
		name, args string
		title      string
		locations  string // JSON
	}{
		{"read_file", `{"path":"a.go","offset":12}`, "Read a.go", `[{"path":"/w/a.go","line":12}]`},
		{"edit_file", `{"path":"pkg/b.go","old_text":"x","new_text":"y"}`, "Edit pkg/b.go", `[{"path":"/w/pkg/b.go"}]`},
		{"move_file", `{"from":"a.go","to":"b/a.go"}`, "Move a.go to b/a.go", `[{"path":"/w/a.go"},{"path":"/w/b/a.go"}]`},
		{"apply_patch", `{"patch":"--- a/x.go\n+++ b/x.go\n@@ -1 +1 @@\n-a\n+b\n--- /dev/null\n+++ b/new.go\n"}`, "Patch x.go, new.go", `[{"path":"/w/x.go"},{"path":"/w/new.go"}]`},
		{"grep", `{"pattern":"func main"}`, "Search for `func main` in .", `null`},
		{"shell", `{"command":"go test ./..."}`, "Run `go test ./...`", `null`},
		{"read_file", `{"path":"/w/abs.go"}`, "Read /w/abs.go", `[{"path":"/w/abs.go"}]`},
		{"read_file", `{"path":`, "read_file", `null`},
		{"mystery", `{}`, "mystery", `null`},
	}
	for _, tt := range tests {
		t.Run(tt.name+" "+tt.args, func(t *testing.T) {
			title, locs, raw := describe(toolCall{ID: "c", Name: tt.name, Args: tt.args}, builtins(t), abs)
			if title != tt.title {
				t.Errorf("title = %q, want %q", title, tt.title)
			}
			if got, want := wire(t, locs), parse(t, tt.locations); !reflect.DeepEqual(got, want) {
				t.Errorf("locations = %v, want %v", got, want)
			}
			if json.Valid([]byte(tt.args)) {
				if got, want := wire(t, raw), parse(t, tt.args); !reflect.DeepEqual(got, want) {
					t.Errorf("rawInput = %v, want the arguments %v", got, want)
				}
			} else if raw != tt.args {
				t.Errorf("rawInput = %v, want the malformed text as it came", raw)
			}
		})
	}
}

func TestTranslatorUpdates(t *testing.T) {
	tests := []struct {
		name   string
		attach []sdk.ToolCallContent // attached to call c1 before the event
		ev     agent.Event
		want   string // JSON array of updates
	}{
		{"text", nil, agent.TextDelta{Text: "Hel"},
			`[{"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":"Hel"}}]`},
		{"empty text", nil, agent.TextDelta{}, `null`},
		{"read-only tool starts and runs", nil, agent.ToolStarted{ID: "c1", Name: "read_file", Args: `{"path":"a.go"}`},
			`[{"sessionUpdate":"tool_call","toolCallId":"c1","title":"Read a.go","kind":"read","status":"pending","locations":[{"path":"/w/a.go"}],"rawInput":{"path":"a.go"}},
			  {"sessionUpdate":"tool_call_update","toolCallId":"c1","status":"in_progress"}]`},
		{"edit waits for its gate", nil, agent.ToolStarted{ID: "c1", Name: "edit_file", Args: `{"path":"a.go","old_text":"a","new_text":"b"}`},
			`[{"sessionUpdate":"tool_call","toolCallId":"c1","title":"Edit a.go","kind":"edit","status":"pending","locations":[{"path":"/w/a.go"}],"rawInput":{"path":"a.go","old_text":"a","new_text":"b"}}]`},
		{"tool completes with its result", nil, agent.ToolFinished{ID: "c1", Name: "grep", Result: "a.go:1: x"},
			`[{"sessionUpdate":"tool_call_update","toolCallId":"c1","status":"completed","content":[{"type":"content","content":{"type":"text","text":"a.go:1: x"}}],"rawOutput":{"result":"a.go:1: x"}}]`},
		{"edit completes with its diff", []sdk.ToolCallContent{sdk.ToolDiffContent("/w/a.go", "b\n", "a\n")},
			agent.ToolFinished{ID: "c1", Name: "edit_file", Result: "Edited a.go", Changed: []string{"a.go"}},
			`[{"sessionUpdate":"tool_call_update","toolCallId":"c1","status":"completed","content":[{"type":"diff","path":"/w/a.go","oldText":"a\n","newText":"b\n"}],"rawOutput":{"result":"Edited a.go"}}]`},
		{"rejected edit fails, diff kept", []sdk.ToolCallContent{sdk.ToolDiffContent("/w/new.go", "x\n")},
			agent.ToolFinished{ID: "c1", Name: "write_file", Err: errors.New("the user rejected this")},
			`[{"sessionUpdate":"tool_call_update","toolCallId":"c1","status":"failed","content":[{"type":"diff","path":"/w/new.go","newText":"x\n"},{"type":"content","content":{"type":"text","text":"the user rejected this"}}],"rawOutput":{"error":"the user rejected this"}}]`},
		{"retry is a thought", nil, agent.Retrying{Attempt: 2, MaxAttempts: 3, Delay: time.Second, Err: errors.New("429")},
			`[{"sessionUpdate":"agent_thought_chunk","content":{"type":"text","text":"model request failed (429); retrying in 1s (attempt 2 of 3)\n"}}]`},
		{"turn finished has no update", nil, agent.TurnFinished{Turn: 1, Usage: llm.Usage{PromptTokens: 3}}, `null`},
		{"state change has no update", nil, agent.StateChanged{From: agent.StateCallingModel, To: agent.StateDone}, `null`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTranslator(absUnder("/w"), builtins(t))
			tr.attach("c1", tt.attach...)
			got := tr.updates(tt.ev)
			if w, g := parse(t, tt.want), wire(t, got); !reflect.DeepEqual(g, w) {
				gb, _ := json.Marshal(got)
				t.Errorf("updates =\n%s\nwant\n%s", gb, tt.want)
			}
		})
	}
}

func TestAttachedContentIsUsedOnce(t *testing.T) {
	tr := newTranslator(absUnder("/w"), builtins(t))
	tr.attach("c1", sdk.ToolDiffContent("/w/a.go", "b"))
	tr.updates(agent.ToolFinished{ID: "c1", Name: "edit_file", Result: "ok"})
	u := tr.updates(agent.ToolFinished{ID: "c1", Name: "edit_file", Result: "ok"})
	if got := wire(t, u[0].ToolCallUpdate.Content); !reflect.DeepEqual(got, parse(t, `[{"type":"content","content":{"type":"text","text":"ok"}}]`)) {
		t.Errorf("a second finish of the same ID reused the diff: %v", got)
	}
}

func TestReplay(t *testing.T) {
	msgs := []llm.Message{
		{Role: llm.RoleUser, Content: "rename x"},
		{Role: llm.RoleAssistant, Content: "Looking.", ToolCalls: []llm.ToolCall{
			{ID: "c1", Name: "read_file", Arguments: `{"path":"a.go"}`},
			{ID: "c2", Name: "edit_file", Arguments: `{"path":"a.go","old_text":"x","new_text":"y"}`},
			{ID: "c3", Name: "grep", Arguments: `{"pattern":"x"}`},
		}},
		{Role: llm.RoleTool, ToolCallID: "c1", Content: "     1\tx"},
		{Role: llm.RoleTool, ToolCallID: "c2", Content: "error: the user rejected this"},
		{Role: llm.RoleAssistant, Content: "Done."},
	}
	want := `[
	 {"sessionUpdate":"user_message_chunk","content":{"type":"text","text":"rename x"}},
	 {"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":"Looking."}},
	 {"sessionUpdate":"tool_call","toolCallId":"c1","title":"Read a.go","kind":"read","status":"completed","locations":[{"path":"/w/a.go"}],"rawInput":{"path":"a.go"},
	  "content":[{"type":"content","content":{"type":"text","text":"     1\tx"}}]},
	 {"sessionUpdate":"tool_call","toolCallId":"c2","title":"Edit a.go","kind":"edit","status":"failed","locations":[{"path":"/w/a.go"}],"rawInput":{"path":"a.go","old_text":"x","new_text":"y"},
	  "content":[{"type":"content","content":{"type":"text","text":"error: the user rejected this"}}]},
	 {"sessionUpdate":"tool_call","toolCallId":"c3","title":"Search for ` + "`x`" + ` in .","kind":"search","status":"failed","rawInput":{"pattern":"x"},
	  "content":[{"type":"content","content":{"type":"text","text":"(no result was recorded)"}}]},
	 {"sessionUpdate":"agent_message_chunk","content":{"type":"text","text":"Done."}}
	]`
	got := replay(msgs, builtins(t), absUnder("/w"))
	if g, w := wire(t, got), parse(t, want); !reflect.DeepEqual(g, w) {
		gb, _ := json.MarshalIndent(got, "", " ")
		t.Errorf("replay =\n%s\nwant\n%s", gb, want)
	}
}
