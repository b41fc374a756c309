package llm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	openai "github.com/sashabaranov/go-openai"
)

// errStreamCut reports a stream that ended without a finish_reason: go-openai
// reports a connection closed between chunks as a plain io.EOF, so the
// missing finish_reason is how a cut is told from a normal end.
var errStreamCut = errors.New("the stream ended before the model finished its answer (no finish_reason)")

// openAIStream adapts go-openai's chunk stream to our events: text as it
// arrives, tool calls once complete (at finish), usage once at the end.
type openAIStream struct {
	ctx      context.Context
	s        *openai.ChatCompletionStream
	ep       endpoint
	meta     *respMeta
	chunks   int // decoded so far
	calls    callAssembler
	usage    *Usage
	finished bool
	eventQueue
	closeOnce sync.Once
}

func newOpenAIStream(ctx context.Context, s *openai.ChatCompletionStream, ep endpoint, meta *respMeta) *openAIStream {
	return &openAIStream{ctx: ctx, s: s, ep: ep, meta: meta}
}

func (s *openAIStream) Recv() (Event, error) {
	for {
		if ev, err, ok := s.pop(); ok {
			return ev, err
		}
		chunk, err := s.s.Recv()
		switch {
		case err == io.EOF && s.finished:
			if s.usage != nil {
				s.queue = append(s.queue, Event{Kind: EventUsage, Usage: *s.usage})
			}
			s.err = io.EOF
		case err == io.EOF:
			s.err = classify(s.ctx, s.notStream(errStreamCut), s.ep, nil)
		case err != nil:
			s.err = classify(s.ctx, err, s.ep, nil)
		default:
			s.chunks++
			s.handle(chunk)
		}
	}
}

// notStream returns a notStreamError when the body that just ended held no
// server-sent event at all (an HTML page, a JSON answer from a server that
// ignores "stream"), which go-openai reads as an empty stream; else err.
func (s *openAIStream) notStream(err error) error {
	if s.chunks > 0 {
		return err
	}
	ctype, head := s.meta.body()
	if len(head) == 0 {
		return err
	}
	for line := range bytes.Lines(head) {
		line = bytes.TrimSpace(line)
		for _, field := range []string{"data:", ":", "event:", "id:", "retry:"} {
			if bytes.HasPrefix(line, []byte(field)) {
				return err
			}
		}
	}
	return &notStreamError{contentType: ctype, excerpt: bodyExcerpt(head)}
}

// notStreamError is an answer that is not a stream of server-sent events.
type notStreamError struct {
	contentType string
	excerpt     string
}

func (e *notStreamError) Error() string {
	return fmt.Sprintf("the answer is not a stream of server-sent events (Content-Type %q): %s", e.contentType, e.excerpt)
}

func (s *openAIStream) handle(chunk openai.ChatCompletionStreamResponse) {
	if chunk.Usage != nil {
		// Some servers repeat usage on every chunk; the last one is the total.
		s.usage = &Usage{PromptTokens: chunk.Usage.PromptTokens, CompletionTokens: chunk.Usage.CompletionTokens}
		if d := chunk.Usage.PromptTokensDetails; d != nil {
			s.usage.CacheReadTokens = d.CachedTokens
		}
	}
	for _, ch := range chunk.Choices {
		if ch.Index != 0 || s.finished {
			continue // we ask for one choice; ignore anything after finish
		}
		if ch.Delta.Content != "" {
			s.queue = append(s.queue, Event{Kind: EventText, Text: ch.Delta.Content})
		}
		if ch.Delta.Refusal != "" {
			s.queue = append(s.queue, Event{Kind: EventText, Text: ch.Delta.Refusal})
		}
		for _, d := range ch.Delta.ToolCalls {
			s.calls.add(d)
		}
		if ch.FinishReason != "" {
			s.finished = true
			for _, tc := range s.calls.done() {
				s.queue = append(s.queue, Event{Kind: EventToolCall, ToolCall: tc})
			}
			s.queue = append(s.queue, Event{Kind: EventFinish, FinishReason: FinishReason(ch.FinishReason)})
		}
	}
}

func (s *openAIStream) Close() error {
	var err error
	s.closeOnce.Do(func() { err = s.s.Close() })
	return err
}

// callAssembler joins streamed tool-call deltas. OpenAI sends the id and
// name in a call's first delta and argument pieces after it, all tagged with
// the call's Index; some servers omit Index, so a delta without one is keyed
// by its id, or else continues the latest call.
type callAssembler struct {
	calls   []*partialCall
	byIndex map[int]*partialCall
}

type partialCall struct {
	order int
	id    string
	name  string
	args  strings.Builder
}

func (a *callAssembler) add(d openai.ToolCall) {
	c := a.find(d)
	if c == nil {
		order := len(a.calls)
		if d.Index != nil {
			order = *d.Index
		}
		c = &partialCall{order: order}
		a.calls = append(a.calls, c)
		if d.Index != nil {
			if a.byIndex == nil {
				a.byIndex = map[int]*partialCall{}
			}
			a.byIndex[*d.Index] = c
		}
	}
	if c.id == "" {
		c.id = d.ID
	}
	// Servers that repeat the name on every delta must not yield "grepgrep".
	if n := d.Function.Name; n != "" && n != c.name {
		c.name += n
	}
	c.args.WriteString(d.Function.Arguments)
}

func (a *callAssembler) find(d openai.ToolCall) *partialCall {
	switch {
	case d.Index != nil:
		return a.byIndex[*d.Index]
	case d.ID != "":
		for _, c := range a.calls {
			if c.id == d.ID {
				return c
			}
		}
		return nil
	case len(a.calls) > 0:
		return a.calls[len(a.calls)-1]
	}
	return nil
}

// done returns the assembled calls in index order and resets the assembler.
func (a *callAssembler) done() []ToolCall {
	sort.SliceStable(a.calls, func(i, j int) bool { return a.calls[i].order < a.calls[j].order })
	out := make([]ToolCall, 0, len(a.calls))
	for i, c := range a.calls {
		tc := ToolCall{ID: c.id, Name: c.name, Arguments: c.args.String()}
		if tc.ID == "" {
			// Tool results must name the call; invent an id the server never gave.
			tc.ID = fmt.Sprintf("call_%d", i)
		}
		if strings.TrimSpace(tc.Arguments) == "" {
			tc.Arguments = "{}"
		}
		out = append(out, tc)
	}
	a.calls, a.byIndex = nil, nil
	return out
}
