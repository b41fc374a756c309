package llm_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/llm/llmtest"
)

func newAnthropic(t *testing.T, baseURL, key string) *llm.Anthropic {
	t.Helper()
	p, err := llm.NewAnthropic(llm.Config{Model: "claude-test", BaseURL: baseURL, APIKey: key})
	if err != nil {
		t.Fatalf("NewAnthropic: %v", err)
	}
	return p
}

func TestAnthropicStreamAnswers(t *testing.T) {
	usage := &llmtest.Usage{PromptTokens: 100, CompletionTokens: 7, CacheReadTokens: 60, CacheCreationTokens: 30}
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
			name: "text and one tool call with its input in many deltas",
			turn: llmtest.Turn{Text: "Let me look.", Usage: usage, ToolCalls: []llmtest.ToolCall{
				{ID: "toolu_a", Name: "grep", Arguments: args(`{"pattern": "func main", "path": "."}`), Chunks: 9},
			}},
			text:   "Let me look.",
			calls:  []llm.ToolCall{{ID: "toolu_a", Name: "grep", Arguments: `{"pattern":"func main","path":"."}`}},
			finish: llm.FinishToolCalls,
		},
		{
			name: "two tool calls in one turn",
			turn: llmtest.Turn{Usage: usage, ToolCalls: []llmtest.ToolCall{
				{ID: "t1", Name: "read", Arguments: args(`{"path":"a.go"}`), Chunks: 4},
				{ID: "t2", Name: "list", Arguments: args(`{}`)},
			}},
			calls: []llm.ToolCall{
				{ID: "t1", Name: "read", Arguments: `{"path":"a.go"}`},
				{ID: "t2", Name: "list", Arguments: `{}`},
			},
			finish: llm.FinishToolCalls,
		},
		{
			name: "multibyte input split per rune",
			turn: llmtest.Turn{Usage: usage, ToolCalls: []llmtest.ToolCall{
				{ID: "u", Name: "write", Arguments: args(`{"text":"héllo wörld ✓ 日本"}`), Chunks: 50},
			}},
			calls:  []llm.ToolCall{{ID: "u", Name: "write", Arguments: `{"text":"héllo wörld ✓ 日本"}`}},
			finish: llm.FinishToolCalls,
		},
		{
			name: "malformed input passes through verbatim",
			turn: llmtest.Turn{Usage: usage, Fault: &llmtest.Fault{MalformedArguments: true}, ToolCalls: []llmtest.ToolCall{
				{ID: "m", Name: "read", Arguments: args(`{"path":"a.go"}`)},
			}},
			calls:  []llm.ToolCall{{ID: "m", Name: "read", Arguments: `{"path":"a.go"`}},
			finish: llm.FinishToolCalls,
		},
		{
			name:   "max_tokens is a length finish",
			turn:   llmtest.Turn{Text: "cut short", FinishReason: "length", Usage: usage},
			text:   "cut short",
			finish: llm.FinishLength,
		},
		{
			name:   "refusal is a content filter finish",
			turn:   llmtest.Turn{Text: "I can't.", FinishReason: "content_filter", Usage: usage},
			text:   "I can't.",
			finish: llm.FinishContentFilter,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := llmtest.NewServer(t, script(tt.turn))
			got, err := run(context.Background(), newAnthropic(t, srv.URL, "k"), userRequest("hi"))
			if err != nil {
				t.Fatalf("stream: %v", err)
			}
			want := llm.Response{Text: tt.text, ToolCalls: tt.calls, FinishReason: tt.finish,
				Usage: llm.Usage{PromptTokens: 100, CompletionTokens: 7, CacheReadTokens: 60, CacheCreationTokens: 30}}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
			if n := len(srv.MessagesRequests()); n != 1 {
				t.Errorf("%d Messages API requests, want 1", n)
			}
		})
	}
}

// Text streams as it arrives, each tool call as soon as its block ends
// (before the text of a later block), then the finish and the usage.
func TestAnthropicEventOrder(t *testing.T) {
	srv := llmtest.NewServer(t, script(llmtest.Turn{Text: "one two", ToolCalls: []llmtest.ToolCall{
		{ID: "a", Name: "x"}, {ID: "b", Name: "y"},
	}}))
	s, err := newAnthropic(t, srv.URL, "").Stream(context.Background(), userRequest("go"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var kinds []string
	for {
		ev, err := s.Recv()
		if err != nil {
			if err.Error() != "EOF" {
				t.Fatal(err)
			}
			break
		}
		kinds = append(kinds, ev.Kind.String())
	}
	if got := strings.Join(kinds, ","); got != "text,text,tool_call,tool_call,finish,usage" {
		t.Errorf("events %s", got)
	}
}

// What goes over the wire: the headers, the system prompt at the top level,
// tools with input_schema, tool calls and results as blocks of alternating
// messages, max_tokens always, and cache breakpoints after the tools, the
// system prompt, the last message and the user message before it.
func TestAnthropicRequestOnTheWire(t *testing.T) {
	srv := llmtest.NewServer(t, script(llmtest.Turn{Text: "ok"}, llmtest.Turn{Text: "ok"}))
	temp := 0.0
	req := llm.Request{
		Messages: []llm.Message{
			{Role: llm.RoleSystem, Content: "You are Loom."},
			{Role: llm.RoleUser, Content: "Fix a.go"},
			{Role: llm.RoleAssistant, Content: "Reading both.", ToolCalls: []llm.ToolCall{
				{ID: "t1", Name: "read", Arguments: `{"path": "a.go"}`},
				{ID: "t2", Name: "read", Arguments: `{"path":`}, // malformed: the agent answered with an error
			}},
			{Role: llm.RoleTool, ToolCallID: "t1", Content: "package a"},
			{Role: llm.RoleTool, ToolCallID: "t2", Content: "error: arguments are not JSON"},
			{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "t3", Name: "list"}}},
			{Role: llm.RoleTool, ToolCallID: "t3", Content: ""},
			{Role: llm.RoleUser, Content: "Go on."},
		},
		Tools: []llm.ToolSpec{
			{Name: "read", Description: "Read a file", Schema: json.RawMessage(`{"type":"object","properties":{"path":{"type":"string"}}}`)},
			{Name: "list"},
		},
		Temperature: &temp,
	}
	p, err := llm.NewAnthropic(llm.Config{Model: "claude-test", BaseURL: srv.URL, APIKey: secretKey, MaxOutputTokens: 1234})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := run(context.Background(), p, req); err != nil {
		t.Fatal(err)
	}
	rec := srv.Requests()[0]
	if rec.Path != "/v1/messages" || rec.Header.Get("X-Api-Key") != secretKey || rec.Header.Get("Anthropic-Version") != "2023-06-01" ||
		rec.Header.Get("Authorization") != "" {
		t.Errorf("path %s, headers %v", rec.Path, rec.Header)
	}
	got := srv.MessagesRequests()[0]
	if got.Model != "claude-test" || got.MaxTokens != 1234 || !got.Stream || got.Temperature == nil || *got.Temperature != 0 {
		t.Errorf("model %q max_tokens %d stream %v temperature %v", got.Model, got.MaxTokens, got.Stream, got.Temperature)
	}
	if len(got.System) != 1 || got.System[0].Text != "You are Loom." || got.System[0].CacheControl == nil || got.System[0].CacheControl.Type != "ephemeral" {
		t.Errorf("system %+v", got.System)
	}
	if len(got.Tools) != 2 || string(got.Tools[0].InputSchema) != `{"type":"object","properties":{"path":{"type":"string"}}}` ||
		string(got.Tools[1].InputSchema) != `{"type":"object","properties":{}}` || got.Tools[0].CacheControl != nil || got.Tools[1].CacheControl == nil {
		t.Errorf("tools %+v", got.Tools)
	}
	type block struct {
		typ, text, id, name, input, toolUseID, content string
		cached                                         bool
	}
	var msgs []string
	var blocks [][]block
	for _, m := range got.Messages {
		msgs = append(msgs, m.Role)
		var bs []block
		for _, b := range m.Content {
			bs = append(bs, block{b.Type, b.Text, b.ID, b.Name, string(b.Input), b.ToolUseID, string(b.Content), b.CacheControl != nil})
		}
		blocks = append(blocks, bs)
	}
	wantBlocks := [][]block{
		{{typ: "text", text: "Fix a.go"}},
		{{typ: "text", text: "Reading both."}, {typ: "tool_use", id: "t1", name: "read", input: `{"path":"a.go"}`}, {typ: "tool_use", id: "t2", name: "read", input: `{}`}},
		{{typ: "tool_result", toolUseID: "t1", content: "package a"}, {typ: "tool_result", toolUseID: "t2", content: "error: arguments are not JSON", cached: true}},
		{{typ: "tool_use", id: "t3", name: "list", input: `{}`}},
		{{typ: "tool_result", toolUseID: "t3"}, {typ: "text", text: "Go on.", cached: true}},
	}
	if strings.Join(msgs, ",") != "user,assistant,user,assistant,user" || !reflect.DeepEqual(blocks, wantBlocks) {
		t.Errorf("messages %v\n%+v\nwant\n%+v", msgs, blocks, wantBlocks)
	}

	// Without a configured cap, the default is sent: the API requires one.
	if _, err := run(context.Background(), newAnthropic(t, srv.URL, ""), userRequest("hi")); err != nil {
		t.Fatal(err)
	}
	second := srv.Requests()[1]
	if got := srv.MessagesRequests()[1]; got.MaxTokens != llm.DefaultMaxOutputTokens || got.System != nil || got.Tools != nil ||
		second.Header.Get("X-Api-Key") != "" {
		t.Errorf("max_tokens %d, system %v, tools %v, key %q", got.MaxTokens, got.System, got.Tools, second.Header.Get("X-Api-Key"))
	}
}

// Each error class of the API maps to a kind, retryable or not, with the
// server's message, its type and a hint naming the provider's settings.
func TestAnthropicErrorsClassified(t *testing.T) {
	tests := []struct {
		status    int
		key       string
		kind      llm.Kind
		temporary bool
		mention   []string
	}{
		{400, "k", llm.KindBadRequest, false, []string{"400 Bad Request", "invalid_request_error", "max_tokens"}},
		{401, "sk-wrong", llm.KindAuth, false, []string{"401 Unauthorized", "authentication_error", "ANTHROPIC_API_KEY"}},
		{401, "", llm.KindAuth, false, []string{"No API key is set", "LOOM_API_KEY or ANTHROPIC_API_KEY"}},
		{403, "k", llm.KindAuth, false, []string{"403 Forbidden", "permission_error", `"claude-test"`}},
		{404, "k", llm.KindNotFound, false, []string{"not_found_error", "LOOM_MODEL", "claude-"}},
		{429, "k", llm.KindRateLimit, true, []string{"429 Too Many Requests", "rate_limit_error", "wait 2s"}},
		{500, "k", llm.KindServer, true, []string{"api_error"}},
		{529, "k", llm.KindServer, true, []string{"overloaded_error", "overloaded for everyone"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("HTTP%d_key=%s", tt.status, tt.key), func(t *testing.T) {
			t.Parallel()
			srv := llmtest.NewServer(t, script(llmtest.Turn{Fault: &llmtest.Fault{Status: tt.status, Message: "server message", RetryAfter: "2"}}))
			_, err := run(context.Background(), newAnthropic(t, srv.URL, tt.key), userRequest("hi"))
			e := asError(t, err)
			if e.Kind != tt.kind || e.Status != tt.status || e.Temporary != tt.temporary || llm.Retryable(err) != tt.temporary {
				t.Errorf("kind %v status %d temporary %v, want %v %d %v", e.Kind, e.Status, e.Temporary, tt.kind, tt.status, tt.temporary)
			}
			if !strings.HasSuffix(e.Message, ": server message") {
				t.Errorf("server message %q", e.Message)
			}
			if e.RetryAfter != 2*time.Second {
				t.Errorf("RetryAfter %v, want 2s", e.RetryAfter)
			}
			checkMessage(t, err, append(tt.mention, srv.URL)...)
		})
	}
}

// An error event inside the stream: before any text it is retried like the
// same error answered at once; after text it ends the answer with the
// error, classified by its type.
func TestAnthropicErrorEvent(t *testing.T) {
	tests := []struct {
		name      string
		fault     llmtest.Fault
		recovered bool
		kind      llm.Kind
		temporary bool
	}{
		// After message_start and ping: nothing delivered yet.
		{"overloaded before any text", llmtest.Fault{StreamErrorAfter: 2}, true, llm.KindServer, true},
		{"overloaded after text", llmtest.Fault{StreamErrorAfter: 5}, false, llm.KindServer, true},
		{"invalid request before any text", llmtest.Fault{StreamErrorAfter: 2, Type: "invalid_request_error", Message: "prompt is too long"}, false, llm.KindBadRequest, false},
		{"unknown type", llmtest.Fault{StreamErrorAfter: 2, Type: "brand_new_error"}, true, llm.KindServer, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := tt.fault
			srv := llmtest.NewServer(t, script(llmtest.Turn{Text: "a b c d e", Fault: &f}, llmtest.Turn{Text: "recovered"}))
			var log retryLog
			got, err := run(guarded(t), llm.WithRetry(newAnthropic(t, srv.URL, ""), log.policy()), userRequest("hi"))
			if tt.recovered {
				if err != nil || got.Text != "recovered" || len(log.errs) != 1 {
					t.Fatalf("not recovered: %q, %v, %d retries", got.Text, err, len(log.errs))
				}
				err = log.errs[0]
			} else if len(log.errs) != 0 || srv.Remaining() != 1 {
				t.Errorf("retried: %d retries, %d turns left", len(log.errs), srv.Remaining())
			}
			e := asError(t, err)
			if e.Kind != tt.kind || e.Temporary != tt.temporary || e.Status != 0 {
				t.Errorf("kind %v temporary %v status %d, want %v %v 0: %v", e.Kind, e.Temporary, e.Status, tt.kind, tt.temporary, err)
			}
			want := []string{"in the middle of its answer", srv.URL}
			if f.Type != "" {
				want = append(want, f.Type)
			} else {
				want = append(want, "overloaded_error")
			}
			checkMessage(t, err, want...)
		})
	}
}

// A connection cut mid-stream, a stream that ends without message_stop,
// and a body that is no stream are errors, not short answers.
func TestAnthropicBrokenStreams(t *testing.T) {
	t.Run("cut", func(t *testing.T) {
		srv := llmtest.NewServer(t, script(llmtest.Turn{Text: "alpha beta gamma delta", Fault: &llmtest.Fault{CutAfter: 5}}))
		got, err := run(context.Background(), newAnthropic(t, srv.URL, ""), userRequest("go"))
		e := asError(t, err)
		if e.Kind != llm.KindNetwork || !e.Temporary || got.Text != "alpha beta " {
			t.Errorf("kind %v temporary %v text %q: %v", e.Kind, e.Temporary, got.Text, err)
		}
	})
	handlers := map[string]struct {
		body    string
		kind    llm.Kind
		mention string
	}{
		"no message_stop": {"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":3}}}\n\n" +
			"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" +
			"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"half\"}}\n\n",
			llm.KindNetwork, "no message_stop"},
		"JSON instead of a stream": {`{"id":"msg_1","type":"message","content":[{"type":"text","text":"hi"}]}`, llm.KindProtocol, "not a stream"},
		"a delta for no block": {"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":3,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}\n\n",
			llm.KindProtocol, "block 3"},
		"an event that is not JSON": {"event: message_start\ndata: {not json\n\n", llm.KindProtocol, "message_start"},
	}
	for name, h := range handlers {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				fmt.Fprint(w, h.body)
			}))
			defer srv.Close()
			_, err := run(context.Background(), newAnthropic(t, srv.URL, ""), userRequest("go"))
			if e := asError(t, err); e.Kind != h.kind || !strings.Contains(err.Error(), h.mention) {
				t.Errorf("kind %v, want %v mentioning %q: %v", e.Kind, h.kind, h.mention, err)
			}
		})
	}
}

// The base URL may be given with or without /v1, as Anthropic's SDKs and
// Loom's OpenAI convention each write it.
func TestAnthropicBaseURL(t *testing.T) {
	for _, suffix := range []string{"", "/", "/v1", "/v1/"} {
		srv := llmtest.NewServer(t, script(llmtest.Turn{Text: "ok"}))
		base := strings.TrimSuffix(srv.URL, "/v1") + suffix
		got, err := run(context.Background(), newAnthropic(t, base, ""), userRequest("hi"))
		if err != nil || got.Text != "ok" {
			t.Errorf("base %s: %q %v", base, got.Text, err)
		}
	}
	if _, err := llm.NewAnthropic(llm.Config{BaseURL: "http://x"}); !errors.Is(err, llm.ErrNoModel) {
		t.Errorf("no model: %v", err)
	}
	if _, err := llm.NewAnthropic(llm.Config{Model: "m", BaseURL: "api.anthropic.com"}); err == nil || !strings.Contains(err.Error(), "ANTHROPIC_BASE_URL") {
		t.Errorf("bad base URL: %v", err)
	}
	p, err := llm.NewAnthropic(llm.Config{Model: "m"})
	if err != nil || p.BaseURL() != llm.DefaultAnthropicBaseURL {
		t.Errorf("default base URL: %v %v", p.BaseURL(), err)
	}
}

func TestAnthropicCanceledMidStream(t *testing.T) {
	srv := llmtest.NewServer(t, script(llmtest.Turn{Text: "a b c d e f g h", Fault: &llmtest.Fault{ChunkDelayMS: 200}}))
	ctx, cancel := context.WithCancel(context.Background())
	s, err := newAnthropic(t, srv.URL, "").Stream(ctx, userRequest("go"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	time.AfterFunc(50*time.Millisecond, cancel)
	for err == nil {
		_, err = s.Recv()
	}
	if e := asError(t, err); e.Kind != llm.KindCanceled || !errors.Is(err, context.Canceled) {
		t.Errorf("kind %v: %v", e.Kind, err)
	}
}
