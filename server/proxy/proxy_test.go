package proxy_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/loom-agent/loom/llm/llmtest"
	"github.com/loom-agent/loom/server/usage"
)

// toolTurn answers with text and two tool calls, and usage with a cache read.
var toolTurn = llmtest.Turn{
	Text: "Looking now.",
	ToolCalls: []llmtest.ToolCall{
		{ID: "call_a", Name: "read", Arguments: json.RawMessage(`{"path":"a.go"}`)},
		{ID: "call_b", Name: "grep", Arguments: json.RawMessage(`{"pattern":"func main"}`), Chunks: 4},
	},
	Usage: &llmtest.Usage{PromptTokens: 40, CompletionTokens: 12, CacheReadTokens: 10},
}

// conversation is one conversation in each client format: a system
// prompt, a question, an earlier tool call and its result, and tools.
func conversation(f, model string, stream, includeUsage bool) string {
	if f == "openai" {
		opts := ""
		if includeUsage {
			opts = `"stream_options": {"include_usage": true},`
		}
		return fmt.Sprintf(`{"model": %q, "stream": %t, %s
			"messages": [
				{"role": "system", "content": "Be brief."},
				{"role": "user", "content": "Find main."},
				{"role": "assistant", "content": null, "tool_calls": [{"id": "call_0", "type": "function", "function": {"name": "grep", "arguments": "{\"pattern\":\"main\"}"}}]},
				{"role": "tool", "tool_call_id": "call_0", "content": "main.go:1"},
				{"role": "user", "content": [{"type": "text", "text": "Now read it."}]}
			],
			"tools": [
				{"type": "function", "function": {"name": "read", "description": "Read a file", "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}}},
				{"type": "function", "function": {"name": "grep", "parameters": {"type": "object", "properties": {"pattern": {"type": "string"}}}}}
			],
			"tool_choice": "auto"}`, model, stream, opts)
	}
	return fmt.Sprintf(`{"model": %q, "stream": %t, "max_tokens": 1000, "system": "Be brief.",
		"messages": [
			{"role": "user", "content": "Find main."},
			{"role": "assistant", "content": [{"type": "tool_use", "id": "call_0", "name": "grep", "input": {"pattern": "main"}}]},
			{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_0", "content": "main.go:1"}, {"type": "text", "text": "Now read it."}]}
		],
		"tools": [
			{"name": "read", "description": "Read a file", "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}}},
			{"name": "grep", "input_schema": {"type": "object", "properties": {"pattern": {"type": "string"}}}}
		],
		"tool_choice": {"type": "auto"}}`, model, stream)
}

// TestFormats: each client format against each upstream format, streamed
// and not, with tool calls: the upstream gets the conversation in its own
// format (system prompt, tool call and result, tools, its own name for
// the model), the client gets the answer in its format (text, both tool
// calls with their arguments, the finish, the usage with cached tokens),
// and the meter records the tokens.
func TestFormats(t *testing.T) {
	turns := []llmtest.Turn{}
	for range 10 {
		turns = append(turns, toolTurn)
	}
	e := newEnv(t, llmtest.Script{Turns: turns}, llmtest.Script{Turns: turns}, nil)
	for _, tc := range []struct {
		client, model        string
		stream, includeUsage bool
	}{
		{"openai", "gpt", false, false},
		{"openai", "gpt-test", true, true},
		{"openai", "claude", false, false},
		{"openai", "claude-test", true, true},
		{"anthropic", "claude", false, false},
		{"anthropic", "claude", true, false},
		{"anthropic", "gpt", false, false},
		{"anthropic", "gpt", true, false},
		// The proxy asks the upstream for usage to meter the call, and
		// does not pass on what the client did not ask for.
		{"openai", "gpt", true, false},
		{"openai", "claude", true, false},
	} {
		name := fmt.Sprintf("%s client, %s, stream %t, usage %t", tc.client, tc.model, tc.stream, tc.includeUsage)
		t.Run(name, func(t *testing.T) {
			_, _, before := e.meter.last()
			r := e.call(t, tc.client, e.owner, conversation(tc.client, tc.model, tc.stream, tc.includeUsage))
			if r.status != http.StatusOK {
				t.Fatalf("%d: %s", r.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); tc.stream != strings.HasPrefix(ct, "text/event-stream") {
				t.Errorf("Content-Type %q", ct)
			}
			a := parse(t, tc.client, tc.stream, r.body)
			want := answer{text: "Looking now.", finish: "tool_calls", calls: []toolCall{
				{"call_a", "read", `{"path":"a.go"}`}, {"call_b", "grep", `{"pattern":"func main"}`}},
				// The name the client asked for, alias or not, never the upstream's.
				model: tc.model}
			if tc.client == "anthropic" || !tc.stream || tc.includeUsage {
				want.usage, want.input, want.output, want.cached = true, 40, 12, 10
			}
			if !reflect.DeepEqual(a, want) {
				t.Errorf("the client got\n%+v\nwant\n%+v\n%s", a, want, r.body)
			}
			checkUpstream(t, e, tc.model, tc.stream)
			req, u := waitDone(t, e.meter, before+1)
			wantModel := map[string]string{"gpt": "gpt-test", "gpt-test": "gpt-test", "claude": "claude-test", "claude-test": "claude-test"}[tc.model]
			if req.Model != wantModel || req.Endpoint != tc.client || req.Stream != tc.stream || req.Principal == nil {
				t.Errorf("admitted %+v", req)
			}
			// 40 prompt tokens, 10 of them read from the cache: priced apart.
			if u.InputTokens != 30 || u.OutputTokens != 12 || u.CachedTokens != 10 || u.Status != 200 || u.Err != "" || req.Org == "" {
				t.Errorf("metered %+v", u)
			}
		})
	}
}

// checkUpstream checks the last request the model's upstream got.
func checkUpstream(t *testing.T, e *env, model string, stream bool) {
	t.Helper()
	if strings.HasPrefix(model, "gpt") {
		reqs := e.oa.ChatRequests()
		r := reqs[len(reqs)-1]
		var roles []string
		for _, m := range r.Messages {
			roles = append(roles, m.Role)
		}
		if r.Model != "gpt-4o-mini" || strings.Join(roles, ",") != "system,user,assistant,tool,user" ||
			r.Messages[0].Content != "Be brief." || r.Messages[2].ToolCalls[0].Function.Name != "grep" ||
			r.Messages[2].ToolCalls[0].ID != "call_0" || r.Messages[3].ToolCallID != "call_0" ||
			r.Messages[3].Content != "main.go:1" || r.Messages[4].Content != "Now read it." || len(r.Tools) != 2 ||
			r.Tools[0].Function.Name != "read" {
			t.Errorf("the OpenAI upstream got %+v", r)
		}
		if stream && (r.StreamOptions == nil || !r.StreamOptions.IncludeUsage) {
			t.Error("a stream was asked for without its usage")
		}
		h := e.oa.Requests()[len(e.oa.Requests())-1].Header
		if h.Get("Authorization") != "Bearer "+openAIKey {
			t.Error("the OpenAI upstream did not get the server's key")
		}
		return
	}
	reqs := e.an.MessagesRequests()
	r := reqs[len(reqs)-1]
	if r.Model != "claude-x" || len(r.System) != 1 || r.System[0].Text != "Be brief." || len(r.Messages) != 3 ||
		r.Messages[1].Content[0].Type != "tool_use" || r.Messages[1].Content[0].Name != "grep" ||
		compact(r.Messages[1].Content[0].Input) != `{"pattern":"main"}` ||
		r.Messages[2].Content[0].ToolUseID != "call_0" || r.Messages[2].Content[0].Content != "main.go:1" ||
		r.Messages[2].Content[1].Text != "Now read it." || len(r.Tools) != 2 || r.MaxTokens <= 0 || r.Stream != stream {
		t.Errorf("the Anthropic upstream got %+v", r)
	}
	h := e.an.Requests()[len(e.an.Requests())-1].Header
	if h.Get("X-Api-Key") != anthropicKey || h.Get("Authorization") != "" {
		t.Error("the Anthropic upstream did not get the server's key, and only it")
	}
}

// waitDone waits until the meter has n calls done and returns the last.
func waitDone(t *testing.T, m *recordingMeter, n int) (usage.Request, usage.Usage) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, u, got := m.last()
		if got >= n {
			return req, u
		}
		if time.Now().After(deadline) {
			t.Fatalf("the meter has %d calls done, want %d", got, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestLongStreamLine: an event longer than the stream's first buffer (a
// whole file in one tool-call chunk, as Ollama sends) passes whole, from
// either upstream format to either client format.
func TestLongStreamLine(t *testing.T) {
	content := strings.Repeat("0123456789abcdef", 64<<10/16*3) // 192 KiB
	args, _ := json.Marshal(map[string]string{"path": "big.go", "content": content})
	turn := llmtest.Turn{ToolCalls: []llmtest.ToolCall{{ID: "call_big", Name: "write", Arguments: args, Chunks: 1}}}
	script := llmtest.Script{Turns: []llmtest.Turn{turn, turn}}
	for _, f := range []string{"openai", "anthropic"} {
		t.Run(f, func(t *testing.T) {
			e := newEnv(t, script, script, nil)
			for _, model := range []string{"gpt", "claude"} {
				r := e.call(t, f, e.key, conversation(f, model, true, true))
				if r.status != http.StatusOK {
					t.Fatalf("%s: %d %s", model, r.status, r.body)
				}
				a := parse(t, f, true, r.body)
				if len(a.calls) != 1 || a.calls[0].id != "call_big" || !sameJSON(a.calls[0].args, string(args)) {
					t.Errorf("%s: the long call came out as %d calls, the first %.200v", model, len(a.calls), a.calls)
				}
			}
		})
	}
}

// compact is JSON without its spaces: a same-format request reaches the
// upstream byte for byte, a translated one re-encoded.
func compact(raw []byte) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return string(raw)
	}
	return b.String()
}
