package llm_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/llm/llmtest"
)

// The bounds in these tests are short so a fault ends quickly, yet long
// enough that the answer of the in-process server, on a loaded machine,
// does not reach them; the contexts' deadlines only guard against a hang,
// which is how the code without bounds fails them.
const (
	shortBound = time.Second
	hangGuard  = 20 * time.Second
	secretKey  = "sk-do-not-print-me"
)

// shortBounds is a provider config for srv with every timeout short.
func shortBounds(baseURL string) llm.Config {
	return llm.Config{
		Model: "test-model", BaseURL: baseURL, APIKey: secretKey,
		ConnectTimeout: shortBound, FirstByteTimeout: shortBound, IdleTimeout: shortBound, StreamTimeout: time.Minute,
	}
}

// providerCase is a test case to run against one provider.
type providerCase[T any] struct {
	provider string
	v        T
}

// forEachProvider pairs every case with every provider llm.New knows, so
// each provider is held to the same behaviour.
func forEachProvider[T any](cases []T) []providerCase[T] {
	var out []providerCase[T]
	for _, p := range llm.ProviderNames() {
		for _, c := range cases {
			out = append(out, providerCase[T]{p, c})
		}
	}
	return out
}

func guarded(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	t.Cleanup(cancel)
	return ctx
}

// checkMessage asserts err says what a person needs to act on it, and
// nothing secret.
func checkMessage(t *testing.T, err error, mention ...string) {
	t.Helper()
	msg := err.Error()
	for _, m := range mention {
		if !strings.Contains(msg, m) {
			t.Errorf("message lacks %q: %s", m, msg)
		}
	}
	if strings.Contains(msg, secretKey) {
		t.Errorf("message shows the API key: %s", msg)
	}
}

// A model server that does not answer in time ends the attempt with a
// timeout, which is retried.
func TestTimeoutsRetried(t *testing.T) {
	tests := []struct {
		name    string
		fault   llmtest.Fault
		mention []string
	}{
		{"accepted, never answered", llmtest.Fault{Stall: true},
			[]string{"timed out", "no answer within 1s", "first_byte_timeout", "LOOM_FIRST_BYTE_TIMEOUT"}},
		{"headers, then silence", llmtest.Fault{StallAfterHeaders: true},
			[]string{"timed out", "no answer within 1s", "first_byte_timeout", "LOOM_FIRST_BYTE_TIMEOUT"}},
		{"silence after the first chunk", llmtest.Fault{StallAfter: 1},
			[]string{"timed out", "nothing received for 1s", "idle_timeout", "LOOM_IDLE_TIMEOUT"}},
	}
	for _, tt := range forEachProvider(tests) {
		t.Run(tt.provider+"/"+tt.v.name, func(t *testing.T) {
			t.Parallel()
			tt, provider := tt.v, tt.provider
			f := tt.fault
			srv := llmtest.NewServer(t, script(llmtest.Turn{Text: "lost", Fault: &f}, llmtest.Turn{Text: "recovered"}))
			cfg := shortBounds(srv.URL)
			cfg.Provider = provider
			p, err := llm.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var log retryLog
			got, err := run(guarded(t), llm.WithRetry(p, log.policy()), userRequest("hi"))
			if err != nil {
				t.Fatalf("not recovered: %v", err)
			}
			if got.Text != "recovered" || len(srv.Requests()) != 2 || srv.Remaining() != 0 {
				t.Errorf("text %q after %d requests, %d turns left; want recovered after 2, 0 left", got.Text, len(srv.Requests()), srv.Remaining())
			}
			if len(log.errs) != 1 {
				t.Fatalf("OnRetry called %d times, want once", len(log.errs))
			}
			e := asError(t, log.errs[0])
			if e.Kind != llm.KindTimeout || !e.Temporary {
				t.Errorf("kind %v temporary %v, want a temporary timeout", e.Kind, e.Temporary)
			}
			checkMessage(t, e, append(tt.mention, srv.URL)...)
		})
	}
}

// Once the answer has begun, the gaps between its parts are bounded by
// idle_timeout, not first_byte_timeout: a slow but steady answer whose gaps
// are longer than the first-byte bound completes.
func TestIdleBoundsTheGapsAfterTheFirstByte(t *testing.T) {
	gap := 4 * shortBound
	srv := llmtest.NewServer(t, script(llmtest.Turn{Text: "slow", Fault: &llmtest.Fault{ChunkDelayMS: int(gap / time.Millisecond)}}))
	cfg := shortBounds(srv.URL)
	cfg.IdleTimeout = hangGuard
	p, err := llm.NewOpenAI(cfg)
	if err != nil {
		t.Fatal(err)
	}
	got, err := run(guarded(t), p, userRequest("hi"))
	if err != nil || got.Text != "slow" {
		t.Fatalf("text %q, err %v; want the whole answer", got.Text, err)
	}
}

// A stream that never ends is ended by stream_timeout. It has already
// delivered text, so it is not retried.
func TestEndlessStreamEnds(t *testing.T) {
	for _, provider := range llm.ProviderNames() {
		t.Run(provider, func(t *testing.T) {
			t.Parallel()
			testEndlessStreamEnds(t, provider)
		})
	}
}

func testEndlessStreamEnds(t *testing.T, provider string) {
	srv := llmtest.NewServer(t, script(
		llmtest.Turn{Text: "again and ", Fault: &llmtest.Fault{Endless: true, ChunkDelayMS: 5}},
		llmtest.Turn{Text: "must not be played"},
	))
	cfg := shortBounds(srv.URL)
	cfg.StreamTimeout = 2 * time.Second
	cfg.Provider = provider
	p, err := llm.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var log retryLog
	got, err := run(guarded(t), llm.WithRetry(p, log.policy()), userRequest("hi"))
	e := asError(t, err)
	if e.Kind != llm.KindTimeout || !e.Temporary {
		t.Errorf("kind %v temporary %v: %v", e.Kind, e.Temporary, err)
	}
	checkMessage(t, err, "still streaming after 2s", "stream_timeout", "LOOM_STREAM_TIMEOUT", "max_output_tokens", srv.URL)
	if !strings.HasPrefix(got.Text, "again and again and ") {
		t.Errorf("text before the end %q", got.Text)
	}
	if len(log.errs) != 0 || srv.Remaining() != 1 {
		t.Errorf("retried after delivering text: OnRetry %d, %d turns left", len(log.errs), srv.Remaining())
	}
}

// Every request carries an output cap: the configured one, else a default,
// in the field the model accepts.
func TestOutputCapSent(t *testing.T) {
	tests := []struct {
		name          string
		model         string
		configured    int
		requested     int
		maxTokens     int
		maxCompletion int
	}{
		{name: "default", model: "qwen2.5-coder", maxTokens: llm.DefaultMaxOutputTokens},
		{name: "default of a reasoning model", model: "o3-mini", maxCompletion: llm.DefaultMaxReasoningTokens},
		{name: "configured", model: "qwen2.5-coder", configured: 1000, maxTokens: 1000},
		{name: "configured, reasoning model", model: "gpt-5-mini", configured: 1000, maxCompletion: 1000},
		{name: "the request's own wins", model: "qwen2.5-coder", configured: 1000, requested: 256, maxTokens: 256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := llmtest.NewServer(t, script(llmtest.Turn{Text: "ok"}))
			p, err := llm.NewOpenAI(llm.Config{Model: tt.model, BaseURL: srv.URL, MaxOutputTokens: tt.configured})
			if err != nil {
				t.Fatal(err)
			}
			req := userRequest("hi")
			req.MaxTokens = tt.requested
			if _, err := run(guarded(t), p, req); err != nil {
				t.Fatal(err)
			}
			b := srv.ChatRequests()[0]
			if b.MaxTokens != tt.maxTokens || b.MaxCompletionTokens != tt.maxCompletion {
				t.Errorf("max_tokens %d max_completion_tokens %d, want %d and %d", b.MaxTokens, b.MaxCompletionTokens, tt.maxTokens, tt.maxCompletion)
			}
		})
	}
}

// holdOpen keeps a handler's connection open until the client leaves, so
// a client that waits for more hangs rather than ending on its own. (The
// server notices the client leave once the request body is read.)
func holdOpen(r *http.Request) { <-r.Context().Done() }

// writeFiller writes n bytes of c in 1 MiB pieces.
func writeFiller(w http.ResponseWriter, c byte, n int) {
	piece := []byte(strings.Repeat(string(c), 1<<20))
	for ; n > 0; n -= len(piece) {
		if _, err := w.Write(piece[:min(n, len(piece))]); err != nil {
			return
		}
	}
	http.NewResponseController(w).Flush()
}

// Answers that are huge, or not a stream at all, end with a clear error
// after bounded reading; none is retried but the 500.
func TestBadAnswersBounded(t *testing.T) {
	tests := []struct {
		name      string
		handler   http.HandlerFunc
		kind      llm.Kind
		temporary bool
		mention   []string
	}{
		{
			name: "one line of 17 MiB",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				fmt.Fprint(w, "data: ")
				writeFiller(w, 'a', 17<<20)
				holdOpen(r)
			},
			kind: llm.KindProtocol, mention: []string{"a line of the answer's stream is larger than 16 MiB"},
		},
		{
			name: "a stream of 65 MiB",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				// SSE comments: the cheapest lines for the client to read.
				for range 65 {
					fmt.Fprint(w, ": ")
					writeFiller(w, 'a', 1<<20)
					fmt.Fprint(w, "\n")
				}
				holdOpen(r)
			},
			kind: llm.KindProtocol, mention: []string{"the answer's stream is larger than 64 MiB"},
		},
		{
			name: "an error body of 8 MiB",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusInternalServerError)
				writeFiller(w, 'x', 8<<20)
				holdOpen(r)
			},
			kind: llm.KindServer, temporary: true, mention: []string{"500 Internal Server Error", "xxxx..."},
		},
		{
			name: "an HTML page",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				fmt.Fprint(w, "<!DOCTYPE html>\n<html><body>Please sign in to the proxy</body></html>\n")
			},
			kind: llm.KindProtocol, mention: []string{"not a stream of server-sent events", `"text/html"`, "Please sign in to the proxy", "$API"},
		},
		{
			name: "a whole JSON answer to a streamed request",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, `{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}`)
			},
			kind: llm.KindProtocol, mention: []string{"not a stream of server-sent events", `"application/json"`, `"chat.completion"`},
		},
	}
	api := map[string]string{"openai": "OpenAI-compatible", "anthropic": "Anthropic's Messages API"}
	for _, tt := range forEachProvider(tests) {
		t.Run(tt.provider+"/"+tt.v.name, func(t *testing.T) {
			tt, provider := tt.v, tt.provider
			var requests atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				io.Copy(io.Discard, r.Body)
				tt.handler(w, r)
			}))
			t.Cleanup(srv.Close)
			var log retryLog
			pol := log.policy()
			pol.MaxAttempts = 2
			p, err := llm.New(llm.Config{Provider: provider, Model: "test-model", BaseURL: srv.URL + "/v1"})
			if err != nil {
				t.Fatal(err)
			}
			_, err = run(guarded(t), llm.WithRetry(p, pol), userRequest("hi"))
			e := asError(t, err)
			if e.Kind != tt.kind || e.Temporary != tt.temporary {
				t.Errorf("kind %v temporary %v, want %v %v: %v", e.Kind, e.Temporary, tt.kind, tt.temporary, err)
			}
			mention := slices.Clone(tt.mention)
			if i := slices.Index(mention, "$API"); i >= 0 {
				mention[i] = api[provider]
			}
			checkMessage(t, err, mention...)
			if want := map[bool]int32{false: 1, true: 2}[tt.temporary]; requests.Load() != want {
				t.Errorf("%d requests, want %d", requests.Load(), want)
			}
			if errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("the answer was read until the test's deadline")
			}
		})
	}
}
