package llmtest

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// openAIFormat is the chat-completions protocol: "data: {...}" chunks
// ending with "data: [DONE]".
type openAIFormat struct{}

func (openAIFormat) decode(raw []byte, _ http.Header, rec *RecordedRequest) (request, error) {
	var body ChatRequest
	if err := json.Unmarshal(raw, &body); err != nil {
		return request{}, fmt.Errorf("the request body is not a chat-completions JSON object: %w", err)
	}
	rec.Body = &body
	return request{model: body.Model, stream: body.Stream, includeUsage: body.StreamOptions != nil && body.StreamOptions.IncludeUsage}, nil
}

func (openAIFormat) writeError(w http.ResponseWriter, status int, msg, typ, code string) {
	if typ == "" {
		typ = "llmtest_fault"
	}
	e := map[string]any{"message": msg, "type": typ, "param": nil, "code": nil}
	if code != "" {
		e["code"] = code
	}
	writeJSON(w, status, map[string]any{"error": e})
}

func (openAIFormat) streamError(typ, msg string) []byte {
	if typ == "" {
		typ = "server_error"
	}
	if msg == "" {
		msg = "llmtest: injected error inside the stream"
	}
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": nil}})
	return fmt.Appendf(nil, "data: %s\n\n", b)
}

func (openAIFormat) frames(a answer, includeUsage bool) frames {
	chunks := a.chunks(includeUsage)
	fr := frames{done: []byte("data: [DONE]\n\n"), textStart: 1, textFrames: len(splitWords(a.text))}
	for _, c := range chunks {
		fr.all = append(fr.all, fmt.Appendf(nil, "data: %s\n\n", c))
	}
	return fr
}

func (openAIFormat) whole(a answer) any { return a.completion() }

func (a answer) id() string { return fmt.Sprintf("chatcmpl-llmtest-%d", a.idx) }

// chunks returns the SSE payloads of the answer, in order: role, text
// pieces, tool-call pieces, finish, and usage when asked for.
func (a answer) chunks(includeUsage bool) [][]byte {
	var out [][]byte
	add := func(delta map[string]any, finish any) {
		out = append(out, a.chunk([]any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": nil}}, nil))
	}
	add(map[string]any{"role": "assistant", "content": ""}, nil)
	for _, p := range splitWords(a.text) {
		add(map[string]any{"content": p}, nil)
	}
	// Each call's first delta names it; its arguments follow in pieces,
	// tagged only by index, which is what clients must join them by.
	pieces := make([][]string, len(a.calls))
	for i, c := range a.calls {
		pieces[i] = splitN(c.args, c.chunks)
	}
	header := func(i int) {
		c := a.calls[i]
		add(map[string]any{"tool_calls": []any{map[string]any{
			"index": i, "id": c.id, "type": "function",
			"function": map[string]any{"name": c.name, "arguments": ""},
		}}}, nil)
	}
	piece := func(i int, p string) {
		add(map[string]any{"tool_calls": []any{map[string]any{
			"index": i, "function": map[string]any{"arguments": p},
		}}}, nil)
	}
	if a.interleave {
		for i := range a.calls {
			header(i)
		}
		for round := 0; ; round++ {
			sent := false
			for i := range a.calls {
				if round < len(pieces[i]) {
					piece(i, pieces[i][round])
					sent = true
				}
			}
			if !sent {
				break
			}
		}
	} else {
		for i := range a.calls {
			header(i)
			for _, p := range pieces[i] {
				piece(i, p)
			}
		}
	}
	add(map[string]any{}, a.finish)
	if includeUsage {
		out = append(out, a.chunk([]any{}, a.usageJSON()))
	}
	return out
}

func (a answer) chunk(choices []any, usage any) []byte {
	b, err := json.Marshal(map[string]any{
		"id": a.id(), "object": "chat.completion.chunk", "created": created,
		"model": a.model, "system_fingerprint": "llmtest",
		"choices": choices, "usage": usage,
	})
	if err != nil {
		// Only plain strings, numbers and maps go in; this cannot happen.
		return []byte(`{}`)
	}
	return b
}

func (a answer) usageJSON() map[string]any {
	u := map[string]any{
		"prompt_tokens":     a.usage.PromptTokens,
		"completion_tokens": a.usage.CompletionTokens,
		"total_tokens":      a.usage.PromptTokens + a.usage.CompletionTokens,
	}
	if a.usage.CacheReadTokens > 0 {
		u["prompt_tokens_details"] = map[string]any{"cached_tokens": a.usage.CacheReadTokens}
	}
	return u
}

// completion is the non-streaming form of the answer.
func (a answer) completion() map[string]any {
	msg := map[string]any{"role": "assistant", "content": nil}
	if a.text != "" {
		msg["content"] = a.text
	}
	if len(a.calls) > 0 {
		var calls []any
		for _, c := range a.calls {
			calls = append(calls, map[string]any{
				"id": c.id, "type": "function",
				"function": map[string]any{"name": c.name, "arguments": c.args},
			})
		}
		msg["tool_calls"] = calls
	}
	return map[string]any{
		"id": a.id(), "object": "chat.completion", "created": created,
		"model": a.model, "system_fingerprint": "llmtest",
		"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": a.finish, "logprobs": nil}},
		"usage":   a.usageJSON(),
	}
}
