package llm_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/llm/llmtest"
)

func TestHTTPErrorsClassified(t *testing.T) {
	tests := []struct {
		status    int
		key       string
		kind      llm.Kind
		temporary bool
		mention   []string // what a person needs to read in the message
	}{
		{401, "sk-wrong", llm.KindAuth, false, []string{"the model endpoint", "answered 401 Unauthorized", "OPENAI_API_KEY", "LOOM_API_KEY", "server message"}},
		{401, "", llm.KindAuth, false, []string{"No API key is set", "LOOM_API_KEY"}},
		{403, "k", llm.KindAuth, false, []string{"403 Forbidden", `"test-model"`}},
		{404, "k", llm.KindNotFound, false, []string{"LOOM_MODEL", "ollama pull test-model", "/v1"}},
		{400, "k", llm.KindBadRequest, false, []string{"400 Bad Request", "server message"}},
		{413, "k", llm.KindBadRequest, false, nil},
		{422, "k", llm.KindBadRequest, false, nil},
		{408, "k", llm.KindTimeout, true, nil},
		{429, "k", llm.KindRateLimit, true, []string{"429 Too Many Requests", "wait 2s"}},
		{500, "k", llm.KindServer, true, nil},
		{501, "k", llm.KindServer, false, nil},
		{502, "k", llm.KindServer, true, nil},
		{503, "k", llm.KindServer, true, nil},
		{504, "k", llm.KindServer, true, nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("HTTP%d_key=%s", tt.status, tt.key), func(t *testing.T) {
			t.Parallel()
			srv := llmtest.NewServer(t, script(llmtest.Turn{Fault: &llmtest.Fault{Status: tt.status, Message: "server message", RetryAfter: "2"}}))
			_, err := run(context.Background(), newProvider(t, srv.URL, tt.key), userRequest("hi"))
			e := asError(t, err)
			if e.Kind != tt.kind || e.Status != tt.status || e.Temporary != tt.temporary || llm.Retryable(err) != tt.temporary {
				t.Errorf("kind %v status %d temporary %v, want %v %d %v", e.Kind, e.Status, e.Temporary, tt.kind, tt.status, tt.temporary)
			}
			if e.Message != "server message" {
				t.Errorf("server message %q", e.Message)
			}
			if e.RetryAfter != 2*time.Second {
				t.Errorf("RetryAfter %v, want 2s", e.RetryAfter)
			}
			msg := err.Error()
			for _, m := range append(tt.mention, srv.URL) {
				if !strings.Contains(msg, m) {
					t.Errorf("message lacks %q: %s", m, msg)
				}
			}
		})
	}
}

// A base URL without /v1 is a common mistake; the 404 must say so.
func TestBaseURLWithoutV1(t *testing.T) {
	srv := llmtest.NewServer(t, script())
	p := newProvider(t, strings.TrimSuffix(srv.URL, "/v1"), "")
	_, err := run(context.Background(), p, userRequest("hi"))
	e := asError(t, err)
	if e.Kind != llm.KindNotFound || !strings.Contains(err.Error(), "ends in /v1") {
		t.Errorf("got %v (kind %v)", err, e.Kind)
	}
}

// An error body that is not OpenAI-shaped (a proxy's HTML page) still
// yields the status and a readable excerpt.
func TestNonOpenAIErrorBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprint(w, "<html><body>502 Bad Gateway (nginx)</body></html>")
	}))
	defer srv.Close()
	_, err := run(context.Background(), newProvider(t, srv.URL+"/v1", ""), userRequest("hi"))
	e := asError(t, err)
	if e.Kind != llm.KindServer || e.Status != 502 || !e.Temporary || !strings.Contains(e.Message, "502 Bad Gateway (nginx)") {
		t.Errorf("got %+v: %v", e, err)
	}
}

// A server that is not speaking the protocol at all is a protocol error,
// with a hint about the base URL.
func TestNotOpenAIStream(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "data: {not json}\n\n")
	}))
	defer srv.Close()
	_, err := run(context.Background(), newProvider(t, srv.URL+"/v1", ""), userRequest("hi"))
	e := asError(t, err)
	if e.Kind != llm.KindProtocol || e.Temporary || !strings.Contains(err.Error(), "OpenAI-compatible") {
		t.Errorf("got kind %v: %v", e.Kind, err)
	}
}

func TestConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + l.Addr().String() + "/v1"
	l.Close() // nothing listens there now
	_, err = run(context.Background(), newProvider(t, base, ""), userRequest("hi"))
	e := asError(t, err)
	if e.Kind != llm.KindNetwork || !e.Temporary {
		t.Errorf("kind %v temporary %v", e.Kind, e.Temporary)
	}
	for _, m := range []string{base, "ollama serve", "LOOM_BASE_URL", "connection failed"} {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("message lacks %q: %v", m, err)
		}
	}
}

func TestScriptExhaustedIsClear(t *testing.T) {
	srv := llmtest.NewServer(t, script(llmtest.Turn{Text: "only one"}))
	p := newProvider(t, srv.URL, "")
	if _, err := run(context.Background(), p, userRequest("1")); err != nil {
		t.Fatal(err)
	}
	_, err := run(context.Background(), p, userRequest("2"))
	if e := asError(t, err); e.Status != 500 || !strings.Contains(err.Error(), "script exhausted") {
		t.Errorf("got %v", err)
	}
}
