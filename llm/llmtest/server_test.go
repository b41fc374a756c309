package llmtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func post(t *testing.T, url, body string) *http.Response {
	t.Helper()
	resp, err := http.Post(url+"/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// sseData reads the data lines of an SSE body; the error is the read error
// at the end (nil on a clean end).
func sseData(r io.Reader) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, d)
		}
	}
	return out, sc.Err()
}

func TestStreamingWire(t *testing.T) {
	srv := NewServer(t, Script{Turns: []Turn{
		{Text: "a b", ToolCalls: []ToolCall{{ID: "c1", Name: "grep", Arguments: json.RawMessage(`{"x": 1}`), Chunks: 2}}, Usage: &Usage{PromptTokens: 5, CompletionTokens: 6}},
		{Text: "no usage asked"},
	}})
	resp := post(t, srv.URL, `{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`)
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("content type %q", ct)
	}
	data, err := sseData(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	// role, "a ", "b", call header, 2 argument pieces, finish, usage, [DONE]
	if len(data) != 9 || data[8] != "[DONE]" {
		t.Fatalf("%d data lines: %q", len(data), data)
	}
	var header, finish, usage struct {
		Model   string `json:"model"`
		Choices []struct {
			Delta struct {
				ToolCalls []struct {
					Index    int    `json:"index"`
					ID       string `json:"id"`
					Function struct {
						Name      string `json:"name"`
						Arguments string `json:"arguments"`
					} `json:"function"`
				} `json:"tool_calls"`
			} `json:"delta"`
			FinishReason *string `json:"finish_reason"`
		} `json:"choices"`
		Usage *struct {
			TotalTokens int `json:"total_tokens"`
		} `json:"usage"`
	}
	for i, dst := range map[int]any{3: &header, 6: &finish, 7: &usage} {
		if err := json.Unmarshal([]byte(data[i]), dst); err != nil {
			t.Fatalf("chunk %d: %v", i, err)
		}
	}
	tc := header.Choices[0].Delta.ToolCalls
	if header.Model != "m" || len(tc) != 1 || tc[0].ID != "c1" || tc[0].Function.Name != "grep" || tc[0].Index != 0 {
		t.Errorf("tool call header %s", data[3])
	}
	if !strings.Contains(data[4], `"arguments":"{\"x\""`) || !strings.Contains(data[5], `"arguments":":1}"`) {
		t.Errorf("argument pieces %s %s", data[4], data[5])
	}
	if f := finish.Choices[0].FinishReason; f == nil || *f != "tool_calls" {
		t.Errorf("finish chunk %s", data[6])
	}
	if usage.Usage == nil || usage.Usage.TotalTokens != 11 || len(usage.Choices) != 0 {
		t.Errorf("usage chunk %s", data[7])
	}

	// Without include_usage, no usage chunk, as OpenAI does.
	data, err = sseData(post(t, srv.URL, `{"model":"m","stream":true,"messages":[]}`).Body)
	if err != nil || len(data) != 6 || strings.Contains(strings.Join(data, ""), "total_tokens") {
		t.Errorf("without include_usage: %q %v", data, err)
	}
}

func TestNonStreaming(t *testing.T) {
	srv := NewServer(t, Script{Turns: []Turn{{ToolCalls: []ToolCall{{Name: "read", Arguments: json.RawMessage(`{"path":"a"}`)}}}}})
	resp := post(t, srv.URL, `{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
	var got struct {
		Object  string `json:"object"`
		Choices []struct {
			Message struct {
				Content   *string `json:"content"`
				ToolCalls []struct {
					ID       string `json:"id"`
					Function struct{ Name, Arguments string }
				} `json:"tool_calls"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
		Usage struct {
			PromptTokens int `json:"prompt_tokens"`
		} `json:"usage"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	c := got.Choices[0]
	if got.Object != "chat.completion" || c.Message.Content != nil || c.FinishReason != "tool_calls" ||
		len(c.Message.ToolCalls) != 1 || c.Message.ToolCalls[0].ID != "call_0_0" || c.Message.ToolCalls[0].Function.Arguments != `{"path":"a"}` ||
		got.Usage.PromptTokens == 0 {
		t.Errorf("got %+v", got)
	}
}

func TestFaults(t *testing.T) {
	srv := NewServer(t, Script{Turns: []Turn{
		{Fault: &Fault{Status: 429, RetryAfter: "2", Message: "slow down", Code: "rate_limit_exceeded"}},
		{Text: "a b c", Fault: &Fault{CutAfter: 2}},
		{ToolCalls: []ToolCall{{Name: "x", Arguments: json.RawMessage(`{"k":"v"}`)}}, Fault: &Fault{MalformedArguments: true}},
	}})
	resp := post(t, srv.URL, `{"stream":true}`)
	var e struct {
		Error struct{ Message, Type, Code string } `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "2" || e.Error.Message != "slow down" || e.Error.Code != "rate_limit_exceeded" || e.Error.Type != "llmtest_fault" {
		t.Errorf("429 fault: %d %v %+v", resp.StatusCode, resp.Header, e)
	}

	data, err := sseData(post(t, srv.URL, `{"stream":true}`).Body)
	if !errors.Is(err, io.ErrUnexpectedEOF) || len(data) != 2 {
		t.Errorf("cut: %q, %v; want 2 chunks then an unexpected EOF", data, err)
	}

	resp = post(t, srv.URL, `{}`)
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), `"arguments":"{\"k\":\"v\""`) {
		t.Errorf("malformed arguments: %s", body)
	}
}

// TestStallsAndEndless reads what the stalling and endless faults send; a
// short client deadline ends each read of silence.
func TestStallsAndEndless(t *testing.T) {
	srv := NewServer(t, Script{Turns: []Turn{
		{Text: "never", Fault: &Fault{Stall: true}},
		{Text: "never", Fault: &Fault{StallAfterHeaders: true}},
		{Text: "a b c", Fault: &Fault{StallAfter: 2}},
		{Text: "again and ", Fault: &Fault{Endless: true, ChunkDelayMS: 1}},
	}})
	stream := `{"stream":true}`
	// start posts a request that gives up after a while.
	start := func() (*http.Response, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		t.Cleanup(cancel)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/chat/completions", strings.NewReader(stream))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			t.Cleanup(func() { resp.Body.Close() })
		}
		return resp, err
	}

	if _, err := start(); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("stall: %v, want no answer before the deadline", err)
	}

	resp, err := start()
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stall_after_headers: %v %v", resp, err)
	}
	if data, err := sseData(resp.Body); len(data) != 0 || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("stall_after_headers: %q, %v; want nothing until the deadline", data, err)
	}

	resp, err = start()
	if err != nil {
		t.Fatal(err)
	}
	if data, err := sseData(resp.Body); len(data) != 2 || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("stall_after: %q, %v; want 2 chunks, then nothing until the deadline", data, err)
	}

	resp = post(t, srv.URL, stream)
	sc := bufio.NewScanner(resp.Body)
	var texts []string
	for len(texts) < 7 && sc.Scan() {
		d, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var c struct {
			Choices []struct {
				Delta        struct{ Content string } `json:"delta"`
				FinishReason *string                  `json:"finish_reason"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(d), &c); err != nil || len(c.Choices) != 1 || c.Choices[0].FinishReason != nil {
			t.Fatalf("endless chunk %s (%v)", d, err)
		}
		texts = append(texts, c.Choices[0].Delta.Content)
	}
	if got := strings.Join(texts, "|"); got != "|again |and |again |and |again |and " {
		t.Errorf("endless texts %q", got)
	}
}

func TestExhaustedAndRouting(t *testing.T) {
	srv := NewServer(t, Script{Model: "scripted", Turns: []Turn{{Text: "one"}}})
	post(t, srv.URL, `{}`)
	resp := post(t, srv.URL, `{}`)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 500 || !strings.Contains(string(body), "script exhausted: all 1 scripted turns have been played, and request #2") {
		t.Errorf("exhausted: %d %s", resp.StatusCode, body)
	}

	resp = post(t, srv.URL, `{not json`)
	if resp.StatusCode != 400 {
		t.Errorf("bad body: %d", resp.StatusCode)
	}

	mresp, err := http.Get(srv.URL + "/models")
	if err != nil {
		t.Fatal(err)
	}
	defer mresp.Body.Close()
	var models struct {
		Data []struct{ ID string } `json:"data"`
	}
	if err := json.NewDecoder(mresp.Body).Decode(&models); err != nil || len(models.Data) != 1 || models.Data[0].ID != "scripted" {
		t.Errorf("models %+v %v", models, err)
	}

	nresp, err := http.Get(strings.TrimSuffix(srv.URL, "/v1") + "/chat/completions")
	if err != nil {
		t.Fatal(err)
	}
	nresp.Body.Close()
	if nresp.StatusCode != 404 {
		t.Errorf("unknown path: %d", nresp.StatusCode)
	}

	recs := srv.Requests()
	turns := []int{}
	for _, r := range recs {
		turns = append(turns, r.Turn)
	}
	if len(recs) != 5 || turns[0] != 0 || turns[1] != -1 || recs[3].Path != "/v1/models" || recs[2].Body != nil {
		t.Errorf("records: %d, turns %v", len(recs), turns)
	}
}

func TestRecordedRequests(t *testing.T) {
	srv := NewServer(t, Script{Turns: []Turn{{Text: "ok"}}})
	path := filepath.Join(t.TempDir(), "rec.json")
	if err := srv.RecordTo(path); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", srv.URL+"/chat/completions", strings.NewReader(`{
		"model": "m", "stream": true, "max_tokens": 9, "temperature": 0.2,
		"messages": [
			{"role": "user", "content": [{"type": "text", "text": "part one, "}, {"type": "text", "text": "part two"}]},
			{"role": "assistant", "content": null, "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
			{"role": "tool", "tool_call_id": "c", "content": "result"}
		],
		"tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
	}`))
	req.Header.Set("Authorization", "Bearer k")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	check := func(recs []RecordedRequest) {
		t.Helper()
		if len(recs) != 1 || recs[0].Body == nil {
			t.Fatalf("records %+v", recs)
		}
		b := recs[0].Body
		if recs[0].Header.Get("Authorization") != "Bearer k" || b.Model != "m" || !b.Stream || b.MaxTokens != 9 ||
			b.Temperature == nil || *b.Temperature != 0.2 || len(b.Messages) != 3 ||
			b.Messages[0].Content != "part one, part two" || b.Messages[1].ToolCalls[0].Function.Name != "f" ||
			b.Messages[2].ToolCallID != "c" || len(b.Tools) != 1 || compact(b.Tools[0].Function.Parameters) != `{"type":"object"}` {
			t.Errorf("recorded %+v", b)
		}
	}
	check(srv.Requests())
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var fromFile []RecordedRequest
	if err := json.Unmarshal(data, &fromFile); err != nil {
		t.Fatal(err)
	}
	check(fromFile)
	if got := srv.ChatRequests(); len(got) != 1 || got[0].Model != "m" {
		t.Errorf("ChatRequests %+v", got)
	}
}

func TestParseScript(t *testing.T) {
	good := `{"model":"x","turns":[{"text":"hi"},{"tool_calls":[{"name":"f","arguments":{"a":1}}]},{"fault":{"status":429,"retry_after":1.5}}]}`
	s, err := ParseScript([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Turns) != 3 || s.Turns[2].Fault.RetryAfter != "1.5" {
		t.Errorf("parsed %+v", s)
	}
	bad := map[string]string{
		"unknown field":           `{"turns":[{"txt":"hi"}]}`,
		"empty turn":              `{"turns":[{}]}`,
		"nameless call":           `{"turns":[{"tool_calls":[{"arguments":{}}]}]}`,
		"success status fault":    `{"turns":[{"fault":{"status":200}}]}`,
		"negative delay":          `{"turns":[{"fault":{"delay_ms":-1}}]}`,
		"retry_after as object":   `{"turns":[{"fault":{"status":429,"retry_after":{}}}]}`,
		"trailing data":           `{"turns":[]} {}`,
		"not json":                `turns:`,
		"negative chunks":         `{"turns":[{"tool_calls":[{"name":"f","chunks":-2}]}]}`,
		"negative stall_after":    `{"turns":[{"text":"x","fault":{"stall_after":-1}}]}`,
		"endless without text":    `{"turns":[{"tool_calls":[{"name":"f"}],"fault":{"endless":true}}]}`,
		"stream error and status": `{"turns":[{"text":"x","fault":{"status":500,"stream_error_after":1}}]}`,
		"cache beyond prompt":     `{"turns":[{"text":"x","usage":{"prompt_tokens":5,"completion_tokens":1,"cache_read_tokens":4,"cache_creation_tokens":2}}]}`,
		"invalid Go-side script":  "",
	}
	for name, src := range bad {
		if name == "invalid Go-side script" {
			if _, err := Start(Script{Turns: []Turn{{}}}, ""); err == nil {
				t.Errorf("%s: accepted", name)
			}
			continue
		}
		if _, err := ParseScript([]byte(src)); err == nil {
			t.Errorf("%s: accepted %s", name, src)
		}
	}
}

func TestSplitN(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want []string
	}{
		{"abcdef", 3, []string{"ab", "cd", "ef"}},
		{"abcdefg", 3, []string{"abc", "def", "g"}},
		{"ab", 5, []string{"a", "b"}},
		{"日本語", 2, []string{"日本", "語"}},
		{"x", 0, []string{"x"}},
		{"", 3, nil},
	}
	for _, tt := range tests {
		got := splitN(tt.s, tt.n)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
			t.Errorf("splitN(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
	if got := splitWords("a  b c"); strings.Join(got, "|") != "a  |b |c" {
		t.Errorf("splitWords %q", got)
	}
}

func compact(raw json.RawMessage) string {
	var dst bytes.Buffer
	if err := json.Compact(&dst, raw); err != nil {
		return "invalid: " + string(raw)
	}
	return dst.String()
}
