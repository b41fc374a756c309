package proxy_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loom-agent/loom/llm/llmtest"
	"github.com/loom-agent/loom/server/proxy"
)

// TestFinishedStreamKeepsItsConnection: an HTTP/1.1 upstream that sends
// the end of its chunked body a moment after its last event keeps one
// connection for the calls that follow, and one that never ends its body
// does not hold the client's answer back.
func TestFinishedStreamKeepsItsConnection(t *testing.T) {
	for _, tc := range []struct {
		name  string
		tail  time.Duration // from [DONE] to the body's end
		conns int64         // the upstream's connections after two calls; 0: not checked
	}{
		{name: "end after a pause", tail: 50 * time.Millisecond, conns: 1},
		{name: "end at once", tail: 0, conns: 1},
		{name: "no end", tail: 10 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var conns atomic.Int64
			release := make(chan struct{})
			up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				for _, ev := range []string{
					`{"id":"c1","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"hello"},"finish_reason":null}]}`,
					`{"id":"c1","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`,
					`{"id":"c1","object":"chat.completion.chunk","model":"m","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}`,
					`[DONE]`,
				} {
					w.Write([]byte("data: " + ev + "\n\n"))
				}
				w.(http.Flusher).Flush()
				select { // the handler's return ends the chunked body
				case <-time.After(tc.tail):
				case <-release:
				}
			}))
			up.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					conns.Add(1)
				}
			}
			up.Start()
			t.Cleanup(func() { close(release); up.Close() })
			e := newEnv(t, llmtest.Script{}, llmtest.Script{}, func(c *proxy.Config) {
				c.Upstreams = append(c.Upstreams, proxy.Upstream{Name: "h1", Kind: proxy.KindOpenAICompatible, BaseURL: up.URL})
				c.Models = append(c.Models, proxy.Model{Name: "h1-model", Routes: []proxy.Route{{Upstream: "h1"}}})
			})
			for i := range 2 {
				if i > 0 && tc.conns > 0 {
					time.Sleep(tc.tail + 100*time.Millisecond) // the first body's end came
				}
				began := time.Now()
				r := e.call(t, "openai", e.key, `{"model": "h1-model", "stream": true, "messages": [{"role": "user", "content": "hi"}]}`)
				if a := parse(t, "openai", true, r.body); r.status != 200 || a.text != "hello" {
					t.Fatalf("call %d: %d %s", i, r.status, r.body)
				}
				// The proxy waits up to a second for a body's end, and
				// not with the client. (The first call verifies the key.)
				if took := time.Since(began); i > 0 && took > 900*time.Millisecond {
					t.Fatalf("call %d took %s: the client waited on the upstream's end", i, took)
				}
			}
			if tc.conns > 0 {
				if got := conns.Load(); got != tc.conns {
					t.Errorf("the upstream had %d connections for two calls, want %d", got, tc.conns)
				}
			}
		})
	}
}
