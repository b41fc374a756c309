package proxy

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// discardFlusher is a client that takes every byte and flush.
type discardFlusher struct{ h http.Header }

func (d *discardFlusher) Header() http.Header         { return d.h }
func (d *discardFlusher) WriteHeader(int)             {}
func (d *discardFlusher) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardFlusher) Flush()                      {}

// eventReads gives one event per read, as an upstream's events come
// when they are apart in time.
type eventReads struct {
	events []string
	i      int
}

func (e *eventReads) Read(p []byte) (int, error) {
	if e.i == len(e.events) {
		return 0, io.EOF
	}
	n := copy(p, e.events[e.i])
	if e.events[e.i] = e.events[e.i][n:]; e.events[e.i] == "" {
		e.i++
	}
	return n, nil
}

// benchStream is a stream of 20 text chunks in format f, as separate
// events, with its usage.
func benchStream(f format) []string {
	var evs []string
	if f == openAIFormat {
		for i := range 20 {
			evs = append(evs, fmt.Sprintf(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"word%d "},"finish_reason":null}],"usage":null}`+"\n\n", i))
		}
		return append(evs,
			`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}`+"\n\n",
			`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":10,"completion_tokens":20,"total_tokens":30}}`+"\n\n",
			"data: [DONE]\n\n")
	}
	evs = append(evs, "event: message_start\n"+`data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude-x","usage":{"input_tokens":10,"output_tokens":1}}}`+"\n\n",
		"event: content_block_start\n"+`data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`+"\n\n")
	for i := range 20 {
		evs = append(evs, "event: content_block_delta\n"+fmt.Sprintf(`data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"word%d "}}`, i)+"\n\n")
	}
	return append(evs, "event: content_block_stop\n"+`data: {"type":"content_block_stop","index":0}`+"\n\n",
		"event: message_delta\n"+`data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":20}}`+"\n\n",
		"event: message_stop\n"+`data: {"type":"message_stop"}`+"\n\n")
}

// BenchmarkPipe is the proxy's own work on a stream's events (reading,
// metering, renaming or translating, writing), one event per read, with
// no network: what each event costs the proxy's CPU.
func BenchmarkPipe(b *testing.B) {
	for _, bc := range []struct {
		name       string
		up, client format
	}{
		{"openai", openAIFormat, openAIFormat},
		{"anthropic", anthropicFormat, anthropicFormat},
		{"openai-to-anthropic", openAIFormat, anthropicFormat},
		{"anthropic-to-openai", anthropicFormat, openAIFormat},
	} {
		b.Run(bc.name, func(b *testing.B) {
			events := benchStream(bc.up)
			p := &Proxy{log: slog.New(slog.DiscardHandler)}
			r := httptest.NewRequest(http.MethodPost, "/", nil)
			rt := route{up: &upstream{name: "up"}, format: bc.up}
			b.ReportAllocs()
			for b.Loop() {
				c := &call{p: p, w: &discardFlusher{h: http.Header{}}, r: r, client: bc.client, asked: "asked", stream: true, includeUsage: true}
				body := &eventReads{events: append([]string(nil), events...)}
				cn := &conn{resp: &http.Response{Body: io.NopCloser(body)}, ctx: context.Background(), release: func() {}}
				if _, err := c.pipe(cn, rt); err != nil || c.used.Output != 20 {
					b.Fatalf("%v, used %+v", err, c.used)
				}
			}
		})
	}
}
