package llmtest

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// postMessages sends a Messages API request as Anthropic's clients do.
func postMessages(t *testing.T, url, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/messages", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Anthropic-Version", "2023-06-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

type sseEvent struct {
	name string
	data map[string]any
}

// sseEvents reads an Anthropic stream; the error is the read error at the
// end (nil on a clean end).
func sseEvents(t *testing.T, r io.Reader) ([]sseEvent, error) {
	t.Helper()
	var out []sseEvent
	sc := bufio.NewScanner(r)
	var name string
	for sc.Scan() {
		if n, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
			name = n
		}
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			var m map[string]any
			if err := json.Unmarshal([]byte(d), &m); err != nil {
				t.Fatalf("event %s: %v", name, err)
			}
			if m["type"] != name {
				t.Errorf("event %q carries type %v", name, m["type"])
			}
			out = append(out, sseEvent{name, m})
		}
	}
	return out, sc.Err()
}

func names(evs []sseEvent) string {
	var n []string
	for _, e := range evs {
		n = append(n, e.name)
	}
	return strings.Join(n, ",")
}

const userHi = `{"model":"claude","max_tokens":100,"stream":true,"messages":[{"role":"user","content":"hi"}]}`

func TestAnthropicStreamingWire(t *testing.T) {
	srv := NewServer(t, Script{Turns: []Turn{{
		Text: "a b", ToolCalls: []ToolCall{{ID: "t1", Name: "grep", Arguments: json.RawMessage(`{"x": 1}`), Chunks: 2}, {ID: "t2", Name: "ls"}},
		Usage: &Usage{PromptTokens: 50, CompletionTokens: 6, CacheReadTokens: 30, CacheCreationTokens: 10},
	}}})
	resp := postMessages(t, srv.URL, userHi)
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("content type %q", ct)
	}
	evs, err := sseEvents(t, resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	want := "message_start,ping," +
		"content_block_start,content_block_delta,content_block_delta,content_block_stop," +
		"content_block_start,content_block_delta,content_block_delta,content_block_stop," +
		"content_block_start,content_block_delta,content_block_delta,content_block_stop," +
		"message_delta,message_stop"
	if got := names(evs); got != want {
		t.Fatalf("events\n%s\nwant\n%s", got, want)
	}
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	checks := map[int]string{
		0:  `{"message":{"content":[],"id":"msg_llmtest_0","model":"claude","role":"assistant","stop_reason":null,"stop_sequence":null,"type":"message","usage":{"cache_creation_input_tokens":10,"cache_read_input_tokens":30,"input_tokens":10,"output_tokens":1}},"type":"message_start"}`,
		3:  `{"delta":{"text":"a ","type":"text_delta"},"index":0,"type":"content_block_delta"}`,
		6:  `{"content_block":{"id":"t1","input":{},"name":"grep","type":"tool_use"},"index":1,"type":"content_block_start"}`,
		7:  `{"delta":{"partial_json":"{\"x\"","type":"input_json_delta"},"index":1,"type":"content_block_delta"}`,
		8:  `{"delta":{"partial_json":":1}","type":"input_json_delta"},"index":1,"type":"content_block_delta"}`,
		11: `{"delta":{"partial_json":"{","type":"input_json_delta"},"index":2,"type":"content_block_delta"}`,
		14: `{"delta":{"stop_reason":"tool_use","stop_sequence":null},"type":"message_delta","usage":{"output_tokens":6}}`,
	}
	for i, w := range checks {
		if got := js(evs[i].data); got != w {
			t.Errorf("event %d:\n%s\nwant\n%s", i, got, w)
		}
	}
	if got := srv.MessagesRequests(); len(got) != 1 || got[0].Messages[0].Content[0].Text != "hi" || srv.ChatRequests() != nil {
		t.Errorf("recorded %+v", got)
	}
}

func TestAnthropicNonStreaming(t *testing.T) {
	srv := NewServer(t, Script{Turns: []Turn{{Text: "ok", ToolCalls: []ToolCall{{ID: "t", Name: "read", Arguments: json.RawMessage(`{"path":"a"}`)}}}}})
	resp := postMessages(t, srv.URL, strings.Replace(userHi, `"stream":true`, `"stream":false`, 1))
	b, _ := io.ReadAll(resp.Body)
	for _, want := range []string{`"type":"message"`, `"stop_reason":"tool_use"`, `{"text":"ok","type":"text"}`, `"input":{"path":"a"}`, `"input_tokens"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("answer lacks %s: %s", want, b)
		}
	}
}

// Requests the real API refuses are refused with its error shape and do
// not use up a turn, so a client's protocol mistake fails its test clearly.
func TestAnthropicRefusesWhatTheAPIRefuses(t *testing.T) {
	tooManyMarks := `{"model":"c","max_tokens":1,"system":[{"type":"text","text":"s","cache_control":{"type":"ephemeral"}}],` +
		`"tools":[{"name":"a","input_schema":{"type":"object"},"cache_control":{"type":"ephemeral"}}],` +
		`"messages":[{"role":"user","content":[{"type":"text","text":"x","cache_control":{"type":"ephemeral"}},{"type":"text","text":"y","cache_control":{"type":"ephemeral"}},{"type":"text","text":"z","cache_control":{"type":"ephemeral"}}]}]}`
	tests := map[string]struct{ body, mention string }{
		"no max_tokens":         {`{"model":"c","messages":[{"role":"user","content":"hi"}]}`, "max_tokens"},
		"starts with the model": {`{"model":"c","max_tokens":1,"messages":[{"role":"assistant","content":"hi"}]}`, "alternate"},
		"two user messages":     {`{"model":"c","max_tokens":1,"messages":[{"role":"user","content":"a"},{"role":"user","content":"b"}]}`, "alternate"},
		"empty text":            {`{"model":"c","max_tokens":1,"messages":[{"role":"user","content":[{"type":"text","text":""}]}]}`, "non-empty"},
		"a tool_use unanswered": {`{"model":"c","max_tokens":1,"messages":[{"role":"user","content":"a"},` +
			`{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}}]},{"role":"user","content":"b"}]}`, "t1"},
		"a result for no call": {`{"model":"c","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t9","content":"x"}]}]}`, "t9"},
		"tool_use input not an object": {`{"model":"c","max_tokens":1,"messages":[{"role":"user","content":"a"},` +
			`{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":"{"}]}]}`, "input object"},
		"a tool without a schema": {`{"model":"c","max_tokens":1,"tools":[{"name":"f"}],"messages":[{"role":"user","content":"a"}]}`, "input_schema"},
		"five cache breakpoints":  {tooManyMarks, "maximum of 4"},
		"not JSON":                {`{"model":`, "not a Messages API JSON object"},
	}
	srv := NewServer(t, Script{Turns: []Turn{{Text: "never played"}}})
	for name, tt := range tests {
		resp := postMessages(t, srv.URL, tt.body)
		var e struct {
			Type  string `json:"type"`
			Error struct{ Type, Message string }
		}
		json.NewDecoder(resp.Body).Decode(&e)
		if resp.StatusCode != 400 || e.Type != "error" || e.Error.Type != "invalid_request_error" || !strings.Contains(e.Error.Message, tt.mention) {
			t.Errorf("%s: %d %+v, want 400 invalid_request_error mentioning %q", name, resp.StatusCode, e, tt.mention)
		}
	}
	// Without the version header, as the API does.
	resp, err := http.Post(srv.URL+"/messages", "application/json", strings.NewReader(userHi))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("no anthropic-version: %d", resp.StatusCode)
	}
	if srv.Remaining() != 1 || len(srv.Requests()) != len(tests)+1 {
		t.Errorf("%d turns left after %d requests: refused requests must be recorded and leave the script alone", srv.Remaining(), len(srv.Requests()))
	}
}

func TestAnthropicFaults(t *testing.T) {
	srv := NewServer(t, Script{Turns: []Turn{
		{Fault: &Fault{Status: 529, RetryAfter: "3"}},
		{Fault: &Fault{Status: 429, Message: "slow down"}},
		{Text: "a b c", Fault: &Fault{StreamErrorAfter: 3}},
		{Text: "a b c", Fault: &Fault{StreamErrorAfter: 2, Type: "api_error", Message: "boom"}},
		{Text: "a b c", Fault: &Fault{CutAfter: 4}},
	}})
	for _, want := range []struct {
		status int
		typ    string
	}{{529, "overloaded_error"}, {429, "rate_limit_error"}} {
		resp := postMessages(t, srv.URL, userHi)
		var e struct {
			Type  string `json:"type"`
			Error struct{ Type, Message string }
		}
		json.NewDecoder(resp.Body).Decode(&e)
		if resp.StatusCode != want.status || e.Type != "error" || e.Error.Type != want.typ || resp.Header.Get("Request-Id") == "" {
			t.Errorf("fault: %d %+v %v, want %d %s", resp.StatusCode, e, resp.Header, want.status, want.typ)
		}
	}
	evs, err := sseEvents(t, postMessages(t, srv.URL, userHi).Body)
	if err != nil || names(evs) != "message_start,ping,content_block_start,error" || evs[3].data["error"].(map[string]any)["type"] != "overloaded_error" {
		t.Errorf("stream error: %s %v %v", names(evs), evs, err)
	}
	evs, _ = sseEvents(t, postMessages(t, srv.URL, userHi).Body)
	if names(evs) != "message_start,ping,error" || evs[2].data["error"].(map[string]any)["message"] != "boom" {
		t.Errorf("typed stream error: %v", evs)
	}
	evs, err = sseEvents(t, postMessages(t, srv.URL, userHi).Body)
	if !errors.Is(err, io.ErrUnexpectedEOF) || len(evs) != 4 {
		t.Errorf("cut: %s, %v; want 4 events then an unexpected EOF", names(evs), err)
	}
}

// The same fault in OpenAI's format: an error object as a data line.
func TestOpenAIStreamError(t *testing.T) {
	srv := NewServer(t, Script{Turns: []Turn{{Text: "a b c", Fault: &Fault{StreamErrorAfter: 2, Message: "boom"}}}})
	data, err := sseData(post(t, srv.URL, `{"stream":true}`).Body)
	if err != nil || len(data) != 3 || data[2] != `{"error":{"code":null,"message":"boom","param":null,"type":"server_error"}}` {
		t.Errorf("%q %v", data, err)
	}
}
