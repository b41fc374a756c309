package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
)

// errNoMessageStop reports a stream that ended before message_stop, as a
// connection closed early does.
var errNoMessageStop = errors.New("the stream ended before the model finished its answer (no message_stop)")

// anthropicStream adapts the Messages API's events to ours: text as it
// arrives, a tool call when its block stops, the finish and the usage at
// message_stop.
type anthropicStream struct {
	ctx         context.Context
	body        io.ReadCloser
	sse         *sseReader
	ep          endpoint
	contentType string

	blocks map[int]*anthropicBlockState // open content blocks by index
	calls  int                          // tool calls delivered
	stop   string                       // stop_reason of message_delta
	usage  anthropicUsage
	eventQueue
	closeOnce sync.Once
}

type anthropicBlockState struct {
	typ, id, name string
	input         json.RawMessage // of content_block_start, used if no delta follows
	partial       strings.Builder // input_json_delta pieces
}

// anthropicUsage is the API's token count. input_tokens excludes what was
// read from or written to the cache.
type anthropicUsage struct {
	InputTokens              int `json:"input_tokens"`
	OutputTokens             int `json:"output_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
}

// merge takes the counts u2 reports: message_delta repeats the output count
// (a running total) and may repeat the others.
func (u *anthropicUsage) merge(u2 anthropicUsage) {
	for _, f := range []struct {
		dst *int
		v   int
	}{
		{&u.InputTokens, u2.InputTokens}, {&u.OutputTokens, u2.OutputTokens},
		{&u.CacheCreationInputTokens, u2.CacheCreationInputTokens}, {&u.CacheReadInputTokens, u2.CacheReadInputTokens},
	} {
		if f.v > 0 {
			*f.dst = f.v
		}
	}
}

func (u anthropicUsage) usage() Usage {
	return Usage{
		PromptTokens:        u.InputTokens + u.CacheCreationInputTokens + u.CacheReadInputTokens,
		CompletionTokens:    u.OutputTokens,
		CacheReadTokens:     u.CacheReadInputTokens,
		CacheCreationTokens: u.CacheCreationInputTokens,
	}
}

// anthropicEvent holds the fields of every event type Loom reads.
type anthropicEvent struct {
	Type    string `json:"type"`
	Message *struct {
		Usage anthropicUsage `json:"usage"`
	} `json:"message"`
	Index        int `json:"index"`
	ContentBlock *struct {
		Type  string          `json:"type"`
		Text  string          `json:"text"`
		ID    string          `json:"id"`
		Name  string          `json:"name"`
		Input json.RawMessage `json:"input"`
	} `json:"content_block"`
	Delta *struct {
		Type        string `json:"type"`
		Text        string `json:"text"`
		PartialJSON string `json:"partial_json"`
		StopReason  string `json:"stop_reason"`
	} `json:"delta"`
	Usage *anthropicUsage `json:"usage"`
	anthropicErrorBody
}

func (s *anthropicStream) Recv() (Event, error) {
	for {
		if ev, err, ok := s.pop(); ok {
			return ev, err
		}
		ev, err := s.sse.next()
		switch {
		case err == io.EOF && s.sse.dispatched == 0 && s.sse.foreign:
			s.err = classify(s.ctx, &notStreamError{contentType: s.contentType, excerpt: bodyExcerpt(s.sse.head)}, s.ep, nil)
		case err == io.EOF:
			s.err = classify(s.ctx, errNoMessageStop, s.ep, nil)
		case err != nil:
			s.err = classify(s.ctx, err, s.ep, nil)
		default:
			if err := s.handle(ev); err != nil {
				s.err = classify(s.ctx, err, s.ep, nil)
			}
		}
	}
}

// handle reads one event; an error ends the stream.
func (s *anthropicStream) handle(sse sseEvent) error {
	var ev anthropicEvent
	if err := json.Unmarshal(sse.data, &ev); err != nil {
		return fmt.Errorf("event %q: %w", sse.name, err)
	}
	switch ev.Type {
	case "message_start":
		if ev.Message != nil {
			s.usage.merge(ev.Message.Usage)
		}
	case "content_block_start":
		cb := ev.ContentBlock
		if cb == nil {
			return &protocolError{"content_block_start without a content_block"}
		}
		s.blocks[ev.Index] = &anthropicBlockState{typ: cb.Type, id: cb.ID, name: cb.Name, input: cb.Input}
		if cb.Type == "text" && cb.Text != "" {
			s.queue = append(s.queue, Event{Kind: EventText, Text: cb.Text})
		}
	case "content_block_delta":
		b := s.blocks[ev.Index]
		if b == nil || ev.Delta == nil {
			return &protocolError{fmt.Sprintf("content_block_delta for block %d, which was not started", ev.Index)}
		}
		switch ev.Delta.Type {
		case "text_delta":
			if ev.Delta.Text != "" {
				s.queue = append(s.queue, Event{Kind: EventText, Text: ev.Delta.Text})
			}
		case "input_json_delta":
			b.partial.WriteString(ev.Delta.PartialJSON)
		}
		// Other deltas (thinking, signatures, citations) are not Loom's.
	case "content_block_stop":
		if b := s.blocks[ev.Index]; b != nil {
			delete(s.blocks, ev.Index)
			s.finishBlock(b)
		}
	case "message_delta":
		if ev.Delta != nil && ev.Delta.StopReason != "" {
			s.stop = ev.Delta.StopReason
		}
		if ev.Usage != nil {
			s.usage.merge(*ev.Usage)
		}
	case "message_stop":
		// Blocks the server left open still end here, in order.
		idx := make([]int, 0, len(s.blocks))
		for i := range s.blocks {
			idx = append(idx, i)
		}
		sort.Ints(idx)
		for _, i := range idx {
			s.finishBlock(s.blocks[i])
		}
		s.blocks = nil
		s.queue = append(s.queue,
			Event{Kind: EventFinish, FinishReason: s.finishReason()},
			Event{Kind: EventUsage, Usage: s.usage.usage()})
		s.err = io.EOF
	case "error":
		if ev.Error == nil {
			return &protocolError{"error event without an error: " + bodyExcerpt(sse.data)}
		}
		return anthropicStreamError(ev.anthropicErrorBody, s.ep)
	}
	// ping, and event types added to the API later, carry nothing for Loom.
	return nil
}

func (s *anthropicStream) finishBlock(b *anthropicBlockState) {
	if b.typ != "tool_use" {
		return
	}
	args := b.partial.String()
	if strings.TrimSpace(args) == "" {
		args = strings.TrimSpace(string(b.input))
	}
	if args == "" {
		args = "{}"
	}
	id := b.id
	if id == "" {
		id = fmt.Sprintf("toolu_%d", s.calls)
	}
	s.calls++
	s.queue = append(s.queue, Event{Kind: EventToolCall, ToolCall: ToolCall{ID: id, Name: b.name, Arguments: args}})
}

// finishReason maps the API's stop_reason to ours; reasons Loom has no name
// for pass through.
func (s *anthropicStream) finishReason() FinishReason {
	switch s.stop {
	case "end_turn", "stop_sequence":
		return FinishStop
	case "tool_use":
		return FinishToolCalls
	case "max_tokens", "model_context_window_exceeded":
		return FinishLength
	case "refusal":
		return FinishContentFilter
	case "":
		if s.calls > 0 {
			return FinishToolCalls
		}
		return FinishStop
	}
	return FinishReason(s.stop)
}

func (s *anthropicStream) Close() error {
	var err error
	s.closeOnce.Do(func() { err = s.body.Close() })
	return err
}
