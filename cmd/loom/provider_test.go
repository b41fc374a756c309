package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loom-agent/loom/llm"
	"github.com/loom-agent/loom/llm/llmtest"
)

// Each provider's key lives in its own variable; the other variable holds
// a decoy that must never be sent.
var providerKeys = map[string]struct{ env, key, decoyEnv, path string }{
	"openai":    {"OPENAI_API_KEY", "sk-openai-test", "ANTHROPIC_API_KEY", "/v1/chat/completions"},
	"anthropic": {"ANTHROPIC_API_KEY", "sk-ant-test", "OPENAI_API_KEY", "/v1/messages"},
}

// providerEnv is the child's environment for the scripted model speaking
// provider's API, chosen by LOOM_PROVIDER unless viaFlag (then the caller
// passes --provider). keyless leaves the provider's key unset, the decoy
// being the only key around.
func providerEnv(env []string, provider string, viaFlag, keyless bool) []string {
	k := providerKeys[provider]
	key := k.key
	if keyless {
		key = ""
	}
	env = append(env, k.env+"="+key, k.decoyEnv+"=sk-decoy-must-not-be-sent", "LOOM_PROVIDER=")
	if !viaFlag {
		env = append(env, "LOOM_PROVIDER="+provider)
	}
	return env
}

// checkProviderRequests asserts every request reached the provider's
// endpoint carrying its key, the decoy nowhere; for Anthropic, that the
// second request maps the tool call and its result to blocks and carries the
// system prompt, tools, cache breakpoints and max_tokens.
func checkProviderRequests(t *testing.T, srv *llmtest.Server, provider string, keyless bool, want int) {
	t.Helper()
	k := providerKeys[provider]
	if keyless {
		k.key = ""
	}
	reqs := srv.Requests()
	if len(reqs) != want {
		t.Errorf("%d model requests, want %d", len(reqs), want)
	}
	for i, r := range reqs {
		key := r.Header.Get("X-Api-Key")
		if provider == "openai" {
			key = strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		}
		if r.Path != k.path || key != k.key {
			t.Errorf("request %d: %s with key %q, want %s with %q", i, r.Path, key, k.path, k.key)
		}
		for name, vals := range r.Header {
			if strings.Contains(strings.Join(vals, " "), "decoy") {
				t.Errorf("request %d sent the other provider's key in %s", i, name)
			}
		}
	}
	if provider != "anthropic" {
		return
	}
	mr := srv.MessagesRequests()
	if len(mr) < 2 {
		t.Fatalf("%d Messages API requests", len(mr))
	}
	second := mr[1]
	if n := len(second.System); n == 0 || second.System[n-1].CacheControl == nil {
		t.Errorf("system prompt %+v", second.System)
	}
	if n := len(second.Tools); n == 0 || second.Tools[n-1].CacheControl == nil || second.MaxTokens != llm.DefaultMaxOutputTokens {
		t.Errorf("%d tools, the last cached: %v; max_tokens %d", n, n > 0 && second.Tools[n-1].CacheControl != nil, second.MaxTokens)
	}
	msgs := second.Messages
	if len(msgs) != 3 || msgs[1].Role != "assistant" || msgs[2].Role != "user" {
		t.Fatalf("messages %+v", msgs)
	}
	use := msgs[1].Content[len(msgs[1].Content)-1]
	result := msgs[2].Content[0]
	if use.Type != "tool_use" || use.ID != "call_0_0" || result.Type != "tool_result" || result.ToolUseID != use.ID || result.Content == "" ||
		msgs[2].Content[len(msgs[2].Content)-1].CacheControl == nil {
		t.Errorf("tool call %+v answered by %+v", use, result)
	}
}

// `loom run` drives the agent through each provider: the model reads and
// edits greet.go through streamed tool calls, and the diff is printed.
func TestRunProviders(t *testing.T) {
	tests := []struct {
		name             string
		provider         string
		viaFlag, keyless bool
	}{
		{"openai", "openai", false, false},
		{"anthropic", "anthropic", false, false},
		{"anthropic by flag", "anthropic", true, false},
		{"anthropic without a key", "anthropic", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := llmtest.NewServer(t, agentScript(t))
			dir := project(t)
			args := []string{"run", "change the greeting to hello"}
			if tt.viaFlag {
				args = append(args, "--provider", tt.provider)
			}
			cmd := loomCommand(t, providerEnv(modelEnv(t, srv), tt.provider, tt.viaFlag, tt.keyless), args...)
			cmd.Dir = dir
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("loom run: %v\n%s", err, stderr.String())
			}
			if stdout.String() != wantRunDiff {
				t.Errorf("stdout =\n%s\nwant\n%s", stdout.String(), wantRunDiff)
			}
			for _, want := range []string{"tool read_file started", "tool edit_file ok", "model: Changed the greeting to hello.\n"} {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
				}
			}
			if b, _ := os.ReadFile(filepath.Join(dir, "greet.go")); strings.Contains(string(b), "hello") {
				t.Errorf("greet.go was written without --apply")
			}
			checkProviderRequests(t, srv, tt.provider, tt.keyless, 3)
		})
	}
}

// An unknown provider stops the run before any request, naming the known
// ones.
func TestRunUnknownProvider(t *testing.T) {
	srv := llmtest.NewServer(t, agentScript(t))
	cmd := loomCommand(t, modelEnv(t, srv), "run", "--provider", "gemini", "hi")
	cmd.Dir = project(t)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), `unknown provider "gemini"`) || !strings.Contains(string(out), "openai, anthropic") {
		t.Errorf("exit %v:\n%s", err, out)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d model requests", n)
	}
}

// `loom mcp`'s loom_agent over stdio drives the same edit through each
// provider and returns its diff.
func TestMCPAgentProviders(t *testing.T) {
	for _, provider := range llm.ProviderNames() {
		t.Run(provider, func(t *testing.T) {
			dir := project(t)
			srv := llmtest.NewServer(t, agentScript(t))
			s := startMCP(t, mcpSetup{"stdio", ""}, dir, providerEnv(mcpEnv(t, srv), provider, false, false))
			res := callTool(t, s.c, "loom_agent", map[string]any{"task": "say hello instead of hi"})
			if res.IsError {
				t.Fatalf("loom_agent failed: %s\nstderr:\n%s", resultText(res), s.stderr.String())
			}
			var out struct {
				Summary    string `json:"summary"`
				Diff       string `json:"diff"`
				Applied    bool   `json:"applied"`
				StopReason string `json:"stop_reason"`
			}
			structured(t, res, &out)
			if out.Diff != greetDiff || out.Summary != "Changed the greeting to hello." || out.Applied || out.StopReason != "done" {
				t.Errorf("result = %+v\nwant the diff\n%s", out, greetDiff)
			}
			checkProviderRequests(t, srv, provider, false, 3)
		})
	}
}
