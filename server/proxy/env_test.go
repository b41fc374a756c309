package proxy_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/loom-agent/loom/llm/llmtest"
	"github.com/loom-agent/loom/server"
	"github.com/loom-agent/loom/server/audit"
	"github.com/loom-agent/loom/server/auth"
	"github.com/loom-agent/loom/server/auth/bootstrap"
	"github.com/loom-agent/loom/server/proxy"
	"github.com/loom-agent/loom/server/usage"
)

// The providers' keys of every test: distinctive, so that TestMain can
// search every response and log line of the run for them.
const (
	openAIKey    = "sk-proxytest-OPENAI-3f9a1c7e5b2d"
	anthropicKey = "sk-ant-proxytest-ANTHROPIC-8e4b6d2a0c1f"
	openAIKeyEnv = "LOOM_PROXYTEST_OPENAI_KEY"
)

// seen holds every response (status, headers, body) the tests' clients
// got and every log line the servers wrote.
var (
	seenMu sync.Mutex
	seen   bytes.Buffer
)

type seenWriter struct{}

func (seenWriter) Write(p []byte) (int, error) {
	seenMu.Lock()
	defer seenMu.Unlock()
	return seen.Write(p)
}

// TestMain fails the run if a provider key, or a part of one, is found in
// anything a client or a log got.
func TestMain(m *testing.M) {
	code := m.Run()
	seenMu.Lock()
	all := seen.String()
	seenMu.Unlock()
	if code == 0 && len(all) == 0 {
		fmt.Fprintln(os.Stderr, "the key search saw almost nothing: are responses and logs still recorded?")
		code = 1
	}
	for _, k := range []string{openAIKey, anthropicKey, "3f9a1c7e5b2d", "8e4b6d2a0c1f", vertexToken} {
		if i := strings.Index(all, k); i >= 0 {
			fmt.Fprintf(os.Stderr, "a provider key was seen by a client or a log: …%s…\n", all[max(0, i-200):min(len(all), i+100)])
			code = 1
		}
	}
	os.Exit(code)
}

// env is a team server with the proxy in front of two scripted upstreams,
// one of each format, and the people and keys the tests act as.
type env struct {
	team   *server.Team
	url    string
	oa, an *llmtest.Server
	meter  *recordingMeter
	// owner is acme's owner's `loom login` token; key an acme API key
	// with use_model; readKey one without; outsider a token of a user of
	// another organisation; both a token of a user of both.
	owner, key, readKey, outsider, both string
}

// newEnv starts the upstreams with their scripts and the team server;
// tweak may change the proxy's configuration (upstream URLs end in /v1).
func newEnv(t testing.TB, oa, an llmtest.Script, tweak func(c *proxy.Config)) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{oa: llmtest.NewServer(t, oa), an: llmtest.NewServer(t, an), meter: &recordingMeter{}}
	t.Setenv(openAIKeyEnv, openAIKey)
	keyFile := filepath.Join(t.TempDir(), "anthropic.key")
	if err := os.WriteFile(keyFile, []byte(anthropicKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := proxy.Config{
		Upstreams: []proxy.Upstream{
			{Name: "oa", Kind: proxy.KindOpenAI, BaseURL: e.oa.URL, KeyEnv: openAIKeyEnv},
			{Name: "an", Kind: proxy.KindAnthropic, BaseURL: strings.TrimSuffix(e.an.URL, "/v1"), KeyFile: keyFile},
		},
		Models: []proxy.Model{
			{Name: "gpt-test", Aliases: []string{"gpt"}, Routes: []proxy.Route{{Upstream: "oa", Model: "gpt-4o-mini"}}},
			{Name: "claude-test", Aliases: []string{"claude"}, Routes: []proxy.Route{{Upstream: "an", Model: "claude-x"}}},
		},
	}
	if tweak != nil {
		tweak(&cfg)
	}
	log := slog.New(slog.NewTextHandler(seenWriter{}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	team, err := server.Open(ctx, server.Config{Listen: "127.0.0.1:0", Database: filepath.Join(t.TempDir(), "server.db"), Proxy: cfg}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { team.Close() })
	team.Proxy.SetMeter(e.meter)
	e.team = team
	res, err := bootstrap.Run(ctx, team.DB, team.SignIn.Links, "acme", "Acme", "owner@example.test")
	if err != nil {
		t.Fatal(err)
	}
	token := func(user string) string {
		tok, _, err := team.SignIn.Sessions.Create(ctx, user, auth.KindCLI, "test", "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	e.owner = token(res.UserID)
	by := audit.Actor{ID: res.UserID}
	_, e.key, err = team.Keys.Create(ctx, by, res.OrgID, res.UserID, "ci", []string{"use_model"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, e.readKey, err = team.Keys.Create(ctx, by, res.OrgID, res.UserID, "reader", []string{"read"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	out, err := team.Accounts.CreateUser(ctx, "out@example.test", "Out")
	if err != nil {
		t.Fatal(err)
	}
	other, err := team.Accounts.CreateOrg(ctx, audit.Actor{ID: out.ID}, "other", "Other", out.ID)
	if err != nil {
		t.Fatal(err)
	}
	e.outsider = token(out.ID)
	two, err := team.Accounts.CreateUser(ctx, "two@example.test", "Two")
	if err != nil {
		t.Fatal(err)
	}
	if err := team.Accounts.AddMember(ctx, by, res.OrgID, two.ID, "member"); err != nil {
		t.Fatal(err)
	}
	if err := team.Accounts.AddMember(ctx, audit.Actor{ID: out.ID}, other.ID, two.ID, "member"); err != nil {
		t.Fatal(err)
	}
	e.both = token(two.ID)
	ts := httptest.NewServer(team.Handler())
	t.Cleanup(ts.Close)
	e.url = ts.URL
	return e
}

// reply is an answer as a client got it.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// call posts body to the endpoint of format f ("openai" or "anthropic")
// as that format's SDK does: a bearer token for OpenAI, x-api-key and
// anthropic-version for Anthropic. Extra headers are pairs.
func (e *env) call(t *testing.T, f, token, body string, headers ...string) reply {
	t.Helper()
	path := "/v1/chat/completions"
	if f == "anthropic" {
		path = "/v1/messages"
	}
	req, err := http.NewRequest(http.MethodPost, e.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		if f == "anthropic" {
			req.Header.Set("X-Api-Key", token)
		} else {
			req.Header.Set("Authorization", "Bearer "+token)
		}
	}
	if f == "anthropic" {
		req.Header.Set("Anthropic-Version", "2023-06-01")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) reply {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var dump bytes.Buffer
	fmt.Fprintf(&dump, "%s %s -> %d\n", req.Method, req.URL.Path, resp.StatusCode)
	resp.Header.Write(&dump)
	dump.Write(b)
	dump.WriteString("\n")
	seenWriter{}.Write(dump.Bytes())
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

// answer is what a client assembled from an answer of either format.
type answer struct {
	text                  string
	calls                 []toolCall
	finish                string // OpenAI's name
	input, output, cached int64
	usage                 bool // the answer reported usage
	model                 string
}

// named notes the model a part of an answer names; every part must name
// the same.
func (a *answer) named(t *testing.T, model string) {
	t.Helper()
	if a.model != "" && model != a.model {
		t.Fatalf("one answer names models %q and %q", a.model, model)
	}
	a.model = model
}

type toolCall struct{ id, name, args string }

// parse reads an answer of format f, streamed or not, checking the
// format's rules on the way.
func parse(t *testing.T, f string, stream bool, b []byte) answer {
	t.Helper()
	switch {
	case f == "openai" && !stream:
		var c struct {
			Choices []struct {
				Message struct {
					Content   *string `json:"content"`
					ToolCalls []struct {
						ID       string `json:"id"`
						Type     string `json:"type"`
						Function struct{ Name, Arguments string }
					} `json:"tool_calls"`
				} `json:"message"`
				FinishReason string `json:"finish_reason"`
			} `json:"choices"`
			Usage *struct {
				PromptTokens        int64 `json:"prompt_tokens"`
				CompletionTokens    int64 `json:"completion_tokens"`
				PromptTokensDetails *struct {
					CachedTokens int64 `json:"cached_tokens"`
				} `json:"prompt_tokens_details"`
			} `json:"usage"`
			Model string `json:"model"`
		}
		mustDecode(t, b, &c)
		if len(c.Choices) != 1 {
			t.Fatalf("%d choices: %s", len(c.Choices), b)
		}
		var a answer
		ch := c.Choices[0]
		if ch.Message.Content != nil {
			a.text = *ch.Message.Content
		}
		for _, tc := range ch.Message.ToolCalls {
			a.calls = append(a.calls, toolCall{tc.ID, tc.Function.Name, tc.Function.Arguments})
		}
		a.finish = ch.FinishReason
		a.named(t, c.Model)
		if u := c.Usage; u != nil {
			a.usage, a.input, a.output = true, u.PromptTokens, u.CompletionTokens
			if u.PromptTokensDetails != nil {
				a.cached = u.PromptTokensDetails.CachedTokens
			}
		}
		return a
	case f == "openai":
		return parseChatStream(t, b)
	case !stream:
		var m struct {
			Type    string `json:"type"`
			Content []struct {
				Type, Text, ID, Name string
				Input                json.RawMessage
			} `json:"content"`
			StopReason string           `json:"stop_reason"`
			Usage      map[string]int64 `json:"usage"`
			Model      string           `json:"model"`
		}
		mustDecode(t, b, &m)
		if m.Type != "message" {
			t.Fatalf("not a message: %s", b)
		}
		var a answer
		for _, c := range m.Content {
			switch c.Type {
			case "text":
				a.text += c.Text
			case "tool_use":
				a.calls = append(a.calls, toolCall{c.ID, c.Name, string(c.Input)})
			}
		}
		a.finish = finishOf(m.StopReason)
		a.named(t, m.Model)
		a.usage = true
		a.input = m.Usage["input_tokens"] + m.Usage["cache_read_input_tokens"] + m.Usage["cache_creation_input_tokens"]
		a.output, a.cached = m.Usage["output_tokens"], m.Usage["cache_read_input_tokens"]
		return a
	default:
		return parseMessagesStream(t, b)
	}
}

func finishOf(stop string) string {
	switch stop {
	case "end_turn":
		return "stop"
	case "tool_use":
		return "tool_calls"
	}
	return stop
}

func mustDecode(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
}

// sseData returns the (event, data) pairs of a stream.
func sseData(t *testing.T, b []byte) [][2]string {
	t.Helper()
	var out [][2]string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 16<<20)
	name := ""
	for sc.Scan() {
		line := sc.Text()
		if n, ok := strings.CutPrefix(line, "event: "); ok {
			name = n
		} else if d, ok := strings.CutPrefix(line, "data: "); ok {
			out = append(out, [2]string{name, d})
			name = ""
		}
	}
	return out
}

func parseChatStream(t *testing.T, b []byte) answer {
	t.Helper()
	evs := sseData(t, b)
	if len(evs) == 0 || evs[len(evs)-1][1] != "[DONE]" {
		t.Fatalf("the stream does not end with [DONE]: %s", b)
	}
	var a answer
	calls := map[int]*toolCall{}
	var order []int
	for _, ev := range evs[:len(evs)-1] {
		var c struct {
			Choices []struct {
				Delta struct {
					Content   *string `json:"content"`
					ToolCalls []struct {
						Index    int    `json:"index"`
						ID       string `json:"id"`
						Function struct{ Name, Arguments string }
					} `json:"tool_calls"`
				} `json:"delta"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
			Usage *struct {
				PromptTokens        int64 `json:"prompt_tokens"`
				CompletionTokens    int64 `json:"completion_tokens"`
				PromptTokensDetails *struct {
					CachedTokens int64 `json:"cached_tokens"`
				} `json:"prompt_tokens_details"`
			} `json:"usage"`
			Error any    `json:"error"`
			Model string `json:"model"`
		}
		mustDecode(t, []byte(ev[1]), &c)
		if c.Error != nil {
			t.Fatalf("an error in the stream: %s", ev[1])
		}
		a.named(t, c.Model)
		if u := c.Usage; u != nil {
			a.usage, a.input, a.output = true, u.PromptTokens, u.CompletionTokens
			if u.PromptTokensDetails != nil {
				a.cached = u.PromptTokensDetails.CachedTokens
			}
		}
		for _, ch := range c.Choices {
			if ch.Delta.Content != nil {
				a.text += *ch.Delta.Content
			}
			for _, tc := range ch.Delta.ToolCalls {
				call := calls[tc.Index]
				if call == nil {
					if tc.ID == "" || tc.Function.Name == "" {
						t.Fatalf("tool call %d begins without its id or name: %s", tc.Index, ev[1])
					}
					call = &toolCall{id: tc.ID, name: tc.Function.Name}
					calls[tc.Index] = call
					order = append(order, tc.Index)
				}
				call.args += tc.Function.Arguments
			}
			if ch.FinishReason != nil {
				a.finish = *ch.FinishReason
			}
		}
	}
	for _, i := range order {
		a.calls = append(a.calls, *calls[i])
	}
	return a
}

func parseMessagesStream(t *testing.T, b []byte) answer {
	t.Helper()
	evs := sseData(t, b)
	if len(evs) < 2 || evs[0][0] != "message_start" || evs[len(evs)-1][0] != "message_stop" {
		t.Fatalf("the stream does not go from message_start to message_stop: %s", b)
	}
	var a answer
	type block struct {
		typ, id, name string
		text          strings.Builder
	}
	blocks := map[int]*block{}
	open := -1
	var usage map[string]int64
	for _, ev := range evs {
		var e struct {
			Type    string `json:"type"`
			Index   int    `json:"index"`
			Message *struct {
				Usage map[string]int64 `json:"usage"`
				Model string           `json:"model"`
			} `json:"message"`
			ContentBlock map[string]any `json:"content_block"`
			Delta        struct {
				Type, Text  string
				PartialJSON string `json:"partial_json"`
				StopReason  string `json:"stop_reason"`
			} `json:"delta"`
			Usage map[string]int64 `json:"usage"`
		}
		mustDecode(t, []byte(ev[1]), &e)
		if e.Type != ev[0] {
			t.Fatalf("event %q carries type %q", ev[0], e.Type)
		}
		switch e.Type {
		case "message_start":
			usage = e.Message.Usage
			a.named(t, e.Message.Model)
		case "content_block_start":
			if open >= 0 {
				t.Fatalf("block %d starts while block %d is open", e.Index, open)
			}
			typ, _ := e.ContentBlock["type"].(string)
			if _, ok := e.ContentBlock["text"]; typ == "text" && !ok {
				t.Fatalf("a text block starts without its text field: %s", ev[1])
			}
			if _, ok := e.ContentBlock["input"]; typ == "tool_use" && !ok {
				t.Fatalf("a tool_use block starts without its input: %s", ev[1])
			}
			id, _ := e.ContentBlock["id"].(string)
			name, _ := e.ContentBlock["name"].(string)
			blocks[e.Index] = &block{typ: typ, id: id, name: name}
			open = e.Index
		case "content_block_delta":
			if e.Index != open {
				t.Fatalf("a delta for block %d while block %d is open", e.Index, open)
			}
			blocks[e.Index].text.WriteString(e.Delta.Text + e.Delta.PartialJSON)
		case "content_block_stop":
			open = -1
		case "message_delta":
			a.finish = finishOf(e.Delta.StopReason)
			for k, v := range e.Usage {
				usage[k] = v
			}
		case "error":
			t.Fatalf("an error in the stream: %s", ev[1])
		}
	}
	for i := 0; i < len(blocks); i++ {
		b := blocks[i]
		switch b.typ {
		case "text":
			a.text += b.text.String()
		case "tool_use":
			args := b.text.String()
			a.calls = append(a.calls, toolCall{b.id, b.name, args})
		}
	}
	a.usage = true
	a.input = usage["input_tokens"] + usage["cache_read_input_tokens"] + usage["cache_creation_input_tokens"]
	a.output, a.cached = usage["output_tokens"], usage["cache_read_input_tokens"]
	return a
}

// recordingMeter admits every call and keeps what Done reports.
type recordingMeter struct {
	mu       sync.Mutex
	admitted []usage.Request
	done     []usage.Usage
}

func (m *recordingMeter) Admit(_ context.Context, r usage.Request) (usage.Ticket, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.admitted = append(m.admitted, r)
	return ticket{m}, nil
}

type ticket struct{ m *recordingMeter }

func (t ticket) Done(u usage.Usage) {
	t.m.mu.Lock()
	defer t.m.mu.Unlock()
	t.m.done = append(t.m.done, u)
}

func (m *recordingMeter) last() (usage.Request, usage.Usage, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.done) == 0 {
		return usage.Request{}, usage.Usage{}, 0
	}
	return m.admitted[len(m.admitted)-1], m.done[len(m.done)-1], len(m.done)
}
