package llmtest

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// anthropicFormat is Anthropic's Messages API: "event: NAME" and
// "data: {...}" frames from message_start to message_stop.
type anthropicFormat struct{}

func (anthropicFormat) decode(raw []byte, h http.Header, rec *RecordedRequest) (request, error) {
	var body MessagesRequest
	if err := json.Unmarshal(raw, &body); err != nil {
		return request{}, fmt.Errorf("the request body is not a Messages API JSON object: %w", err)
	}
	rec.Messages = &body
	if h.Get("Anthropic-Version") == "" {
		return request{}, fmt.Errorf("anthropic-version: header is required")
	}
	if err := body.validate(); err != nil {
		return request{}, err
	}
	return request{model: body.Model, stream: body.Stream}, nil
}

// anthropicErrorType is the API's error type for each status.
var anthropicErrorType = map[int]string{
	400: "invalid_request_error",
	401: "authentication_error",
	402: "billing_error",
	403: "permission_error",
	404: "not_found_error",
	413: "request_too_large",
	429: "rate_limit_error",
	500: "api_error",
	504: "timeout_error",
	529: "overloaded_error",
}

func errorBody(typ, msg string) map[string]any {
	return map[string]any{"type": "error", "error": map[string]any{"type": typ, "message": msg}}
}

func (anthropicFormat) writeError(w http.ResponseWriter, status int, msg, typ, _ string) {
	if typ == "" {
		typ = anthropicErrorType[status]
	}
	if typ == "" {
		typ = "api_error"
	}
	w.Header().Set("Request-Id", "req_llmtest")
	writeJSON(w, status, errorBody(typ, msg))
}

func (anthropicFormat) streamError(typ, msg string) []byte {
	if typ == "" {
		typ = "overloaded_error"
	}
	if msg == "" {
		msg = "Overloaded"
	}
	return event("error", errorBody(typ, msg))
}

func event(name string, v map[string]any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Only plain strings, numbers and maps go in; this cannot happen.
		b = []byte(`{}`)
	}
	return fmt.Appendf(nil, "event: %s\ndata: %s\n\n", name, b)
}

// anthropicStopReason maps a script's finish reason (named as in
// chat-completions) to the API's stop_reason; others pass verbatim.
func anthropicStopReason(finish string) string {
	switch finish {
	case "stop":
		return "end_turn"
	case "tool_calls":
		return "tool_use"
	case "length":
		return "max_tokens"
	case "content_filter":
		return "refusal"
	}
	return finish
}

// usageJSON splits the script's prompt tokens as the API does: input_tokens
// are the ones neither read from nor written to the cache.
func (a answer) anthropicUsage(output int) map[string]any {
	in := max(0, a.usage.PromptTokens-a.usage.CacheReadTokens-a.usage.CacheCreationTokens)
	return map[string]any{
		"input_tokens":                in,
		"cache_creation_input_tokens": a.usage.CacheCreationTokens,
		"cache_read_input_tokens":     a.usage.CacheReadTokens,
		"output_tokens":               output,
	}
}

// frames streams the text as one block in word-sized text_delta events, then
// each tool call as a tool_use block whose input comes in input_json_delta
// pieces. Blocks stream one after another in this protocol, so
// interleave_tool_calls has no effect.
func (anthropicFormat) frames(a answer, _ bool) frames {
	var fr frames
	add := func(name string, v map[string]any) { fr.all = append(fr.all, event(name, v)) }
	add("message_start", map[string]any{"type": "message_start", "message": map[string]any{
		"id": a.messageID(), "type": "message", "role": "assistant", "content": []any{},
		"model": a.model, "stop_reason": nil, "stop_sequence": nil, "usage": a.anthropicUsage(1),
	}})
	add("ping", map[string]any{"type": "ping"})
	index := 0
	if a.text != "" {
		add("content_block_start", map[string]any{"type": "content_block_start", "index": index,
			"content_block": map[string]any{"type": "text", "text": ""}})
		fr.textStart = len(fr.all)
		for _, p := range splitWords(a.text) {
			add("content_block_delta", map[string]any{"type": "content_block_delta", "index": index,
				"delta": map[string]any{"type": "text_delta", "text": p}})
			fr.textFrames++
		}
		add("content_block_stop", map[string]any{"type": "content_block_stop", "index": index})
		index++
	}
	for _, c := range a.calls {
		add("content_block_start", map[string]any{"type": "content_block_start", "index": index,
			"content_block": map[string]any{"type": "tool_use", "id": c.id, "name": c.name, "input": map[string]any{}}})
		for _, p := range splitN(c.args, c.chunks) {
			add("content_block_delta", map[string]any{"type": "content_block_delta", "index": index,
				"delta": map[string]any{"type": "input_json_delta", "partial_json": p}})
		}
		add("content_block_stop", map[string]any{"type": "content_block_stop", "index": index})
		index++
	}
	add("message_delta", map[string]any{"type": "message_delta",
		"delta": map[string]any{"stop_reason": anthropicStopReason(a.finish), "stop_sequence": nil},
		"usage": map[string]any{"output_tokens": a.usage.CompletionTokens}})
	add("message_stop", map[string]any{"type": "message_stop"})
	return fr
}

func (anthropicFormat) whole(a answer) any {
	content := []any{}
	if a.text != "" {
		content = append(content, map[string]any{"type": "text", "text": a.text})
	}
	for _, c := range a.calls {
		var input any = json.RawMessage(c.args)
		if !json.Valid([]byte(c.args)) {
			input = c.args // malformed arguments: the client sees them as a string
		}
		content = append(content, map[string]any{"type": "tool_use", "id": c.id, "name": c.name, "input": input})
	}
	return map[string]any{
		"id": a.messageID(), "type": "message", "role": "assistant", "content": content, "model": a.model,
		"stop_reason": anthropicStopReason(a.finish), "stop_sequence": nil,
		"usage": a.anthropicUsage(a.usage.CompletionTokens),
	}
}

func (a answer) messageID() string { return fmt.Sprintf("msg_llmtest_%d", a.idx) }
