package agent

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/loom-agent/loom/llm"
)

// Context management. Token counts are estimated as characters / 4, close
// enough for English and code to decide when to make room; the model's own
// usage figures arrive only after a call, too late to shape its request.

// shortenNote marks an old tool output that was cut down to its head and tail.
const shortenNote = "[output shortened to save context]"

const (
	// Characters kept from the start and the end of a shortened output: the
	// head usually says what the output is, the tail how it ended.
	keepHead = 1500
	keepTail = 500
	// perMessageChars approximates the framing each message costs.
	perMessageChars = 16
)

// estimateTokens guesses the prompt size of msgs.
func estimateTokens(msgs []llm.Message) int {
	return messageChars(msgs) / 4
}

func messageChars(msgs []llm.Message) int {
	n := 0
	for _, m := range msgs {
		n += len(m.Content) + perMessageChars
		for _, c := range m.ToolCalls {
			n += len(c.Name) + len(c.Arguments) + perMessageChars
		}
	}
	return n
}

// fitContext returns msgs, or a copy with old tool outputs shortened when
// the estimate exceeds three quarters of window (the rest is left for the
// answer and for the estimate's error). Outputs are shortened oldest first,
// and never those of the latest turn (the last assistant message and the
// results after it), which the model is working from. The transcript keeps
// the full outputs; only the request is shortened.
func fitContext(msgs []llm.Message, window int) []llm.Message {
	budget := window * 3 // three quarters of window tokens, at 4 characters each
	total := messageChars(msgs)
	if window <= 0 || total <= budget {
		return msgs
	}
	latest := -1
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == llm.RoleAssistant {
			latest = i
			break
		}
	}
	var out []llm.Message
	for i := 0; i < latest && total > budget; i++ {
		m := msgs[i]
		if m.Role != llm.RoleTool || len(m.Content) <= keepHead+keepTail+len(shortenNote)+64 {
			continue
		}
		if out == nil {
			out = append([]llm.Message(nil), msgs...)
		}
		short := shorten(m.Content)
		total -= len(m.Content) - len(short)
		out[i].Content = short
	}
	if out == nil {
		return msgs
	}
	return out
}

// shorten keeps the head and the tail of s, cut at line ends when one is
// near, with a note saying how much was left out.
func shorten(s string) string {
	head := s[:runeStart(s, keepHead)]
	if i := strings.LastIndexByte(head, '\n'); i >= keepHead/2 {
		head = head[:i+1]
	}
	tail := s[runeStart(s, len(s)-keepTail):]
	if i := strings.IndexByte(tail, '\n'); i >= 0 && i < keepTail/2 {
		tail = tail[i+1:]
	}
	omitted := len(s) - len(head) - len(tail)
	return fmt.Sprintf("%s\n… %s (%d bytes omitted) …\n%s", strings.TrimSuffix(head, "\n"), shortenNote, omitted, tail)
}

// runeStart moves i back to the start of the rune it falls in.
func runeStart(s string, i int) int {
	for i > 0 && i < len(s) && !utf8.RuneStart(s[i]) {
		i--
	}
	return i
}
