package proxy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"
)

// flushRecorder is a client's connection: what each flush sent.
type flushRecorder struct {
	header  http.Header
	mu      sync.Mutex
	pending bytes.Buffer
	flushes chan string
}

func newFlushRecorder() *flushRecorder {
	return &flushRecorder{header: http.Header{}, flushes: make(chan string, 64)}
}

func (f *flushRecorder) Header() http.Header { return f.header }
func (f *flushRecorder) WriteHeader(int)     {}

func (f *flushRecorder) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pending.Write(p)
}

func (f *flushRecorder) Flush() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.flushes <- f.pending.String()
	f.pending.Reset()
}

// pipeCall is a streamed call from a client of format client, its
// answer read from body in format up.
func pipeCall(w http.ResponseWriter, client, up format, body io.Reader) (*call, func() (bool, error)) {
	c := &call{p: &Proxy{log: slog.New(slog.DiscardHandler)}, w: w, r: httptest.NewRequest(http.MethodPost, "/", nil),
		client: client, asked: "asked", stream: true, includeUsage: true}
	cn := &conn{resp: &http.Response{Body: io.NopCloser(body)}, ctx: context.Background(), release: func() {}}
	rt := route{up: &upstream{name: "up"}, format: up}
	return c, func() (bool, error) { return c.pipe(cn, rt) }
}

func chatChunkEvent(text string) string {
	return fmt.Sprintf(`data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"content":%q},"finish_reason":null}]}`+"\n\n", text)
}

// TestPipeFlushes: events that arrive together reach the client in one
// flush, and none waits for the next to arrive.
func TestPipeFlushes(t *testing.T) {
	steps := []struct {
		write string   // what the upstream sends at once
		want  []string // the texts of the one flush that must follow
	}{
		{chatChunkEvent("A"), []string{"A"}},
		{chatChunkEvent("B") + chatChunkEvent("C"), []string{"B", "C"}},
		{chatChunkEvent("D") + strings.TrimSuffix(chatChunkEvent("E"), "\n\n"), []string{"D"}},
		{"\n\n" + `data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\ndata: [DONE]\n\n", []string{"E", `"stop"`, "[DONE]"}},
	}
	pr, pw := io.Pipe()
	rec := newFlushRecorder()
	c, pipe := pipeCall(rec, openAIFormat, openAIFormat, pr)
	done := make(chan error, 1)
	go func() { _, err := pipe(); done <- err }()
	for i, s := range steps {
		if _, err := io.WriteString(pw, s.write); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-rec.flushes:
			if n := strings.Count(got, "data: "); n != len(s.want) {
				t.Errorf("step %d: flushed %d events, want %d: %s", i, n, len(s.want), got)
			}
			for _, w := range s.want {
				if !strings.Contains(got, w) {
					t.Errorf("step %d: %q is not in the flush %s", i, w, got)
				}
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("step %d: nothing was flushed; the proxy holds %q back", i, s.want)
		}
	}
	pw.Close()
	if err := <-done; err != nil || c.status != http.StatusOK || c.err != "" {
		t.Fatalf("pipe: %v, status %d %s", err, c.status, c.err)
	}
}

// splitReader gives its parts one read each.
type splitReader struct{ parts []string }

func (s *splitReader) Read(p []byte) (int, error) {
	if len(s.parts) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.parts[0])
	if s.parts[0] = s.parts[0][n:]; s.parts[0] == "" {
		s.parts = s.parts[1:]
	}
	return n, nil
}

const (
	chatStream = `data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}],"usage":null}` + "\n\n" +
		`data: {"id":"c","model":"m","choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}],"usage":null}` + "\n\n" +
		`data: {"id":"c","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}` + "\n\n" +
		`data: {"id":"c","model":"m","choices":[],"usage":{"prompt_tokens":11,"completion_tokens":7,"total_tokens":18,"prompt_tokens_details":{"cached_tokens":3}}}` + "\n\n" +
		"data: [DONE]\n\n"
	anthStream = "event: message_start\n" + `data: {"type":"message_start","message":{"id":"m","type":"message","role":"assistant","content":[],"model":"m","usage":{"input_tokens":11,"cache_read_input_tokens":3,"output_tokens":1}}}` + "\n\n" +
		"event: content_block_start\n" + `data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}` + "\n\n" +
		"event: content_block_delta\n" + `data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hi"}}` + "\n\n" +
		"event: content_block_stop\n" + `data: {"type":"content_block_stop","index":0}` + "\n\n" +
		"event: message_delta\n" + `data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":7}}` + "\n\n" +
		"event: message_stop\n" + `data: {"type":"message_stop"}` + "\n\n"
)

// TestPipeUsageAcrossReads: a stream's usage is counted whole however
// its bytes are split among reads, from and to either format.
func TestPipeUsageAcrossReads(t *testing.T) {
	for _, up := range []struct {
		f      format
		stream string
		want   tokens
	}{
		{openAIFormat, chatStream, tokens{Input: 11, Output: 7, CacheRead: 3}},
		{anthropicFormat, anthStream, tokens{Input: 14, Output: 7, CacheRead: 3}},
	} {
		usageAt := strings.Index(up.stream, `"usage":{`)
		for _, client := range []format{openAIFormat, anthropicFormat} {
			for _, split := range []struct {
				name string
				r    func() io.Reader
			}{
				{"whole", func() io.Reader { return strings.NewReader(up.stream) }},
				{"bytes", func() io.Reader { return iotest.OneByteReader(strings.NewReader(up.stream)) }},
				{"usage cut", func() io.Reader {
					return &splitReader{parts: []string{up.stream[:usageAt+12], up.stream[usageAt+12:]}}
				}},
			} {
				t.Run(up.f.String()+"-to-"+client.String()+"/"+split.name, func(t *testing.T) {
					rec := newFlushRecorder()
					c, pipe := pipeCall(rec, client, up.f, split.r())
					if committed, err := pipe(); !committed || err != nil || c.status != http.StatusOK || c.err != "" {
						t.Fatalf("pipe: %v %v, status %d %s", committed, err, c.status, c.err)
					}
					if c.used != up.want {
						t.Errorf("used %+v, want %+v", c.used, up.want)
					}
				})
			}
		}
	}
}
