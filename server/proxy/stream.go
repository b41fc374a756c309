package proxy

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// A stream is read by a decoder of the upstream's format, which keeps what
// metering and the end of the answer need (usage, finish, whether it ended
// properly) and turns each event into deltas; when the client speaks
// another format, an encoder of the client's format writes the deltas as
// its events. A client of the upstream's own format gets the upstream's
// events as they are.

type deltaKind int

const (
	textDelta deltaKind = iota
	toolStart           // a tool call begins: index, id, name
	toolArgs            // a piece of a tool call's arguments: index, text
)

// delta is one piece of an answer, in neither format.
type delta struct {
	kind     deltaKind
	text     string
	index    int
	id, name string
}

// streamState is what a decoder learnt of the answer so far.
type streamState struct {
	usage  tokens
	finish string // an OpenAI finish reason
	done   bool   // the stream ended as its format says a stream ends
}

type decoder interface {
	// decode reads one event; an error is the upstream's error inside
	// the stream (an *upstreamError) or an event that cannot be read.
	decode(ev sseEvent) ([]delta, error)
	state() *streamState
}

// newDecoder reads a stream of format f from upstream up; lean, for an
// OpenAI stream passed to an OpenAI client as it is, learns only the state
// and makes no deltas (reading each chunk's text is most of what decoding
// costs, and nobody would read it).
func newDecoder(f format, up string, lean bool) decoder {
	if f == anthropicFormat {
		return &anthDecoder{up: up, blocks: map[int]*anthBlockState{}}
	}
	return &chatDecoder{up: up, started: map[int]bool{}, lean: lean}
}

// chatDecoder reads OpenAI's chunks.
type chatDecoder struct {
	up      string
	st      streamState
	started map[int]bool // tool calls by index
	// usageOnly is set while decoding a chunk that carries only usage,
	// which a client that did not ask for it must not see.
	usageOnly bool
	lean      bool
	// scan is what a lean decoder learnt of the last chunk in one pass,
	// the chunk's model among it.
	scan chunkScan
}

// chunkHead is what a lean decoder reads of a chunk.
type chunkHead struct {
	Choices []struct {
		Index        int     `json:"index"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *chatUsage   `json:"usage"`
	Error *openAIError `json:"error"`
}

// decodeLean is decode without deltas.
func (d *chatDecoder) decodeLean(ev sseEvent) error {
	var c chunkHead
	if err := json.Unmarshal(ev.data, &c); err != nil {
		return fmt.Errorf("a chunk of upstream %s is not JSON: %w", d.up, err)
	}
	if c.Error != nil {
		return streamError(d.up, c.Error.Type, c.Error.Message)
	}
	if c.Usage != nil {
		d.st.usage = c.Usage.tokens()
		d.usageOnly = len(c.Choices) == 0
	}
	for _, ch := range c.Choices {
		if ch.Index == 0 && ch.FinishReason != nil && *ch.FinishReason != "" {
			d.st.finish = *ch.FinishReason
		}
	}
	return nil
}

func (d *chatDecoder) state() *streamState { return &d.st }

func (d *chatDecoder) decode(ev sseEvent) ([]delta, error) {
	d.usageOnly, d.scan.plain = false, false
	if string(ev.data) == "[DONE]" {
		d.st.done = true
		return nil, nil
	}
	if d.lean {
		if d.scan.run(ev.data); d.scan.plain {
			return nil, nil
		}
		return nil, d.decodeLean(ev)
	}
	var c chatChunk
	if err := json.Unmarshal(ev.data, &c); err != nil {
		return nil, fmt.Errorf("a chunk of upstream %s is not JSON: %w", d.up, err)
	}
	if c.Error != nil {
		return nil, streamError(d.up, c.Error.Type, c.Error.Message)
	}
	if c.Usage != nil {
		// Some servers repeat usage on every chunk; the last is the total.
		d.st.usage = c.Usage.tokens()
		d.usageOnly = len(c.Choices) == 0
	}
	var out []delta
	for _, ch := range c.Choices {
		if ch.Index != 0 {
			continue // one choice is asked for
		}
		if s := ch.Delta.Content; s != nil && *s != "" {
			out = append(out, delta{kind: textDelta, text: *s})
		}
		if s := ch.Delta.Refusal; s != nil && *s != "" {
			out = append(out, delta{kind: textDelta, text: *s})
		}
		for i, tc := range ch.Delta.ToolCalls {
			idx := i
			if tc.Index != nil {
				idx = *tc.Index
			}
			if !d.started[idx] {
				d.started[idx] = true
				out = append(out, delta{kind: toolStart, index: idx, id: tc.ID, name: tc.Function.Name})
			}
			if tc.Function.Arguments != "" {
				out = append(out, delta{kind: toolArgs, index: idx, text: tc.Function.Arguments})
			}
		}
		if ch.FinishReason != nil && *ch.FinishReason != "" {
			d.st.finish = *ch.FinishReason
		}
	}
	return out, nil
}

// anthDecoder reads the Messages API's events.
type anthDecoder struct {
	up     string
	st     streamState
	usage  anthUsage
	blocks map[int]*anthBlockState // open blocks by index
	tools  int                     // tool_use blocks seen
}

type anthBlockState struct {
	tool  int             // index among the tool calls; -1 for other blocks
	input json.RawMessage // of content_block_start, used if no delta follows
	args  bool            // an input_json_delta came
}

func (d *anthDecoder) state() *streamState {
	d.st.usage = d.usage.tokens()
	return &d.st
}

func (d *anthDecoder) decode(ev sseEvent) ([]delta, error) {
	var e anthEvent
	if err := json.Unmarshal(ev.data, &e); err != nil {
		return nil, fmt.Errorf("an event of upstream %s is not JSON: %w", d.up, err)
	}
	switch e.Type {
	case "message_start":
		if e.Message != nil {
			d.usage = e.Message.Usage
		}
	case "content_block_start":
		cb := e.ContentBlock
		if cb == nil {
			return nil, fmt.Errorf("upstream %s: content_block_start without a content_block", d.up)
		}
		b := &anthBlockState{tool: -1}
		d.blocks[e.Index] = b
		switch cb.Type {
		case "text":
			if cb.Text != "" {
				return []delta{{kind: textDelta, text: cb.Text}}, nil
			}
		case "tool_use":
			b.tool, b.input = d.tools, cb.Input
			d.tools++
			return []delta{{kind: toolStart, index: b.tool, id: cb.ID, name: cb.Name}}, nil
		}
	case "content_block_delta":
		b := d.blocks[e.Index]
		if b == nil || e.Delta == nil {
			return nil, fmt.Errorf("upstream %s: content_block_delta for block %d, which was not started", d.up, e.Index)
		}
		switch e.Delta.Type {
		case "text_delta":
			if e.Delta.Text != "" {
				return []delta{{kind: textDelta, text: e.Delta.Text}}, nil
			}
		case "input_json_delta":
			if b.tool >= 0 && e.Delta.PartialJSON != "" {
				b.args = true
				return []delta{{kind: toolArgs, index: b.tool, text: e.Delta.PartialJSON}}, nil
			}
		}
	case "content_block_stop":
		b := d.blocks[e.Index]
		delete(d.blocks, e.Index)
		if b != nil && b.tool >= 0 && !b.args {
			return []delta{{kind: toolArgs, index: b.tool, text: compactOr(b.input, "{}")}}, nil
		}
	case "message_delta":
		if e.Delta != nil && e.Delta.StopReason != "" {
			d.st.finish = stopToFinish(e.Delta.StopReason)
		}
		d.usage.merge(e.Usage)
	case "message_stop":
		d.st.done = true
		if d.st.finish == "" {
			d.st.finish = "stop"
		}
	case "error":
		if e.Error == nil {
			return nil, fmt.Errorf("upstream %s: an error event without an error", d.up)
		}
		return nil, streamError(d.up, e.Error.Type, e.Error.Message)
	}
	return nil, nil
}

// encoder writes deltas as the client's format; end finishes the answer.
type encoder interface {
	write(ds []delta)
	end(st *streamState)
}

// chatEncoder writes OpenAI chunks for an answer from an Anthropic
// upstream.
type chatEncoder struct {
	w            *sseWriter
	id, model    string
	created      int64
	includeUsage bool
	started      bool
}

func newChatEncoder(w *sseWriter, model string, includeUsage bool) *chatEncoder {
	now := time.Now()
	return &chatEncoder{w: w, id: fmt.Sprintf("chatcmpl-loom%x", now.UnixNano()), model: model, created: now.Unix(), includeUsage: includeUsage}
}

func (e *chatEncoder) chunk(d chatDelta, finish *string, usage *chatUsage) {
	c := chatChunk{ID: e.id, Object: "chat.completion.chunk", Created: e.created, Model: e.model, Choices: []chunkChoice{}, Usage: usage}
	if usage == nil {
		c.Choices = append(c.Choices, chunkChoice{Delta: d, FinishReason: finish})
	}
	e.w.event("", mustJSON(c))
}

func (e *chatEncoder) start() {
	if !e.started {
		e.started = true
		empty := ""
		e.chunk(chatDelta{Role: "assistant", Content: &empty}, nil, nil)
	}
}

func (e *chatEncoder) write(ds []delta) {
	e.start()
	for _, d := range ds {
		idx := d.index
		switch d.kind {
		case textDelta:
			text := d.text
			e.chunk(chatDelta{Content: &text}, nil, nil)
		case toolStart:
			e.chunk(chatDelta{ToolCalls: []chatToolCall{{Index: &idx, ID: d.id, Type: "function", Function: chatFunctionCall{Name: d.name}}}}, nil, nil)
		case toolArgs:
			e.chunk(chatDelta{ToolCalls: []chatToolCall{{Index: &idx, Function: chatFunctionCall{Arguments: d.text}}}}, nil, nil)
		}
	}
}

func (e *chatEncoder) end(st *streamState) {
	e.start()
	finish := st.finish
	if finish == "" {
		finish = "stop"
	}
	e.chunk(chatDelta{}, &finish, nil)
	if e.includeUsage {
		e.chunk(chatDelta{}, nil, st.usage.chat())
	}
	e.w.event("", []byte("[DONE]"))
}

// anthEncoder writes Messages API events for an answer from an OpenAI
// upstream. The API streams one content block at a time, while OpenAI's
// parallel tool calls may interleave their arguments: the first tool call
// streams as it comes, the arguments of the others are held until the
// answer ends and then sent, each as one delta (as is text that follows a
// tool call).
type anthEncoder struct {
	w        *sseWriter
	id       string
	model    string
	started  bool
	next     int  // index of the next block
	textOpen bool // a text block is open at index next-1
	live     int  // the tool call streaming in the open block; -1 if none
	tools    map[int]*heldTool
	order    []int
	lateText strings.Builder
}

type heldTool struct {
	id, name string
	args     strings.Builder
}

func newAnthEncoder(w *sseWriter, model string) *anthEncoder {
	return &anthEncoder{w: w, id: fmt.Sprintf("msg_loom%x", time.Now().UnixNano()), model: model, live: -1, tools: map[int]*heldTool{}}
}

func (e *anthEncoder) event(name string, v any) { e.w.event(name, mustJSON(v)) }

func (e *anthEncoder) start() {
	if e.started {
		return
	}
	e.started = true
	e.event("message_start", map[string]any{"type": "message_start", "message": map[string]any{
		"id": e.id, "type": "message", "role": "assistant", "content": []any{}, "model": e.model,
		"stop_reason": nil, "stop_sequence": nil, "usage": map[string]any{"input_tokens": 0, "output_tokens": 0},
	}})
}

func (e *anthEncoder) openBlock(block map[string]any) {
	e.event("content_block_start", map[string]any{"type": "content_block_start", "index": e.next, "content_block": block})
	e.next++
}

func (e *anthEncoder) closeBlock() {
	e.event("content_block_stop", map[string]any{"type": "content_block_stop", "index": e.next - 1})
}

func (e *anthEncoder) text(s string) {
	e.event("content_block_delta", map[string]any{"type": "content_block_delta", "index": e.next - 1,
		"delta": map[string]any{"type": "text_delta", "text": s}})
}

func (e *anthEncoder) args(s string) {
	e.event("content_block_delta", map[string]any{"type": "content_block_delta", "index": e.next - 1,
		"delta": map[string]any{"type": "input_json_delta", "partial_json": s}})
}

func toolBlock(id, name string) map[string]any {
	return map[string]any{"type": "tool_use", "id": id, "name": name, "input": map[string]any{}}
}

func (e *anthEncoder) write(ds []delta) {
	e.start()
	for _, d := range ds {
		switch d.kind {
		case textDelta:
			if len(e.order) > 0 {
				e.lateText.WriteString(d.text)
				continue
			}
			if !e.textOpen {
				e.openBlock(map[string]any{"type": "text", "text": ""})
				e.textOpen = true
			}
			e.text(d.text)
		case toolStart:
			if e.tools[d.index] != nil {
				continue
			}
			e.tools[d.index] = &heldTool{id: d.id, name: d.name}
			e.order = append(e.order, d.index)
			if len(e.order) == 1 {
				if e.textOpen {
					e.closeBlock()
					e.textOpen = false
				}
				e.openBlock(toolBlock(d.id, d.name))
				e.live = d.index
			}
		case toolArgs:
			if d.index == e.live {
				e.args(d.text)
			} else if t := e.tools[d.index]; t != nil {
				t.args.WriteString(d.text)
			}
		}
	}
}

func (e *anthEncoder) end(st *streamState) {
	e.start()
	if e.textOpen || e.live >= 0 {
		e.closeBlock()
	}
	for _, i := range e.order {
		if i == e.live {
			continue
		}
		t := e.tools[i]
		e.openBlock(toolBlock(t.id, t.name))
		if t.args.Len() > 0 {
			e.args(t.args.String())
		}
		e.closeBlock()
	}
	if e.lateText.Len() > 0 {
		e.openBlock(map[string]any{"type": "text", "text": ""})
		e.text(e.lateText.String())
		e.closeBlock()
	}
	u := st.usage.anthropic()
	e.event("message_delta", map[string]any{"type": "message_delta",
		"delta": map[string]any{"stop_reason": finishToStop(st.finish), "stop_sequence": nil},
		"usage": map[string]any{"input_tokens": u.InputTokens, "output_tokens": u.OutputTokens,
			"cache_read_input_tokens": u.CacheReadInputTokens, "cache_creation_input_tokens": u.CacheCreationInputTokens}})
	e.event("message_stop", map[string]any{"type": "message_stop"})
}
