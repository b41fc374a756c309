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
	idx        int // of the turn
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

func buildAnswer(t Turn, idx int, model string, bodyLen int) answer {
	a := answer{
		idx:        idx,
		model:      model,
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
