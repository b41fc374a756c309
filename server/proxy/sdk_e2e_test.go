package proxy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/loom-agent/loom/llm/llmtest"
)

// sdkTurns is what each upstream plays for one SDK driver: per model, a
// streamed turn with text and two tool calls, then, once the results are
// back, a whole answer with text and one more call.
var sdkTurns = llmtest.Script{Turns: []llmtest.Turn{
	{
		Text: "Let me look.",
		ToolCalls: []llmtest.ToolCall{
			{ID: "call_read_1", Name: "read_file", Arguments: json.RawMessage(`{"path":"main.go"}`), Chunks: 4},
			{ID: "call_grep_2", Name: "grep", Arguments: json.RawMessage(`{"pattern":"func main"}`)},
		},
		Usage: &llmtest.Usage{PromptTokens: 40, CompletionTokens: 12, CacheReadTokens: 8},
	},
	{
		Text:      "main is in main.go; it calls run.",
		ToolCalls: []llmtest.ToolCall{{ID: "call_read_3", Name: "read_file", Arguments: json.RawMessage(`{"path":"run.go"}`)}},
		Usage:     &llmtest.Usage{PromptTokens: 60, CompletionTokens: 9},
	},
}}

// sdkAnswer is an answer as an SDK assembled it (test/e2e/proxy/record.mjs).
type sdkAnswer struct {
	Chunks    int    `json:"chunks"`
	Text      string `json:"text"`
	ToolCalls []struct {
		ID, Name, Arguments string
	} `json:"tool_calls"`
	Finish string `json:"finish"`
	Usage  *struct {
		Input, Output, Cached int64
	} `json:"usage"`
}

// sdkError is an error an SDK threw; Expected, that it is an instance of
// the SDK's class the case expects.
type sdkError struct {
	What     string `json:"what"`
	Stream   bool   `json:"stream"`
	Class    string `json:"class"`
	Expected bool   `json:"expected"`
	Status   int    `json:"status"`
	Type     string `json:"type"`
	Message  string `json:"message"`
}

type sdkReport struct {
	Results struct {
		Runs []struct {
			Model    string    `json:"model"`
			Streamed sdkAnswer `json:"streamed"`
			Whole    sdkAnswer `json:"whole"`
		} `json:"runs"`
		Errors []sdkError `json:"errors"`
		Auth   []sdkError `json:"auth"`
	} `json:"results"`
	Received []struct {
		URL     string            `json:"url"`
		Status  int               `json:"status"`
		Headers map[string]string `json:"headers"`
		Body    string            `json:"body"`
	} `json:"received"`
}

// TestOfficialSDKsThroughTheProxy drives the proxy with the official npm
// packages, `openai` and `@anthropic-ai/sdk` (pinned in test/e2e/proxy),
// each against a model routed to an OpenAI-format upstream and one routed
// to an Anthropic-format upstream, so translation both ways meets the real
// SDKs' stream assemblers: a streamed turn with tool calls, the results
// sent back as the SDK assembled the calls, a whole answer; the text, the
// calls, the stop reason and the usage (cached tokens included) as each
// SDK reads them; an unknown model is the SDK's NotFoundError, streamed or
// not. Neither provider key nor the client's own key is in anything the
// SDK received, and the upstreams never see the client's key.
func TestOfficialSDKsThroughTheProxy(t *testing.T) {
	suite, err := filepath.Abs("../../test/e2e/proxy")
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range []string{"openai", "@anthropic-ai/sdk"} {
		if _, err := os.Stat(filepath.Join(suite, "node_modules", pkg, "package.json")); err != nil {
			t.Fatalf("%s is not installed: run test/install.sh (%v)", pkg, err)
		}
	}
	for _, sdk := range []struct {
		script string
		// finish is the SDK's stop reason for tool calls; cachedApart: the
		// format counts cached tokens apart from its input tokens.
		finish      string
		cachedApart bool
	}{
		{script: "openai.mjs", finish: "tool_calls"},
		{script: "anthropic.mjs", finish: "tool_use", cachedApart: true},
	} {
		t.Run(strings.TrimSuffix(sdk.script, ".mjs"), func(t *testing.T) {
			e := newEnv(t, sdkTurns, sdkTurns, nil)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // hang guard
			defer cancel()
			node := exec.CommandContext(ctx, "node", sdk.script)
			node.Dir = suite
			// Only what it needs: the test's environment holds a provider key.
			node.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
				"LOOM_URL=" + e.url, "LOOM_KEY=" + e.key, "MODELS=gpt-test,claude-test"}
			var stderr bytes.Buffer
			node.Stderr = &stderr
			out, err := node.Output()
			seenWriter{}.Write(out)
			seenWriter{}.Write(stderr.Bytes())
			if err != nil {
				t.Fatalf("node %s: %v\n%s", sdk.script, err, stderr.Bytes())
			}
			defer func() {
				if t.Failed() {
					t.Logf("the driver's report: %s", out)
				}
			}()
			var rep sdkReport
			mustDecode(t, out, &rep)

			// Everything the SDK received: no key of the providers', nor
			// the client's own key echoed back.
			if len(rep.Received) != 9 {
				t.Errorf("the SDK received %d responses, want 9", len(rep.Received))
			}
			for _, r := range rep.Received {
				all, _ := json.Marshal(r)
				for _, k := range []string{openAIKey, anthropicKey, e.key} {
					if strings.Contains(string(all), k) {
						t.Errorf("a response to %s holds a key: %s", r.URL, all)
					}
				}
			}

			runs := rep.Results.Runs
			if len(runs) != 2 {
				t.Fatalf("%d runs, want 2: %s", len(runs), out)
			}
			for _, run := range runs {
				turn := func(i int) llmtest.Turn { return sdkTurns.Turns[i] }
				check := func(what string, got sdkAnswer, want llmtest.Turn) {
					t.Helper()
					if got.Text != want.Text {
						t.Errorf("%s %s: text %q, want %q", run.Model, what, got.Text, want.Text)
					}
					if got.Finish != sdk.finish {
						t.Errorf("%s %s: stop reason %q, want %q", run.Model, what, got.Finish, sdk.finish)
					}
					if len(got.ToolCalls) != len(want.ToolCalls) {
						t.Fatalf("%s %s: %d tool calls, want %d: %s", run.Model, what, len(got.ToolCalls), len(want.ToolCalls), out)
					}
					for i, c := range got.ToolCalls {
						w := want.ToolCalls[i]
						if c.ID != w.ID || c.Name != w.Name || !sameJSON(c.Arguments, string(w.Arguments)) {
							t.Errorf("%s %s: tool call %d is %s %s(%s), want %s %s(%s)", run.Model, what, i, c.ID, c.Name, c.Arguments, w.ID, w.Name, w.Arguments)
						}
					}
					u := want.Usage
					wantIn := int64(u.PromptTokens)
					if sdk.cachedApart {
						wantIn -= int64(u.CacheReadTokens)
					}
					if got.Usage == nil || got.Usage.Input != wantIn || got.Usage.Output != int64(u.CompletionTokens) || got.Usage.Cached != int64(u.CacheReadTokens) {
						t.Errorf("%s %s: usage %+v, want input %d, output %d, cached %d", run.Model, what, got.Usage, wantIn, u.CompletionTokens, u.CacheReadTokens)
					}
				}
				check("streamed", run.Streamed, turn(0))
				check("whole", run.Whole, turn(1))
				// A stream the SDK read in pieces, not one answer.
				if run.Streamed.Chunks < 6 {
					t.Errorf("%s: the SDK read the stream in %d events", run.Model, run.Streamed.Chunks)
				}
			}

			// Each upstream got a streamed turn, then the results of both
			// calls under the IDs the SDK assembled; the server's key and
			// never the client's.
			for _, up := range []struct {
				name string
				srv  *llmtest.Server
			}{{"openai", e.oa}, {"anthropic", e.an}} {
				reqs := up.srv.Requests()
				if len(reqs) != 2 {
					t.Fatalf("the %s upstream got %d requests, want 2", up.name, len(reqs))
				}
				for _, r := range reqs {
					h, _ := json.Marshal(r.Header)
					if strings.Contains(string(h), e.key) || strings.Contains(r.Raw, e.key) {
						t.Errorf("the %s upstream saw the client's key: %s", up.name, h)
					}
				}
				if got := resultIDs(reqs[1]); !reflect.DeepEqual(got, []string{"call_read_1", "call_grep_2"}) {
					t.Errorf("the %s upstream got results for %v", up.name, got)
				}
			}

			// An unknown model: the SDK's own NotFoundError, streamed or not.
			if len(rep.Results.Errors) != 2 {
				t.Fatalf("%d error cases: %s", len(rep.Results.Errors), out)
			}
			for _, er := range rep.Results.Errors {
				if er.Class != "NotFoundError" || !er.Expected || er.Status != 404 || !strings.Contains(er.Message, "no-such-model") {
					t.Errorf("an unknown model (stream %v) threw %s (instance of NotFoundError: %v) %d: %s", er.Stream, er.Class, er.Expected, er.Status, er.Message)
				}
				if sdk.cachedApart && er.Type != "not_found_error" {
					t.Errorf("the Anthropic SDK read the error's type as %q", er.Type)
				}
			}

			// A wrong key, refused by the server's authentication: the
			// SDK's own AuthenticationError on a call, a stream and the
			// list of models.
			if len(rep.Results.Auth) != 3 {
				t.Fatalf("%d wrong-key cases: %s", len(rep.Results.Auth), out)
			}
			for _, er := range rep.Results.Auth {
				if er.Class != "AuthenticationError" || !er.Expected || er.Status != 401 || er.Type != "authentication_error" || !strings.Contains(er.Message, "invalid API key") {
					t.Errorf("a wrong key (%s) threw %s (instance of AuthenticationError: %v) %d %q: %s", er.What, er.Class, er.Expected, er.Status, er.Type, er.Message)
				}
			}
		})
	}
}

// resultIDs lists the tool calls a request answers, in order, in either
// format.
func resultIDs(r llmtest.RecordedRequest) []string {
	var ids []string
	if r.Body != nil {
		for _, m := range r.Body.Messages {
			if m.Role == "tool" {
				ids = append(ids, m.ToolCallID)
			}
		}
	}
	if r.Messages != nil {
		for _, m := range r.Messages.Messages {
			for _, b := range m.Content {
				if b.Type == "tool_result" {
					ids = append(ids, b.ToolUseID)
				}
			}
		}
	}
	return ids
}

// sameJSON reports whether a and b are the same JSON value.
func sameJSON(a, b string) bool {
	var x, y any
	return json.Unmarshal([]byte(a), &x) == nil && json.Unmarshal([]byte(b), &y) == nil && reflect.DeepEqual(x, y)
}
