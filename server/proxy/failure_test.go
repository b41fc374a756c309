package proxy_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/loom-agent/loom/llm/llmtest"
	"github.com/loom-agent/loom/server/proxy"
)

// closedURL is the address of a port nobody listens on.
func closedURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/v1"
}

// TestFailures: a model falls back past a dead upstream and a 503 to the
// next; once the client has had the answer's start nothing is retried,
// and a stream cut short ends with an error event in the client's
// format; a refused request (400) is not retried elsewhere; a 429 keeps
// its Retry-After; an upstream's error message loses the key it quotes,
// and a refused key is reported without the upstream's words.
func TestFailures(t *testing.T) {
	oa := llmtest.Script{Turns: []llmtest.Turn{
		{Fault: &llmtest.Fault{Status: 503}},
		{Text: "a partial answer that is cut", Fault: &llmtest.Fault{CutAfter: 3}},
		{Fault: &llmtest.Fault{Status: 400, Message: "max_tokens is too large"}},
		{Fault: &llmtest.Fault{Status: 429, RetryAfter: "7"}},
		{Fault: &llmtest.Fault{Status: 500, Message: "internal: the key " + openAIKey + " failed"}},
		{Fault: &llmtest.Fault{Status: 401, Message: "Incorrect API key provided: " + openAIKey}},
	}}
	an := llmtest.Script{Turns: []llmtest.Turn{{Text: "from the fallback"}}}
	dead := closedURL(t)
	e := newEnv(t, oa, an, func(c *proxy.Config) {
		c.Upstreams = append(c.Upstreams, proxy.Upstream{Name: "dead", Kind: proxy.KindOpenAICompatible, BaseURL: dead})
		c.Models = append(c.Models,
			proxy.Model{Name: "fb", Routes: []proxy.Route{{Upstream: "dead"}, {Upstream: "oa"}, {Upstream: "an"}}},
			proxy.Model{Name: "oa-then-an", Routes: []proxy.Route{{Upstream: "oa"}, {Upstream: "an"}}})
	})
	stream := `{"model": "%s", "stream": true, "messages": [{"role": "user", "content": "hi"}]}`
	plain := `{"model": "%s", "messages": [{"role": "user", "content": "hi"}]}`
	at := func(s, model string) string { return strings.Replace(s, "%s", model, 1) }

	r := e.call(t, "openai", e.owner, at(stream, "fb"))
	if a := parse(t, "openai", true, r.body); r.status != 200 || a.text != "from the fallback" {
		t.Fatalf("fallback: %d %s", r.status, r.body)
	}
	if len(e.oa.Requests()) != 1 {
		t.Errorf("the 503 upstream got %d requests", len(e.oa.Requests()))
	}
	_, u := waitDone(t, e.meter, 1)
	if u.Status != 200 || u.Err != "" {
		t.Errorf("metered %+v", u)
	}

	r = e.call(t, "openai", e.owner, at(stream, "oa-then-an"))
	evs := sseData(t, r.body)
	if r.status != 200 || len(evs) == 0 || !strings.Contains(evs[len(evs)-1][1], `"error"`) || !strings.Contains(evs[len(evs)-1][1], "before the answer was finished") {
		t.Errorf("a cut stream: %d %s", r.status, r.body)
	}
	if len(e.an.Requests()) != 1 {
		t.Error("a stream already begun was retried elsewhere")
	}
	if _, u := waitDone(t, e.meter, 2); u.Err == "" {
		t.Errorf("a cut stream metered without its error: %+v", u)
	}

	r = e.call(t, "openai", e.owner, at(plain, "oa-then-an"))
	if r.status != 400 || len(e.an.Requests()) != 1 {
		t.Errorf("a refused request: %d, fallback reached: %t", r.status, len(e.an.Requests()) != 1)
	}
	checkErrorBody(t, "openai", r.body, "max_tokens is too large")

	r = e.call(t, "anthropic", e.owner, `{"model": "gpt", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}`)
	if r.status != 429 || r.header.Get("Retry-After") != "7" {
		t.Errorf("a rate limit: %d %v", r.status, r.header)
	}
	checkErrorBody(t, "anthropic", r.body, "HTTP 429")

	r = e.call(t, "openai", e.owner, at(plain, "gpt"))
	if r.status != 502 {
		t.Errorf("an upstream's 500: %d", r.status)
	}
	checkErrorBody(t, "openai", r.body, "internal: the key [redacted] failed")

	r = e.call(t, "openai", e.owner, at(plain, "gpt"))
	if r.status != 502 {
		t.Errorf("an upstream's 401: %d", r.status)
	}
	checkErrorBody(t, "openai", r.body, "refused the server's credentials")
	if strings.Contains(string(r.body), "Incorrect API key") {
		t.Errorf("the upstream's words about its key reached the client: %s", r.body)
	}

	// All upstreams of a model failing: 502 in the client's format.
	r = e.call(t, "anthropic", e.owner, `{"model": "gpt", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}`)
	if r.status != 502 {
		t.Errorf("an exhausted upstream: %d %s", r.status, r.body)
	}
	checkErrorBody(t, "anthropic", r.body, "upstream oa")
}

// TestClientDisconnectCancelsUpstream: a client that leaves while the
// proxy waits for the upstream's next event (which never comes) ends the
// upstream's request, and the call is metered as abandoned.
func TestClientDisconnectCancelsUpstream(t *testing.T) {
	for _, model := range []string{"gpt", "claude"} {
		t.Run(model, func(t *testing.T) {
			stall := llmtest.Script{Turns: []llmtest.Turn{{Text: "one two three four", Fault: &llmtest.Fault{StallAfter: 4}}}}
			e := newEnv(t, stall, stall, nil)
			up := e.oa
			if model == "claude" {
				up = e.an
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.url+"/v1/messages",
				strings.NewReader(`{"model": "`+model+`", "max_tokens": 5, "stream": true, "messages": [{"role": "user", "content": "hi"}]}`))
			req.Header.Set("X-Api-Key", e.key)
			req.Header.Set("Anthropic-Version", "2023-06-01")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(resp.Body)
			for i := 0; i < 6; i++ {
				line, err := br.ReadString('\n')
				if err != nil {
					t.Fatal(err)
				}
				seenWriter{}.Write([]byte(line))
			}
			if up.InFlight() != 1 {
				t.Fatalf("the upstream answers %d requests", up.InFlight())
			}
			cancel()
			resp.Body.Close()
			deadline := time.Now().Add(10 * time.Second)
			for up.InFlight() != 0 {
				if time.Now().After(deadline) {
					up.Close() // so that the proxy's handler, and the test, can end
					t.Fatal("the upstream's request goes on after the client left")
				}
				time.Sleep(5 * time.Millisecond)
			}
			if _, u := waitDone(t, e.meter, 1); u.Status != 499 || u.Err == "" {
				t.Errorf("metered %+v", u)
			}
		})
	}
}

// TestBounds: a body over max_request_bytes is refused (413) in the
// client's format; a stream in flight when the server is asked to stop
// runs to its end.
func TestBounds(t *testing.T) {
	slow := llmtest.Script{Turns: []llmtest.Turn{{Text: "one two three four five six seven eight", Fault: &llmtest.Fault{ChunkDelayMS: 50}}}}
	e := newEnv(t, slow, slow, func(c *proxy.Config) { c.MaxRequestBytes = 2000 })
	big := `{"model": "gpt", "messages": [{"role": "user", "content": "` + strings.Repeat("x", 3000) + `"}]}`
	r := e.call(t, "anthropic", e.owner, big)
	if r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("a big body: %d", r.status)
	}
	checkErrorBody(t, "anthropic", r.body, "over 2000 bytes")

	// The team server's own listener and graceful shutdown.
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	run := make(chan error, 1)
	go func() { run <- e.team.Run(ctx) }()
	<-e.team.Listening()
	req, _ := http.NewRequest(http.MethodPost, e.team.URL()+"/v1/chat/completions",
		strings.NewReader(`{"model": "gpt", "stream": true, "messages": [{"role": "user", "content": "hi"}]}`))
	req.Header.Set("Authorization", "Bearer "+e.owner)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	first, err := br.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	stop()
	rest, err := io.ReadAll(br)
	if err != nil {
		t.Fatalf("the stream was cut at shutdown: %v", err)
	}
	seenWriter{}.Write(append([]byte(first), rest...))
	if a := parse(t, "openai", true, append([]byte(first), rest...)); a.text != "one two three four five six seven eight" {
		t.Errorf("the stream at shutdown: %+v", a)
	}
	if err := <-run; err != nil {
		t.Errorf("shutdown: %v", err)
	}
}
