package llmtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// created is the fixed timestamp of every answer, so outputs are reproducible.
const created = 1700000000

// answer is a turn resolved against the request it answers.
type answer struct {
	id         string
	model      string
	text       string
	calls      []wireCall
	interleave bool
	finish     string
	usage      Usage
}

type wireCall struct {
	id, name, args string
	chunks         int
}

func buildAnswer(t Turn, idx int, req ChatRequest, bodyLen int) answer {
	a := answer{
		id:         fmt.Sprintf("chatcmpl-llmtest-%d", idx),
		model:      req.Model,
		text:       t.Text,
		interleave: t.InterleaveToolCalls,
		finish:     t.FinishReason,
	}
	if a.model == "" {
		a.model = "llmtest"
	}
	completionLen := len(t.Text)
	for i, tc := range t.ToolCalls {
		c := wireCall{id: tc.ID, name: tc.Name, args: argumentsText(tc.Arguments), chunks: tc.Chunks}
		if c.id == "" {
			c.id = fmt.Sprintf("call_%d_%d", idx, i)
		}
		if c.chunks == 0 {
			c.chunks = 3
		}
		if t.Fault != nil && t.Fault.MalformedArguments {
			_, size := utf8.DecodeLastRuneInString(c.args)
			c.args = c.args[:len(c.args)-size]
		}
		completionLen += len(c.name) + len(c.args)
		a.calls = append(a.calls, c)
	}
	if a.finish == "" {
		a.finish = "stop"
		if len(a.calls) > 0 {
			a.finish = "tool_calls"
		}
	}
	if t.Usage != nil {
		a.usage = *t.Usage
	} else {
		// Roughly four bytes a token, like real tokenizers on English and code.
		a.usage = Usage{PromptTokens: bodyLen/4 + 1, CompletionTokens: completionLen/4 + 1}
	}
	return a
}

// argumentsText is what the wire carries for scripted arguments: a JSON
// string's contents verbatim, any other JSON value compacted.
func argumentsText(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "{}"
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) != nil {
		return string(raw)
	}
	return buf.String()
}

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
		"id": a.id, "object": "chat.completion.chunk", "created": created,
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
	return map[string]any{
		"prompt_tokens":     a.usage.PromptTokens,
		"completion_tokens": a.usage.CompletionTokens,
		"total_tokens":      a.usage.PromptTokens + a.usage.CompletionTokens,
	}
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
		"id": a.id, "object": "chat.completion", "created": created,
		"model": a.model, "system_fingerprint": "llmtest",
		"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": a.finish, "logprobs": nil}},
		"usage":   a.usageJSON(),
	}
}

// splitWords cuts text after each run of spaces, as a model streams tokens.
func splitWords(text string) []string {
	var out []string
	for len(text) > 0 {
		i := strings.IndexByte(text, ' ')
		if i < 0 {
			out = append(out, text)
			break
		}
		j := i
		for j < len(text) && text[j] == ' ' {
			j++
		}
		out = append(out, text[:j])
		text = text[j:]
	}
	return out
}

// splitN cuts s into at most n pieces of similar size, never inside a UTF-8
// sequence (a piece with half a rune would be mangled by JSON encoding).
func splitN(s string, n int) []string {
	if s == "" {
		return nil
	}
	runes := utf8.RuneCountInString(s)
	if n > runes {
		n = runes
	}
	if n <= 1 {
		return []string{s}
	}
	per := (runes + n - 1) / n
	var out []string
	var cur strings.Builder
	count := 0
	for _, r := range s {
		cur.WriteRune(r)
		count++
		if count == per {
			out = append(out, cur.String())
			cur.Reset()
			count = 0
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}
