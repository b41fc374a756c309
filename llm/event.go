package llm

import (
	"context"
	"io"
	"strings"
)

// Provider is a language model that streams its answer.
type Provider interface {
	// Stream starts a completion. Errors that happen before anything is
	// streamed (bad key, server down, ...) are returned here as *Error.
	Stream(ctx context.Context, req Request) (Stream, error)
}

// Stream is one streamed answer.
type Stream interface {
	// Recv returns the next event, io.EOF after the last one, or an error
	// (an *Error when the provider could classify it).
	Recv() (Event, error)
	// Close releases the connection; it is safe to call more than once and
	// before the stream is drained.
	Close() error
}

// EventKind tells which field of an Event is meaningful.
type EventKind int

// The kinds of Event.
const (
	// EventText carries a piece of the answer's text in Event.Text.
	EventText EventKind = iota + 1
	// EventToolCall carries one complete tool call in Event.ToolCall.
	EventToolCall
	// EventUsage carries token counts in Event.Usage.
	EventUsage
	// EventFinish carries the reason the model stopped in Event.FinishReason.
	EventFinish
)

func (k EventKind) String() string {
	switch k {
	case EventText:
		return "text"
	case EventToolCall:
		return "tool_call"
	case EventUsage:
		return "usage"
	case EventFinish:
		return "finish"
	}
	return "unknown"
}

// FinishReason is why the model stopped.
type FinishReason string

// Finish reasons of the chat-completions protocol, which other providers'
// reasons are mapped to; servers may send others.
const (
	FinishStop          FinishReason = "stop"
	FinishToolCalls     FinishReason = "tool_calls"
	FinishLength        FinishReason = "length"
	FinishContentFilter FinishReason = "content_filter"
)

// Usage counts the tokens of one completion.
type Usage struct {
	// PromptTokens counts every token of the prompt, cached or not.
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	// CacheReadTokens is the part of PromptTokens read from the provider's
	// prompt cache, CacheCreationTokens the part written to it; both 0 when
	// the provider does not say.
	CacheReadTokens     int `json:"cache_read_tokens,omitempty"`
	CacheCreationTokens int `json:"cache_creation_tokens,omitempty"`
}

// Add returns the sum of u and v, field by field.
func (u Usage) Add(v Usage) Usage {
	return Usage{
		PromptTokens:        u.PromptTokens + v.PromptTokens,
		CompletionTokens:    u.CompletionTokens + v.CompletionTokens,
		CacheReadTokens:     u.CacheReadTokens + v.CacheReadTokens,
		CacheCreationTokens: u.CacheCreationTokens + v.CacheCreationTokens,
	}
}

// Event is one item of a Stream; Kind says which other field is set.
type Event struct {
	Kind         EventKind
	Text         string
	ToolCall     ToolCall
	Usage        Usage
	FinishReason FinishReason
}

// Response is a whole answer, as gathered by Collect.
type Response struct {
	Text         string
	ToolCalls    []ToolCall
	Usage        Usage
	FinishReason FinishReason
}

// Collect drains s into a Response and closes it. On error it returns what
// was received so far together with the error.
func Collect(s Stream) (Response, error) {
	defer s.Close()
	var (
		r    Response
		text strings.Builder
	)
	for {
		ev, err := s.Recv()
		if err != nil {
			r.Text = text.String()
			// Exactly io.EOF: a classified error may wrap io.EOF when a
			// connection closed early, and that is not a clean end.
			if err == io.EOF {
				return r, nil
			}
			return r, err
		}
		switch ev.Kind {
		case EventText:
			text.WriteString(ev.Text)
		case EventToolCall:
			r.ToolCalls = append(r.ToolCalls, ev.ToolCall)
		case EventUsage:
			r.Usage = ev.Usage
		case EventFinish:
			r.FinishReason = ev.FinishReason
		}
	}
}

// eventQueue holds the events a stream decoded and has not returned yet,
// and the error that ends it, returned once the events before it are.
type eventQueue struct {
	queue []Event
	err   error
}

// pop returns the next event, or the final error; ok is false when the
// stream must decode more.
func (q *eventQueue) pop() (ev Event, err error, ok bool) {
	if len(q.queue) > 0 {
		ev, q.queue = q.queue[0], q.queue[1:]
		return ev, nil, true
	}
	return Event{}, q.err, q.err != nil
}
