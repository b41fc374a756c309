package llm_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/llm/llmtest"
)

func newProvider(t *testing.T, baseURL, key string) *llm.OpenAI {
	t.Helper()
	p, err := llm.NewOpenAI(llm.Config{Model: "test-model", BaseURL: baseURL, APIKey: key})
	if err != nil {
		t.Fatalf("NewOpenAI: %v", err)
	}
	return p
}

func userRequest(text string) llm.Request {
	return llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, Content: text}}}
}

// run streams one request and collects it; the Stream error and the Recv
// error are returned as one, since callers care which happened via
// the provider's error kinds, not the call site.
func run(ctx context.Context, p llm.Provider, req llm.Request) (llm.Response, error) {
	s, err := p.Stream(ctx, req)
	if err != nil {
		return llm.Response{}, err
	}
	return llm.Collect(s)
}

func script(turns ...llmtest.Turn) llmtest.Script { return llmtest.Script{Turns: turns} }

func args(v string) json.RawMessage { return json.RawMessage(v) }

func asError(t *testing.T, err error) *llm.Error {
	t.Helper()
	if err == nil {
		t.Fatal("expected an error, got nil")
	}
	e, ok := err.(*llm.Error)
	if !ok {
		t.Fatalf("error is %T (%v), want *llm.Error", err, err)
	}
	return e
}
