package llm_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/llm/llmtest"
)

func TestStreamAnswers(t *testing.T) {
	usage := &llmtest.Usage{PromptTokens: 11, CompletionTokens: 7}
	tests := []struct {
		name   string
		turn   llmtest.Turn
		text   string
		calls  []llm.ToolCall
		finish llm.FinishReason
	}{
		{
			name:   "text only",
			turn:   llmtest.Turn{Text: "Hello there, general Kenobi", Usage: usage},
			text:   "Hello there, general Kenobi",
			finish: llm.FinishStop,
		},
		{
			name: "text and one tool call with arguments in many chunks",
			turn: llmtest.Turn{Text: "Let me look.", Usage: usage, ToolCalls: []llmtest.ToolCall{
				{ID: "call_a", Name: "grep", Arguments: args(`{"pattern": "func main", "path": "."}`), Chunks: 9},
			}},
			text:   "Let me look.",
			calls:  []llm.ToolCall{{ID: "call_a", Name: "grep", Arguments: `{"pattern":"func main","path":"."}`}},
			finish: llm.FinishToolCalls,
		},
		{
			name: "parallel tool calls one after another",
			turn: llmtest.Turn{Usage: usage, ToolCalls: []llmtest.ToolCall{
				{ID: "c1", Name: "read", Arguments: args(`{"path":"a.go"}`)},
				{ID: "c2", Name: "read", Arguments: args(`{"path":"b.go"}`), Chunks: 4},
				{ID: "c3", Name: "list", Arguments: args(`{}`)},
			}},
			calls: []llm.ToolCall{
				{ID: "c1", Name: "read", Arguments: `{"path":"a.go"}`},
				{ID: "c2", Name: "read", Arguments: `{"path":"b.go"}`},
				{ID: "c3", Name: "list", Arguments: `{}`},
			},
			finish: llm.FinishToolCalls,
		},
		{
			name: "parallel tool calls with interleaved argument chunks",
			turn: llmtest.Turn{Usage: usage, InterleaveToolCalls: true, ToolCalls: []llmtest.ToolCall{
				{ID: "c1", Name: "edit", Arguments: args(`{"path":"a.go","old":"x","new":"y"}`), Chunks: 5},
				{ID: "c2", Name: "edit", Arguments: args(`{"path":"b.go","old":"p","new":"q"}`), Chunks: 3},
			}},
			calls: []llm.ToolCall{
				{ID: "c1", Name: "edit", Arguments: `{"path":"a.go","old":"x","new":"y"}`},
				{ID: "c2", Name: "edit", Arguments: `{"path":"b.go","old":"p","new":"q"}`},
			},
			finish: llm.FinishToolCalls,
		},
		{
			name: "multibyte arguments split per rune",
			turn: llmtest.Turn{Usage: usage, ToolCalls: []llmtest.ToolCall{
				{ID: "u", Name: "write", Arguments: args(`{"text":"héllo wörld ✓ 日本"}`), Chunks: 50},
			}},
			calls:  []llm.ToolCall{{ID: "u", Name: "write", Arguments: `{"text":"héllo wörld ✓ 日本"}`}},
			finish: llm.FinishToolCalls,
		},
		{
			name: "malformed arguments pass through verbatim",
			turn: llmtest.Turn{Usage: usage, ToolCalls: []llmtest.ToolCall{
				{ID: "m", Name: "read", Arguments: args(`"{\"path\": \"a.go\""`)},
			}},
			calls:  []llm.ToolCall{{ID: "m", Name: "read", Arguments: `{"path": "a.go"`}},
			finish: llm.FinishToolCalls,
		},
		{
			name: "malformed arguments fault",
			turn: llmtest.Turn{Usage: usage, Fault: &llmtest.Fault{MalformedArguments: true}, ToolCalls: []llmtest.ToolCall{
				{ID: "m", Name: "read", Arguments: args(`{"path":"a.go"}`)},
			}},
			calls:  []llm.ToolCall{{ID: "m", Name: "read", Arguments: `{"path":"a.go"`}},
			finish: llm.FinishToolCalls,
		},
		{
			name:   "length finish",
			turn:   llmtest.Turn{Text: "cut short", FinishReason: "length", Usage: usage},
			text:   "cut short",
			finish: llm.FinishLength,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := llmtest.NewServer(t, script(tt.turn))
			got, err := run(context.Background(), newProvider(t, srv.URL, "k"), userRequest("hi"))
			if err != nil {
				t.Fatalf("stream: %v", err)
			}
			want := llm.Response{Text: tt.text, ToolCalls: tt.calls, FinishReason: tt.finish, Usage: llm.Usage{PromptTokens: 11, CompletionTokens: 7}}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
			for _, tc := range got.ToolCalls {
				if valid := json.Valid([]byte(tc.Arguments)); valid == (tt.turn.Fault != nil || strings.Contains(tt.name, "malformed")) {
					t.Errorf("arguments %q: json.Valid = %v", tc.Arguments, valid)
				}
			}
		})
	}
}

// Events come in a documented order: text as it streams, then the complete
// tool calls, the finish, and usage last.
func TestStreamEventOrder(t *testing.T) {
	srv := llmtest.NewServer(t, script(llmtest.Turn{
		Text:      "one two three",
		ToolCalls: []llmtest.ToolCall{{Name: "a"}, {Name: "b"}},
	}))
	s, err := newProvider(t, srv.URL, "").Stream(context.Background(), userRequest("go"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var kinds []string
	var texts []string
	for {
		ev, err := s.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, ev.Kind.String())
		if ev.Kind == llm.EventText {
			texts = append(texts, ev.Text)
		}
		if ev.Kind == llm.EventToolCall && (ev.ToolCall.Arguments != "{}" || ev.ToolCall.ID == "") {
			t.Errorf("tool call without arguments: %+v, want arguments {} and an id", ev.ToolCall)
		}
	}
	want := []string{"text", "text", "text", "tool_call", "tool_call", "finish", "usage"}
	if !reflect.DeepEqual(kinds, want) {
		t.Errorf("event kinds %v, want %v", kinds, want)
	}
	if !reflect.DeepEqual(texts, []string{"one ", "two ", "three"}) {
		t.Errorf("text deltas %q", texts)
	}
	// Recv after the end keeps saying EOF.
	if _, err := s.Recv(); err != io.EOF {
		t.Errorf("Recv after end: %v, want io.EOF", err)
	}
}

func TestRequestOnTheWire(t *testing.T) {
	srv := llmtest.NewServer(t, script(llmtest.Turn{Text: "ok"}, llmtest.Turn{Text: "ok"}))
	temp := 0.5
	req := llm.Request{
		Model: "override-model",
		Messages: []llm.Message{
			{Role: llm.RoleSystem, Content: "You are Loom."},
			{Role: llm.RoleUser, Content: "Find main."},
			{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "call_1", Name: "grep", Arguments: `{"pattern":"main"}`}, {ID: "call_2", Name: "list"}}},
			{Role: llm.RoleTool, ToolCallID: "call_1", Content: "main.go:3: func main() {"},
			{Role: llm.RoleTool, ToolCallID: "call_2", Content: "main.go"},
		},
		Tools: []llm.ToolSpec{
			{Name: "grep", Description: "Search files.", Schema: json.RawMessage(`{"type":"object","properties":{"pattern":{"type":"string"}},"required":["pattern"]}`)},
			{Name: "list", Description: "List files."},
		},
		MaxTokens:   256,
		Temperature: &temp,
	}
	if _, err := run(context.Background(), newProvider(t, srv.URL, "sk-secret"), req); err != nil {
		t.Fatal(err)
	}
	zero := 0.0
	if _, err := run(context.Background(), newProvider(t, srv.URL, ""), llm.Request{Messages: req.Messages[:2], Temperature: &zero}); err != nil {
		t.Fatal(err)
	}

	recs := srv.Requests()
	if len(recs) != 2 {
		t.Fatalf("%d requests recorded, want 2", len(recs))
	}
	if got := recs[0].Header.Get("Authorization"); got != "Bearer sk-secret" {
		t.Errorf("Authorization %q", got)
	}
	if got := recs[1].Header.Get("Authorization"); got != "" {
		t.Errorf("Authorization sent without a key: %q", got)
	}
	b := recs[0].Body
	if b.Model != "override-model" || !b.Stream || b.StreamOptions == nil || !b.StreamOptions.IncludeUsage {
		t.Errorf("model/stream/stream_options: %+v", b)
	}
	if b.MaxTokens != 256 || b.Temperature == nil || *b.Temperature != 0.5 {
		t.Errorf("max_tokens %d temperature %v", b.MaxTokens, b.Temperature)
	}
	var roles []string
	for _, m := range b.Messages {
		roles = append(roles, m.Role)
	}
	if !reflect.DeepEqual(roles, []string{"system", "user", "assistant", "tool", "tool"}) {
		t.Errorf("roles %v", roles)
	}
	asst := b.Messages[2]
	if len(asst.ToolCalls) != 2 || asst.ToolCalls[0].ID != "call_1" || asst.ToolCalls[0].Type != "function" ||
		asst.ToolCalls[0].Function.Name != "grep" || asst.ToolCalls[0].Function.Arguments != `{"pattern":"main"}` ||
		asst.ToolCalls[1].Function.Arguments != "{}" {
		t.Errorf("assistant tool calls %+v", asst.ToolCalls)
	}
	if b.Messages[3].ToolCallID != "call_1" || b.Messages[3].Content != "main.go:3: func main() {" {
		t.Errorf("tool result %+v", b.Messages[3])
	}
	if len(b.Tools) != 2 || b.Tools[0].Type != "function" || b.Tools[0].Function.Name != "grep" || b.Tools[0].Function.Description != "Search files." {
		t.Fatalf("tools %+v", b.Tools)
	}
	var schema map[string]any
	if err := json.Unmarshal(b.Tools[0].Function.Parameters, &schema); err != nil || schema["required"] == nil {
		t.Errorf("grep schema %s (%v)", b.Tools[0].Function.Parameters, err)
	}
	if got := string(b.Tools[1].Function.Parameters); got != `{"type":"object","properties":{}}` {
		t.Errorf("empty schema sent as %s", got)
	}
	b2 := recs[1].Body
	if b2.Model != "test-model" {
		t.Errorf("default model %q", b2.Model)
	}
	if b2.Temperature == nil || *b2.Temperature > 1e-6 {
		t.Errorf("temperature 0 sent as %v, want present and ~0", b2.Temperature)
	}
}

func TestInvalidToolSchemaRejectedBeforeSending(t *testing.T) {
	srv := llmtest.NewServer(t, script(llmtest.Turn{Text: "unused"}))
	_, err := run(context.Background(), newProvider(t, srv.URL, ""), llm.Request{
		Messages: []llm.Message{{Role: llm.RoleUser, Content: "x"}},
		Tools:    []llm.ToolSpec{{Name: "broken", Schema: json.RawMessage(`{"type":`)}},
	})
	if e := asError(t, err); e.Kind != llm.KindBadRequest || !strings.Contains(e.Error(), `"broken"`) {
		t.Errorf("got %v (kind %v)", err, e.Kind)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

func TestStreamCutMidway(t *testing.T) {
	srv := llmtest.NewServer(t, script(llmtest.Turn{Text: "alpha beta gamma delta", Fault: &llmtest.Fault{CutAfter: 3}}))
	got, err := run(context.Background(), newProvider(t, srv.URL, ""), userRequest("go"))
	e := asError(t, err)
	if e.Kind != llm.KindNetwork || !e.Temporary {
		t.Errorf("kind %v temporary %v, want network and temporary: %v", e.Kind, e.Temporary, err)
	}
	if !strings.Contains(err.Error(), "closed before the answer was complete") || !strings.Contains(err.Error(), srv.URL) {
		t.Errorf("message not clear: %v", err)
	}
	if got.Text != "alpha beta " {
		t.Errorf("partial text %q, want the two chunks sent before the cut", got.Text)
	}
}

// A server that ends the stream cleanly ([DONE]) but without a
// finish_reason has not finished its answer; treating it as complete would
// hide a truncated reply. llmtest always sends finish_reason, so this server
// is written by hand.
func TestStreamEndsWithoutFinish(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, `data: {"choices":[{"index":0,"delta":{"content":"half"}}]}`+"\n\n")
		fmt.Fprint(w, "data: [DONE]\n\n")
	}))
	defer srv.Close()
	got, err := run(context.Background(), newProvider(t, srv.URL+"/v1", ""), userRequest("go"))
	if e := asError(t, err); e.Kind != llm.KindNetwork || !strings.Contains(err.Error(), "no finish_reason") {
		t.Errorf("kind %v: %v", e.Kind, err)
	}
	if got.Text != "half" {
		t.Errorf("text %q", got.Text)
	}
}

// TestCanceledMidStream cancels a stream that never ends: only the cancel
// can end it.
func TestCanceledMidStream(t *testing.T) {
	srv := llmtest.NewServer(t, script(llmtest.Turn{Text: "a b c ", Fault: &llmtest.Fault{Endless: true, ChunkDelayMS: 20}}))
	ctx, cancel := context.WithCancel(context.Background())
	s, err := newProvider(t, srv.URL, "").Stream(ctx, userRequest("go"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	done := make(chan error, 1)
	go func() {
		for {
			ev, err := s.Recv()
			if err != nil {
				done <- err
				return
			}
			if ev.Text != "" {
				cancel() // mid-stream: text has arrived
			}
		}
	}()
	select {
	case err = <-done:
	case <-time.After(hangGuard):
		t.Fatalf("the stream still runs %v after the cancel", hangGuard)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
	if e := asError(t, err); e.Kind != llm.KindCanceled {
		t.Errorf("kind %v", e.Kind)
	}
}

func TestNewOpenAIValidates(t *testing.T) {
	if _, err := llm.NewOpenAI(llm.Config{BaseURL: "http://localhost:1/v1"}); !errors.Is(err, llm.ErrNoModel) {
		t.Errorf("no model: %v", err)
	}
	for _, u := range []string{"localhost:11434/v1", "ftp://x/v1", "http://", "::bad"} {
		if _, err := llm.NewOpenAI(llm.Config{Model: "m", BaseURL: u}); err == nil || !strings.Contains(err.Error(), "LOOM_BASE_URL") {
			t.Errorf("base URL %q: %v", u, err)
		}
	}
	p, err := llm.NewOpenAI(llm.Config{Model: "m"})
	if err != nil || p.BaseURL() != llm.DefaultBaseURL || p.Model() != "m" {
		t.Errorf("defaults: %v %v", p, err)
	}
}

// The cached part of the prompt, which OpenAI reports in
// prompt_tokens_details, is counted as cache reads.
func TestOpenAICachedTokens(t *testing.T) {
	srv := llmtest.NewServer(t, script(llmtest.Turn{Text: "ok", Usage: &llmtest.Usage{PromptTokens: 2000, CompletionTokens: 3, CacheReadTokens: 1536}}))
	got, err := run(context.Background(), newProvider(t, srv.URL, ""), userRequest("hi"))
	if want := (llm.Usage{PromptTokens: 2000, CompletionTokens: 3, CacheReadTokens: 1536}); err != nil || got.Usage != want {
		t.Errorf("usage %+v, want %+v (%v)", got.Usage, want, err)
	}
}
